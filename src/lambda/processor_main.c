/* processor_main.c - the log_processor bootstrap (cl_lambda_main: init from the
 * environment, then the Runtime API loop). */
#include "processor.h"
#include "runtime.h"

int main(void)
{
    struct cl_lprocessor p;
    return cl_lambda_main("log_processor", &p, cl_lprocessor_init, cl_lprocessor_free,
                          cl_lprocessor_handle);
}
