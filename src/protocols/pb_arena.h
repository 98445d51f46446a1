/* pb_arena.h - a bump allocator for protobuf-c's unpack: every allocation of one request
 * comes from a few large chunks, all released at once. protobuf-c allocates each message,
 * string and repeated array on its own (tens per log record); with malloc their
 * allocation and release were a quarter of the OTLP protobuf decoder's time
 * (docs/performance.md, "Shipper protocols"). */
#ifndef CL_PB_ARENA_H
#define CL_PB_ARENA_H

#include <protobuf-c/protobuf-c.h>

struct cl_pb_chunk;

struct cl_pb_arena {
    ProtobufCAllocator alloc; /* pass &arena.alloc to a generated __unpack */
    struct cl_pb_chunk *head; /* the chunk being filled; each links to the one before */
};

void cl_pb_arena_init(struct cl_pb_arena *a);
/* Releases every allocation made through a->alloc (the unpacked message with them). */
void cl_pb_arena_free(struct cl_pb_arena *a);

#endif
