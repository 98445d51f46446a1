/* ingestor_main.c - the log_ingestor bootstrap: init from the environment (init errors go
 * to the Runtime API), then the Runtime API loop. */
#include "ingestor.h"
#include "runtime.h"

#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    char err[1024];
    struct cl_ingestor ing;
    if (cl_ingestor_init(&ing, err, sizeof err) != 0) {
        cl_ingestor_free(&ing);
        return cl_lambda_init_failed("Runtime.InitError", err);
    }
    struct cl_lambda_runtime *rt =
        cl_lambda_runtime_new(getenv("AWS_LAMBDA_RUNTIME_API"), err, sizeof err);
    if (!rt) {
        cl_ingestor_free(&ing);
        fprintf(stderr, "log_ingestor: %s\n", err);
        return 1;
    }
    int rc = cl_lambda_run(rt, cl_ingestor_handle, &ing, 0);
    cl_lambda_runtime_free(rt);
    cl_ingestor_free(&ing);
    return rc;
}
