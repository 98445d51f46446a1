/* base64.h - standard base64 (RFC 4648 section 4, padded), encode and strict decode.
 *
 * Ours rather than OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock: queue messages are the only
 * base64 the `cloudlog` front (src/cli/lean_main.c) needs, and linking libcrypto for it
 * cost that front ~1.3 ms of loading per run (docs/performance.md, "Process start"). The
 * unit test checks both directions against OpenSSL's. */
#ifndef CL_BASE64_H
#define CL_BASE64_H

#include <stddef.h>

/* Characters cl_base64_encode writes for n bytes (without the NUL). */
size_t cl_base64_encoded_len(size_t n);

/* Writes the padded encoding of in[0..n) to out (room for cl_base64_encoded_len(n) + 1;
 * NUL-terminated). Returns the characters written. */
size_t cl_base64_encode(char *out, const void *in, size_t n);

/* Decodes the padded form text[0..len) into out (room for len / 4 * 3 bytes). Strict:
 * the length a multiple of 4, the alphabet only, '=' only as the last one or two
 * characters, no whitespace. Returns the bytes written, or -1 when text is not base64. */
long cl_base64_decode(void *out, const char *text, size_t len);

#endif
