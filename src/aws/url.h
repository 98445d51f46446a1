/* url.h - URL checks with libcurl's own parser (curl_url), so that what a check looks at is
 * exactly what libcurl will connect to: "http://127.0.0.1:1@evil/" has the host "evil"
 * (127.0.0.1:1 is user and password), whatever a prefix or strchr test would think. */
#ifndef CL_URL_H
#define CL_URL_H

#include <stddef.h>

/* The parts of a URL a check needs, as libcurl parses it. */
struct cl_url_parts {
    char scheme[16]; /* lower case, e.g. "https" */
    char host[256];  /* without IPv6 brackets or zone id */
    int has_userinfo;
};

/* Parses url with curl_url (schemes libcurl supports only; a host is required). Returns
 * CL_OK, or CL_ERR_INVAL with err set to libcurl's reason (url quoted, cut to 200 bytes). */
int cl_url_parse(const char *url, struct cl_url_parts *out, char *err, size_t err_len);

/* 1 if url is an http:// or https:// URL with a host and no user:password@ part. */
int cl_url_is_http(const char *url);

#endif
