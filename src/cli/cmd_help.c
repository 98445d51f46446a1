/* cmd_help.c - `cloudlog help`: the command list, and generated from the option tables
 * the man page (help --man) and the bash completion script (help --completions bash), so
 * neither can miss an option (CMake installs both; deploy/completions/cloudlog.bash is
 * this output). */
#include "cli_common.h"
#include "commands.h"

#include "common.h"
#include "options.h"

#include <stdio.h>
#include <string.h>

/* Subcommands without an option table of their own (only --help and --config). */
static const char *const bare_paths[] = {"anomalies score", "config check", "config print"};

/* Writes text for roff: backslashes and dashes escaped, a line starting with '.' or '\''
 * protected. */
static void roff(FILE *f, const char *s)
{
    int bol = 1;
    for (; *s; s++) {
        if (bol && (*s == '.' || *s == '\''))
            fputs("\\&", f);
        bol = *s == '\n';
        if (*s == '\\')
            fputs("\\e", f);
        else if (*s == '-')
            fputs("\\-", f);
        else
            fputc(*s, f);
    }
}

static void man_option(FILE *f, const struct cl_option *o)
{
    fputs(".TP\n.B \\-\\-", f);
    roff(f, o->name);
    if (o->type != CL_OPT_FLAG) {
        fputs(" \\fI", f);
        roff(f, o->metavar ? o->metavar : "VALUE");
        fputs("\\fR", f);
    }
    fputc('\n', f);
    roff(f, o->help);
    fputs("\n.br\nEnvironment: ", f);
    roff(f, o->env ? o->env : "none");
    if (o->def && o->type != CL_OPT_FLAG) {
        fputs("; default: ", f);
        roff(f, o->def);
    }
    if (o->choices) {
        fputs("; one of:", f);
        for (const char *const *c = o->choices; *c; c++) {
            fputc(' ', f);
            roff(f, *c);
        }
    }
    fputc('\n', f);
}

static void man_table(FILE *f, const struct cl_cli_table *t)
{
    fputs(".SS \"", f);
    roff(f, t->cmd);
    fputs("\"\n.B ", f);
    roff(f, t->usage);
    fputs("\n.PP\n", f);
    roff(f, t->summary);
    fputc('\n', f);
    struct cl_opt_ref refs[CL_OPTS_MAX];
    size_t m = cl_options_flatten(t->opts, t->n, refs, CL_OPTS_MAX);
    for (size_t i = 0; i < m; i++)
        man_option(f, refs[i].o);
}

static const char man_tail[] =
    ".SH CONFIGURATION FILE\n"
    "Every command reads \\fB\\-\\-config\\fR \\fIFILE\\fR (or \\fBCLOUDLOG_CONFIG\\fR) before "
    "its environment and flags: a YAML mapping whose keys are the option names above "
    "(a repeatable option takes a list). Precedence: flags, then environment variables, then "
    "the file, then the defaults. An unknown key or a bad value is an error naming the file, "
    "line and key. \\fBcloudlog config check\\fR checks a file; \\fBcloudlog config print\\fR "
    "shows the effective configuration and where each value came from.\n"
    ".SH ENVIRONMENT\n"
    "Each option reads the environment variable named with it; flags win. "
    "\\fBNO_COLOR\\fR turns off coloured text output.\n"
    ".SH SEE ALSO\n"
    "docs/operations.md, docs/query.md and docs/aws.md in the cloudlog sources.\n";

static void print_man(FILE *f)
{
    fputs(".TH CLOUDLOG 1 \"\" \"cloudlog " CLOUDLOG_VERSION "\" \"User Commands\"\n", f);
    fputs(".SH NAME\ncloudlog \\- fault\\-tolerant log aggregation pipeline\n"
          ".SH SYNOPSIS\n.B cloudlog\n\\fICOMMAND\\fR [\\fIOPTIONS\\fR]\n"
          ".SH DESCRIPTION\ncloudlog accepts logs over HTTP and syslog, keeps them in a durable "
          "queue and writes them as partitioned gzip NDJSON objects to a directory or S3; it "
          "queries, tails and verifies what it stored.\n.SH COMMANDS\n",
          f);
    for (size_t i = 0; i < cl_cli_n_commands; i++) {
        fputs(".TP\n.B ", f);
        roff(f, cl_cli_commands[i].name);
        fputc('\n', f);
        roff(f, cl_cli_commands[i].summary);
        fputc('\n', f);
    }
    fputs(".SH OPTIONS\nEvery command also takes \\fB\\-h\\fR, \\fB\\-\\-help\\fR, "
          "\\fB\\-\\-version\\fR and \\fB\\-\\-config\\fR \\fIFILE\\fR.\n",
          f);
    for (size_t i = 0; i < cl_cli_n_tables; i++)
        man_table(f, cl_cli_tables[i]);
    fputs(man_tail, f);
}

/* The words completing after path ("" for the command itself, "dlq", "dlq list"). */
static void completion_case(FILE *f, const char *path, const struct cl_cli_table *t)
{
    fprintf(f, "    \"%s\" | \"%s \"*) words=\"", path, path);
    struct cl_opt_ref refs[CL_OPTS_MAX];
    size_t m = t ? cl_options_flatten(t->opts, t->n, refs, CL_OPTS_MAX) : 0;
    for (size_t i = 0; i < m; i++)
        fprintf(f, "--%s ", refs[i].o->name);
    fputs("--config --help --version\" ;;\n", f);
}

/* "dlq list" -> "dlq": the group of a two-word path; 1 if path has two words. */
static int path_group(const char *path, char *group, size_t len)
{
    const char *sp = strchr(path, ' ');
    snprintf(group, len, "%.*s", sp ? (int)(sp - path) : (int)strlen(path), path);
    return sp != NULL;
}

static void completion_groups(FILE *f)
{
    for (size_t i = 0; i < cl_cli_n_commands; i++) {
        const char *name = cl_cli_commands[i].name;
        char words[256] = "";
        char group[32];
        for (size_t t = 0; t < cl_cli_n_tables; t++) {
            const char *p = cl_cli_tables[t]->cmd + strlen("cloudlog ");
            if (path_group(p, group, sizeof group) && strcmp(group, name) == 0)
                snprintf(words + strlen(words), sizeof words - strlen(words), "%s ",
                         strchr(p, ' ') + 1);
        }
        for (size_t b = 0; b < CL_ARRAY_LEN(bare_paths); b++)
            if (path_group(bare_paths[b], group, sizeof group) && strcmp(group, name) == 0)
                snprintf(words + strlen(words), sizeof words - strlen(words), "%s ",
                         strchr(bare_paths[b], ' ') + 1);
        if (strcmp(name, "help") == 0)
            snprintf(words, sizeof words, "--man --completions ");
        if (words[0])
            fprintf(f, "    \"%s\") words=\"%s--help\" ;;\n", name, words);
    }
}

static void print_bash(FILE *f)
{
    fputs("# bash completion for cloudlog, generated from its option tables by\n"
          "# `cloudlog help --completions bash` (do not edit: regenerate).\n"
          "_cloudlog()\n{\n"
          "    local cur=\"${COMP_WORDS[COMP_CWORD]}\" path=\"\" words=\"\" i\n"
          "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
          "        case \"${COMP_WORDS[i]}\" in\n"
          "        -*) break ;;\n"
          "        *) path=\"${path:+$path }${COMP_WORDS[i]}\" ;;\n"
          "        esac\n"
          "    done\n"
          "    case \"$path\" in\n",
          f);
    for (size_t t = 0; t < cl_cli_n_tables; t++) /* two-word paths first */
        if (strchr(cl_cli_tables[t]->cmd + strlen("cloudlog "), ' '))
            completion_case(f, cl_cli_tables[t]->cmd + strlen("cloudlog "), cl_cli_tables[t]);
    for (size_t b = 0; b < CL_ARRAY_LEN(bare_paths); b++)
        completion_case(f, bare_paths[b], NULL);
    completion_groups(f);
    for (size_t t = 0; t < cl_cli_n_tables; t++)
        if (!strchr(cl_cli_tables[t]->cmd + strlen("cloudlog "), ' '))
            completion_case(f, cl_cli_tables[t]->cmd + strlen("cloudlog "), cl_cli_tables[t]);
    fputs("    \"\") words=\"", f);
    for (size_t i = 0; i < cl_cli_n_commands; i++)
        fprintf(f, "%s ", cl_cli_commands[i].name);
    fputs("--help --version\" ;;\n"
          "    esac\n"
          "    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
          "    if [ ${#COMPREPLY[@]} -eq 0 ] && [[ \"$cur\" != -* ]]; then\n"
          "        COMPREPLY=($(compgen -f -- \"$cur\"))\n"
          "    fi\n"
          "}\n"
          "complete -F _cloudlog cloudlog\n",
          f);
}

int cl_cmd_help(int argc, char **argv)
{
    if (argc == 1 && strcmp(argv[0], "--man") == 0) {
        print_man(stdout);
        return 0;
    }
    if (argc == 2 && strcmp(argv[0], "--completions") == 0 && strcmp(argv[1], "bash") == 0) {
        print_bash(stdout);
        return 0;
    }
    if (argc == 0 || (argc == 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")))) {
        cl_cli_usage(stdout);
        return 0;
    }
    fprintf(stderr, "Usage: cloudlog help [--man | --completions bash]\n");
    return 2;
}
