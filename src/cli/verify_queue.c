/* verify_queue.c - `cloudlog verify`'s queue checks: quarantined queue files (salvaged
 * with --repair), the live file's integrity, and the dead-letter queue. */
#include "verify.h"

#include "buf.h"
#include "catalog_verify.h"
#include "common.h"
#include "message.h"
#include "queue_repair.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VERIFY_INTEGRITY_LINES 20

static int count_line(void *arg, const char *line, size_t len, const struct cl_line_head *h)
{
    (void)line, (void)len, (void)h;
    (*(uint64_t *)arg)++;
    return 0;
}

/* A salvaged message is queued again only if it decodes into record_count records, the
 * check the processor would make: a damaged page can also return wrong bytes. */
static int check_salvaged(void *arg, const struct cl_msg *m, char *why, size_t why_len)
{
    (void)arg;
    struct cl_buf raw;
    cl_buf_init(&raw, (size_t)1 << 30);
    uint64_t n = 0;
    int rc = cl_msg_decode(&m->attrs, m->body, m->len, &raw, why, why_len);
    if (rc == 0)
        rc = cl_msg_lines(&raw, count_line, &n, why, why_len);
    if (rc == 0 && n != m->attrs.record_count) {
        snprintf(why, why_len, "holds %llu records, its attributes say %u", (unsigned long long)n,
                 m->attrs.record_count);
        rc = -1;
    }
    cl_buf_free(&raw);
    return rc;
}

struct pending_ctx {
    struct verify_report *r;
    struct cl_queue *q;
};

static void salvage_file(struct pending_ctx *c, const char *path, struct verify_finding *f)
{
    struct cl_salvage_result s;
    char err[512] = "";
    int rc = cl_queue_salvage(c->q, path, check_salvaged, NULL, &s, err, sizeof err);
    if (rc != CL_OK) {
        verify_repaired(f, 0, "salvage stopped: %s (run again to resume)", err);
        return;
    }
    char summary[512];
    snprintf(summary, sizeof summary,
             "{\"messages\":%llu,\"dlq\":%llu,\"records\":%llu,\"progress\":%llu,"
             "\"unreadable\":%llu,\"invalid\":%llu,\"already_done\":%s}",
             (unsigned long long)s.messages, (unsigned long long)s.dlq,
             (unsigned long long)s.records, (unsigned long long)s.progress,
             (unsigned long long)s.unreadable, (unsigned long long)s.invalid,
             s.already_done ? "true" : "false");
    rc = cl_queue_quarantine_mark_salvaged(path, summary);
    if (s.already_done) {
        verify_repaired(f, rc == CL_OK, "salvaged by an earlier run; marked %s.salvaged", path);
        return;
    }
    verify_repaired(f, rc == CL_OK,
                    "salvaged %llu message(s) (%llu records) into the queue and %llu into the "
                    "DLQ; %llu unreadable, %llu refused; the file is kept (%s.salvaged)",
                    (unsigned long long)s.messages, (unsigned long long)s.records,
                    (unsigned long long)s.dlq, (unsigned long long)s.unreadable,
                    (unsigned long long)s.invalid, path);
}

static int on_pending(void *arg, const char *path)
{
    struct pending_ctx *c = arg;
    struct verify_finding *f =
        verify_add(c->r, VERIFY_PROBLEM, "queue_quarantined", path,
                   "damaged queue file moved aside at start-up; its messages are not "
                   "salvaged yet");
    if (c->r->repair && c->q)
        salvage_file(c, path, f);
    return 0;
}

static void on_integrity(void *arg, const char *line)
{
    verify_add(arg, VERIFY_PROBLEM, "queue_integrity", NULL,
               "%s (stop the daemon and move queue.db, -wal and -shm into DATA/quarantine/: "
               "it starts on a fresh queue and 'verify --repair' salvages the old one)",
               line);
}

static void check_dlq(struct verify_report *r, struct cl_queue *q)
{
    struct cl_queue_stats st;
    int rc = cl_queue_stats(q, &st);
    if (rc != CL_OK)
        verify_add(r, VERIFY_PROBLEM, "queue_stats", NULL, "cannot read queue totals: %s",
                   cl_strerror(rc));
    else if (st.dlq_depth)
        verify_add(r, VERIFY_WARNING, "dlq", NULL,
                   "%llu message(s) (%llu bytes) in the dead-letter queue: 'cloudlog dlq list' "
                   "shows why, 'cloudlog dlq redrive' retries them",
                   (unsigned long long)st.dlq_depth, (unsigned long long)st.dlq_bytes);
    else
        verify_add(r, VERIFY_INFO, "queue", NULL,
                   "%llu visible, %llu in flight, dead-letter queue empty",
                   (unsigned long long)st.visible, (unsigned long long)st.inflight);
}

void verify_queue(struct verify_report *r, const char *data_dir, struct cl_queue *q)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/quarantine", data_dir);
    struct pending_ctx c = {r, q};
    if (cl_queue_quarantine_list(dir, 1, on_pending, &c) < 0)
        verify_add(r, VERIFY_PROBLEM, "quarantine_unreadable", dir, "cannot list the directory");
    if (!q)
        return;
    int rc = cl_queue_integrity(q, VERIFY_INTEGRITY_LINES, on_integrity, r);
    if (rc == CL_OK || rc == CL_ERR_UNSUPPORTED)
        check_dlq(r, q);
}

static void add_committed(void *arg, const char *staging_key, const char *key)
{
    struct verify_committed *c = arg;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->staging = cl_realloc(c->staging, c->cap * sizeof *c->staging);
        c->key = cl_realloc(c->key, c->cap * sizeof *c->key);
    }
    c->staging[c->n] = cl_strdup(staging_key);
    c->key[c->n++] = cl_strdup(key);
}

static int load_one(void *arg, const char *path)
{
    cl_queue_quarantine_unpublished(path, add_committed, arg);
    return 0;
}

void verify_committed_load(const char *data_dir, struct verify_committed *c)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/quarantine", data_dir);
    memset(c, 0, sizeof *c);
    cl_queue_quarantine_list(dir, 0, load_one, c);
}

void verify_committed_free(struct verify_committed *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->staging[i]);
        free(c->key[i]);
    }
    free(c->staging);
    free(c->key);
    memset(c, 0, sizeof *c);
}
