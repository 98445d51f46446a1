/* bodies.c - bench_loadgen's pool of pre-built POST requests (NDJSON, optionally gzipped). */
#include "loadgen.h"

#include "common.h"
#include "gen.h"

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
               "User-Agent: cloudlog-loadgen/1\r\nContent-Type: application/x-ndjson\r\n"
               "Content-Length: %zu\r\nConnection: keep-alive\r\n",
               bd->len);
    if (o->gzip)
        buf_printf(&h, "Content-Encoding: gzip\r\n");
    if (o->api_key)
        buf_printf(&h, "Authorization: Bearer %s\r\n", o->api_key);
    buf_add(&h, "\r\n", 2);
    bd->head = cl_buf_take(&h, &bd->head_len);
}

static void build_body(const struct opts *o, struct body *bd, struct cl_gen *g, int64_t now_ms)
{
    struct cl_buf b;
    cl_buf_init(&b, (size_t)1 << 31);
    for (int i = 0; i < o->batch; i++) {
        if (cl_gen_record(g, &b, now_ms) != CL_OK)
            die("buffer limit exceeded");
    }
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

/* Builds the pool of distinct bodies, capped so it stays under POOL_MAX_BYTES. */
struct body *build_pool(struct opts *o)
{
    size_t per_body = (size_t)o->batch * 300;
    size_t fit = POOL_MAX_BYTES / per_body;
    if ((size_t)o->pool > fit)
        o->pool = fit > 1 ? (int)fit : 1;
    struct body *pool = cl_calloc((size_t)o->pool, sizeof(*pool));
    struct cl_gen g;
    cl_gen_init(&g, o->seed);
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
