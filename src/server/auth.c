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

int cl_api_keys_check(const struct cl_api_keys *k, const char *authorization)
{
    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
        return 0;
    const char *key = authorization + 7;
    while (*key == ' ')
        key++;
    size_t len = strlen(key);
    while (len && key[len - 1] == ' ')
        len--;
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)key, len, d);
    int found = 0;
    /* Check every key, never stopping early. */
    for (size_t i = 0; i < k->n; i++)
        found |= CRYPTO_memcmp(d, k->digests[i], sizeof d) == 0;
    return found;
}
