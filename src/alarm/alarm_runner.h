/* alarm_runner.h - the daemon's alarm thread: samples the registry and evaluates every
 * second, logs and notifies transitions, keeps DATA/alarms.json current. */
#ifndef CL_ALARM_RUNNER_H
#define CL_ALARM_RUNNER_H

#include "alarm_config.h"
#include "buf.h"
#include "metrics.h"

#include <stddef.h>
#include <stdint.h>

struct cl_alarm_runner;

/* Builds the engine from cfg's enabled rules over reg (borrowed: it must outlive the
 * runner; its collectors run once per tick), starts the webhook notifier if cfg has
 * webhooks, writes state_path (copied; "" or NULL: no file) and starts the thread
 * ticking every tick_ms (1000 in the daemon). Returns NULL with err set on a bad rule
 * or a thread that cannot start. Stop with cl_alarm_runner_stop. */
struct cl_alarm_runner *cl_alarm_runner_start(struct cl_metrics *reg,
                                              const struct cl_alarm_config *cfg,
                                              const char *state_path, int64_t tick_ms, char *err,
                                              size_t err_len);

/* Appends the current states and recent transitions as JSON (cl_alarm_engine_render_json).
 * Any thread. */
void cl_alarm_runner_render(struct cl_alarm_runner *r, struct cl_buf *out);

/* Replaces the rules with cfg's (reload): builds the new engine first and keeps the old
 * one on error (-1, err set); alarms of the same name keep their states (through the state
 * file). Webhooks stay as started. Any thread; 0 on success. */
int cl_alarm_runner_replace_rules(struct cl_alarm_runner *r, const struct cl_alarm_config *cfg,
                                  char *err, size_t err_len);

/* Joins the thread, stops the notifier and frees the runner. NULL is ignored. */
void cl_alarm_runner_stop(struct cl_alarm_runner *r);

/* Writes data to path atomically (path.tmp, fsync, rename). Returns 0 or -1 (errno). */
int cl_alarm_write_file(const char *path, const char *data, size_t len);

#endif
