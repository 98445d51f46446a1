/* credentials_remote.c - what the container and IMDS credential sources share: one HTTP
 * call and the credentials JSON. */
#include "credentials_remote.h"

#include "common.h"
#include "json.h"
#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define REMOTE_HDR_MAX (16 * 1024)

int cl_aws_remote_call(const char *method, const char *url, const struct cl_http_header *h,
                       size_t n_headers, long timeout_ms, int attempts, long *status,
                       struct cl_buf *body, char *err, size_t err_len)
{
    struct cl_http_options opt = {timeout_ms, timeout_ms, attempts, 100, 1000};
    struct cl_http_client *c = cl_http_client_new(&opt);
    if (!c) {
        snprintf(err, err_len, "cannot create an HTTP client");
        return CL_ERR_IO;
    }
    struct cl_http_request req = {method, url, h, n_headers, NULL, 0, NULL, NULL};
    struct cl_http_response resp;
    memset(&resp, 0, sizeof resp);
    cl_buf_init(&resp.headers, REMOTE_HDR_MAX);
    cl_buf_init(&resp.body, 64 * 1024);
    int rc = cl_http_send(c, &req, &resp, err, err_len);
    *status = resp.status;
    cl_buf_reset(body);
    if (rc == CL_OK && resp.body.len)
        rc = cl_buf_append(body, resp.body.data, resp.body.len);
    cl_buf_free(&resp.headers);
    cl_buf_free(&resp.body);
    cl_http_client_free(c);
    return rc;
}

/* Decodes a JSON string value into a heap string (caller frees). */
static char *json_string_dup(const struct cl_json_value *v)
{
    char *s = cl_malloc(v->len + 1);
    size_t n = cl_json_unescape(v, s);
    s[n] = '\0';
    return s;
}

/* The members we read; the rest (LastUpdated, Type, RoleArn, AccountId) are ignored. */
struct creds_fields {
    char *id, *secret, *token, *expiration, *code, *message;
};

static void creds_fields_free(struct creds_fields *f)
{
    free(f->id);
    free(f->secret);
    free(f->token);
    free(f->expiration);
    free(f->code);
    free(f->message);
}

/* Stores a string member's value in the matching field (a later duplicate wins). */
static void creds_field_set(struct creds_fields *f, const char *name, const struct cl_json_value *v)
{
    static const char *const names[] = {"AccessKeyId", "SecretAccessKey", "Token", "Expiration",
                                        "Code",        "Message"};
    char **slots[] = {&f->id, &f->secret, &f->token, &f->expiration, &f->code, &f->message};
    for (size_t i = 0; i < CL_ARRAY_LEN(names); i++) {
        if (strcasecmp(name, names[i]) == 0) { /* the container answers errors as "code" */
            free(*slots[i]);
            *slots[i] = json_string_dup(v);
        }
    }
}

static int creds_scan(const char *body, size_t len, struct creds_fields *f, const char **why)
{
    struct cl_json_reader r;
    cl_json_reader_init(&r, body, len, 0);
    if (cl_json_object_open(&r) != 0) {
        *why = "not a JSON object";
        return CL_ERR_CORRUPT;
    }
    struct cl_json_value k, v;
    int more;
    while ((more = cl_json_object_next(&r, &k, &v)) == 1) {
        if (v.type != CL_JSON_STRING)
            continue;
        char *name = json_string_dup(&k);
        creds_field_set(f, name, &v);
        free(name);
    }
    if (more < 0 || !cl_json_at_end(&r)) {
        *why = more < 0 ? r.err.msg : "trailing data after the object";
        return CL_ERR_CORRUPT;
    }
    return CL_OK;
}

int cl_aws_creds_parse_json(const char *body, size_t len, const char *source,
                            struct cl_aws_credentials *out, char *err, size_t err_len)
{
    struct creds_fields f = {0};
    const char *why = NULL;
    int64_t exp_ms = 0;
    int rc = creds_scan(body ? body : "", body ? len : 0, &f, &why);
    if (rc == CL_OK && f.code && strcmp(f.code, "Success") != 0)
        why = "the endpoint reported an error"; /* IMDS "Code", or the container's error */
    else if (rc == CL_OK && (!f.id || !*f.id || !f.secret || !*f.secret))
        why = "AccessKeyId or SecretAccessKey missing";
    else if (rc == CL_OK && f.expiration &&
             cl_parse_timestamp_text(f.expiration, strlen(f.expiration), &exp_ms) != 0)
        why = "Expiration is not an ISO 8601 time";
    if (why) {
        snprintf(err, err_len, "credentials from %s: %s%s%s%s%s", source, why, f.code ? ": " : "",
                 f.code ? f.code : "", f.message ? " " : "", f.message ? f.message : "");
        creds_fields_free(&f);
        return CL_ERR_CORRUPT;
    }
    memset(out, 0, sizeof *out);
    out->access_key_id = f.id;
    out->secret_access_key = f.secret;
    out->session_token = f.token && *f.token ? f.token : NULL;
    if (!out->session_token)
        free(f.token);
    out->expiration = f.expiration ? (time_t)(exp_ms / 1000) : 0;
    snprintf(out->source, sizeof out->source, "%s", source);
    free(f.expiration);
    free(f.code);
    free(f.message);
    return CL_OK;
}
