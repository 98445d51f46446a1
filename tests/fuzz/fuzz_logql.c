/* fuzz_logql.c - libFuzzer target for the LogQL parser: no crash; a query that parses
 * prints canonically to a text that parses and prints the same (a fixed point); one that
 * does not gets a "syntax error: ... at L:C" or "unsupported: ... at L:C" message. */
#include "fuzz_check.h"
#include "logql.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PRINT 65536

static void check_error(const char *err)
{
    CHECK(strncmp(err, "syntax error: ", 14) == 0 || strncmp(err, "unsupported: ", 13) == 0);
    CHECK(strstr(err, " at ") != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), err[512] = "";
    CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';
    struct cl_lq_expr *e = NULL, *again = NULL;
    if (cl_logql_parse(text, &e, err, sizeof err) != 0) {
        CHECK(e == NULL);
        check_error(err);
        free(text);
        return 0;
    }
    char *first = malloc(MAX_PRINT), *second = malloc(MAX_PRINT);
    CHECK(first && second);
    if (cl_logql_print(e, first, MAX_PRINT) < MAX_PRINT) {
        if (cl_logql_parse(first, &again, err, sizeof err) != 0) {
            fprintf(stderr, "canonical form does not parse: %s: %s\n", first, err);
            abort();
        }
        cl_logql_print(again, second, MAX_PRINT);
        CHECK(strcmp(first, second) == 0);
    }
    cl_logql_free(again);
    cl_logql_free(e);
    free(first);
    free(second);
    free(text);
    return 0;
}
