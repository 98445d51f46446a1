/* wire.h - the little binary pieces the queue message's member index and the stored
 * object's index share (message_index.c, object_index.c): little-endian 32-bit words and
 * LEB128 varints, written to a cl_buf and read through a bounded cursor. */
#ifndef CL_WIRE_H
#define CL_WIRE_H

#include "buf.h"

#include <stdint.h>

/* A bounded reader: bad is set (and 0 returned) when a value runs past end. */
struct cl_wire_rd {
    const unsigned char *p, *end;
    int bad;
};

void cl_wire_put_le32(struct cl_buf *b, uint32_t v);
/* Unsigned LEB128: 7 bits a byte, low first, the high bit set on all but the last. */
void cl_wire_put_uv(struct cl_buf *b, uint64_t v);
uint32_t cl_wire_le32(const unsigned char *p);
/* The next varint at r->p (at most 10 bytes), or 0 with r->bad set. */
uint64_t cl_wire_get_uv(struct cl_wire_rd *r);

#endif
