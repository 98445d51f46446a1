/* mask.h - splits a log message into tokens and masks variable ones (numbers, hex, ids,
 * addresses, paths, URLs, durations, sizes, quoted strings, key=value values, dates). */
#ifndef CL_MASK_H
#define CL_MASK_H

#include <stddef.h>
#include <stdint.h>

/* Messages longer than this are mined on their first CL_MASK_MAX_BYTES bytes. */
#define CL_MASK_MAX_BYTES 4096
/* Tokens past this count are folded into one trailing wildcard token. */
#define CL_MASK_MAX_TOKENS 128
/* The hash of a wildcard token ("<*>"); a real token never hashes to it. */
#define CL_MASK_WILD ((uint64_t)0)

struct cl_mask_token {
    uint32_t off;   /* offset of the token's masked text in cl_masked.text */
    uint32_t len;   /* bytes of masked text */
    uint64_t hash;  /* hash of the masked text; CL_MASK_WILD when the whole token is "<*>" */
    uint8_t masked; /* the token holds a "<*>" (bare or inside punctuation) */
    uint8_t word;   /* the token's core is letters only ("bytes", "Active") */
};

/* One masked message: tokens point into text, a fixed buffer (no allocation), where they
 * are separated by one space (text is the message's template on its own). */
struct cl_masked {
    size_t n;
    struct cl_mask_token tok[CL_MASK_MAX_TOKENS];
    char text[CL_MASK_MAX_BYTES * 2 + 16]; /* masked text may grow: "1" becomes "<*>" */
    size_t text_len;
    /* cl_mask_hash(text, text_len) when text_hash_ok (a message of plain words only: the
     * scan computes it beside the tokens' hashes, so a new cluster's id costs no pass). */
    uint64_t text_hash;
    int text_hash_ok;
};

/* Tokenizes msg on blanks and masks variable tokens into out (overwritten). A run of
 * adjacent wildcard tokens becomes one, so a variable-length list of values (stack
 * addresses, ids) yields one template. */
void cl_mask_message(const char *msg, size_t len, struct cl_masked *out);

/* A key of what cl_mask_message makes of msg, in one pass without masking: two messages
 * with one key and one *check mask to the same tokens (but by a collision of both 64-bit
 * lanes, keyed by a secret drawn per process, so keys differ between processes). Bytes
 * outside tokens that hold a digit or start with a quote count as they are; such a token
 * counts by its masked text, so the values of numbers, ids, addresses and durations do not
 * matter. 0: not keyed (longer than CL_MASK_MAX_BYTES). The miner's shape cache (miner.c). */
uint64_t cl_mask_shape_key(const char *msg, size_t len, uint64_t *check);

/* 1 when the first two tokens of msg are plain words that cl_mask_message keeps as they
 * are (letters only, not a day or month name, not 8 hex letters or more), with their
 * token hashes in hash[0..1] (what cl_mask_message gives tok[0..1].hash); 0 when not, and
 * then nothing is said. Later tokens never change the first two of such a message. A
 * scan of two tokens, without masking: the miner routes by them (miner.c). */
int cl_mask_plain_head(const char *msg, size_t len, uint64_t hash[2]);

/* 64-bit FNV-1a of bytes: pattern ids and token hashes. */
uint64_t cl_mask_hash(const char *s, size_t len);

#endif
