/* store_s3_int.h - what the S3 store's source files share (internal to cl_store). */
#ifndef CL_STORE_S3_INT_H
#define CL_STORE_S3_INT_H

#include "buf.h"
#include "credentials.h"
#include "http.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds on response bodies that are not object data. */
#define S3_ERR_BODY_MAX (64 * 1024)
#define S3_LIST_BODY_MAX (16 * 1024 * 1024)
#define S3_HDR_MAX (64 * 1024)
/* S3's multipart rules: every part but the last at least 5 MiB, at most 10,000 parts. */
#define S3_MIN_PART ((uint64_t)5 << 20)
#define S3_MAX_PARTS 10000
#define S3_DEFAULT_MULTIPART_THRESHOLD ((uint64_t)16 << 20)
#define S3_DEFAULT_PART_SIZE ((uint64_t)8 << 20)

/* One HTTP client (its connections) with its signing state; pooled per store. */
struct s3_conn {
    struct cl_http_client *http; /* owned */
    struct cl_http_sigv4 sv;     /* borrows the store's credential provider and region */
    struct s3_conn *next;
};

struct s3_store {
    char *bucket;                       /* owned */
    char *prefix;                       /* owned; "" or ending in '/' */
    char *base;                         /* owned; URL of the bucket without a trailing '/' */
    char *region;                       /* owned */
    struct cl_aws_cred_provider *creds; /* owned */
    struct cl_http_options http_opt;
    int max_keys;                 /* ListObjectsV2 page size; 0 = S3's default (1000) */
    uint64_t multipart_threshold; /* objects of at least this size go up in parts */
    uint64_t part_size;           /* size of every part but the last */
    int if_none_match;            /* PUTs carry If-None-Match: * (412 -> CL_ERR_EXISTS) */
    pthread_mutex_t lock;
    struct s3_conn *idle; /* owned stack of idle connections */
};

/* One call to S3 with its response (the caller frees it with s3_call_free). */
struct s3_call {
    const char *op;  /* for messages: "put", "get", ... */
    const char *key; /* for messages */
    struct cl_http_response resp;
};

void s3_call_init(struct s3_call *c, const char *op, const char *key, size_t body_max);
void s3_call_free(struct s3_call *c);
/* Sends one signed request on a pooled connection. Returns CL_OK for a 2xx response
 * (c->resp holds it), else the mapped error (logged). */
int s3_exec(struct s3_store *s, struct s3_call *c, struct cl_http_request *req);
/* Maps a failed response to a store error and logs its code, message and a hint. */
int s3_fail(struct s3_store *s, const struct s3_call *c);

/* Appends the URL of object key (store prefix added, key encoded once) to url. */
void s3_object_url(const struct s3_store *s, const char *key, struct cl_buf *url);
/* Base64 of the big-endian CRC-32 of data, as x-amz-checksum-crc32 wants it. */
void s3_crc32_b64(const void *data, size_t len, char out[16]);

struct cl_xml;
/* Parses an answer body whose root element must be root. Returns the tree (caller frees
 * with cl_xml_free), or NULL; then, when what is not NULL, logs "what: malformed
 * response: why". */
struct cl_xml *s3_xml_root(const struct cl_buf *body, const char *root, const char *what);
/* Calls fn for each <Contents> of one ListObjectsV2 answer body; sets token to the next
 * continuation token (empty when the listing is complete). CL_ERR_CORRUPT when the body
 * is not a well-formed listing. */
int s3_list_page(const struct s3_store *s, const struct cl_buf *body,
                 int (*fn)(void *arg, const char *key, uint64_t size), void *arg,
                 struct cl_buf *token);
/* Appends s XML-escaped (& < > " ') to out. */
void s3_xml_escape(struct cl_buf *out, const char *s);

/* PutObject in parts (CreateMultipartUpload, UploadPart..., CompleteMultipartUpload;
 * AbortMultipartUpload on failure). */
int s3_put_multipart(struct s3_store *s, const char *key, const void *data, size_t len);
/* cl_store_ops.sweep: aborts the incomplete multipart uploads under prefix. */
int s3_sweep(void *impl, const char *prefix);

#endif
