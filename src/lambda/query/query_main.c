/* query_main.c - the log_query bootstrap: init from the environment (init errors go to
 * the Runtime API), then the Runtime API loop. */
#include "lquery.h"
#include "runtime.h"

#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    char err[1024];
    struct cl_lquery lq;
    if (cl_lquery_init(&lq, err, sizeof err) != 0) {
        cl_lquery_free(&lq);
        return cl_lambda_init_failed("Runtime.InitError", err);
    }
    struct cl_lambda_runtime *rt =
        cl_lambda_runtime_new(getenv("AWS_LAMBDA_RUNTIME_API"), err, sizeof err);
    if (!rt) {
        cl_lquery_free(&lq);
        fprintf(stderr, "log_query: %s\n", err);
        return 1;
    }
    int rc = cl_lambda_run(rt, cl_lquery_handle, &lq, 0);
    cl_lambda_runtime_free(rt);
    cl_lquery_free(&lq);
    return rc;
}
