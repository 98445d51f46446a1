/* credentials_container.c - the container credentials endpoint (ECS task roles, EKS Pod
 * Identity, Lambda SnapStart), as the AWS SDKs use it. */
#include "credentials_remote.h"

#include "common.h"
#include "url.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define ECS_HOST "http://169.254.170.2"
#define CONTAINER_TIMEOUT_MS 2000 /* the SDKs' default for this endpoint */
#define CONTAINER_ATTEMPTS 3
#define SOURCE "container endpoint"

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* Whether addr is loopback or one of the ECS/EKS agent addresses the SDKs allow over
 * plain http: 169.254.170.2, 169.254.170.23, fd00:ec2::23. */
static int allowed_address(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        uint32_t a = ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr);
        return (a >> 24) == 127 || a == 0xA9FEAA02u || a == 0xA9FEAA17u;
    }
    if (sa->sa_family != AF_INET6)
        return 0;
    const struct in6_addr *a6 = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    static const unsigned char eks[16] = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0,
                                          0,    0,    0,    0,    0, 0, 0, 0x23};
    return IN6_IS_ADDR_LOOPBACK(a6) || memcmp(a6->s6_addr, eks, 16) == 0;
}

/* Every address host resolves to must be allowed (a name could point anywhere). */
static int host_allowed(const char *host)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, NULL, &hints, &res) != 0)
        return 0;
    int ok = res != NULL;
    for (struct addrinfo *ai = res; ai && ok; ai = ai->ai_next)
        ok = allowed_address(ai->ai_addr);
    freeaddrinfo(res);
    return ok;
}

/* Checks a FULL_URI: https anywhere, http only to allowed hosts. The host is the one
 * libcurl will connect to (curl_url), so "http://127.0.0.1:1@evil/" is checked as "evil". */
static int full_uri_check(const char *uri, char *err, size_t err_len)
{
    struct cl_url_parts u;
    char why[300];
    if (cl_url_parse(uri, &u, why, sizeof why) != CL_OK) {
        snprintf(err, err_len, "AWS_CONTAINER_CREDENTIALS_FULL_URI %s", why);
        return CL_ERR_INVAL;
    }
    if (strcmp(u.scheme, "https") == 0)
        return CL_OK;
    if (strcmp(u.scheme, "http") != 0) {
        snprintf(err, err_len, "AWS_CONTAINER_CREDENTIALS_FULL_URI '%s' is not http(s)", uri);
        return CL_ERR_INVAL;
    }
    if (host_allowed(u.host))
        return CL_OK;
    snprintf(err, err_len,
             "AWS_CONTAINER_CREDENTIALS_FULL_URI host '%s' is not allowed over http (only "
             "loopback, 169.254.170.2, 169.254.170.23, fd00:ec2::23; use https otherwise)",
             u.host);
    return CL_ERR_INVAL;
}

/* The Authorization value: the token file's contents (trailing newline trimmed), else
 * the token variable; NULL when neither is set. Caller frees. */
static char *auth_token(char *err, size_t err_len, int *rc)
{
    const char *path = env_nonempty("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    *rc = CL_OK;
    if (!path) {
        const char *t = env_nonempty("AWS_CONTAINER_AUTHORIZATION_TOKEN");
        return t ? cl_strdup(t) : NULL;
    }
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = f ? getline(&line, &cap, f) : -1;
    if (f)
        fclose(f);
    if (n <= 0) {
        snprintf(err, err_len, "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s", path);
        free(line);
        *rc = CL_ERR_IO;
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
        line[--n] = '\0';
    return line;
}

char *cl_aws_container_url(int *rc, char *err, size_t err_len)
{
    const char *rel = env_nonempty("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = env_nonempty("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    *rc = CL_OK;
    if (rel) { /* the relative URI wins when both are set, as in the SDKs */
        char *u = cl_malloc(strlen(ECS_HOST) + strlen(rel) + 2);
        sprintf(u, "%s%s%s", ECS_HOST, rel[0] == '/' ? "" : "/", rel);
        return u;
    }
    if (!full) {
        *rc = CL_ERR_NOT_FOUND;
        return NULL;
    }
    *rc = full_uri_check(full, err, err_len);
    return *rc == CL_OK ? cl_strdup(full) : NULL;
}

int cl_aws_creds_from_container(struct cl_aws_credentials *out, char *err, size_t err_len)
{
    int rc;
    char *url = cl_aws_container_url(&rc, err, err_len);
    if (!url)
        return rc;
    char *token = auth_token(err, err_len, &rc);
    if (rc != CL_OK) {
        free(url);
        return rc;
    }
    struct cl_http_header h = {"Authorization", token};
    struct cl_buf body;
    cl_buf_init(&body, 64 * 1024);
    long status = 0;
    char why[512] = "";
    rc = cl_aws_remote_call("GET", url, &h, token ? 1 : 0, CONTAINER_TIMEOUT_MS, CONTAINER_ATTEMPTS,
                            &status, &body, why, sizeof why);
    if (rc == CL_OK && status == 200) {
        rc = cl_aws_creds_parse_json(body.data, body.len, SOURCE, out, err, err_len);
    } else if (rc == CL_OK) {
        snprintf(err, err_len, "container credentials endpoint %s answered HTTP %ld: %.200s", url,
                 status, body.data ? body.data : "");
        rc = CL_ERR_IO;
    } else {
        snprintf(err, err_len, "container credentials endpoint %s: %s", url, why);
    }
    cl_buf_free(&body);
    free(token);
    free(url);
    return rc;
}
