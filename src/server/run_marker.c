/* run_marker.c - DATA/serve.state: "running|stopped" on the first line, then the times
 * (ms) of recent unclean restarts, one per line. Written to a temporary file and renamed. */
#include "run_marker.h"

#include "common.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TIMES 32

struct history {
    int running; /* the file said "running" */
    int64_t t[MAX_TIMES];
    int n;
};

static void state_path(const char *data_dir, char *out, size_t len, const char *suffix)
{
    snprintf(out, len, "%s/serve.state%s", data_dir, suffix);
}

/* Reads the file if any (a missing or unreadable file is an empty history). */
static void read_history(const char *data_dir, struct history *h)
{
    char path[4200], line[64];
    memset(h, 0, sizeof *h);
    state_path(data_dir, path, sizeof path, "");
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    if (fgets(line, sizeof line, f))
        h->running = strncmp(line, "running", 7) == 0;
    while (h->n < MAX_TIMES && fgets(line, sizeof line, f))
        h->t[h->n++] = strtoll(line, NULL, 10);
    fclose(f);
}

static void write_history(const char *data_dir, const struct history *h, const char *status)
{
    char path[4200], tmp[4210];
    state_path(data_dir, path, sizeof path, "");
    state_path(data_dir, tmp, sizeof tmp, ".tmp");
    FILE *f = fopen(tmp, "w");
    int ok = f != NULL;
    if (f) {
        fprintf(f, "%s\n", status);
        for (int i = 0; i < h->n; i++)
            fprintf(f, "%lld\n", (long long)h->t[i]);
        ok = fclose(f) == 0 && rename(tmp, path) == 0;
    }
    if (!ok)
        cl_log(CL_LOG_WARN, "cannot write %s: %s", path, strerror(errno));
}

int cl_run_marker_begin(const char *data_dir, int64_t now_ms)
{
    struct history h, kept = {0};
    read_history(data_dir, &h);
    for (int i = 0; i < h.n; i++)
        if (now_ms - h.t[i] < CL_RUN_WINDOW_MS && kept.n < MAX_TIMES - 1)
            kept.t[kept.n++] = h.t[i];
    if (h.running) {
        kept.t[kept.n++] = now_ms;
        cl_log(CL_LOG_WARN,
               "the previous run on %s did not stop cleanly (crash, kill -9 or power loss); "
               "%d unclean restart(s) in the last %d minutes",
               data_dir, kept.n, CL_RUN_WINDOW_MS / 60000);
    }
    write_history(data_dir, &kept, "running");
    return h.running ? kept.n : 0;
}

void cl_run_marker_end(const char *data_dir)
{
    struct history h;
    read_history(data_dir, &h);
    write_history(data_dir, &h, "stopped");
}
