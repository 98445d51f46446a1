/* host_check.h - which Host names a daemon without API keys answers (DNS rebinding).
 *
 * A web page can make a visitor's browser resolve an attacker's name (rebind.evil.example)
 * to 127.0.0.1 and then read a loopback daemon as if it were the page's own origin. The
 * browser still sends the attacker's name in Host, so a daemon without keys answers only
 * names that cannot be rebound: localhost, loopback addresses, its own --listen host, and,
 * when it listens on every interface, any IP address literal (a rebinding always uses a
 * DNS name).
 */
#ifndef CL_HOST_CHECK_H
#define CL_HOST_CHECK_H

/* 1 if a request whose Host header is `host` (NULL: absent, as from HTTP/1.0 clients that
 * are not browsers) may be answered by a daemon listening on `listen` ("HOST:PORT"). */
int cl_host_allowed(const char *host, const char *listen);

#endif
