/* test_core_message_index.c - the member index of a queue message (message.h, "MEMBER
 * INDEX"): written by the batch packer, read back with the same partitions and statistics
 * the lines give, refused (so the processor inflates) when it is absent, damaged, of
 * another version or partitioning, or at odds with the attributes. */
#include "batch.h"
#include "codec.h"
#include "common.h"
#include "message.h"
#include "partition.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* A sealed message of the given normalized lines (each without '\n'), packed as ingest
 * packs: partitions tracked. */
struct sealed_msg {
    struct cl_batch_sealed s;
    struct cl_msg_out m;
};

static void pack(struct sealed_msg *out, const char *const *lines, size_t n, size_t max_parts)
{
    struct cl_batch b;
    cl_batch_init(&b, 1u << 20, 0, 1);
    cl_batch_set_max_parts(&b, max_parts);
    struct cl_batch_sealed unused;
    for (size_t i = 0; i < n; i++) {
        struct cl_line_head h;
        assert_int_equal(cl_line_head_parse(lines[i], strlen(lines[i]), &h), 0);
        size_t mark = cl_batch_lines(&b)->len;
        cl_buf_append_str(cl_batch_lines(&b), lines[i]);
        cl_buf_append_char(cl_batch_lines(&b), '\n');
        struct cl_slice svc = {cl_batch_lines(&b)->data + mark +
                                   (strstr(lines[i], h.service) - lines[i]),
                               strlen(h.service)};
        assert_int_equal(cl_batch_add_record(&b, mark, h.ts_ms, (int)h.level, svc, &unused), 0);
    }
    assert_int_equal(cl_batch_flush(&b, &out->s), 1);
    cl_msg_from_sealed(&out->s, &out->m);
    cl_batch_free(&b);
}

#define LINE(ts, lvl, svc, msg)                                                                    \
    "{\"timestamp\":\"" ts "\",\"level\":\"" lvl "\",\"service\":\"" svc "\",\"message\":\"" msg   \
    "\"}"

static const char *const mixed[] = {
    LINE("2026-11-25T15:04:05.123Z", "info", "api", "a1"),
    LINE("2026-11-25T15:59:59.999Z", "error", "web", "w1"),
    LINE("2026-11-25T15:00:00.000Z", "warn", "api", "a2"),
    LINE("2026-11-25T16:00:00.000Z", "info", "api", "a3 next hour"),
    LINE("2026-11-25T15:30:00.000Z", "error", "api", "a4"),
};

/* Each entry agrees with the lines of its member: count, bytes, time span, levels, and
 * the partition cl_line_head_parse reads from every one of them. */
static void test_round_trip(void **state)
{
    (void)state;
    struct sealed_msg sm;
    pack(&sm, mixed, 5, 64);
    struct cl_msg_member *mm;
    size_t n = cl_msg_index_read(&sm.m.attrs, sm.m.body, sm.m.len, &mm);
    assert_int_equal(n, 3); /* api 15h, web 15h, api 16h: in order of first appearance */
    struct cl_buf raw;
    cl_buf_init(&raw, 1 << 20);
    uint64_t records = 0;
    for (size_t i = 0; i < n; i++) {
        cl_buf_reset(&raw);
        assert_int_equal(
            cl_gzip_decompress((const char *)sm.m.body + mm[i].gz_off, mm[i].gz_len, &raw), CL_OK);
        assert_int_equal(raw.len, mm[i].raw_len);
        struct cl_line_head want, h;
        cl_msg_member_head(&mm[i], &want);
        uint32_t levels[CL_LEVEL_COUNT] = {0}, count = 0;
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        for (const char *p = raw.data; p < raw.data + raw.len; count++) {
            const char *nl = memchr(p, '\n', (size_t)(raw.data + raw.len - p));
            assert_non_null(nl);
            assert_int_equal(cl_line_head_parse(p, (size_t)(nl - p), &h), 0);
            assert_string_equal(h.service, want.service);
            assert_string_equal(h.dt, want.dt);
            assert_int_equal(h.hour, want.hour);
            levels[h.level]++;
            lo = CL_MIN(lo, h.ts_ms);
            hi = CL_MAX(hi, h.ts_ms);
            p = nl + 1;
        }
        assert_int_equal(count, mm[i].records);
        assert_memory_equal(levels, mm[i].levels, sizeof levels);
        assert_int_equal(lo, mm[i].min_ts_ms);
        assert_int_equal(hi, mm[i].max_ts_ms);
        records += count;
    }
    assert_string_equal(mm[0].service, "api");
    assert_int_equal(mm[0].records, 3);
    assert_int_equal(mm[0].levels[CL_LEVEL_ERROR], 1);
    assert_string_equal(mm[1].service, "web");
    assert_int_equal(mm[2].records, 1);
    assert_int_equal(records, sm.m.attrs.record_count);
    /* the whole body is still plain gzip NDJSON: the index member adds no content */
    cl_buf_reset(&raw);
    assert_int_equal(cl_gzip_decompress(sm.m.body, sm.m.len, &raw), CL_OK);
    assert_int_equal(raw.len, sm.m.attrs.raw_bytes);
    cl_buf_free(&raw);
    free(mm);
    free(sm.s.gz);
}

/* zlib (what Python's gzip, zcat and most readers use) reads the body too, extra field and
 * empty member included. */
static void test_zlib_reads_the_body(void **state)
{
    (void)state;
    struct sealed_msg sm;
    pack(&sm, mixed, 5, 64);
    unsigned char out[4096];
    size_t total = 0, at = 0;
    while (at < sm.m.len) {
        z_stream z = {0};
        assert_int_equal(inflateInit2(&z, 16 + MAX_WBITS), Z_OK);
        z.next_in = (unsigned char *)sm.m.body + at;
        z.avail_in = (uInt)(sm.m.len - at);
        z.next_out = out + total;
        z.avail_out = (uInt)(sizeof out - total);
        assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
        at += z.total_in;
        total += z.total_out;
        inflateEnd(&z);
    }
    assert_int_equal(total, sm.m.attrs.raw_bytes);
    free(sm.s.gz);
}

/* Rewrites the payload's CRC after a test changed a byte of it (as a writer of another
 * version would have written it). */
static void reseal_payload(unsigned char *b)
{
    size_t plen = (size_t)b[14] | (size_t)b[15] << 8;
    uint32_t c = (uint32_t)crc32(0, b + 16, (uInt)(plen - 4));
    for (int i = 0; i < 4; i++)
        b[16 + plen - 4 + i] = (unsigned char)(c >> (8 * i));
}

static size_t read_copy(const struct sealed_msg *sm, const struct cl_msg_attrs *a,
                        void (*change)(unsigned char *b, size_t len))
{
    unsigned char *b = malloc(sm->m.len);
    memcpy(b, sm->m.body, sm->m.len);
    change(b, sm->m.len);
    struct cl_msg_member *mm;
    size_t n = cl_msg_index_read(a, b, sm->m.len, &mm);
    if (n == 0)
        assert_null(mm);
    free(mm);
    free(b);
    return n;
}

static void no_change(unsigned char *b, size_t len)
{
    (void)b, (void)len;
}
static void flip_last_member_byte(unsigned char *b, size_t len)
{
    b[len - 12] ^= 1; /* deflate data of the last member */
}
static void flip_payload_byte(unsigned char *b, size_t len)
{
    (void)len;
    b[22] ^= 1; /* the member count */
}
static void other_version(unsigned char *b, size_t len)
{
    (void)len;
    b[16] = CL_MSG_INDEX_VERSION + 1;
    reseal_payload(b);
}
static void other_partitioning(unsigned char *b, size_t len)
{
    (void)len;
    b[17] = CL_MSG_PARTITIONING_HOUR + 1;
    reseal_payload(b);
}

/* Whatever does not check out is not used: the processor then inflates the message,
 * which stores it or fails it as poison on its own terms. */
static void test_refused(void **state)
{
    (void)state;
    struct sealed_msg sm;
    pack(&sm, mixed, 5, 64);
    struct cl_msg_attrs a = sm.m.attrs;
    assert_int_equal(read_copy(&sm, &a, no_change), 3);
    assert_int_equal(read_copy(&sm, &a, flip_last_member_byte), 0);
    assert_int_equal(read_copy(&sm, &a, flip_payload_byte), 0);
    assert_int_equal(read_copy(&sm, &a, other_version), 0);
    assert_int_equal(read_copy(&sm, &a, other_partitioning), 0);
    a.record_count++; /* attributes at odds with the index */
    assert_int_equal(read_copy(&sm, &a, no_change), 0);
    a = sm.m.attrs;
    a.max_ts_ms++;
    assert_int_equal(read_copy(&sm, &a, no_change), 0);
    a = sm.m.attrs;
    memcpy(a.encoding, "zstd", 5);
    assert_int_equal(read_copy(&sm, &a, no_change), 0);
    struct cl_msg_member *mm;
    a = sm.m.attrs;
    assert_int_equal(cl_msg_index_read(&a, sm.m.body, sm.m.len - 1, &mm), 0); /* truncated */
    assert_int_equal(cl_msg_index_read(&a, sm.m.body, 20, &mm), 0);
    /* a message of an earlier version: the members without an index */
    struct cl_buf old;
    cl_buf_init(&old, 1 << 20);
    assert_int_equal(cl_gzip_compress("x\n", 2, 1, &old), CL_OK);
    assert_int_equal(cl_msg_index_read(&a, old.data, old.len, &mm), 0);
    cl_buf_free(&old);
    free(sm.s.gz);
}

/* An index that would not fit a gzip extra field (64 KiB) is left out: the members
 * alone, which every processor inflates. */
static void test_too_many_members_for_an_index(void **state)
{
    (void)state;
    enum { N = 1500 };
    static char text[N][200];
    const char *lines[N];
    for (int i = 0; i < N; i++) { /* 1500 services of 60 bytes: ~100 KB of index */
        snprintf(text[i], sizeof text[i], LINE("2026-11-25T15:04:05.123Z", "info", "%060d", "m"),
                 i);
        lines[i] = text[i];
    }
    struct sealed_msg sm;
    pack(&sm, lines, N, N);
    struct cl_msg_member *mm;
    assert_int_equal(cl_msg_index_read(&sm.m.attrs, sm.m.body, sm.m.len, &mm), 0);
    const unsigned char *b = sm.m.body;
    assert_int_equal(b[3] & 4, 0); /* the first member has no extra field */
    struct cl_buf raw;
    cl_buf_init(&raw, 1 << 22);
    assert_int_equal(cl_gzip_decompress(sm.m.body, sm.m.len, &raw), CL_OK);
    assert_int_equal(raw.len, sm.m.attrs.raw_bytes);
    cl_buf_free(&raw);
    free(sm.s.gz);
}

/* An index entry with fewer raw bytes than records (here an empty member said to hold one
 * record) is refused, though its CRCs and gzip trailer agree: it would give analytics a
 * line of -1 bytes. */
static void test_fewer_bytes_than_records(void **state)
{
    (void)state;
    struct cl_buf gz, body;
    cl_buf_init(&gz, 1 << 20);
    cl_buf_init(&body, 1 << 20);
    assert_int_equal(cl_gzip_compress("", 0, 1, &gz), CL_OK);
    struct cl_msg_member m = {.gz_len = gz.len,
                              .raw_len = 0,
                              .records = 1,
                              .min_ts_ms = 1795619045123LL,
                              .max_ts_ms = 1795619045123LL};
    m.levels[CL_LEVEL_INFO] = 1;
    strcpy(m.service, "api");
    assert_int_equal(cl_msg_index_write(&m, 1, gz.data, gz.len, &body), CL_OK);
    assert_int_equal(cl_buf_append(&body, gz.data, gz.len), CL_OK);
    struct cl_msg_attrs a;
    memset(&a, 0, sizeof a);
    a.record_count = 1;
    a.raw_bytes = 0;
    a.min_ts_ms = a.max_ts_ms = m.min_ts_ms;
    memcpy(a.encoding, "gzip", 5);
    struct cl_msg_member *mm = NULL;
    assert_int_equal(cl_msg_index_read(&a, body.data, body.len, &mm), 0);
    assert_null(mm);
    m.raw_len = 1; /* one byte per record: the bound itself is accepted */
    cl_buf_truncate(&body, 0);
    cl_buf_truncate(&gz, 0);
    assert_int_equal(cl_gzip_compress("\n", 1, 1, &gz), CL_OK);
    m.gz_len = gz.len;
    assert_int_equal(cl_msg_index_write(&m, 1, gz.data, gz.len, &body), CL_OK);
    assert_int_equal(cl_buf_append(&body, gz.data, gz.len), CL_OK);
    a.raw_bytes = 1;
    assert_int_equal(cl_msg_index_read(&a, body.data, body.len, &mm), 1);
    free(mm);
    cl_buf_free(&gz);
    cl_buf_free(&body);
}

/* Raw sizes whose sum wraps around 2^64 onto attrs.raw_bytes are refused, though every
 * CRC and gzip trailer (ISIZE is the size mod 2^32) agrees: a crafted index must not put
 * wrong sizes in the catalog. */
static void test_raw_sum_does_not_wrap(void **state)
{
    (void)state;
    struct cl_buf gz1, gz2, body;
    cl_buf_init(&gz1, 1 << 20);
    cl_buf_init(&gz2, 1 << 20);
    cl_buf_init(&body, 1 << 20);
    assert_int_equal(cl_gzip_compress("\n", 1, 1, &gz1), CL_OK);
    assert_int_equal(cl_gzip_compress("x\n", 2, 1, &gz2), CL_OK);
    struct cl_msg_member m[2] = {{.gz_len = gz1.len,
                                  .raw_len = (1ULL << 63) + 1,
                                  .records = 1,
                                  .min_ts_ms = 1795619045123LL,
                                  .max_ts_ms = 1795619045123LL},
                                 {.gz_len = gz2.len,
                                  .raw_len = (1ULL << 63) + 2,
                                  .records = 1,
                                  .min_ts_ms = 1795619045123LL,
                                  .max_ts_ms = 1795619045123LL}};
    for (int i = 0; i < 2; i++) {
        m[i].levels[CL_LEVEL_INFO] = 1;
        strcpy(m[i].service, "api");
    }
    struct cl_buf data;
    cl_buf_init(&data, 1 << 20);
    cl_buf_append(&data, gz1.data, gz1.len);
    cl_buf_append(&data, gz2.data, gz2.len);
    assert_int_equal(cl_msg_index_write(m, 2, data.data, data.len, &body), CL_OK);
    assert_int_equal(cl_buf_append(&body, data.data, data.len), CL_OK);
    struct cl_msg_attrs a;
    memset(&a, 0, sizeof a);
    a.record_count = 2;
    a.raw_bytes = 3; /* (2^63 + 1) + (2^63 + 2) mod 2^64 */
    a.min_ts_ms = a.max_ts_ms = m[0].min_ts_ms;
    memcpy(a.encoding, "gzip", 5);
    struct cl_msg_member *mm = NULL;
    assert_int_equal(cl_msg_index_read(&a, body.data, body.len, &mm), 0);
    assert_null(mm);
    cl_buf_free(&gz1);
    cl_buf_free(&gz2);
    cl_buf_free(&data);
    cl_buf_free(&body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_zlib_reads_the_body),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_too_many_members_for_an_index),
        cmocka_unit_test(test_fewer_bytes_than_records),
        cmocka_unit_test(test_raw_sum_does_not_wrap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
