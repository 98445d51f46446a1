/* verify_report.c - findings of `cloudlog verify` and their text and JSON reports. */
#include "verify.h"

#include "buf.h"
#include "common.h"
#include "json_write.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const sev_names[] = {"problem", "warning", "info"};

static char *vformat(const char *fmt, va_list ap)
{
    char tmp[1024];
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    return cl_strdup(tmp);
}

struct verify_finding *verify_add(struct verify_report *r, enum verify_sev sev, const char *kind,
                                  const char *key, const char *fmt, ...)
{
    if (r->n == r->cap)
        r->v = cl_realloc(r->v, (r->cap = r->cap ? r->cap * 2 : 32) * sizeof *r->v);
    struct verify_finding *f = &r->v[r->n++];
    memset(f, 0, sizeof *f);
    f->sev = sev;
    f->kind = cl_strdup(kind);
    f->key = key ? cl_strdup(key) : NULL;
    va_list ap;
    va_start(ap, fmt);
    f->detail = vformat(fmt, ap);
    va_end(ap);
    return f;
}

void verify_repaired(struct verify_finding *f, int repaired, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *action = vformat(fmt, ap); /* before the free: the arguments may name f->action */
    va_end(ap);
    free(f->action);
    f->action = action;
    f->repaired = repaired;
}

size_t verify_count(const struct verify_report *r, enum verify_sev sev, int unrepaired_only)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += r->v[i].sev == sev && !(unrepaired_only && r->v[i].repaired);
    return n;
}

void verify_print_text(const struct verify_report *r, const char *what)
{
    printf("verify %s\n", what);
    printf("  objects checked  %llu (%llu records), catalog rows %llu\n",
           (unsigned long long)r->objects_checked, (unsigned long long)r->records_checked,
           (unsigned long long)r->catalog_rows);
    for (size_t i = 0; i < r->n; i++) {
        const struct verify_finding *f = &r->v[i];
        printf("%-8s %s%s%s: %s\n", sev_names[f->sev], f->kind, f->key ? " " : "",
               f->key ? f->key : "", f->detail);
        if (f->action)
            printf("         %s: %s\n", f->repaired ? "repaired" : "not repaired", f->action);
    }
    size_t left = verify_count(r, VERIFY_PROBLEM, 1);
    size_t fixed = verify_count(r, VERIFY_PROBLEM, 0) - left;
    if (left == 0 && fixed == 0)
        printf("clean: no problems (%zu warning(s))\n", verify_count(r, VERIFY_WARNING, 0));
    else if (left == 0)
        printf("repaired: %zu problem(s) fixed, none left\n", fixed);
    else
        printf("PROBLEMS: %zu left%s%s\n", left, fixed ? ", repaired " : "",
               fixed ? "some" : (r->repair ? "" : " (run with --repair to fix what can be)"));
}

static void json_str_or_null(struct cl_buf *b, const char *s)
{
    if (s)
        cl_json_write_string(b, s, strlen(s));
    else
        cl_buf_append_str(b, "null");
}

void verify_print_json(const struct verify_report *r, const char *what)
{
    struct cl_buf b;
    cl_buf_init(&b, SIZE_MAX);
    size_t left = verify_count(r, VERIFY_PROBLEM, 1);
    cl_buf_append_str(&b, "{\"target\":");
    json_str_or_null(&b, what);
    cl_buf_printf(&b,
                  ",\"clean\":%s,\"repair\":%s,\"problems\":%zu,\"problems_left\":%zu,"
                  "\"warnings\":%zu,\"objects_checked\":%llu,\"records_checked\":%llu,"
                  "\"catalog_rows\":%llu,\"findings\":[",
                  left ? "false" : "true", r->repair ? "true" : "false",
                  verify_count(r, VERIFY_PROBLEM, 0), left, verify_count(r, VERIFY_WARNING, 0),
                  (unsigned long long)r->objects_checked, (unsigned long long)r->records_checked,
                  (unsigned long long)r->catalog_rows);
    for (size_t i = 0; i < r->n; i++) {
        const struct verify_finding *f = &r->v[i];
        cl_buf_printf(&b, "%s{\"severity\":\"%s\",\"kind\":", i ? "," : "", sev_names[f->sev]);
        json_str_or_null(&b, f->kind);
        cl_buf_append_str(&b, ",\"key\":");
        json_str_or_null(&b, f->key);
        cl_buf_append_str(&b, ",\"detail\":");
        json_str_or_null(&b, f->detail);
        cl_buf_append_str(&b, ",\"action\":");
        json_str_or_null(&b, f->action);
        cl_buf_printf(&b, ",\"repaired\":%s}", f->repaired ? "true" : "false");
    }
    cl_buf_append_str(&b, "]}\n");
    fwrite(b.data, 1, b.len, stdout);
    cl_buf_free(&b);
}

void verify_report_free(struct verify_report *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].kind);
        free(r->v[i].key);
        free(r->v[i].detail);
        free(r->v[i].action);
    }
    free(r->v);
    memset(r, 0, sizeof *r);
}
