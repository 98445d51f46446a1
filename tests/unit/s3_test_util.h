/* s3_test_util.h - what the S3 store's unit tests share (test_store_s3*.c): two moto
 * servers per program and store helpers. Linked into every test_store_s3* program
 * (tests/CMakeLists.txt). */
#ifndef CL_S3_TEST_UTIL_H
#define CL_S3_TEST_UTIL_H

#include "moto_test.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>

#define BUCKET "cl-test-bucket"

/* moto 5.2.1 verifies S3 signatures against werkzeug's re-quoted path and query
 * (request.full_path), not the wire form: keys with = ! $ & ' ( ) * + , ; : @ % and list
 * prefixes with '/' fail verification for boto3 as well as for us. Such keys run on a
 * second moto without verification (m_open); everything else runs with it (m_auth). */
struct cl_s3_fixture {
    struct cl_moto m_auth, m_open;
    int ok; /* 1 once both run and m_auth has an IAM user whose key we hold */
    char akid[128], secret[128];
    char tmpdir[512]; /* CL_TMPDIR, else /tmp */
};
extern struct cl_s3_fixture cl_s3_fx;

/* cmocka group setups: tmpdir only (tests without moto), or both motos with BUCKET
 * made (skips, or fails under CI=true, without moto); the teardown stops them. */
int cl_s3_tmpdir_setup(void **state);
int cl_s3_group_setup(void **state);
int cl_s3_group_teardown(void **state);

#define NEED_MOTO()                                                                                \
    do {                                                                                           \
        if (!cl_s3_fx.ok)                                                                          \
            skip();                                                                                \
    } while (0)

/* Runs a boto3 snippet against moto at port (m_auth's or m_open's). */
int cl_s3_run_py(int port, const char *code, char *out, size_t out_len);
/* Opens s3://BUCKET/prefix at moto m with extra options (may be ""); cl_s3_open: at
 * m_auth. */
void cl_s3_open_at(struct cl_store *s, const struct cl_moto *m, const char *prefix,
                   const char *extra);
void cl_s3_open(struct cl_store *s, const char *prefix, const char *extra);
/* key holds exactly want[0..len). */
void cl_s3_assert_get(struct cl_store *s, const char *key, const void *want, size_t len);
/* cl_store_get's answer for key. */
int cl_s3_get_rc(struct cl_store *s, const char *key);
/* A cl_store_list callback collecting "key:size\n" lines into the cl_buf arg. */
int cl_s3_collect(void *arg, const char *key, uint64_t size);
/* Runs fn(s) with stderr captured into out (the store logs S3 errors there). */
int cl_s3_with_stderr(int (*fn)(struct cl_store *), struct cl_store *s, char *out, size_t len);
/* For cl_s3_with_stderr: puts the one-byte key "denied"; lists everything. */
int cl_s3_put_one(struct cl_store *s);
int cl_s3_list_all(struct cl_store *s);

#endif
