/* codec.h - gzip compression and bounded decompression, both ISA-L's (igzip).
 *
 * Compression uses ISA-L because it is ~4x faster than zlib at level 1 with a better
 * ratio (measured in ../shared/docs/measurements.md); output is
 * standard gzip (RFC 1952) readable by zcat. Decompression streams so that a size bound
 * is enforced while inflating: a gzip bomb stops at the bound, it never allocates its full
 * expansion.
 */
#ifndef CL_CODEC_H
#define CL_CODEC_H

#include "buf.h"

#include <stddef.h>

/* Compression levels accepted by cl_gzip_compress (ISA-L supports 0..3; higher values
 * are clamped). */
#define CL_GZIP_LEVEL_DEFAULT 1

/* Appends the gzip member of data[0..len) to out. Returns CL_OK, or CL_ERR_TOO_LARGE if
 * out's maximum is hit (out is then restored to its previous length). */
int cl_gzip_compress(const void *data, size_t len, int level, struct cl_buf *out);

/* Appends the decompressed content of gzip data (one or more concatenated members) to
 * out, never growing out past out->max. Returns CL_OK, CL_ERR_TOO_LARGE (the bound was
 * hit) or CL_ERR_CORRUPT (not valid gzip, truncated, or CRC mismatch). */
int cl_gzip_decompress(const void *data, size_t len, struct cl_buf *out);

/* One gzip member of a multi-member stream: its compressed bytes [gz_off, gz_off +
 * gz_len) of the input and its content [raw_off, raw_off + raw_len) of out. */
struct cl_gzip_member {
    size_t gz_off, gz_len;
    size_t raw_off, raw_len;
};

/* As cl_gzip_decompress, and also reports each member: *members (caller frees) gets
 * *n entries in stream order. On error *members is NULL and *n 0. */
int cl_gzip_decompress_members(const void *data, size_t len, struct cl_buf *out,
                               struct cl_gzip_member **members, size_t *n);

#endif
