/* listen.c - listen address parsing and the loopback test behind --insecure. */
#include "listen.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* Splits spec into host and port strings; returns 0 or -1. */
static int split_host_port(const char *spec, char *host, size_t host_len, const char **port)
{
    const char *colon;
    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        if (!close || close[1] != ':')
            return -1;
        snprintf(host, host_len, "%.*s", (int)(close - spec - 1), spec + 1);
        *port = close + 2;
        return 0;
    }
    colon = strrchr(spec, ':');
    if (!colon)
        return -1;
    snprintf(host, host_len, "%.*s", (int)(colon - spec), spec);
    *port = colon + 1;
    return 0;
}

int cl_listen_parse(const char *spec, struct sockaddr_storage *ss, socklen_t *len, char *err,
                    size_t err_len)
{
    char host[256];
    const char *port;
    if (split_host_port(spec, host, sizeof host, &port) != 0 || !*port) {
        snprintf(err, err_len, "invalid listen address '%s' (expected HOST:PORT)", spec);
        return -1;
    }
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int rc = getaddrinfo(*host ? host : NULL, port, &hints, &res);
    if (rc != 0) {
        snprintf(err, err_len, "cannot resolve listen address '%s': %s", spec, gai_strerror(rc));
        return -1;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

int cl_addr_is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (ss->ss_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a))
            return 1;
        return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
    }
    return 0;
}
