/* logql_int.h - the LogQL lexer, shared by the parser (logql.c) and nothing else. */
#ifndef CL_LOGQL_INT_H
#define CL_LOGQL_INT_H

#include <stddef.h>

enum lq_tok {
    LQ_EOF = 0,
    LQ_IDENT,
    LQ_STRING,
    LQ_NUMBER,
    LQ_DURATION,
    LQ_BYTES,
    LQ_PUNCT, /* operators and brackets: text in lq_token.text */
    LQ_BAD    /* a character or literal the lexer cannot read: err says why */
};

struct lq_token {
    enum lq_tok kind;
    size_t pos;    /* byte offset in the query */
    size_t len;    /* bytes of the query it spans */
    char text[4];  /* LQ_PUNCT: the operator, e.g. "|=" */
    char *str;     /* LQ_STRING: the decoded value (owned by the lexer's caller) */
    double number; /* LQ_NUMBER; LQ_DURATION: seconds; LQ_BYTES: bytes */
};

/* Reads the token at text + pos (after blanks) into *t. Returns 0, or -1 with err set
 * (then t->kind is LQ_BAD and t->pos is where). A string's t->str is malloc'd: the
 * caller frees it. */
int lq_lex(const char *text, size_t pos, struct lq_token *t, char *err, size_t err_len);

/* Line and column (1-based) of byte offset pos in text. */
void lq_line_col(const char *text, size_t pos, int *line, int *col);

#endif
