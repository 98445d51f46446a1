/* main.c - the cloudlog binary: dispatches to subcommands (cli_tables.c lists them). */
#include "commands.h"
#include "options.h"

#include <stdio.h>
#include <string.h>

void cl_cli_usage(FILE *f)
{
    fprintf(f, "Usage: cloudlog COMMAND [OPTIONS]\n\n"
               "cloudlog is a fault-tolerant log aggregation pipeline.\n\nCommands:\n");
    for (size_t i = 0; i < cl_cli_n_commands; i++)
        fprintf(f, "  %-10s %s\n", cl_cli_commands[i].name, cl_cli_commands[i].summary);
    fprintf(f, "\nRun 'cloudlog COMMAND --help' for a command's options.\n"
               "  --version  print the version\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        cl_cli_usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0) {
        cl_cli_usage(stdout);
        return 0;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        cl_options_version(stdout);
        return 0;
    }
    for (size_t i = 0; i < cl_cli_n_commands; i++)
        if (strcmp(name, cl_cli_commands[i].name) == 0)
            return cl_cli_commands[i].run(argc - 2, argv + 2);
    fprintf(stderr, "cloudlog: unknown command '%s'\n\n", name);
    cl_cli_usage(stderr);
    return 2;
}
