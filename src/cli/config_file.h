/* config_file.h - the configuration file (--config FILE, CLOUDLOG_CONFIG): YAML whose keys
 * are option names ("listen: 0.0.0.0:8080"; a repeatable option takes a list), read with
 * Debian's libfyaml. Its values sit between the defaults and the environment: flags >
 * env > file > defaults (docs/operations.md "Configuration file"). */
#ifndef CL_CONFIG_FILE_H
#define CL_CONFIG_FILE_H

#include "options.h"

#include <stddef.h>

#define CL_CONFIG_MAX_BYTES (1u << 20) /* a larger configuration file is refused */

/* Loads path. Returns 0 with *out (owned: cl_config_free), or -1 with err naming the
 * file and line (unreadable, not YAML, not a mapping of names to values or lists). */
int cl_config_load(const char *path, struct cl_conf **out, char *err, size_t err_len);

void cl_config_free(struct cl_conf *c);

/* Checks every key against the vocabulary (the options of every command) and its values
 * against the option's type and bounds. Returns 0, or -1 with err naming file, line and
 * key. */
int cl_config_check(const struct cl_conf *c, char *err, size_t err_len);

/* Copies argv[0..argc) to out without --config FILE / --config=FILE (before any "--") and
 * returns the new count; *conf is the file it names, else CLOUDLOG_CONFIG's, loaded and
 * checked once per process and kept until exit (options borrow its strings), or NULL
 * when neither is set. Returns -1 with err set for a missing value or a bad file. */
int cl_config_take(int argc, char **argv, char **out, const struct cl_conf **conf, char *err,
                   size_t err_len);

/* The file cl_config_take loaded last, or NULL. */
const struct cl_conf *cl_config_current(void);

/* The row of the vocabulary called name (the first table's when several have it), or
 * NULL. */
const struct cl_option *cl_config_find_option(const char *name);

#endif
