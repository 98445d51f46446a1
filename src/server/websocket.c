/* websocket.c - RFC 6455 handshake key and framing (see websocket.h). */
#include "websocket.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

/* RFC 6455 1.3: the GUID every server appends to the client's key. */
static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

int cl_ws_accept_key(const char *key, char out[CL_WS_ACCEPT_LEN + 1])
{
    unsigned char raw[24];
    /* 16 bytes in base64 are 24 characters ending "=="; EVP_DecodeBlock keeps the pad
     * bytes as zeros, so a valid key decodes to 18 bytes. */
    if (!key || strlen(key) != 24 || strcmp(key + 22, "==") != 0 ||
        EVP_DecodeBlock(raw, (const unsigned char *)key, 24) != 18)
        return -1;
    char text[24 + sizeof ws_guid];
    snprintf(text, sizeof text, "%s%s", key, ws_guid);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (!EVP_Digest(text, strlen(text), md, &md_len, EVP_sha1(), NULL) || md_len != 20)
        return -1;
    EVP_EncodeBlock((unsigned char *)out, md, (int)md_len);
    return 0;
}

size_t cl_ws_frame_header(enum cl_ws_opcode opcode, uint64_t len, unsigned char hdr[10])
{
    hdr[0] = (unsigned char)(0x80 | (opcode & 0x0f));
    if (len < 126) {
        hdr[1] = (unsigned char)len;
        return 2;
    }
    if (len <= 0xffff) {
        hdr[1] = 126;
        hdr[2] = (unsigned char)(len >> 8);
        hdr[3] = (unsigned char)len;
        return 4;
    }
    hdr[1] = 127;
    for (int i = 0; i < 8; i++)
        hdr[2 + i] = (unsigned char)(len >> (56 - 8 * i));
    return 10;
}

static int known_opcode(unsigned op)
{
    return op <= CL_WS_BINARY || (op >= CL_WS_CLOSE && op <= CL_WS_PONG);
}

ssize_t cl_ws_parse(unsigned char *buf, size_t n, size_t max_payload, struct cl_ws_frame *f)
{
    if (n < 2)
        return 0;
    unsigned op = buf[0] & 0x0f;
    if ((buf[0] & 0x70) || !known_opcode(op) || !(buf[1] & 0x80))
        return -1; /* reserved bits without an extension, or a client frame not masked */
    uint64_t len = buf[1] & 0x7f;
    size_t at = 2;
    if (len >= 126) {
        size_t ext = len == 126 ? 2 : 8;
        if (n < at + ext)
            return 0;
        len = 0;
        for (size_t i = 0; i < ext; i++)
            len = len << 8 | buf[at + i];
        at += ext;
    }
    int control = op >= CL_WS_CLOSE;
    if (control && (len > 125 || !(buf[0] & 0x80)))
        return -1;
    if (len > max_payload)
        return -2;
    if (n < at + 4 + len)
        return 0;
    const unsigned char *mask = buf + at;
    at += 4;
    for (size_t i = 0; i < len; i++)
        buf[at + i] ^= mask[i & 3];
    f->opcode = (enum cl_ws_opcode)op;
    f->fin = (buf[0] & 0x80) != 0;
    f->payload = buf + at;
    f->len = (size_t)len;
    return (ssize_t)(at + len);
}
