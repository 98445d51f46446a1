/* cmd_alarms.c - `cloudlog alarms`: alarm states and recent transitions from
 * DATA/alarms.json, which the daemon rewrites atomically on every transition. */
#include "cli_common.h"
#include "commands.h"

#include "cl_limits.h"
#include "common.h"
#include "json.h"
#include "readfile.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct alarms_cfg {
    const char *data_dir;
    int json;
    int history;
};

#define OFF(f) offsetof(struct alarms_cfg, f)

static const struct cl_option alarms_options[] = {
    CL_OPT_INCLUDE_ROWS(cl_cli_data_options, OFF(data_dir)),
    {"json", "CLOUDLOG_JSON", CL_OPT_FLAG, "0", OFF(json), NULL,
     "print the state document as JSON (as GET /v1/alarms)", NULL, 0, 0},
    {"history", "CLOUDLOG_ALARMS_HISTORY", CL_OPT_FLAG, "0", OFF(history), NULL,
     "print the recent transitions (newest first) instead of the states", NULL, 0, 0},
};

/* The columns of one row: up to 5 strings, each owned. */
struct row {
    char *col[5];
};

struct table {
    const char *const *keys; /* JSON member per column */
    size_t n_cols;
    struct row *rows;
    size_t n_rows;
};

/* A JSON string member into an owned C string ("" for other types). */
static char *text_of(const struct cl_json_value *v)
{
    if (v->type != CL_JSON_STRING)
        return cl_strndup(v->ptr, v->len);
    char *s = cl_malloc(v->len + 1);
    size_t n = cl_json_unescape(v, s);
    s[n] = '\0';
    return s;
}

static int add_row(void *arg, const char *elem, size_t len)
{
    struct table *t = arg;
    struct cl_json_reader rd;
    struct cl_json_value k, v;
    struct row r = {{NULL}};
    cl_json_reader_init(&rd, elem, len, 0);
    if (cl_json_object_open(&rd) != 0)
        return -1;
    while (cl_json_object_next(&rd, &k, &v) == 1)
        for (size_t c = 0; c < t->n_cols; c++)
            if (k.len == strlen(t->keys[c]) + 2 && !memcmp(k.ptr + 1, t->keys[c], k.len - 2)) {
                free(r.col[c]);
                r.col[c] = text_of(&v);
            }
    for (size_t c = 0; c < t->n_cols; c++)
        if (!r.col[c])
            r.col[c] = cl_strdup("-");
    t->rows = cl_realloc(t->rows, (t->n_rows + 1) * sizeof *t->rows);
    t->rows[t->n_rows++] = r;
    return 0;
}

/* Fills t from the array member `member` of the document. */
static int read_table(const char *doc, size_t len, const char *member, struct table *t)
{
    struct cl_json_reader rd;
    struct cl_json_value k, v;
    struct cl_json_error je;
    cl_json_reader_init(&rd, doc, len, 0);
    if (cl_json_object_open(&rd) != 0)
        return -1;
    int rc;
    while ((rc = cl_json_object_next(&rd, &k, &v)) == 1)
        if (v.type == CL_JSON_ARRAY && k.len == strlen(member) + 2 &&
            !memcmp(k.ptr + 1, member, k.len - 2))
            return cl_json_split_array(v.ptr, v.len, add_row, t, &je) ? -1 : 0;
    return rc < 0 ? -1 : 0;
}

static void print_table(const struct table *t, const char *const *heads)
{
    size_t w[5];
    for (size_t c = 0; c < t->n_cols; c++) {
        w[c] = strlen(heads[c]);
        for (size_t i = 0; i < t->n_rows; i++)
            w[c] = CL_MAX(w[c], strlen(t->rows[i].col[c]));
    }
    for (size_t i = 0; i <= t->n_rows; i++) {
        for (size_t c = 0; c < t->n_cols; c++) {
            const char *s = i ? t->rows[i - 1].col[c] : heads[c];
            if (c + 1 == t->n_cols)
                printf("%s\n", s);
            else
                printf("%-*s  ", (int)w[c], s);
        }
    }
}

static void free_table(struct table *t)
{
    for (size_t i = 0; i < t->n_rows; i++)
        for (size_t c = 0; c < t->n_cols; c++)
            free(t->rows[i].col[c]);
    free(t->rows);
}

/* Reads DATA/alarms.json (at most CL_MAX_ALARM_STATE, the daemon's limit for it) into an
 * owned buffer; NULL after printing why. */
static char *read_state(const char *cmd, const char *data_dir, size_t *len)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/alarms.json", data_dir);
    char *buf = NULL;
    int rc = cl_read_file(path, CL_MAX_ALARM_STATE, &buf, len);
    if (rc == CL_ERR_NOT_FOUND)
        fprintf(stderr, "%s: cannot read %s: %s (the daemon writes it when it starts)\n", cmd, path,
                strerror(errno));
    else if (rc == CL_ERR_TOO_LARGE)
        fprintf(stderr, "%s: %s is larger than %zu bytes\n", cmd, path, CL_MAX_ALARM_STATE);
    else if (rc != CL_OK)
        fprintf(stderr, "%s: cannot read %s: %s\n", cmd, path, strerror(errno));
    return buf;
}

static const char *const state_keys[] = {"name", "state", "since", "reason"};
static const char *const state_heads[] = {"NAME", "STATE", "SINCE", "REASON"};
static const char *const hist_keys[] = {"timestamp", "name", "old_state", "new_state", "reason"};
static const char *const hist_heads[] = {"TIME", "NAME", "FROM", "TO", "REASON"};

static int print_state(const char *cmd, const struct alarms_cfg *cfg, const char *doc, size_t len)
{
    if (cfg->json) {
        fwrite(doc, 1, len, stdout);
        return 0;
    }
    struct table t = {cfg->history ? hist_keys : state_keys, cfg->history ? 5 : 4, NULL, 0};
    if (read_table(doc, len, cfg->history ? "history" : "alarms", &t) != 0) {
        fprintf(stderr, "%s: %s/alarms.json is not a valid alarm state document\n", cmd,
                cfg->data_dir);
        free_table(&t);
        return 1;
    }
    if (cfg->history && !t.n_rows)
        printf("no transitions yet\n");
    else
        print_table(&t, cfg->history ? hist_heads : state_heads);
    free_table(&t);
    return 0;
}

static const char alarms_summary[] =
    "Shows each alarm's state (OK, ALARM, INSUFFICIENT_DATA), since when and why, or with\n"
    "--history the recent transitions. Reads DATA/alarms.json, which the daemon rewrites on\n"
    "every transition, so it works whether or not the daemon runs (the state is then the\n"
    "last one the daemon saw). Alarms are configured with `cloudlog serve --alarms-config`.";

const struct cl_cli_table cl_table_alarms = {
    "cloudlog alarms", "cloudlog alarms [OPTIONS]",  alarms_summary,
    alarms_options,    CL_ARRAY_LEN(alarms_options), sizeof(struct alarms_cfg)};

int cl_cmd_alarms(int argc, char **argv)
{
    const char *cmd = "cloudlog alarms";
    struct alarms_cfg cfg = {0};
    size_t n_pos, len = 0;
    int rc = cl_cli_options(cmd, "cloudlog alarms [OPTIONS]", alarms_summary, alarms_options,
                            CL_ARRAY_LEN(alarms_options), &cfg, argc, argv, NULL, 0, &n_pos);
    if (rc >= 0)
        return rc;
    char *doc = read_state(cmd, cfg.data_dir, &len);
    if (!doc)
        return 1;
    rc = print_state(cmd, &cfg, doc, len);
    free(doc);
    return rc == 0 ? cl_cli_flush_stdout(cmd) : rc;
}
