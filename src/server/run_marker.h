/* run_marker.h - did the previous `cloudlog serve` on this data directory stop cleanly?
 *
 * DATA/serve.state says "running" from start-up until a clean stop writes "stopped".
 * Finding "running" at start-up means the previous run died (crash, kill -9, OOM kill,
 * power loss). On the SQLite queue the messages it held are taken back at once (see
 * queue_sqlite_owner.c); on SQS that is impossible: they return after the visibility
 * timeout and that receive counts toward maxReceiveCount. Either way the start-up logs it
 * and the RecentUncleanRestarts gauge (and the CrashLoop alarm) say what happened. The
 * file keeps the times of the unclean restarts of the last CL_RUN_WINDOW_MS. */
#ifndef CL_RUN_MARKER_H
#define CL_RUN_MARKER_H

#include <stdint.h>

#define CL_RUN_WINDOW_MS (10 * 60 * 1000) /* restarts counted over the last 10 minutes */

/* Reads and rewrites DATA/serve.state as "running". Returns the number of unclean
 * restarts within the window, this one included (0 after a clean stop or a first run);
 * problems with the file are logged, never fatal. */
int cl_run_marker_begin(const char *data_dir, int64_t now_ms);

/* Writes "stopped" (a clean stop), keeping the history. */
void cl_run_marker_end(const char *data_dir);

#endif
