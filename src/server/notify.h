/* notify.h - the systemd service protocol (sd_notify): READY, STOPPING, WATCHDOG. */
#ifndef CL_NOTIFY_H
#define CL_NOTIFY_H

/* Tells the service manager the daemon listens (READY=1, with a STATUS line) and, when the
 * unit sets WatchdogSec=, starts a thread that sends WATCHDOG=1 every half period.
 * Does nothing when NOTIFY_SOCKET is unset (not started by systemd). */
void cl_notify_ready(const char *status);

/* Sends STOPPING=1 and stops the watchdog thread (joins it). Safe without cl_notify_ready. */
void cl_notify_stopping(void);

#endif
