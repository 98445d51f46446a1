/* queue_sqlite_dlq_find.c - finding SQLite DLQ messages by their decimal ids. */
#include "queue_sqlite_int.h"

#include "common.h"

#include <stdio.h>
#include <string.h>

/* Parses a decimal message id ("42", 1 to 18 digits, not 0); returns 0 and *id, or -1. */
static int parse_id(const char *s, int64_t *id)
{
    size_t len = strlen(s);
    if (len == 0 || len > 18 || strspn(s, "0123456789") != len)
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < len; i++)
        v = v * 10 + (s[i] - '0');
    if (v == 0)
        return -1;
    *id = v;
    return 0;
}

/* Lists the one DLQ message after id - 1 and keeps it if it is id: *m (caller frees with
 * cl_msgs_free) or NULL. Returns CL_OK or a queue error. */
static int fetch_one(void *impl, int64_t id, int with_body, struct cl_msg **m)
{
    char after[24], want[24];
    size_t n = 0;
    snprintf(after, sizeof after, "%lld", (long long)(id - 1));
    snprintf(want, sizeof want, "%lld", (long long)id);
    int rc = sq_dlq_list(impl, after, 1, with_body, m, &n);
    if (rc != CL_OK)
        return rc;
    if (n == 1 && strcmp((*m)->id, want) == 0)
        return CL_OK;
    cl_msgs_free(*m, n);
    *m = NULL;
    return CL_OK;
}

int sq_dlq_find(void *impl, const char *const *ids, size_t n, int with_body, struct cl_msg **found)
{
    for (size_t i = 0; i < n; i++)
        found[i] = NULL;
    for (size_t i = 0; i < n; i++) {
        int64_t id;
        if (parse_id(ids[i], &id) != 0)
            continue; /* not an id of this queue: not there */
        int rc = fetch_one(impl, id, with_body, &found[i]);
        if (rc != CL_OK)
            return rc;
    }
    return CL_OK;
}
