/* mask.c - the hand-written scanner behind cl_mask_message: one pass over the message,
 * no regular expressions. Rules (one set for every kind of log, docs/analytics.md):
 *  - a token is a run of non-blank bytes; a quoted string ("..." or '...', may hold
 *    blanks) is one token, a value when it holds a blank or a digit;
 *  - punctuation around a token ("(", "[", "<", "@", quotes; ")", "]", ",", ";", ":",
 *    ".") is kept and only the core between them is judged;
 *  - URLs and paths are values; key=value keeps the key and masks the value;
 *  - a core is a value as a whole when it is a number, size, duration, date or time
 *    (starts with a digit), a hex id, UUID, MAC or IPv6 address, host:port, or a day or
 *    month name; other cores with digits keep their letters ("blk_<*>", "en<*>");
 *  - a unit word after a number joins it; runs of same-shape values collapse.
 * Also cl_mask_shape_key, the miner's shape cache key: the message's bytes 8 at a time
 * where they hold no digit or quote, and a token that holds one by what judge_token (the
 * same rules) makes of it, so that it says which messages mask alike without masking. */
#include "mask.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

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

/* Byte classes for the scanner's hot loops (one table look-up per byte). */
enum { C_BLANK = 1, C_LETTER = 2, C_HEX = 4 };
#define LETTERS_(a, b, c, d, e, f)                                                                 \
    [a] = C_LETTER | C_HEX, [b] = C_LETTER | C_HEX, [c] = C_LETTER | C_HEX,                        \
    [d] = C_LETTER | C_HEX, [e] = C_LETTER | C_HEX, [f] = C_LETTER | C_HEX
static const unsigned char byte_class[256] = {[' '] = C_BLANK,
                                              ['\t'] = C_BLANK,
                                              ['\r'] = C_BLANK,
                                              ['\n'] = C_BLANK,
                                              ['\f'] = C_BLANK,
                                              ['\v'] = C_BLANK,
                                              LETTERS_('a', 'b', 'c', 'd', 'e', 'f'),
                                              LETTERS_('A', 'B', 'C', 'D', 'E', 'F'),
                                              ['g'] = C_LETTER,
                                              ['h'] = C_LETTER,
                                              ['i'] = C_LETTER,
                                              ['j'] = C_LETTER,
                                              ['k'] = C_LETTER,
                                              ['l'] = C_LETTER,
                                              ['m'] = C_LETTER,
                                              ['n'] = C_LETTER,
                                              ['o'] = C_LETTER,
                                              ['p'] = C_LETTER,
                                              ['q'] = C_LETTER,
                                              ['r'] = C_LETTER,
                                              ['s'] = C_LETTER,
                                              ['t'] = C_LETTER,
                                              ['u'] = C_LETTER,
                                              ['v'] = C_LETTER,
                                              ['w'] = C_LETTER,
                                              ['x'] = C_LETTER,
                                              ['y'] = C_LETTER,
                                              ['z'] = C_LETTER,
                                              ['G'] = C_LETTER,
                                              ['H'] = C_LETTER,
                                              ['I'] = C_LETTER,
                                              ['J'] = C_LETTER,
                                              ['K'] = C_LETTER,
                                              ['L'] = C_LETTER,
                                              ['M'] = C_LETTER,
                                              ['N'] = C_LETTER,
                                              ['O'] = C_LETTER,
                                              ['P'] = C_LETTER,
                                              ['Q'] = C_LETTER,
                                              ['R'] = C_LETTER,
                                              ['S'] = C_LETTER,
                                              ['T'] = C_LETTER,
                                              ['U'] = C_LETTER,
                                              ['V'] = C_LETTER,
                                              ['W'] = C_LETTER,
                                              ['X'] = C_LETTER,
                                              ['Y'] = C_LETTER,
                                              ['Z'] = C_LETTER};

static int is_blank(char c)
{
    return byte_class[(unsigned char)c] & C_BLANK;
}

static int is_open_punct(char c)
{
    return c == '(' || c == '[' || c == '{' || c == '<' || c == '"' || c == '\'' || c == '@' ||
           c == '#';
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

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Day and month names of dates ("Fri Jun 17 07:07:00 2005"). */
static int is_date_word(const char *s, size_t n)
{
    static const char names[] = "MonTueWedThuFriSatSunJanFebMarAprMayJunJulAugSepOctNovDec";
    if (n != 3 || s[0] < 'A' || s[0] > 'W') /* every name starts with one of A..W */
        return 0;
    for (size_t i = 0; i + 3 <= sizeof names - 1; i += 3)
        if (memcmp(names + i, s, 3) == 0)
            return 1;
    return 0;
}

/* A value as a whole: a number, size or duration ("42", "-1", "3.5ms", "10KB"), a
 * date or time ("2016-09-28", "07:07:00"), a hex id, UUID, MAC or IPv6 address (hex
 * digits and separators only), host:port, a URL or a path. */
/* Whether s holds "://" (a URL); memchr finds the rare ':' fast. */
static int has_scheme(const char *s, size_t n)
{
    for (const char *c = memchr(s, ':', n); c; c = memchr(c + 1, ':', (size_t)(s + n - c - 1)))
        if (c + 2 < s + n && c[1] == '/' && c[2] == '/')
            return 1;
    return 0;
}

static int is_whole_value(const char *s, size_t n, size_t digits)
{
    if (is_digit(s[0]) || (n > 1 && (s[0] == '-' || s[0] == '+' || s[0] == '.') && is_digit(s[1])))
        return 1;
    if (is_path(s, n) || is_date_word(s, n))
        return 1;
    size_t hexish = 0, colons = 0, i = n;
    for (size_t k = 0; k < n; k++) {
        char c = s[k];
        hexish += is_digit(c) || is_hex_letter(c) || c == ':' || c == '-' || c == '.';
        colons += c == ':';
    }
    if (hexish == n && (n >= 8 || (digits > 0 && colons >= 2))) /* not "db1", "ec2" */
        return 1;
    while (i > 0 && is_digit(s[i - 1]))
        i--;
    return i > 0 && i < n && s[i - 1] == ':'; /* host:port */
}

enum judgement { CONSTANT, WHOLE, DIGIT_RUNS };

/* Units that follow a number as a word of their own ("5.2 KB", "30 ms"). */
static int is_unit_word(const char *s, size_t n)
{
    static const char *const units[] = {"B",  "KB", "MB", "GB", "TB", "KiB", "MiB",  "GiB",  "TiB",
                                        "kB", "ns", "us", "ms", "s",  "sec", "secs", "bytes"};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strlen(units[i]) == n && memcmp(units[i], s, n) == 0)
            return 1;
    return 0;
}

/* How a token core (punctuation stripped) is masked: not at all, as a whole, or only
 * its digit runs (identifiers that embed numbers: "blk_123", "en0", "user42"). */
static enum judgement judge_core(const char *s, size_t n)
{
    size_t digits = 0;
    for (size_t i = 0; i < n; i++)
        digits += is_digit(s[i]);
    if (is_whole_value(s, n, digits))
        return WHOLE;
    return digits ? DIGIT_RUNS : CONSTANT;
}

struct emitter {
    struct cl_masked *out;
    int last_wild; /* the previous token was a bare wildcard */
    /* cl_mask_hash of out->text so far while whole_ok; any token that is not a plain word
     * (emit's general steps may rewrite the text) clears whole_ok. */
    uint64_t whole;
    int whole_ok;
};

static void put(struct cl_masked *o, const char *s, size_t n)
{
    if (n == 0)
        return; /* s may be NULL */
    memcpy(o->text + o->text_len, s, n);
    o->text_len += n;
}

/* Appends one token (prefix, core or "<*>", suffix) unless the token limit is reached. */
static int is_alnum(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_letters(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
            return 0;
    return n > 0;
}

/* Copies s with each run of digits (with its sign: "blk_-42") replaced by "<*>". */
static void put_digit_runs(struct cl_masked *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        int sign =
            s[i] == '-' && i + 1 < n && is_digit(s[i + 1]) && (i == 0 || !is_alnum(s[i - 1]));
        if (!sign && !is_digit(s[i])) {
            o->text[o->text_len++] = s[i++];
            continue;
        }
        i += (size_t)sign;
        while (i < n && is_digit(s[i]))
            i++;
        put(o, "<*>", 3);
    }
}

/* Appends one token: prefix, core judged by how, suffix. */
static void emit(struct emitter *e, const char *pre, size_t npre, const char *core, size_t ncore,
                 enum judgement how, const char *suf, size_t nsuf)
{
    int wild = how == WHOLE;
    struct cl_masked *o = e->out;
    int bare = wild && npre == 0 && nsuf == 0;
    e->whole_ok = 0;
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
        t->word = 0;
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
    else if (how == DIGIT_RUNS)
        put_digit_runs(o, core, ncore);
    else
        put(o, core, ncore);
    put(o, suf, nsuf);
    t->len = (uint32_t)(o->text_len - t->off);
    t->masked = wild || how == DIGIT_RUNS;
    t->word = how == CONSTANT && is_letters(core, ncore);
    if (t->masked && o->n > 1 && t[-1].masked && t[-1].len == t->len &&
        memcmp(o->text + t[-1].off, o->text + t->off, t->len) == 0) {
        /* A list of values of one shape ("blk_<*> blk_<*>", "@<*> @<*>") is one token. */
        o->n--;
        o->text_len = t->off - 1;
        return;
    }
    if (bare) {
        t->hash = CL_MASK_WILD;
    } else {
        t->hash = cl_mask_hash(o->text + t->off, t->len);
        if (t->hash == CL_MASK_WILD)
            t->hash = 1;
    }
    e->last_wild = bare;
}

/* Appends a plain word as a constant token: what emit does for (CONSTANT, no
 * punctuation), without its general steps. */
static void emit_plain(struct emitter *e, const char *s, size_t n, uint64_t hash, uint64_t whole)
{
    e->whole = whole; /* the text's hash with this token, computed by the scan loop too */
    struct cl_masked *o = e->out;
    if (o->n > 0)
        o->text[o->text_len++] = ' ';
    struct cl_mask_token *t = &o->tok[o->n++];
    t->off = (uint32_t)o->text_len;
    memcpy(o->text + o->text_len, s, n);
    o->text_len += n;
    t->len = (uint32_t)n;
    t->masked = 0;
    t->word = 1;
    t->hash = hash; /* cl_mask_hash(s, n), computed by the scan loop */
    if (t->hash == CL_MASK_WILD)
        t->hash = 1;
    e->last_wild = 0;
}

/* How the general rules mask one blank-free token s[0..n): it becomes s[0..npre), then
 * core[0..ncore) masked by how, then s[suf..n). */
struct judged {
    size_t npre, ncore, suf;
    const char *core;
    enum judgement how;
};

static void judge_token(const char *s, size_t n, struct judged *j)
{
    size_t a = 0, b = n;
    while (a < b && is_open_punct(s[a]))
        a++;
    while (b > a && is_close_punct(s[b - 1]))
        b--;
    const char *core = s + a;
    size_t ncore = b - a;
    *j = (struct judged){a, 0, b, NULL, WHOLE};
    if (ncore > 0 && (is_path(core, ncore) || has_scheme(core, ncore)))
        return; /* before key=value: "?a=b" */
    const char *eq = ncore > 1 ? memchr(core + 1, '=', ncore - 1) : NULL;
    if (eq && eq + 1 < core + ncore) { /* key=value: keep "key=" as prefix */
        j->npre = (size_t)(eq + 1 - s);
        return;
    }
    if (ncore == 0 && a > 0 && b < n) /* "()", "[]", "''": an empty value */
        return;
    j->core = core;
    j->ncore = ncore;
    j->how = ncore ? judge_core(core, ncore) : CONSTANT;
}

/* Judges one blank-free token s[0..n) by the general rules and emits it. */
static void emit_general(struct emitter *e, const char *s, size_t n)
{
    struct judged j;
    judge_token(s, n, &j);
    if (j.how == CONSTANT && j.npre == 0 && e->last_wild && is_unit_word(j.core, j.ncore)) {
        /* The unit of the number before it joins it: "5.2 KB," and "93 B," agree. */
        struct cl_masked *o = e->out;
        o->n--;
        o->text_len = o->n ? o->tok[o->n].off - 1 : 0;
        e->last_wild = o->n && o->tok[o->n - 1].hash == CL_MASK_WILD;
        j.how = WHOLE;
    }
    emit(e, s, j.npre, j.core, j.ncore, j.how, s + j.suf, n - j.suf);
}

/* Judges one blank-free token s[0..n) and emits it. classes: the AND of its bytes'
 * classes. A token of letters only (the common case: most tokens are plain words) takes
 * a short path; it gives what the general one gives such a core: no punctuation, path,
 * URL or key=value applies, and only a day or month name or 8 hex letters or more
 * ("deadbeef") is a value. */
static void emit_word(struct emitter *e, const char *s, size_t n, unsigned classes, uint64_t hash,
                      uint64_t whole)
{
    if (classes & C_LETTER) {
        if ((classes & C_HEX && n >= 8) || is_date_word(s, n))
            emit(e, NULL, 0, NULL, 0, WHOLE, NULL, 0);
        else if (!e->last_wild && e->out->n < CL_MASK_MAX_TOKENS)
            emit_plain(e, s, n, hash, whole);
        else
            emit_general(e, s, n); /* a unit after a number, or the token limit */
        return;
    }
    emit_general(e, s, n);
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

/* A quoted string is a value when it holds a blank or a digit; a single quoted word
 * ('Active') is judged like any other word. */
static int quoted_is_value(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (is_blank(s[i]) || is_digit(s[i]))
            return 1;
    return 0;
}

void cl_mask_message(const char *msg, size_t len, struct cl_masked *out)
{
    struct emitter e = {out, 0, FNV_OFFSET, 1};
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
        if (q > 2 && quoted_is_value(msg + i + 1, q - 2)) { /* one variable token */
            size_t j = i + q;
            while (j < len && !is_blank(msg[j]))
                j++;
            emit(&e, NULL, 0, NULL, 0, WHOLE, msg + i + q, j - i - q);
            i = j;
            continue;
        }
        size_t j = i;
        unsigned classes = C_LETTER | C_HEX;
        uint64_t h = FNV_OFFSET; /* the token's cl_mask_hash, for the plain-word path */
        /* ... and the text's, should the token be emitted as it is after one blank (a
         * second, independent multiply chain: it costs the loop no latency) */
        uint64_t w = out->n ? (e.whole ^ ' ') * FNV_PRIME : e.whole;
        for (unsigned c; j < len && !((c = byte_class[(unsigned char)msg[j]]) & C_BLANK); j++) {
            classes &= c;
            h = (h ^ (unsigned char)msg[j]) * FNV_PRIME;
            w = (w ^ (unsigned char)msg[j]) * FNV_PRIME;
        }
        emit_word(&e, msg + i, j - i, classes, h, w);
        i = j;
    }
    out->text_hash = e.whole;
    out->text_hash_ok = e.whole_ok;
}

int cl_mask_plain_head(const char *msg, size_t len, uint64_t hash[2])
{
    if (len > CL_MASK_MAX_BYTES)
        len = CL_MASK_MAX_BYTES;
    size_t i = 0;
    for (int t = 0; t < 2; t++) {
        while (i < len && is_blank(msg[i]))
            i++;
        if (i == len)
            return 0;
        size_t j = i;
        unsigned classes = C_LETTER | C_HEX;
        uint64_t h = FNV_OFFSET;
        for (unsigned c; j < len && !((c = byte_class[(unsigned char)msg[j]]) & C_BLANK); j++) {
            classes &= c;
            h = (h ^ (unsigned char)msg[j]) * FNV_PRIME;
        }
        /* what emit_word sends to emit_plain for the first two tokens (no wildcard before
         * them, far from the token limit); a quote or any other byte is not a letter */
        if (!(classes & C_LETTER) || (classes & C_HEX && j - i >= 8) ||
            is_date_word(msg + i, j - i))
            return 0;
        hash[t] = h == CL_MASK_WILD ? 1 : h;
        i = j;
    }
    return 1;
}

/* ---- the shape key (mask.h) ---- */

#define ONES 0x0101010101010101ULL
#define LOW7 0x7f7f7f7f7f7f7f7fULL
#define HIGHS 0x8080808080808080ULL

/* The high bit of each byte of x that is an ASCII digit, exactly (no carries between
 * bytes: "determine if a word has a byte between m and n"). */
static uint64_t digit_bytes(uint64_t x)
{
    uint64_t low7 = x & LOW7;
    return (ONES * (127 + ('9' + 1)) - low7) & ~x & (low7 + ONES * (127 - ('0' - 1))) & HIGHS;
}

/* The high bit of each byte of x that is a blank (' ', '\t' to '\r': C_BLANK), exactly. */
static uint64_t blank_bytes(uint64_t x)
{
    uint64_t low7 = x & LOW7;
    uint64_t ctl = (ONES * (127 + 0x0e) - low7) & ~x & (low7 + ONES * (127 - 0x08)) & HIGHS;
    uint64_t t = x ^ (ONES * ' ');
    return ctl | ~(((t & LOW7) + LOW7) | t | LOW7);
}

/* The high bit of each byte of x equal to c, exactly. */
static uint64_t bytes_equal(uint64_t x, unsigned char c)
{
    uint64_t t = x ^ (ONES * c);
    return ~(((t & LOW7) + LOW7) | t | LOW7);
}

/* 8 bytes of the message, the first in the low byte (what the masks above assume). */
static uint64_t load8(const char *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    return w;
}

/* The shape key is keyed by a secret drawn once per process, and has two independent
 * 64-bit lanes (the key and its check, both compared by the miner's cache): with a fixed
 * seed a writer of log lines could compute two messages that mask differently but share
 * a key, and hide one in the other's cluster. The cache lives in memory only, so the key
 * need not be stable across processes (pattern ids are cl_mask_hash of templates). */
static uint64_t shape_secret[4];
static pthread_once_t shape_secret_once = PTHREAD_ONCE_INIT;

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void shape_secret_draw(void)
{
    if (getrandom(shape_secret, sizeof shape_secret, 0) == (ssize_t)sizeof shape_secret)
        return;
    /* no getrandom (old kernel, seccomp): weaker, but still differs per process */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ ((uint64_t)getpid() << 16) ^
                 (uint64_t)(uintptr_t)&ts;
    for (int i = 0; i < 4; i++)
        shape_secret[i] = splitmix(&x);
}

/* The key's two lanes: different multipliers, shifts and combining steps. */
struct lanes {
    uint64_t a, b;
};

static void mix(struct lanes *l, uint64_t va, uint64_t vb)
{
    uint64_t a = (l->a ^ va) * 0x9e3779b97f4a7c15ULL;
    uint64_t b = (l->b + vb) * 0xd6e8feb86659fd93ULL;
    l->a = a ^ (a >> 32);
    l->b = b ^ (b >> 29);
}

/* Items of the key are 8 bytes: a word of the message without a digit (so no byte of it
 * is '0'..'9'), or a tagged value whose top byte is a digit, so the two never coincide:
 * '1'..'7' a piece of that many message bytes, '8' a token's masked text. */
#define TAG_PIECE(k) ((uint64_t)('0' + (k)) << 56)
#define TAG_TOKEN ((uint64_t)'8' << 56)
#define LOW56 ((1ULL << 56) - 1)

/* The items of one token by what the mask makes of it: how, and its masked text (one per
 * lane, each keyed by the secret). */
static void token_item(const char *pre, size_t npre, const char *core, size_t ncore,
                       enum judgement how, const char *suf, size_t nsuf, struct lanes *it)
{
    uint64_t h = shape_secret[2] ^ (uint64_t)how, g = shape_secret[3] ^ (uint64_t)how;
#define TOKEN_BYTE(c)                                                                              \
    do {                                                                                           \
        h = (h ^ (c)) * FNV_PRIME;                                                                 \
        g = (g + (c)) * 0xff51afd7ed558ccdULL;                                                     \
        g ^= g >> 33;                                                                              \
    } while (0)
    for (size_t i = 0; i < npre; i++)
        TOKEN_BYTE((unsigned char)pre[i]);
    if (how == WHOLE) {
        TOKEN_BYTE(0x101u); /* the text "<*>" (no byte is 0x101) */
    } else {                /* put_digit_runs's text, each run a 0x101 */
        for (size_t i = 0; i < ncore;) {
            int sign = core[i] == '-' && i + 1 < ncore && is_digit(core[i + 1]) &&
                       (i == 0 || !is_alnum(core[i - 1]));
            if (!sign && !is_digit(core[i])) {
                TOKEN_BYTE((unsigned char)core[i++]);
                continue;
            }
            i += (size_t)sign;
            while (i < ncore && is_digit(core[i]))
                i++;
            TOKEN_BYTE(0x101u);
        }
    }
    TOKEN_BYTE(0x100u); /* where the suffix starts (no byte is 0x100) */
    for (size_t i = 0; i < nsuf; i++)
        TOKEN_BYTE((unsigned char)suf[i]);
#undef TOKEN_BYTE
    it->a = TAG_TOKEN | ((h ^ (h >> 40)) & LOW56);
    it->b = TAG_TOKEN | ((g ^ (g >> 40)) & LOW56);
}

/* The items of the token that holds s[i] (a digit, or a quote that starts a token), and
 * where the token ends (*end). The token is judged as cl_mask_message judges it. */
static void special_token(const char *s, size_t len, size_t i, size_t *end, struct lanes *it)
{
    size_t st = i, j = i;
    while (st > 0 && !is_blank(s[st - 1]))
        st--;
    if (st == i && (s[i] == '"' || s[i] == '\'')) {
        size_t q = quoted_len(s + i, len - i);
        if (q > 2 && quoted_is_value(s + i + 1, q - 2)) { /* as cl_mask_message */
            for (j = i + q; j < len && !is_blank(s[j]);)
                j++;
            *end = j;
            token_item(NULL, 0, NULL, 0, WHOLE, s + i + q, j - i - q, it);
            return;
        }
    }
    int eq = 0, found = 0;
    for (j = st; j < i; j++) /* the token's bytes before the special one */
        eq |= s[j] == '=';
    while (!found && len - j >= 8) { /* its end and any '=', 8 bytes at a time */
        uint64_t w = load8(s + j), blanks = blank_bytes(w), eqs = bytes_equal(w, '=');
        if (blanks) {
            unsigned at = (unsigned)__builtin_ctzll(blanks); /* the blank's high bit */
            eq |= (eqs & ((1ULL << at) - 1)) != 0;
            j += at / 8;
            found = 1;
        } else {
            eq |= eqs != 0;
            j += 8;
        }
    }
    for (; !found && j < len && !is_blank(s[j]); j++)
        eq |= s[j] == '=';
    *end = j;
    const char *t = s + st;
    size_t n = j - st, a = 0, b = n;
    while (a < b && is_open_punct(t[a]))
        a++;
    while (b > a && is_close_punct(t[b - 1]))
        b--;
    /* A core that starts with a digit and holds no '=' is a value as a whole by whichever
     * rule takes it (path, URL, or judge_core): judge_token's answer, sooner. */
    if (!eq && a < b && is_digit(t[a])) {
        token_item(t, a, NULL, 0, WHOLE, t + b, n - b, it);
        return;
    }
    struct judged jd;
    judge_token(t, n, &jd);
    if (jd.how == CONSTANT) /* no digit (a token that starts with a quote): its bytes */
        token_item(t, n, NULL, 0, CONSTANT, NULL, 0, it);
    else
        token_item(t, jd.npre, jd.core, jd.ncore, jd.how, t + jd.suf, n - jd.suf, it);
}

/* The first byte of w (the message's order) that is a digit, or a quote when the message
 * holds one, 0 to 7, or 8 when none is. */
static unsigned first_special(uint64_t w, int quotes)
{
    uint64_t m = digit_bytes(w);
    if (quotes)
        m |= bytes_equal(w, '"') | bytes_equal(w, '\'');
    return m ? (unsigned)__builtin_ctzll(m) / 8 : 8;
}

uint64_t cl_mask_shape_key(const char *s, size_t len, uint64_t *check)
{
    *check = 0;
    if (len > CL_MASK_MAX_BYTES)
        return 0; /* the mask reads the first CL_MASK_MAX_BYTES: lengths would matter */
    pthread_once(&shape_secret_once, shape_secret_draw);
    struct lanes h = {shape_secret[0], shape_secret[1]};
    size_t i = 0;
    int quotes = memchr(s, '"', len) || memchr(s, '\'', len);
    while (i < len) {
        uint64_t w = 0;
        size_t avail = 8;
        unsigned k = 8;
        while (len - i >= 8) { /* the usual case first: 8 bytes without a digit or quote */
            w = load8(s + i);
            if ((k = first_special(w, quotes)) < 8)
                break;
            mix(&h, w, w);
            i += 8;
        }
        if (i == len)
            break;
        if (len - i < 8) {
            avail = len - i;
            if (len >= 8) { /* the tail: the message's last 8 bytes, moved down */
                w = load8(s + len - 8) >> (8 * (8 - avail));
            } else {
                for (size_t b = 0; b < avail; b++)
                    w |= (uint64_t)(unsigned char)s[i + b] << (8 * b);
            }
            k = first_special(w, quotes);
        }
        if (k >= avail) { /* no digit or quote in these bytes */
            uint64_t v = avail == 8 ? w : TAG_PIECE(avail) | w;
            mix(&h, v, v);
            i += avail;
            continue;
        }
        /* The bytes before the token of the special byte, as they are (the token's own
         * bytes count by its masked text, unless an earlier word took its start). */
        unsigned st = k;
        while (st > 0 && !is_blank(s[i + st - 1]))
            st--;
        if (st > 0) {
            uint64_t v = TAG_PIECE(st) | (w & ((1ULL << (8 * st)) - 1));
            mix(&h, v, v);
            i += st;
        }
        if (!is_digit(s[i + k - st]) && i + k - st > 0 && !is_blank(s[i + k - st - 1])) {
            /* a quote inside a token: as it is, with the bytes before it */
            size_t n = k - st + 1; /* 8 only from st 0: then w itself, which has no digit */
            uint64_t v = n == 8 ? w : TAG_PIECE(n) | (w >> (8 * st) & ((1ULL << (8 * n)) - 1));
            mix(&h, v, v);
            i += n;
            continue;
        }
        size_t end;
        struct lanes it;
        special_token(s, len, i + k - st, &end, &it);
        mix(&h, it.a, it.b);
        i = end;
    }
    *check = h.b;
    return h.a ? h.a : 1;
}
