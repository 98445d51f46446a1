/* sqs_event.c - parsing SQS events and writing partial batch responses. */
#include "sqs_event.h"

#include "common.h"
#include "json.h"
#include "json_write.h"
#include "message.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVENT_MAX_DEPTH 32

static int64_t number_text(const struct cl_json_value *v)
{
    char tmp[32];
    if (v->type != CL_JSON_STRING || v->len < 3 || v->len - 2 >= sizeof tmp)
        return 0;
    memcpy(tmp, v->ptr + 1, v->len - 2);
    tmp[v->len - 2] = '\0';
    return strtoll(tmp, NULL, 10);
}

/* attributes: all values are strings (epoch-ms timestamps too). */
static void parse_attributes(const struct cl_json_value *obj, struct cl_sqs_record *rec)
{
    struct cl_json_reader r;
    struct cl_json_value k, v;
    cl_json_object_enter(&r, obj, EVENT_MAX_DEPTH);
    while (cl_json_object_next(&r, &k, &v) == 1) {
        if (cl_json_key_is(&k, "ApproximateReceiveCount", 0))
            rec->receive_count = (uint32_t)number_text(&v);
        else if (cl_json_key_is(&k, "SentTimestamp", 0))
            rec->sent_ms = number_text(&v);
    }
}

/* One messageAttributes entry {"stringValue":..,"dataType":..}: its stringValue. */
static void parse_one_attr(const char *name, const struct cl_json_value *obj,
                           struct cl_sqs_record *rec)
{
    struct cl_json_reader r;
    struct cl_json_value k, v;
    cl_json_object_enter(&r, obj, EVENT_MAX_DEPTH);
    while (cl_json_object_next(&r, &k, &v) == 1) {
        if (!cl_json_key_is(&k, "stringValue", 0) || v.type != CL_JSON_STRING)
            continue;
        size_t len;
        char *value = cl_json_string_dup(&v, &len);
        if (cl_msg_attr_set(&rec->attrs, name, value, len) != CL_OK)
            rec->attrs_invalid = 1;
        free(value);
    }
}

static void parse_message_attributes(const struct cl_json_value *obj, struct cl_sqs_record *rec)
{
    struct cl_json_reader r;
    struct cl_json_value k, v;
    cl_json_object_enter(&r, obj, EVENT_MAX_DEPTH);
    while (cl_json_object_next(&r, &k, &v) == 1) {
        if (v.type != CL_JSON_OBJECT)
            continue;
        char *name = cl_json_string_dup(&k, NULL);
        parse_one_attr(name, &v, rec);
        free(name);
    }
}

static void set_string(char **field, const struct cl_json_value *v, size_t *len)
{
    if (v->type != CL_JSON_STRING)
        return;
    free(*field);
    *field = cl_json_string_dup(v, len);
}

static int parse_record(const struct cl_json_value *obj, struct cl_sqs_record *rec)
{
    struct cl_json_reader r;
    struct cl_json_value k, v;
    cl_json_object_enter(&r, obj, EVENT_MAX_DEPTH);
    while (cl_json_object_next(&r, &k, &v) == 1) {
        if (cl_json_key_is(&k, "messageId", 0))
            set_string(&rec->message_id, &v, NULL);
        else if (cl_json_key_is(&k, "receiptHandle", 0))
            set_string(&rec->receipt_handle, &v, NULL);
        else if (cl_json_key_is(&k, "body", 0))
            set_string(&rec->body, &v, &rec->body_len);
        else if (cl_json_key_is(&k, "attributes", 0) && v.type == CL_JSON_OBJECT)
            parse_attributes(&v, rec);
        else if (cl_json_key_is(&k, "messageAttributes", 0) && v.type == CL_JSON_OBJECT)
            parse_message_attributes(&v, rec);
    }
    return rec->message_id && rec->message_id[0] && rec->body ? 0 : -1;
}

struct record_list {
    struct cl_sqs_record *v;
    size_t n, cap;
    int bad; /* index + 1 of the first record without messageId or body */
};

/* cl_json_split_array callback: one element of Records (already validated as JSON by
 * the top-level scan). */
static int add_record(void *arg, const char *elem, size_t len)
{
    struct record_list *l = arg;
    struct cl_json_value obj = {.type = CL_JSON_OBJECT, .ptr = elem, .len = len};
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = cl_realloc(l->v, l->cap * sizeof *l->v);
    }
    struct cl_sqs_record *rec = &l->v[l->n++];
    memset(rec, 0, sizeof *rec);
    if (len == 0 || elem[0] != '{' || parse_record(&obj, rec) != 0) {
        l->bad = (int)l->n;
        return 1;
    }
    return 0;
}

static int parse_records(const struct cl_json_value *arr, struct cl_sqs_record **out, size_t *n,
                         char *err, size_t err_len)
{
    struct record_list l = {0};
    struct cl_json_error jerr = {0};
    int rc = cl_json_split_array(arr->ptr, arr->len, add_record, &l, &jerr);
    if (rc != 0) {
        if (l.bad)
            snprintf(err, err_len, "Records[%d] is not an object with a messageId and a body",
                     l.bad - 1);
        else
            snprintf(err, err_len, "Records is not a JSON array");
        cl_sqs_records_free(l.v, l.n);
        return CL_ERR_INVAL;
    }
    *out = l.v;
    *n = l.n;
    return CL_OK;
}

int cl_sqs_event_parse(const char *event, size_t len, struct cl_sqs_record **out, size_t *n,
                       char *err, size_t err_len)
{
    struct cl_json_reader r;
    struct cl_json_value k, v, records = {0};
    int rc;
    *out = NULL;
    *n = 0;
    cl_json_reader_init(&r, event, len, EVENT_MAX_DEPTH);
    if (cl_json_object_open(&r) != 0) {
        snprintf(err, err_len, "event is not a JSON object");
        return CL_ERR_INVAL;
    }
    while ((rc = cl_json_object_next(&r, &k, &v)) == 1)
        if (cl_json_key_is(&k, "Records", 0))
            records = v;
    if (rc < 0 || !cl_json_at_end(&r)) {
        snprintf(err, err_len, "event is not valid JSON: %s at offset %zu",
                 r.err.msg ? r.err.msg : "trailing data", r.err.offset);
        return CL_ERR_INVAL;
    }
    if (records.type != CL_JSON_ARRAY) {
        snprintf(err, err_len, "not an SQS event (no Records array)");
        return CL_ERR_INVAL;
    }
    return parse_records(&records, out, n, err, err_len);
}

void cl_sqs_records_free(struct cl_sqs_record *recs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(recs[i].message_id);
        free(recs[i].receipt_handle);
        free(recs[i].body);
    }
    free(recs);
}

void cl_sqs_batch_response(struct cl_buf *out, const char *const *ids, size_t n)
{
    cl_buf_append_str(out, "{\"batchItemFailures\":[");
    for (size_t i = 0; i < n; i++) {
        cl_buf_append_str(out, i ? ",{\"itemIdentifier\":" : "{\"itemIdentifier\":");
        cl_json_write_string(out, ids[i], strlen(ids[i]));
        cl_buf_append_char(out, '}');
    }
    cl_buf_append_str(out, "]}");
}
