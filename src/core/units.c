/* units.c - sizes and durations as people write them in flags and env vars. */
#include "units.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Parses leading decimal digits; returns the number of characters consumed, 0 if none
 * or on overflow. */
static size_t parse_digits(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;
    for (; isdigit((unsigned char)s[i]); i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    *out = v;
    return i;
}

struct unit {
    const char *name;
    uint64_t mult;
};

static int lookup_unit(const char *suffix, const struct unit *units, size_t n, uint64_t *mult)
{
    for (size_t i = 0; i < n; i++) {
        if (strcasecmp(suffix, units[i].name) == 0) {
            *mult = units[i].mult;
            return 0;
        }
    }
    return -1;
}

static int parse_with_units(const char *s, const struct unit *units, size_t n, uint64_t *out)
{
    uint64_t v, mult;
    size_t used = parse_digits(s, &v);
    if (used == 0 || lookup_unit(s + used, units, n, &mult) != 0)
        return -1;
    if (mult && v > UINT64_MAX / mult)
        return -1;
    *out = v * mult;
    return 0;
}

int cl_parse_size(const char *s, uint64_t *out)
{
    static const struct unit units[] = {
        {"", 1},
        {"b", 1},
        {"k", 1ull << 10},
        {"kb", 1ull << 10},
        {"kib", 1ull << 10},
        {"m", 1ull << 20},
        {"mb", 1ull << 20},
        {"mib", 1ull << 20},
        {"g", 1ull << 30},
        {"gb", 1ull << 30},
        {"gib", 1ull << 30},
        {"t", 1ull << 40},
        {"tb", 1ull << 40},
        {"tib", 1ull << 40},
    };
    return parse_with_units(s, units, sizeof units / sizeof units[0], out);
}

int cl_parse_duration_ms(const char *s, int64_t *out)
{
    static const struct unit units[] = {
        {"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000},
    };
    uint64_t v;
    if (parse_with_units(s, units, sizeof units / sizeof units[0], &v) != 0 || v > INT64_MAX)
        return -1;
    *out = (int64_t)v;
    return 0;
}

void cl_format_duration(int64_t ms, char *out, unsigned out_len)
{
    static const struct unit units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (ms != 0 && ms % (int64_t)units[i].mult == 0) {
            snprintf(out, out_len, "%lld%s", (long long)(ms / (int64_t)units[i].mult),
                     units[i].name);
            return;
        }
    snprintf(out, out_len, "%lldms", (long long)ms);
}

void cl_format_size(uint64_t n, char *out, unsigned out_len)
{
    static const char *const names[] = {"", "KiB", "MiB", "GiB", "TiB"};
    unsigned i = 0;
    while (i < 4 && n && n % 1024 == 0) {
        n /= 1024;
        i++;
    }
    snprintf(out, out_len, "%llu%s", (unsigned long long)n, names[i]);
}
