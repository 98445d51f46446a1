/* message.h - the queue message contract: what one message is, how it is encoded and
 * decoded, its attributes and its size as sent.
 *
 * A message is one compressed batch of normalized NDJSON records ("gzip" is the only
 * encoding) plus attributes (struct cl_msg_attrs). Every runtime speaks this contract:
 * ingest encodes (cl_msg_from_sealed), the processors decode (cl_msg_decode,
 * cl_msg_decode_members, cl_msg_lines), and a transport that carries text only (SQS, a Lambda
 * event) sends the body as base64 and the attributes as name/value text (message_text.c). Queue
 * backends store messages; they do not define them.
 */
#ifndef CL_MESSAGE_H
#define CL_MESSAGE_H

#include "buf.h"
#include "partition.h"

#include <stddef.h>
#include <stdint.h>

struct cl_gzip_member; /* codec.h */

struct cl_msg_attrs {
    uint32_t record_count;
    uint64_t raw_bytes; /* uncompressed size of the records */
    int64_t min_ts_ms;  /* smallest record timestamp */
    int64_t max_ts_ms;  /* largest record timestamp */
    char encoding[16];  /* body encoding, e.g. "gzip" (NDJSON inside) */
};

/* A message to send; the body is borrowed for the duration of the call. */
struct cl_msg_out {
    const void *body;
    size_t len;
    struct cl_msg_attrs attrs;
};

/* A received (or DLQ-listed) message; owned by the caller, freed with cl_msgs_free. */
struct cl_msg {
    char *id;      /* stable message id */
    char *receipt; /* receipt handle for delete / change-visibility (NULL for DLQ list) */
    void *body;    /* NULL when listed without bodies */
    size_t len;
    struct cl_msg_attrs attrs;
    uint32_t receive_count;
    int64_t sent_ms;          /* when it was first sent */
    int64_t first_receive_ms; /* 0 if never received */
    char *last_error;         /* NULL if none */
};

/* Frees an array of n messages returned by receive or dlq_list. */
void cl_msgs_free(struct cl_msg *msgs, size_t n);

/* ENCODE. */

struct cl_batch_sealed; /* batch.h */

/* Fills *m from a sealed batch: body borrowed from s->gz (still owned by whoever owns s),
 * attributes from its counters, encoding "gzip". */
void cl_msg_from_sealed(const struct cl_batch_sealed *s, struct cl_msg_out *m);

/* DECODE: shared by every processor, so all accept and reject exactly the same messages
 * with the same reasons. */

/* Decompresses a message body into out (reset first, bounded by out->max). Only the
 * "gzip" encoding exists. Returns 0, or -1 with err set ("unsupported message encoding
 * 'x'", "cannot decode message body: ..."). */
int cl_msg_decode(const struct cl_msg_attrs *attrs, const void *body, size_t len,
                  struct cl_buf *out, char *err, size_t err_len);

/* As cl_msg_decode, and also reports the body's gzip members (codec.h; ingest packs one
 * per partition): *members (caller frees; NULL on error) gets *n entries. */
int cl_msg_decode_members(const struct cl_msg_attrs *attrs, const void *body, size_t len,
                          struct cl_buf *out, struct cl_gzip_member **members, size_t *n, char *err,
                          size_t err_len);

/* Calls fn for every line of decoded NDJSON (without its '\n') with the line's parsed
 * head. Stops at the first line that is not a normalized record: returns -1 with err set
 * ("record N is not a normalized log record"), or at fn's first non-zero return, which it
 * returns; else 0. */
int cl_msg_lines(const struct cl_buf *decoded,
                 int (*fn)(void *arg, const char *line, size_t len, const struct cl_line_head *h),
                 void *arg, char *err, size_t err_len);

/* MEMBER INDEX: what the processor needs of each gzip member without inflating it.
 *
 * Ingest packs one gzip member per partition (batch.h) and puts an index of them first in
 * the body, as a gzip member of its own with no content: its header's extra field (RFC
 * 1952 2.3.1.1, subfield 'C','L') holds, per data member, its compressed length, raw
 * bytes, records, time span, level counts and service; the partition is (service, UTC
 * hour of its records). Every gzip reader skips the extra field and the empty member, so
 * the body is still plain multi-member gzip NDJSON (docs/pipeline.md, "Queue messages").
 * With the index the processor appends each member to its partition's object as it is
 * and counts it from the index, without inflating; without one (messages of an earlier
 * version, a body too large for an index) it inflates and reads every line. */

#define CL_MSG_INDEX_VERSION 1
#define CL_MSG_PARTITIONING_HOUR 1 /* service + UTC hour: the processor's (partition.h) */

/* One data member of a message. */
struct cl_msg_member {
    size_t gz_off, gz_len; /* its compressed bytes in the body (gz_off set by read) */
    uint64_t raw_len;      /* its NDJSON bytes, every line with its '\n' */
    uint32_t records;
    int64_t min_ts_ms, max_ts_ms;
    uint32_t levels[CL_LEVEL_COUNT]; /* records per level */
    char service[65];
};

/* Appends to out the index member of members[0..n), whose compressed bytes (in this
 * order) are data[0..len). Returns CL_OK, or CL_ERR_TOO_LARGE when the index does not fit
 * a gzip extra field (too many members): then nothing is appended and the message goes
 * without (the processor inflates it). */
int cl_msg_index_write(const struct cl_msg_member *members, size_t n, const void *data, size_t len,
                       struct cl_buf *out);

/* Reads the index at the start of body. Returns the number of data members and sets
 * *members (caller frees) when the body carries an index this processor can use: a known
 * version and partitioning, intact (CRC-32 of the index and of the members' compressed
 * bytes), members that tile the rest of the body, each a gzip member whose trailer's
 * size is its raw_len, and totals that match attrs. Returns 0 (*members NULL) otherwise:
 * the caller then decodes the body, which accepts or rejects the message on its own. */
size_t cl_msg_index_read(const struct cl_msg_attrs *attrs, const void *body, size_t len,
                         struct cl_msg_member **members);

/* The partition fields (service, dt, hour; ts_ms = min_ts_ms) of a member, as
 * cl_line_head_parse reads them from any of its lines. */
void cl_msg_member_head(const struct cl_msg_member *m, struct cl_line_head *h);

/* ATTRIBUTES as name/value text (SQS message attributes, DataType Number except
 * encoding, which is String). */
#define CL_MSG_ATTR_COUNT "count"         /* record_count */
#define CL_MSG_ATTR_RAW_BYTES "raw_bytes" /* uncompressed bytes */
#define CL_MSG_ATTR_MIN_TS "min_ts_ms"
#define CL_MSG_ATTR_MAX_TS "max_ts_ms"
#define CL_MSG_ATTR_ENCODING "encoding" /* e.g. "gzip" */

/* Sets the field of attrs named by one attribute (name, value text); unknown names are
 * ignored (CL_OK); CL_ERR_INVAL for a bad number. */
int cl_msg_attr_set(struct cl_msg_attrs *a, const char *name, const char *value, size_t value_len);

/* BODY AS TEXT (a transport whose bodies must be text): base64, standard alphabet, padded. */

/* base64 of body, NUL-terminated heap string (caller frees); *out_len its length (may be
 * NULL). NULL on OOM. */
char *cl_msg_body_to_text(const void *body, size_t len, size_t *out_len);

/* Decodes base64 text into a heap buffer (caller frees). CL_ERR_INVAL on bad base64. */
int cl_msg_body_from_text(const char *text, size_t len, void **out, size_t *out_len);

/* Length of the base64 text of a body of len bytes (what SQS counts toward its size). */
size_t cl_msg_text_len(size_t len);

/* SIZE LIMITS. */

/* Room kept for a message's attributes in its size as sent (SQS counts their names,
 * types and values against its message size; ours take under 200 bytes). */
#define CL_MSG_ATTR_ROOM 256

/* Size of a message with a compressed body of body_len bytes as sent: its body in base64
 * plus CL_MSG_ATTR_ROOM. A batch is sealed so that this fits the queue's maximum message
 * size (batch.h). */
size_t cl_msg_sent_size(size_t body_len);

#endif
