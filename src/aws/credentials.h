/* credentials.h - AWS credentials (environment, shared files, container endpoint, IMDSv2)
 * with a refreshing provider, and the region. */
#ifndef CL_AWS_CREDENTIALS_H
#define CL_AWS_CREDENTIALS_H

#include <stddef.h>
#include <time.h>

/* Resolved credentials; owns its strings (release with cl_aws_credentials_free). */
struct cl_aws_credentials {
    char *access_key_id;
    char *secret_access_key;
    char *session_token; /* NULL for long-term keys */
    char source[64];     /* "environment", "shared credentials file", "config file",
                            "container endpoint", "EC2 instance metadata" */
    time_t expiration;   /* 0 for credentials that do not expire */
};

void cl_aws_credentials_free(struct cl_aws_credentials *c);

/* Resolves credentials in the SDKs' order, the parts that need no HTTP client:
 * 1. AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN);
 * 2. profile AWS_PROFILE (else "default") in AWS_SHARED_CREDENTIALS_FILE (else
 *    ~/.aws/credentials), section [name];
 * 3. the same profile in AWS_CONFIG_FILE (else ~/.aws/config), section [profile name]
 *    ([default] for default).
 * Returns CL_OK with *out filled (caller frees), CL_ERR_NOT_FOUND when no source has
 * credentials, CL_ERR_INVAL for a half-configured source (e.g. key id without secret);
 * err (may be NULL) gets a one-line explanation either way. */
int cl_aws_credentials_resolve(struct cl_aws_credentials *out, char *err, size_t err_size);

/* Region from AWS_REGION, else AWS_DEFAULT_REGION, else `region` of the profile in the
 * config file. Returns a heap string (caller frees) or NULL when none is configured. */
char *cl_aws_region_resolve(void);

/* Looks up key in [section] of the INI file at path, as botocore's parser does: keys
 * case-insensitive, values trimmed, '#' and ';' start comment lines, indented lines
 * (nested sub-sections such as "s3 =") are skipped. Returns a heap string (caller frees),
 * or NULL when the file, section or key is absent. */
char *cl_aws_ini_get(const char *path, const char *section, const char *key);

/* A credential source chosen once, refreshed from that same source before expiry. */
struct cl_aws_cred_provider;

/* Resolves the chain once (env, shared files/profile, container endpoint, IMDSv2) and
 * remembers the source; owned, free with cl_aws_cred_provider_free. NULL with err set
 * when no source has credentials (or a source is half-configured). */
struct cl_aws_cred_provider *cl_aws_cred_provider_new(char *err, size_t err_len);

/* Copies the current credentials into out (caller frees with cl_aws_credentials_free),
 * refreshing from the same source first when they expire within 5 minutes (temporary
 * credentials from the container endpoint / IMDS carry an Expiration). A failed refresh
 * keeps serving credentials that are still valid (and logs a warning). Thread-safe.
 * Returns CL_OK, or an error with err set when no valid credentials are left. */
int cl_aws_cred_provider_get(struct cl_aws_cred_provider *p, struct cl_aws_credentials *out,
                             char *err, size_t err_len);

void cl_aws_cred_provider_free(struct cl_aws_cred_provider *p);

/* Seconds before expiry at which the provider refreshes (the SDKs' 5-minute window). */
#define CL_AWS_CRED_REFRESH_WINDOW_S 300

#endif
