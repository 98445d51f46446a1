/* process_metrics.c - the standard process_* metrics and cloudlog_build_info.
 *
 * Names, types and meanings follow the Prometheus client libraries' process collector
 * (client_golang's process_collector, client_python's ProcessCollector), so dashboards
 * and alerts written for any exporter work unchanged. They are not in the metrics
 * registry: they have no cloudlog_ prefix and no EMF counterpart, and are read from
 * /proc at each scrape. */
#include "process_metrics.h"

#include "cl_version.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

struct proc_stat {
    double cpu_seconds;      /* utime + stime */
    double start_since_boot; /* seconds after boot */
    double vsize;            /* bytes */
    double rss;              /* bytes */
};

/* Fields 14, 15, 22, 23, 24 of /proc/self/stat (proc(5)); the command name (field 2) may
 * hold spaces and parentheses, so parsing starts after its last ')'. Returns 0 or -1. */
static int read_self_stat(struct proc_stat *ps)
{
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    unsigned long utime, stime, vsize;
    unsigned long long start;
    long rss;
    if (!p || sscanf(p + 2,
                     "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %*d "
                     "%*d %llu %lu %ld",
                     &utime, &stime, &start, &vsize, &rss) != 5)
        return -1;
    double ticks = (double)sysconf(_SC_CLK_TCK);
    ps->cpu_seconds = (double)(utime + stime) / ticks;
    ps->start_since_boot = (double)start / ticks;
    ps->vsize = (double)vsize;
    ps->rss = (double)rss * (double)sysconf(_SC_PAGESIZE);
    return 0;
}

/* The boot time (btime in /proc/stat, seconds since the epoch), or -1. */
static double boot_time(void)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return -1;
    char line[256];
    double bt = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "btime %lf", &bt) == 1)
            break;
    fclose(f);
    return bt;
}

/* Entries in /proc/self/fd (the directory's own descriptor not counted), or -1. */
static long open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1;
}

static void metric(struct cl_buf *out, const char *name, const char *type, const char *help,
                   double v)
{
    cl_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %.15g\n", name, help, name, type, name, v);
}

static void render_build_info(struct cl_buf *out)
{
    cl_buf_printf(out,
                  "# HELP cloudlog_build_info The running cloudlog's version (and source "
                  "commit); always 1.\n# TYPE cloudlog_build_info gauge\n"
                  "cloudlog_build_info{version=\"%s\"",
                  CL_VERSION);
    if (CL_COMMIT[0])
        cl_buf_printf(out, ",commit=\"%s\"", CL_COMMIT);
    cl_buf_append_str(out, "} 1\n");
}

void cl_process_metrics_render(struct cl_buf *out)
{
    render_build_info(out);
    struct proc_stat ps;
    if (read_self_stat(&ps) == 0) {
        metric(out, "process_cpu_seconds_total", "counter",
               "Total user and system CPU time spent in seconds.", ps.cpu_seconds);
        metric(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
               ps.rss);
        metric(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
               ps.vsize);
        double bt = boot_time();
        if (bt >= 0)
            metric(out, "process_start_time_seconds", "gauge",
                   "Start time of the process since unix epoch in seconds.",
                   bt + ps.start_since_boot);
    }
    long fds = open_fds();
    if (fds >= 0)
        metric(out, "process_open_fds", "gauge", "Number of open file descriptors.", (double)fds);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        metric(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
               (double)rl.rlim_cur);
}
