/* auth.h - API keys for the HTTP API: loading and constant-time checking. */
#ifndef CL_AUTH_H
#define CL_AUTH_H

#include <stddef.h>

struct cl_api_keys;

/* Loads keys from path: one per line; blank lines and lines starting with '#' are
 * ignored; surrounding whitespace is trimmed. Returns NULL with err set if the file
 * cannot be read, holds no key, or holds a key longer than CL_MAX_API_KEY (1024) bytes.
 * Caller frees with cl_api_keys_free. */
struct cl_api_keys *cl_api_keys_load(const char *path, char *err, size_t err_len);
/* Builds keys from a comma-separated list (items trimmed, empty items skipped), as the
 * Lambda ingestor's CLOUDLOG_API_KEYS gives them. Returns NULL with err set if the list
 * holds no key or a key longer than CL_MAX_API_KEY bytes. Caller frees with
 * cl_api_keys_free. */
struct cl_api_keys *cl_api_keys_parse(const char *list, char *err, size_t err_len);
void cl_api_keys_free(struct cl_api_keys *k);
size_t cl_api_keys_count(const struct cl_api_keys *k);

/* Checks an Authorization header value in one of the forms shippers send: "Bearer <key>",
 * "Splunk <key>" (HEC), "Basic base64(user:<key>)" (any user name), "ApiKey <key>" or
 * "ApiKey base64(id:<key>)" (Elasticsearch clients). Returns 1 if it names a configured
 * key. The time taken does not depend on how much of a key matches. */
int cl_api_keys_check(const struct cl_api_keys *k, const char *authorization);

#endif
