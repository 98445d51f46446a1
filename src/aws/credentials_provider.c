/* credentials_provider.c - the credential chain resolved once, refreshed before expiry. */
#include "credentials.h"
#include "credentials_remote.h"

#include "common.h"
#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A failed refresh is not retried sooner than this, so signing is not slowed by an
 * unreachable endpoint on every request while the old credentials are still valid. */
#define CRED_RETRY_AFTER_FAIL_S 10

typedef int (*cred_fetch_fn)(struct cl_aws_credentials *out, char *err, size_t err_len);

struct cl_aws_cred_provider {
    pthread_mutex_t lock;
    cred_fetch_fn fetch; /* the source that answered; used again for refreshes */
    struct cl_aws_credentials cur;
    time_t next_try; /* earliest time of the next refresh attempt after a failure */
};

/* The chain in the SDKs' order. Each returns CL_ERR_NOT_FOUND when it has nothing, so the
 * next is tried; any other error (a half-configured source) stops the chain. */
static const cred_fetch_fn chain[] = {
    cl_aws_credentials_resolve, /* environment, shared credentials file, config file */
    cl_aws_creds_from_container,
    cl_aws_creds_from_imds,
};

struct cl_aws_cred_provider *cl_aws_cred_provider_new(char *err, size_t err_len)
{
    char scratch[8];
    if (!err || !err_len) { /* the sources write their reasons unconditionally */
        err = scratch;
        err_len = sizeof scratch;
    }
    struct cl_aws_cred_provider *p = cl_calloc(1, sizeof *p);
    int rc = CL_ERR_NOT_FOUND;
    for (size_t i = 0; i < CL_ARRAY_LEN(chain) && rc == CL_ERR_NOT_FOUND; i++) {
        rc = chain[i](&p->cur, err, err_len);
        p->fetch = chain[i];
    }
    if (rc == CL_ERR_NOT_FOUND) {
        char last[256]; /* why the last source (IMDS) had nothing */
        snprintf(last, sizeof last, "%s", err);
        snprintf(err, err_len,
                 "no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile in "
                 "~/.aws/credentials or ~/.aws/config (AWS_PROFILE), "
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/FULL_URI, or run on EC2 with an "
                 "instance role (%s)",
                 last);
    }
    if (rc != CL_OK) {
        cl_aws_credentials_free(&p->cur);
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    cl_log(CL_LOG_DEBUG, "aws: credentials from %s", p->cur.source);
    return p;
}

/* Replaces p->cur from its source when it expires within the refresh window. Returns
 * CL_OK when p->cur is usable afterwards. Called with p->lock held. */
static int provider_refresh(struct cl_aws_cred_provider *p, char *err, size_t err_len)
{
    time_t now = time(NULL);
    if (p->cur.expiration == 0 || p->cur.expiration - now > CL_AWS_CRED_REFRESH_WINDOW_S)
        return CL_OK;
    int still_valid = p->cur.expiration > now;
    if (still_valid && now < p->next_try)
        return CL_OK;
    struct cl_aws_credentials fresh;
    memset(&fresh, 0, sizeof fresh);
    char why[512] = "";
    int rc = p->fetch(&fresh, why, sizeof why);
    if (rc == CL_OK) {
        cl_aws_credentials_free(&p->cur);
        p->cur = fresh;
        p->next_try = 0;
        cl_log(CL_LOG_DEBUG, "aws: refreshed credentials from %s", p->cur.source);
        return CL_OK;
    }
    p->next_try = now + CRED_RETRY_AFTER_FAIL_S;
    if (still_valid) {
        cl_log(CL_LOG_WARN,
               "aws: refreshing credentials from %s failed (%s); using the current ones, "
               "valid for %lds more",
               p->cur.source, why, (long)(p->cur.expiration - now));
        return CL_OK;
    }
    if (err && err_len)
        snprintf(err, err_len, "credentials from %s expired and refreshing failed: %s",
                 p->cur.source, why);
    return rc == CL_ERR_NOT_FOUND ? CL_ERR_IO : rc;
}

static char *dup_or_null(const char *s)
{
    return s ? cl_strdup(s) : NULL;
}

int cl_aws_cred_provider_get(struct cl_aws_cred_provider *p, struct cl_aws_credentials *out,
                             char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&p->lock);
    int rc = provider_refresh(p, err, err_len);
    if (rc == CL_OK) {
        out->access_key_id = cl_strdup(p->cur.access_key_id);
        out->secret_access_key = cl_strdup(p->cur.secret_access_key);
        out->session_token = dup_or_null(p->cur.session_token);
        memcpy(out->source, p->cur.source, sizeof out->source);
        out->expiration = p->cur.expiration;
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

void cl_aws_cred_provider_free(struct cl_aws_cred_provider *p)
{
    if (!p)
        return;
    pthread_mutex_destroy(&p->lock);
    cl_aws_credentials_free(&p->cur);
    free(p);
}
