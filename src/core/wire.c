/* wire.c - little-endian words and varints (wire.h). */
#include "wire.h"

void cl_wire_put_le32(struct cl_buf *b, uint32_t v)
{
    const unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                                (unsigned char)(v >> 24)};
    cl_buf_append(b, x, sizeof x);
}

void cl_wire_put_uv(struct cl_buf *b, uint64_t v)
{
    unsigned char x[10];
    size_t n = 0;
    while (v >= 0x80) {
        x[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    x[n++] = (unsigned char)v;
    cl_buf_append(b, x, n);
}

uint32_t cl_wire_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t cl_wire_get_uv(struct cl_wire_rd *r)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64 && r->p < r->end; shift += 7) {
        unsigned char c = *r->p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (c < 0x80)
            return v;
    }
    r->bad = 1;
    return 0;
}
