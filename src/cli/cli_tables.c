/* cli_tables.c - every command's option table: the vocabulary of the configuration file,
 * and the source of the man page and the shell completions (cmd_help.c). */
#include "cli_common.h"
#include "commands.h"

#include "common.h"

const struct cl_cli_table *const cl_cli_tables[] = {
    &cl_table_serve,      &cl_table_status,   &cl_table_query,          &cl_table_tail,
    &cl_table_partitions, &cl_table_dlq_list, &cl_table_dlq_show,       &cl_table_dlq_redrive,
    &cl_table_alarms,     &cl_table_verify,   &cl_table_patterns_learn, &cl_table_patterns,
    &cl_table_anomalies,  &cl_table_reload,   &cl_table_retention,
};
const size_t cl_cli_n_tables = CL_ARRAY_LEN(cl_cli_tables);

const struct cl_cli_command cl_cli_commands[] = {
    {"serve", cl_cmd_serve, "run the embedded pipeline (HTTP ingest + durable queue)"},
    {"status", cl_cmd_status, "report queue, dead-letter queue and store totals"},
    {"query", cl_cmd_query, "search stored records by time, service, level, text and fields"},
    {"tail", cl_cmd_tail, "print the newest matching records; -f: follow as objects are published"},
    {"partitions", cl_cmd_partitions, "list stored partitions with objects, records and bytes"},
    {"dlq", cl_cmd_dlq, "list, show and redrive dead-letter messages"},
    {"alarms", cl_cmd_alarms, "show alarm states and recent transitions"},
    {"reload", cl_cmd_reload, "make the running daemon reload API keys, TLS certificate, alarms"},
    {"retention", cl_cmd_retention,
     "delete expired partitions of the local store; --dry-run lists"},
    {"verify", cl_cmd_verify, "check queue file, catalog and store; --repair fixes, never deletes"},
    {"patterns", cl_cmd_patterns,
     "top and new log patterns (patterns learn: group stdin messages)"},
    {"anomalies", cl_cmd_anomalies, "anomalies the daemon detected (anomalies score: score a CSV)"},
    {"config", cl_cmd_config,
     "config check: check a config file; config print: the effective "
     "configuration and where each value came from"},
    {"help", cl_cmd_help, "this list; help --man: the man page; help --completions bash"},
};
const size_t cl_cli_n_commands = CL_ARRAY_LEN(cl_cli_commands);
