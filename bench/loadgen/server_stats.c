/* server_stats.c - CPU and memory samples: this process (rusage) and the server (/proc). */
#include "loadgen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static bool proc_cpu_seconds(int pid, double *out)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* comm may contain spaces and parentheses */
    unsigned long long ut, st;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return false;
    *out = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
    return true;
}

long proc_status_kb(int pid, const char *key)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kb = -1;
    size_t kn = strlen(key);
    while (fgets(line, sizeof(line), f)) {
        if (!strncmp(line, key, kn) && line[kn] == ':') {
            kb = strtol(line + kn + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb;
}

void take_sample(const struct opts *o, struct sample *s)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    s->t_ns = now_ns();
    s->client_cpu_s = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                      (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    s->server_ok = o->server_pid && proc_cpu_seconds(o->server_pid, &s->server_cpu_s);
}
