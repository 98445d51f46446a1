/* fuzz_aws_credentials.c - the credentials JSON of the container endpoint and IMDS
 * (cl_aws_creds_parse_json). No crash; accepted credentials have a key id and a secret. */
#include "fuzz_check.h"
#include "common.h"
#include "credentials.h"
#include "credentials_remote.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cl_aws_credentials c;
    char err[256] = "";
    memset(&c, 0, sizeof c);
    int rc = cl_aws_creds_parse_json((const char *)data, size, "fuzz", &c, err, sizeof err);
    if (rc == CL_OK)
        CHECK(c.access_key_id && *c.access_key_id && c.secret_access_key);
    else
        CHECK(rc == CL_ERR_CORRUPT && err[0]);
    cl_aws_credentials_free(&c);
    return 0;
}
