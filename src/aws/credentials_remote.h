/* credentials_remote.h - credential sources over HTTP: the container endpoint and EC2
 * IMDSv2 (internal to cl_aws; used by the provider in credentials_provider.c). */
#ifndef CL_AWS_CREDENTIALS_REMOTE_H
#define CL_AWS_CREDENTIALS_REMOTE_H

#include "buf.h"
#include "credentials.h"
#include "http.h"

/* Container credentials endpoint: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (on
 * http://169.254.170.2) or AWS_CONTAINER_CREDENTIALS_FULL_URI (https, or http only to
 * loopback and the ECS/EKS agent addresses), with AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
 * (else AWS_CONTAINER_AUTHORIZATION_TOKEN) as the Authorization header.
 * Returns CL_OK with *out filled (caller frees with cl_aws_credentials_free),
 * CL_ERR_NOT_FOUND when neither URI variable is set, or an error with err set. */
int cl_aws_creds_from_container(struct cl_aws_credentials *out, char *err, size_t err_len);

/* The container endpoint URL from the environment (caller frees): the relative URI on
 * http://169.254.170.2 when set, else the checked full URI. NULL with *rc set otherwise:
 * CL_ERR_NOT_FOUND (neither set) or CL_ERR_INVAL (a full URI not allowed; err says why). */
char *cl_aws_container_url(int *rc, char *err, size_t err_len);

/* EC2 instance metadata, IMDSv2 (session token, role name, role credentials) at
 * AWS_EC2_METADATA_SERVICE_ENDPOINT (default http://169.254.169.254) with 1 s timeouts.
 * Returns CL_OK with *out filled (caller frees), CL_ERR_NOT_FOUND when disabled
 * (AWS_EC2_METADATA_DISABLED=true), unreachable or without a role, or an error with err
 * set. */
int cl_aws_creds_from_imds(struct cl_aws_credentials *out, char *err, size_t err_len);

/* Shared by both: one request without retries beyond `attempts`, response body bounded to
 * 64 KiB into body (cl_buf_init'ed by the caller). Returns cl_http_send's result with
 * *status set. */
int cl_aws_remote_call(const char *method, const char *url, const struct cl_http_header *h,
                       size_t n_headers, long timeout_ms, int attempts, long *status,
                       struct cl_buf *body, char *err, size_t err_len);

/* Parses the credentials JSON both endpoints return ({"AccessKeyId", "SecretAccessKey",
 * "Token", "Expiration"}; IMDS adds "Code": "Success") into out (caller frees), with
 * source copied into out->source. Returns CL_OK or CL_ERR_CORRUPT with err set. */
int cl_aws_creds_parse_json(const char *body, size_t len, const char *source,
                            struct cl_aws_credentials *out, char *err, size_t err_len);

#endif
