/* credentials_imds.c - EC2 instance role credentials from the instance metadata service,
 * IMDSv2 only (session token first). */
#include "credentials_remote.h"

#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define IMDS_DEFAULT "http://169.254.169.254"
/* One short attempt (the SDKs' defaults) so a machine that is not on EC2 is not slowed. */
#define IMDS_TIMEOUT_MS 1000
#define IMDS_ATTEMPTS 1
#define IMDS_TOKEN_TTL "21600"
#define IMDS_ROLES "/latest/meta-data/iam/security-credentials/"
#define SOURCE "EC2 instance metadata"

/* The endpoint without trailing '/' (caller frees). */
static char *imds_endpoint(void)
{
    const char *e = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    char *ep = cl_strdup(e && *e ? e : IMDS_DEFAULT);
    size_t n = strlen(ep);
    while (n > 0 && ep[n - 1] == '/')
        ep[--n] = '\0';
    return ep;
}

/* One IMDS request to ep + path; the body (NUL-terminated) in body. Returns CL_OK for a
 * 200, CL_ERR_NOT_FOUND otherwise, with err set. */
static int imds_call(const char *method, const char *ep, const char *path,
                     const struct cl_http_header *h, struct cl_buf *body, char *err, size_t err_len)
{
    char *url = cl_malloc(strlen(ep) + strlen(path) + 1);
    sprintf(url, "%s%s", ep, path);
    long status = 0;
    char why[512] = "";
    int rc = cl_aws_remote_call(method, url, h, 1, IMDS_TIMEOUT_MS, IMDS_ATTEMPTS, &status, body,
                                why, sizeof why);
    if (rc != CL_OK)
        snprintf(err, err_len, "no EC2 instance metadata at %s: %s", ep, why);
    else if (status != 200)
        snprintf(err, err_len, "EC2 instance metadata %s %s answered HTTP %ld", method, url,
                 status);
    free(url);
    if (rc == CL_OK && status == 200 && cl_buf_append_char(body, '\0') == CL_OK) {
        body->len--; /* keep the terminator out of the length */
        return CL_OK;
    }
    return CL_ERR_NOT_FOUND;
}

/* The role name: the first line of the listing (caller frees), or NULL. */
static char *first_line(const struct cl_buf *b)
{
    size_t n = b->data ? strcspn(b->data, "\r\n") : 0;
    while (n > 0 && b->data[n - 1] == ' ')
        n--;
    return n ? cl_strndup(b->data, n) : NULL;
}

/* Fetches the role's credentials with a session token. */
static int imds_role_creds(const char *ep, const char *token, struct cl_aws_credentials *out,
                           struct cl_buf *body, char *err, size_t err_len)
{
    struct cl_http_header h = {"X-aws-ec2-metadata-token", token};
    int rc = imds_call("GET", ep, IMDS_ROLES, &h, body, err, err_len);
    char *role = rc == CL_OK ? first_line(body) : NULL;
    if (rc == CL_OK && !role) {
        snprintf(err, err_len, "the EC2 instance at %s has no IAM role", ep);
        rc = CL_ERR_NOT_FOUND;
    } else if (role && strpbrk(role, "/?#%")) {
        snprintf(err, err_len, "EC2 instance metadata: unexpected role name '%s'", role);
        rc = CL_ERR_CORRUPT;
    }
    if (rc == CL_OK) {
        char *path = cl_malloc(strlen(IMDS_ROLES) + strlen(role) + 1);
        sprintf(path, "%s%s", IMDS_ROLES, role);
        rc = imds_call("GET", ep, path, &h, body, err, err_len);
        /* The role exists but its credentials cannot be read: an error, not "absent". */
        if (rc == CL_OK)
            rc = cl_aws_creds_parse_json(body->data, body->len, SOURCE, out, err, err_len);
        else
            rc = CL_ERR_IO;
        free(path);
    }
    free(role);
    return rc;
}

int cl_aws_creds_from_imds(struct cl_aws_credentials *out, char *err, size_t err_len)
{
    const char *off = getenv("AWS_EC2_METADATA_DISABLED");
    if (off && strcasecmp(off, "true") == 0) {
        snprintf(err, err_len, "EC2 instance metadata disabled (AWS_EC2_METADATA_DISABLED)");
        return CL_ERR_NOT_FOUND;
    }
    char *ep = imds_endpoint();
    struct cl_buf body;
    cl_buf_init(&body, 64 * 1024);
    const struct cl_http_header ttl = {"X-aws-ec2-metadata-token-ttl-seconds", IMDS_TOKEN_TTL};
    int rc = imds_call("PUT", ep, "/latest/api/token", &ttl, &body, err, err_len);
    char *token = rc == CL_OK ? first_line(&body) : NULL;
    if (rc == CL_OK && !token) {
        snprintf(err, err_len, "EC2 instance metadata at %s returned an empty token", ep);
        rc = CL_ERR_NOT_FOUND;
    }
    if (rc == CL_OK)
        rc = imds_role_creds(ep, token, out, &body, err, err_len);
    free(token);
    cl_buf_free(&body);
    free(ep);
    return rc;
}
