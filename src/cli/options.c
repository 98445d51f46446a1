/* options.c - table-driven flags, environment variables and help text. */
#include "options.h"

#ifndef CLOUDLOG_VERSION
#define CLOUDLOG_VERSION "0.0.0"
#endif

#include "units.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int parse_flag_text(const char *v, int *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off", ""};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (strcasecmp(v, yes[i]) == 0)
            return *out = 1, 0;
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (strcasecmp(v, no[i]) == 0)
            return *out = 0, 0;
    return -1;
}

static int check_choice(const struct cl_option *o, const char *v)
{
    if (!o->choices)
        return 0;
    for (const char *const *c = o->choices; *c; c++)
        if (strcmp(*c, v) == 0)
            return 0;
    return -1;
}

static int parse_int(const struct cl_option *o, const char *v, int *out)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end || n < o->min || n > o->max)
        return -1;
    *out = (int)n;
    return 0;
}

/* Appends v; the first value from a flag replaces those from the environment or default. */
static void list_add(struct cl_opt_list *l, const char *v, const char *source)
{
    if (source[0] == '-' && !l->from_argv) {
        l->n = 0;
        l->from_argv = 1;
    }
    l->v = realloc(l->v, (l->n + 1) * sizeof *l->v);
    if (!l->v)
        abort(); /* out of memory: see common.h's policy */
    l->v[l->n++] = v;
}

/* Stores text value v into the field for o; returns 0 or -1 with err set. */
static int set_value(const struct cl_option *o, void *cfg, const char *v, const char *source,
                     char *err, size_t err_len)
{
    char *field = (char *)cfg + o->offset;
    int rc = 0;
    switch (o->type) {
    case CL_OPT_STR:
        rc = check_choice(o, v);
        if (!rc)
            *(const char **)field = v;
        break;
    case CL_OPT_SIZE:
        rc = cl_parse_size(v, (uint64_t *)field);
        break;
    case CL_OPT_INT:
        rc = parse_int(o, v, (int *)field);
        break;
    case CL_OPT_DURATION:
        rc = cl_parse_duration_ms(v, (int64_t *)field);
        break;
    case CL_OPT_FLAG:
        rc = parse_flag_text(v, (int *)field);
        break;
    case CL_OPT_LIST:
        rc = check_choice(o, v);
        if (!rc)
            list_add((struct cl_opt_list *)field, v, source);
        break;
    }
    if (rc) {
        static const char *const expect[] = {
            "one of the listed values", "a size like 10MiB", "an integer in range",
            "a duration like 15m",      "true or false",     "one of the listed values"};
        snprintf(err, err_len, "invalid value '%s' for %s (expected %s)", v, source,
                 expect[o->type]);
    }
    return rc;
}

static const struct cl_option *find(const struct cl_option *opts, size_t n, const char *name,
                                    size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
            return &opts[i];
    return NULL;
}

static int apply_defaults_and_env(const struct cl_option *opts, size_t n, void *cfg, char *err,
                                  size_t err_len)
{
    for (size_t i = 0; i < n; i++) {
        const struct cl_option *o = &opts[i];
        if (o->def && set_value(o, cfg, o->def, "default", err, err_len))
            return -1;
        const char *env = o->env ? getenv(o->env) : NULL;
        if (env && set_value(o, cfg, env, o->env, err, err_len))
            return -1;
    }
    return 0;
}

/* Handles argv[*i], a "--name[=value]" argument; advances *i past a separate value. */
static int parse_long(const struct cl_option *opts, size_t n, void *cfg, int argc, char **argv,
                      int *i, char *err, size_t err_len)
{
    const char *arg = argv[*i] + 2;
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    const struct cl_option *o = find(opts, n, arg, len);
    if (!o) {
        snprintf(err, err_len, "unknown option '--%.*s' (see --help)", (int)len, arg);
        return -1;
    }
    const char *v = eq ? eq + 1 : NULL;
    if (!v && o->type == CL_OPT_FLAG)
        v = "1";
    if (!v) {
        if (*i + 1 >= argc) {
            snprintf(err, err_len, "option '--%s' needs a value", o->name);
            return -1;
        }
        v = argv[++*i];
    }
    char source[80];
    snprintf(source, sizeof source, "--%s", o->name);
    return set_value(o, cfg, v, source, err, err_len);
}

int cl_options_parse(const struct cl_option *opts, size_t n, void *cfg, int argc, char **argv,
                     char **positional, size_t max_pos, size_t *n_pos, char *err, size_t err_len)
{
    *n_pos = 0;
    if (apply_defaults_and_env(opts, n, cfg, err, err_len))
        return CL_OPTS_ERROR;
    int only_positional = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!only_positional && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0))
            return CL_OPTS_HELP;
        if (!only_positional && strcmp(a, "--version") == 0)
            return CL_OPTS_VERSION;
        if (!only_positional && strcmp(a, "--") == 0) {
            only_positional = 1;
        } else if (!only_positional && strncmp(a, "--", 2) == 0) {
            if (parse_long(opts, n, cfg, argc, argv, &i, err, err_len))
                return CL_OPTS_ERROR;
        } else if (!only_positional && a[0] == '-' && a[1]) {
            snprintf(err, err_len, "unknown option '%s' (see --help)", a);
            return CL_OPTS_ERROR;
        } else if (*n_pos < max_pos) {
            positional[(*n_pos)++] = argv[i];
        } else {
            snprintf(err, err_len, "unexpected argument '%s' (see --help)", a);
            return CL_OPTS_ERROR;
        }
    }
    return CL_OPTS_OK;
}

void cl_options_free(const struct cl_option *opts, size_t n, void *cfg)
{
    for (size_t i = 0; i < n; i++)
        if (opts[i].type == CL_OPT_LIST) {
            struct cl_opt_list *l = (struct cl_opt_list *)((char *)cfg + opts[i].offset);
            free(l->v);
            memset(l, 0, sizeof *l);
        }
}

void cl_options_help(FILE *f, const char *usage, const char *summary, const struct cl_option *opts,
                     size_t n)
{
    fprintf(f,
            "Usage: %s\n\n%s\n\nOptions (each also read from the environment variable "
            "shown; flags win):\n",
            usage, summary);
    for (size_t i = 0; i < n; i++) {
        const struct cl_option *o = &opts[i];
        char flag[96];
        if (o->type == CL_OPT_FLAG)
            snprintf(flag, sizeof flag, "--%s", o->name);
        else
            snprintf(flag, sizeof flag, "--%s %s%s", o->name, o->metavar ? o->metavar : "VALUE",
                     o->type == CL_OPT_LIST ? " ..." : "");
        fprintf(f, "  %-30s %s\n", flag, o->help);
        fprintf(f, "  %-30s env %s", "", o->env ? o->env : "-");
        if (o->def && o->type != CL_OPT_FLAG)
            fprintf(f, "; default %s", o->def);
        if (o->choices) {
            fprintf(f, "; one of:");
            for (const char *const *c = o->choices; *c; c++)
                fprintf(f, " %s", *c);
        }
        fputc('\n', f);
    }
    fprintf(f, "  %-30s %s\n", "-h, --help", "show this help and exit");
    fprintf(f, "  %-30s %s\n", "--version", "print the version and exit");
}

void cl_options_version(FILE *f)
{
    fprintf(f, "cloudlog %s\n", CLOUDLOG_VERSION);
}
