/* mask.c - the hand-written scanner behind cl_mask_message: one pass over the message,
 * no regular expressions. Rules (one set for every kind of log, docs/analytics.md):
 *  - a token is a run of non-blank bytes; a quoted string ("..." or '...', may hold
 *    blanks) is one token and always variable;
 *  - punctuation around a token ("(", "[", "<", quotes; ")", "]", ",", ";", ":", ".")
 *    is kept and only the core between them is judged;
 *  - key=value keeps the key and masks the value;
 *  - a core is variable when it holds a digit (numbers, hex, UUIDs, IPv4/IPv6,
 *    host:port, durations, sizes, dates, times, ids), a "://" (URLs), is a path
 *    ("/a/b", "./a", "~/a", "C:\a") or a long hex word ("deadbeef"). */
#include "mask.h"

#include <string.h>

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

uint64_t cl_mask_hash(const char *s, size_t len)
{
    uint64_t h = FNV_OFFSET;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= FNV_PRIME;
    }
    return h;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static int is_open_punct(char c)
{
    return c == '(' || c == '[' || c == '{' || c == '<' || c == '"' || c == '\'';
}

static int is_close_punct(char c)
{
    return c == ')' || c == ']' || c == '}' || c == '>' || c == ',' || c == ';' || c == ':' ||
           c == '.' || c == '"' || c == '\'' || c == '!' || c == '?';
}

static int is_hex_letter(char c)
{
    return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int is_path(const char *s, size_t n)
{
    if (n >= 2 && s[0] == '/' && memchr(s + 1, '/', n - 1))
        return 1;
    if (n >= 3 && (s[0] == '.' || s[0] == '~') && s[1] == '/')
        return 1;
    return n >= 3 && s[1] == ':' && s[2] == '\\'; /* C:\Windows */
}

/* Whether a token core (punctuation stripped) is a variable value. */
static int core_is_variable(const char *s, size_t n)
{
    size_t hex = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9')
            return 1;
        if (c == ':' && i + 2 < n && s[i + 1] == '/' && s[i + 2] == '/')
            return 1; /* URL */
        hex += is_hex_letter(c);
    }
    /* Long words made only of hex letters are ids ("deadbeefcafe"), not English. */
    return (hex == n && n >= 8) || is_path(s, n);
}

struct emitter {
    struct cl_masked *out;
    int last_wild; /* the previous token was a bare wildcard */
};

static void put(struct cl_masked *o, const char *s, size_t n)
{
    if (n == 0)
        return; /* s may be NULL */
    memcpy(o->text + o->text_len, s, n);
    o->text_len += n;
}

/* Appends one token (prefix, core or "<*>", suffix) unless the token limit is reached. */
static void emit(struct emitter *e, const char *pre, size_t npre, const char *core, size_t ncore,
                 int wild, const char *suf, size_t nsuf)
{
    struct cl_masked *o = e->out;
    int bare = wild && npre == 0 && nsuf == 0;
    if (bare && e->last_wild)
        return; /* adjacent wildcards collapse into one */
    if (o->n == CL_MASK_MAX_TOKENS) {
        /* Fold the tail into the last token, which becomes a wildcard. */
        struct cl_mask_token *t = &o->tok[o->n - 1];
        o->text_len = t->off;
        put(o, "<*>", 3);
        t->len = 3;
        t->hash = CL_MASK_WILD;
        t->masked = 1;
        e->last_wild = 1;
        return;
    }
    if (o->n > 0)
        put(o, " ", 1);
    struct cl_mask_token *t = &o->tok[o->n++];
    t->off = (uint32_t)o->text_len;
    put(o, pre, npre);
    if (wild)
        put(o, "<*>", 3);
    else
        put(o, core, ncore);
    put(o, suf, nsuf);
    t->len = (uint32_t)(o->text_len - t->off);
    t->masked = wild;
    if (bare) {
        t->hash = CL_MASK_WILD;
    } else {
        t->hash = cl_mask_hash(o->text + t->off, t->len);
        if (t->hash == CL_MASK_WILD)
            t->hash = 1;
    }
    e->last_wild = bare;
}

/* Judges one blank-free token s[0..n) and emits it. */
static void emit_word(struct emitter *e, const char *s, size_t n)
{
    size_t a = 0, b = n;
    while (a < b && is_open_punct(s[a]))
        a++;
    while (b > a && is_close_punct(s[b - 1]))
        b--;
    const char *core = s + a;
    size_t ncore = b - a;
    const char *eq = ncore > 1 ? memchr(core + 1, '=', ncore - 1) : NULL;
    if (eq && eq + 1 < core + ncore) { /* key=value: keep "key=" as prefix */
        size_t nkey = (size_t)(eq + 1 - s);
        emit(e, s, nkey, NULL, 0, 1, s + b, n - b);
        return;
    }
    int wild = ncore > 0 && core_is_variable(core, ncore);
    emit(e, s, a, core, ncore, wild, s + b, n - b);
}

/* Length of a quoted string starting at s[0] (a quote), or 0 when it is not one: the
 * closing quote must end the token (blank, punctuation or end follows it). */
static size_t quoted_len(const char *s, size_t n)
{
    const char *close = n > 1 ? memchr(s + 1, s[0], n - 1) : NULL;
    if (!close)
        return 0;
    size_t k = (size_t)(close - s) + 1;
    if (k < n && !is_blank(s[k]) && !is_close_punct(s[k]))
        return 0;
    return k;
}

void cl_mask_message(const char *msg, size_t len, struct cl_masked *out)
{
    struct emitter e = {out, 0};
    out->n = 0;
    out->text_len = 0;
    if (len > CL_MASK_MAX_BYTES)
        len = CL_MASK_MAX_BYTES;
    size_t i = 0;
    while (i < len) {
        while (i < len && is_blank(msg[i]))
            i++;
        if (i == len)
            break;
        size_t q = (msg[i] == '"' || msg[i] == '\'') ? quoted_len(msg + i, len - i) : 0;
        if (q > 2) { /* a non-empty quoted string: one variable token */
            size_t j = i + q;
            while (j < len && !is_blank(msg[j]))
                j++;
            emit(&e, NULL, 0, NULL, 0, 1, msg + i + q, j - i - q);
            i = j;
            continue;
        }
        size_t j = i;
        while (j < len && !is_blank(msg[j]))
            j++;
        emit_word(&e, msg + i, j - i);
        i = j;
    }
}
