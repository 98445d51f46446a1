/* process_metrics.h - cloudlog_build_info and the process_* metrics Prometheus client
 * libraries export (CPU, memory, file descriptors, start time), read from /proc. */
#ifndef CL_PROCESS_METRICS_H
#define CL_PROCESS_METRICS_H

#include "buf.h"

/* Appends cloudlog_build_info{version,commit} 1 and process_cpu_seconds_total,
 * process_resident_memory_bytes, process_virtual_memory_bytes, process_open_fds,
 * process_max_fds, process_start_time_seconds (Prometheus text format) to out. A value
 * /proc does not give is left out rather than reported as 0. */
void cl_process_metrics_render(struct cl_buf *out);

#endif
