/* syslog.h - syslog messages: RFC 5424 and RFC 3164 (BSD) parsing, RFC 6587 framing on
 * streams, and the input record (JSON) a message becomes.
 *
 * Nothing here touches a socket: the daemon's listener (src/server/syslog_listen.c) reads
 * bytes, cl_syslog_frame_next cuts them into messages, cl_syslog_parse splits a message
 * into borrowed slices, and cl_syslog_record writes the JSON object that goes through
 * the same normalization as a POST /v1/logs record (cl_ingest_parse). The mapping is
 * documented in docs/syslog.md.
 */
#ifndef CL_SYSLOG_H
#define CL_SYSLOG_H

#include "buf.h"
#include "common.h"

#include <stddef.h>
#include <stdint.h>

/* Default largest message (after framing); longer ones are truncated to it. */
#define CL_SYSLOG_DEFAULT_MAX_MESSAGE ((size_t)64 << 10)

/* One parsed message. Slices borrow the message text; ptr is NULL when the field is
 * absent or the RFC 5424 NILVALUE "-". */
struct cl_syslog_msg {
    int facility;  /* 0..23 (no PRI: 1, user, as RFC 3164 4.3.3 says) */
    int severity;  /* 0..7 (no PRI: 5, notice) */
    int version;   /* 1 for RFC 5424, 0 for BSD syslog */
    int has_ts;    /* 0: no timestamp, or one we could not read */
    int64_t ts_ms; /* when has_ts */
    struct cl_slice hostname, app_name, procid, msgid;
    struct cl_slice sd;  /* RFC 5424 STRUCTURED-DATA text, validated ("[id k=\"v\"]...") */
    struct cl_slice msg; /* without a UTF-8 BOM and trailing CR/LF/NUL */
};

/* Parses msg[0..len). now_ms is the receive time, used to infer the year of a BSD
 * timestamp. Never fails: text that fits neither RFC becomes the message of a record
 * with default PRI. */
void cl_syslog_parse(const char *msg, size_t len, int64_t now_ms, struct cl_syslog_msg *m);

/* Appends the input record for m as one JSON object and '\n' to out:
 *   {"timestamp":"...","level":"warn","service":"app","message":"...",
 *    "facility":"local0","hostname":"h","procid":"42","msgid":"ID1",
 *    "sd":{"id@1":{"k":"v"}}}
 * Absent fields are left out; a missing timestamp becomes received_ms. Bytes that are
 * not UTF-8 become U+FFFD. Returns CL_OK or CL_ERR_TOO_LARGE (out unchanged then). */
int cl_syslog_record(const struct cl_syslog_msg *m, int64_t received_ms, struct cl_buf *out);

/* "kern".."local7" for 0..23. */
const char *cl_syslog_facility_name(int facility);

/* The RFC 5424 STRUCTURED-DATA lexer, shared by the parser (validation) and the record
 * writer. A cursor walks "[SD-ID (SP PARAM-NAME=\"VALUE\")*]..." */
struct cl_syslog_sd_cursor {
    const char *p, *end;
};

/* Element start: "[SD-ID". Returns 1 (id set), 0 at the end of the SD text (p at the
 * byte after it), or -1 if the text is not structured data. */
int cl_syslog_sd_element(struct cl_syslog_sd_cursor *c, struct cl_slice *id);

/* Next " NAME=\"VALUE\"" of the current element. Returns 1 (name and raw value set; the
 * value still holds its backslash escapes), 0 after the closing ']', or -1. */
int cl_syslog_sd_param(struct cl_syslog_sd_cursor *c, struct cl_slice *name,
                       struct cl_slice *value);

/* ---- RFC 6587 framing on a stream (TCP) ---- */

enum cl_syslog_framing {
    CL_SYSLOG_FRAMING_DETECT, /* decided by the start of the connection */
    CL_SYSLOG_FRAMING_OCTET,  /* "LEN SP MSG" (the stream starts with digits and a space) */
    CL_SYSLOG_FRAMING_LF      /* messages end at LF (non-transparent framing) */
};

/* Framing state of one connection. Initialize with cl_syslog_framer_init. */
struct cl_syslog_framer {
    enum cl_syslog_framing mode;
    size_t max_msg; /* longer messages are truncated to this many bytes */
    uint64_t skip;  /* bytes of a truncated message still to discard */
    int skip_to_lf; /* LF framing: discard through the next LF (after a truncation) */
};

void cl_syslog_framer_init(struct cl_syslog_framer *f, size_t max_msg);

enum cl_syslog_frame_rc {
    CL_SYSLOG_FRAME_MSG,  /* msg and msg_len set; truncated tells if it was cut */
    CL_SYSLOG_FRAME_NEED, /* no complete message in buf: read more */
    CL_SYSLOG_FRAME_ERROR /* invalid octet count: the stream cannot be resynchronized */
};

/* Finds the next message in buf[0..len). *consumed (always set) bytes of buf are done
 * with and may be dropped by the caller, also with FRAME_NEED (discarded bytes); msg
 * points into buf. A caller whose buffer holds max_msg + 32 bytes always makes progress. */
enum cl_syslog_frame_rc cl_syslog_frame_next(struct cl_syslog_framer *f, const char *buf,
                                             size_t len, size_t *consumed, const char **msg,
                                             size_t *msg_len, int *truncated);

#endif
