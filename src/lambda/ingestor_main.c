/* ingestor_main.c - the log_ingestor bootstrap (cl_lambda_main: init from the environment,
 * then the Runtime API loop). */
#include "ingestor.h"
#include "runtime.h"

int main(void)
{
    struct cl_ingestor ing;
    return cl_lambda_main("log_ingestor", &ing, cl_ingestor_init, cl_ingestor_free,
                          cl_ingestor_handle);
}
