/* fuzz_s3_xml.c - S3's XML answers: the expat tree (xml.c), a ListObjectsV2 page as the
 * store reads it, an error body as s3_fail reads it, and cl_aws_error_code. No crash, and
 * every element found has text (never NULL). */
#include "fuzz_check.h"
#include "common.h"
#include "http.h"
#include "log.h"
#include "store_s3_int.h"
#include "xml.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every element: a name, text that is a C string of its length, parent links right. */
static size_t walk(const struct cl_xml *n, int depth)
{
    size_t count = 0;
    for (; n; n = n->next) {
        CHECK(n->name && depth < CL_XML_MAX_DEPTH);
        CHECK(cl_xml_text(n) && strlen(cl_xml_text(n)) == n->text.len);
        CHECK(cl_xml_child(n, n->first ? n->first->name : "") == n->first || !n->first);
        for (const struct cl_xml *c = n->first; c; c = c->next)
            CHECK(c->parent == n);
        count += 1 + walk(n->first, depth + 1);
    }
    return count;
}

static int on_key(void *arg, const char *key, uint64_t size)
{
    CHECK(key && *key);
    (*(size_t *)arg)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cl_log_set_level(CL_LOG_ERROR);
    char err[256];
    struct cl_xml *x = cl_xml_parse((const char *)data, size, err, sizeof err);
    CHECK(x || err[0]);
    CHECK(!x || walk(x, 0) <= CL_XML_MAX_ELEMENTS);
    cl_xml_free(x);

    struct cl_buf body, token;
    cl_buf_init(&body, size + 1);
    cl_buf_init(&token, 16 * 1024);
    cl_buf_append(&body, data, size);
    struct s3_store s = {.bucket = "b", .prefix = "p/"};
    size_t keys = 0;
    int rc = s3_list_page(&s, &body, on_key, &keys, &token);
    CHECK(rc == CL_OK || rc == CL_ERR_CORRUPT);
    CHECK(rc != CL_OK || !token.data || strlen(token.data) == token.len);

    struct s3_call c;
    s3_call_init(&c, "fuzz", "k", size + 1);
    cl_buf_append(&c.resp.body, data, size);
    c.resp.status = 400 + (long)(size % 200);
    c.resp.attempts = 1;
    CHECK(s3_fail(&s, &c) != CL_OK);
    s3_call_free(&c);

    char code[64];
    if (cl_aws_error_code((const char *)data, size, code, sizeof code))
        CHECK(code[0] && strlen(code) < sizeof code);
    cl_buf_free(&body);
    cl_buf_free(&token);
    return 0;
}
