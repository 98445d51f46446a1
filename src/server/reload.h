/* reload.h - reloading without a restart (SIGHUP, `cloudlog reload`).
 *
 * A reload re-reads the files the options name: the API key file, the TLS certificate and
 * key, the alarm rules. Each is loaded and checked whole before it replaces the current
 * one; a file that fails keeps the old settings and is logged. Requests in progress keep
 * the API keys they were checked against (a reference-counted snapshot) and TLS handshakes
 * in progress the certificate they started with. The options themselves (flags and
 * CLOUDLOG_* variables) are fixed for the life of the process.
 *
 * `cloudlog reload` finds the daemon by DATA/serve.pid (written at start, removed at a
 * clean stop), sends SIGHUP and waits for DATA/reload.state, where the daemon writes
 * "GENERATION ok|failed: DETAIL" after each reload. */
#ifndef CL_RELOAD_H
#define CL_RELOAD_H

#include <stddef.h>

struct cl_daemon;

#define CL_PID_FILE "serve.pid"
#define CL_RELOAD_STATE_FILE "reload.state"

/* Reloads what can be reloaded; logs each part and writes DATA/reload.state. Returns 0
 * if every part loaded, -1 if any kept its old settings. Main thread only. */
int cl_daemon_reload(struct cl_daemon *d);

/* Writes DATA/serve.pid (problems are logged, never fatal) / removes it. */
void cl_pid_file_write(const char *data_dir);
void cl_pid_file_remove(const char *data_dir);

#endif
