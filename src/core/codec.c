/* codec.c - gzip via ISA-L (compress) and zlib (bounded streaming decompress). */
#include "codec.h"

#include "common.h"

#include <isa-l/igzip_lib.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ISA-L keeps per-level hash tables outside its stream struct; sizes per level. */
static const uint32_t level_buf_size[] = {ISAL_DEF_LVL0_DEFAULT, ISAL_DEF_LVL1_DEFAULT,
                                          ISAL_DEF_LVL2_DEFAULT, ISAL_DEF_LVL3_DEFAULT};

/* The hash-table buffer is per thread and reused across calls; a pthread key frees it
 * when the thread ends (the daemon runs one thread per connection). */
struct level_buf {
    uint8_t *data;
    size_t size;
};

static pthread_key_t level_buf_key;
static pthread_once_t level_buf_once = PTHREAD_ONCE_INIT;

static void level_buf_free(void *p)
{
    struct level_buf *lb = p;
    free(lb->data);
    free(lb);
}

static void level_buf_key_create(void)
{
    pthread_key_create(&level_buf_key, level_buf_free);
}

static uint8_t *level_buffer(int level)
{
    pthread_once(&level_buf_once, level_buf_key_create);
    struct level_buf *lb = pthread_getspecific(level_buf_key);
    if (!lb) {
        lb = cl_calloc(1, sizeof *lb);
        pthread_setspecific(level_buf_key, lb);
    }
    size_t need = level_buf_size[level];
    if (lb->size < need) {
        free(lb->data);
        lb->data = cl_malloc(need);
        lb->size = need;
    }
    return lb->data;
}

int cl_gzip_compress(const void *data, size_t len, int level, struct cl_buf *out)
{
    if (level < 0)
        level = 0;
    if (level > 3)
        level = 3;
    size_t start = out->len;
    /* Worst case for stored blocks plus header and trailer; ISA-L needs the room. */
    size_t bound = len + len / 64 + 1024;
    if (cl_buf_reserve(out, bound) != CL_OK)
        return CL_ERR_TOO_LARGE;

    struct isal_zstream s;
    isal_deflate_stateless_init(&s);
    s.gzip_flag = IGZIP_GZIP;
    s.level = (uint32_t)level;
    s.level_buf = level_buffer(level);
    s.level_buf_size = level_buf_size[level];
    s.next_in = (uint8_t *)data;
    s.avail_in = (uint32_t)len;
    s.next_out = (uint8_t *)out->data + start;
    s.avail_out = (uint32_t)bound;
    s.flush = NO_FLUSH;
    s.end_of_stream = 1;
    if (isal_deflate_stateless(&s) != COMP_OK || s.avail_in != 0) {
        cl_buf_truncate(out, start);
        return CL_ERR_TOO_LARGE;
    }
    out->len = start + s.total_out;
    out->data[out->len] = '\0';
    return CL_OK;
}

/* Members seen by one decompression (NULL: not wanted). */
struct member_log {
    struct cl_gzip_member *v;
    size_t n, cap;
};

static void log_member(struct member_log *ml, size_t gz_off, size_t gz_end, size_t raw_off,
                       size_t raw_end)
{
    if (!ml)
        return;
    if (ml->n == ml->cap) {
        ml->cap = ml->cap ? ml->cap * 2 : 32;
        ml->v = cl_realloc(ml->v, ml->cap * sizeof *ml->v);
    }
    ml->v[ml->n++] = (struct cl_gzip_member){gz_off, gz_end - gz_off, raw_off, raw_end - raw_off};
}

static int decompress(const void *data, size_t len, struct cl_buf *out, struct member_log *ml)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    /* 16 + MAX_WBITS: gzip wrapper only. */
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
        return CL_ERR_NOMEM;
    size_t start = out->len, gz_off = 0, raw_off = start;
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)len;
    int rc = CL_OK;
    for (;;) {
        size_t room = CL_MIN((size_t)256 * 1024, out->max - out->len);
        if (room == 0) {
            rc = CL_ERR_TOO_LARGE;
            break;
        }
        if (cl_buf_reserve(out, room) != CL_OK) {
            rc = CL_ERR_TOO_LARGE;
            break;
        }
        z.next_out = (Bytef *)out->data + out->len;
        z.avail_out = (uInt)room;
        int zr = inflate(&z, Z_NO_FLUSH);
        out->len += room - z.avail_out;
        if (zr == Z_STREAM_END) {
            log_member(ml, gz_off, len - z.avail_in, raw_off, out->len);
            gz_off = len - z.avail_in;
            raw_off = out->len;
            if (z.avail_in == 0)
                break;
            /* Concatenated members are valid gzip (RFC 1952 2.2). */
            if (inflateReset(&z) != Z_OK) {
                rc = CL_ERR_CORRUPT;
                break;
            }
            continue;
        }
        if (zr == Z_BUF_ERROR && z.avail_in == 0) {
            rc = CL_ERR_CORRUPT; /* truncated input */
            break;
        }
        if (zr != Z_OK) {
            rc = CL_ERR_CORRUPT;
            break;
        }
    }
    inflateEnd(&z);
    if (rc != CL_OK)
        cl_buf_truncate(out, start);
    else if (out->data)
        out->data[out->len] = '\0';
    return rc;
}

int cl_gzip_decompress(const void *data, size_t len, struct cl_buf *out)
{
    return decompress(data, len, out, NULL);
}

int cl_gzip_decompress_members(const void *data, size_t len, struct cl_buf *out,
                               struct cl_gzip_member **members, size_t *n)
{
    struct member_log ml = {0};
    int rc = decompress(data, len, out, &ml);
    if (rc != CL_OK) {
        free(ml.v);
        ml.v = NULL;
        ml.n = 0;
    }
    *members = ml.v;
    *n = ml.n;
    return rc;
}
