/* salvage_test_util.h - what the salvage tests share (test_queue_salvage*.c): a source
 * queue file of "ok <i>" messages, raw page access to it, the salvage's check, and a
 * salvage into a fresh live queue that asserts no body was copied twice. Part of the
 * cl_queue_test library (tests/CMakeLists.txt). */
#ifndef CL_SALVAGE_TEST_UTIL_H
#define CL_SALVAGE_TEST_UTIL_H

#include "queue.h"
#include "queue_repair.h"

#include <stddef.h>
#include <stdint.h>

/* Opens the queue at path with default options but no fsync (fails the test on error). */
void cl_sv_open_queue(struct cl_queue *q, const char *path);
/* A fresh queue file at path of page_size-byte pages holding n messages "ok <i> <pad>"
 * (ids 1..n), closed (so checkpointed: every page is in the main file). The file is made
 * before the queue opens it, so the queue keeps that page size. */
void cl_sv_make_source(const char *path, int page_size, int n);
/* Reads (write 0) or writes page pageno (1-based) of path, page_size bytes at buf. */
void cl_sv_page_io(const char *path, int64_t pageno, unsigned char *buf, size_t page_size,
                   int write);
/* The salvage's check: a body is valid when it starts with "ok ". */
int cl_sv_check_ok(void *arg, const struct cl_msg *m, char *why, size_t why_len);
/* Salvages src into a fresh live queue at dst (any old dst removed) and asserts that the
 * result's counts are the rows dst holds and that no body was copied twice, across the
 * messages and DLQ tables. */
void cl_sv_salvage(const char *src, const char *dst, struct cl_salvage_result *r);

#endif
