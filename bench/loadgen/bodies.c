/* bodies.c - bench_loadgen's pool of pre-built POST requests (NDJSON, optionally gzipped). */
#include "loadgen.h"

#include "common.h"
#include "gen.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static char *gzip_bytes(const char *in, size_t n, int level, size_t *out_len)
{
    z_stream z = {0};
    if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        die("deflateInit2 failed");
    uLong cap = deflateBound(&z, (uLong)n);
    char *out = cl_malloc(cap);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END)
        die("deflate failed");
    *out_len = z.total_out;
    deflateEnd(&z);
    return out;
}

static void build_head(const struct opts *o, struct body *bd)
{
    struct cl_buf h;
    cl_buf_init(&h, HEAD_MAX);
    bool v6 = strchr(o->host, ':') != NULL;
    buf_printf(&h, "POST %s HTTP/1.1\r\nHost: %s%s%s:%s\r\n", o->path, v6 ? "[" : "", o->host,
               v6 ? "]" : "", o->port);
    buf_printf(&h,
               "User-Agent: cloudlog-loadgen/1\r\nContent-Type: %s\r\n"
               "Content-Length: %zu\r\nConnection: keep-alive\r\n",
               o->content_type ? o->content_type : "application/x-ndjson", bd->len);
    if (o->gzip)
        buf_printf(&h, "Content-Encoding: gzip\r\n");
    if (o->api_key)
        buf_printf(&h, "Authorization: Bearer %s\r\n", o->api_key);
    buf_add(&h, "\r\n", 2);
    bd->head = cl_buf_take(&h, &bd->head_len);
}

/* Sets bd's body from b (taken), gzipped with --gzip, and builds its head. */
static void finish_body(const struct opts *o, struct body *bd, struct cl_buf *b_in)
{
    struct cl_buf b = *b_in;
    bd->records = o->batch;
    bd->raw_len = b.len;
    if (o->gzip) {
        bd->data = gzip_bytes(b.data, b.len, o->gzip_level, &bd->len);
        cl_buf_free(&b);
    } else {
        bd->data = cl_buf_take(&b, &bd->len);
    }
    build_head(o, bd);
}

static void build_body(const struct opts *o, struct body *bd, struct cl_gen *g, int64_t now_ms)
{
    struct cl_buf b;
    cl_buf_init(&b, (size_t)1 << 31);
    for (int i = 0; i < o->batch; i++) {
        if (cl_gen_record(g, &b, now_ms) != CL_OK)
            die("buffer limit exceeded");
    }
    finish_body(o, bd, &b);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static void read_file(const char *path, struct cl_buf *b)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot open %s", path);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_add(b, chunk, n);
    if (ferror(f))
        die("cannot read %s", path);
    fclose(f);
}

static int not_hidden(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

/* --body-dir: every file of the directory, in name order, is one body. Caller frees. */
static struct body *read_pool(struct opts *o)
{
    struct dirent **names;
    int n = scandir(o->body_dir, &names, not_hidden, by_name);
    if (n <= 0)
        die("--body-dir %s: no files", o->body_dir);
    struct body *pool = cl_calloc((size_t)n, sizeof(*pool));
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", o->body_dir, names[i]->d_name);
        struct cl_buf b;
        cl_buf_init(&b, POOL_MAX_BYTES);
        read_file(path, &b);
        finish_body(o, &pool[i], &b);
        free(names[i]);
    }
    free(names);
    o->pool = n;
    return pool;
}

/* Builds the pool of distinct bodies, capped so it stays under POOL_MAX_BYTES. */
struct body *build_pool(struct opts *o)
{
    if (o->body_dir)
        return read_pool(o);
    size_t per_body = (size_t)o->batch * 300;
    size_t fit = POOL_MAX_BYTES / per_body;
    if ((size_t)o->pool > fit)
        o->pool = fit > 1 ? (int)fit : 1;
    struct body *pool = cl_calloc((size_t)o->pool, sizeof(*pool));
    struct cl_gen g;
    cl_gen_init(&g, o->seed);
    g.templated = o->templated;
    int64_t now_ms = cl_now_ms();
    for (int i = 0; i < o->pool; i++)
        build_body(o, &pool[i], &g, now_ms);
    return pool;
}

void free_pool(struct body *pool, int n)
{
    for (int i = 0; i < n; i++) {
        free(pool[i].head);
        free(pool[i].data);
    }
    free(pool);
}
