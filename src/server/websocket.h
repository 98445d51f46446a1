/* websocket.h - the server side of RFC 6455, as small as GET /loki/api/v1/tail needs:
 * the handshake's accept key, unfragmented frames out, client frames parsed (masked,
 * control frames, fragments passed through for the caller to ignore). */
#ifndef CL_WEBSOCKET_H
#define CL_WEBSOCKET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum cl_ws_opcode {
    CL_WS_CONTINUATION = 0x0,
    CL_WS_TEXT = 0x1,
    CL_WS_BINARY = 0x2,
    CL_WS_CLOSE = 0x8,
    CL_WS_PING = 0x9,
    CL_WS_PONG = 0xA,
};

/* Close codes (RFC 6455 7.4.1) the tail sends. */
#define CL_WS_CLOSE_NORMAL 1000
#define CL_WS_CLOSE_GOING_AWAY 1001
#define CL_WS_CLOSE_PROTOCOL 1002
#define CL_WS_CLOSE_TOO_BIG 1009
#define CL_WS_CLOSE_INTERNAL 1011

#define CL_WS_ACCEPT_LEN 28 /* base64 of a SHA-1 digest */

/* Sec-WebSocket-Accept for the client's Sec-WebSocket-Key: base64(SHA-1(key + the
 * RFC's GUID)) into out (CL_WS_ACCEPT_LEN + 1 bytes). Returns 0, or -1 when key is not
 * the base64 of 16 bytes (RFC 6455 4.2.1). */
int cl_ws_accept_key(const char *key, char out[CL_WS_ACCEPT_LEN + 1]);

/* The header of an unmasked, final server frame with opcode and a payload of len bytes
 * into hdr. Returns the header's length (2, 4 or 10). */
size_t cl_ws_frame_header(enum cl_ws_opcode opcode, uint64_t len, unsigned char hdr[10]);

struct cl_ws_frame {
    enum cl_ws_opcode opcode;
    int fin;
    unsigned char *payload; /* inside the parsed buffer, unmasked in place */
    size_t len;
};

/* Parses the client frame at the start of buf[0, n) and unmasks its payload in place.
 * Returns the bytes it takes (> 0), 0 when more bytes are needed, -1 for a protocol
 * error (an unmasked frame, a reserved bit or opcode, a fragmented or long control
 * frame) or -2 for a payload over max_payload. */
ssize_t cl_ws_parse(unsigned char *buf, size_t n, size_t max_payload, struct cl_ws_frame *f);

#endif
