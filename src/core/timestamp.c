/* timestamp.c - exact, allocation-free parsing and formatting of record timestamps. */
#include "record.h"

#include <string.h>

/* Accepted range: 0001-01-01T00:00:00.000Z .. 9999-12-31T23:59:59.999Z. */
#define CL_TS_MIN_MS (-62135596800000LL)
#define CL_TS_MAX_MS 253402300799999LL
#define CL_MS_PER_DAY 86400000LL

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil algorithm: O(1), no tables, no libc time functions). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* Inverse of days_from_civil. */
static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)((int64_t)yoe + era * 400 + (*m <= 2));
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int y, unsigned m)
{
    static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Reads exactly n ASCII digits at s; returns -1 if any is not a digit. */
static int read_digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        unsigned c = (unsigned char)s[i] - '0';
        if (c > 9)
            return -1;
        v = v * 10 + (int)c;
    }
    return v;
}

struct ts_fields {
    int year;
    int mon, day, hour, min, sec, ms;
    int offset_min; /* local time minus UTC */
};

/* Parses ".fraction" (any number of digits, at least one) at s[*pos]: keeps the first
 * three digits as milliseconds and truncates the rest. */
static int parse_fraction(const char *s, size_t len, size_t *pos, int *ms)
{
    size_t p = *pos + 1;
    size_t start = p;
    int v = 0;
    while (p < len && (unsigned)((unsigned char)s[p] - '0') <= 9) {
        if (p - start < 3)
            v = v * 10 + (s[p] - '0');
        p++;
    }
    size_t n = p - start;
    if (n == 0)
        return -1;
    for (; n < 3; n++)
        v *= 10;
    *ms = v;
    *pos = p;
    return 0;
}

/* Parses the zone designator at s[pos..len): "", Z, z, +HH, +HHMM or +HH:MM. */
static int parse_offset(const char *s, size_t len, size_t pos, int *offset_min)
{
    *offset_min = 0;
    if (pos == len)
        return 0; /* no designator: UTC */
    if (s[pos] == 'Z' || s[pos] == 'z')
        return pos + 1 == len ? 0 : -1;
    if (s[pos] != '+' && s[pos] != '-')
        return -1;
    int sign = s[pos] == '-' ? -1 : 1;
    size_t rest = len - pos - 1;
    const char *p = s + pos + 1;
    int hh, mm = 0;
    if (rest == 2) {
        hh = read_digits(p, 2);
    } else if (rest == 4) {
        hh = read_digits(p, 2);
        mm = read_digits(p + 2, 2);
    } else if (rest == 5 && p[2] == ':') {
        hh = read_digits(p, 2);
        mm = read_digits(p + 3, 2);
    } else {
        return -1;
    }
    if (hh < 0 || hh > 23 || mm < 0 || mm > 59)
        return -1;
    *offset_min = sign * (hh * 60 + mm);
    return 0;
}

/* Fixed part "YYYY-MM-DD?HH:MM" (16 bytes). */
static int parse_date_time(const char *s, struct ts_fields *f)
{
    if (s[4] != '-' || s[7] != '-' || s[13] != ':')
        return -1;
    if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
        return -1;
    f->year = read_digits(s, 4);
    f->mon = read_digits(s + 5, 2);
    f->day = read_digits(s + 8, 2);
    f->hour = read_digits(s + 11, 2);
    f->min = read_digits(s + 14, 2);
    if (f->year < 1 || f->mon < 1 || f->mon > 12 || f->day < 1)
        return -1;
    if ((unsigned)f->day > days_in_month(f->year, (unsigned)f->mon))
        return -1;
    if (f->hour < 0 || f->hour > 23 || f->min < 0 || f->min > 59)
        return -1;
    return 0;
}

static int parse_rfc3339(const char *s, size_t len, struct ts_fields *f)
{
    if (len < 16 || parse_date_time(s, f) != 0)
        return -1;
    size_t pos = 16;
    f->sec = 0;
    f->ms = 0;
    if (pos < len && s[pos] == ':') {
        if (len - pos < 3 || (f->sec = read_digits(s + pos + 1, 2)) < 0 || f->sec > 60)
            return -1;
        pos += 3;
        if (pos < len && s[pos] == '.' && parse_fraction(s, len, &pos, &f->ms) != 0)
            return -1;
        if (f->sec == 60) { /* leap second: clamp into the last millisecond of :59 */
            f->sec = 59;
            f->ms = 999;
        }
    }
    return parse_offset(s, len, pos, &f->offset_min);
}

static int looks_numeric(const char *s, size_t len)
{
    return len > 0 && (s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) && (len < 5 || s[4] != '-');
}

int cl_parse_timestamp_text(const char *s, size_t len, int64_t *ms)
{
    if (looks_numeric(s, len))
        return cl_parse_timestamp_number(s, len, ms);
    struct ts_fields f;
    if (parse_rfc3339(s, len, &f) != 0)
        return -1;
    int64_t days = days_from_civil(f.year, (unsigned)f.mon, (unsigned)f.day);
    int64_t local_ms =
        days * CL_MS_PER_DAY + ((int64_t)f.hour * 3600 + f.min * 60 + f.sec) * 1000 + f.ms;
    int64_t v = local_ms - (int64_t)f.offset_min * 60000;
    if (v < CL_TS_MIN_MS || v > CL_TS_MAX_MS)
        return -1;
    *ms = v;
    return 0;
}

/* A JSON number split into its significant decimal digits D (no leading zeros) and a
 * power of ten: value = D * 10^exp10. */
struct decimal {
    const char *digits; /* int and fraction digits, possibly with a '.' in between */
    size_t n_int;       /* digits before the '.' (after leading zeros) */
    size_t n_frac;      /* digits after the '.' */
    int64_t exp10;      /* exponent part */
};

static size_t skip_digits(const char *s, size_t len, size_t p)
{
    while (p < len && (unsigned)((unsigned char)s[p] - '0') <= 9)
        p++;
    return p;
}

/* Parses the exponent digits saturating at +-100000 (far beyond any valid epoch). */
static int64_t read_exponent(const char *s, size_t len, size_t *pos, int *ok)
{
    size_t p = *pos;
    int neg = 0;
    if (p < len && (s[p] == '+' || s[p] == '-'))
        neg = s[p++] == '-';
    size_t start = p;
    int64_t e = 0;
    for (; p < len && (unsigned)((unsigned char)s[p] - '0') <= 9; p++)
        if (e < 100000)
            e = e * 10 + (s[p] - '0');
    *ok = p > start;
    *pos = p;
    return neg ? -e : e;
}

/* Strict JSON number grammar without a sign: (0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int parse_decimal(const char *s, size_t len, struct decimal *d)
{
    size_t p = 0;
    if (len == 0 || s[0] < '0' || s[0] > '9' ||
        (s[0] == '0' && len > 1 && s[1] >= '0' && s[1] <= '9'))
        return -1;
    size_t int_end = skip_digits(s, len, 0);
    p = int_end;
    size_t frac_start = p, frac_end = p;
    if (p < len && s[p] == '.') {
        frac_start = p + 1;
        frac_end = skip_digits(s, len, frac_start);
        if (frac_end == frac_start)
            return -1;
        p = frac_end;
    }
    d->exp10 = 0;
    if (p < len && (s[p] == 'e' || s[p] == 'E')) {
        int ok;
        p++;
        d->exp10 = read_exponent(s, len, &p, &ok);
        if (!ok)
            return -1;
    }
    if (p != len)
        return -1;
    size_t lead = 0; /* leading zeros of the integer part ("0" or none) */
    while (lead < int_end && s[lead] == '0')
        lead++;
    d->digits = s + lead;
    d->n_int = int_end - lead;
    d->n_frac = frac_end - frac_start;
    return 0;
}

/* i-th significant digit of d, skipping the '.' between integer and fraction. */
static int decimal_digit(const struct decimal *d, size_t i)
{
    return d->digits[i < d->n_int ? i : i + 1] - '0';
}

/* floor(d * 10^shift), or -1 if it does not fit the timestamp range. Exact: works on
 * the decimal digits, never through floating point. */
static int64_t decimal_scaled(const struct decimal *d, int64_t shift)
{
    size_t n = d->n_int + d->n_frac;
    /* Digits of the result before its decimal point. */
    int64_t t = (int64_t)d->n_int + d->exp10 + shift;
    if (t <= 0)
        return 0;
    if (t > 16)
        return -1;
    int64_t v = 0;
    for (int64_t i = 0; i < t; i++)
        v = v * 10 + ((size_t)i < n ? decimal_digit(d, (size_t)i) : 0);
    return v;
}

/* Number of integer digits of the value (0 when it is below 1), ignoring leading zeros
 * of the fraction. Values with only zeros have 0. */
static int64_t decimal_int_digits(const struct decimal *d)
{
    if (d->n_int > 0)
        return (int64_t)d->n_int + d->exp10;
    size_t z = 0; /* leading zeros of the fraction */
    while (z < d->n_frac && d->digits[1 + z] == '0')
        z++;
    if (z == d->n_frac)
        return 0;
    return d->exp10 - (int64_t)z;
}

int cl_parse_timestamp_number(const char *s, size_t len, int64_t *ms)
{
    struct decimal d;
    if (len == 0 || s[0] == '-' || parse_decimal(s, len, &d) != 0)
        return -1;
    /* |x| < 1e11 -> seconds, < 1e14 -> ms, < 1e17 -> us, else ns. */
    int64_t ip = decimal_int_digits(&d);
    int64_t shift = ip <= 11 ? 3 : ip <= 14 ? 0 : ip <= 17 ? -3 : -6;
    int64_t v = decimal_scaled(&d, shift);
    if (v < 0 || v > CL_TS_MAX_MS)
        return -1;
    *ms = v;
    return 0;
}

static void put2(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

void cl_format_timestamp(int64_t ms, char out[25])
{
    int64_t days = ms / CL_MS_PER_DAY;
    int64_t rem = ms % CL_MS_PER_DAY;
    if (rem < 0) {
        rem += CL_MS_PER_DAY;
        days--;
    }
    /* Records of one request mostly share a day: keep the last date text. */
    static __thread int64_t cached_days = INT64_MIN;
    static __thread char cached_date[11];
    if (days != cached_days) {
        int y;
        unsigned m, d;
        civil_from_days(days, &y, &m, &d);
        put2(cached_date, (unsigned)y / 100 % 100);
        put2(cached_date + 2, (unsigned)y % 100);
        cached_date[4] = '-';
        put2(cached_date + 5, m);
        cached_date[7] = '-';
        put2(cached_date + 8, d);
        cached_date[10] = 'T';
        cached_days = days;
    }
    memcpy(out, cached_date, 11);
    unsigned msec = (unsigned)(rem % 1000);
    unsigned secs = (unsigned)(rem / 1000);
    put2(out + 11, secs / 3600);
    out[13] = ':';
    put2(out + 14, secs / 60 % 60);
    out[16] = ':';
    put2(out + 17, secs % 60);
    out[19] = '.';
    out[20] = (char)('0' + msec / 100);
    put2(out + 21, msec % 100);
    out[23] = 'Z';
    out[24] = '\0';
}
