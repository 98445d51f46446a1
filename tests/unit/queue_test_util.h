/* queue_test_util.h - what the SQLite queue's unit tests share (test_queue_*.c): a
 * directory per test program, a fake clock, database paths, and the queue helpers of
 * the test_queue_sqlite*.c files. Linked into every test_queue_* program
 * (tests/CMakeLists.txt). */
#ifndef CL_QUEUE_TEST_UTIL_H
#define CL_QUEUE_TEST_UTIL_H

#include "queue.h"

#include <stddef.h>
#include <stdint.h>

extern char cl_qt_dir[512];  /* the program's directory, made by cl_qt_setup_dir */
extern int64_t cl_qt_now_ms; /* what cl_qt_clock answers */

/* A clock for cl_queue_sqlite_set_clock: cl_qt_now_ms. */
int64_t cl_qt_clock(void *arg);
/* cl_qt_dir/name into out. */
void cl_qt_db_path(char *out, size_t len, const char *name);
/* Removes a database and its -wal and -shm files. */
void cl_qt_remove_db(const char *path);
/* cmocka group setup: a fresh cl_qt_dir under CL_TMPDIR (else /tmp) named after the test
 * program. */
int cl_qt_setup_dir(void **state);

/* Opens a fresh queue at cl_qt_dir/name (opts NULL: defaults without fsync), with the
 * fake clock set near the real time. */
void cl_qt_open_fresh(struct cl_queue *q, const char *name, struct cl_queue_opts *opts);
/* Message seq: body "body-NNNNNN" written into body[32], attributes derived from seq. */
struct cl_msg_out cl_qt_make_msg(char *body, int seq);
/* Sends messages first .. first+n-1, one per call. */
void cl_qt_send_n(struct cl_queue *q, int first, int n);
struct cl_queue_stats cl_qt_stats_of(struct cl_queue *q);
/* Runs sql on the database file at path on a connection of its own (fails the test on
 * an error). */
void cl_qt_exec_sql(const char *path, const char *sql);
/* The first column of the first row of sql on the database file at path, on a
 * connection of its own (fails the test when there is no row). */
int64_t cl_qt_query_int(const char *path, const char *sql);
void cl_qt_assert_stats(struct cl_queue *q, uint64_t visible, uint64_t inflight, uint64_t dlq);

/* Opens the queue file at path with durability_full, as its owner (the daemon); fails the
 * test on an error. */
void cl_qt_open_durable(struct cl_queue *q, const char *path);
/* Sends message seq alone (cl_qt_make_msg); returns cl_queue_send's answer. */
int cl_qt_send_one(struct cl_queue *q, int seq);
/* A WAL sync for cl_queue_sqlite_set_wal_sync_fn: fails the next cl_qt_syncs_to_fail
 * syncs with EIO, then fdatasyncs; counts every call in cl_qt_syncs_seen. */
extern int cl_qt_syncs_to_fail, cl_qt_syncs_seen;
int cl_qt_failing_sync(int fd);

#endif
