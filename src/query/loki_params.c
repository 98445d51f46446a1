/* loki_params.c - the Loki API's parameters: form decoding, times, durations, limits. */
#include "loki_int.h"

#include "common.h"
#include "logql_int.h"
#include "record.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cl_loki_params_add(struct cl_loki_params *p, const char *key, const char *value)
{
    if (p->n == CL_LOKI_MAX_PARAMS) {
        p->overflow = 1;
        return;
    }
    p->keys[p->n] = cl_strdup(key);
    p->values[p->n++] = cl_strdup(value ? value : "");
}

static int hex(int c)
{
    return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

/* Decodes len bytes of s ('+' is a blank, %XX a byte); caller frees. */
static char *form_decode(const char *s, size_t len)
{
    char *out = cl_malloc(len + 1), *o = out;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+')
            *o++ = ' ';
        else if (s[i] == '%' && i + 2 < len && hex((unsigned char)s[i + 1]) >= 0 &&
                 hex((unsigned char)s[i + 2]) >= 0) {
            *o++ = (char)(hex((unsigned char)s[i + 1]) * 16 + hex((unsigned char)s[i + 2]));
            i += 2;
        } else
            *o++ = s[i];
    }
    *o = '\0';
    return out;
}

void cl_loki_params_add_form(struct cl_loki_params *p, const char *text, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && text[end] != '&')
            end++;
        const char *eq = memchr(text + i, '=', end - i);
        size_t klen = eq ? (size_t)(eq - (text + i)) : end - i;
        if (end > i) {
            char *k = form_decode(text + i, klen);
            char *v = eq ? form_decode(eq + 1, (size_t)(text + end - eq - 1)) : cl_strdup("");
            cl_loki_params_add(p, k, v);
            free(k);
            free(v);
        }
        i = end + 1;
    }
}

const char *cl_loki_param(const struct cl_loki_params *p, const char *key)
{
    for (size_t i = p->n; i-- > 0;)
        if (strcmp(p->keys[i], key) == 0)
            return p->values[i];
    return NULL;
}

void cl_loki_params_free(struct cl_loki_params *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->keys[i]);
        free(p->values[i]);
    }
    p->n = 0;
}

static int64_t div_round(int64_t ns, int up)
{
    int64_t q = ns / 1000000, r = ns % 1000000;
    if (r && (ns > 0) == (up != 0))
        q += up ? 1 : -1;
    return q;
}

static double ceil_ms(double ms)
{
    return ceil(ms);
}

int lk_parse_time(const char *v, int64_t now_ms, int up, int64_t *out_ms)
{
    char *end;
    if (strcmp(v, "now") == 0) {
        *out_ms = now_ms;
        return 0;
    }
    if (strchr(v, '.') && !strchr(v, 'T') && !strchr(v, '-')) { /* float seconds */
        double s = strtod(v, &end);
        if (end == v || *end || !isfinite(s) || fabs(s) > 9.2e9)
            return -1;
        *out_ms = (int64_t)(up ? ceil_ms(s * 1000.0) : floor(s * 1000.0));
        return 0;
    }
    size_t digits = strspn(v + (v[0] == '-'), "0123456789");
    if (digits && v[(v[0] == '-') + digits] == '\0') {
        long long n = strtoll(v, &end, 10);
        if (digits > 19)
            return -1;
        *out_ms = digits <= 10 ? (int64_t)n * 1000 : div_round((int64_t)n, up);
        return 0;
    }
    return cl_query_parse_time(v, now_ms, out_ms) == 0 ? 0 : -1;
}

int lk_parse_duration(const char *v, int64_t *out_ms)
{
    char *end;
    double s = strtod(v, &end);
    if (end != v && *end == '\0' && isfinite(s) && s >= 0 && s < 9.2e12) {
        *out_ms = (int64_t)llround(s * 1000.0);
        return 0;
    }
    struct lq_token t;
    char err[64];
    if (lq_lex(v, 0, &t, err, sizeof err) != 0 || t.kind != LQ_DURATION || t.pos != 0 ||
        t.len != strlen(v) || t.number < 0 || t.number > 9.2e12)
        return -1;
    *out_ms = (int64_t)llround(t.number * 1000.0);
    return 0;
}

static int bad_param(char *err, size_t err_len, const char *name, const char *v)
{
    snprintf(err, err_len,
             "invalid parameter \"%s\": cannot parse \"%.100s\" to a valid timestamp or "
             "duration",
             name, v);
    return -1;
}

int lk_request_range(const struct cl_loki_ctx *ctx, const struct cl_loki_params *p, int up,
                     struct lk_range *out, char *err, size_t err_len)
{
    const char *start = cl_loki_param(p, "start"), *end = cl_loki_param(p, "end");
    const char *since = cl_loki_param(p, "since");
    out->end_ms = ctx->now_ms;
    if (end && end[0] && lk_parse_time(end, ctx->now_ms, up, &out->end_ms) != 0)
        return bad_param(err, err_len, "end", end);
    int64_t back = 3600 * 1000LL;
    if (since && since[0] && lk_parse_duration(since, &back) != 0)
        return bad_param(err, err_len, "since", since);
    out->start_ms = out->end_ms - back;
    if (start && start[0] && lk_parse_time(start, ctx->now_ms, up, &out->start_ms) != 0)
        return bad_param(err, err_len, "start", start);
    if (out->end_ms < out->start_ms) {
        snprintf(err, err_len, "end timestamp must not be before start time");
        return -1;
    }
    return 0;
}

int lk_request_limit(const struct cl_loki_params *p, size_t *out, char *err, size_t err_len)
{
    const char *v = cl_loki_param(p, "limit");
    *out = CL_LOKI_DEFAULT_LIMIT;
    if (!v || !v[0])
        return 0;
    char *end;
    long long n = strtoll(v, &end, 10);
    if (end == v || *end || n <= 0) {
        snprintf(err, err_len, "invalid parameter \"limit\": %.100s (a positive integer)", v);
        return -1;
    }
    if (n > CL_LOKI_MAX_LIMIT) {
        snprintf(err, err_len,
                 "max entries limit per query exceeded, limit > max_entries_limit "
                 "(%lld > %d)",
                 n, CL_LOKI_MAX_LIMIT);
        return -1;
    }
    *out = (size_t)n;
    return 0;
}
