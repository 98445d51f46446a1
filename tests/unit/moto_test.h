/* moto_test.h - moto_server for C tests: start/stop on a loopback port, boto3 snippets, and
 * the IAM setup that makes moto verify every SigV4 signature; tests/tools/faultproxy.py in
 * front of it (start, control requests, counting its log). */
#ifndef CL_MOTO_TEST_H
#define CL_MOTO_TEST_H

#include <stddef.h>
#include <sys/types.h>

/* A moto_server process started by the test, in its own process group. */
struct cl_moto {
    pid_t pid; /* -1 when not running */
    int port;
};

#define CL_MOTO_INIT                                                                               \
    {                                                                                              \
        -1, 0                                                                                      \
    }

/* 1 if python3 imports moto and boto3; else prints why and returns 0 (skip) or, when
 * CI=true, -1 (the caller fails: CI must have moto). what names the tests for the message. */
int cl_moto_available(const char *what);

/* Starts moto on a free loopback port, logging to log_path. verify: signatures are
 * checked after the first three calls (INITIAL_NO_AUTH_ACTION_COUNT=3), which
 * cl_moto_iam_setup must make. Returns 0 once the port accepts connections (bounded: 30 s),
 * else -1. Stop with cl_moto_stop. */
int cl_moto_start(struct cl_moto *m, int verify, const char *log_path);

/* Stops the process group (SIGTERM, bounded wait, then SIGKILL). Idempotent. Works for any
 * helper process whose pid leads its own process group (e.g. a fault proxy). */
void cl_moto_stop(struct cl_moto *m);

/* Runs a Python snippet with `os, sys, json, hashlib, boto3` imported, E set to moto's URL
 * and client(service) making a boto3 client there with the key of cl_moto_use_key (script
 * written under tmpdir, 60 s timeout); stdout goes to out. Returns the exit status, or -1. */
int cl_moto_python(const struct cl_moto *m, const char *tmpdir, const char *code, char *out,
                   size_t out_len);

/* The three unauthenticated calls on a verifying moto: IAM user, allow-all inline policy,
 * access key, whose id and secret are returned (buffers of at least 128 bytes). Returns 0
 * or -1 (the snippet's output in secret for the message). */
int cl_moto_iam_setup(const struct cl_moto *m, const char *tmpdir, char *akid, char *secret);

/* Makes the test process (and the snippets it runs) use this key against moto: sets
 * AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (and CL_AKID/CL_SECRET for the snippets),
 * AWS_REGION us-east-1, and unsets AWS_SESSION_TOKEN and the AWS_ENDPOINT_URL* variables. */
void cl_moto_use_key(const char *akid, const char *secret);

/* cl_moto_start (verifying), cl_moto_iam_setup and cl_moto_use_key in one: a moto whose
 * every later request must be signed with the returned key. Returns 0, or -1 after
 * printing why (and stopping moto). */
int cl_moto_start_verified(struct cl_moto *m, const char *tmpdir, const char *log_path, char *akid,
                           char *secret);

/* The fault proxy of the running test (start it with cl_faultproxy_start), and a cmocka
 * teardown that stops it even when an assertion ended the test half-way. */
extern struct cl_moto cl_test_proxy;
int cl_test_proxy_teardown(void **state);

/* A free loopback TCP port (bound and released), or -1. */
int cl_moto_free_port(void);

/* Starts tests/tools/faultproxy.py (found from this file's source path: ../tools/) on a
 * loopback port, forwarding to 127.0.0.1:upstream_port, in its own process group; its
 * output goes to log_path (NULL: inherited). Its port file is made under tmpdir and removed.
 * Returns 0 with p->pid and p->port set once it listens (bounded: 20 s), else -1 after
 * printing why, with nothing left running. Stop with cl_moto_stop. */
int cl_faultproxy_start(struct cl_moto *p, int upstream_port, const char *tmpdir,
                        const char *log_path);

/* One control request to the proxy over a fresh connection (bounded: 30 s): method and path
 * as in faultproxy.py's docstring ("POST" "/__faults", "GET" "/__faults/log", ...), body a
 * JSON text or NULL. Returns 0 when the proxy answered 200 and its body fit in out
 * (NUL-terminated; out NULL: the body is discarded), else -1 after printing why (no answer,
 * another status with its body, or a body of out_len bytes or more). */
int cl_faultproxy_control(const struct cl_moto *p, const char *method, const char *path,
                          const char *body, char *out, size_t out_len);

/* How many requests in the proxy's log (GET /__faults/log) had the given action ("forward",
 * "status", "reset", "stall", "entry_fail") and an X-Amz-Target naming operation target:
 * equal to it or ending in "." target ("SendMessageBatch" counts "AmazonSQS.SendMessageBatch").
 * Returns -1 after printing why if the log could not be read. */
int cl_faultproxy_count(const struct cl_moto *p, const char *target, const char *action);

#endif
