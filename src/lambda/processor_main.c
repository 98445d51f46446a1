/* processor_main.c - the log_processor bootstrap: init from the environment (init errors
 * go to the Runtime API), then the Runtime API loop. */
#include "processor.h"
#include "runtime.h"

#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    char err[1024];
    struct cl_lprocessor p;
    if (cl_lprocessor_init(&p, err, sizeof err) != 0) {
        cl_lprocessor_free(&p);
        return cl_lambda_init_failed("Runtime.InitError", err);
    }
    struct cl_lambda_runtime *rt =
        cl_lambda_runtime_new(getenv("AWS_LAMBDA_RUNTIME_API"), err, sizeof err);
    if (!rt) {
        cl_lprocessor_free(&p);
        fprintf(stderr, "log_processor: %s\n", err);
        return 1;
    }
    int rc = cl_lambda_run(rt, cl_lprocessor_handle, &p, 0);
    cl_lambda_runtime_free(rt);
    cl_lprocessor_free(&p);
    return rc;
}
