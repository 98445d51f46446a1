/* sigv4.h - AWS Signature Version 4 request signing (header form) with inspectable steps. */
#ifndef CL_SIGV4_H
#define CL_SIGV4_H

#include <stddef.h>
#include <time.h>

/* A borrowed header: name in any case, value as sent. */
struct cl_sigv4_header {
    const char *name;
    const char *value;
};

/* The request to sign; every pointer is borrowed for the duration of cl_sigv4_sign.
 * path and query are the wire forms (percent-encoded as they go on the request line,
 * query without the '?'). headers must include Host. */
struct cl_sigv4_request {
    const char *method;
    const char *path;  /* "" or NULL means "/" */
    const char *query; /* NULL or "" for none */
    const struct cl_sigv4_header *headers;
    size_t n_headers;
    const void *body; /* hashed unless payload_hash is set or the payload is unsigned */
    size_t body_len;
    const char *payload_hash; /* optional precomputed lower-case hex SHA-256 of the body */
};

/* Flags selecting service rules. */
enum {
    CL_SIGV4_NO_DOUBLE_ENCODE = 1 << 0, /* S3: the wire path is the canonical URI (encoded once) */
    CL_SIGV4_NO_NORMALIZE = 1 << 1,     /* S3: keep "." / ".." segments and "//" */
    CL_SIGV4_CONTENT_SHA256 = 1 << 2,   /* add and sign x-amz-content-sha256 */
    CL_SIGV4_UNSIGNED_PAYLOAD = 1 << 3, /* payload hash is the literal UNSIGNED-PAYLOAD */
    CL_SIGV4_TOKEN_UNSIGNED = 1 << 4,   /* send x-amz-security-token but do not sign it */
    CL_SIGV4_S3 = CL_SIGV4_NO_DOUBLE_ENCODE | CL_SIGV4_NO_NORMALIZE | CL_SIGV4_CONTENT_SHA256,
};

#define CL_SIGV4_UNSIGNED_PAYLOAD_STR "UNSIGNED-PAYLOAD"

/* Derived signing key cache for one date/region/service/secret (the key is valid for a
 * whole UTC day). Zero-initialise; not thread-safe: one per thread or under a lock. */
struct cl_sigv4_key_cache {
    char date[9];
    char region[32];
    char service[32];
    unsigned char secret_fp[32]; /* SHA-256 of the secret, never the secret itself */
    unsigned char key[32];
    int valid;
};

/* Signer inputs. Strings are borrowed. */
struct cl_sigv4_params {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* NULL or "" for long-term credentials */
    const char *region;
    const char *service;
    time_t when; /* signing time (UTC seconds) */
    unsigned flags;
    struct cl_sigv4_key_cache *cache; /* optional */
};

/* Headers the caller must add to the request: X-Amz-Date, X-Amz-Security-Token (with a
 * token), x-amz-content-sha256 (with CL_SIGV4_CONTENT_SHA256), Authorization. Any header of
 * the same name in the request was ignored by the signer and must be replaced. */
#define CL_SIGV4_MAX_ADD 4

/* Result of signing. Owns its strings; release with cl_sigv4_result_free. The add[]
 * entries point into this struct. */
struct cl_sigv4_result {
    char *canonical_request;
    char *string_to_sign;
    char *signed_headers;
    char *authorization; /* the Authorization header value */
    char signature[65];
    char amz_date[17];     /* YYYYMMDDTHHMMSSZ */
    char payload_hash[65]; /* hex SHA-256 or UNSIGNED-PAYLOAD */
    char *security_token;  /* copy of the session token, or NULL */
    struct cl_sigv4_header add[CL_SIGV4_MAX_ADD];
    size_t n_add;
};

/* Signs req. Returns CL_OK and fills *out (caller frees with cl_sigv4_result_free), or
 * CL_ERR_INVAL (missing Host/credentials/region/service, bad time) with *out empty. */
int cl_sigv4_sign(const struct cl_sigv4_request *req, const struct cl_sigv4_params *p,
                  struct cl_sigv4_result *out);
void cl_sigv4_result_free(struct cl_sigv4_result *r);

/* Appends the SigV4 URI-encoding of s[0..len) to out (a struct cl_buf *): every byte but
 * A-Z a-z 0-9 - _ . ~ becomes %XX (upper-case hex); '/' is kept when keep_slash. Use it to
 * build wire paths for S3 keys and query values. Returns CL_OK or CL_ERR_TOO_LARGE. */
struct cl_buf;
int cl_sigv4_uri_encode(struct cl_buf *out, const char *s, size_t len, int keep_slash);

/* Derives kSigning = HMAC chain over "AWS4"+secret, date (YYYYMMDD), region, service,
 * "aws4_request" into key[32]. */
void cl_sigv4_signing_key(const char *secret, const char *date, const char *region,
                          const char *service, unsigned char key[32]);

/* Lower-case hex SHA-256 of data[0..len) into hex[65]. */
void cl_sigv4_sha256_hex(const void *data, size_t len, char hex[65]);

#endif
