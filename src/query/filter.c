/* filter.c - record filters: time, level, grep (-i), PCRE2 regex and field=value. */
#include "query_int.h"

#include "common.h"
#include "json.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int compile_regex(struct cq_filter *f, const char *re, char *err, size_t err_len)
{
    int code;
    PCRE2_SIZE off;
    f->re = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &code, &off, NULL);
    if (!f->re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(code, msg, sizeof msg);
        snprintf(err, err_len, "bad regex at offset %zu: %s", (size_t)off, (const char *)msg);
        return CL_ERR_INVAL;
    }
    f->jit = pcre2_jit_compile(f->re, PCRE2_JIT_COMPLETE) == 0; /* else interpreted */
    return CL_OK;
}

/* The limits of every match (copied per thread, which adds its own JIT stack). */
static void set_regex_limits(struct cq_filter *f, const struct cl_query *q)
{
    f->mctx = pcre2_match_context_create(NULL);
    if (!f->mctx)
        abort(); /* out of memory: see common.h's policy */
    uint64_t heap = q->regex_heap_limit ? q->regex_heap_limit : CL_QUERY_REGEX_HEAP_LIMIT;
    pcre2_set_match_limit(f->mctx,
                          q->regex_match_limit ? q->regex_match_limit : CL_QUERY_REGEX_MATCH_LIMIT);
    pcre2_set_depth_limit(f->mctx,
                          q->regex_depth_limit ? q->regex_depth_limit : CL_QUERY_REGEX_DEPTH_LIMIT);
    pcre2_set_heap_limit(f->mctx, (uint32_t)CL_MIN(CL_MAX(heap / 1024, 1), UINT32_MAX)); /* KiB */
}

/* Writes ms as a stored timestamp's text into out (CQ_TS_TEXT_LEN + 1 bytes), or ""
 * when its year is outside 1..9999. */
static void ts_text(int64_t ms, char *out)
{
    out[0] = '\0';
    if (ms < -62135596800000LL || ms >= 253402300800000LL) /* 0001-01-01 .. 10000-01-01 */
        return;
    time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;
    if (!gmtime_r(&secs, &tm))
        return;
    char text[64];
    int n = snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (int)(ms - (int64_t)secs * 1000));
    if (n == CQ_TS_TEXT_LEN)
        memcpy(out, text, CQ_TS_TEXT_LEN + 1);
}

/* Sets f->need: the longer of the grep and the regex's literal (a tie to the one searched
 * case-sensitively, which gives fewer false candidates). A one-byte regex literal is not
 * worth a search of its own. */
static void choose_need(struct cq_filter *f)
{
    const struct cl_query *q = f->q;
    size_t lit_len = f->re_lit ? strlen(f->re_lit) : 0;
    if (f->grep_len && (f->grep_len > lit_len || (f->grep_len == lit_len && !f->grep_lower))) {
        f->need = f->grep_lower ? f->grep_lower : q->grep;
        f->need_len = f->grep_len;
        f->need_icase = f->grep_lower != NULL;
    } else if (lit_len >= 2) {
        f->need = f->re_lit;
        f->need_len = lit_len;
    }
    /* without a regex, need is the grep */
    f->need_alone = f->need && !f->re && !q->n_where && !memchr(f->need, '\n', f->need_len);
}

int cq_filter_init(struct cq_filter *f, const struct cl_query *q, char *err, size_t err_len)
{
    memset(f, 0, sizeof *f);
    f->q = q;
    ts_text(q->from_ms, f->from_text);
    ts_text(q->to_ms, f->to_text);
    if (q->n_where > CQ_MAX_WHERE) {
        snprintf(err, err_len, "at most %d where filters", CQ_MAX_WHERE);
        return CL_ERR_INVAL;
    }
    for (size_t i = 0; i < q->n_where; i++)
        if (!q->where[i].field || !q->where[i].value) {
            snprintf(err, err_len, "where filter %zu lacks a field or value", i);
            return CL_ERR_INVAL;
        }
    if (q->grep && q->grep[0]) {
        f->grep_len = strlen(q->grep);
        if (q->grep_icase) {
            f->grep_lower = cl_strdup(q->grep);
            for (char *c = f->grep_lower; *c; c++)
                *c = (char)tolower((unsigned char)*c);
        }
    }
    if (q->regex) {
        set_regex_limits(f, q);
        if (compile_regex(f, q->regex, err, err_len) != CL_OK)
            return CL_ERR_INVAL;
        f->re_lit = cl_malloc(strlen(q->regex) + 1);
        if (cq_regex_literal(q->regex, f->re_lit) == 0) {
            free(f->re_lit);
            f->re_lit = NULL;
        }
    }
    choose_need(f);
    return CL_OK;
}

void cq_filter_free(struct cq_filter *f)
{
    pcre2_match_context_free(f->mctx);
    pcre2_code_free(f->re);
    free(f->grep_lower);
    free(f->re_lit);
    memset(f, 0, sizeof *f);
}

void cq_matcher_init(struct cq_matcher *m, const struct cq_filter *f)
{
    memset(m, 0, sizeof *m);
    m->f = f;
    cl_buf_init(&m->tmp, SIZE_MAX);
    if (!f->re)
        return;
    m->md = pcre2_match_data_create_from_pattern(f->re, NULL);
    m->mctx = pcre2_match_context_copy(f->mctx);
    /* The JIT's default stack is 32 KiB on the machine stack: a repeated group over a
     * long run of characters overflows it. Pages of this one are committed as used. */
    m->jit_stack = pcre2_jit_stack_create(32 * 1024, CQ_JIT_STACK_MAX, NULL);
    if (!m->md || !m->mctx || !m->jit_stack)
        abort(); /* out of memory: see common.h's policy */
    pcre2_jit_stack_assign(m->mctx, NULL, m->jit_stack);
}

void cq_matcher_free(struct cq_matcher *m)
{
    pcre2_match_data_free(m->md);
    pcre2_match_context_free(m->mctx);
    pcre2_jit_stack_free(m->jit_stack);
    cl_buf_free(&m->tmp);
}

/* 1 match, 0 no match, -1 a match error (m->match_error keeps the first). A JIT stack
 * overflow is retried by the interpreter, bounded by the depth and heap limits. */
static int regex_match(struct cq_matcher *m, const char *line, size_t len)
{
    /* pcre2_match checks the subject is valid UTF-8 on every call, byte by byte: 36% of
     * a checkout `--count --regex` scan's instructions (callgrind), the lines being
     * mostly ASCII. An all-ASCII line is valid UTF-8, found at a fraction of that cost,
     * and goes to the JIT's fast path, which skips pcre2_match's checks of its arguments
     * (and must only be given valid UTF-8); any other line is left to pcre2_match's
     * check (an invalid one is then a match error, as before). */
    int ascii = cq_is_ascii(line, len), rc;
    if (ascii && m->f->jit)
        rc = pcre2_jit_match(m->f->re, (PCRE2_SPTR)line, len, 0, 0, m->md, m->mctx);
    else
        rc = pcre2_match(m->f->re, (PCRE2_SPTR)line, len, 0, ascii ? PCRE2_NO_UTF_CHECK : 0, m->md,
                         m->mctx);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
        rc = pcre2_match(m->f->re, (PCRE2_SPTR)line, len, 0,
                         PCRE2_NO_JIT | (ascii ? PCRE2_NO_UTF_CHECK : 0), m->md, m->mctx);
    if (rc >= 0)
        return 1;
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    if (!m->match_error)
        m->match_error = rc;
    return -1;
}

void cq_regex_error(int code, const struct cl_query *q, char *out, size_t out_len)
{
    PCRE2_UCHAR msg[160];
    pcre2_get_error_message(code, msg, sizeof msg);
    const char *hint = code == PCRE2_ERROR_MATCHLIMIT   ? " (--regex-match-limit)"
                       : code == PCRE2_ERROR_DEPTHLIMIT ? " (--regex-depth-limit)"
                       : code == PCRE2_ERROR_HEAPLIMIT  ? " (--regex-heap-limit)"
                                                        : "";
    snprintf(out, out_len,
             "regex %s failed on a record: %s%s; no count or result is given rather than a "
             "wrong one: simplify the pattern (avoid nested quantifiers such as (.*a){12}) or "
             "narrow the query",
             q->regex, (const char *)msg, hint);
}

const char *cq_filter_find(const struct cq_filter *f, const char *hay, size_t n)
{
    return f->need_icase ? cq_find_icase(hay, n, f->need, f->need_len)
                         : cq_find(hay, n, f->need, f->need_len);
}

/* The decoded text of a string value (or a key) in m->tmp, or its JSON text otherwise. */
static struct cl_slice value_text(struct cq_matcher *m, const struct cl_json_value *v)
{
    if (v->type == CL_JSON_STRING && !(v->flags & CL_JSON_F_ESCAPED))
        return (struct cl_slice){v->ptr + 1, v->len - 2};
    if (v->type != CL_JSON_STRING && !(v->flags & CL_JSON_F_SPACE))
        return (struct cl_slice){v->ptr, v->len};
    cl_buf_reset(&m->tmp);
    if (cl_buf_reserve(&m->tmp, v->len + 1) != CL_OK)
        return (struct cl_slice){"", 0};
    size_t n = v->type == CL_JSON_STRING ? cl_json_unescape(v, m->tmp.data)
                                         : cl_json_compact(v, m->tmp.data);
    return (struct cl_slice){m->tmp.data, n};
}

static int slice_eq(struct cl_slice s, const char *c)
{
    return strlen(c) == s.len && memcmp(s.ptr, c, s.len) == 0;
}

/* Every where clause holds for some top-level member (an invalid line matches none). */
static int where_match(struct cq_matcher *m, const char *line, size_t len)
{
    const struct cl_query *q = m->f->q;
    uint64_t want = q->n_where == 64 ? UINT64_MAX : (1ull << q->n_where) - 1, got = 0;
    struct cl_json_reader r;
    struct cl_json_value k, v;
    cl_json_reader_init(&r, line, len, 0);
    if (cl_json_object_open(&r) != 0)
        return 0;
    while (got != want && cl_json_object_next(&r, &k, &v) == 1) {
        struct cl_slice ks = value_text(m, &k); /* compared before tmp is reused */
        uint64_t cand = 0;
        for (size_t i = 0; i < q->n_where; i++)
            if (!(got & (1ull << i)) && slice_eq(ks, q->where[i].field))
                cand |= 1ull << i;
        if (!cand)
            continue;
        struct cl_slice vs = value_text(m, &v);
        for (size_t i = 0; i < q->n_where; i++)
            if ((cand & (1ull << i)) && slice_eq(vs, q->where[i].value))
                got |= 1ull << i;
    }
    return got == want;
}

/* 1 if line's timestamp text shows it outside [from, to) without parsing the line: a
 * stored record starts {"timestamp":"YYYY-MM-DDTHH:MM:SS.mmmZ", and texts of that one form
 * order as their times do (a valid one, that is; an invalid one fails the parse anyway).
 * 'T' is checked because the parser also takes 't' and ' ', which order differently. */
static int outside_by_text(const struct cq_filter *f, const char *line, size_t len)
{
    static const char prefix[] = "{\"timestamp\":\"";
    const size_t n = sizeof prefix - 1;
    if (len < n + CQ_TS_TEXT_LEN || memcmp(line, prefix, n) != 0)
        return 0;
    const char *t = line + n;
    if (t[10] != 'T' || t[CQ_TS_TEXT_LEN - 1] != 'Z')
        return 0;
    return (f->from_text[0] && memcmp(t, f->from_text, CQ_TS_TEXT_LEN) < 0) ||
           (f->to_text[0] && memcmp(t, f->to_text, CQ_TS_TEXT_LEN) >= 0);
}

int cq_match_line(struct cq_matcher *m, const char *line, size_t len, struct cl_line_head *h)
{
    const struct cq_filter *f = m->f;
    const struct cl_query *q = f->q;
    if (outside_by_text(f, line, len) || cl_line_head_parse(line, len, h) != 0)
        return 0;
    if (h->ts_ms < q->from_ms || h->ts_ms >= q->to_ms)
        return 0;
    if (q->level_mask && !(q->level_mask & (1u << h->level)))
        return 0;
    return cq_match_content(m, line, len);
}

int cq_match_content(struct cq_matcher *m, const char *line, size_t len)
{
    const struct cq_filter *f = m->f;
    const struct cl_query *q = f->q;
    if (f->grep_len && !(f->grep_lower ? cq_find_icase(line, len, f->grep_lower, f->grep_len)
                                       : cq_find(line, len, q->grep, f->grep_len)))
        return 0;
    /* the regex's literal, when the grep was not it (a line found by it holds it) */
    if (f->re_lit && f->need != f->re_lit && !cq_find(line, len, f->re_lit, strlen(f->re_lit)))
        return 0;
    if (q->n_where && !where_match(m, line, len))
        return 0;
    return f->re ? regex_match(m, line, len) : 1; /* the costliest filter last */
}
