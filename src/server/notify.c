/* notify.c - readiness, shutdown and watchdog messages to systemd (Type=notify units).
 *
 * libsystemd's sd_notify writes one datagram to $NOTIFY_SOCKET and is a no-op without it,
 * so the daemon behaves the same outside systemd. The watchdog pings come from their own
 * thread: the main thread sleeps in sigwait, and a ping means the process is scheduled and
 * its threads can run, which is what WatchdogSec= is there to detect. */
#include "notify.h"

#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>
#include <time.h>

static pthread_t watchdog_thread;
static int watchdog_running;
static pthread_mutex_t watchdog_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t watchdog_wake = PTHREAD_COND_INITIALIZER;
static int watchdog_stop;
static uint64_t watchdog_period_us;

static void *watchdog_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&watchdog_lock);
    while (!watchdog_stop) {
        sd_notify(0, "WATCHDOG=1");
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        uint64_t ns = (uint64_t)until.tv_nsec + (watchdog_period_us / 2) * 1000;
        until.tv_sec += (time_t)(ns / 1000000000);
        until.tv_nsec = (long)(ns % 1000000000);
        int rc = 0;
        while (!watchdog_stop && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&watchdog_wake, &watchdog_lock, &until);
    }
    pthread_mutex_unlock(&watchdog_lock);
    return NULL;
}

void cl_notify_ready(const char *status)
{
    char msg[600];
    snprintf(msg, sizeof msg, "READY=1\nSTATUS=%s", status);
    if (sd_notify(0, msg) <= 0)
        return; /* not under systemd (or the socket is gone): no watchdog either */
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
        return;
    watchdog_period_us = usec;
    watchdog_stop = 0;
    if (pthread_create(&watchdog_thread, NULL, watchdog_main, NULL) == 0)
        watchdog_running = 1;
    else
        cl_log(CL_LOG_WARN, "cannot start the systemd watchdog thread");
}

void cl_notify_stopping(void)
{
    sd_notify(0, "STOPPING=1\nSTATUS=stopping");
    if (!watchdog_running)
        return;
    pthread_mutex_lock(&watchdog_lock);
    watchdog_stop = 1;
    pthread_cond_signal(&watchdog_wake);
    pthread_mutex_unlock(&watchdog_lock);
    pthread_join(watchdog_thread, NULL);
    watchdog_running = 0;
}
