/* credentials.h - AWS credentials and region from the environment and the shared files. */
#ifndef CL_AWS_CREDENTIALS_H
#define CL_AWS_CREDENTIALS_H

#include <stddef.h>

/* Resolved credentials; owns its strings (release with cl_aws_credentials_free). */
struct cl_aws_credentials {
    char *access_key_id;
    char *secret_access_key;
    char *session_token; /* NULL for long-term keys */
    char source[64];     /* "environment", "shared credentials file", "config file" */
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

#endif
