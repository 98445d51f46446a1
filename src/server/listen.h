/* listen.h - parsing the listen address and telling loopback from the rest. */
#ifndef CL_LISTEN_H
#define CL_LISTEN_H

#include <stddef.h>
#include <sys/socket.h>

/* Parses "HOST:PORT", "[IPV6]:PORT" or ":PORT" (all interfaces) into *ss, resolving
 * host names. Returns 0, or -1 with err set. */
int cl_listen_parse(const char *spec, struct sockaddr_storage *ss, socklen_t *len, char *err,
                    size_t err_len);

/* 1 if the address is in 127.0.0.0/8 or is ::1 (or v4-mapped loopback). */
int cl_addr_is_loopback(const struct sockaddr_storage *ss);

#endif
