/* apigw.h - API Gateway HTTP API (payload format 2.0) events and responses.
 *
 * Event fields used: version ("2.0"), requestContext.http.method/path (rawPath as a
 * fallback), rawQueryString, headers (names matched case-insensitively; API Gateway lower-cases
 * them and joins repeated headers with ','), body and isBase64Encoded. The body is returned as the
 * client sent it: base64 undone, Content-Encoding (gzip) left to cl_ingest_handle.
 */
#ifndef CL_LAMBDA_APIGW_H
#define CL_LAMBDA_APIGW_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>

/* A parsed request; every string is owned (cl_apigw_request_free). Header fields are
 * NULL when the header is absent. */
struct cl_apigw_request {
    char *method;
    char *path;
    char *raw_query; /* rawQueryString, still URL-encoded ("" when absent) */
    char *content_type;
    char *content_encoding;
    char *service_header; /* X-Cloudlog-Service */
    char *authorization;
    char *accept_encoding; /* Accept-Encoding */
    char *idempotency_key; /* Idempotency-Key */
    char *body;            /* body_len bytes (may hold NULs) */
    size_t body_len;
    int64_t time_epoch_ms; /* requestContext.timeEpoch (API Gateway's receive time), 0 if absent */
};

/* Parses an HTTP API 2.0 event. Returns CL_OK, or CL_ERR_INVAL with err set when the
 * event is not a 2.0 event (bad JSON, wrong version, no method, bad base64). */
int cl_apigw_parse(const char *event, size_t len, struct cl_apigw_request *req, char *err,
                   size_t err_len);
void cl_apigw_request_free(struct cl_apigw_request *req);

/* 1 if an Accept-Encoding value (NULL: absent) admits gzip (RFC 9110 12.5.3): a "gzip"
 * entry with a q above 0, or else a "*" entry with one; "x-gzip" is not gzip. */
int cl_apigw_accepts_gzip(const char *accept_encoding);

/* Optional response headers (NULL/0 = absent). */
struct cl_apigw_headers {
    int retry_after_s;
    const char *content_type; /* NULL: application/json; types other than JSON
                               * (application/json with parameters too) and text go
                               * base64-encoded */
    const char *allow;
    const char *www_authenticate;
    const char *content_encoding; /* e.g. "gzip": the body is sent base64-encoded */
    int es_product;               /* 1: x-elastic-product: Elasticsearch (the /es routes) */
    int idempotent_replayed;      /* 1: "idempotent-replayed: true" */
};

/* Appends the 2.0 response {"statusCode":..,"headers":{"content-type":"application/json",
 * ...},"body":"..","isBase64Encoded":false} with body[0..len) as its body text; a body of
 * another content type (OTLP's protobuf answers) is sent base64-encoded. */
void cl_apigw_response(struct cl_buf *out, int status, const char *body, size_t len,
                       const struct cl_apigw_headers *h);

#endif
