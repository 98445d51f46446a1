/* ingest_format.c - telling a body's format, and answering in its protocol's shape.
 *
 * Every format ends in the same normalizer, limits and queue (ingest.c); only the
 * decoding before and the answer after differ. Answers (docs/ingest.md, "Shipper
 * protocols"): cloudlog's JSON for its own format and Fluent Bit (which reads only the
 * status); OTLP's ExportLogsServiceResponse / google.rpc.Status in the request's encoding;
 * Splunk HEC's {"text":...,"code":N}. */
#include "ingest_format.h"

#include "cl_limits.h"
#include "common.h"
#include "json_write.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Media types we parse as JSON / NDJSON. Format is detected from the body itself, so
 * any of them may carry any of the three body forms. */
static const char *const json_types[] = {
    "application/json",        "application/x-ndjson",  "application/ndjson", "application/jsonl",
    "application/x-jsonlines", "application/jsonlines", "application/x-json",
};
/* The media types a browser sends cross-site without a CORS preflight (a form POST or a
 * no-cors fetch from any web page). Refusing them means no page can write logs through a
 * visitor's browser: a JSON type forces a preflight, which we never answer. */
static const char *const cors_simple_types[] = {
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
};
static const char *const protobuf_types[] = {"application/x-protobuf", "application/protobuf"};
static const char *const msgpack_types[] = {"application/msgpack", "application/x-msgpack"};

/* 1 if the media type of a Content-Type value (before ';', trimmed) is one of types. */
static int type_in(const char *ct, const char *const *types, size_t n)
{
    while (*ct == ' ' || *ct == '\t')
        ct++;
    size_t len = strcspn(ct, ";");
    while (len && (ct[len - 1] == ' ' || ct[len - 1] == '\t'))
        len--;
    for (size_t i = 0; i < n; i++)
        if (strlen(types[i]) == len && strncasecmp(ct, types[i], len) == 0)
            return 1;
    return 0;
}

int cl_ingest_cors_simple(const char *ct)
{
    return ct && type_in(ct, cors_simple_types, CL_ARRAY_LEN(cors_simple_types));
}

enum cl_ingest_format cl_ingest_format_of(enum cl_ingest_route route, const char *ct)
{
    if (route == CL_ROUTE_HEC_EVENT)
        return CL_FMT_HEC_EVENT; /* HEC clients send any Content-Type, or none */
    if (route == CL_ROUTE_HEC_RAW)
        return CL_FMT_HEC_RAW;
    if (route == CL_ROUTE_LOKI && ct && type_in(ct, protobuf_types, CL_ARRAY_LEN(protobuf_types)))
        return cl_loki_pb_supported() ? CL_FMT_LOKI_PB : CL_FMT_LOKI_UNSUPPORTED;
    if (route == CL_ROUTE_LOKI)
        return CL_FMT_LOKI_JSON;
    if (route == CL_ROUTE_ES_BULK)
        return CL_FMT_ES_BULK; /* clients send x-ndjson or vnd.elasticsearch+x-ndjson */
    if (!ct || type_in(ct, json_types, CL_ARRAY_LEN(json_types)))
        return CL_FMT_JSON; /* absent: assume JSON, like most log shippers' defaults */
    if (type_in(ct, protobuf_types, CL_ARRAY_LEN(protobuf_types)))
        return CL_FMT_OTLP_PB;
    if (type_in(ct, msgpack_types, CL_ARRAY_LEN(msgpack_types)))
        return CL_FMT_MSGPACK;
    return CL_FMT_UNSUPPORTED;
}

enum cl_ingest_format cl_ingest_format_refine(enum cl_ingest_format f, const char *body, size_t len)
{
    if (f != CL_FMT_JSON)
        return f;
    if (cl_otlp_json_detect(body, len))
        return CL_FMT_OTLP_JSON;
    if (cl_json_stream_detect(body, len))
        return CL_FMT_JSON_STREAM;
    return CL_FMT_JSON;
}

cl_proto_decode_fn cl_ingest_decoder(enum cl_ingest_format f)
{
    switch (f) {
    case CL_FMT_OTLP_PB:
        return cl_otlp_pb_decode;
    case CL_FMT_OTLP_JSON:
        return cl_otlp_json_decode;
    case CL_FMT_MSGPACK:
        return cl_fluent_msgpack_decode;
    case CL_FMT_JSON_STREAM:
        return cl_json_stream_decode;
    case CL_FMT_HEC_EVENT:
        return cl_hec_event_decode;
    case CL_FMT_HEC_RAW:
        return cl_hec_raw_decode;
    case CL_FMT_ES_BULK:
        return cl_es_bulk_decode;
    case CL_FMT_LOKI_JSON:
        return cl_loki_json_decode;
    case CL_FMT_LOKI_PB:
        return cl_loki_pb_decode;
    default:
        return NULL;
    }
}

enum cl_ingest_path cl_ingest_path_of(const char *path, const char *es_prefix,
                                      enum cl_ingest_route *route)
{
    static const struct {
        const char *path;
        enum cl_ingest_path kind;
        enum cl_ingest_route route;
    } paths[] = {
        {"/v1/logs", CL_PATH_INGEST, CL_ROUTE_LOGS},
        {"/services/collector", CL_PATH_INGEST, CL_ROUTE_HEC_EVENT},
        {"/services/collector/event", CL_PATH_INGEST, CL_ROUTE_HEC_EVENT},
        {"/services/collector/event/1.0", CL_PATH_INGEST, CL_ROUTE_HEC_EVENT},
        {"/services/collector/raw", CL_PATH_INGEST, CL_ROUTE_HEC_RAW},
        {"/services/collector/raw/1.0", CL_PATH_INGEST, CL_ROUTE_HEC_RAW},
        {"/services/collector/health", CL_PATH_HEC_HEALTH, CL_ROUTE_LOGS},
        {"/services/collector/health/1.0", CL_PATH_HEC_HEALTH, CL_ROUTE_LOGS},
        {"/loki/api/v1/push", CL_PATH_INGEST, CL_ROUTE_LOKI},
    };
    *route = CL_ROUTE_LOGS;
    for (size_t i = 0; i < CL_ARRAY_LEN(paths); i++)
        if (strcmp(path, paths[i].path) == 0) {
            *route = paths[i].route;
            return paths[i].kind;
        }
    const char *prefix = es_prefix ? es_prefix : CL_DEFAULT_ES_PREFIX;
    size_t plen = strlen(prefix);
    if (strncmp(path, prefix, plen) == 0 && (!path[plen] || strcmp(path + plen, "/") == 0))
        return CL_PATH_ES_INFO;
    char index[256];
    if (cl_ingest_es_index(path, prefix, index, sizeof index) == 0) {
        *route = CL_ROUTE_ES_BULK;
        return CL_PATH_INGEST;
    }
    return CL_PATH_OTHER;
}

int cl_ingest_es_index(const char *path, const char *es_prefix, char *out, size_t out_len)
{
    const char *prefix = es_prefix ? es_prefix : CL_DEFAULT_ES_PREFIX;
    size_t plen = strlen(prefix);
    if (strncmp(path, prefix, plen) != 0 || path[plen] != '/')
        return -1;
    const char *p = path + plen + 1; /* after "/es/" */
    size_t n = strlen(p);
    if (strcmp(p, "_bulk") == 0) {
        out[0] = '\0';
        return 0;
    }
    if (n <= 6 || strcmp(p + n - 6, "/_bulk") != 0)
        return -1;
    size_t len = n - 6;
    if (len >= out_len || memchr(p, '/', len))
        return -1; /* an index too long, or /es/a/b/_bulk */
    memcpy(out, p, len);
    out[len] = '\0';
    return 0;
}

static int prefix_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '~' || c == '-';
}

int cl_ingest_check_es_prefix(const char *prefix, char *why, size_t why_len)
{
    /* First segments of cloudlog's own routes: a prefix there would shadow them. */
    static const char *const taken[] = {"v1", "loki", "services", "healthz", "readyz", "metrics"};
    size_t n = strlen(prefix);
    int ok = prefix[0] == '/' && n >= 2 && n <= CL_MAX_ES_PREFIX && prefix[n - 1] != '/';
    for (size_t i = 1; ok && i < n; i++)
        ok = prefix_char_ok(prefix[i]) || (prefix[i] == '/' && prefix[i - 1] != '/');
    if (!ok) {
        snprintf(why, why_len,
                 "'%.80s' is no path prefix (\"/\" then segments of [A-Za-z0-9._~-] joined by "
                 "\"/\", no trailing \"/\", at most %d bytes)",
                 prefix, CL_MAX_ES_PREFIX);
        return -1;
    }
    const char *first = prefix + 1;
    size_t first_len = strcspn(first, "/");
    for (size_t i = 0; i < CL_ARRAY_LEN(taken); i++)
        if (strlen(taken[i]) == first_len && strncmp(first, taken[i], first_len) == 0) {
            snprintf(why, why_len, "'%.80s' is under /%s, which cloudlog's own routes use", prefix,
                     taken[i]);
            return -1;
        }
    return 0;
}

int cl_ingest_check_protocols(const struct cl_ingest_limits *l, const char *es_name,
                              const char *labels_name, char *err, size_t err_len)
{
    char why[300];
    if (l->es_prefix && cl_ingest_check_es_prefix(l->es_prefix, why, sizeof why) != 0) {
        snprintf(err, err_len, "invalid %s: %s", es_name, why);
        return -1;
    }
    if (l->loki_service_labels &&
        cl_loki_service_labels_check(l->loki_service_labels, why, sizeof why) != 0) {
        snprintf(err, err_len, "invalid %s: %s", labels_name, why);
        return -1;
    }
    return 0;
}

/* ---- cloudlog's own answers ---- */

static void render_native(struct cl_ingest_response *resp, int status, const char *msg,
                          const struct cl_ingest_parse_result *pr)
{
    struct cl_buf *b = &resp->body;
    resp->status = status;
    cl_buf_append_char(b, '{');
    if (msg) {
        cl_buf_append_str(b, "\"error\":");
        cl_json_write_string(b, msg, strlen(msg));
        if (pr)
            cl_buf_append_char(b, ',');
    }
    if (pr) {
        cl_buf_printf(b, "\"accepted\":%u,\"rejected\":%u,\"errors\":", pr->accepted, pr->rejected);
        if (pr->errors.len)
            cl_buf_append(b, pr->errors.data, pr->errors.len);
        else
            cl_buf_append_str(b, "[]");
        if (pr->errors_truncated)
            cl_buf_append_str(b, ",\"errors_truncated\":true");
    }
    cl_buf_append_char(b, '}');
}

/* ---- OTLP ---- */

/* google.rpc.Code for an HTTP status (OTLP/HTTP's error body is a Status). */
static int rpc_code(int status)
{
    switch (status) {
    case 400:
    case 413:
    case 415:
        return 3; /* INVALID_ARGUMENT */
    case 401:
        return 16; /* UNAUTHENTICATED */
    case 429:
        return 8; /* RESOURCE_EXHAUSTED */
    case 503:
        return 14; /* UNAVAILABLE */
    default:
        return 13; /* INTERNAL */
    }
}

static void render_otlp(struct cl_ingest_response *resp, int pb, int status, const char *msg,
                        const struct cl_ingest_parse_result *pr)
{
    struct cl_buf *b = &resp->body;
    char text[400] = "";
    resp->content_type = pb ? "application/x-protobuf" : "application/json";
    if (status == 202 || (pr && pr->empty)) { /* an empty request is a full success */
        resp->status = 200;
        int64_t rejected = status == 202 ? pr->rejected : 0;
        if (rejected)
            snprintf(text, sizeof text, "%u of %u log records rejected; first (record %lld): %s",
                     pr->rejected, pr->rejected + pr->accepted, (long long)pr->first_rejected,
                     pr->first_error);
        if (pb) {
            cl_otlp_pb_response(b, rejected, text);
        } else if (rejected) {
            cl_buf_printf(b,
                          "{\"partialSuccess\":{\"rejectedLogRecords\":\"%lld\",\"errorMessage\":",
                          (long long)rejected);
            cl_json_write_string(b, text, strlen(text));
            cl_buf_append_str(b, "}}");
        } else {
            cl_buf_append_str(b, "{}");
        }
        return;
    }
    resp->status = status;
    if (pr && pr->rejected && !pr->body_error)
        snprintf(text, sizeof text, "%s: all %u log records rejected; first (record %lld): %s", msg,
                 pr->rejected, (long long)pr->first_rejected, pr->first_error);
    else
        snprintf(text, sizeof text, "%s", msg ? msg : "error");
    if (pb) {
        cl_otlp_pb_status(b, rpc_code(status), text);
    } else {
        cl_buf_printf(b, "{\"code\":%d,\"message\":", rpc_code(status));
        cl_json_write_string(b, text, strlen(text));
        cl_buf_append_char(b, '}');
    }
}

/* ---- Splunk HEC ---- */

static void hec_answer(struct cl_ingest_response *resp, int status, const char *text, int code,
                       int64_t invalid_event, const char *error)
{
    struct cl_buf *b = &resp->body;
    resp->status = status;
    cl_buf_append_str(b, "{\"text\":");
    cl_json_write_string(b, text, strlen(text));
    cl_buf_printf(b, ",\"code\":%d", code);
    if (invalid_event >= 0)
        cl_buf_printf(b, ",\"invalid-event-number\":%lld", (long long)invalid_event);
    if (error) {
        cl_buf_append_str(b, ",\"error\":");
        cl_json_write_string(b, error, strlen(error));
    }
    cl_buf_append_char(b, '}');
}

static void render_hec(struct cl_ingest_response *resp, int status, const char *msg,
                       const struct cl_ingest_parse_result *pr)
{
    int64_t first = pr ? pr->first_rejected : -1;
    if (status == 202 && pr->rejected == 0)
        hec_answer(resp, 200, "Success", 0, -1, NULL);
    else if (status == 202) /* like HEC, the valid events are indexed and the bad one named */
        hec_answer(resp, 400, "Invalid data format", 6, first, pr->first_error);
    else if (status == 400 && pr && pr->empty)
        hec_answer(resp, 400, "No data", 5, -1, NULL);
    else if (status == 400)
        hec_answer(resp, 400, "Invalid data format", 6, first,
                   first >= 0 && !pr->body_error ? pr->first_error : msg);
    else if (status == 401)
        hec_answer(resp, 401, "Token is required", 2, -1, msg);
    else if (status == 403)
        hec_answer(resp, 403, "Invalid token", 4, -1, msg);
    else if (status == 503 || status == 429) /* 429: the token's rate limit */
        hec_answer(resp, status, "Server is busy", 9, -1, msg);
    else if (status >= 500)
        hec_answer(resp, status, "Internal server error", 8, -1, msg);
    else
        hec_answer(resp, status, msg ? msg : "error", 6, -1, NULL);
}

/* ---- Elasticsearch _bulk ---- */

struct items {
    struct cl_buf *b;
    const struct cl_ingest_parse_result *pr;
    size_t i;           /* item index */
    size_t rejected;    /* rejected items so far: the index of the next reason */
    const char *reason; /* the next reason in pr->reasons */
    char id_prefix[40]; /* ,"_id":"cl<hex of the answer's time>- : made-up ids before i */
    size_t id_prefix_len;
};

/* Appends a string literal without measuring it (the answer writes ~10 per item). */
#define APPEND_LIT(b, lit) cl_buf_append((b), (lit), sizeof(lit) - 1)

/* Appends the answer of an accepted item (no printf: one per item of every _bulk answer). */
static void es_created(struct cl_buf *b, size_t i)
{
    APPEND_LIT(b, ",\"_version\":1,\"result\":\"created\",\"_shards\":{\"total\":1,"
                  "\"successful\":1,\"failed\":0},\"_seq_no\":");
    cl_json_write_uint(b, i);
    APPEND_LIT(b, ",\"_primary_term\":1,\"status\":201}}");
}

static void es_item(void *arg, const struct cl_es_action *a)
{
    struct items *it = arg;
    struct cl_buf *b = it->b;
    int bad = it->i >= it->pr->outcomes.len || it->pr->outcomes.data[it->i];
    /* the name is index, create, update or delete (es_bulk.c checked it): no escapes */
    if (it->i)
        cl_buf_append_char(b, ',');
    APPEND_LIT(b, "{\"");
    cl_buf_append(b, a->name, a->name_len);
    APPEND_LIT(b, "\":{\"_index\":");
    if (a->index_len)
        cl_buf_append(b, a->index, a->index_len);
    else
        cl_json_write_string(b, it->pr->target, strlen(it->pr->target));
    if (a->id_len) {
        APPEND_LIT(b, ",\"_id\":");
        cl_buf_append(b, a->id, a->id_len);
    } else { /* Elasticsearch answers with the id it made up; so do we */
        cl_buf_append(b, it->id_prefix, it->id_prefix_len);
        cl_json_write_uint(b, it->i);
        cl_buf_append_char(b, '"');
    }
    if (!bad) {
        es_created(b, it->i);
    } else {
        const char *why = "record rejected (reasons are listed for the first --max-errors)";
        if (it->reason < it->pr->reasons.data + it->pr->reasons.len) {
            why = it->reason;
            it->reason += strlen(it->reason) + 1;
        }
        APPEND_LIT(b, ",\"status\":400,\"error\":{\"type\":\"document_parsing_exception\","
                      "\"reason\":");
        cl_json_write_string(b, why, strlen(why));
        APPEND_LIT(b, "}}}");
        it->rejected++;
    }
    it->i++;
}

static void es_error(struct cl_ingest_response *resp, int status, const char *msg)
{
    const char *type = status == 401                    ? "security_exception"
                       : status == 503 || status == 429 ? "es_rejected_execution_exception"
                                                        : "illegal_argument_exception";
    struct cl_buf *b = &resp->body;
    resp->status = status;
    cl_buf_printf(b, "{\"error\":{\"root_cause\":[{\"type\":\"%s\",\"reason\":", type);
    cl_json_write_string(b, msg, strlen(msg));
    cl_buf_printf(b, "}],\"type\":\"%s\",\"reason\":", type);
    cl_json_write_string(b, msg, strlen(msg));
    cl_buf_printf(b, "},\"status\":%d}", status);
}

static void render_es(struct cl_ingest_response *resp, int status, const char *msg,
                      const struct cl_ingest_parse_result *pr)
{
    resp->es_product = 1;
    /* Queued, or every record rejected: Elasticsearch answers 200 with per-item errors. */
    if (!pr || pr->body_error || pr->empty || (status != 202 && status != 400)) {
        es_error(resp, status, msg ? msg : "error");
        return;
    }
    struct items it = {&resp->body, pr, 0, 0, pr->reasons.data, "", 0};
    int n = snprintf(it.id_prefix, sizeof it.id_prefix, ",\"_id\":\"cl%llx-",
                     (unsigned long long)cl_now_ms());
    it.id_prefix_len = (size_t)CL_MAX(n, 0);
    resp->status = 200;
    cl_buf_printf(&resp->body, "{\"took\":0,\"errors\":%s,\"items\":[",
                  pr->rejected ? "true" : "false");
    cl_es_bulk_actions(pr->body, pr->body_len, es_item, &it);
    cl_buf_append_str(&resp->body, "]}");
}

/* ---- Loki ---- */

/* Loki answers 204 without a body, and errors as plain text; valid entries are stored
 * even when others are rejected (so are they by Loki), and the 400 says which. */
static void render_loki(struct cl_ingest_response *resp, int status, const char *msg,
                        const struct cl_ingest_parse_result *pr)
{
    resp->content_type = "text/plain; charset=utf-8";
    if (status == 202 && pr->rejected == 0) {
        resp->status = 204;
        return;
    }
    resp->status = status == 202 ? 400 : status;
    if (pr && pr->rejected && !pr->body_error)
        cl_buf_printf(&resp->body, "%u of %u entries rejected; first (entry %lld): %s\n",
                      pr->rejected, pr->rejected + pr->accepted, (long long)pr->first_rejected,
                      pr->first_error);
    else
        cl_buf_printf(&resp->body, "%s\n", msg ? msg : "error");
}

void cl_ingest_answer_type(enum cl_ingest_format f, struct cl_ingest_response *resp)
{
    resp->content_type = "application/json";
    resp->es_product = f == CL_FMT_ES_BULK;
    if (f == CL_FMT_LOKI_JSON || f == CL_FMT_LOKI_PB || f == CL_FMT_LOKI_UNSUPPORTED)
        resp->content_type = "text/plain; charset=utf-8";
    else if (f == CL_FMT_OTLP_PB)
        resp->content_type = "application/x-protobuf";
}

void cl_ingest_render(enum cl_ingest_format f, struct cl_ingest_response *resp, int status,
                      const char *msg, const struct cl_ingest_parse_result *pr)
{
    cl_buf_reset(&resp->body);
    cl_ingest_answer_type(f, resp);
    if (f == CL_FMT_ES_BULK)
        render_es(resp, status, msg, pr);
    else if (f == CL_FMT_LOKI_JSON || f == CL_FMT_LOKI_PB || f == CL_FMT_LOKI_UNSUPPORTED)
        render_loki(resp, status, msg, pr);
    else if (f == CL_FMT_OTLP_PB || f == CL_FMT_OTLP_JSON)
        render_otlp(resp, f == CL_FMT_OTLP_PB, status, msg, pr);
    else if (f == CL_FMT_HEC_EVENT || f == CL_FMT_HEC_RAW)
        render_hec(resp, status, msg, pr);
    else
        render_native(resp, status, msg, pr);
    if (strcmp(resp->content_type, "application/json") == 0)
        cl_buf_append_char(&resp->body, '\n');
}
