/* alarm_notify.c - the webhook notifier: bounded queue, one libcurl thread, retries with
 * exponential backoff and jitter, timeouts, abort on shutdown. */
#include "alarm_notify.h"

#include "cl_limits.h"
#include "common.h"
#include "json_write.h"
#include "log.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct job {
    char *url;         /* borrowed from the notifier */
    const char *shown; /* the URL as logs show it (redacted), borrowed too */
    char *body;
    char name[CL_ALARM_NAME_MAX];
    int attempt;    /* attempts made */
    int64_t due_ms; /* monotonic */
};

struct cl_alarm_notifier {
    struct cl_alarm_notify_opts o;
    char **urls;
    char **shown; /* per URL: "scheme://host[:port]/…", what logs may show */
    size_t n_urls;
    struct job *jobs; /* unordered, n_jobs <= o.queue_max */
    size_t n_jobs;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    int stopping;      /* under mu; also read by the transfer callback */
    unsigned seed;     /* jitter, thread only */
};

void cl_alarm_notify_opts_default(struct cl_alarm_notify_opts *o)
{
    *o = (struct cl_alarm_notify_opts){.queue_max = 256,
                                       .max_attempts = 6,
                                       .backoff_base_ms = 500,
                                       .backoff_max_ms = 30000,
                                       .timeout_ms = 5000};
}

static const char *slack_icon(enum cl_alarm_state s)
{
    return s == CL_ALARM_ALARM ? ":red_circle:"
           : s == CL_ALARM_OK  ? ":large_green_circle:"
                               : ":grey_question:";
}

void cl_alarm_notify_body(const struct cl_alarm_transition *t, struct cl_buf *b)
{
    char ts[32], text[CL_ALARM_REASON_MAX + 256];
    cl_alarm_format_ts(t->ts_ms, ts);
    snprintf(text, sizeof text, "%s cloudlog alarm *%s* is %s (was %s): %s", slack_icon(t->to),
             t->name, cl_alarm_state_name(t->to), cl_alarm_state_name(t->from), t->reason);
    cl_buf_append_str(b, "{\"alarm\":");
    cl_json_write_string(b, t->name, strlen(t->name));
    cl_buf_printf(b, ",\"old_state\":\"%s\",\"new_state\":\"%s\",\"reason\":",
                  cl_alarm_state_name(t->from), cl_alarm_state_name(t->to));
    cl_json_write_string(b, t->reason, strlen(t->reason));
    cl_buf_printf(b, ",\"timestamp\":\"%s\",\"timestamp_ms\":%lld,\"text\":", ts,
                  (long long)t->ts_ms);
    cl_json_write_string(b, text, strlen(text));
    cl_buf_append_str(b, "}");
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
    return size * n;
}

/* Non-zero aborts the transfer: shutdown. */
static int on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    struct cl_alarm_notifier *nt = arg;
    pthread_mutex_lock(&nt->mu);
    int stop = nt->stopping;
    pthread_mutex_unlock(&nt->mu);
    return stop;
}

/* One POST. Returns 0 delivered, 1 retry later, -1 give up (a 4xx other than 408/429). */
static int post(struct cl_alarm_notifier *nt, const struct job *j, char *why, size_t why_len)
{
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(why, why_len, "curl_easy_init failed");
        return 1;
    }
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, j->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, j->body);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)nt->o.timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)CL_MIN(nt->o.timeout_ms, 2000));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, nt);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        snprintf(why, why_len, "%s", curl_easy_strerror(rc));
        return 1;
    }
    snprintf(why, why_len, "HTTP %ld", status);
    if (status >= 200 && status < 300)
        return 0;
    return status >= 400 && status < 500 && status != 408 && status != 429 ? -1 : 1;
}

/* Exponential backoff with jitter: a delay in [d/2, d], d = base * 2^(attempt-1). */
static int64_t backoff_ms(struct cl_alarm_notifier *nt, int attempt)
{
    int64_t d = nt->o.backoff_base_ms;
    for (int i = 1; i < attempt && d < nt->o.backoff_max_ms; i++)
        d *= 2;
    d = CL_MIN(d, nt->o.backoff_max_ms);
    return d / 2 + (int64_t)(rand_r(&nt->seed) % (unsigned)(d / 2 + 1));
}

/* Index of the job due first, or -1 if none. Caller holds mu. */
static long next_job(const struct cl_alarm_notifier *nt)
{
    long best = -1;
    for (size_t i = 0; i < nt->n_jobs; i++)
        if (best < 0 || nt->jobs[i].due_ms < nt->jobs[best].due_ms)
            best = (long)i;
    return best;
}

static void wait_until(struct cl_alarm_notifier *nt, int64_t due_ms)
{
    struct timespec ts;
    if (due_ms < 0) {
        pthread_cond_wait(&nt->cv, &nt->mu);
        return;
    }
    ts.tv_sec = (time_t)(due_ms / 1000);
    ts.tv_nsec = (long)(due_ms % 1000) * 1000000;
    pthread_cond_timedwait(&nt->cv, &nt->mu, &ts);
}

/* Runs one attempt of job (taken out of the queue, mu not held); requeues it on retry. */
static void attempt(struct cl_alarm_notifier *nt, struct job j)
{
    char why[256];
    j.attempt++;
    int rc = post(nt, &j, why, sizeof why);
    if (rc == 0) {
        cl_log(CL_LOG_INFO, "alarm %s: webhook %s delivered (attempt %d)", j.name, j.shown,
               j.attempt);
    } else if (rc < 0 || j.attempt >= nt->o.max_attempts) {
        cl_log(CL_LOG_WARN, "alarm %s: webhook %s failed after %d attempt(s) (%s); dropped", j.name,
               j.shown, j.attempt, why);
    } else {
        j.due_ms = cl_mono_ms() + backoff_ms(nt, j.attempt);
        pthread_mutex_lock(&nt->mu);
        int room = nt->n_jobs < nt->o.queue_max; /* new transitions may have taken the slot */
        if (room)
            nt->jobs[nt->n_jobs++] = j;
        pthread_mutex_unlock(&nt->mu);
        if (room)
            return;
        cl_log(CL_LOG_WARN, "alarm %s: webhook queue full; retry of %s dropped", j.name, j.shown);
    }
    free(j.body);
}

static void *notify_main(void *arg)
{
    struct cl_alarm_notifier *nt = arg;
    pthread_mutex_lock(&nt->mu);
    while (!nt->stopping) {
        long i = next_job(nt);
        if (i < 0 || nt->jobs[i].due_ms > cl_mono_ms()) {
            wait_until(nt, i < 0 ? -1 : nt->jobs[i].due_ms);
            continue;
        }
        struct job j = nt->jobs[i];
        nt->jobs[i] = nt->jobs[--nt->n_jobs];
        pthread_mutex_unlock(&nt->mu);
        attempt(nt, j);
        pthread_mutex_lock(&nt->mu);
    }
    pthread_mutex_unlock(&nt->mu);
    return NULL;
}

static void global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* A webhook URL as logs may show it: its path, query and user info are often the
 * secret (Slack's /services/T…/B…/token), so only "scheme://host[:port]/…" is kept,
 * parsed by libcurl's URL API like the request itself. Caller frees. */
static char *redact_url(const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *out = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_NO_DEFAULT_PORT); /* absent: fine */
        size_t n = strlen(scheme) + strlen(host) + (port ? strlen(port) : 0) + 16;
        out = cl_malloc(n);
        snprintf(out, n, "%s://%s%s%s/\u2026", scheme, host, port ? ":" : "", port ? port : "");
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return out ? out : cl_strdup("(unparsable webhook URL)");
}

struct cl_alarm_notifier *cl_alarm_notifier_new(char *const *urls, size_t n_urls,
                                                const struct cl_alarm_notify_opts *o)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, global_init);
    struct cl_alarm_notifier *nt = cl_calloc(1, sizeof *nt);
    if (o)
        nt->o = *o;
    else
        cl_alarm_notify_opts_default(&nt->o);
    nt->o.queue_max = CL_MAX(nt->o.queue_max, (size_t)1);
    nt->o.max_attempts = CL_MAX(nt->o.max_attempts, 1);
    nt->urls = cl_calloc(n_urls ? n_urls : 1, sizeof *nt->urls);
    nt->shown = cl_calloc(n_urls ? n_urls : 1, sizeof *nt->shown);
    for (size_t i = 0; i < n_urls; i++) {
        nt->urls[i] = cl_strdup(urls[i]);
        nt->shown[i] = redact_url(urls[i]);
    }
    nt->n_urls = n_urls;
    nt->jobs = cl_calloc(nt->o.queue_max, sizeof *nt->jobs);
    nt->seed = (unsigned)cl_now_ms();
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&nt->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&nt->mu, NULL);
    if (pthread_create(&nt->thread, NULL, notify_main, nt) != 0) {
        nt->stopping = -1; /* no thread to join */
        cl_alarm_notifier_free(nt);
        return NULL;
    }
    return nt;
}

void cl_alarm_notifier_send(struct cl_alarm_notifier *nt, const struct cl_alarm_transition *t)
{
    struct cl_buf b;
    cl_buf_init(&b, CL_MAX_WEBHOOK_BODY);
    cl_alarm_notify_body(t, &b);
    if (cl_buf_failed(&b)) { /* sticky buffer: one check; never post a cut-short body */
        cl_log(CL_LOG_WARN, "alarm %s: webhook body exceeds its size limit; not sent", t->name);
        cl_buf_free(&b);
        return;
    }
    size_t dropped = 0;
    pthread_mutex_lock(&nt->mu);
    for (size_t u = 0; u < nt->n_urls; u++) {
        if (nt->n_jobs == nt->o.queue_max) {
            dropped++;
            continue;
        }
        struct job *j = &nt->jobs[nt->n_jobs++];
        *j = (struct job){
            .url = nt->urls[u], .shown = nt->shown[u], .body = cl_strdup(b.data), .due_ms = 0};
        snprintf(j->name, sizeof j->name, "%s", t->name);
    }
    pthread_cond_signal(&nt->cv);
    pthread_mutex_unlock(&nt->mu);
    cl_buf_free(&b);
    if (dropped)
        cl_log(CL_LOG_WARN,
               "alarm %s: webhook queue full (%zu pending); %zu notification(s) "
               "dropped",
               t->name, nt->o.queue_max, dropped);
}

void cl_alarm_notifier_free(struct cl_alarm_notifier *nt)
{
    if (!nt)
        return;
    pthread_mutex_lock(&nt->mu);
    int joinable = nt->stopping == 0;
    nt->stopping = 1;
    pthread_cond_signal(&nt->cv);
    pthread_mutex_unlock(&nt->mu);
    if (joinable)
        pthread_join(nt->thread, NULL);
    if (nt->n_jobs)
        cl_log(CL_LOG_WARN, "alarms: %zu webhook notification(s) not delivered at shutdown",
               nt->n_jobs);
    for (size_t i = 0; i < nt->n_jobs; i++)
        free(nt->jobs[i].body);
    for (size_t i = 0; i < nt->n_urls; i++) {
        free(nt->urls[i]);
        free(nt->shown[i]);
    }
    free(nt->urls);
    free(nt->shown);
    free(nt->jobs);
    pthread_cond_destroy(&nt->cv);
    pthread_mutex_destroy(&nt->mu);
    free(nt);
}
