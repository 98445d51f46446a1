/* moto_test.c - moto_server for C tests (see moto_test.h). */
#include "moto_test.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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
    fprintf(stderr, "SKIPPED: moto/boto3 not importable by python3; %s not run\n", what);
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
