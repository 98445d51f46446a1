/* test_aws_xml.c - the expat element tree (src/aws/xml.c): empty vs absent elements,
 * entities and CDATA decoded, DOCTYPE and limits refused, cl_aws_error_code on XML. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common.h"
#include "http.h"
#include "xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct cl_xml *parse(const char *s)
{
    char err[256] = "";
    struct cl_xml *x = cl_xml_parse(s, strlen(s), err, sizeof err);
    if (!x)
        assert_true(err[0] != '\0');
    return x;
}

static void test_empty_is_not_absent(void **state)
{
    struct cl_xml *x = parse("<?xml version=\"1.0\"?>\n<R xmlns=\"http://s3.amazonaws.com/doc/"
                             "2006-03-01/\"><A></A><B/><C>v</C><C>w</C></R>");
    assert_non_null(x);
    assert_string_equal(x->name, "R");
    assert_string_equal(cl_xml_child_text(x, "A"), "");
    assert_string_equal(cl_xml_child_text(x, "B"), "");
    assert_null(cl_xml_child_text(x, "D"));
    const struct cl_xml *c = cl_xml_child(x, "C");
    assert_string_equal(cl_xml_text(c), "v");
    assert_string_equal(cl_xml_text(cl_xml_next(c)), "w");
    assert_null(cl_xml_next(cl_xml_next(c)));
    assert_null(cl_xml_child_text(NULL, "A"));
    cl_xml_free(x);
}

static void test_text_decoded(void **state)
{
    struct cl_xml *x = parse("<K>a&amp;b&lt;&#x20AC;&#65;<![CDATA[<raw>]]> c</K>");
    assert_non_null(x);
    assert_string_equal(cl_xml_text(x), "a&b<\xe2\x82\xac"
                                        "A<raw> c");
    cl_xml_free(x);
}

static void test_refused(void **state)
{
    static const char *const bad[] = {"",
                                      "<a>",
                                      "<a></b>",
                                      "text",
                                      "<a>&unknown;</a>",
                                      "<a>&#0;</a>",
                                      "<a/><b/>",
                                      "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>",
                                      "<!DOCTYPE a><a/>",
                                      "<!DOCTYPE a SYSTEM \"file:///etc/passwd\"><a/>"};
    for (size_t i = 0; i < CL_ARRAY_LEN(bad); i++)
        if (parse(bad[i]))
            fail_msg("accepted: %s", bad[i]);
    struct cl_buf deep;
    cl_buf_init(&deep, 1 << 20);
    for (int i = 0; i < CL_XML_MAX_DEPTH + 1; i++)
        cl_buf_append_str(&deep, "<d>");
    for (int i = 0; i < CL_XML_MAX_DEPTH + 1; i++)
        cl_buf_append_str(&deep, "</d>");
    char err[256];
    assert_null(cl_xml_parse(deep.data, deep.len, err, sizeof err));
    assert_non_null(strstr(err, "deep"));
    cl_buf_reset(&deep);
    cl_buf_append_str(&deep, "<r>");
    for (int i = 0; i < CL_XML_MAX_ELEMENTS; i++)
        cl_buf_append_str(&deep, "<e/>");
    cl_buf_append_str(&deep, "</r>");
    assert_null(cl_xml_parse(deep.data, deep.len, err, sizeof err));
    assert_non_null(strstr(err, "too many"));
    cl_buf_free(&deep);
}

static void test_error_code(void **state)
{
    char code[64];
    static const char s3[] = "<Error><Code>NoSuchKey</Code><Message>m</Message></Error>";
    static const char query[] = "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied"
                                "</Code></Error></ErrorResponse>";
    static const char empty[] = "<Error><Code></Code></Error>";
    assert_true(cl_aws_error_code(s3, strlen(s3), code, sizeof code));
    assert_string_equal(code, "NoSuchKey");
    assert_true(cl_aws_error_code(query, strlen(query), code, sizeof code));
    assert_string_equal(code, "AccessDenied");
    assert_false(cl_aws_error_code(empty, strlen(empty), code, sizeof code));
    assert_false(cl_aws_error_code("\"code\":\"\0\"", 10, code, sizeof code));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_is_not_absent),
        cmocka_unit_test(test_text_decoded),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_error_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
