/* query_main.c - the log_query bootstrap (cl_lambda_main: init from the environment, then
 * the Runtime API loop). */
#include "lquery.h"
#include "runtime.h"

int main(void)
{
    struct cl_lquery lq;
    return cl_lambda_main("log_query", &lq, cl_lquery_init, cl_lquery_free, cl_lquery_handle);
}
