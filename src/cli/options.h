/* options.h - one table per command that parses flags and CLOUDLOG_* variables,
 * validates them and produces --help (after Fluent Bit's config_map). */
#ifndef CL_OPTIONS_H
#define CL_OPTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum cl_opt_type {
    CL_OPT_STR,      /* const char * (borrowed from argv, environ or the default) */
    CL_OPT_SIZE,     /* uint64_t bytes: "10MiB" */
    CL_OPT_INT,      /* int within [min, max] */
    CL_OPT_DURATION, /* int64_t milliseconds: "15m" */
    CL_OPT_FLAG,     /* int 0/1: "--insecure"; env accepts 1/0/true/false/yes/no */
    CL_OPT_LIST      /* struct cl_opt_list: repeatable; flags replace the env/default value */
};

/* A repeatable option's values (borrowed strings; the array is owned: free it with
 * cl_options_free). */
struct cl_opt_list {
    const char **v;
    size_t n;
    int from_argv; /* internal: set once a flag replaced the env/default values */
};

struct cl_option {
    const char *name; /* long flag without dashes */
    const char *env;  /* environment variable, NULL if none */
    enum cl_opt_type type;
    const char *def; /* default as text; NULL = unset (STR stays NULL) */
    size_t offset;   /* offsetof the field in the config struct */
    const char *metavar;
    const char *help;
    const char *const *choices; /* STR only: NULL-terminated allowed values */
    int64_t min, max;           /* INT only */
};

enum { CL_OPTS_OK = 0, CL_OPTS_HELP = 1, CL_OPTS_VERSION = 2, CL_OPTS_ERROR = -1 };

/* Fills cfg from defaults, then the environment, then argv[0..argc) (flags win).
 * Non-option arguments are collected in positional[] (up to max_pos; *n_pos set).
 * Returns CL_OPTS_OK, CL_OPTS_HELP (-h/--help seen), CL_OPTS_VERSION (--version seen) or
 * CL_OPTS_ERROR with err set. */
int cl_options_parse(const struct cl_option *opts, size_t n, void *cfg, int argc, char **argv,
                     char **positional, size_t max_pos, size_t *n_pos, char *err, size_t err_len);

/* Frees what parsing allocated in cfg (CL_OPT_LIST arrays). */
void cl_options_free(const struct cl_option *opts, size_t n, void *cfg);

/* Prints usage, summary and one entry per option (flag, env var, default, help). */
void cl_options_help(FILE *f, const char *usage, const char *summary, const struct cl_option *opts,
                     size_t n);

/* Prints "cloudlog VERSION" (the line every --version prints). */
void cl_options_version(FILE *f);

#endif
