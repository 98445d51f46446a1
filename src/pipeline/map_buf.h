/* map_buf.h - a growing byte buffer in an anonymous mapping of its own, for the processor's
 * partition buffers (part_acc.c).
 *
 * Why not malloc: those buffers grow to megabytes and are freed at every flush. With
 * glibc's default (dynamic) mmap threshold they end up in the heap, whose freed space stays
 * resident (a 5 M-record drain peaked at 104 MiB RSS); fixing the threshold for the whole
 * process at 128 KiB (what the processors did before) made every ingest buffer above it a
 * fresh mapping too, page-faulted in and unmapped per request: +0.9 us of CPU per ingested
 * record, most of what end to end lost against ingest alone (docs/performance.md, "The
 * processor's memory apart from ingest's"). Mapping only these buffers keeps both.
 *
 * The buffer is a struct cl_buf (data, len, cap) so readers use it as any other, but it
 * must be grown and freed only by the functions here: cl_buf_* mutators would realloc or
 * free a mapping. */
#ifndef CL_MAP_BUF_H
#define CL_MAP_BUF_H

#include "buf.h"

#include <stddef.h>

/* An empty mapped buffer (no mapping until the first append). */
void cl_map_buf_init(struct cl_buf *b);
/* Appends n bytes, growing the mapping (mremap, no copy) as needed; keeps a NUL after
 * the data like cl_buf. Aborts when the kernel refuses memory, as cl_malloc does. */
void cl_map_buf_append(struct cl_buf *b, const void *p, size_t n);
/* Unmaps the buffer and leaves it empty. */
void cl_map_buf_free(struct cl_buf *b);

#endif
