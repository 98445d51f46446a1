/* apikeys.h - API keys: loading, names and per-key limits, constant-time checking.
 *
 * Shared by the daemon's HTTP routes and the Lambda ingestor (which must not link the
 * server), so both check keys the same way. */
#ifndef CL_APIKEYS_H
#define CL_APIKEYS_H

#include <stddef.h>

struct cl_api_keys;

#define CL_API_KEY_NAME_MAX 64 /* a key name: [A-Za-z0-9._-]{1,64} */

/* What is known about one key besides its secret. A limit of 0 means unlimited. */
struct cl_api_key_info {
    char name[CL_API_KEY_NAME_MAX + 1];
    double records_per_s; /* accepted records per second (token bucket) */
    double bytes_per_s;   /* request body bytes per second (token bucket) */
};

/* Loads keys from path, one per line: SECRET [name=NAME] [records_per_s=N] [bytes_per_s=SIZE]
 * (fields separated by spaces or tabs; SIZE as cl_parse_size, e.g. 10MiB). Blank lines and
 * lines starting with '#' are ignored. A key without name= is called keyN (N its position
 * among the keys, from 1). Returns NULL with err set if the file cannot be read, holds no
 * key, a key longer than CL_MAX_API_KEY (1024) bytes, an unknown or invalid field, or a
 * name twice. Caller frees with cl_api_keys_free. */
struct cl_api_keys *cl_api_keys_load(const char *path, char *err, size_t err_len);
/* Builds keys from a comma-separated list (items trimmed, empty items skipped), as the
 * Lambda ingestor's CLOUDLOG_API_KEYS gives them: each item is one line of the key
 * file's format. Returns NULL with err set as cl_api_keys_load. Caller frees with
 * cl_api_keys_free. */
struct cl_api_keys *cl_api_keys_parse(const char *list, char *err, size_t err_len);
/* Reference counting: keys swapped by a reload stay valid for the requests holding them.
 * cl_api_keys_ref adds a holder (returns k); cl_api_keys_free drops one and frees the
 * keys when none is left. Thread-safe. */
struct cl_api_keys *cl_api_keys_ref(struct cl_api_keys *k);
void cl_api_keys_free(struct cl_api_keys *k);
size_t cl_api_keys_count(const struct cl_api_keys *k);
/* Key i (0 <= i < count): its name and limits, valid while k is held. */
const struct cl_api_key_info *cl_api_keys_at(const struct cl_api_keys *k, size_t i);

/* Checks an Authorization header value in one of the forms shippers send: "Bearer <key>",
 * "Splunk <key>" (HEC), "Basic base64(user:<key>)" (any user name), "ApiKey <key>" or
 * "ApiKey base64(id:<key>)" (Elasticsearch clients). Returns the index of the key it
 * names, or -1. The time taken does not depend on how much of a key matches. */
int cl_api_keys_match(const struct cl_api_keys *k, const char *authorization);
/* 1 if cl_api_keys_match finds a key, else 0. */
int cl_api_keys_check(const struct cl_api_keys *k, const char *authorization);

#endif
