/* store_s3_multipart.c - large objects in parts (CreateMultipartUpload, UploadPart,
 * CompleteMultipartUpload, AbortMultipartUpload) and sweeping abandoned uploads. */
#include "store_s3_int.h"

#include "common.h"
#include "log.h"
#include "sigv4.h"
#include "xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What CompleteMultipartUpload needs of each uploaded part. */
struct mp_part {
    char etag[128];
    char crc[16];
};

/* Appends "?<query>uploadId=<id>" to a copy of the object URL in url. */
static void mp_url(const struct cl_buf *object_url, const char *query, const char *id,
                   struct cl_buf *url)
{
    cl_buf_reset(url);
    cl_buf_append(url, object_url->data, object_url->len);
    cl_buf_printf(url, "?%suploadId=", query);
    cl_sigv4_uri_encode(url, id, strlen(id), 0);
}

/* CreateMultipartUpload; the new upload's id goes into id. */
static int mp_create(struct s3_store *s, const char *key, const struct cl_buf *object_url,
                     struct cl_buf *id)
{
    struct cl_buf url;
    cl_buf_init(&url, 16384);
    cl_buf_printf(&url, "%s?uploads", object_url->data);
    const struct cl_http_header h[] = {{"Content-Type", "application/octet-stream"},
                                       {"x-amz-checksum-algorithm", "CRC32"}};
    struct cl_http_request req = {"POST", url.data, h, CL_ARRAY_LEN(h), NULL, 0, NULL, NULL};
    struct s3_call c;
    s3_call_init(&c, "multipart create", key, S3_ERR_BODY_MAX);
    int rc = s3_exec(s, &c, &req);
    struct cl_xml *x =
        rc == CL_OK ? s3_xml_root(&c.resp.body, "InitiateMultipartUploadResult", NULL) : NULL;
    const char *upload = cl_xml_child_text(x, "UploadId");
    if (rc == CL_OK && (!upload || !*upload)) {
        cl_log(CL_LOG_WARN, "store s3: multipart create %s: no UploadId in the response", key);
        rc = CL_ERR_CORRUPT;
    }
    if (rc == CL_OK)
        rc = cl_buf_append_str(id, upload) == CL_OK ? CL_OK : CL_ERR_CORRUPT;
    cl_xml_free(x);
    s3_call_free(&c);
    cl_buf_free(&url);
    return rc;
}

/* UploadPart n (1-based) with its CRC-32; fills part. */
static int mp_upload_part(struct s3_store *s, const char *key, const struct cl_buf *object_url,
                          const char *id, int n, const void *data, size_t len, struct mp_part *part)
{
    struct cl_buf url;
    cl_buf_init(&url, 16384);
    char q[32];
    snprintf(q, sizeof q, "partNumber=%d&", n);
    mp_url(object_url, q, id, &url);
    s3_crc32_b64(data, len, part->crc);
    const struct cl_http_header h[] = {{"x-amz-sdk-checksum-algorithm", "CRC32"},
                                       {"x-amz-checksum-crc32", part->crc}};
    struct cl_http_request req = {"PUT", url.data, h, CL_ARRAY_LEN(h), data, len, NULL, NULL};
    struct s3_call c;
    s3_call_init(&c, "multipart upload part", key, S3_ERR_BODY_MAX);
    int rc = s3_exec(s, &c, &req);
    if (rc == CL_OK &&
        cl_http_response_header(&c.resp, "ETag", part->etag, sizeof part->etag) <= 0) {
        cl_log(CL_LOG_WARN, "store s3: multipart part %d of %s: no ETag in the response", n, key);
        rc = CL_ERR_CORRUPT;
    }
    s3_call_free(&c);
    cl_buf_free(&url);
    return rc;
}

/* CompleteMultipartUpload with every part's ETag and checksum. S3 (and moto) answer a
 * repeated Complete of the same upload with success, so the client's retries are safe. */
static int mp_complete(struct s3_store *s, const char *key, const struct cl_buf *object_url,
                       const char *id, const struct mp_part *parts, int n)
{
    struct cl_buf url, body;
    cl_buf_init(&url, 16384);
    cl_buf_init(&body, (size_t)n * 512 + 256);
    mp_url(object_url, "", id, &url);
    cl_buf_append_str(&body, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/"
                             "2006-03-01/\">");
    for (int i = 0; i < n; i++) {
        cl_buf_printf(&body, "<Part><PartNumber>%d</PartNumber><ETag>", i + 1);
        s3_xml_escape(&body, parts[i].etag);
        cl_buf_printf(&body, "</ETag><ChecksumCRC32>%s</ChecksumCRC32></Part>", parts[i].crc);
    }
    cl_buf_append_str(&body, "</CompleteMultipartUpload>");
    const struct cl_http_header h[] = {{"Content-Type", "application/xml"}, {"If-None-Match", "*"}};
    size_t nh = CL_ARRAY_LEN(h) - (s->if_none_match ? 0 : 1);
    struct cl_http_request req = {"POST", url.data, h, nh, body.data, body.len, NULL, NULL};
    struct s3_call c;
    s3_call_init(&c, "multipart complete", key, S3_ERR_BODY_MAX);
    int rc = s3_exec(s, &c, &req);
    s3_call_free(&c);
    cl_buf_free(&url);
    cl_buf_free(&body);
    return rc;
}

/* AbortMultipartUpload of the upload id of the object at object_url (a full URL). */
static int mp_abort(struct s3_store *s, const char *key, const struct cl_buf *object_url,
                    const char *id)
{
    struct cl_buf url;
    cl_buf_init(&url, 16384);
    mp_url(object_url, "", id, &url);
    struct cl_http_request req = {"DELETE", url.data, NULL, 0, NULL, 0, NULL, NULL};
    struct s3_call c;
    s3_call_init(&c, "multipart abort", key, S3_ERR_BODY_MAX);
    int rc = s3_exec(s, &c, &req);
    s3_call_free(&c);
    cl_buf_free(&url);
    return rc == CL_ERR_NOT_FOUND ? CL_OK : rc; /* already gone */
}

/* The part size for len bytes: the configured one, raised to stay within 10,000 parts. */
static uint64_t mp_part_size(const struct s3_store *s, size_t len)
{
    uint64_t need = ((uint64_t)len + S3_MAX_PARTS - 1) / S3_MAX_PARTS;
    return CL_MAX(s->part_size, need);
}

/* Uploads every part of data under upload id. */
static int mp_upload_parts(struct s3_store *s, const char *key, const struct cl_buf *object_url,
                           const char *id, const void *data, size_t len, uint64_t part,
                           struct mp_part *parts, int *n)
{
    const unsigned char *p = data;
    int rc = CL_OK;
    *n = 0;
    for (size_t off = 0; off < len && rc == CL_OK; off += (size_t)part) {
        size_t plen = (size_t)CL_MIN((uint64_t)(len - off), part);
        rc = mp_upload_part(s, key, object_url, id, *n + 1, p + off, plen, &parts[*n]);
        (*n)++;
    }
    return rc;
}

int s3_put_multipart(struct s3_store *s, const char *key, const void *data, size_t len)
{
    uint64_t part = mp_part_size(s, len);
    int max_parts = (int)(((uint64_t)len + part - 1) / part);
    struct cl_buf object_url, id;
    cl_buf_init(&object_url, 8192);
    cl_buf_init(&id, 4096);
    s3_object_url(s, key, &object_url);
    int rc = mp_create(s, key, &object_url, &id);
    if (rc != CL_OK) {
        cl_buf_free(&object_url);
        cl_buf_free(&id);
        return rc;
    }
    struct mp_part *parts = cl_calloc((size_t)CL_MAX(max_parts, 1), sizeof *parts);
    int n = 0;
    rc = mp_upload_parts(s, key, &object_url, id.data, data, len, part, parts, &n);
    if (rc == CL_OK)
        rc = mp_complete(s, key, &object_url, id.data, parts, n);
    if (rc != CL_OK && mp_abort(s, key, &object_url, id.data) != CL_OK)
        cl_log(CL_LOG_WARN,
               "store s3: put %s: the failed multipart upload could not be aborted either; "
               "`sweep` removes it later",
               key);
    else if (rc == CL_OK)
        cl_log(CL_LOG_DEBUG, "store s3: put %s: %zu bytes in %d parts", key, len, n);
    free(parts);
    cl_buf_free(&object_url);
    cl_buf_free(&id);
    return rc;
}

/* The ListMultipartUploads URL for the full key prefix, after the markers (if set). */
static void sweep_list_url(const struct s3_store *s, const char *prefix,
                           const struct cl_buf *key_marker, const struct cl_buf *id_marker,
                           struct cl_buf *url)
{
    cl_buf_reset(url);
    cl_buf_printf(url, "%s/?uploads", s->base);
    if (key_marker->len) {
        cl_buf_append_str(url, "&key-marker=");
        cl_sigv4_uri_encode(url, key_marker->data, key_marker->len, 0);
        cl_buf_append_str(url, "&upload-id-marker=");
        cl_sigv4_uri_encode(url, id_marker->data, id_marker->len, 0);
    }
    cl_buf_append_str(url, "&prefix=");
    cl_sigv4_uri_encode(url, s->prefix, strlen(s->prefix), 0);
    cl_sigv4_uri_encode(url, prefix, strlen(prefix), 0);
}

/* Aborts every <Upload> of one parsed ListMultipartUploads page; counts them in *aborted. */
static int sweep_page(struct s3_store *s, const struct cl_xml *page, int *aborted)
{
    struct cl_buf url;
    cl_buf_init(&url, 16384);
    int rc = CL_OK;
    for (const struct cl_xml *u = cl_xml_child(page, "Upload"); u && rc == CL_OK;
         u = cl_xml_next(u)) {
        const char *key = cl_xml_child_text(u, "Key"), *id = cl_xml_child_text(u, "UploadId");
        if (!key || !*key || !id || !*id) {
            rc = CL_ERR_CORRUPT;
            break;
        }
        cl_buf_reset(&url); /* the listed key is the full one, store prefix included */
        cl_buf_printf(&url, "%s/", s->base);
        cl_sigv4_uri_encode(&url, key, strlen(key), 1);
        rc = mp_abort(s, key, &url, id);
        if (rc == CL_OK)
            (*aborted)++;
    }
    cl_buf_free(&url);
    return rc;
}

/* Whether a parsed page says more follow; if so, sets the markers for the next one. */
static int sweep_more(const struct cl_xml *page, struct cl_buf *key_marker,
                      struct cl_buf *id_marker)
{
    const char *trunc = cl_xml_child_text(page, "IsTruncated");
    const char *k = cl_xml_child_text(page, "NextKeyMarker");
    const char *id = cl_xml_child_text(page, "NextUploadIdMarker");
    if (!trunc || strcmp(trunc, "true") != 0 || !k || !*k || !id)
        return 0;
    cl_buf_reset(key_marker);
    cl_buf_reset(id_marker);
    return cl_buf_append_str(key_marker, k) == CL_OK && cl_buf_append_str(id_marker, id) == CL_OK;
}

int s3_sweep(void *impl, const char *prefix)
{
    struct s3_store *s = impl;
    struct cl_buf url, key_marker, id_marker;
    cl_buf_init(&url, 64 * 1024);
    cl_buf_init(&key_marker, 8192);
    cl_buf_init(&id_marker, 4096);
    int rc = CL_OK, aborted = 0, more = 1;
    for (int page = 0; rc == CL_OK && more && page < 100000; page++) {
        sweep_list_url(s, prefix ? prefix : "", &key_marker, &id_marker, &url);
        struct cl_http_request req = {"GET", url.data, NULL, 0, NULL, 0, NULL, NULL};
        struct s3_call c;
        s3_call_init(&c, "sweep (list uploads)", prefix, S3_LIST_BODY_MAX);
        rc = s3_exec(s, &c, &req);
        struct cl_xml *x =
            rc == CL_OK ? s3_xml_root(&c.resp.body, "ListMultipartUploadsResult", NULL) : NULL;
        if (rc == CL_OK && !x)
            rc = CL_ERR_CORRUPT;
        if (rc == CL_OK)
            rc = sweep_page(s, x, &aborted);
        more = rc == CL_OK && sweep_more(x, &key_marker, &id_marker);
        cl_xml_free(x);
        if (rc == CL_ERR_CORRUPT)
            cl_log(CL_LOG_WARN,
                   "store s3: sweep s3://%s/%s: malformed ListMultipartUploads response", s->bucket,
                   s->prefix);
        s3_call_free(&c);
    }
    if (aborted)
        cl_log(CL_LOG_INFO,
               "store s3: sweep s3://%s/%s%s: aborted %d incomplete multipart upload%s", s->bucket,
               s->prefix, prefix ? prefix : "", aborted, aborted == 1 ? "" : "s");
    cl_buf_free(&url);
    cl_buf_free(&key_marker);
    cl_buf_free(&id_marker);
    return rc;
}
