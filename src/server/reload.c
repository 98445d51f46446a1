/* reload.c - SIGHUP: API keys, TLS certificate and key, alarm rules (reload.h). */
#include "reload.h"

#include "alarm_runner.h"
#include "common.h"
#include "daemon.h"
#include "log.h"
#include "tls.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct cl_api_keys *cl_daemon_keys(struct cl_daemon *d)
{
    if (!d->keyed)
        return NULL;
    pthread_mutex_lock(&d->keys_mu);
    struct cl_api_keys *k = cl_api_keys_ref(d->keys);
    pthread_mutex_unlock(&d->keys_mu);
    return k;
}

/* The new key file replaces the snapshot; requests holding the old one finish with it. */
static int reload_keys(struct cl_daemon *d, char *err, size_t err_len)
{
    struct cl_api_keys *k = cl_api_keys_load(d->cfg->api_key_file, err, err_len);
    if (!k)
        return -1;
    pthread_mutex_lock(&d->keys_mu);
    struct cl_api_keys *old = d->keys;
    d->keys = k;
    pthread_mutex_unlock(&d->keys_mu);
    cl_api_keys_free(old); /* the daemon's reference; holders keep theirs */
    cl_log(CL_LOG_INFO, "reload: API keys: %zu key(s) from %s", cl_api_keys_count(k),
           d->cfg->api_key_file);
    return 0;
}

static int reload_alarms(struct cl_daemon *d, char *err, size_t err_len)
{
    struct cl_alarm_config ac;
    cl_alarm_config_defaults(&ac);
    int rc = cl_alarm_config_load(&ac, d->cfg->alarms_config, err, err_len);
    if (rc == 0)
        rc = cl_alarm_runner_replace_rules(d->alarms, &ac, err, err_len);
    cl_alarm_config_free(&ac);
    return rc;
}

/* Runs one part; on failure logs it and appends it to failed. Returns 0 or -1. */
static int part(struct cl_daemon *d, const char *what,
                int (*fn)(struct cl_daemon *d, char *err, size_t err_len), char *failed,
                size_t failed_len)
{
    char err[512] = "";
    if (fn(d, err, sizeof err) == 0)
        return 0;
    cl_log(CL_LOG_ERROR, "reload: %s refused, keeping the old settings: %s", what, err);
    size_t n = strlen(failed);
    snprintf(failed + n, failed_len - n, "%s%s: %s", n ? "; " : "", what, err);
    return -1;
}

static int reload_tls(struct cl_daemon *d, char *err, size_t err_len)
{
    if (cl_tls_reload(d->tls, d->cfg, err, err_len) != 0)
        return -1;
    cl_log(CL_LOG_INFO, "reload: TLS certificate %s and key %s", d->cfg->tls_cert, d->cfg->tls_key);
    return 0;
}

static void write_state(const char *data_dir, unsigned gen, const char *failed)
{
    char path[4200], line[2200];
    snprintf(path, sizeof path, "%s/%s", data_dir, CL_RELOAD_STATE_FILE);
    int n = snprintf(line, sizeof line, "%u %s%s\n", gen, failed[0] ? "failed: " : "ok", failed);
    if (cl_alarm_write_file(path, line, (size_t)CL_MIN(n, (int)sizeof line - 1)) != 0)
        cl_log(CL_LOG_WARN, "reload: cannot write %s: %s", path, strerror(errno));
}

int cl_daemon_reload(struct cl_daemon *d)
{
    static unsigned generation; /* main thread only */
    char failed[2048] = "";
    int rc = 0;
    cl_log(CL_LOG_INFO, "received SIGHUP: reloading");
    if (d->keyed)
        rc |= part(d, "API key file", reload_keys, failed, sizeof failed);
    if (d->tls)
        rc |= part(d, "TLS certificate", reload_tls, failed, sizeof failed);
    if (d->alarms && d->cfg->alarms_config)
        rc |= part(d, "alarm rules", reload_alarms, failed, sizeof failed);
    write_state(d->cfg->data_dir, ++generation, failed);
    cl_log(rc ? CL_LOG_WARN : CL_LOG_INFO, "reload %s", rc ? "incomplete (see above)" : "done");
    return rc ? -1 : 0;
}

void cl_pid_file_write(const char *data_dir)
{
    char path[4200], line[32];
    snprintf(path, sizeof path, "%s/%s", data_dir, CL_PID_FILE);
    int n = snprintf(line, sizeof line, "%ld\n", (long)getpid());
    if (cl_alarm_write_file(path, line, (size_t)n) != 0)
        cl_log(CL_LOG_WARN, "cannot write %s (cloudlog reload will not find this daemon): %s", path,
               strerror(errno));
}

void cl_pid_file_remove(const char *data_dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", data_dir, CL_PID_FILE);
    unlink(path);
}
