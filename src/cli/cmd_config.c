/* cmd_config.c - `cloudlog config check` and `cloudlog config print`: the configuration
 * file's keys checked against the option vocabulary, and the effective configuration of a
 * command with where each value came from (docs/operations.md "Configuration file"). */
#include "cli_common.h"
#include "commands.h"
#include "config_file.h"

#include "common.h"
#include "options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char check_summary[] =
    "Reads the configuration file (--config FILE or CLOUDLOG_CONFIG) and checks that every\n"
    "key is an option name and every value fits the option. Exit status 0 when it does;\n"
    "else 2 and a message naming the file, line and key.";

static const char print_summary[] =
    "Prints the effective configuration of COMMAND (default: serve) as YAML that --config\n"
    "accepts: each option's value after defaults, the configuration file and the\n"
    "environment (flags > env > file > defaults), with where it came from.";

/* The table of a command name ("serve", "dlq list"), or NULL. */
static const struct cl_cli_table *find_table(const char *name)
{
    for (size_t i = 0; i < cl_cli_n_tables; i++)
        if (strcmp(cl_cli_tables[i]->cmd + strlen("cloudlog "), name) == 0)
            return cl_cli_tables[i];
    return NULL;
}

/* Writes s as a YAML double-quoted scalar. */
static void put_quoted(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void put_value(const struct cl_opt_ref *r, const void *cfg)
{
    if (r->o->type == CL_OPT_LIST) {
        const struct cl_opt_list *l = (const void *)((const char *)cfg + r->offset);
        fputs("[", stdout);
        for (size_t i = 0; i < l->n; i++) {
            fputs(i ? ", " : "", stdout);
            put_quoted(l->v[i]);
        }
        fputs("]", stdout);
        return;
    }
    char v[1024];
    cl_options_format_value(r, cfg, v, sizeof v);
    put_quoted(v);
}

static int entry_line(const struct cl_conf *conf, const char *key)
{
    for (size_t i = 0; conf && i < conf->n; i++)
        if (strcmp(conf->v[i].key, key) == 0)
            return conf->v[i].line;
    return 0;
}

static void put_origin(const struct cl_option *o, enum cl_opt_origin origin,
                       const struct cl_conf *conf)
{
    if (origin == CL_ORIGIN_FILE)
        printf("  # %s:%d\n", conf->path, entry_line(conf, o->name));
    else if (origin == CL_ORIGIN_ENV)
        printf("  # env %s\n", o->env);
    else
        printf("  # default\n");
}

/* Prints t's options as seen without flags. Returns the exit status. */
static int print_table(const struct cl_cli_table *t, const struct cl_conf *conf)
{
    void *cfg = cl_calloc(1, t->cfg_size);
    struct cl_opt_ref refs[CL_OPTS_MAX];
    enum cl_opt_origin origins[CL_OPTS_MAX];
    size_t m = cl_options_flatten(t->opts, t->n, refs, CL_OPTS_MAX), n_pos;
    char err[512];
    int rc = cl_options_parse_ex(t->opts, t->n, cfg, 0, NULL, NULL, 0, &n_pos, conf, origins, err,
                                 sizeof err);
    if (rc != CL_OPTS_OK) {
        fprintf(stderr, "cloudlog config print: %s\n", err);
    } else {
        printf("# effective configuration of %s (flags > env > file > defaults)\n", t->cmd);
        for (size_t i = 0; i < m; i++) {
            if (origins[i] == CL_ORIGIN_UNSET) {
                printf("# %s: unset\n", refs[i].o->name);
                continue;
            }
            printf("%s: ", refs[i].o->name);
            put_value(&refs[i], cfg);
            put_origin(refs[i].o, origins[i], conf);
        }
    }
    cl_options_free(t->opts, t->n, cfg);
    free(cfg);
    return rc == CL_OPTS_OK ? 0 : 2;
}

static int config_print(int argc, char **argv)
{
    const char *cmd = "cloudlog config print";
    char *pos[2];
    size_t n_pos;
    int rc = cl_cli_options(cmd, "cloudlog config print [--config FILE] [COMMAND [SUBCOMMAND]]",
                            print_summary, NULL, 0, NULL, argc, argv, pos, 2, &n_pos);
    if (rc >= 0)
        return rc;
    char name[64] = "serve";
    if (n_pos)
        snprintf(name, sizeof name, "%s%s%s", pos[0], n_pos > 1 ? " " : "",
                 n_pos > 1 ? pos[1] : "");
    const struct cl_cli_table *t = find_table(name);
    if (!t) {
        fprintf(stderr, "%s: no command '%s' takes options (see cloudlog --help)\n", cmd, name);
        return 2;
    }
    return print_table(t, cl_config_current());
}

static int config_check(int argc, char **argv)
{
    const char *cmd = "cloudlog config check";
    size_t n_pos;
    int rc = cl_cli_options(cmd, "cloudlog config check [--config FILE]", check_summary, NULL, 0,
                            NULL, argc, argv, NULL, 0, &n_pos);
    if (rc >= 0)
        return rc; /* a bad file was reported by cl_cli_options: 2 */
    const struct cl_conf *c = cl_config_current();
    if (!c) {
        fprintf(stderr, "%s: no configuration file (give --config FILE or set CLOUDLOG_CONFIG)\n",
                cmd);
        return 2;
    }
    printf("%s: ok (%zu keys)\n", c->path, c->n);
    return 0;
}

int cl_cmd_config(int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "check") == 0)
        return config_check(argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "print") == 0)
        return config_print(argc - 1, argv + 1);
    int help = argc >= 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"));
    fprintf(help ? stdout : stderr,
            "Usage: cloudlog config (check | print) [--config FILE]\n\n"
            "  check   check a configuration file against the option vocabulary\n"
            "  print   the effective configuration and where each value came from\n");
    return help ? 0 : 2;
}
