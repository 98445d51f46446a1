/* commands.h - the subcommands of the cloudlog binary. */
#ifndef CL_COMMANDS_H
#define CL_COMMANDS_H

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

#endif
