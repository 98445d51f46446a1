/* alarm_config.h - the built-in alarms and the --alarms-config JSON file that overrides,
 * disables or adds to them (format in docs/alarms.md). */
#ifndef CL_ALARM_CONFIG_H
#define CL_ALARM_CONFIG_H

#include "alarm.h"

#include <stddef.h>

/* Owns its arrays and strings: free with cl_alarm_config_free. */
struct cl_alarm_config {
    struct cl_alarm_rule *rules; /* disabled ones included (enabled = 0) */
    size_t n;
    char **webhooks;
    size_t n_webhooks;
    cl_alarm_describe_fn describe; /* anomaly alarms' reasons (NULL: the plain reason) */
    void *describe_arg;
};

/* Fills c with the built-in alarms (QueueDepthHigh, DLQNotEmpty, OldestMessageTooOld,
 * ProcessingErrorRatio, EndToEndLatencyP99, Ingest5xx) and no webhooks. */
void cl_alarm_config_defaults(struct cl_alarm_config *c);

/* Applies a config document to c (normally filled by cl_alarm_config_defaults):
 * "IncludeDefaults": false drops the built-ins, "Alarms" entries override the alarm of
 * the same AlarmName field by field or add a new one, "Webhooks" are appended. Unknown
 * keys are errors. Returns 0, or -1 with err set (c is then unchanged or partly
 * updated; free it either way). */
int cl_alarm_config_parse(struct cl_alarm_config *c, const char *text, size_t len, char *err,
                          size_t err_len);

/* Reads path and applies it with cl_alarm_config_parse. */
int cl_alarm_config_load(struct cl_alarm_config *c, const char *path, char *err, size_t err_len);

/* Appends a copy of url to the webhooks. */
void cl_alarm_config_add_webhook(struct cl_alarm_config *c, const char *url);

void cl_alarm_config_free(struct cl_alarm_config *c);

#endif
