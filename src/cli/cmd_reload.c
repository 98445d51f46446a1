/* cmd_reload.c - `cloudlog reload`: asks the running daemon of a data directory to reload
 * its API keys, TLS certificate and alarm rules (src/server/reload.h).
 *
 * A signal rather than an HTTP admin route: it needs no new listener or credential, and
 * the kernel lets only the daemon's own user (or root) send it. The daemon is found by
 * DATA/serve.pid; its answer is read from DATA/reload.state. */
#include "cli_common.h"
#include "commands.h"

#include "common.h"
#include "reload.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct reload_cfg {
    const char *data_dir;
    int64_t timeout_ms;
};

#define OFF(f) offsetof(struct reload_cfg, f)

static const struct cl_option reload_options[] = {
    CL_OPT_INCLUDE_ROWS(cl_cli_data_options, OFF(data_dir)),
    {"timeout", "CLOUDLOG_RELOAD_TIMEOUT", CL_OPT_DURATION, "10s", OFF(timeout_ms), "DURATION",
     "how long to wait for the daemon's answer", NULL, 0, 0},
};

static const char reload_summary[] =
    "Sends SIGHUP to the `cloudlog serve` of the data directory (found by DATA/serve.pid),\n"
    "which re-reads its API key file, TLS certificate and key, and alarm rules; a file that\n"
    "fails to load keeps the old settings. Waits for the daemon's answer and prints it.\n"
    "Exit status: 0 reloaded, 1 not running, refused or no answer, 2 usage error.";

const struct cl_cli_table cl_table_reload = {
    "cloudlog reload", "cloudlog reload [--data DIR]", reload_summary,
    reload_options,    CL_ARRAY_LEN(reload_options),   sizeof(struct reload_cfg)};

/* The first line of DATA/name into out ("" if absent). */
static void read_line(const char *data_dir, const char *name, char *out, size_t len)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", data_dir, name);
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    if (!fgets(out, (int)len, f))
        out[0] = '\0';
    fclose(f);
    out[strcspn(out, "\n")] = '\0';
}

/* 1 if pid is a running cloudlog (its command name, where /proc tells it). A pid past
 * pid_t's range is none: cast, 4294967297 would be 1, init. */
static int is_cloudlog(long pid)
{
    char path[64], comm[64] = "";
    if (pid <= 0 || pid > INT_MAX || kill((pid_t)pid, 0) != 0)
        return 0;
    snprintf(path, sizeof path, "/proc/%ld/comm", pid);
    FILE *f = fopen(path, "r");
    if (!f) /* no /proc: the signal check above is all there is */
        return access("/proc/self/comm", F_OK) != 0;
    int ok = fgets(comm, sizeof comm, f) && strncmp(comm, "cloudlog", 8) == 0;
    fclose(f);
    return ok;
}

/* Waits until reload.state differs from before; 0 with it in state, or -1 on timeout. */
static int wait_answer(const struct reload_cfg *cfg, const char *before, char *state, size_t len)
{
    int64_t deadline = cl_mono_ms() + cfg->timeout_ms;
    struct timespec tick = {0, 20 * 1000 * 1000};
    do {
        read_line(cfg->data_dir, CL_RELOAD_STATE_FILE, state, len);
        if (state[0] && strcmp(state, before) != 0)
            return 0;
        nanosleep(&tick, NULL);
    } while (cl_mono_ms() < deadline);
    return -1;
}

int cl_cmd_reload(int argc, char **argv)
{
    const char *cmd = "cloudlog reload";
    struct reload_cfg cfg = {0};
    size_t n_pos;
    int rc = cl_cli_options(cmd, cl_table_reload.usage, reload_summary, reload_options,
                            CL_ARRAY_LEN(reload_options), &cfg, argc, argv, NULL, 0, &n_pos);
    if (rc >= 0)
        return rc;
    char pid_text[32], before[2200], state[2200];
    read_line(cfg.data_dir, CL_PID_FILE, pid_text, sizeof pid_text);
    long pid = strtol(pid_text, NULL, 10);
    if (!is_cloudlog(pid)) {
        fprintf(stderr, "%s: no running cloudlog serve for %s (%s/%s %s)\n", cmd, cfg.data_dir,
                cfg.data_dir, CL_PID_FILE, pid_text[0] ? "names no running cloudlog" : "is absent");
        return 1;
    }
    read_line(cfg.data_dir, CL_RELOAD_STATE_FILE, before, sizeof before);
    if (kill((pid_t)pid, SIGHUP) != 0) {
        fprintf(stderr, "%s: cannot signal pid %ld: %s\n", cmd, pid, strerror(errno));
        return 1;
    }
    if (wait_answer(&cfg, before, state, sizeof state) != 0) {
        fprintf(stderr, "%s: pid %ld did not answer within the timeout; see its log\n", cmd, pid);
        return 1;
    }
    const char *detail = strchr(state, ' ');
    detail = detail ? detail + 1 : state;
    printf("%s: pid %ld: %s\n", cmd, pid, detail);
    return strncmp(detail, "ok", 2) == 0 ? 0 : 1;
}
