/* host_check.c - Host header check of a keyless daemon (see host_check.h). */
#include "host_check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Copies the name part of "name", "name:port", "[v6]" or "[v6]:port" into out (without
 * brackets and without one trailing dot). Returns 0, or -1 if it does not fit or is
 * malformed. */
static int host_name(const char *host, char *out, size_t out_len)
{
    size_t n;
    if (host[0] == '[') {
        const char *close = strchr(host, ']');
        if (!close || (close[1] && close[1] != ':'))
            return -1;
        host++;
        n = (size_t)(close - host);
    } else {
        const char *colon = strchr(host, ':');
        if (colon && strchr(colon + 1, ':'))
            return -1; /* a bare IPv6 address is not a valid Host */
        n = colon ? (size_t)(colon - host) : strlen(host);
    }
    if (n && host[n - 1] == '.')
        n--;
    if (n == 0 || n >= out_len)
        return -1;
    memcpy(out, host, n);
    out[n] = '\0';
    return 0;
}

static int is_loopback_literal(const char *name, int *is_ip)
{
    struct in_addr a4;
    struct in6_addr a6;
    *is_ip = 1;
    if (inet_pton(AF_INET, name, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, name, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
    *is_ip = 0;
    return 0;
}

/* The host of a --listen spec ("HOST:PORT", "[V6]:PORT", ":PORT") into out. */
static void listen_host(const char *listen, char *out, size_t out_len)
{
    const char *start = listen, *end = strrchr(listen, ':');
    if (listen[0] == '[') {
        start = listen + 1;
        end = strchr(start, ']');
    }
    size_t n = end ? (size_t)(end - start) : strlen(start);
    snprintf(out, out_len, "%.*s", (int)n, start);
}

int cl_host_allowed(const char *host, const char *listen)
{
    if (!host)
        return 1;
    char name[256], listen_name[256];
    if (host_name(host, name, sizeof name) != 0)
        return 0;
    int is_ip;
    if (strcasecmp(name, "localhost") == 0 || is_loopback_literal(name, &is_ip))
        return 1;
    listen_host(listen ? listen : "127.0.0.1:0", listen_name, sizeof listen_name);
    if (*listen_name && strcasecmp(name, listen_name) == 0)
        return 1;
    int everywhere =
        !*listen_name || strcmp(listen_name, "0.0.0.0") == 0 || strcmp(listen_name, "::") == 0;
    return is_ip && everywhere;
}
