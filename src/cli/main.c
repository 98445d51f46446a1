/* main.c - the cloudlog binary: dispatches to subcommands. */
#include "commands.h"
#include "options.h"

#include <stdio.h>
#include <string.h>

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
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
    {"patterns", cl_cmd_patterns, "patterns learn: group stdin messages into templates"},
    {"anomalies", cl_cmd_anomalies, "anomalies score: score a timestamp,value CSV (NAB format)"},
};

static void usage(FILE *f)
{
    fprintf(f, "Usage: cloudlog COMMAND [OPTIONS]\n\n"
               "cloudlog is a fault-tolerant log aggregation pipeline.\n\nCommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nRun 'cloudlog COMMAND --help' for a command's options.\n"
               "  --version  print the version\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        cl_options_version(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(name, commands[i].name) == 0)
            return commands[i].run(argc - 2, argv + 2);
    fprintf(stderr, "cloudlog: unknown command '%s'\n\n", name);
    usage(stderr);
    return 2;
}
