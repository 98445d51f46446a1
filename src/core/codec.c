/* codec.c - gzip via ISA-L: compress, and bounded streaming decompress of members. */
#include "codec.h"

#include "common.h"

#include <isa-l/igzip_lib.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

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

/* Gives the inflater up to 1 GiB more of the input (its counters are 32-bit). */
static void feed(struct inflate_state *st, const uint8_t *end)
{
    if (st->avail_in == 0 && st->next_in < end)
        st->avail_in = (uint32_t)CL_MIN((size_t)(end - st->next_in), (size_t)1 << 30);
}

/* ISA-L's inflater, not zlib's: a drain of queued messages spent 47% of its CPU in zlib's
 * inflate and crc32 (docs/performance.md, issue 14); ISA-L checks the gzip header and
 * trailer (CRC-32, length) the same way. Members follow one another (RFC 1952 2.2). */
static int decompress(const void *data, size_t len, struct cl_buf *out, struct member_log *ml)
{
    struct inflate_state *st = cl_malloc(sizeof *st);
    const uint8_t *in = data, *end = in + len;
    isal_inflate_init(st);
    st->crc_flag = ISAL_GZIP;
    st->next_in = (uint8_t *)in;
    st->avail_in = 0;
    size_t start = out->len, gz_off = 0, raw_off = start;
    int rc = CL_OK;
    for (;;) {
        feed(st, end);
        size_t room = CL_MIN((size_t)256 * 1024, out->max - out->len);
        if (room == 0 || cl_buf_reserve(out, room) != CL_OK) {
            rc = CL_ERR_TOO_LARGE;
            break;
        }
        st->next_out = (uint8_t *)out->data + out->len;
        st->avail_out = (uint32_t)room;
        int r = isal_inflate(st);
        out->len += room - st->avail_out;
        if (r < 0 || r == ISAL_NEED_DICT) {
            rc = CL_ERR_CORRUPT;
            break;
        }
        if (st->block_state == ISAL_BLOCK_FINISH) {
            size_t used = (size_t)(st->next_in - in);
            log_member(ml, gz_off, used, raw_off, out->len);
            gz_off = used;
            raw_off = out->len;
            if (used == len)
                break;
            isal_inflate_reset(st);
            st->crc_flag = ISAL_GZIP;
            continue;
        }
        if (st->avail_in == 0 && st->next_in == end && st->avail_out > 0) {
            rc = CL_ERR_CORRUPT; /* truncated input */
            break;
        }
    }
    free(st);
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
