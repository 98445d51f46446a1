/* test_aws_credentials.c - credential chain (environment, shared files, container endpoint,
 * IMDSv2 against a loopback test server), refresh before expiry, and region lookup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common.h"
#include "credentials.h"
#include "credentials_remote.h"
#include "http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static char g_dir[4096];

static const char *const VARS[] = {"AWS_ACCESS_KEY_ID",
                                   "AWS_SECRET_ACCESS_KEY",
                                   "AWS_SESSION_TOKEN",
                                   "AWS_PROFILE",
                                   "AWS_REGION",
                                   "AWS_DEFAULT_REGION",
                                   "AWS_CONFIG_FILE",
                                   "AWS_SHARED_CREDENTIALS_FILE",
                                   "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                                   "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                                   "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                                   "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                                   "AWS_EC2_METADATA_SERVICE_ENDPOINT"};

/* Writes text to <tmp>/<name>; the path goes into path[size] and is returned. */
static const char *write_file(const char *name, const char *text, char *path, size_t size)
{
    snprintf(path, size, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* Each test starts with no AWS variables and HOME pointing at an empty temp dir. */
static int setup(void **state)
{
    const char *base = getenv("CL_TMPDIR");
    snprintf(g_dir, sizeof(g_dir), "%s/cl_aws_cred_XXXXXX", base ? base : "/tmp");
    assert_non_null(mkdtemp(g_dir));
    for (size_t i = 0; i < CL_ARRAY_LEN(VARS); i++)
        unsetenv(VARS[i]);
    /* Tests never reach for 169.254.169.254; the IMDS tests point it at loopback. */
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    setenv("HOME", g_dir, 1);
    return 0;
}

static int teardown(void **state)
{
    const char *names[] = {"credentials", "config", "token", ".aws/credentials", ".aws/config"};
    char path[8192];
    for (size_t i = 0; i < CL_ARRAY_LEN(names); i++) {
        snprintf(path, sizeof(path), "%s/%s", g_dir, names[i]);
        unlink(path);
    }
    snprintf(path, sizeof(path), "%s/.aws", g_dir);
    rmdir(path);
    rmdir(g_dir);
    return 0;
}

static const char CREDENTIALS[] = "# comment\n"
                                  "[default]\n"
                                  "aws_access_key_id = AKIDDEFAULT\n"
                                  "aws_secret_access_key = secretdefault\n"
                                  "\n"
                                  "[dev]\n"
                                  "; another comment\n"
                                  "AWS_Access_Key_Id=AKIDDEV\n"
                                  "aws_secret_access_key =  secret/dev+x= \n"
                                  "aws_session_token = tokdev\n"
                                  "s3 =\n"
                                  "  aws_access_key_id = NESTED\n";

static const char CONFIG[] = "[default]\n"
                             "region = eu-west-1\n"
                             "[profile   ops]\n"
                             "region = ap-southeast-2\n"
                             "aws_access_key_id = AKIDOPS\n"
                             "aws_secret_access_key = secretops\n";

static void test_environment_first(void **state)
{
    char path[8192];
    setenv("AWS_SHARED_CREDENTIALS_FILE", write_file("credentials", CREDENTIALS, path, 8192), 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "secretenv", 1);
    setenv("AWS_SESSION_TOKEN", "tokenv", 1);
    struct cl_aws_credentials c;
    assert_int_equal(cl_aws_credentials_resolve(&c, NULL, 0), CL_OK);
    assert_string_equal(c.access_key_id, "AKIDENV");
    assert_string_equal(c.secret_access_key, "secretenv");
    assert_string_equal(c.session_token, "tokenv");
    assert_string_equal(c.source, "environment");
    cl_aws_credentials_free(&c);
    unsetenv("AWS_SECRET_ACCESS_KEY"); /* half-configured: an error, not a fallthrough */
    char err[256];
    assert_int_equal(cl_aws_credentials_resolve(&c, err, sizeof(err)), CL_ERR_INVAL);
    assert_non_null(strstr(err, "environment"));
}

static void test_credentials_file_profile(void **state)
{
    char path[8192];
    setenv("AWS_SHARED_CREDENTIALS_FILE", write_file("credentials", CREDENTIALS, path, 8192), 1);
    struct cl_aws_credentials c;
    assert_int_equal(cl_aws_credentials_resolve(&c, NULL, 0), CL_OK);
    assert_string_equal(c.access_key_id, "AKIDDEFAULT");
    assert_null(c.session_token);
    cl_aws_credentials_free(&c);
    setenv("AWS_PROFILE", "dev", 1);
    assert_int_equal(cl_aws_credentials_resolve(&c, NULL, 0), CL_OK);
    assert_string_equal(c.access_key_id, "AKIDDEV"); /* not the nested s3 value */
    assert_string_equal(c.secret_access_key, "secret/dev+x=");
    assert_string_equal(c.session_token, "tokdev");
    assert_string_equal(c.source, "shared credentials file");
    cl_aws_credentials_free(&c);
}

static void test_default_paths_under_home(void **state)
{
    char path[8192];
    snprintf(path, sizeof(path), "%s/.aws", g_dir);
    assert_int_equal(mkdir(path, 0700), 0);
    write_file(".aws/credentials", CREDENTIALS, path, sizeof(path));
    struct cl_aws_credentials c;
    assert_int_equal(cl_aws_credentials_resolve(&c, NULL, 0), CL_OK);
    assert_string_equal(c.access_key_id, "AKIDDEFAULT");
    cl_aws_credentials_free(&c);
}

static void test_config_file_fallback_and_region(void **state)
{
    char path[8192];
    setenv("AWS_CONFIG_FILE", write_file("config", CONFIG, path, 8192), 1);
    setenv("AWS_PROFILE", "ops", 1);
    struct cl_aws_credentials c;
    assert_int_equal(cl_aws_credentials_resolve(&c, NULL, 0), CL_OK);
    assert_string_equal(c.access_key_id, "AKIDOPS");
    assert_string_equal(c.source, "config file");
    cl_aws_credentials_free(&c);
    char *r = cl_aws_region_resolve();
    assert_string_equal(r, "ap-southeast-2");
    free(r);
    unsetenv("AWS_PROFILE");
    r = cl_aws_region_resolve();
    assert_string_equal(r, "eu-west-1"); /* [default], no "profile " prefix */
    free(r);
    setenv("AWS_DEFAULT_REGION", "us-west-2", 1);
    r = cl_aws_region_resolve();
    assert_string_equal(r, "us-west-2");
    free(r);
    setenv("AWS_REGION", "us-east-2", 1); /* AWS_REGION beats AWS_DEFAULT_REGION */
    r = cl_aws_region_resolve();
    assert_string_equal(r, "us-east-2");
    free(r);
}

static void test_nothing_configured(void **state)
{
    struct cl_aws_credentials c;
    char err[256];
    assert_int_equal(cl_aws_credentials_resolve(&c, err, sizeof(err)), CL_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "no AWS credentials"));
    assert_null(c.access_key_id);
    assert_null(cl_aws_region_resolve());
    setenv("AWS_PROFILE", "missing", 1);
    char path[8192];
    setenv("AWS_SHARED_CREDENTIALS_FILE", write_file("credentials", CREDENTIALS, path, 8192), 1);
    assert_int_equal(cl_aws_credentials_resolve(&c, NULL, 0), CL_ERR_NOT_FOUND);
}

static void test_provider_static_sources(void **state)
{
    char path[8192], err[512];
    setenv("AWS_SHARED_CREDENTIALS_FILE", write_file("credentials", CREDENTIALS, path, 8192), 1);
    struct cl_aws_cred_provider *p = cl_aws_cred_provider_new(err, sizeof(err));
    assert_non_null(p);
    struct cl_aws_credentials c;
    for (int i = 0; i < 2; i++) { /* long-term keys: every get returns the same copy */
        assert_int_equal(cl_aws_cred_provider_get(p, &c, err, sizeof(err)), CL_OK);
        assert_string_equal(c.access_key_id, "AKIDDEFAULT");
        assert_string_equal(c.secret_access_key, "secretdefault");
        assert_null(c.session_token);
        assert_int_equal(c.expiration, 0);
        assert_string_equal(c.source, "shared credentials file");
        cl_aws_credentials_free(&c);
    }
    cl_aws_cred_provider_free(p);
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1); /* the environment wins over the files */
    setenv("AWS_SECRET_ACCESS_KEY", "secretenv", 1);
    p = cl_aws_cred_provider_new(err, sizeof(err));
    assert_non_null(p);
    assert_int_equal(cl_aws_cred_provider_get(p, &c, err, sizeof(err)), CL_OK);
    assert_string_equal(c.access_key_id, "AKIDENV");
    assert_string_equal(c.source, "environment");
    cl_aws_credentials_free(&c);
    cl_aws_cred_provider_free(p);
}

static void test_provider_errors(void **state)
{
    char err[512];
    assert_null(cl_aws_cred_provider_new(err, sizeof(err)));
    assert_non_null(strstr(err, "no AWS credentials"));
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1); /* half-configured: the reason, no fallthrough */
    assert_null(cl_aws_cred_provider_new(err, sizeof(err)));
    assert_non_null(strstr(err, "environment"));
}

static void test_ini_get(void **state)
{
    char path[8192];
    write_file("config", CONFIG, path, sizeof(path));
    char *v = cl_aws_ini_get(path, "profile ops", "REGION");
    assert_string_equal(v, "ap-southeast-2");
    free(v);
    assert_null(cl_aws_ini_get(path, "ops", "region"));
    assert_null(cl_aws_ini_get(path, "default", "nope"));
    assert_null(cl_aws_ini_get("/nonexistent/cl_aws_config", "default", "region"));
}

/* ---- loopback test server for the container endpoint and IMDSv2 ---- */

#define IMDS_TOKEN "TESTIMDSTOKEN"

struct test_server {
    int fd;
    int port;
    pthread_t thread;
    atomic_int stop;
    pthread_mutex_t lock;
    /* behaviour, set by the test */
    char expect_auth[128]; /* container: required Authorization ("" = none required) */
    int expiry_s;          /* Expiration = now + expiry_s */
    int fail;              /* answer every credentials request with HTTP 500 */
    /* observations */
    int creds_served;
    int token_requests;
    int tokenless_denied; /* IMDS requests refused with 401 for a missing/wrong token */
    char last_auth[1024]; /* Authorization header seen at /echo */
};

static struct test_server g_srv;

/* Copies the value of header name (case-insensitive) in the request head into out. */
static int header_value(const char *head, const char *name, char *out, size_t out_len)
{
    size_t nl = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ')
                v++;
            size_t n = strcspn(v, "\r\n");
            snprintf(out, out_len, "%.*s", (int)n, v);
            return 1;
        }
    }
    return 0;
}

static void respond(int fd, int status, const char *body)
{
    char buf[4096];
    int n = snprintf(buf, sizeof buf,
                     "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s", status,
                     strlen(body), body);
    assert_true(n > 0 && (size_t)n < sizeof buf);
    ssize_t w = write(fd, buf, (size_t)n);
    (void)w;
}

/* Credentials JSON with a new key id per call: AKIDTEST<n>. */
static void creds_json(char *out, size_t len, int with_code)
{
    char exp[32];
    time_t t = time(NULL) + g_srv.expiry_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(exp, sizeof exp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    int n = ++g_srv.creds_served;
    snprintf(out, len,
             "{%s\"AccessKeyId\": \"AKIDTEST%d\", \"SecretAccessKey\": \"secret\\/%d\", "
             "\"Token\": \"token%d\", \"Expiration\": \"%s\"}",
             with_code ? "\"Code\": \"Success\", \"Type\": \"AWS-HMAC\", " : "", n, n, n, exp);
}

/* Routes one request (head is NUL-terminated). Called with g_srv.lock held. */
static void route(int fd, const char *head)
{
    char method[16] = "", path[512] = "", v[1024], body[1024];
    sscanf(head, "%15s %511s", method, path);
    int imds = strncmp(path, "/latest/", 8) == 0;
    int token_ok =
        header_value(head, "X-aws-ec2-metadata-token", v, sizeof v) && strcmp(v, IMDS_TOKEN) == 0;
    if (strcmp(path, "/latest/api/token") == 0) {
        g_srv.token_requests++;
        int ttl = strcmp(method, "PUT") == 0 &&
                  header_value(head, "X-aws-ec2-metadata-token-ttl-seconds", v, sizeof v);
        respond(fd, ttl ? 200 : 400, ttl ? IMDS_TOKEN : "");
    } else if (imds && !token_ok) {
        g_srv.tokenless_denied++;
        respond(fd, 401, "");
    } else if (strcmp(path, "/latest/meta-data/iam/security-credentials/") == 0) {
        respond(fd, 200, "test-role\n");
    } else if (strcmp(path, "/latest/meta-data/iam/security-credentials/test-role") == 0 ||
               strcmp(path, "/creds") == 0) {
        int have = header_value(head, "Authorization", v, sizeof v);
        if (!imds && g_srv.expect_auth[0] && (!have || strcmp(v, g_srv.expect_auth) != 0)) {
            respond(fd, 401, "{\"code\": \"Unauthorized\", \"message\": \"bad token\"}");
        } else if (g_srv.fail) {
            respond(fd, 500, "{\"code\": \"InternalError\", \"message\": \"down\"}");
        } else {
            creds_json(body, sizeof body, imds);
            respond(fd, 200, body);
        }
    } else {
        if (!header_value(head, "Authorization", g_srv.last_auth, sizeof g_srv.last_auth))
            g_srv.last_auth[0] = '\0';
        respond(fd, 200, "ok");
    }
}

/* Reads one request head (bodies are not needed by any route) and answers it. */
static void serve_one(int fd)
{
    char head[8192];
    size_t len = 0;
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (len < sizeof head - 1) {
        ssize_t n = read(fd, head + len, sizeof head - 1 - len);
        if (n <= 0)
            return;
        len += (size_t)n;
        head[len] = '\0';
        if (strstr(head, "\r\n\r\n"))
            break;
    }
    pthread_mutex_lock(&g_srv.lock);
    route(fd, head);
    pthread_mutex_unlock(&g_srv.lock);
}

static void *server_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&g_srv.stop)) {
        struct pollfd pfd = {g_srv.fd, POLLIN, 0};
        if (poll(&pfd, 1, 50) <= 0)
            continue;
        int c = accept(g_srv.fd, NULL, NULL);
        if (c < 0)
            continue;
        serve_one(c);
        close(c);
    }
    return NULL;
}

static void server_start(void)
{
    memset(&g_srv, 0, sizeof g_srv);
    pthread_mutex_init(&g_srv.lock, NULL);
    g_srv.expiry_s = 3600;
    g_srv.fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(g_srv.fd >= 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(g_srv.fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(g_srv.fd, 16), 0);
    socklen_t al = sizeof a;
    assert_int_equal(getsockname(g_srv.fd, (struct sockaddr *)&a, &al), 0);
    g_srv.port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&g_srv.thread, NULL, server_main, NULL), 0);
}

static void server_stop(void)
{
    atomic_store(&g_srv.stop, 1);
    pthread_join(g_srv.thread, NULL);
    close(g_srv.fd);
    pthread_mutex_destroy(&g_srv.lock);
}

/* Locked read of a counter the server thread updates. */
static int srv_get(const int *field)
{
    pthread_mutex_lock(&g_srv.lock);
    int v = *field;
    pthread_mutex_unlock(&g_srv.lock);
    return v;
}

static void srv_set(int *field, int v)
{
    pthread_mutex_lock(&g_srv.lock);
    *field = v;
    pthread_mutex_unlock(&g_srv.lock);
}

static int server_setup(void **state)
{
    setup(state);
    server_start();
    return 0;
}

static int server_teardown(void **state)
{
    server_stop();
    return teardown(state);
}

static void set_url(const char *var, const char *path)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", g_srv.port, path);
    setenv(var, url, 1);
}

/* Gets the provider's credentials and checks their key id; returns nothing. */
static void expect_key(struct cl_aws_cred_provider *p, const char *id)
{
    struct cl_aws_credentials c;
    char err[512] = "";
    assert_int_equal(cl_aws_cred_provider_get(p, &c, err, sizeof err), CL_OK);
    assert_string_equal(c.access_key_id, id);
    cl_aws_credentials_free(&c);
}

/* A new provider's first credentials from the test server, from the named source. */
static void expect_first_temporary(const char *source)
{
    char err[512] = "";
    struct cl_aws_cred_provider *p = cl_aws_cred_provider_new(err, sizeof err);
    if (!p)
        fail_msg("no provider: %s", err);
    struct cl_aws_credentials c;
    assert_int_equal(cl_aws_cred_provider_get(p, &c, err, sizeof err), CL_OK);
    assert_string_equal(c.access_key_id, "AKIDTEST1");
    assert_string_equal(c.secret_access_key, "secret/1"); /* JSON escape decoded */
    assert_string_equal(c.session_token, "token1");
    assert_string_equal(c.source, source);
    assert_true(c.expiration > time(NULL) + 3000);
    cl_aws_credentials_free(&c);
    cl_aws_cred_provider_free(p);
}

/* Which URL the container source would ask, without asking (169.254.170.2 is not
 * loopback, so the relative form is only checked, never contacted). */
static void test_container_url_choice(void **state)
{
    int rc;
    char err[512] = "";
    assert_null(cl_aws_container_url(&rc, err, sizeof err));
    assert_int_equal(rc, CL_ERR_NOT_FOUND);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://localhost:8080/creds", 1);
    char *u = cl_aws_container_url(&rc, err, sizeof err);
    assert_string_equal(u, "http://localhost:8080/creds"); /* a name resolving to loopback */
    free(u);
    static const char *const allowed[] = {"http://169.254.170.23/v1/credentials",
                                          "http://[::1]:9/x",
                                          "https://example.com/creds",
                                          "http://127.1.2.3/c",
                                          "HTTP://127.0.0.1/c",
                                          "http://192.0.2.1@127.0.0.1:9/c",
                                          "http://[fd00:ec2::23]/v1/credentials"};
    for (size_t i = 0; i < CL_ARRAY_LEN(allowed); i++) {
        setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", allowed[i], 1);
        u = cl_aws_container_url(&rc, err, sizeof err);
        if (!u)
            fail_msg("%s refused: %s", allowed[i], err);
        free(u);
    }
    /* Userinfo, backslashes and odd ports must not fool the host check (issue 13, item 9):
     * the host checked is the one libcurl connects to. */
    static const char *const refused[] = {"http://169.254.169.254/latest",
                                          "ftp://127.0.0.1/x",
                                          "http:///creds",
                                          "http://10.0.0.1:80/creds",
                                          "http://127.0.0.1:1@192.0.2.1/creds",
                                          "http://127.0.0.1@192.0.2.1/",
                                          "http://[::1]@192.0.2.1/",
                                          "HTTP://127.0.0.1:80@192.0.2.1:80/x",
                                          "http://169.254.170.2.192.0.2.1.nip.invalid/x",
                                          "not a url"};
    for (size_t i = 0; i < CL_ARRAY_LEN(refused); i++) {
        setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", refused[i], 1);
        assert_null(cl_aws_container_url(&rc, err, sizeof err));
        assert_int_equal(rc, CL_ERR_INVAL);
        assert_non_null(strstr(err, "AWS_CONTAINER_CREDENTIALS_FULL_URI"));
    }
    setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc", 1); /* wins */
    u = cl_aws_container_url(&rc, err, sizeof err);
    assert_string_equal(u, "http://169.254.170.2/v2/credentials/abc");
    free(u);
}

static void test_container_token(void **state)
{
    snprintf(g_srv.expect_auth, sizeof g_srv.expect_auth, "Bearer abc");
    set_url("AWS_CONTAINER_CREDENTIALS_FULL_URI", "/creds");
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer abc", 1);
    expect_first_temporary("container endpoint");
    char err[512] = "";
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer wrong", 1);
    assert_null(cl_aws_cred_provider_new(err, sizeof err));
    assert_non_null(strstr(err, "HTTP 401"));
    assert_non_null(strstr(err, "bad token"));
}

static void test_container_token_file(void **state)
{
    char path[8192], err[512] = "";
    snprintf(g_srv.expect_auth, sizeof g_srv.expect_auth, "file-token");
    set_url("AWS_CONTAINER_CREDENTIALS_FULL_URI", "/creds");
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "env-token", 1); /* the file wins */
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
           write_file("token", "file-token\n", path, sizeof path), 1);
    struct cl_aws_cred_provider *p = cl_aws_cred_provider_new(err, sizeof err);
    assert_non_null(p);
    expect_key(p, "AKIDTEST1");
    cl_aws_cred_provider_free(p);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/nonexistent/cl_token", 1);
    assert_null(cl_aws_cred_provider_new(err, sizeof err));
    assert_non_null(strstr(err, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"));
}

static void test_container_host_restricted(void **state)
{
    char err[512] = "";
    /* Plain http to a host that is not loopback or an agent address: refused unsent. */
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://192.0.2.10/creds", 1);
    assert_null(cl_aws_cred_provider_new(err, sizeof err));
    assert_non_null(strstr(err, "not allowed"));
    set_url("AWS_CONTAINER_CREDENTIALS_FULL_URI", "/creds");
    g_srv.fail = 1; /* configured but failing: an error naming the endpoint, no fallthrough */
    assert_null(cl_aws_cred_provider_new(err, sizeof err));
    assert_non_null(strstr(err, "HTTP 500"));
    assert_int_equal(srv_get(&g_srv.token_requests), 0);
}

static void test_imds_v2(void **state)
{
    unsetenv("AWS_EC2_METADATA_DISABLED");
    set_url("AWS_EC2_METADATA_SERVICE_ENDPOINT", "/");
    expect_first_temporary("EC2 instance metadata");
    char err[512] = "";
    assert_int_equal(srv_get(&g_srv.token_requests), 1);
    assert_int_equal(srv_get(&g_srv.tokenless_denied), 0);
    /* The server does enforce the token: a request without it is refused. */
    struct cl_buf body;
    cl_buf_init(&body, 4096);
    long status = 0;
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/latest/meta-data/iam/security-credentials/",
             g_srv.port);
    assert_int_equal(
        cl_aws_remote_call("GET", url, NULL, 0, 1000, 1, &status, &body, err, sizeof err), CL_OK);
    assert_int_equal(status, 401);
    cl_buf_free(&body);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    assert_null(cl_aws_cred_provider_new(err, sizeof err));
    assert_non_null(strstr(err, "AWS_EC2_METADATA_DISABLED"));
}

static void test_imds_unreachable(void **state)
{
    unsetenv("AWS_EC2_METADATA_DISABLED");
    server_stop(); /* nothing listens on the port any more */
    set_url("AWS_EC2_METADATA_SERVICE_ENDPOINT", "");
    server_start();
    char err[512] = "";
    assert_null(cl_aws_cred_provider_new(err, sizeof err));
    assert_non_null(strstr(err, "no AWS credentials"));
    assert_non_null(strstr(err, "no EC2 instance metadata"));
}

static void test_chain_order(void **state)
{
    char err[512] = "";
    unsetenv("AWS_EC2_METADATA_DISABLED");
    set_url("AWS_EC2_METADATA_SERVICE_ENDPOINT", "");
    set_url("AWS_CONTAINER_CREDENTIALS_FULL_URI", "/creds");
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "secretenv", 1);
    struct cl_aws_cred_provider *p = cl_aws_cred_provider_new(err, sizeof err);
    assert_non_null(p);
    expect_key(p, "AKIDENV"); /* environment before the container endpoint */
    cl_aws_cred_provider_free(p);
    assert_int_equal(srv_get(&g_srv.creds_served), 0);
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    p = cl_aws_cred_provider_new(err, sizeof err);
    assert_non_null(p);
    expect_key(p, "AKIDTEST1"); /* the container endpoint before IMDS */
    cl_aws_cred_provider_free(p);
    assert_int_equal(srv_get(&g_srv.token_requests), 0);
}

/* A provider on the test server's container endpoint, whose keys expire in expiry_s. */
static struct cl_aws_cred_provider *container_provider(int expiry_s)
{
    char err[512] = "";
    set_url("AWS_CONTAINER_CREDENTIALS_FULL_URI", "/creds");
    srv_set(&g_srv.expiry_s, expiry_s);
    struct cl_aws_cred_provider *p = cl_aws_cred_provider_new(err, sizeof err);
    if (!p)
        fail_msg("no provider: %s", err);
    return p;
}

static void test_refresh_before_expiry(void **state)
{
    char err[512] = "";
    /* Inside the 5-minute window: the next get refreshes. */
    struct cl_aws_cred_provider *p = container_provider(60);
    assert_int_equal(srv_get(&g_srv.creds_served), 1);
    srv_set(&g_srv.expiry_s, 3600);
    expect_key(p, "AKIDTEST2");
    expect_key(p, "AKIDTEST2"); /* valid for an hour: no further fetch */
    assert_int_equal(srv_get(&g_srv.creds_served), 2);
    /* The signing hook takes the provider's current keys for each request. */
    struct cl_http_client *http = cl_http_client_new(NULL);
    struct cl_http_sigv4 sv;
    memset(&sv, 0, sizeof sv);
    sv.region = "us-east-1";
    sv.service = "s3";
    sv.flags = CL_SIGV4_S3;
    sv.provider = p;
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/echo", g_srv.port);
    struct cl_http_request req = {"GET", url, NULL, 0, NULL, 0, cl_http_sign_sigv4, &sv};
    struct cl_http_response resp;
    memset(&resp, 0, sizeof resp);
    cl_buf_init(&resp.headers, 65536);
    cl_buf_init(&resp.body, 65536);
    assert_int_equal(cl_http_send(http, &req, &resp, err, sizeof err), CL_OK);
    assert_int_equal(resp.status, 200);
    pthread_mutex_lock(&g_srv.lock);
    assert_non_null(strstr(g_srv.last_auth, "Credential=AKIDTEST2/"));
    pthread_mutex_unlock(&g_srv.lock);
    cl_buf_free(&resp.headers);
    cl_buf_free(&resp.body);
    cl_http_client_free(http);
    cl_aws_cred_provider_free(p);
}

static void test_failed_refresh(void **state)
{
    char err[512] = "";
    struct cl_aws_cred_provider *p = container_provider(60);
    srv_set(&g_srv.fail, 1);
    expect_key(p, "AKIDTEST1"); /* refresh failed, but the keys are valid for a minute */
    assert_int_equal(srv_get(&g_srv.creds_served), 1);
    cl_aws_cred_provider_free(p);
    /* Expired keys and a failing endpoint: an error, not stale keys. */
    srv_set(&g_srv.fail, 0);
    p = container_provider(-10);
    srv_set(&g_srv.fail, 1);
    struct cl_aws_credentials c;
    assert_int_not_equal(cl_aws_cred_provider_get(p, &c, err, sizeof err), CL_OK);
    assert_non_null(strstr(err, "expired"));
    assert_null(c.access_key_id);
    cl_aws_cred_provider_free(p);
}

/* Gets from several threads while every get refreshes (keys expiring in a minute): each
 * copy is whole and from one fetch (secret/N goes with AKIDTESTN). */
struct getter {
    struct cl_aws_cred_provider *p;
    atomic_int *bad;
};

static void *getter_main(void *arg)
{
    struct getter *g = arg;
    for (int i = 0; i < 20; i++) {
        struct cl_aws_credentials c;
        char err[512], want[64];
        if (cl_aws_cred_provider_get(g->p, &c, err, sizeof err) != CL_OK) {
            atomic_fetch_add(g->bad, 1);
            continue;
        }
        snprintf(want, sizeof want, "secret/%s", c.access_key_id + strlen("AKIDTEST"));
        if (strncmp(c.access_key_id, "AKIDTEST", 8) != 0 || strcmp(c.secret_access_key, want))
            atomic_fetch_add(g->bad, 1);
        cl_aws_credentials_free(&c);
    }
    return NULL;
}

static void test_provider_threads(void **state)
{
    struct cl_aws_cred_provider *p = container_provider(60);
    atomic_int bad = 0;
    struct getter g = {p, &bad};
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, getter_main, &g), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(atomic_load(&bad), 0);
    assert_int_equal(srv_get(&g_srv.creds_served), 1 + 4 * 20); /* one fetch per get */
    cl_aws_cred_provider_free(p);
}

static void test_parse_json_errors(void **state)
{
    struct cl_aws_credentials c;
    char err[512];
    static const char *const bad[] = {
        "",
        "[]",
        "{\"AccessKeyId\": \"A\"}",
        "{\"AccessKeyId\": \"A\", \"SecretAccessKey\": 1}",
        ("{\"Code\": \"Failure\", \"Message\": \"no role\", \"AccessKeyId\": \"A\", "
         "\"SecretAccessKey\": \"S\"}"),
        "{\"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\", \"Expiration\": \"soon\"}",
        "{\"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\"} x"};
    for (size_t i = 0; i < CL_ARRAY_LEN(bad); i++) {
        assert_int_equal(
            cl_aws_creds_parse_json(bad[i], strlen(bad[i]), "test", &c, err, sizeof err),
            CL_ERR_CORRUPT);
        assert_non_null(strstr(err, "credentials from test"));
    }
    const char ok[] = "{\"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\", \"Token\": \"\"}";
    assert_int_equal(cl_aws_creds_parse_json(ok, strlen(ok), "test", &c, err, sizeof err), CL_OK);
    assert_null(c.session_token);
    assert_int_equal(c.expiration, 0);
    cl_aws_credentials_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_environment_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_credentials_file_profile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_paths_under_home, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_file_fallback_and_region, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nothing_configured, setup, teardown),
        cmocka_unit_test_setup_teardown(test_provider_static_sources, setup, teardown),
        cmocka_unit_test_setup_teardown(test_provider_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ini_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_container_url_choice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_container_token, server_setup, server_teardown),
        cmocka_unit_test_setup_teardown(test_container_token_file, server_setup, server_teardown),
        cmocka_unit_test_setup_teardown(test_container_host_restricted, server_setup,
                                        server_teardown),
        cmocka_unit_test_setup_teardown(test_imds_v2, server_setup, server_teardown),
        cmocka_unit_test_setup_teardown(test_imds_unreachable, server_setup, server_teardown),
        cmocka_unit_test_setup_teardown(test_chain_order, server_setup, server_teardown),
        cmocka_unit_test_setup_teardown(test_refresh_before_expiry, server_setup, server_teardown),
        cmocka_unit_test_setup_teardown(test_failed_refresh, server_setup, server_teardown),
        cmocka_unit_test_setup_teardown(test_provider_threads, server_setup, server_teardown),
        cmocka_unit_test_setup_teardown(test_parse_json_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
