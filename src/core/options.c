/* options.c - table-driven flags, environment variables, config-file keys and help text. */
#include "options.h"

#ifndef CLOUDLOG_VERSION
#define CLOUDLOG_VERSION "0.0.0"
#endif

#include "units.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static size_t flatten(const struct cl_option *opts, size_t n, size_t base, struct cl_opt_ref *out,
                      size_t k, size_t max)
{
    for (size_t i = 0; i < n; i++) {
        const struct cl_option *o = &opts[i];
        if (o->type != CL_OPT_INCLUDE) {
            if (k == max)
                abort(); /* a table larger than CL_OPTS_MAX: a bug, never input */
            out[k++] = (struct cl_opt_ref){o, base + o->offset};
            continue;
        }
        const struct cl_option *rows = cl_option_include(o);
        size_t m = 0;
        while (rows[m].name || rows[m].type == CL_OPT_INCLUDE)
            m++;
        k = flatten(rows, m, base + o->offset, out, k, max);
    }
    return k;
}

size_t cl_options_flatten(const struct cl_option *opts, size_t n, struct cl_opt_ref *out,
                          size_t max)
{
    return opts ? flatten(opts, n, 0, out, 0, max) : 0;
}

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

/* Appends v; the first value from a later source (file, env, flag) replaces the earlier
 * source's values. */
static void list_add(struct cl_opt_list *l, const char *v, int origin)
{
    if (origin > l->origin) {
        l->n = 0;
        l->origin = origin;
    }
    l->v = realloc(l->v, (l->n + 1) * sizeof *l->v);
    if (!l->v)
        abort(); /* out of memory: see common.h's policy */
    l->v[l->n++] = v;
}

/* What a value of o must look like, for error messages. */
static void expected(const struct cl_option *o, char *out, size_t len)
{
    static const char *const text[] = {
        "one of the listed values", "a size like 10MiB", "",
        "a duration like 15m",      "true or false",     "one of the listed values"};
    if (o->type == CL_OPT_INT)
        snprintf(out, len, "an integer from %" PRId64 " to %" PRId64, o->min, o->max);
    else
        snprintf(out, len, "%s", text[o->type]);
    if (o->choices) {
        size_t k = strlen(out);
        snprintf(out + k, len - k, ":");
        for (const char *const *c = o->choices; *c; c++) {
            k = strlen(out);
            snprintf(out + k, len - k, " %s", *c);
        }
    }
}

/* Parses v as o's type into field (NULL: only check). Returns 0 or -1. */
static int parse_value(const struct cl_option *o, void *field, const char *v, int origin)
{
    union {
        uint64_t size;
        int i;
        int64_t ms;
    } tmp;
    switch (o->type) {
    case CL_OPT_STR:
        if (check_choice(o, v))
            return -1;
        if (field)
            *(const char **)field = v;
        return 0;
    case CL_OPT_SIZE:
        return cl_parse_size(v, field ? (uint64_t *)field : &tmp.size);
    case CL_OPT_INT:
        return parse_int(o, v, field ? (int *)field : &tmp.i);
    case CL_OPT_DURATION:
        return cl_parse_duration_ms(v, field ? (int64_t *)field : &tmp.ms);
    case CL_OPT_FLAG:
        return parse_flag_text(v, field ? (int *)field : &tmp.i);
    case CL_OPT_LIST:
        if (check_choice(o, v))
            return -1;
        if (field)
            list_add((struct cl_opt_list *)field, v, origin);
        return 0;
    case CL_OPT_INCLUDE:
        break;
    }
    return -1;
}

/* Stores text value v into the field of ref; returns 0 or -1 with err set. */
static int set_value(const struct cl_opt_ref *ref, void *cfg, const char *v, const char *source,
                     int origin, char *err, size_t err_len)
{
    void *field = cfg ? (char *)cfg + ref->offset : NULL;
    if (parse_value(ref->o, field, v, origin) == 0)
        return 0;
    char want[256];
    expected(ref->o, want, sizeof want);
    snprintf(err, err_len, "invalid value '%.100s' for %s (expected %s)", v, source, want);
    return -1;
}

int cl_options_check_value(const struct cl_option *o, const char *v, const char *source, char *err,
                           size_t err_len)
{
    struct cl_opt_ref ref = {o, 0};
    return set_value(&ref, NULL, v, source, CL_ORIGIN_FILE, err, err_len);
}

/* 1 if name[0..len) names o ('_' matching '-'). */
static int name_is(const struct cl_option *o, const char *name, size_t len)
{
    if (strlen(o->name) != len)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (o->name[i] != name[i] && !(o->name[i] == '-' && name[i] == '_'))
            return 0;
    return 1;
}

static const struct cl_opt_ref *find(const struct cl_opt_ref *refs, size_t n, const char *name,
                                     size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (name_is(refs[i].o, name, len))
            return &refs[i];
    return NULL;
}

static void set_origin(enum cl_opt_origin *origins, const struct cl_opt_ref *refs,
                       const struct cl_opt_ref *r, enum cl_opt_origin origin)
{
    if (origins)
        origins[r - refs] = origin;
}

static int apply_defaults(const struct cl_opt_ref *refs, size_t n, void *cfg,
                          enum cl_opt_origin *origins, char *err, size_t err_len)
{
    for (size_t i = 0; i < n; i++) {
        if (refs[i].o->def &&
            set_value(&refs[i], cfg, refs[i].o->def, "default", CL_ORIGIN_DEFAULT, err, err_len))
            return -1;
        set_origin(origins, refs, &refs[i], refs[i].o->def ? CL_ORIGIN_DEFAULT : CL_ORIGIN_UNSET);
    }
    return 0;
}

/* The keys of conf that this table has (the others belong to other commands). */
static int apply_file(const struct cl_opt_ref *refs, size_t n, void *cfg,
                      const struct cl_conf *conf, enum cl_opt_origin *origins, char *err,
                      size_t err_len)
{
    for (size_t i = 0; conf && i < conf->n; i++) {
        const struct cl_conf_entry *e = &conf->v[i];
        const struct cl_opt_ref *r = find(refs, n, e->key, strlen(e->key));
        if (!r)
            continue;
        char source[300];
        snprintf(source, sizeof source, "key '%s' in %s line %d", e->key, conf->path, e->line);
        for (size_t k = 0; k < e->n_values; k++)
            if (set_value(r, cfg, e->values[k], source, CL_ORIGIN_FILE, err, err_len))
                return -1;
        set_origin(origins, refs, r, CL_ORIGIN_FILE);
    }
    return 0;
}

static int apply_env(const struct cl_opt_ref *refs, size_t n, void *cfg,
                     enum cl_opt_origin *origins, char *err, size_t err_len)
{
    for (size_t i = 0; i < n; i++) {
        const struct cl_option *o = refs[i].o;
        const char *env = o->env ? getenv(o->env) : NULL;
        /* An empty variable leaves an option with a default at it (deployment templates
         * set "" for "not given"); one without a default takes "". */
        if (!env || (!env[0] && o->def))
            continue;
        if (set_value(&refs[i], cfg, env, refs[i].o->env, CL_ORIGIN_ENV, err, err_len))
            return -1;
        set_origin(origins, refs, &refs[i], CL_ORIGIN_ENV);
    }
    return 0;
}

/* Handles argv[*i], a "--name[=value]" argument; advances *i past a separate value. */
static int parse_long(const struct cl_opt_ref *refs, size_t n, void *cfg, int argc, char **argv,
                      int *i, enum cl_opt_origin *origins, char *err, size_t err_len)
{
    const char *arg = argv[*i] + 2;
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    const struct cl_opt_ref *r = find(refs, n, arg, len);
    if (!r || strchr(arg, '_')) { /* flags are spelled with '-' only */
        snprintf(err, err_len, "unknown option '--%.*s' (see --help)", (int)len, arg);
        return -1;
    }
    const char *v = eq ? eq + 1 : NULL;
    if (!v && r->o->type == CL_OPT_FLAG)
        v = "1";
    if (!v) {
        if (*i + 1 >= argc) {
            snprintf(err, err_len, "option '--%s' needs a value", r->o->name);
            return -1;
        }
        v = argv[++*i];
    }
    char source[80];
    snprintf(source, sizeof source, "--%s", r->o->name);
    set_origin(origins, refs, r, CL_ORIGIN_FLAG);
    return set_value(r, cfg, v, source, CL_ORIGIN_FLAG, err, err_len);
}

static int parse_argv(const struct cl_opt_ref *refs, size_t n, void *cfg, int argc, char **argv,
                      char **positional, size_t max_pos, size_t *n_pos, enum cl_opt_origin *origins,
                      char *err, size_t err_len)
{
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
            if (parse_long(refs, n, cfg, argc, argv, &i, origins, err, err_len))
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

int cl_options_parse_ex(const struct cl_option *opts, size_t n, void *cfg, int argc, char **argv,
                        char **positional, size_t max_pos, size_t *n_pos,
                        const struct cl_conf *conf, enum cl_opt_origin *origins, char *err,
                        size_t err_len)
{
    struct cl_opt_ref refs[CL_OPTS_MAX];
    size_t m = cl_options_flatten(opts, n, refs, CL_OPTS_MAX);
    *n_pos = 0;
    if (apply_defaults(refs, m, cfg, origins, err, err_len) ||
        apply_file(refs, m, cfg, conf, origins, err, err_len) ||
        apply_env(refs, m, cfg, origins, err, err_len))
        return CL_OPTS_ERROR;
    return parse_argv(refs, m, cfg, argc, argv, positional, max_pos, n_pos, origins, err, err_len);
}

int cl_options_parse(const struct cl_option *opts, size_t n, void *cfg, int argc, char **argv,
                     char **positional, size_t max_pos, size_t *n_pos, char *err, size_t err_len)
{
    return cl_options_parse_ex(opts, n, cfg, argc, argv, positional, max_pos, n_pos, NULL, NULL,
                               err, err_len);
}

int cl_options_defaults(const struct cl_option *opts, size_t n, void *cfg, char *err,
                        size_t err_len)
{
    struct cl_opt_ref refs[CL_OPTS_MAX];
    size_t m = cl_options_flatten(opts, n, refs, CL_OPTS_MAX);
    return apply_defaults(refs, m, cfg, NULL, err, err_len);
}

int cl_options_set(const struct cl_option *opts, size_t n, void *cfg, const char *name,
                   const char *v, const char *source, char *err, size_t err_len)
{
    struct cl_opt_ref refs[CL_OPTS_MAX];
    size_t m = cl_options_flatten(opts, n, refs, CL_OPTS_MAX);
    const struct cl_opt_ref *r = find(refs, m, name, strlen(name));
    if (!r)
        return 1;
    if (!v[0] && r->o->type == CL_OPT_FLAG)
        v = "1"; /* "?count" as the bare --count */
    return set_value(r, cfg, v, source, CL_ORIGIN_FLAG, err, err_len);
}

void cl_options_free(const struct cl_option *opts, size_t n, void *cfg)
{
    struct cl_opt_ref refs[CL_OPTS_MAX];
    size_t m = cl_options_flatten(opts, n, refs, CL_OPTS_MAX);
    for (size_t i = 0; i < m; i++)
        if (refs[i].o->type == CL_OPT_LIST) {
            struct cl_opt_list *l = (struct cl_opt_list *)((char *)cfg + refs[i].offset);
            free(l->v);
            memset(l, 0, sizeof *l);
        }
}

void cl_options_format_value(const struct cl_opt_ref *ref, const void *cfg, char *out,
                             size_t out_len)
{
    const char *field = (const char *)cfg + ref->offset;
    out[0] = '\0';
    switch (ref->o->type) {
    case CL_OPT_STR: {
        const char *s = *(const char *const *)field;
        snprintf(out, out_len, "%s", s ? s : "");
        break;
    }
    case CL_OPT_SIZE:
        cl_format_size(*(const uint64_t *)field, out, (unsigned)out_len);
        break;
    case CL_OPT_INT:
        snprintf(out, out_len, "%d", *(const int *)field);
        break;
    case CL_OPT_DURATION:
        cl_format_duration(*(const int64_t *)field, out, (unsigned)out_len);
        break;
    case CL_OPT_FLAG:
        snprintf(out, out_len, "%s", *(const int *)field ? "true" : "false");
        break;
    case CL_OPT_LIST: {
        const struct cl_opt_list *l = (const struct cl_opt_list *)field;
        for (size_t i = 0; i < l->n; i++) {
            size_t k = strlen(out);
            snprintf(out + k, out_len - k, "%s%s", i ? "," : "", l->v[i]);
        }
        break;
    }
    case CL_OPT_INCLUDE:
        break;
    }
}

static void help_entry(FILE *f, const struct cl_option *o)
{
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

void cl_options_help(FILE *f, const char *usage, const char *summary, const struct cl_option *opts,
                     size_t n)
{
    fprintf(f,
            "Usage: %s\n\n%s\n\nOptions (each also read from the environment variable "
            "shown; flags win):\n",
            usage, summary);
    struct cl_opt_ref refs[CL_OPTS_MAX];
    size_t m = cl_options_flatten(opts, n, refs, CL_OPTS_MAX);
    for (size_t i = 0; i < m; i++)
        help_entry(f, refs[i].o);
    fprintf(f, "  %-30s %s\n", "-h, --help", "show this help and exit");
    fprintf(f, "  %-30s %s\n", "--version", "print the version and exit");
}

void cl_options_version(FILE *f)
{
    fprintf(f, "cloudlog %s\n", CLOUDLOG_VERSION);
}
