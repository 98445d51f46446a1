/* commands.h - the subcommands of the cloudlog binary. */
#ifndef CL_COMMANDS_H
#define CL_COMMANDS_H

#include <stddef.h>
#include <stdio.h>

/* Each takes the arguments after its name and returns the process exit status:
 * 0 success, 1 failure, 2 usage error. */
int cl_cmd_serve(int argc, char **argv);
int cl_cmd_dlq(int argc, char **argv);
int cl_cmd_status(int argc, char **argv);
int cl_cmd_query(int argc, char **argv);
int cl_cmd_partitions(int argc, char **argv);
int cl_cmd_tail(int argc, char **argv);
int cl_cmd_alarms(int argc, char **argv);
int cl_cmd_verify(int argc, char **argv);
int cl_cmd_patterns(int argc, char **argv);
int cl_cmd_anomalies(int argc, char **argv);
int cl_cmd_reload(int argc, char **argv);
int cl_cmd_retention(int argc, char **argv);
int cl_cmd_config(int argc, char **argv);
int cl_cmd_help(int argc, char **argv);

/* The option tables of the commands (cli_common.h's struct cl_cli_table), and all of them
 * in the order of the man page (cli_tables.c). */
struct cl_cli_table;
extern const struct cl_cli_table cl_table_serve, cl_table_status, cl_table_query, cl_table_tail,
    cl_table_partitions, cl_table_dlq_list, cl_table_dlq_show, cl_table_dlq_redrive,
    cl_table_alarms, cl_table_verify, cl_table_patterns_learn, cl_table_patterns,
    cl_table_anomalies, cl_table_reload, cl_table_retention;
extern const struct cl_cli_table *const cl_cli_tables[];
extern const size_t cl_cli_n_tables;

/* The subcommands of the cloudlog binary (cli_tables.c). */
struct cl_cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};
extern const struct cl_cli_command cl_cli_commands[];
extern const size_t cl_cli_n_commands;

/* Prints the list of commands (cloudlog --help). */
void cl_cli_usage(FILE *f);
/* cmd_analytics.c: `cloudlog patterns` and `cloudlog anomalies` without a subcommand. */
int cl_cmd_patterns_report(int argc, char **argv);
int cl_cmd_anomalies_report(int argc, char **argv);

#endif
