/* credentials.c - AWS credential chain (environment, shared files) and region lookup. */
#include "credentials.h"

#include "common.h"

#include <openssl/crypto.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static void set_err(char *err, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t size, const char *fmt, ...)
{
    if (!err || size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, size, fmt, ap);
    va_end(ap);
}

/* Trims s in place (both ends) and returns it. */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

/* Whether the header text between '[' and ']' names `section`, comparing with runs of
 * white space collapsed ("[profile   dev]" is "profile dev"). */
static int section_matches(const char *text, const char *section)
{
    while (*text && *section) {
        if (*text == ' ' || *text == '\t') {
            if (*section != ' ')
                return 0;
            while (*text == ' ' || *text == '\t')
                text++;
            section++;
            continue;
        }
        if (*text++ != *section++)
            return 0;
    }
    return !*text && !*section;
}

/* Handles one line; returns a heap value when it is `key` inside the wanted section. */
static char *ini_line(char *line, const char *section, const char *key, int *in_section)
{
    if (line[0] == ' ' || line[0] == '\t') /* nested sub-section value: not ours */
        return NULL;
    char *s = trim(line);
    if (*s == '\0' || *s == '#' || *s == ';')
        return NULL;
    if (*s == '[') {
        char *end = strrchr(s, ']');
        if (end) {
            *end = '\0';
            *in_section = section_matches(trim(s + 1), section);
        }
        return NULL;
    }
    char *eq = strchr(s, '=');
    if (!*in_section || !eq)
        return NULL;
    *eq = '\0';
    return strcasecmp(trim(s), key) == 0 ? cl_strdup(trim(eq + 1)) : NULL;
}

char *cl_aws_ini_get(const char *path, const char *section, const char *key)
{
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f)
        return NULL;
    char *line = NULL, *found = NULL;
    size_t cap = 0;
    int in_section = 0;
    while (getline(&line, &cap, f) >= 0) {
        char *v = ini_line(line, section, key, &in_section);
        if (v) { /* a later duplicate wins, as with configparser's strict=False */
            free(found);
            found = v;
        }
    }
    free(line);
    fclose(f);
    return found;
}

/* Path from env var `override`, else $HOME/.aws/<name>; caller frees; NULL if neither. */
static char *shared_file_path(const char *override, const char *name)
{
    const char *v = env_nonempty(override), *home = env_nonempty("HOME");
    if (v)
        return cl_strdup(v);
    if (!home)
        return NULL;
    char *p = cl_malloc(strlen(home) + strlen(name) + 8);
    sprintf(p, "%s/.aws/%s", home, name);
    return p;
}

static const char *profile_name(void)
{
    const char *p = env_nonempty("AWS_PROFILE");
    return p ? p : "default";
}

/* Looks key up in the config file's section for the profile: [profile NAME], and for
 * "default" also [default]. Caller frees. */
static char *config_get(const char *path, const char *key)
{
    const char *name = profile_name();
    char *section = cl_malloc(strlen(name) + 9);
    sprintf(section, "profile %s", name);
    char *v = cl_aws_ini_get(path, section, key);
    if (!v && strcmp(name, "default") == 0)
        v = cl_aws_ini_get(path, "default", key);
    free(section);
    return v;
}

/* Fills out from a key id / secret / token triple (taking ownership of the heap strings,
 * freeing them on error). Both NULL means "nothing here": CL_ERR_NOT_FOUND. */
static int take_triple(struct cl_aws_credentials *out, char *id, char *secret, char *token,
                       const char *source, char *err, size_t err_size)
{
    if ((!id || !*id) && (!secret || !*secret)) {
        free(id);
        free(secret);
        free(token);
        return CL_ERR_NOT_FOUND;
    }
    if (!id || !*id || !secret || !*secret) {
        set_err(err, err_size, "%s: %s is set but %s is missing", source,
                id && *id ? "access key id" : "secret access key",
                id && *id ? "the secret access key" : "the access key id");
        free(id);
        free(secret);
        free(token);
        return CL_ERR_INVAL;
    }
    out->access_key_id = id;
    out->secret_access_key = secret;
    out->session_token = token && *token ? token : NULL;
    if (!out->session_token)
        free(token);
    snprintf(out->source, sizeof(out->source), "%s", source);
    set_err(err, err_size, "credentials from %s", source);
    return CL_OK;
}

static char *dup_or_null(const char *s)
{
    return s ? cl_strdup(s) : NULL;
}

static int from_environment(struct cl_aws_credentials *out, char *err, size_t err_size)
{
    return take_triple(out, dup_or_null(env_nonempty("AWS_ACCESS_KEY_ID")),
                       dup_or_null(env_nonempty("AWS_SECRET_ACCESS_KEY")),
                       dup_or_null(env_nonempty("AWS_SESSION_TOKEN")), "environment", err,
                       err_size);
}

static int from_credentials_file(struct cl_aws_credentials *out, char *err, size_t err_size)
{
    char *path = shared_file_path("AWS_SHARED_CREDENTIALS_FILE", "credentials");
    const char *p = profile_name();
    int rc = take_triple(out, cl_aws_ini_get(path, p, "aws_access_key_id"),
                         cl_aws_ini_get(path, p, "aws_secret_access_key"),
                         cl_aws_ini_get(path, p, "aws_session_token"), "shared credentials file",
                         err, err_size);
    free(path);
    return rc;
}

static int from_config_file(struct cl_aws_credentials *out, char *err, size_t err_size)
{
    char *path = shared_file_path("AWS_CONFIG_FILE", "config");
    int rc = take_triple(out, config_get(path, "aws_access_key_id"),
                         config_get(path, "aws_secret_access_key"),
                         config_get(path, "aws_session_token"), "config file", err, err_size);
    free(path);
    return rc;
}

int cl_aws_credentials_resolve(struct cl_aws_credentials *out, char *err, size_t err_size)
{
    memset(out, 0, sizeof(*out));
    int rc = from_environment(out, err, err_size);
    if (rc == CL_ERR_NOT_FOUND)
        rc = from_credentials_file(out, err, err_size);
    if (rc == CL_ERR_NOT_FOUND)
        rc = from_config_file(out, err, err_size);
    if (rc == CL_ERR_NOT_FOUND)
        set_err(err, err_size,
                "no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or profile "
                "\"%s\" in the shared credentials or config file",
                profile_name());
    return rc;
}

void cl_aws_credentials_free(struct cl_aws_credentials *c)
{
    if (c->secret_access_key)
        OPENSSL_cleanse(c->secret_access_key, strlen(c->secret_access_key));
    free(c->access_key_id);
    free(c->secret_access_key);
    free(c->session_token);
    memset(c, 0, sizeof(*c));
}

char *cl_aws_region_resolve(void)
{
    const char *r = env_nonempty("AWS_REGION");
    if (!r)
        r = env_nonempty("AWS_DEFAULT_REGION");
    if (r)
        return cl_strdup(r);
    char *path = shared_file_path("AWS_CONFIG_FILE", "config");
    char *v = config_get(path, "region");
    free(path);
    if (v && !*v) {
        free(v);
        v = NULL;
    }
    return v;
}
