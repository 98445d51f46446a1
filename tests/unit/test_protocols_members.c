/* test_protocols_members.c - the decoders' document paths that hand the normalizer the
 * members they found (cl_proto_doc.members: Fluent Bit msgpack, Splunk HEC, Loki JSON and
 * protobuf) give the records, rejections and body errors of the copy path
 * (proto_record.h) and of the document path whose parts are read again, whatever the
 * escapes, nesting, duplicates or shapes; and they do hand members on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "loki_push.pb-c.h"
#include "proto.h"
#include "record.h"

#include <msgpack.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum mode { COPY, PARTS, MEMBERS }; /* no document callback; parts read again; members */

/* Every record normalized as cl_ingest_parse_decoded does, one line each. */
struct run {
    enum mode mode;
    int max_depth;
    struct cl_buf lines;
    int with_members; /* documents handed with members */
};

static void normalize(struct run *r, const struct cl_slice *parts, size_t n,
                      const struct cl_norm_opts *o)
{
    struct cl_record_meta meta;
    char err[256];
    if (cl_record_normalize_parts(parts, n, o, &r->lines, &meta, err, sizeof err) != CL_OK)
        cl_buf_printf(&r->lines, "!%s\n", err);
}

static struct cl_norm_opts base_opts(const struct run *r)
{
    return (struct cl_norm_opts){.received_ms = 1796560800000,
                                 .default_service = CL_SLICE_LIT("default"),
                                 .max_record_bytes = 256 * 1024,
                                 .max_depth = r->max_depth};
}

static void on_record(void *arg, const char *json, size_t len)
{
    struct run *r = arg;
    struct cl_norm_opts o = base_opts(r);
    struct cl_slice whole = {json, len};
    normalize(r, &whole, 1, &o);
}

static void on_document(void *arg, const struct cl_proto_doc *d)
{
    struct run *r = arg;
    struct cl_norm_opts o = base_opts(r);
    o.keep_first_duplicate = o.empty_message_ok = 1;
    if (r->mode == MEMBERS && d->members) {
        o.members = d->members;
        o.n_members = d->n_members;
        r->with_members++;
    }
    if (d->service_len) {
        o.default_service = (struct cl_slice){d->service, d->service_len};
        o.document_service = 1;
    }
    normalize(r, d->parts, d->n_parts, &o);
}

static void on_reject(void *arg, const char *why)
{
    cl_buf_printf(&((struct run *)arg)->lines, "!%s\n", why);
}

/* Decodes body in mode; the lines, then "rc=<rc> <err>". Returns the documents handed
 * with members. Caller frees out. */
static int run_mode(cl_proto_decode_fn fn, const void *body, size_t len, enum mode mode,
                    int max_depth, struct cl_buf *out)
{
    struct run r = {.mode = mode, .max_depth = max_depth};
    struct cl_proto_sink sink = {on_record, on_reject, &r, mode == COPY ? NULL : on_document};
    struct cl_proto_opts o = {max_depth, 256 * 1024, "", 1 << 20, NULL};
    char err[200] = "";
    cl_buf_init(&r.lines, 1 << 24);
    int rc = fn(body, len, &o, &sink, err, sizeof err);
    cl_buf_printf(&r.lines, "rc=%d %s", rc, rc ? err : "");
    *out = r.lines;
    return r.with_members;
}

/* The three paths agree (with_copy 0: the two document paths only, where the copy's
 * reason names a byte of the copy); returns the documents the members path handed with
 * members and checks the records hold expect. */
static int check_paths(cl_proto_decode_fn fn, const void *body, size_t len, int max_depth,
                       const char *expect, int with_copy)
{
    struct cl_buf copy, parts, members;
    run_mode(fn, body, len, COPY, max_depth, &copy);
    run_mode(fn, body, len, PARTS, max_depth, &parts);
    int with = run_mode(fn, body, len, MEMBERS, max_depth, &members);
    assert_string_equal(members.data, parts.data);
    if (with_copy)
        assert_string_equal(parts.data, copy.data);
    if (!strstr(parts.data, expect))
        fail_msg("%s\n(expected %s)", parts.data, expect);
    cl_buf_free(&copy);
    cl_buf_free(&parts);
    cl_buf_free(&members);
    return with;
}

static int check_agree_depth(cl_proto_decode_fn fn, const void *body, size_t len, int max_depth,
                             const char *expect)
{
    return check_paths(fn, body, len, max_depth, expect, 1);
}

static int check_agree(cl_proto_decode_fn fn, const char *body, const char *expect)
{
    return check_agree_depth(fn, body, strlen(body), 64, expect);
}

/* ---- Fluent Bit msgpack ---- */

static void pack_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

/* [t, {"msg": "nested", "k": [[... n levels ...]]}] */
static void pack_nested(msgpack_packer *pk, uint32_t t, int n)
{
    msgpack_pack_array(pk, 2);
    msgpack_pack_uint32(pk, t);
    msgpack_pack_map(pk, 2);
    pack_str(pk, "msg");
    pack_str(pk, "nested");
    pack_str(pk, "k");
    for (int i = 0; i < n; i++)
        msgpack_pack_array(pk, 1);
    msgpack_pack_int(pk, 7);
}

/* Keys and values that need escapes, keys that are no strings, duplicates between the
 * record and the metadata, and values nested up to and past the normalizer's depth (past
 * it the record goes without members and the normalizer rejects it as it did). */
static void test_msgpack_members(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 2); /* [[t, {meta}], {record}] */
    msgpack_pack_array(&pk, 2);
    msgpack_pack_uint32(&pk, 1796560830);
    msgpack_pack_map(&pk, 2);
    pack_str(&pk, "q\"k");
    pack_str(&pk, "meta");
    pack_str(&pk, "tag");
    pack_str(&pk, "t");
    msgpack_pack_map(&pk, 7);
    pack_str(&pk, "q\"k");
    pack_str(&pk, "line\n\"two\"\x01");
    pack_str(&pk, "log");
    pack_str(&pk, "x\xff y");
    msgpack_pack_int(&pk, -5);
    pack_str(&pk, "int key");
    msgpack_pack_map(&pk, 1); /* a map key: its JSON text, escaped */
    pack_str(&pk, "a");
    msgpack_pack_double(&pk, 0.5);
    pack_str(&pk, "map key");
    pack_str(&pk, "o");
    msgpack_pack_map(&pk, 2);
    pack_str(&pk, "in\\ner");
    msgpack_pack_true(&pk);
    pack_str(&pk, "d");
    msgpack_pack_double(&pk, 1.0 / 0.0);
    pack_str(&pk, "level");
    pack_str(&pk, "WARN");
    pack_str(&pk, "n");
    msgpack_pack_nil(&pk);
    pack_nested(&pk, 1796560831, 2);
    pack_nested(&pk, 1796560832, 4);
    int with = check_agree_depth(cl_fluent_msgpack_decode, sb.data, sb.size, 4,
                                 "\"level\":\"warn\",\"service\":\"default\",\"message\":\"x\\ufffd"
                                 " y\",\"q\\\"k\":\"line\\n\\\"two\\\"\\u0001\",\"-5\":"
                                 "\"int key\",\"{\\\"a\\\":0.5}\":\"map key\",\"o\":{\"in\\\\ner\":"
                                 "true,\"d\":\"Infinity\"},\"n\":null,\"tag\":\"t\"}");
    assert_int_equal(with, 2); /* the third event nests 4 levels in a depth of 4 */
    check_agree_depth(cl_fluent_msgpack_decode, sb.data, sb.size, 4,
                      "\"message\":\"nested\",\"k\":[[7]]}");
    check_agree_depth(cl_fluent_msgpack_decode, sb.data, sb.size, 4,
                      "!invalid JSON: nesting too deep at");
    assert_int_equal(
        check_agree_depth(cl_fluent_msgpack_decode, sb.data, sb.size, 64, "\"k\":[[[[7]]]]}"), 3);
    msgpack_sbuffer_destroy(&sb);
}

/* ---- Splunk HEC ---- */

/* Events whose event and fields objects are read by the envelope's lookahead (first
 * member or not, spaces around ':', duplicates of event and fields of either kind) and
 * the ones it leaves to the member-by-member read; malformed and too deep bodies fail
 * alike. */
static void test_hec_members(void **state)
{
    (void)state;
    const char *body =
        "{\"event\":{\"message\":\"m\",\"host\":\"own\",\"o\":{ \"a\" : [1, 2] }},\"host\":\"h\","
        "\"time\":1796560830.25}"
        " { \"time\" : \"1796560831\" , \"event\" : { \"msg\" : \"two\\n\\u00e9\" } ,"
        "\"fields\" : {\"k\\u0032\":\"v\",\"msg\":\"f\"} , \"fields\":{\"k\":1}}"
        "{\"event\":{\"message\":\"first\"},\"event\":\"then text\",\"sourcetype\":\"st\"}"
        "{\"event\":\"text\",\"event\":{\"log\":\"then object\"},\"index\":\"i\","
        "\"source\":\"s\"}"
        "{\"ev\\u0065nt\":{\"message\":\"escaped key\"},\"event\":[1, {\"a\":\"b\"}]}"
        "{\"fields\":{\"f\":1},\"event\":12.5,\"fields\":\"none\"}"
        "{\"event\":{}}{\"event\":null}{}[1]";
    assert_int_equal(check_agree(cl_hec_event_decode, body,
                                 "\"message\":\"m\",\"host\":\"own\",\"o\":{\"a\":[1,2]}}"),
                     7);
    check_agree(cl_hec_event_decode, body, "\"message\":\"two\\n\\u00e9\",\"k\":1}");
    check_agree(cl_hec_event_decode, body, "\"message\":\"then text\",\"sourcetype\":\"st\"");
    check_agree(cl_hec_event_decode, body, "\"message\":\"then object\",\"source\":\"s\"");
    check_agree(cl_hec_event_decode, body, "\"message\":\"[1,{\\\"a\\\":\\\"b\\\"}]\"}");
    check_agree(cl_hec_event_decode, body, "\"message\":\"12.5\"}");
    check_agree(cl_hec_event_decode, body, "!Event field is required\n!event is not");
    static const char *const bad[] = {
        "{\"event\":{\"a\":1},}",      "{,\"event\":{\"a\":1}}", "{\"event\":{\"a\":1 \"b\":2}}",
        "{\"event\":{\"a\":[1}}",      "{\"event\" {\"a\":1}}",  "{\"x\":1 \"event\":{\"a\":1}}",
        "{\"event\":{\"a\":\"\xff\"}}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        check_agree_depth(cl_hec_event_decode, bad[i], strlen(bad[i]), 4, "rc=-1 invalid JSON");
    check_agree_depth(cl_hec_event_decode, "{\"event\":{\"a\":{\"b\":[]}}}", 25, 4,
                      "\"a\":{\"b\":[]}");
    /* The envelope is a level more than the record: an event at the limit is a record,
     * one deeper is rejected alone (as a too-deep line of /v1/logs), the body goes on. */
    const char *limit = "{\"event\":{\"a\":{\"b\":{\"c\":[]}}}}{\"fields\":{\"a\":{\"b\":[[]]}}}"
                        "{\"event\":{\"a\":{\"b\":{\"c\":[[]]}}}}{\"event\":\"after\"}";
    check_agree_depth(cl_hec_event_decode, limit, strlen(limit), 4,
                      "\"c\":[]}}}\n!Event field is required\n!invalid JSON: nesting too "
                      "deep\n{\"timestamp\"");
}

/* ---- Loki ---- */

/* Lines of every escape, of every length around the eight-byte words the unescaping
 * copies, as objects and as text; entries with spaces, metadata, two, three and four
 * elements, escaped or bad times, \u escapes (the element-by-element path). */
static void test_loki_json_entries(void **state)
{
    (void)state;
    struct cl_buf body;
    cl_buf_init(&body, 1 << 20);
    cl_buf_append_str(&body, "{\"streams\":[{\"stream\":{\"app\":\"a\",\"level\":\"warn\"},"
                             "\"values\":[");
    /* as a text line's escapes, and as an object line's, escaped once more */
    static const char *const escapes[] = {"\\\"", "\\\\", "\\/", "\\b",     "\\f",
                                          "\\n",  "\\r",  "\\t", "\\u00e9", "x"};
    static const char *const inner[] = {"\\\\\\\"", "\\\\\\\\", "\\\\/", "\\\\b",     "\\\\f",
                                        "\\\\n",    "\\\\r",    "\\\\t", "\\\\u00e9", "x"};
    for (int n = 0; n < 20; n++)
        for (size_t e = 0; e < sizeof escapes / sizeof escapes[0]; e++) {
            cl_buf_printf(&body, "[\"17965608%02d%09zu\",\"", n, e);
            for (int i = 0; i < n; i++)
                cl_buf_append_char(&body, (char)('a' + i));
            cl_buf_append_str(&body, escapes[e]);
            cl_buf_append_str(&body, "z\"],");
            cl_buf_printf(
                &body,
                " [ \"17965609%02d%09zu\" , \"{\\\"msg\\\":\\\"%.*s%sz\\\",\\\"n\\\":%d}\" ,"
                " {\"trace\":\"t%d\"} ],",
                n, e, n, "abcdefghijklmnopqrstuvwxyz", inner[e], n, n);
        }
    cl_buf_append_str(&body, "[\"1796561000000000000\",\"{\\\"o\\\":{\\\"p\\\":[1, 2]}} \",{}],"
                             "[\"1796561001000000000\",\"\"],"
                             "[\"0\",\"no time\"],"
                             "[\"17965610\\u00320000000000\",\"escaped time\"],"
                             "[\"12a\",\"bad time\"],"
                             "[\"1796561003000000000\",\"four\",{},{}],"
                             "[\"1796561004000000000\"],"
                             "[\"1796561005000000000\",17],"
                             "[\"1796561006000000000\",\"meta\",{\"m\":{\"deep\":1}}],"
                             "[\"1796561007000000000\",\"meta\",\"not an object\"]]},"
                             "{\"stream\":{\"service\":\"s\"},\"values\":[[\"1796561008000000000\","
                             "\"{\\\"z\\\":1,oops\"]]}]}");
    int with = check_agree_depth(cl_loki_json_decode, body.data, body.len, 64,
                                 "\"message\":\"abcdefghijklmnopq\\\\z\",\"n\":17,\"app\":\"a\"");
    assert_true(with > 380);
    check_agree_depth(cl_loki_json_decode, body.data, body.len, 64,
                      "\"message\":\"abcdefg\\u00e9z\",\"app\":\"a\"}");
    check_agree_depth(cl_loki_json_decode, body.data, body.len, 64,
                      "\"message\":\"\",\"app\":\"a\"}");
    check_agree_depth(cl_loki_json_decode, body.data, body.len, 64,
                      "!entry is not [\"<unix ns>\", \"<line>\"(, {metadata})]\n"
                      "!entry is not");
    cl_buf_free(&body);
}

/* A snappy-compressed PushRequest of one stream: labels, and entries (line, metadata
 * name and value or NULL) with times 1796560830 + i seconds. Caller frees. */
static char *pack_push(const char *labels, const char *const *lines, const char *const *meta,
                       size_t n, size_t *len)
{
    Cloudlog__Loki__Timestamp ts[16];
    Cloudlog__Loki__LabelPairAdapter md[16], *mdp[16];
    Cloudlog__Loki__EntryAdapter e[16], *ep[16];
    assert_true(n <= 16);
    for (size_t i = 0; i < n; i++) {
        cloudlog__loki__timestamp__init(&ts[i]);
        ts[i].seconds = 1796560830 + (int64_t)i;
        cloudlog__loki__entry_adapter__init(&e[i]);
        e[i].timestamp = &ts[i];
        e[i].line = (char *)lines[i];
        if (meta[2 * i]) {
            cloudlog__loki__label_pair_adapter__init(&md[i]);
            md[i].name = (char *)meta[2 * i];
            md[i].value = (char *)meta[2 * i + 1];
            mdp[i] = &md[i];
            e[i].n_structured_metadata = 1;
            e[i].structured_metadata = &mdp[i];
        }
        ep[i] = &e[i];
    }
    Cloudlog__Loki__StreamAdapter st = CLOUDLOG__LOKI__STREAM_ADAPTER__INIT, *stp = &st;
    st.labels = (char *)labels;
    st.n_entries = n;
    st.entries = ep;
    Cloudlog__Loki__PushRequest req = CLOUDLOG__LOKI__PUSH_REQUEST__INIT;
    req.n_streams = 1;
    req.streams = &stp;
    size_t raw_len = cloudlog__loki__push_request__get_packed_size(&req);
    uint8_t *raw = malloc(raw_len);
    cloudlog__loki__push_request__pack(&req, raw);
    *len = snappy_max_compressed_length(raw_len);
    char *out = malloc(*len);
    assert_int_equal(snappy_compress((const char *)raw, raw_len, out, len), SNAPPY_OK);
    free(raw);
    return out;
}

/* The protobuf push's lines as text (cl_loki_write_entry_text) on every path: objects,
 * text with characters to escape, bytes that are not UTF-8, lines starting with '{' that
 * are no object as sent, metadata that duplicates a label. */
static void test_loki_pb_entries(void **state)
{
    (void)state;
    static const char *const lines[] = {"{\"msg\":\"m\",\"n\":1}",
                                        "plain \"quoted\"\n\ttext",
                                        "x\xff\xfe y",
                                        "{\"m\":\"x\xff\"}",
                                        "{not json",
                                        "{\"o\":{\"p\":[1,{\"q\":null}]}} ",
                                        "",
                                        "{\"level\":\"error\",\"app\":\"line\"}",
                                        "{\"k\\u0032\":\"esc\",\"k3\":1}",
                                        "{\"a\":[[[[[[[[1]]]]]]]]}"};
    static const char *const meta[] = {NULL,    NULL, "trace", "t1", NULL, NULL, "app",
                                       "m",     NULL, NULL,    "o",  "{}", NULL, NULL,
                                       "level", "x",  NULL,    NULL, NULL, NULL};
    size_t n = sizeof lines / sizeof lines[0], len;
    char *body = pack_push("{app=\"a\", level=\"warn\"}", lines, meta, n - 1, &len);
    assert_true(check_agree_depth(cl_loki_pb_decode, body, len, 8,
                                  "\"message\":\"plain \\\"quoted\\\"\\n\\ttext\","
                                  "\"app\":\"a\",\"trace\":\"t1\"}") >= 8);
    check_agree_depth(cl_loki_pb_decode, body, len, 8, "\"message\":\"{not json\"");
    check_agree_depth(cl_loki_pb_decode, body, len, 8, "\"m\":\"x\xef\xbf\xbd\"");
    check_agree_depth(cl_loki_pb_decode, body, len, 8, "\"k\\u0032\":\"esc\",\"k3\":1");
    free(body);
    /* the line nests deeper than the normalizer reads: the copy's reason names another byte */
    body = pack_push("{app=\"a\"}", lines + n - 1, meta, 1, &len);
    check_paths(cl_loki_pb_decode, body, len, 8, "!invalid JSON: nesting too deep at byte 12", 0);
    free(body);
}

/* A label the normalizer reads as the level (level, lvl, severity) that names no level
 * does not decide the record's level (docs/shippers.md: the labels level/detected_level
 * when they name a level, else the line's own level): it is left out, so the line's
 * level, else info, is the record's; before, such a label rejected every entry of its
 * stream ("unknown level") or overrode the line's lvl/severity. Both encodings, every
 * path; labels that name a level stay. */
static void test_loki_level_labels(void **state)
{
    (void)state;
    const char *json =
        "{\"streams\":[{\"stream\":{\"app\":\"a\",\"level\":\"unknown\",\"lvl\":\"x\","
        "\"k\":\"v\"},\"values\":[[\"1796560830000000000\",\"text\"],"
        "[\"1796560831000000000\",\"{\\\"msg\\\":\\\"m\\\",\\\"lvl\\\":\\\"error\\\"}\"]]},"
        "{\"stream\":{\"app\":\"b\",\"sev\\u0065rity\":\"odd\",\"level\":\"30\"},"
        "\"values\":[[\"1796560832000000000\",\"pino number\"]]},"
        "{\"stream\":{\"app\":\"c\",\"level\":\"unknown\",\"detected_level\":\"warn\"},"
        "\"values\":[[\"1796560833000000000\",\"detected\"]]}]}";
    const char *expect[] = {
        "{\"timestamp\":\"2026-12-06T12:40:30.000Z\",\"level\":\"info\",\"service\":\"a\","
        "\"message\":\"text\",\"app\":\"a\",\"k\":\"v\"}",
        "{\"timestamp\":\"2026-12-06T12:40:31.000Z\",\"level\":\"error\",\"service\":\"a\","
        "\"message\":\"m\",\"app\":\"a\",\"k\":\"v\"}",
        "{\"timestamp\":\"2026-12-06T12:40:32.000Z\",\"level\":\"info\",\"service\":\"b\","
        "\"message\":\"pino number\",\"app\":\"b\"}",
        "{\"timestamp\":\"2026-12-06T12:40:33.000Z\",\"level\":\"warn\",\"service\":\"c\","
        "\"message\":\"detected\",\"app\":\"c\",\"detected_level\":\"warn\"}"};
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++)
        check_agree(cl_loki_json_decode, json, expect[i]);
    static const char *const lines[] = {"text", "{\"msg\":\"m\",\"severity\":\"error\"}"};
    static const char *const meta[] = {NULL, NULL, NULL, NULL};
    size_t len;
    char *body = pack_push("{app=\"a\", level=\"unknown\"}", lines, meta, 2, &len);
    check_agree_depth(cl_loki_pb_decode, body, len, 64,
                      "\"level\":\"info\",\"service\":\"a\",\"message\":\"text\",\"app\":\"a\"}");
    check_agree_depth(cl_loki_pb_decode, body, len, 64,
                      "\"level\":\"error\",\"service\":\"a\",\"message\":\"m\",\"app\":\"a\"}");
    free(body);
}

/* ---- Elasticsearch _bulk ---- */

static void note_action(void *arg, const struct cl_es_action *a)
{
    cl_buf_printf(arg, "%.*s|%.*s|%.*s\n", (int)a->name_len, a->name, (int)a->index_len, a->index,
                  (int)a->id_len, a->id);
}

/* An action line's metadata is read in one pass: the same actions, _index/_id (strings
 * only, the last of a name) and errors whatever the spacing, nesting or malformation. */
static void test_es_action_lines(void **state)
{
    (void)state;
    const char *body = "{ \"create\" :\t{ \"_index\" : \"a\", \"_id\":\"1\", \"_index\":\"b\","
                       "\"_id\":2, \"x\":{\"y\":[1, {}]} } , \"ignored\":1}\n{}\n"
                       "{\"index\":{}}\n{}\n{\"delete\":{\"_id\":\"d\"}}\n";
    struct cl_buf l;
    cl_buf_init(&l, 4096);
    assert_int_equal(cl_es_bulk_actions(body, strlen(body), note_action, &l), 0);
    assert_string_equal(l.data, "create|\"b\"|\"1\"\nindex||\ndelete||\"d\"\n");
    cl_buf_free(&l);
    static const char *const bad[][2] = {
        {"{\"create\" {}}\n{}\n", "line [1], expected an object"},
        {"{\"create\":}\n{}\n", "line [1], expected an object"},
        {"{\"create\":null}\n{}\n", "line [1], expected an object"},
        {"{}\n{}\n", "line [1], expected an object"},
        {"{1:{}}\n{}\n", "line [1], expected an object"},
        {"{\"create\":{\"_index\":\"\xff\"}}\n{}\n", "line [1], expected an object"},
        {"{\"create\":{\"a\":[[[[[[[]]]]]]]}}\n{}\n", "line [1], expected an object"},
        {"{\"index\":{}}\n{}\n{\"upsert\":{}}\n", "line [3], expected field [create, delete, "
                                                  "index, update] but found [\"upsert\"]"},
        {"{\"upsert\":7}\n", "line [1], expected an object"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct cl_buf out;
        run_mode(cl_es_bulk_decode, bad[i][0], strlen(bad[i][0]), MEMBERS, 64, &out);
        if (!strstr(out.data, "rc=-1 Malformed action/metadata ") || !strstr(out.data, bad[i][1]))
            fail_msg("%s: %s", bad[i][0], out.data);
        cl_buf_free(&out);
    }
    /* six levels inside the metadata are still read */
    const char *deep = "{\"create\":{\"a\":[[[[[]]]]]}}\n{\"msg\":\"m\"}\n";
    check_agree(cl_es_bulk_decode, deep, "\"message\":\"m\"}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_msgpack_members),   cmocka_unit_test(test_hec_members),
        cmocka_unit_test(test_loki_json_entries), cmocka_unit_test(test_loki_pb_entries),
        cmocka_unit_test(test_loki_level_labels), cmocka_unit_test(test_es_action_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
