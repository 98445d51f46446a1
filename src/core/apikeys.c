/* apikeys.c - API keys, compared as SHA-256 digests with CRYPTO_memcmp.
 *
 * Hashing first makes every comparison the same length whatever the key lengths, and
 * CRYPTO_memcmp does not stop at the first differing byte, so response timing reveals
 * nothing about a key's prefix or length. */
#include "apikeys.h"

#include "cl_limits.h"
#include "common.h"
#include "units.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct cl_api_keys {
    unsigned char (*digests)[SHA256_DIGEST_LENGTH];
    struct cl_api_key_info *info;
    size_t n;
    atomic_int refs;
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

static int valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > CL_API_KEY_NAME_MAX)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '.' && *s != '_' && *s != '-')
            return 0;
    return 1;
}

/* A limit: a positive number (records/s) or size (bytes/s). 0, or -1 if invalid. */
static int parse_rate(const char *v, int bytes, double *out)
{
    uint64_t size;
    char *end;
    if (bytes) {
        if (cl_parse_size(v, &size) != 0 || size == 0)
            return -1;
        *out = (double)size;
        return 0;
    }
    errno = 0;
    *out = strtod(v, &end);
    return errno || end == v || *end || !(*out > 0) || *out > 1e12 ? -1 : 0;
}

/* One field after the secret: name=, records_per_s= or bytes_per_s=. 0, or -1. */
static int parse_field(struct cl_api_key_info *info, char *field, const char *where, char *err,
                       size_t err_len)
{
    char *eq = strchr(field, '=');
    if (eq)
        *eq = '\0';
    const char *v = eq ? eq + 1 : "";
    int rc = -1;
    if (eq && strcmp(field, "name") == 0 && valid_name(v))
        rc = snprintf(info->name, sizeof info->name, "%s", v) > 0 ? 0 : -1;
    else if (eq && strcmp(field, "records_per_s") == 0)
        rc = parse_rate(v, 0, &info->records_per_s);
    else if (eq && strcmp(field, "bytes_per_s") == 0)
        rc = parse_rate(v, 1, &info->bytes_per_s);
    int known = eq && (strcmp(field, "name") == 0 || strcmp(field, "records_per_s") == 0 ||
                       strcmp(field, "bytes_per_s") == 0);
    /* An unknown field is not shown: it may be a second key written on the same line. */
    if (rc != 0 && !known)
        snprintf(err, err_len,
                 "%s: an unknown field after the key (not shown: it may be a key; one key "
                 "per line, then name=, records_per_s= or bytes_per_s=)",
                 where);
    else if (rc != 0)
        snprintf(err, err_len,
                 "%s: invalid field '%.40s=%.40s' (expected name=[A-Za-z0-9._-]{1,64}, "
                 "records_per_s=N or bytes_per_s=SIZE, N and SIZE above 0)",
                 where, field, v);
    return rc;
}

/* Adds the key a line or list item describes (trimmed, not empty). 0, or -1 with err
 * set ("where" names the line or item). */
static int add_key(struct cl_api_keys *k, char *line, const char *where, char *err, size_t err_len)
{
    char *save = NULL;
    char *secret = strtok_r(line, " \t", &save);
    if (strlen(secret) > CL_MAX_API_KEY) {
        snprintf(err, err_len, "%s is longer than %d bytes", where, CL_MAX_API_KEY);
        return -1;
    }
    struct cl_api_key_info info = {.name = ""};
    snprintf(info.name, sizeof info.name, "key%zu", k->n + 1);
    for (char *f = strtok_r(NULL, " \t", &save); f; f = strtok_r(NULL, " \t", &save))
        if (parse_field(&info, f, where, err, err_len) != 0)
            return -1;
    for (size_t i = 0; i < k->n; i++)
        if (strcmp(k->info[i].name, info.name) == 0) {
            snprintf(err, err_len, "%s: the name '%s' is given to two keys", where, info.name);
            return -1;
        }
    k->digests = cl_realloc(k->digests, (k->n + 1) * sizeof *k->digests);
    k->info = cl_realloc(k->info, (k->n + 1) * sizeof *k->info);
    SHA256((const unsigned char *)secret, strlen(secret), k->digests[k->n]);
    k->info[k->n++] = info;
    return 0;
}

static struct cl_api_keys *new_keys(void)
{
    struct cl_api_keys *k = cl_calloc(1, sizeof *k);
    atomic_init(&k->refs, 1);
    return k;
}

/* Frees k at once (it was never shared) and returns NULL. */
static struct cl_api_keys *discard(struct cl_api_keys *k)
{
    cl_api_keys_free(k);
    return NULL;
}

struct cl_api_keys *cl_api_keys_load(const char *path, char *err, size_t err_len)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, err_len, "cannot read API key file %s: %s", path, strerror(errno));
        return NULL;
    }
    struct cl_api_keys *k = new_keys();
    char *line = NULL, where[4200];
    size_t cap = 0, line_no = 0;
    int bad = 0;
    /* getline reads a line whole, however long: a key is never split in two. */
    while (!bad && getline(&line, &cap, f) >= 0) {
        char *key = trim(line);
        line_no++;
        snprintf(where, sizeof where, "API key file %s: the key on line %zu", path, line_no);
        if (*key && *key != '#')
            bad = add_key(k, key, where, err, err_len) != 0;
    }
    if (line)
        OPENSSL_cleanse(line, cap);
    free(line);
    fclose(f);
    if (bad)
        return discard(k);
    if (k->n == 0) {
        snprintf(err, err_len, "API key file %s holds no key", path);
        return discard(k);
    }
    return k;
}

struct cl_api_keys *cl_api_keys_parse(const char *list, char *err, size_t err_len)
{
    struct cl_api_keys *k = new_keys();
    char *copy = cl_strdup(list ? list : ""), *save = NULL, where[64];
    size_t item_no = 0;
    int bad = 0;
    for (char *item = strtok_r(copy, ",", &save); item && !bad; item = strtok_r(NULL, ",", &save)) {
        char *key = trim(item);
        item_no++;
        snprintf(where, sizeof where, "API key number %zu of the list", item_no);
        if (*key)
            bad = add_key(k, key, where, err, err_len) != 0;
    }
    OPENSSL_cleanse(copy, strlen(list ? list : ""));
    free(copy);
    if (bad)
        return discard(k);
    if (k->n == 0) {
        snprintf(err, err_len, "the API key list holds no key");
        return discard(k);
    }
    return k;
}

struct cl_api_keys *cl_api_keys_ref(struct cl_api_keys *k)
{
    if (k)
        atomic_fetch_add(&k->refs, 1);
    return k;
}

void cl_api_keys_free(struct cl_api_keys *k)
{
    if (!k || atomic_fetch_sub(&k->refs, 1) > 1)
        return;
    OPENSSL_cleanse(k->digests, k->n * sizeof *k->digests);
    free(k->digests);
    free(k->info);
    free(k);
}

size_t cl_api_keys_count(const struct cl_api_keys *k)
{
    return k ? k->n : 0;
}

const struct cl_api_key_info *cl_api_keys_at(const struct cl_api_keys *k, size_t i)
{
    return k && i < k->n ? &k->info[i] : NULL;
}

/* The index of key[0..len) among the keys, or -1; every key is compared, never stopping
 * early, and the index is chosen without a branch on the comparison. */
static int key_matches(const struct cl_api_keys *k, const char *key, size_t len)
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)key, len, d);
    int found = -1;
    for (size_t i = 0; i < k->n; i++) {
        int eq = CRYPTO_memcmp(d, k->digests[i], sizeof d) == 0;
        found = (int)((unsigned)found & (unsigned)(eq - 1)) | ((int)i & -eq);
    }
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
 * sent, or the key of Elasticsearch's base64(id:key). Returns the key's index or -1. */
static int decoded_matches(const struct cl_api_keys *k, const char *v, size_t len, int whole_too)
{
    char *buf = cl_calloc(1, len + 1);
    size_t n;
    int found = -1;
    if (base64_decode(v, len, buf, &n) == 0) {
        const char *colon = memchr(buf, ':', n);
        if (colon)
            found = key_matches(k, colon + 1, n - (size_t)(colon + 1 - buf));
    }
    if (whole_too) {
        int whole = key_matches(k, v, len);
        found = found >= 0 ? found : whole;
    }
    OPENSSL_cleanse(buf, len + 1);
    free(buf);
    return found;
}

int cl_api_keys_match(const struct cl_api_keys *k, const char *authorization)
{
    size_t len;
    const char *v;
    if (!k || !authorization)
        return -1;
    if ((v = credential(authorization, "Bearer", &len)) ||
        (v = credential(authorization, "Splunk", &len)))
        return key_matches(k, v, len);
    if ((v = credential(authorization, "Basic", &len)))
        return decoded_matches(k, v, len, 0);
    if ((v = credential(authorization, "ApiKey", &len)))
        return decoded_matches(k, v, len, 1);
    return -1;
}

int cl_api_keys_check(const struct cl_api_keys *k, const char *authorization)
{
    return cl_api_keys_match(k, authorization) >= 0;
}
