/* config_file.c - loading and checking the YAML configuration file with libfyaml. */
#include "config_file.h"

#include "cli_common.h"
#include "commands.h"
#include "common.h"
#include "readfile.h"

#include <errno.h>
#include <libfyaml.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cl_config_free(struct cl_conf *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free((char *)c->v[i].key);
        for (size_t k = 0; k < c->v[i].n_values; k++)
            free((char *)c->v[i].values[k]);
        free(c->v[i].values);
    }
    free(c->v);
    free((char *)c->path);
    free(c);
}

static int node_line(struct fy_node *n)
{
    struct fy_token *t = fy_node_get_scalar_token(n);
    const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
    return m ? m->line + 1 : 0;
}

/* A scalar node's text (owned), or NULL if n is not a scalar. */
static char *scalar_text(struct fy_node *n)
{
    size_t len;
    const char *s = n && fy_node_is_scalar(n) ? fy_node_get_scalar(n, &len) : NULL;
    return s ? cl_strndup(s, len) : NULL;
}

/* Takes one "key: value" or "key: [values]" pair into e. Returns 0, or -1 with err set. */
static int take_pair(const char *path, struct fy_node_pair *p, struct cl_conf_entry *e, char *err,
                     size_t err_len)
{
    struct fy_node *k = fy_node_pair_key(p), *v = fy_node_pair_value(p);
    e->key = scalar_text(k);
    e->line = node_line(k);
    if (!e->key) {
        snprintf(err, err_len, "%s:%d: keys must be option names", path, e->line);
        return -1;
    }
    if (v && fy_node_is_sequence(v)) {
        size_t n = (size_t)fy_node_sequence_item_count(v);
        e->values = cl_calloc(n + 1, sizeof *e->values);
        void *it = NULL;
        for (struct fy_node *x; (x = fy_node_sequence_iterate(v, &it));) {
            char *s = scalar_text(x);
            if (!s)
                break;
            e->values[e->n_values++] = s;
        }
        if (e->n_values == n)
            return 0;
    } else if (v && fy_node_is_scalar(v)) {
        e->values = cl_calloc(1, sizeof *e->values);
        e->values[e->n_values++] = scalar_text(v);
        return 0;
    }
    snprintf(err, err_len, "%s:%d: key '%.100s': expected a value or a list of values", path,
             e->line, e->key);
    return -1;
}

static int take_root(const char *path, struct fy_node *root, struct cl_conf *c, char *err,
                     size_t err_len)
{
    if (!root) /* an empty file */
        return 0;
    if (!fy_node_is_mapping(root)) {
        snprintf(err, err_len, "%s:%d: expected a mapping of option names to values", path,
                 node_line(root) ? node_line(root) : 1);
        return -1;
    }
    size_t n = (size_t)fy_node_mapping_item_count(root);
    c->v = cl_calloc(n + 1, sizeof *c->v);
    void *it = NULL;
    for (struct fy_node_pair *p; (p = fy_node_mapping_iterate(root, &it));)
        if (take_pair(path, p, &c->v[c->n++], err, err_len))
            return -1;
    return 0;
}

/* The first error libfyaml collected, as "FILE:LINE: message". */
static void yaml_error(const char *path, struct fy_diag *diag, char *err, size_t err_len)
{
    void *it = NULL;
    struct fy_diag_error *e = diag ? fy_diag_errors_iterate(diag, &it) : NULL;
    if (e)
        snprintf(err, err_len, "%s:%d: not valid YAML: %s", path, e->line + 1, e->msg);
    else
        snprintf(err, err_len, "%s: not valid YAML", path);
}

/* Reads the whole file at path (at most CL_CONFIG_MAX_BYTES) into *out (owned, NUL-ended).
 * Read here rather than by libfyaml, which fails on pipes (--config /dev/stdin, <(...)).
 * Returns 0, or -1 with err set. */
static int read_file(const char *path, char **out, size_t *len, char *err, size_t err_len)
{
    int rc = cl_read_file(path, CL_CONFIG_MAX_BYTES, out, len);
    if (rc == CL_OK)
        return 0;
    snprintf(err, err_len, "cannot read config file %s: %s", path,
             rc == CL_ERR_TOO_LARGE ? "larger than 1 MiB" : strerror(errno));
    return -1;
}

int cl_config_load(const char *path, struct cl_conf **out, char *err, size_t err_len)
{
    char *text;
    size_t len;
    if (read_file(path, &text, &len, err, err_len) != 0)
        return -1;
    struct fy_diag_cfg dcfg;
    fy_diag_cfg_default(&dcfg);
    struct fy_diag *diag = fy_diag_create(&dcfg);
    if (diag)
        fy_diag_set_collect_errors(diag, true); /* errors come back, not on stderr */
    struct fy_parse_cfg pcfg = {.flags = FYPCF_QUIET, .diag = diag};
    struct fy_document *doc = fy_document_build_from_string(&pcfg, text, len);
    struct cl_conf *c = cl_calloc(1, sizeof *c);
    c->path = cl_strdup(path);
    int rc = -1;
    if (!doc)
        yaml_error(path, diag, err, err_len);
    else
        rc = take_root(path, fy_document_root(doc), c, err, err_len);
    fy_document_destroy(doc);
    fy_diag_destroy(diag);
    free(text);
    if (rc != 0) {
        cl_config_free(c);
        return -1;
    }
    *out = c;
    return 0;
}

const struct cl_option *cl_config_find_option(const char *name)
{
    struct cl_opt_ref refs[CL_OPTS_MAX];
    for (size_t t = 0; t < cl_cli_n_tables; t++) {
        size_t m =
            cl_options_flatten(cl_cli_tables[t]->opts, cl_cli_tables[t]->n, refs, CL_OPTS_MAX);
        for (size_t i = 0; i < m; i++)
            if (strcmp(refs[i].o->name, name) == 0)
                return refs[i].o;
    }
    return NULL;
}

static int check_entry(const struct cl_conf *c, const struct cl_conf_entry *e, char *err,
                       size_t err_len)
{
    const struct cl_option *o = cl_config_find_option(e->key);
    if (!o) {
        snprintf(err, err_len,
                 "%s:%d: unknown key '%.100s' (keys are option names: cloudlog "
                 "help --man)",
                 c->path, e->line, e->key);
        return -1;
    }
    if (e->n_values != 1 && o->type != CL_OPT_LIST) {
        snprintf(err, err_len, "%s:%d: key '%s' takes one value, not a list", c->path, e->line,
                 e->key);
        return -1;
    }
    char source[300];
    snprintf(source, sizeof source, "key '%s' in %s line %d", e->key, c->path, e->line);
    for (size_t k = 0; k < e->n_values; k++)
        if (cl_options_check_value(o, e->values[k], source, err, err_len))
            return -1;
    return 0;
}

int cl_config_check(const struct cl_conf *c, char *err, size_t err_len)
{
    for (size_t i = 0; i < c->n; i++)
        if (check_entry(c, &c->v[i], err, err_len))
            return -1;
    return 0;
}

/* The process's configuration file: loaded once, freed at exit (options borrow it). */
static struct cl_conf *loaded;

static void free_loaded(void)
{
    cl_config_free(loaded);
    loaded = NULL;
}

int cl_config_take(int argc, char **argv, char **out, const struct cl_conf **conf, char *err,
                   size_t err_len)
{
    const char *path = getenv("CLOUDLOG_CONFIG");
    int n = 0, only_positional = 0;
    for (int i = 0; i < argc; i++) {
        only_positional |= strcmp(argv[i], "--") == 0;
        if (!only_positional && strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc) {
                snprintf(err, err_len, "option '--config' needs a value");
                return -1;
            }
            path = argv[++i];
        } else if (!only_positional && strncmp(argv[i], "--config=", 9) == 0) {
            path = argv[i] + 9;
        } else {
            out[n++] = argv[i];
        }
    }
    *conf = NULL;
    if (!path || !*path)
        return n;
    if (!loaded || strcmp(loaded->path, path) != 0) {
        struct cl_conf *c;
        if (cl_config_load(path, &c, err, err_len) != 0)
            return -1;
        if (cl_config_check(c, err, err_len) != 0) {
            cl_config_free(c);
            return -1;
        }
        if (!loaded)
            atexit(free_loaded);
        cl_config_free(loaded);
        loaded = c;
    }
    *conf = loaded;
    return n;
}

const struct cl_conf *cl_config_current(void)
{
    return loaded;
}
