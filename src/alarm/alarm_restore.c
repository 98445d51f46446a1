/* alarm_restore.c - reads DATA/alarms.json back at start-up, so alarm states and their
 * history survive a restart (an alarm in ALARM is not announced again as a new
 * INSUFFICIENT_DATA -> ALARM transition after every restart, as CloudWatch alarms keep
 * their state across deployments). */
#include "alarm.h"

#include "cl_limits.h"
#include "common.h"
#include "json.h"
#include "log.h"
#include "readfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fields of one "alarms" or "history" element the restore needs. */
struct entry {
    char name[CL_ALARM_NAME_MAX];
    char reason[CL_ALARM_REASON_MAX];
    char state[32], old_state[32], new_state[32];
    int64_t since_ms, timestamp_ms;
};

struct restore {
    struct cl_alarm_engine *e;
    size_t restored;
};

/* Copies a string value into out (truncated to n - 1 bytes); other types leave it. */
static void copy_string(const struct cl_json_value *v, char *out, size_t n)
{
    if (v->type != CL_JSON_STRING || n == 0)
        return;
    size_t len;
    char *tmp = cl_json_string_dup(v, &len);
    snprintf(out, n, "%.*s", (int)len, tmp);
    free(tmp);
}

static int key_is(const struct cl_json_value *k, const char *name)
{
    return cl_json_key_is(k, name, 0);
}

/* Parses one element object into *en; returns 0, or -1 if it is not an object. */
static int parse_entry(const char *elem, size_t len, struct entry *en)
{
    struct cl_json_reader r;
    struct cl_json_value k, v;
    memset(en, 0, sizeof *en);
    cl_json_reader_init(&r, elem, len, 0);
    if (cl_json_object_open(&r) != 0)
        return -1;
    int rc;
    while ((rc = cl_json_object_next(&r, &k, &v)) == 1) {
        if (key_is(&k, "name"))
            copy_string(&v, en->name, sizeof en->name);
        else if (key_is(&k, "reason"))
            copy_string(&v, en->reason, sizeof en->reason);
        else if (key_is(&k, "state"))
            copy_string(&v, en->state, sizeof en->state);
        else if (key_is(&k, "old_state"))
            copy_string(&v, en->old_state, sizeof en->old_state);
        else if (key_is(&k, "new_state"))
            copy_string(&v, en->new_state, sizeof en->new_state);
        else if (key_is(&k, "since_ms"))
            en->since_ms = CL_MAX(cl_json_uint(&v), (int64_t)0);
        else if (key_is(&k, "timestamp_ms"))
            en->timestamp_ms = CL_MAX(cl_json_uint(&v), (int64_t)0);
    }
    return rc < 0 ? -1 : 0;
}

static int restore_alarm(void *arg, const char *elem, size_t len)
{
    struct restore *rs = arg;
    struct entry en;
    enum cl_alarm_state st;
    if (parse_entry(elem, len, &en) == 0 && cl_alarm_parse_state(en.state, &st) == 0)
        rs->restored += (size_t)cl_alarm_engine_restore(rs->e, en.name, st, en.since_ms, en.reason);
    return 0;
}

/* History elements arrive newest first; they are collected, then replayed oldest first. */
struct history {
    struct cl_alarm_transition *t;
    size_t n;
};

static int collect_transition(void *arg, const char *elem, size_t len)
{
    struct history *h = arg;
    struct entry en;
    struct cl_alarm_transition t = {0};
    if (h->n >= CL_ALARM_HISTORY || parse_entry(elem, len, &en) != 0 ||
        cl_alarm_parse_state(en.old_state, &t.from) != 0 ||
        cl_alarm_parse_state(en.new_state, &t.to) != 0)
        return 0;
    snprintf(t.name, sizeof t.name, "%s", en.name);
    snprintf(t.reason, sizeof t.reason, "%s", en.reason);
    t.ts_ms = en.timestamp_ms;
    h->t[h->n++] = t;
    return 0;
}

static void restore_history(struct cl_alarm_engine *e, const struct cl_json_value *v)
{
    struct history h = {cl_calloc(CL_ALARM_HISTORY, sizeof *h.t), 0};
    struct cl_json_error err;
    cl_json_split_array(v->ptr, v->len, collect_transition, &h, &err);
    while (h.n)
        cl_alarm_engine_restore_transition(e, &h.t[--h.n]);
    free(h.t);
}

size_t cl_alarm_restore_file(struct cl_alarm_engine *e, const char *path)
{
    char *doc = NULL;
    size_t len = 0;
    /* The runner writes at most CL_MAX_ALARM_STATE bytes: a file of exactly that restores. */
    int rc = cl_read_file(path, CL_MAX_ALARM_STATE, &doc, &len);
    if (rc != CL_OK) {
        if (rc != CL_ERR_NOT_FOUND)
            cl_log(CL_LOG_WARN, "alarms: cannot read %s (%s); starting without its states", path,
                   rc == CL_ERR_TOO_LARGE ? "larger than its 16 MiB limit" : strerror(errno));
        return 0;
    }
    struct restore rs = {e, 0};
    struct cl_json_reader r;
    struct cl_json_value k, v;
    cl_json_reader_init(&r, doc, len, 0);
    int more = cl_json_object_open(&r) == 0 ? 1 : -1;
    while (more == 1 && (more = cl_json_object_next(&r, &k, &v)) == 1) {
        struct cl_json_error err;
        if (key_is(&k, "alarms") && v.type == CL_JSON_ARRAY)
            cl_json_split_array(v.ptr, v.len, restore_alarm, &rs, &err);
        else if (key_is(&k, "history") && v.type == CL_JSON_ARRAY)
            restore_history(e, &v);
    }
    if (more < 0)
        cl_log(CL_LOG_WARN,
               "alarms: %s is not a state file this version wrote; ignored what "
               "followed the error",
               path);
    free(doc);
    return rs.restored;
}
