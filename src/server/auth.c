/* auth.c - API keys, compared as SHA-256 digests with CRYPTO_memcmp.
 *
 * Hashing first makes every comparison the same length whatever the key lengths, and
 * CRYPTO_memcmp does not stop at the first differing byte, so response timing reveals
 * nothing about a key's prefix or length. */
#include "auth.h"

#include "cl_limits.h"
#include "common.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct cl_api_keys {
    unsigned char (*digests)[SHA256_DIGEST_LENGTH];
    size_t n;
};

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t len = strlen(s);
    while (len && isspace((unsigned char)s[len - 1]))
        s[--len] = '\0';
    return s;
}

static void add_key(struct cl_api_keys *k, const char *key)
{
    k->digests = cl_realloc(k->digests, (k->n + 1) * sizeof *k->digests);
    SHA256((const unsigned char *)key, strlen(key), k->digests[k->n++]);
}

struct cl_api_keys *cl_api_keys_load(const char *path, char *err, size_t err_len)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, err_len, "cannot read API key file %s: %s", path, strerror(errno));
        return NULL;
    }
    struct cl_api_keys *k = cl_calloc(1, sizeof *k);
    char *line = NULL;
    size_t cap = 0, line_no = 0;
    int too_long = 0;
    /* getline reads a line whole, however long: a key is never split in two. */
    while (!too_long && getline(&line, &cap, f) >= 0) {
        char *key = trim(line);
        line_no++;
        if (!*key || *key == '#')
            continue;
        too_long = strlen(key) > CL_MAX_API_KEY;
        if (!too_long)
            add_key(k, key);
    }
    if (line)
        OPENSSL_cleanse(line, cap);
    free(line);
    fclose(f);
    if (too_long) {
        snprintf(err, err_len, "API key file %s: the key on line %zu is longer than %d bytes", path,
                 line_no, CL_MAX_API_KEY);
        cl_api_keys_free(k);
        return NULL;
    }
    if (k->n == 0) {
        snprintf(err, err_len, "API key file %s holds no key", path);
        cl_api_keys_free(k);
        return NULL;
    }
    return k;
}

struct cl_api_keys *cl_api_keys_parse(const char *list, char *err, size_t err_len)
{
    struct cl_api_keys *k = cl_calloc(1, sizeof *k);
    char *copy = cl_strdup(list ? list : ""), *save = NULL;
    size_t item_no = 0;
    int too_long = 0;
    for (char *item = strtok_r(copy, ",", &save); item && !too_long;
         item = strtok_r(NULL, ",", &save)) {
        char *key = trim(item);
        item_no++;
        too_long = strlen(key) > CL_MAX_API_KEY;
        if (*key && !too_long)
            add_key(k, key);
    }
    OPENSSL_cleanse(copy, strlen(list ? list : ""));
    free(copy);
    if (too_long) {
        snprintf(err, err_len, "API key number %zu of the list is longer than %d bytes", item_no,
                 CL_MAX_API_KEY);
        cl_api_keys_free(k);
        return NULL;
    }
    if (k->n == 0) {
        snprintf(err, err_len, "the API key list holds no key");
        cl_api_keys_free(k);
        return NULL;
    }
    return k;
}

void cl_api_keys_free(struct cl_api_keys *k)
{
    if (!k)
        return;
    OPENSSL_cleanse(k->digests, k->n * sizeof *k->digests);
    free(k->digests);
    free(k);
}

size_t cl_api_keys_count(const struct cl_api_keys *k)
{
    return k ? k->n : 0;
}

/* 1 if key[0..len) is one of the keys; every key is compared, never stopping early. */
static int key_matches(const struct cl_api_keys *k, const char *key, size_t len)
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)key, len, d);
    int found = 0;
    for (size_t i = 0; i < k->n; i++)
        found |= CRYPTO_memcmp(d, k->digests[i], sizeof d) == 0;
    OPENSSL_cleanse(d, sizeof d);
    return found;
}

/* Decodes standard base64 s[0..len) into out (room for len bytes); -1 if invalid. */
static int base64_decode(const char *s, size_t len, char *out, size_t *out_len)
{
    if (len == 0 || len % 4 != 0 || len > INT_MAX)
        return -1;
    int n = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)s, (int)len);
    if (n < 0)
        return -1;
    size_t pad = (s[len - 1] == '=') + (s[len - 2] == '=');
    *out_len = (size_t)n - pad;
    return 0;
}

/* The credential after the scheme, trimmed of spaces; NULL if the scheme differs. */
static const char *credential(const char *auth, const char *scheme, size_t *len)
{
    size_t n = strlen(scheme);
    if (strncasecmp(auth, scheme, n) != 0 || auth[n] != ' ')
        return NULL;
    const char *v = auth + n + 1;
    while (*v == ' ')
        v++;
    *len = strlen(v);
    while (*len && v[*len - 1] == ' ')
        (*len)--;
    return *len ? v : NULL;
}

/* Basic: the password of base64(user:password) is the key. ApiKey: the credential as
 * sent, or the key of Elasticsearch's base64(id:key). */
static int decoded_matches(const struct cl_api_keys *k, const char *v, size_t len, int whole_too)
{
    char *buf = cl_calloc(1, len + 1);
    size_t n;
    int found = 0;
    if (base64_decode(v, len, buf, &n) == 0) {
        const char *colon = memchr(buf, ':', n);
        if (colon)
            found = key_matches(k, colon + 1, n - (size_t)(colon + 1 - buf));
    }
    if (whole_too)
        found |= key_matches(k, v, len);
    OPENSSL_cleanse(buf, len + 1);
    free(buf);
    return found;
}

int cl_api_keys_check(const struct cl_api_keys *k, const char *authorization)
{
    size_t len;
    const char *v;
    if (!authorization)
        return 0;
    if ((v = credential(authorization, "Bearer", &len)) ||
        (v = credential(authorization, "Splunk", &len)))
        return key_matches(k, v, len);
    if ((v = credential(authorization, "Basic", &len)))
        return decoded_matches(k, v, len, 0);
    if ((v = credential(authorization, "ApiKey", &len)))
        return decoded_matches(k, v, len, 1);
    return 0;
}
