/* moto_test.c - moto_server for C tests (see moto_test.h). */
#include "moto_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

int cl_moto_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

static int port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

int cl_moto_available(const char *what)
{
    if (system("python3 -c 'import moto, boto3' >/dev/null 2>&1") == 0)
        return 1;
    const char *ci = getenv("CI");
    if (ci && strcmp(ci, "true") == 0) {
        fprintf(stderr, "moto/boto3 not importable by python3 (required when CI=true)\n");
        return -1;
    }
    fprintf(stderr,
            "SKIPPED: moto/boto3 not importable by python3; %s not run (scripts/setup.sh "
            "installs them with pip when a Python package index is reachable)\n",
            what);
    return 0;
}

int cl_moto_start(struct cl_moto *m, int verify, const char *log_path)
{
    m->port = cl_moto_free_port();
    char port[16];
    snprintf(port, sizeof port, "%d", m->port);
    m->pid = fork();
    if (m->pid == 0) {
        setpgid(0, 0);
        int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (verify)
            setenv("INITIAL_NO_AUTH_ACTION_COUNT", "3", 1);
        execlp("python3", "python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", port,
               (char *)NULL);
        _exit(127);
    }
    if (m->pid < 0)
        return -1;
    setpgid(m->pid, m->pid);
    for (int i = 0; i < 300; i++) { /* bounded: 30 s */
        if (port_open(m->port))
            return 0;
        if (waitpid(m->pid, NULL, WNOHANG) == m->pid) {
            m->pid = -1;
            return -1;
        }
        usleep(100 * 1000);
    }
    return -1;
}

void cl_moto_stop(struct cl_moto *m)
{
    if (m->pid <= 0)
        return;
    kill(-m->pid, SIGTERM);
    for (int i = 0; i < 50; i++) {
        if (waitpid(m->pid, NULL, WNOHANG) == m->pid) {
            m->pid = -1;
            return;
        }
        usleep(100 * 1000);
    }
    kill(-m->pid, SIGKILL);
    waitpid(m->pid, NULL, 0);
    m->pid = -1;
}

int cl_moto_python(const struct cl_moto *m, const char *tmpdir, const char *code, char *out,
                   size_t out_len)
{
    static int seq;
    char path[600];
    snprintf(path, sizeof path, "%s/moto_helper_%d_%d.py", tmpdir, (int)getpid(), seq++);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f,
            "import os, sys, json, hashlib, boto3\nE='http://127.0.0.1:%d'\n"
            "def client(service):\n"
            "    return boto3.client(service, endpoint_url=E, region_name='us-east-1',\n"
            "        aws_access_key_id=os.environ.get('CL_AKID', 'x'),\n"
            "        aws_secret_access_key=os.environ.get('CL_SECRET', 'y'))\n%s",
            m->port, code);
    fclose(f);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "timeout 60 python3 %s", path);
    FILE *p = popen(cmd, "r");
    if (!p) {
        unlink(path);
        return -1;
    }
    size_t n = fread(out, 1, out_len - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    unlink(path);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Inline policies only: moto does not load AWS managed policies. */
static const char iam_py[] =
    "kw=dict(endpoint_url=E, region_name='us-east-1', aws_access_key_id='AKIDSETUP',\n"
    "        aws_secret_access_key='setup')\n"
    "iam=boto3.client('iam', **kw)\n"
    "iam.create_user(UserName='cl')\n"
    "iam.put_user_policy(UserName='cl', PolicyName='all', PolicyDocument='{\"Version\":"
    "\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}')\n"
    "k=iam.create_access_key(UserName='cl')['AccessKey']\n"
    "print(k['AccessKeyId'], k['SecretAccessKey'])\n";

int cl_moto_iam_setup(const struct cl_moto *m, const char *tmpdir, char *akid, char *secret)
{
    char out[512] = "";
    if (cl_moto_python(m, tmpdir, iam_py, out, sizeof out) != 0 ||
        sscanf(out, "%127s %127s", akid, secret) != 2) {
        snprintf(secret, 128, "%.120s", out);
        return -1;
    }
    return 0;
}

void cl_moto_use_key(const char *akid, const char *secret)
{
    setenv("CL_AKID", akid, 1);
    setenv("CL_SECRET", secret, 1);
    setenv("AWS_ACCESS_KEY_ID", akid, 1);
    setenv("AWS_SECRET_ACCESS_KEY", secret, 1);
    unsetenv("AWS_SESSION_TOKEN");
    setenv("AWS_REGION", "us-east-1", 1);
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_ENDPOINT_URL_S3");
    unsetenv("AWS_ENDPOINT_URL_SQS");
}

int cl_moto_start_verified(struct cl_moto *m, const char *tmpdir, const char *log_path, char *akid,
                           char *secret)
{
    if (cl_moto_start(m, 1, log_path) != 0) {
        fprintf(stderr, "moto_server did not start (see %s)\n", log_path);
        cl_moto_stop(m);
        return -1;
    }
    if (cl_moto_iam_setup(m, tmpdir, akid, secret) != 0) {
        fprintf(stderr, "moto IAM setup failed: %s\n", secret);
        cl_moto_stop(m);
        return -1;
    }
    cl_moto_use_key(akid, secret);
    return 0;
}

int cl_faultproxy_start(struct cl_moto *p, int upstream_port, const char *tmpdir,
                        const char *log_path)
{
    static int seq;
    char script[1024], up[64], port_file[600];
    const char *slash = strrchr(__FILE__, '/'); /* .../tests/unit/moto_test.c */
    int dir_len = slash ? (int)(slash + 1 - __FILE__) : 0;
    snprintf(script, sizeof script, "%.*s../tools/faultproxy.py", dir_len, __FILE__);
    p->pid = -1;
    p->port = 0;
    if (access(script, R_OK) != 0) {
        fprintf(stderr, "faultproxy not found at %s\n", script);
        return -1;
    }
    snprintf(up, sizeof up, "http://127.0.0.1:%d", upstream_port);
    snprintf(port_file, sizeof port_file, "%s/faultproxy_%d_%d.port", tmpdir, (int)getpid(), seq++);
    unlink(port_file);
    p->pid = fork();
    if (p->pid == 0) {
        setpgid(0, 0);
        int fd = log_path ? open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644) : -1;
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execlp("python3", "python3", script, "--upstream", up, "--port-file", port_file,
               (char *)NULL);
        _exit(127);
    }
    if (p->pid < 0) {
        fprintf(stderr, "faultproxy: fork: %s\n", strerror(errno));
        return -1;
    }
    setpgid(p->pid, p->pid);
    for (int i = 0; i < 200 && p->port <= 0; i++) { /* bounded: 20 s */
        FILE *f = fopen(port_file, "r");            /* written whole (renamed into place) */
        if (!f || fscanf(f, "%d", &p->port) != 1)
            p->port = 0;
        if (f)
            fclose(f);
        if (p->port > 0)
            break;
        if (waitpid(p->pid, NULL, WNOHANG) == p->pid) {
            p->pid = -1;
            break;
        }
        usleep(100 * 1000);
    }
    unlink(port_file);
    if (p->port <= 0) {
        fprintf(stderr, "faultproxy (%s) did not start%s%s%s\n", script, log_path ? " (see " : "",
                log_path ? log_path : "", log_path ? ")" : "");
        cl_moto_stop(p);
        p->port = 0;
        return -1;
    }
    return 0;
}

static int send_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The control request of cl_faultproxy_control; the body of a 200 answer on the heap, or NULL
 * after printing why. */
static char *control_body(const struct cl_moto *p, const char *method, const char *path,
                          const char *body)
{
    size_t blen = body ? strlen(body) : 0, len = 0, cap = 1 << 16;
    char head[1024], *buf = NULL;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {30, 0};
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)p->port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int hl = snprintf(head, sizeof head,
                      "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                      method, path, p->port, blen);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0 ||
        connect(fd, (struct sockaddr *)&a, sizeof a) != 0 || hl < 0 || (size_t)hl >= sizeof head ||
        send_all(fd, head, (size_t)hl) != 0 || send_all(fd, body ? body : "", blen) != 0)
        goto io_error;
    /* Connection: close - the answer ends where the proxy closes the connection. */
    for (;;) {
        if (!buf || len + 1 >= cap) {
            if (buf)
                cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb)
                goto io_error;
            buf = nb;
        }
        ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto io_error;
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    int status = 0;
    char *start = strstr(buf, "\r\n\r\n");
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1 || !start) {
        fprintf(stderr, "faultproxy %s %s: not an HTTP answer: %.200s\n", method, path, buf);
        free(buf);
        return NULL;
    }
    start += 4;
    if (status != 200) {
        fprintf(stderr, "faultproxy %s %s: HTTP %d %.1000s\n", method, path, status, start);
        free(buf);
        return NULL;
    }
    memmove(buf, start, strlen(start) + 1);
    return buf;

io_error:
    fprintf(stderr, "faultproxy %s %s (port %d): %s\n", method, path, p->port, strerror(errno));
    if (fd >= 0)
        close(fd);
    free(buf);
    return NULL;
}

int cl_faultproxy_control(const struct cl_moto *p, const char *method, const char *path,
                          const char *body, char *out, size_t out_len)
{
    char *answer = control_body(p, method, path, body);
    if (!answer)
        return -1;
    size_t n = strlen(answer);
    int rc = 0;
    if (out && n >= out_len) {
        fprintf(stderr, "faultproxy %s %s: answer of %zu bytes does not fit in %zu\n", method, path,
                n, out_len);
        rc = -1;
    } else if (out) {
        memcpy(out, answer, n + 1);
    }
    free(answer);
    return rc;
}

/* In one flat JSON object [o, end): the string value of "key" (the key as json.dumps writes
 * it, "key": "...") copied to val, or "" when absent or null. */
static void json_field(const char *o, const char *end, const char *key, char *val, size_t len)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": \"", key);
    val[0] = '\0';
    const char *v = strstr(o, pat);
    if (!v || v >= end)
        return;
    v += strlen(pat);
    size_t n = 0;
    for (; v < end && *v != '"' && n + 1 < len; v++) {
        if (*v == '\\' && v + 1 < end)
            v++;
        val[n++] = *v;
    }
    val[n] = '\0';
}

int cl_faultproxy_count(const struct cl_moto *p, const char *target, const char *action)
{
    char *log = control_body(p, "GET", "/__faults/log", NULL);
    if (!log)
        return -1;
    int count = 0, in_str = 0;
    size_t tl = strlen(target);
    /* a JSON list of flat objects, one per request: find each object's bounds, skipping
     * braces inside strings */
    for (char *c = log, *obj = NULL; *c; c++) {
        if (in_str) {
            if (*c == '\\' && c[1])
                c++;
            else if (*c == '"')
                in_str = 0;
        } else if (*c == '"') {
            in_str = 1;
        } else if (*c == '{') {
            obj = c;
        } else if (*c == '}' && obj) {
            char t[256], a[64];
            *c = '\0'; /* strstr in json_field stays inside this object */
            json_field(obj, c, "target", t, sizeof t);
            json_field(obj, c, "action", a, sizeof a);
            *c = '}';
            size_t n = strlen(t);
            int named = strcmp(t, target) == 0 ||
                        (n > tl && t[n - tl - 1] == '.' && strcmp(t + n - tl, target) == 0);
            count += named && strcmp(a, action) == 0;
            obj = NULL;
        }
    }
    free(log);
    return count;
}

struct cl_moto cl_test_proxy = CL_MOTO_INIT;

int cl_test_proxy_teardown(void **state)
{
    (void)state;
    cl_moto_stop(&cl_test_proxy);
    return 0;
}
