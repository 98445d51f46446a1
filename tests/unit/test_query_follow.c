/* test_query_follow.c - cl_query_follow (query_follow.c), the algorithm of `cloudlog tail
 * -f`, driven through its callbacks as a server would: the newest N first, then each newly
 * published object's records once, until stop() says so. */
#include "codec.h"
#include "common.h"
#include "query_follow.h"
#include "store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_GOT 64

struct run {
    struct cl_store *store;
    int64_t now;
    char got[MAX_GOT][128];
    int n_got, flushes, stop_calls, published;
};

/* Publishes object name holding records "name-0".."name-(n-1)" a second apart. */
static void publish(struct cl_store *st, int64_t now, const char *name, int n)
{
    char ts[25], key[200], buf[2048];
    size_t len = 0;
    cl_format_timestamp(now, ts);
    snprintf(key, sizeof key, "service=api/dt=%.10s/hour=%.2s/%s.ndjson.gz", ts, ts + 11, name);
    for (int i = 0; i < n; i++) {
        cl_format_timestamp(now - 60000 + i * 1000 + (name[1] - '0') * 10000, ts);
        len += (size_t)snprintf(buf + len, sizeof buf - len,
                                "{\"timestamp\":\"%s\",\"level\":\"info\",\"service\":\"api\","
                                "\"message\":\"%s-%d\"}\n",
                                ts, name, i);
    }
    struct cl_buf gz;
    cl_buf_init(&gz, SIZE_MAX);
    assert_int_equal(cl_gzip_compress(buf, len, 1, &gz), CL_OK);
    assert_int_equal(cl_store_put(st, key, gz.data, gz.len), CL_OK);
    cl_buf_free(&gz);
}

static int on_emit(void *arg, const char *line, size_t len, const struct cl_line_head *h)
{
    struct run *r = arg;
    (void)h;
    const char *m = strstr(line, "\"message\":\"");
    assert_non_null(m);
    assert_true(r->n_got < MAX_GOT);
    snprintf(r->got[r->n_got++], sizeof r->got[0], "%.*s", (int)(strcspn(m + 11, "\"")), m + 11);
    (void)len;
    return 0;
}

static void on_flush(void *arg)
{
    ((struct run *)arg)->flushes++;
}

/* Publishes o2 once the first lines are out; stops when its records came (or, bounded,
 * after 3000 calls: the assertions then fail). */
static int on_stop(void *arg)
{
    struct run *r = arg;
    r->stop_calls++;
    if (r->n_got >= 2 && !r->published) {
        publish(r->store, r->now, "o2", 3);
        r->published = 1;
    }
    return r->n_got >= 5 || r->stop_calls > 3000;
}

static void test_newest_then_new_objects_once(void **state)
{
    (void)state;
    char dir[600], err[256];
    const char *base = getenv("CL_TMPDIR");
    snprintf(dir, sizeof dir, "%s/follow_XXXXXX", base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(dir));
    struct cl_store st;
    assert_int_equal(cl_store_open(&st, dir, err, sizeof err), CL_OK);
    struct run r = {.store = &st, .now = cl_now_ms()};
    publish(&st, r.now, "o0", 3); /* records o0-0..2, then o1-0..2 later in time */
    publish(&st, r.now, "o1", 3);
    struct cl_query q = {.from_ms = r.now - 3600000, .to_ms = r.now + 3600000};
    struct cl_query_source src = {&st, NULL};
    struct cl_query_follow f = {2, 10, 2 * 3600000LL, on_emit, NULL, on_flush, on_stop, &r};
    assert_int_equal(cl_query_follow(&src, &q, &f, err, sizeof err), CL_OK);
    assert_true(r.stop_calls <= 3000);
    assert_int_equal(r.n_got, 5);
    /* the newest two, oldest first; then o2's three, each once */
    assert_string_equal(r.got[0], "o1-1");
    assert_string_equal(r.got[1], "o1-2");
    assert_string_equal(r.got[2], "o2-0");
    assert_string_equal(r.got[3], "o2-1");
    assert_string_equal(r.got[4], "o2-2");
    assert_true(r.flushes >= 2);
    /* cl_query_newest alone: the last three, no polling */
    struct run r2 = {.store = &st, .now = r.now};
    struct cl_query_follow f2 = {3, 10, 2 * 3600000LL, on_emit, NULL, NULL, NULL, &r2};
    assert_int_equal(cl_query_newest(&src, &q, &f2, err, sizeof err), CL_OK);
    assert_int_equal(r2.n_got, 3);
    assert_string_equal(r2.got[0], "o2-0");
    assert_string_equal(r2.got[2], "o2-2");
    cl_store_close(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_newest_then_new_objects_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
