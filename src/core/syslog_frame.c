/* syslog_frame.c - RFC 6587 framing of a syslog stream: octet counting ("LEN SP MSG")
 * or non-transparent framing (messages end at LF), chosen by the start of the connection
 * (digits and a space mean octet counting, as syslog-ng and rsyslog read it).
 *
 * A message longer than max_msg is truncated: its first max_msg bytes are returned
 * (truncated set) and the rest is discarded, across reads (skip / skip_to_lf), so a
 * connection never needs a buffer larger than max_msg plus the length prefix.
 */
#include "syslog.h"

#include <string.h>

/* Longest MSG-LEN we read: 10 digits (RFC 6587 sets no bound; ours is max_msg). */
#define OCTET_LEN_DIGITS 10

void cl_syslog_framer_init(struct cl_syslog_framer *f, size_t max_msg)
{
    memset(f, 0, sizeof *f);
    f->mode = CL_SYSLOG_FRAMING_DETECT;
    f->max_msg = max_msg;
}

/* Drops bytes still owed to a truncated message from the front of buf. */
static void discard(struct cl_syslog_framer *f, const char **buf, size_t *len, size_t *consumed)
{
    if (f->skip) {
        size_t k = f->skip < *len ? (size_t)f->skip : *len;
        f->skip -= k;
        *buf += k;
        *len -= k;
        *consumed += k;
    }
    if (f->skip_to_lf && *len) {
        const char *nl = memchr(*buf, '\n', *len);
        size_t k = nl ? (size_t)(nl - *buf) + 1 : *len;
        f->skip_to_lf = nl == NULL;
        *buf += k;
        *len -= k;
        *consumed += k;
    }
}

/* Octet counting when the stream starts with 1-10 digits and a space, LF framing
 * otherwise (so a sender of plain lines that start with a digit, "2026-12-07 ...", is
 * not taken for octet counting). Returns -1 while the digits so far decide nothing. */
static int detect(struct cl_syslog_framer *f, const char *buf, size_t len)
{
    size_t i = 0;
    while (i < len && i <= OCTET_LEN_DIGITS && buf[i] >= '0' && buf[i] <= '9')
        i++;
    if (i == len && i <= OCTET_LEN_DIGITS)
        return -1;
    f->mode = i > 0 && i <= OCTET_LEN_DIGITS && buf[i] == ' ' && buf[0] != '0'
                  ? CL_SYSLOG_FRAMING_OCTET
                  : CL_SYSLOG_FRAMING_LF;
    return 0;
}

static enum cl_syslog_frame_rc octet_next(struct cl_syslog_framer *f, const char *buf, size_t len,
                                          size_t *consumed, const char **msg, size_t *msg_len,
                                          int *truncated)
{
    size_t i = 0;
    while (i < len && (buf[i] == '\n' || buf[i] == '\r'))
        i++; /* tolerated between frames: some senders end each frame with a newline */
    *consumed += i;
    size_t start = i;
    uint64_t n = 0;
    for (; i < len && buf[i] >= '0' && buf[i] <= '9' && i - start < OCTET_LEN_DIGITS; i++)
        n = n * 10 + (uint64_t)(buf[i] - '0');
    if (i == len)
        return i - start <= OCTET_LEN_DIGITS ? CL_SYSLOG_FRAME_NEED : CL_SYSLOG_FRAME_ERROR;
    if (i == start || buf[i] != ' ' || buf[start] == '0')
        return CL_SYSLOG_FRAME_ERROR;
    size_t hdr = i + 1 - start;
    size_t take = n > f->max_msg ? f->max_msg : (size_t)n;
    if (len - start < hdr + take)
        return CL_SYSLOG_FRAME_NEED;
    *msg = buf + start + hdr;
    *msg_len = take;
    *truncated = take < n;
    f->skip = n - take;
    *consumed += hdr + take;
    return CL_SYSLOG_FRAME_MSG;
}

static enum cl_syslog_frame_rc lf_next(struct cl_syslog_framer *f, const char *buf, size_t len,
                                       size_t *consumed, const char **msg, size_t *msg_len,
                                       int *truncated)
{
    for (;;) {
        size_t window = len < f->max_msg + 1 ? len : f->max_msg + 1;
        const char *nl = memchr(buf, '\n', window);
        if (!nl && len <= f->max_msg)
            return CL_SYSLOG_FRAME_NEED;
        size_t n = nl ? (size_t)(nl - buf) : f->max_msg;
        if (n == 0 || (n == 1 && buf[0] == '\r')) {
            buf += n + 1; /* blank line: not a message */
            len -= n + 1;
            *consumed += n + 1;
            continue;
        }
        *msg = buf;
        *msg_len = n;
        *truncated = nl == NULL;
        f->skip_to_lf = nl == NULL;
        *consumed += nl ? n + 1 : n;
        return CL_SYSLOG_FRAME_MSG;
    }
}

enum cl_syslog_frame_rc cl_syslog_frame_next(struct cl_syslog_framer *f, const char *buf,
                                             size_t len, size_t *consumed, const char **msg,
                                             size_t *msg_len, int *truncated)
{
    *consumed = 0;
    *truncated = 0;
    discard(f, &buf, &len, consumed);
    if (len == 0 || f->skip || f->skip_to_lf)
        return CL_SYSLOG_FRAME_NEED;
    if (f->mode == CL_SYSLOG_FRAMING_DETECT && detect(f, buf, len) != 0)
        return CL_SYSLOG_FRAME_NEED;
    if (f->mode == CL_SYSLOG_FRAMING_OCTET)
        return octet_next(f, buf, len, consumed, msg, msg_len, truncated);
    return lf_next(f, buf, len, consumed, msg, msg_len, truncated);
}
