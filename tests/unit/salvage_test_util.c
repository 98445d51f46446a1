/* salvage_test_util.c - see salvage_test_util.h. */
#include "salvage_test_util.h"

#include "common.h"
#include "queue_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

void cl_sv_open_queue(struct cl_queue *q, const char *path)
{
    struct cl_queue_opts o;
    cl_queue_opts_default(&o);
    o.durability_full = 0;
    char err[256];
    if (cl_queue_open(q, path, &o, err, sizeof err) != CL_OK)
        fail_msg("open %s: %s", path, err);
}

void cl_sv_make_source(const char *path, int page_size, int n)
{
    cl_qt_remove_db(path);
    char sql[96];
    snprintf(sql, sizeof sql, "PRAGMA page_size=%d; PRAGMA journal_mode=WAL;", page_size);
    cl_qt_exec_sql(path, sql);
    struct cl_queue q;
    cl_sv_open_queue(&q, path);
    for (int i = 0; i < n; i++) {
        char body[400];
        int len = snprintf(body, sizeof body, "ok %d %*s", i, 200, "p");
        struct cl_msg_out m = {body, (size_t)len, {.record_count = 1, .encoding = "gzip"}};
        assert_int_equal(cl_queue_send(&q, &m, 1), CL_OK);
    }
    cl_queue_close(&q);
    assert_int_equal(cl_qt_query_int(path, "PRAGMA page_size"), page_size);
}

void cl_sv_page_io(const char *path, int64_t pageno, unsigned char *buf, size_t page_size,
                   int write)
{
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, (long)((pageno - 1) * (int64_t)page_size), SEEK_SET), 0);
    size_t n = write ? fwrite(buf, 1, page_size, f) : fread(buf, 1, page_size, f);
    assert_int_equal(n, page_size);
    fclose(f);
}

int cl_sv_check_ok(void *arg, const struct cl_msg *m, char *why, size_t why_len)
{
    (void)arg;
    if (m->len >= 3 && memcmp(m->body, "ok ", 3) == 0)
        return 0;
    snprintf(why, why_len, "not ok");
    return -1;
}

void cl_sv_salvage(const char *src, const char *dst, struct cl_salvage_result *r)
{
    cl_qt_remove_db(dst);
    struct cl_queue q;
    cl_sv_open_queue(&q, dst);
    char err[256];
    assert_int_equal(cl_queue_salvage(&q, src, cl_sv_check_ok, NULL, r, err, sizeof err), CL_OK);
    cl_queue_close(&q);
    assert_int_equal(cl_qt_query_int(dst, "SELECT count(*) FROM messages"), (int64_t)r->messages);
    assert_int_equal(cl_qt_query_int(dst, "SELECT count(*) FROM dlq"), (int64_t)r->dlq);
    assert_int_equal(cl_qt_query_int(dst,
                                     "SELECT count(DISTINCT body) FROM"
                                     " (SELECT body FROM messages UNION ALL SELECT body FROM dlq)"),
                     (int64_t)(r->messages + r->dlq));
}
