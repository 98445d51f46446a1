/* tls.h - TLS on the HTTP listener (--tls-cert, --tls-key, --tls-client-ca) through
 * libmicrohttpd's GnuTLS support. */
#ifndef CL_TLS_H
#define CL_TLS_H

#include <gnutls/gnutls.h>
#include <stddef.h>

struct cl_server_config;
struct MHD_OptionItem;
struct cl_tls;

/* Reads and checks the PEM files the configuration names: the certificate chain, its
 * private key (which must match the first certificate) and, optionally, the CA that client
 * certificates must chain to. Returns the loaded state (caller frees with cl_tls_free, after
 * the HTTP server has stopped), or NULL: with err set on an error, with err empty when the
 * configuration asks for no TLS. One TLS listener per process (GnuTLS' certificate callback
 * carries no user pointer). */
struct cl_tls *cl_tls_load(const struct cl_server_config *cfg, char *err, size_t err_len);
void cl_tls_free(struct cl_tls *t);

/* Reloads the certificate and key that cfg names (SIGHUP): new handshakes use them, those
 * in progress finish with the old ones (kept until cl_tls_free). On an error (-1, err set)
 * the old ones stay. The client CA is read only at start. */
int cl_tls_reload(struct cl_tls *t, const struct cl_server_config *cfg, char *err, size_t err_len);

/* libmicrohttpd start flags to add: MHD_USE_TLS, or 0 for NULL. */
unsigned cl_tls_mhd_flags(const struct cl_tls *t);

/* Options for MHD_OPTION_ARRAY (owned by t; a lone MHD_OPTION_END for NULL). */
const struct MHD_OptionItem *cl_tls_mhd_options(const struct cl_tls *t);

/* RFC 5425 (syslog over TLS): a server session on the connected, blocking socket fd with
 * the listener's certificate, protocol versions and client-certificate rule, its handshake
 * finished within timeout_ms. Returns it (end it with cl_tls_session_end, which does not
 * close fd), or NULL when the handshake failed (logged at debug level). */
gnutls_session_t cl_tls_accept(struct cl_tls *t, int fd, unsigned timeout_ms);
void cl_tls_session_end(gnutls_session_t s);

#endif
