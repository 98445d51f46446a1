/* url.c - URL checks with libcurl's URL API (curl_url). */
#include "url.h"

#include "common.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

/* Copies one part of h into out (out_len > 0); a part absent from the URL is "". Returns
 * the CURLUcode of the get (CURLUE_NO_* for an absent part). */
static CURLUcode url_part(CURLU *h, CURLUPart what, char *out, size_t out_len)
{
    char *v = NULL;
    CURLUcode uc = curl_url_get(h, what, &v, 0);
    snprintf(out, out_len, "%s", uc == CURLUE_OK && v ? v : "");
    curl_free(v);
    return uc;
}

int cl_url_parse(const char *url, struct cl_url_parts *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    CURLU *h = curl_url();
    if (!h) {
        snprintf(err, err_len, "out of memory");
        return CL_ERR_NOMEM;
    }
    CURLUcode uc = curl_url_set(h, CURLUPART_URL, url, 0);
    char user[8];
    if (uc == CURLUE_OK)
        uc = url_part(h, CURLUPART_SCHEME, out->scheme, sizeof out->scheme);
    if (uc == CURLUE_OK)
        uc = url_part(h, CURLUPART_HOST, out->host, sizeof out->host);
    if (uc == CURLUE_OK)
        out->has_userinfo = url_part(h, CURLUPART_USER, user, sizeof user) == CURLUE_OK ||
                            url_part(h, CURLUPART_PASSWORD, user, sizeof user) == CURLUE_OK;
    curl_url_cleanup(h);
    if (uc != CURLUE_OK || !out->host[0]) {
        snprintf(err, err_len, "'%.200s' is not a URL: %s", url,
                 uc != CURLUE_OK ? curl_url_strerror(uc) : "no host");
        return CL_ERR_INVAL;
    }
    for (char *p = out->scheme; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    /* "[fd00:ec2::23]" -> "fd00:ec2::23" (and a "%zone" suffix dropped), for getaddrinfo. */
    size_t n = strlen(out->host);
    if (out->host[0] == '[' && out->host[n - 1] == ']') {
        memmove(out->host, out->host + 1, n - 2);
        out->host[n - 2] = '\0';
        out->host[strcspn(out->host, "%")] = '\0';
    }
    return CL_OK;
}

int cl_url_is_http(const char *url)
{
    struct cl_url_parts u;
    char err[256];
    return cl_url_parse(url, &u, err, sizeof err) == CL_OK && !u.has_userinfo &&
           (strcmp(u.scheme, "http") == 0 || strcmp(u.scheme, "https") == 0);
}
