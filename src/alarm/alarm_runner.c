/* alarm_runner.c - the daemon's alarm thread around the pure engine: a tick per second,
 * transitions to the log and the notifier, state to DATA/alarms.json. */
#include "alarm_runner.h"

#include "alarm.h"
#include "alarm_notify.h"
#include "cl_limits.h"
#include "common.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_TRANSITIONS 32 /* per tick; more than the alarms there are */

struct cl_alarm_runner {
    struct cl_metrics *reg;
    struct cl_alarm_engine *e; /* under mu */
    struct cl_alarm_notifier *nt;
    char *state_path;
    int64_t tick_ms;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    int stopping;
};

int cl_alarm_write_file(const char *path, const char *data, size_t len)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    int ok = off == len && fsync(fd) == 0;
    int saved = errno;
    close(fd);
    if (!ok || rename(tmp, path) != 0) {
        saved = ok ? errno : saved;
        unlink(tmp);
        errno = saved;
        return -1;
    }
    return 0;
}

void cl_alarm_runner_render(struct cl_alarm_runner *r, struct cl_buf *out)
{
    pthread_mutex_lock(&r->mu);
    cl_alarm_engine_render_json(r->e, cl_now_ms(), out);
    pthread_mutex_unlock(&r->mu);
}

static void save_state(struct cl_alarm_runner *r)
{
    if (!r->state_path)
        return;
    struct cl_buf b;
    cl_buf_init(&b, CL_MAX_ALARM_STATE);
    cl_alarm_runner_render(r, &b);
    if (cl_buf_failed(&b)) /* sticky buffer: a cut-short state must not replace a whole one */
        cl_log(CL_LOG_WARN, "alarms: state exceeds its size limit; %s not updated", r->state_path);
    else if (cl_alarm_write_file(r->state_path, b.data, b.len) != 0)
        cl_log(CL_LOG_WARN, "alarms: cannot write %s: %s", r->state_path, strerror(errno));
    cl_buf_free(&b);
}

static void report(struct cl_alarm_runner *r, const struct cl_alarm_transition *t)
{
    cl_log(t->to == CL_ALARM_ALARM ? CL_LOG_WARN : CL_LOG_INFO, "alarm %s: %s -> %s: %s", t->name,
           cl_alarm_state_name(t->from), cl_alarm_state_name(t->to), t->reason);
    if (r->nt)
        cl_alarm_notifier_send(r->nt, t);
}

/* One evaluation: collectors (queue gauges), engine tick, reports. */
static void tick(struct cl_alarm_runner *r)
{
    struct cl_alarm_transition *ts = cl_calloc(MAX_TRANSITIONS, sizeof *ts);
    cl_metrics_collect(r->reg);
    pthread_mutex_lock(&r->mu);
    size_t n = cl_alarm_engine_tick(r->e, cl_now_ms(), ts, MAX_TRANSITIONS);
    pthread_mutex_unlock(&r->mu);
    for (size_t i = 0; i < n; i++)
        report(r, &ts[i]);
    if (n)
        save_state(r);
    free(ts);
}

static void *runner_main(void *arg)
{
    struct cl_alarm_runner *r = arg;
    int64_t next = cl_mono_ms();
    pthread_mutex_lock(&r->mu);
    while (!r->stopping) {
        int64_t now = cl_mono_ms();
        if (now < next) {
            cl_cond_wait_until_ms(&r->cv, &r->mu, next);
            continue;
        }
        next = CL_MAX(next + r->tick_ms, now + 1);
        pthread_mutex_unlock(&r->mu);
        tick(r);
        pthread_mutex_lock(&r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static void runner_free(struct cl_alarm_runner *r)
{
    cl_alarm_notifier_free(r->nt);
    cl_alarm_engine_free(r->e);
    free(r->state_path);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

struct cl_alarm_runner *cl_alarm_runner_start(struct cl_metrics *reg,
                                              const struct cl_alarm_config *cfg,
                                              const char *state_path, int64_t tick_ms, char *err,
                                              size_t err_len)
{
    struct cl_alarm_runner *r = cl_calloc(1, sizeof *r);
    r->reg = reg;
    r->tick_ms = CL_MAX(tick_ms, (int64_t)10);
    r->state_path = state_path && state_path[0] ? cl_strdup(state_path) : NULL;
    cl_cond_init_monotonic(&r->cv);
    pthread_mutex_init(&r->mu, NULL);
    r->e = cl_alarm_engine_new(reg, cfg->rules, cfg->n, cl_now_ms(), err, err_len);
    if (r->e)
        cl_alarm_engine_set_describer(r->e, cfg->describe, cfg->describe_arg);
    if (r->e && cfg->n_webhooks) {
        r->nt = cl_alarm_notifier_new(cfg->webhooks, cfg->n_webhooks, NULL);
        if (!r->nt)
            snprintf(err, err_len, "cannot start the webhook notifier thread");
    }
    if (!r->e || (cfg->n_webhooks && !r->nt)) {
        runner_free(r);
        return NULL;
    }
    size_t restored = r->state_path ? cl_alarm_restore_file(r->e, r->state_path) : 0;
    if (restored)
        cl_log(CL_LOG_INFO, "alarms: %zu state(s) restored from %s", restored, r->state_path);
    save_state(r);
    if (pthread_create(&r->thread, NULL, runner_main, r) != 0) {
        snprintf(err, err_len, "cannot start the alarm thread");
        runner_free(r);
        return NULL;
    }
    cl_log(CL_LOG_INFO, "alarms: %zu alarm(s), %zu webhook(s)%s%s", cl_alarm_engine_len(r->e),
           cfg->n_webhooks, r->state_path ? ", state in " : "", r->state_path ? r->state_path : "");
    return r;
}

int cl_alarm_runner_replace_rules(struct cl_alarm_runner *r, const struct cl_alarm_config *cfg,
                                  char *err, size_t err_len)
{
    struct cl_alarm_engine *e =
        cl_alarm_engine_new(r->reg, cfg->rules, cfg->n, cl_now_ms(), err, err_len);
    if (!e)
        return -1;
    /* The current states go to the file first, so alarms the new rules keep resume there. */
    save_state(r);
    if (r->state_path)
        cl_alarm_restore_file(e, r->state_path);
    pthread_mutex_lock(&r->mu);
    struct cl_alarm_engine *old = r->e;
    r->e = e;
    pthread_mutex_unlock(&r->mu);
    cl_alarm_engine_free(old);
    save_state(r);
    cl_log(CL_LOG_INFO, "alarms: reloaded, %zu alarm(s)", cl_alarm_engine_len(e));
    return 0;
}

void cl_alarm_runner_stop(struct cl_alarm_runner *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->stopping = 1;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    save_state(r);
    runner_free(r);
}
