/* base64.c - standard padded base64 (base64.h). */
#include "base64.h"

#include <stdint.h>

static const char ALPHABET[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t cl_base64_encoded_len(size_t n)
{
    return 4 * ((n + 2) / 3);
}

size_t cl_base64_encode(char *out, const void *in, size_t n)
{
    const unsigned char *s = in;
    char *o = out;
    size_t i = 0;
    for (; i + 3 <= n; i += 3, o += 4) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        o[0] = ALPHABET[v >> 18];
        o[1] = ALPHABET[(v >> 12) & 63];
        o[2] = ALPHABET[(v >> 6) & 63];
        o[3] = ALPHABET[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0);
        o[0] = ALPHABET[v >> 18];
        o[1] = ALPHABET[(v >> 12) & 63];
        o[2] = i + 1 < n ? ALPHABET[(v >> 6) & 63] : '=';
        o[3] = '=';
        o += 4;
    }
    *o = '\0';
    return (size_t)(o - out);
}

/* The 6-bit value of c, or -1 outside the alphabet ('=' included). */
static int sextet(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    return c == '/' ? 63 : -1;
}

/* Decodes one group of 4 characters, the last `pad` of them '='; -1 if invalid. */
static int decode_group(unsigned char *o, const char *t, int pad)
{
    int a = sextet((unsigned char)t[0]), b = sextet((unsigned char)t[1]);
    int c = pad >= 2 ? 0 : sextet((unsigned char)t[2]);
    int d = pad >= 1 ? 0 : sextet((unsigned char)t[3]);
    if ((a | b | c | d) < 0)
        return -1;
    uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
    o[0] = (unsigned char)(v >> 16);
    if (pad < 2)
        o[1] = (unsigned char)(v >> 8);
    if (pad < 1)
        o[2] = (unsigned char)v;
    return 3 - pad;
}

long cl_base64_decode(void *out, const char *text, size_t len)
{
    if (len % 4 != 0)
        return -1;
    unsigned char *o = out;
    size_t w = 0;
    for (size_t i = 0; i < len; i += 4) {
        int pad = 0;
        if (i + 4 == len)
            pad = (text[i + 3] == '=') + (text[i + 3] == '=' && text[i + 2] == '=');
        int got = decode_group(o + w, text + i, pad);
        if (got < 0)
            return -1;
        w += (size_t)got;
    }
    return (long)w;
}
