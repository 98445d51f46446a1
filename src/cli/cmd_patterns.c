/* cmd_patterns.c - `cloudlog patterns learn`: the pattern miner on stdin (evaluation entry
 * point; docs/analytics.md). */
#include "cli_common.h"
#include "commands.h"

#include "buf.h"
#include "common.h"
#include "json_write.h"
#include "miner.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CMD "cloudlog patterns learn"
#define MAX_INPUT_DEFAULT "4GiB"

struct learn_cfg {
    int max_clusters;
    const char *similarity;
    uint64_t max_input;
    int stats;
};

#define OFF(f) offsetof(struct learn_cfg, f)

static const struct cl_option learn_options[] = {
    {"max-clusters", "CLOUDLOG_PATTERNS_MAX_CLUSTERS", CL_OPT_INT, "1024", OFF(max_clusters), "N",
     "patterns kept per service; the least recently used is evicted beyond it", NULL, 1, 1 << 24},
    {"similarity", "CLOUDLOG_PATTERNS_SIMILARITY", CL_OPT_STR, NULL, OFF(similarity), "X",
     "experiments only: share of agreeing tokens to join a pattern (default: built in)", NULL, 0,
     0},
    {"max-input", "CLOUDLOG_PATTERNS_MAX_INPUT", CL_OPT_SIZE, MAX_INPUT_DEFAULT, OFF(max_input),
     "SIZE", "refuse more input than this (the input is held in memory for the second pass)", NULL,
     0, 0},
    {"stats", "CLOUDLOG_PATTERNS_STATS", CL_OPT_FLAG, "0", OFF(stats), NULL,
     "print lines, patterns, mining time and memory to stderr", NULL, 0, 0},
};

static const char learn_summary[] =
    "Reads one message per line on stdin, learns their patterns (first pass), then prints\n"
    "one JSON object per input line (second pass): {\"pattern\": ID, \"template\": T}, where\n"
    "T is the template of the line's pattern at the end of the input and ID the 64-bit\n"
    "hash of T in hex. One default configuration for every kind of log.";

const struct cl_cli_table cl_table_patterns_learn = {
    CMD,           CMD " [OPTIONS] < messages", learn_summary,
    learn_options, CL_ARRAY_LEN(learn_options), sizeof(struct learn_cfg)};

/* One input line and the cluster it joined in the first pass. */
struct line {
    size_t off, len;
    uint32_t cluster, generation;
};

/* Reads stdin into *in (owned by the caller) and splits it into lines (*lines: owned).
 * Returns 0, or 1 after printing why not. */
static int read_lines(uint64_t max, struct cl_buf *in, struct line **lines, size_t *n)
{
    char chunk[65536];
    size_t got;
    cl_buf_init(in, max);
    while ((got = fread(chunk, 1, sizeof chunk, stdin)) > 0)
        if (cl_buf_append(in, chunk, got) != CL_OK) {
            fprintf(stderr, "%s: input larger than --max-input\n", CMD);
            return 1;
        }
    if (ferror(stdin)) {
        fprintf(stderr, "%s: reading stdin failed\n", CMD);
        return 1;
    }
    size_t cap = 1024, k = 0;
    struct line *v = cl_malloc(cap * sizeof *v);
    for (size_t p = 0; p < in->len;) {
        const char *nl = memchr(in->data + p, '\n', in->len - p);
        size_t end = nl ? (size_t)(nl - in->data) : in->len;
        if (k == cap)
            v = cl_realloc(v, (cap *= 2) * sizeof *v);
        size_t len = end - p;
        if (len > 0 && in->data[p + len - 1] == '\r')
            len--;
        v[k++] = (struct line){p, len, 0, 0};
        p = end + 1;
    }
    *lines = v;
    *n = k;
    return 0;
}

/* CPU time of this thread: on a shared machine it measures the work, not the waiting. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Prints the line's pattern as of the end of the input: its cluster's template, or, when
 * that cluster was evicted, the template it matches now (else its own masked text). */
static void print_line(struct cl_miner *m, const char *text, const struct line *l,
                       struct cl_buf *out)
{
    struct cl_pattern_match pm;
    uint32_t s = l->cluster;
    if (!cl_miner_alive(m, s, l->generation)) {
        if (cl_miner_match(m, text, l->len, &pm) != 0)
            cl_miner_add(m, text, l->len, &pm);
        s = pm.cluster;
    }
    size_t tlen;
    uint64_t id;
    const char *t = cl_miner_template(m, s, &tlen, &id);
    char hex[17];
    cl_pattern_id_format(id, hex);
    cl_buf_append_str(out, "{\"pattern\":\"");
    cl_buf_append(out, hex, 16);
    cl_buf_append_str(out, "\",\"template\":");
    cl_json_write_string(out, t, tlen);
    cl_buf_append_str(out, "}\n");
}

static int learn(const struct learn_cfg *c)
{
    struct cl_buf in, out;
    struct line *lines = NULL;
    size_t n = 0;
    int rc = read_lines(c->max_input, &in, &lines, &n);
    struct cl_miner_config mc = {(size_t)c->max_clusters, c->similarity ? atof(c->similarity) : 0};
    struct cl_miner *m = cl_miner_new(&mc);
    double t0 = cpu_s();
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct cl_pattern_match pm;
        cl_miner_add(m, in.data + lines[i].off, lines[i].len, &pm);
        lines[i].cluster = pm.cluster;
        lines[i].generation = pm.generation;
    }
    cl_miner_consolidate(m);
    double t1 = cpu_s();
    cl_buf_init(&out, SIZE_MAX);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        print_line(m, in.data + lines[i].off, &lines[i], &out);
        if (out.len >= 1 << 16 || i + 1 == n) {
            fwrite(out.data, 1, out.len, stdout);
            cl_buf_reset(&out);
        }
    }
    if (rc == 0 && c->stats)
        fprintf(stderr,
                "lines=%zu patterns=%zu evictions=%llu learn_cpu_s=%.6f msgs_per_cpu_s=%.0f "
                "miner_bytes=%zu\n",
                n, cl_miner_count(m), (unsigned long long)cl_miner_evictions(m), t1 - t0,
                t1 > t0 ? (double)n / (t1 - t0) : 0.0, cl_miner_memory(m));
    if (rc == 0 && (fflush(stdout) != 0 || ferror(stdout))) {
        fprintf(stderr, "%s: writing to stdout failed\n", CMD);
        rc = 1;
    }
    cl_miner_free(m);
    cl_buf_free(&out);
    cl_buf_free(&in);
    free(lines);
    return rc;
}

int cl_cmd_patterns(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "learn") != 0)
        return cl_cmd_patterns_report(argc, argv); /* cmd_analytics.c */
    struct learn_cfg cfg = {0};
    size_t n_pos;
    int rc = cl_cli_options(CMD, CMD " [OPTIONS] < messages", learn_summary, learn_options,
                            CL_ARRAY_LEN(learn_options), &cfg, argc - 1, argv + 1, NULL, 0, &n_pos);
    if (rc < 0)
        rc = learn(&cfg);
    cl_options_free(learn_options, CL_ARRAY_LEN(learn_options), &cfg);
    return rc;
}
