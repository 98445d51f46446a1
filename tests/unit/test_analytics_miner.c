/* test_analytics_miner.c - the pattern miner: masking rules, merging, the second pass,
 * stable ids and the memory cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mask.h"
#include "miner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct cl_masked masked; /* large: kept off the stack */

static void expect_mask(const char *msg, const char *want)
{
    cl_mask_message(msg, strlen(msg), &masked);
    masked.text[masked.text_len] = '\0';
    if (strcmp(masked.text, want) != 0)
        fail_msg("mask(\"%s\") = \"%s\", want \"%s\"", msg, masked.text, want);
}

static void test_mask_values(void **state)
{
    expect_mask("took 42 ms", "took <*>"); /* number, then its unit */
    expect_mask("size 5.2 KB, free 93 B", "size <*>, free <*>");
    expect_mask("read 10KB in 3.5s", "read <*> in <*>"); /* size and duration words */
    expect_mask("id 0x7fed806eb5d ok", "id <*> ok");
    expect_mask("req 123e4567-e89b-12d3-a456-426614174000 done", "req <*> done");
    expect_mask("object deadbeefcafe", "object <*>"); /* hex without digits */
    expect_mask("from 10.250.19.102 to fe80::1ff:fe23:4567:890a", "from <*> to <*>");
    expect_mask("connect db.internal:5432 failed", "connect <*> failed");
    expect_mask("open /var/log/syslog and C:\\Windows\\x.dll", "open <*> and <*>");
    expect_mask("GET https://example.com/a?b=c", "GET <*>");
    expect_mask("at Fri Jun 17 07:07:00 2005", "at <*>");
    expect_mask("on 2016-09-28T04:30:30Z", "on <*>");
}

static void test_mask_shapes(void **state)
{
    expect_mask("user \"John Smith\" logged in", "user <*> logged in"); /* quoted, blanks */
    expect_mask("state 'Active' now", "state 'Active' now"); /* one quoted word: a word */
    expect_mask("uid=0 euid=10 tty=NODEVssh ruser=", "uid=<*> euid=<*> tty=<*> ruser=");
    expect_mask("block blk_-6952295868487656571 on en0", "block blk_<*> on en<*>");
    expect_mask("Process(31211) deny(1)", "Process(<*>) deny(<*>)");
    expect_mask("connection from 1.2.3.4 () at", "connection from <*> (<*>) at");
    expect_mask("delete blk_1 blk_-2 blk_3 now", "delete blk_<*> now"); /* one list */
    expect_mask("(stack @0x7fe @0x7ff @0xff8)", "(stack @<*> @<*>)");   /* last has ")" */
    expect_mask("a  \t b\r\n", "a b");
    expect_mask("", "");
}

static void test_mask_bounds(void **state)
{
    static char big[CL_MASK_MAX_BYTES * 2];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = i % 2 ? ' ' : 'a';
    cl_mask_message(big, sizeof big, &masked);
    assert_int_equal(masked.n, CL_MASK_MAX_TOKENS);
    assert_int_equal(masked.tok[CL_MASK_MAX_TOKENS - 1].hash, CL_MASK_WILD);
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = i % 2 ? ' ' : '1'; /* every token grows from 1 to 3 bytes */
    cl_mask_message(big, sizeof big, &masked);
    assert_int_equal(masked.n, 1); /* adjacent wildcards collapse */
}

static const char *tmpl(struct cl_miner *m, const struct cl_pattern_match *pm)
{
    return cl_miner_template(m, pm->cluster, NULL, NULL);
}

static void add(struct cl_miner *m, const char *msg, struct cl_pattern_match *pm)
{
    cl_miner_add(m, msg, strlen(msg), pm);
}

static void test_merge_generalizes(void **state)
{
    struct cl_miner *m = cl_miner_new(NULL);
    struct cl_pattern_match a, b, c;
    add(m, "Connection to db1 timed out after 30 ms", &a);
    assert_true(a.is_new);
    assert_string_equal(tmpl(m, &a), "Connection to db<*> timed out after <*>");
    add(m, "Connection to 10.0.0.7 timed out after 5 ms", &b);
    assert_false(b.is_new);
    assert_int_equal(b.cluster, a.cluster);
    assert_int_equal(b.prev_id, a.id); /* the template generalized */
    assert_string_equal(tmpl(m, &b), "Connection to <*> timed out after <*>");
    add(m, "Connection to db2 timed out after 7 ms", &c);
    assert_int_equal(c.id, b.id);
    assert_int_equal(c.prev_id, 0);
    /* Different plain words, different events. */
    add(m, "Connection from db2 timed out after 5 ms", &a);
    assert_true(a.is_new);
    add(m, "Starting TrustedInstaller initialization.", &a);
    add(m, "Starting TrustedInstaller finalization.", &b);
    assert_int_not_equal(a.cluster, b.cluster);
    /* Different token counts never merge. */
    add(m, "Connection to db2 timed out after 7 ms twice", &c);
    assert_true(c.is_new);
    assert_int_equal(cl_miner_count(m), 5);
    cl_miner_free(m);
}

static void test_consolidate_variable_words(void **state)
{
    struct cl_miner *m = cl_miner_new(NULL);
    struct cl_pattern_match p[4], q[2];
    const char *users[] = {"root", "news", "cyrus", "test"};
    for (int i = 0; i < 4; i++) {
        char msg[64];
        snprintf(msg, sizeof msg, "session opened for user %s by (uid=0)", users[i]);
        add(m, msg, &p[i]);
    }
    add(m, "cupsd startup succeeded", &q[0]); /* too little context to generalize */
    add(m, "klogd startup succeeded", &q[1]);
    add(m, "sshd startup succeeded", &q[1]);
    assert_int_not_equal(p[0].cluster, p[1].cluster);
    assert_int_equal(cl_miner_consolidate(m), 4);
    uint64_t id;
    for (int i = 0; i < 4; i++) {
        assert_string_equal(tmpl(m, &p[i]), "session opened for user <*> by (uid=<*>)");
        cl_miner_template(m, p[i].cluster, NULL, &id);
        cl_miner_template(m, p[0].cluster, NULL, &p[0].id);
        assert_int_equal(id, p[0].id);
    }
    assert_string_equal(tmpl(m, &q[0]), "cupsd startup succeeded");
    assert_int_equal(cl_miner_consolidate(m), 0); /* nothing left to do */
    cl_miner_free(m);
}

static void test_ids_stable(void **state)
{
    const char *msgs[] = {"GET /a 200 12ms", "GET /b 404 3ms", "worker 7 started",
                          "worker 8 started", "disk sda1 full"};
    uint64_t ids[2][5];
    for (int run = 0; run < 2; run++) {
        struct cl_miner *m = cl_miner_new(NULL);
        struct cl_pattern_match pm;
        for (int i = 0; i < 5; i++) {
            add(m, msgs[i], &pm);
            ids[run][i] = pm.id;
            size_t len;
            const char *t = cl_miner_template(m, pm.cluster, &len, NULL);
            assert_int_equal(pm.id, cl_mask_hash(t, len)); /* id = hash of the template */
        }
        cl_miner_free(m);
    }
    assert_memory_equal(ids[0], ids[1], sizeof ids[0]);
    /* FNV-1a 64 of "worker <*> started", fixed so ids survive restarts and upgrades. */
    char hex[17];
    cl_pattern_id_format(ids[0][3], hex);
    assert_string_equal(hex, "1f6d401176d79e8e");
}

static void test_cap_evicts_lru(void **state)
{
    struct cl_miner_config cfg = {4, 0};
    struct cl_miner *m = cl_miner_new(&cfg);
    struct cl_pattern_match first, pm;
    add(m, "alpha event happened", &first);
    size_t peak = 0;
    for (int i = 0; i < 100; i++) {
        char msg[64];
        snprintf(msg, sizeof msg, "event kind%c%c only here", 'a' + i % 26, 'a' + i / 26);
        add(m, msg, &pm);
        add(m, "alpha event happened", &pm); /* keeps the first one recently used */
        assert_true(cl_miner_count(m) <= 4);
        if (cl_miner_memory(m) > peak)
            peak = cl_miner_memory(m);
    }
    assert_true(cl_miner_alive(m, first.cluster, first.generation));
    assert_int_equal(pm.cluster, first.cluster);
    assert_int_equal(cl_miner_evictions(m), 97);
    assert_true(peak < 16 * 1024); /* four small clusters and the tables */
    struct cl_pattern_match old;
    assert_int_equal(cl_miner_match(m, "event kindaa only here", 22, &old), -1); /* evicted */
    cl_miner_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mask_values),
        cmocka_unit_test(test_mask_shapes),
        cmocka_unit_test(test_mask_bounds),
        cmocka_unit_test(test_merge_generalizes),
        cmocka_unit_test(test_consolidate_variable_words),
        cmocka_unit_test(test_ids_stable),
        cmocka_unit_test(test_cap_evicts_lru),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
