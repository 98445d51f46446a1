/* tls.c - the listener's TLS: certificate, key, protocol versions, client certificates.
 *
 * libmicrohttpd does the TLS through GnuTLS. The server certificate is handed over by a
 * certificate callback (MHD_OPTION_HTTPS_CERT_CALLBACK) rather than as PEM text, because
 * the callback is the one place that sees each session during its handshake: with
 * --tls-client-ca it makes a client certificate required and verifies it there, so a
 * client without one, or with one from another CA, fails the handshake and never reaches
 * HTTP. (libmicrohttpd alone only *requests* client certificates and leaves verification
 * to the application after the handshake.) The CA itself goes to libmicrohttpd
 * (MHD_OPTION_HTTPS_MEM_TRUST), whose credentials GnuTLS verifies against. */
#include "tls.h"

#include "cl_limits.h"
#include "common.h"
#include "log.h"
#include "readfile.h"
#include "server.h"

#include <errno.h>
#include <stdatomic.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* TLS 1.2 and 1.3 only, AEAD ciphers only, forward-secret key exchange only (no static
 * RSA), the server's preference order. */
static const char priorities[] = "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:"
                                 "+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:-RSA:"
                                 "%SERVER_PRECEDENCE";

/* A certificate chain and its key. A reload publishes a new one; the old ones stay until
 * cl_tls_free, because a handshake in progress may still use what the callback gave it. */
struct cert_set {
    gnutls_pcert_st chain[CL_TLS_MAX_CHAIN];
    unsigned n_chain;
    gnutls_privkey_t key;
    struct cert_set *older;
};

struct cl_tls {
    _Atomic(struct cert_set *) cur;
    char *client_ca; /* PEM, NULL: no client certificates */
    struct MHD_OptionItem opts[4];
    /* The same for sessions made here (syslog over TLS), outside libmicrohttpd. */
    gnutls_certificate_credentials_t cred;
    gnutls_priority_t prio;
};

static const struct MHD_OptionItem no_options[] = {{MHD_OPTION_END, 0, NULL}};

/* The loaded state the certificate callback serves (see tls.h: one per process). */
static struct cl_tls *active;

/* Reads path whole into a NUL-terminated heap string (caller frees). NULL with err set:
 * missing, unreadable (a read error too, e.g. a directory) or over CL_TLS_MAX_PEM. */
static char *read_pem(const char *what, const char *path, size_t *len, char *err, size_t err_len)
{
    char *buf = NULL;
    int rc = cl_read_file(path, CL_TLS_MAX_PEM, &buf, len);
    if (rc == CL_ERR_TOO_LARGE)
        snprintf(err, err_len, "%s %s is larger than %d bytes", what, path, CL_TLS_MAX_PEM);
    else if (rc != CL_OK)
        snprintf(err, err_len, "cannot read %s %s: %s", what, path, strerror(errno));
    return buf;
}

/* A client certificate must chain to --tls-client-ca and be valid now; anything else ends
 * the handshake. */
static int verify_client(gnutls_session_t session)
{
    unsigned status = 0;
    int rc = gnutls_certificate_verify_peers2(session, &status);
    if (rc >= 0 && status == 0)
        return 0;
    gnutls_datum_t why = {NULL, 0};
    if (rc >= 0)
        gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &why, 0);
    cl_log(CL_LOG_WARN, "tls: client certificate refused: %s",
           why.data ? (const char *)why.data : gnutls_strerror(rc));
    gnutls_free(why.data);
    return GNUTLS_E_CERTIFICATE_ERROR;
}

static int select_cert(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int n_req,
                       const gnutls_pk_algorithm_t *algos, int n_algos, gnutls_pcert_st **pcert,
                       unsigned *n_pcert, gnutls_privkey_t *key)
{
    (void)req_ca_dn, (void)n_req, (void)algos, (void)n_algos;
    if (active->client_ca) {
        gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUIRE);
        gnutls_session_set_verify_function(session, verify_client);
    }
    struct cert_set *c = atomic_load(&active->cur);
    *pcert = c->chain;
    *n_pcert = c->n_chain;
    *key = c->key;
    return 0;
}

/* 0 when key is the private half of the chain's first certificate. */
static int key_matches(struct cert_set *t)
{
    unsigned char a[64], b[64];
    size_t na = sizeof a, nb = sizeof b;
    gnutls_pubkey_t pub;
    if (gnutls_pubkey_init(&pub) < 0)
        return -1;
    int rc = gnutls_pubkey_import_privkey(pub, t->key, 0, 0);
    if (rc >= 0)
        rc = gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256, a, &na);
    gnutls_pubkey_deinit(pub);
    if (rc >= 0)
        rc = gnutls_pubkey_get_key_id(t->chain[0].pubkey, GNUTLS_KEYID_USE_SHA256, b, &nb);
    return rc >= 0 && na == nb && memcmp(a, b, na) == 0 ? 0 : -1;
}

static int load_cert_and_key(struct cert_set *t, const struct cl_server_config *cfg, char *err,
                             size_t err_len)
{
    size_t len;
    char *pem = read_pem("TLS certificate", cfg->tls_cert, &len, err, err_len);
    if (!pem)
        return -1;
    gnutls_datum_t d = {(unsigned char *)pem, (unsigned)len};
    t->n_chain = CL_TLS_MAX_CHAIN;
    int rc = gnutls_pcert_list_import_x509_raw(t->chain, &t->n_chain, &d, GNUTLS_X509_FMT_PEM,
                                               GNUTLS_X509_CRT_LIST_FAIL_IF_UNSORTED);
    free(pem);
    if (rc < 0 || t->n_chain == 0) {
        t->n_chain = 0;
        snprintf(err, err_len, "TLS certificate %s: %s", cfg->tls_cert,
                 rc < 0 ? gnutls_strerror(rc) : "no certificate");
        return -1;
    }
    pem = read_pem("TLS key", cfg->tls_key, &len, err, err_len);
    if (!pem)
        return -1;
    d = (gnutls_datum_t){(unsigned char *)pem, (unsigned)len};
    rc = gnutls_privkey_init(&t->key);
    if (rc >= 0)
        rc = gnutls_privkey_import_x509_raw(t->key, &d, GNUTLS_X509_FMT_PEM, NULL, 0);
    gnutls_memset(pem, 0, len);
    free(pem);
    if (rc < 0) {
        snprintf(err, err_len, "TLS key %s: %s", cfg->tls_key, gnutls_strerror(rc));
        return -1;
    }
    if (key_matches(t) != 0) {
        snprintf(err, err_len, "TLS key %s does not belong to the certificate %s", cfg->tls_key,
                 cfg->tls_cert);
        return -1;
    }
    return 0;
}

static int load_client_ca(struct cl_tls *t, const char *path, char *err, size_t err_len)
{
    size_t len;
    t->client_ca = read_pem("TLS client CA", path, &len, err, err_len);
    if (!t->client_ca)
        return -1;
    gnutls_x509_crt_t *cas = NULL;
    unsigned n = 0;
    gnutls_datum_t d = {(unsigned char *)t->client_ca, (unsigned)len};
    int rc = gnutls_x509_crt_list_import2(&cas, &n, &d, GNUTLS_X509_FMT_PEM, 0);
    for (unsigned i = 0; rc >= 0 && i < n; i++)
        gnutls_x509_crt_deinit(cas[i]);
    gnutls_free(cas);
    if (rc < 0 || n == 0) {
        snprintf(err, err_len, "TLS client CA %s: %s", path,
                 rc < 0 ? gnutls_strerror(rc) : "no certificate");
        return -1;
    }
    return 0;
}

static int check_config(const struct cl_server_config *cfg, char *err, size_t err_len)
{
    if (!cfg->tls_cert != !cfg->tls_key) {
        snprintf(err, err_len, "--tls-cert and --tls-key go together (one of them is missing)");
        return -1;
    }
    if (cfg->tls_client_ca && !cfg->tls_cert) {
        snprintf(err, err_len, "--tls-client-ca needs --tls-cert and --tls-key");
        return -1;
    }
    if (cfg->tls_cert && !MHD_is_feature_supported(MHD_FEATURE_TLS)) {
        snprintf(err, err_len, "this libmicrohttpd was built without TLS support");
        return -1;
    }
    return 0;
}

/* Credentials and priorities for cl_tls_accept: the certificate through the same callback,
 * the client CA as trust. Returns 0, or -1 with err set. */
static int make_credentials(struct cl_tls *t, char *err, size_t err_len)
{
    int rc = gnutls_certificate_allocate_credentials(&t->cred);
    if (rc >= 0)
        gnutls_certificate_set_retrieve_function2(t->cred, select_cert);
    if (rc >= 0 && t->client_ca) {
        gnutls_datum_t d = {(unsigned char *)t->client_ca, (unsigned)strlen(t->client_ca)};
        rc = gnutls_certificate_set_x509_trust_mem(t->cred, &d, GNUTLS_X509_FMT_PEM);
    }
    if (rc >= 0)
        rc = gnutls_priority_init(&t->prio, priorities, NULL);
    if (rc < 0) {
        snprintf(err, err_len, "TLS set-up: %s", gnutls_strerror(rc));
        return -1;
    }
    return 0;
}

gnutls_session_t cl_tls_accept(struct cl_tls *t, int fd, unsigned timeout_ms)
{
    gnutls_session_t s;
    if (gnutls_init(&s, GNUTLS_SERVER) < 0)
        return NULL;
    int rc = gnutls_priority_set(s, t->prio);
    if (rc >= 0)
        rc = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, t->cred);
    if (rc >= 0) {
        gnutls_transport_set_int(s, fd);
        gnutls_handshake_set_timeout(s, timeout_ms);
        do
            rc = gnutls_handshake(s);
        while (rc < 0 && !gnutls_error_is_fatal(rc));
    }
    if (rc < 0) {
        cl_log(CL_LOG_DEBUG, "tls: handshake failed: %s", gnutls_strerror(rc));
        gnutls_deinit(s);
        return NULL;
    }
    return s;
}

void cl_tls_session_end(gnutls_session_t s)
{
    if (!s)
        return;
    gnutls_bye(s, GNUTLS_SHUT_WR); /* best effort: the peer may be gone */
    gnutls_deinit(s);
}

static void fill_options(struct cl_tls *t)
{
    size_t i = 0;
    t->opts[i++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_CERT_CALLBACK, 0, (void *)select_cert};
    t->opts[i++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)priorities};
    if (t->client_ca)
        t->opts[i++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, t->client_ca};
    t->opts[i] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
}

static void cert_set_free(struct cert_set *c)
{
    while (c) {
        struct cert_set *older = c->older;
        for (unsigned i = 0; i < c->n_chain; i++)
            gnutls_pcert_deinit(&c->chain[i]);
        if (c->key)
            gnutls_privkey_deinit(c->key);
        free(c);
        c = older;
    }
}

/* The configured certificate and key, or NULL with err set. Caller frees (cert_set_free). */
static struct cert_set *cert_set_load(const struct cl_server_config *cfg, char *err, size_t err_len)
{
    struct cert_set *c = cl_calloc(1, sizeof *c);
    if (load_cert_and_key(c, cfg, err, err_len) == 0)
        return c;
    cert_set_free(c);
    return NULL;
}

int cl_tls_reload(struct cl_tls *t, const struct cl_server_config *cfg, char *err, size_t err_len)
{
    struct cert_set *c = cert_set_load(cfg, err, err_len);
    if (!c)
        return -1;
    c->older = atomic_load(&t->cur);
    atomic_store(&t->cur, c);
    return 0;
}

struct cl_tls *cl_tls_load(const struct cl_server_config *cfg, char *err, size_t err_len)
{
    err[0] = '\0';
    if (check_config(cfg, err, err_len) != 0 || !cfg->tls_cert)
        return NULL;
    struct cl_tls *t = cl_calloc(1, sizeof *t);
    atomic_init(&t->cur, cert_set_load(cfg, err, err_len));
    if (!atomic_load(&t->cur) ||
        (cfg->tls_client_ca && load_client_ca(t, cfg->tls_client_ca, err, err_len) != 0) ||
        make_credentials(t, err, err_len) != 0) {
        cl_tls_free(t);
        return NULL;
    }
    fill_options(t);
    active = t;
    return t;
}

void cl_tls_free(struct cl_tls *t)
{
    if (!t)
        return;
    if (active == t)
        active = NULL;
    cert_set_free(atomic_load(&t->cur));
    if (t->cred)
        gnutls_certificate_free_credentials(t->cred);
    if (t->prio)
        gnutls_priority_deinit(t->prio);
    free(t->client_ca);
    free(t);
}

unsigned cl_tls_mhd_flags(const struct cl_tls *t)
{
    return t ? MHD_USE_TLS : 0;
}

const struct MHD_OptionItem *cl_tls_mhd_options(const struct cl_tls *t)
{
    return t ? t->opts : no_options;
}
