/* options.h - the one option vocabulary: each option is declared once, as a row of a table
 * (name, environment variable, type, default, bounds, help), and the same rows parse
 * command-line flags, CLOUDLOG_* variables, config-file keys, HTTP query parameters and
 * the Lambda environment, and produce --help, the man page and the shell completions
 * (after Fluent Bit's config_map). Rows shared by several tables live in one array that
 * the tables include (CL_OPT_INCLUDE). */
#ifndef CL_OPTIONS_H
#define CL_OPTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum cl_opt_type {
    CL_OPT_STR,      /* const char * (borrowed from argv, environ, the file or the default) */
    CL_OPT_SIZE,     /* uint64_t bytes: "10MiB" */
    CL_OPT_INT,      /* int within [min, max] */
    CL_OPT_DURATION, /* int64_t milliseconds: "15m" */
    CL_OPT_FLAG,     /* int 0/1: "--insecure"; env accepts 1/0/true/false/yes/no */
    CL_OPT_LIST,     /* struct cl_opt_list: repeatable; flags replace the env/default value */
    CL_OPT_INCLUDE   /* not an option: the rows of include[] (up to a row without a name),
                        their offsets relative to this row's offset */
};

/* A repeatable option's values (borrowed strings; the array is owned: free it with
 * cl_options_free). */
struct cl_opt_list {
    const char **v;
    size_t n;
    int origin; /* internal: the enum cl_opt_origin of the values (a later source replaces them) */
};

struct cl_option {
    const char *name; /* long flag without dashes */
    const char *env;  /* environment variable, NULL if none */
    enum cl_opt_type type;
    const char *def; /* default as text; NULL = unset (STR stays NULL) */
    size_t offset;   /* offsetof the field in the config struct */
    const char *metavar;
    const char *help;
    /* STR and LIST: NULL-terminated allowed values. CL_OPT_INCLUDE: the included rows
     * (stored here rather than in a new field so that rows written positionally, as every
     * table does, keep compiling under -Wextra; read it with cl_option_include). */
    const char *const *choices;
    int64_t min, max; /* INT only */
};

/* A row that includes the shared rows of array rows (ended by a row with a NULL name) for
 * a struct held at offset base of the including table's config struct. */
#define CL_OPT_INCLUDE_ROWS(rows, base)                                                            \
    {                                                                                              \
        NULL, NULL, CL_OPT_INCLUDE, NULL, (base), NULL, NULL,                                      \
            (const char *const *)(const void *)(rows), 0, 0                                        \
    }

/* The rows a CL_OPT_INCLUDE row includes. */
static inline const struct cl_option *cl_option_include(const struct cl_option *o)
{
    return (const struct cl_option *)(const void *)o->choices;
}

/* One option of a table with includes resolved: the row and the offset of its field. */
struct cl_opt_ref {
    const struct cl_option *o;
    size_t offset;
};

#define CL_OPTS_MAX 256 /* options of one table, includes resolved */

/* Resolves includes: fills out[0..return) in table order (more than max options abort:
 * tables are static). */
size_t cl_options_flatten(const struct cl_option *opts, size_t n, struct cl_opt_ref *out,
                          size_t max);

/* Where an option's value came from (cl_options_parse_ex's origins). */
enum cl_opt_origin {
    CL_ORIGIN_UNSET,
    CL_ORIGIN_DEFAULT,
    CL_ORIGIN_FILE,
    CL_ORIGIN_ENV,
    CL_ORIGIN_FLAG
};

/* One key of a configuration file: its values (one, or a sequence's) and its line. */
struct cl_conf_entry {
    const char *key;
    const char **values;
    size_t n_values;
    int line;
};

/* A configuration file's keys (built by the CLI's config loader; strings owned there). */
struct cl_conf {
    const char *path;
    struct cl_conf_entry *v;
    size_t n;
};

enum { CL_OPTS_OK = 0, CL_OPTS_HELP = 1, CL_OPTS_VERSION = 2, CL_OPTS_ERROR = -1 };

/* Fills cfg from defaults, then the environment (an empty variable counts as unset for an
 * option with a default), then argv[0..argc) (flags win).
 * Non-option arguments are collected in positional[] (up to max_pos; *n_pos set).
 * Returns CL_OPTS_OK, CL_OPTS_HELP (-h/--help seen), CL_OPTS_VERSION (--version seen) or
 * CL_OPTS_ERROR with err set. */
int cl_options_parse(const struct cl_option *opts, size_t n, void *cfg, int argc, char **argv,
                     char **positional, size_t max_pos, size_t *n_pos, char *err, size_t err_len);

/* As cl_options_parse with a configuration file between the defaults and the environment
 * (conf may be NULL; its keys that this table lacks are skipped: the caller checks them
 * against the whole vocabulary) and, when origins is not NULL, where each option of the
 * flattened table got its value (origins[i] for cl_options_flatten's i-th option). */
int cl_options_parse_ex(const struct cl_option *opts, size_t n, void *cfg, int argc, char **argv,
                        char **positional, size_t max_pos, size_t *n_pos,
                        const struct cl_conf *conf, enum cl_opt_origin *origins, char *err,
                        size_t err_len);

/* Sets every option of the table to its default (no environment). Returns 0, or -1 with
 * err set (a bad default: a bug in the table). */
int cl_options_defaults(const struct cl_option *opts, size_t n, void *cfg, char *err,
                        size_t err_len);

/* Sets the option called name ('_' matches '-': HTTP parameters are ignore_case) from the
 * text v (an empty v sets a flag, as the bare --flag does); errors name source ("--limit", "limit",
 * "FILE:3: key 'limit'"). Returns 0, 1 when the table has no such option, or -1 with err set. */
int cl_options_set(const struct cl_option *opts, size_t n, void *cfg, const char *name,
                   const char *v, const char *source, char *err, size_t err_len);

/* Checks text v against row o's type and bounds without storing it. Returns 0, or -1
 * with err set (naming source). */
int cl_options_check_value(const struct cl_option *o, const char *v, const char *source, char *err,
                           size_t err_len);

/* Frees what parsing allocated in cfg (CL_OPT_LIST arrays). */
void cl_options_free(const struct cl_option *opts, size_t n, void *cfg);

/* Prints usage, summary and one entry per option (flag, env var, default, help). */
void cl_options_help(FILE *f, const char *usage, const char *summary, const struct cl_option *opts,
                     size_t n);

/* The value of the option at ref in cfg as text (what a config file would hold; lists
 * comma-separated), into out. */
void cl_options_format_value(const struct cl_opt_ref *ref, const void *cfg, char *out,
                             size_t out_len);

/* Prints "cloudlog VERSION" (the line every --version prints). */
void cl_options_version(FILE *f);

#endif
