/* proto_record.h - building one input record (a JSON object) with unique keys.
 *
 * Protocols carry the same name at several levels (a log attribute and a resource
 * attribute, a body member and a label); the normalizer rejects a record with duplicate
 * keys, so the first member written under a name wins and later ones are skipped. The
 * decoders write the contract fields first, so a protocol's own timestamp, level,
 * service and message win over same-named attributes.
 */
#ifndef CL_PROTO_RECORD_H
#define CL_PROTO_RECORD_H

#include "buf.h"
#include "proto.h"

#include <stddef.h>
#include <stdint.h>

struct cl_jw_pairs;
struct cl_proto_span;

struct cl_proto_rec {
    struct cl_buf *out; /* the record's JSON is appended here */
    struct cl_buf keys; /* JSON-encoded keys written so far, back to back */
    uint64_t *slots;    /* open addressing: (offset << 24 | len) + 1 into keys, 0 empty */
    size_t n_slots;     /* a power of two */
    size_t n_keys;
    size_t key_mark; /* keys.len before the last key, to drop it again */
    /* 1: a record for the sink's document callback (cl_proto_rec_set_sink): its
     * normalizer drops later duplicates and supplies a missing message itself, so keys
     * are written without being tracked and cl_proto_rec_ensure_message writes nothing
     * (the same normalized record as the checked copy, for less work per key). */
    int unchecked;
    int has_message; /* a message, msg or log member was written (checked mode) */
    /* Opt-in (cl_proto_rec_track_members; unchecked mode only): where each member's key
     * and value were written, so cl_proto_rec_emit hands the normalizer the members
     * (cl_proto_doc.members) and it does not read the record again. */
    int track;
    int reread;                  /* this record: let the normalizer read it (set by the decoder) */
    struct cl_proto_span *spans; /* one per member written */
    size_t n_spans, spans_cap;
    struct cl_jw_pairs *members; /* built from spans by cl_proto_rec_emit */
};

struct cl_proto_span {
    size_t key, key_len, val; /* offsets into out: the key token, the value's start */
    int plain_key;            /* the key was written without escapes (no look needed) */
};

/* Initializes an empty builder writing into out. Free with cl_proto_rec_free. */
void cl_proto_rec_init(struct cl_proto_rec *r, struct cl_buf *out);
void cl_proto_rec_free(struct cl_proto_rec *r);
/* Picks how records are handed on: to sink->document when the sink has one (keys not
 * tracked, see `unchecked`; cl_proto_rec_has must not be used then), else to sink->record. */
void cl_proto_rec_set_sink(struct cl_proto_rec *r, const struct cl_proto_sink *sink);
/* Unchecked mode: records the members as they are written and hands them on with the
 * record. The caller writes values that hold no whitespace, and sets r->reread for a
 * record nested as deep as the normalizer's limit (it is then read and checked there). */
void cl_proto_rec_track_members(struct cl_proto_rec *r);
/* Hands the finished record to the sink as cl_proto_rec_set_sink chose. */
void cl_proto_rec_emit(const struct cl_proto_rec *r, const struct cl_proto_sink *sink);
/* Starts a new record: resets out and the key set and writes '{'. */
void cl_proto_rec_begin(struct cl_proto_rec *r);
/* Writes the key text[0..len) (JSON-escaped) and ':' and returns 1 when no member of
 * that name exists; the caller then writes the value. Returns 0 (nothing written) for a
 * name already present: the caller skips that value. */
int cl_proto_rec_key(struct cl_proto_rec *r, const char *text, size_t len);
/* As cl_proto_rec_key for a key given as a JSON string token (quotes included). */
int cl_proto_rec_key_json(struct cl_proto_rec *r, const char *tok, size_t len);
/* 1 if a member named text[0..len) was written. */
int cl_proto_rec_has(const struct cl_proto_rec *r, const char *text, size_t len);
/* Writes '}'. The record is out->data[0..out->len). */
void cl_proto_rec_end(struct cl_proto_rec *r);
/* Convenience: a string member (skipped when the name exists). key is a decoder's own
 * name: printable ASCII without '"' or '\\' (not checked). */
void cl_proto_rec_string(struct cl_proto_rec *r, const char *key, const char *s, size_t len);
/* As cl_proto_rec_string for a value the caller knows is plain as well (a timestamp, a
 * level name, a cleaned service name): copied without an escaping pass. */
void cl_proto_rec_plain(struct cl_proto_rec *r, const char *key, const char *s, size_t len);

/* Appends the members of the JSON object obj (first of a name wins), values compacted.
 * obj must have been validated (json_walk.h: it is walked without validating again);
 * depth is unused, kept for the callers. */
struct cl_json_value;
void cl_proto_rec_merge(struct cl_proto_rec *r, const struct cl_json_value *obj, int depth);

/* Writes "message":"" unless a message, msg or log member exists (the normalizer needs
 * one; a protocol record without text still carries its fields). */
void cl_proto_rec_ensure_message(struct cl_proto_rec *r);

/* Appends bytes as lowercase hex / standard base64 (no quotes). */
void cl_proto_hex(struct cl_buf *out, const uint8_t *p, size_t n);
void cl_proto_base64(struct cl_buf *out, const uint8_t *p, size_t n);
/* Replaces characters outside [A-Za-z0-9._-] with '_' and cuts s to 64 bytes, so a
 * protocol's service name (OpenTelemetry's "unknown_service:node") passes the service
 * rule. Returns the new length (0 stays 0). */
size_t cl_proto_service_clean(char *s, size_t len);

#endif
