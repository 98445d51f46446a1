/* test_protocols_es.c - the Elasticsearch/OpenSearch _bulk decoder: actions, documents,
 * the index as service, body errors, both record paths. (The real clients are tested end to
 * end in tests/e2e/test_proto_es.py.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "proto_test_util.h"
#include "proto.h"

#include <string.h>

static void list_action(void *arg, const struct cl_es_action *a)
{
    struct cl_buf *b = arg;
    cl_buf_printf(b, "%.*s|%.*s|%.*s\n", (int)a->name_len, a->name, (int)a->index_len, a->index,
                  (int)a->id_len, a->id);
}

static void test_es_bulk(void **state)
{
    const char *body = "{\"index\":{\"_index\":\"web app\",\"_id\":\"1\"}}\n"
                       "{\"message\":\"one\",\"n\": [1, 2]}\n"
                       "\n"
                       "{\"delete\":{\"_id\":\"2\"}}\n"
                       "{ \"create\" : { } }\r\n"
                       "{\"msg\":\"two\",\"app\":\"mine\"}\n"
                       "{\"update\":{}}\n{\"doc\":{}}\n"
                       "{\"create\":{}}\n\"text\"\n";
    struct cl_proto_opts o = {64, 1 << 20, "idx-path", 1 << 20, NULL};
    struct collect c;
    memset(&c, 0, sizeof c);
    cl_buf_init(&c.out, 1 << 20);
    struct cl_proto_sink sink = {collect_record, collect_reject, &c, NULL};
    char err[200];
    assert_int_equal(cl_es_bulk_decode(body, strlen(body), &o, &sink, err, sizeof err), 0);
    assert_string_equal(c.out.data, "{\"message\":\"one\",\"n\":[1,2],\"service\":\"web_app\"}\n"
                                    "!action [delete] is not supported: logs are append-only\n"
                                    "{\"msg\":\"two\",\"app\":\"mine\"}\n"
                                    "!action [update] is not supported: logs are append-only\n"
                                    "!document is not a JSON object\n");
    done(&c);
    struct cl_buf l;
    cl_buf_init(&l, 4096);
    assert_int_equal(cl_es_bulk_actions(body, strlen(body), list_action, &l), 0);
    assert_string_equal(l.data, "index|\"web app\"|\"1\"\ndelete||\"2\"\ncreate||\n"
                                "update||\ncreate||\n");
    cl_buf_free(&l);
    /* the path's index is the service when the action names none */
    const char *one = "{\"index\":{}}\n{\"message\":\"p\"}";
    assert_int_equal(decode(cl_es_bulk_decode, one, strlen(one), &c, err), 0);
    assert_string_equal(c.out.data, "{\"message\":\"p\"}\n"); /* OPTS has no target */
    done(&c);
    memset(&c, 0, sizeof c);
    cl_buf_init(&c.out, 1 << 20);
    assert_int_equal(cl_es_bulk_decode(one, strlen(one), &o, &sink, err, sizeof err), 0);
    assert_string_equal(c.out.data, "{\"message\":\"p\",\"service\":\"idx-path\"}\n");
    done(&c);
    /* body errors: no action object, unknown action, missing document */
    const char *bad[] = {"[1]\n{}\n", "{\"upsert\":{}}\n{}\n", "{\"index\":{}}\n"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(decode(cl_es_bulk_decode, bad[i], strlen(bad[i]), &c, err), -1);
        assert_true(strlen(err) > 0);
        done(&c);
    }
}

/* The document path (records as parts, proto.h) and the copy path (proto_record.h)
 * give the same records (proto_test_util.h check_paths_agree), also for records over the limit. */
static void test_es_document_path(void **state)
{
    (void)state;
    const char *es = "{\"index\":{\"_index\":\"ix one\"}}\n{\"message\":\"m\",\"n\":1,\"n\":2}\n"
                     "{\"create\":{}}\n{\"ts\":1796560830000, \"o\": { \"a\" : 1 }}\n"
                     "{\"create\":{}}\n{\"app\":\"web\",\"msg\":\"x\"}\n"
                     "{\"create\":{}}\n{\"service\":\"bad service\",\"msg\":\"x\"}\n";
    check_paths_agree(cl_es_bulk_decode, es, 256 * 1024,
                      "\"service\":\"ix_one\",\"message\":\"m\",\"n\":1}");
    check_paths_agree(cl_es_bulk_decode, es, 50, "!record too large (");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_es_bulk),
        cmocka_unit_test(test_es_document_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
