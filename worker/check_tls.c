/* worker/check_tls.c — the tls check: connect (worker/engine_conn.h), optionally the STARTTLS exchange
 * (worker/starttls.h), then a TLS handshake with OpenSSL in the worker's loop; verify the certificate chain and
 * the host name as the HTTP checks do, and report version, cipher, subject, issuer and expiry.
 *
 * DESIGN
 * - SNI is server_name or host (never an IP literal: RFC 6066); the certificate must match the same name
 *   (SSL_set1_host; an IP literal is matched against the certificate's IP addresses).
 * - The handshake always completes (SSL_VERIFY_NONE: worker/tls_ctx.h); then verify_tls decides whether
 *   SSL_get_verify_result fails the check, with probe_tls_reason's texts (the same as HTTP's: "TLS certificate
 *   expired", "... is self-signed", "... does not match host H", "... not trusted (unknown CA)").
 * - min_cert_days: the check fails when the certificate that expires first in the chain expires in fewer days:
 *   "TLS certificate expires in 3 days (< 14)" (the leaf) or "TLS certificate chain expires in 3 days (< 14):
 *   CN=..." (another certificate of the chain). The chain is the one verification built when it succeeded
 *   (SSL_get0_verified_chain: an extra certificate the server sends but trust does not need, such as an old
 *   cross-sign, does not count), else the one the server presented (figures: "chain").
 * - r.tls_expires_at_us is the leaf's notAfter (the alerter's TLS-expiry alerts work as for https); tls_us
 *   the handshake; connect_us the connect; latency_us from the start to the end of the handshake.
 * - Figures: version, cipher, subject, issuer, expires_at (leaf), chain_expires_at, chain ("verified" or
 *   "presented": which chain chain_expires_at and min_cert_days judge), verify ("ok" or OpenSSL's text),
 *   starttls (when used). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common/base/clock.h"
#include "worker/check.h"
#include "worker/engine_conn.h"
#include "worker/probe.h"
#include "worker/starttls.h"
#include "worker/tls_ctx.h"

#define DAY_US (86400LL * 1000000)

enum tls_phase { TLS_CONNECT = 0, TLS_STARTTLS, TLS_HANDSHAKE, TLS_DONE };

struct tls_state {
    struct engine_conn conn; /* first: engine_conn.h */
    enum tls_phase phase;
    struct starttls st;
    SSL *ssl;
    int64_t handshake_start_ns;
    bool have_facts;
    struct tls_facts facts;
};

static const char *peer_name(const struct check *c)
{
    return c->ep->spec->server_name && c->ep->spec->server_name[0] ? c->ep->spec->server_name : c->ep->host;
}

static bool is_ip_literal(const char *name)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

/* The checks on a completed handshake: verification, then the certificate's remaining days. */
static void judge(struct check *c, struct tls_state *s)
{
    const struct tls_facts *f = &s->facts;
    char why[512];
    if (c->ep->spec->verify_tls && !f->have_cert) {
        check_fail(c, "TLS server presented no certificate");
        return;
    }
    if (c->ep->spec->verify_tls && f->verify != X509_V_OK) {
        probe_tls_reason(f->verify, peer_name(c), why, sizeof why);
        check_fail(c, "%s", why);
        return;
    }
    if (c->ep->spec->min_cert_days > 0 && f->chain_not_after_us) {
        int64_t left_us = f->chain_not_after_us - cw_wall_us();
        if (left_us < (int64_t)c->ep->spec->min_cert_days * DAY_US) {
            bool leaf = f->chain_not_after_us == f->leaf_not_after_us;
            if (left_us < 0)
                check_fail(c, "TLS certificate%s expired (min_cert_days %d)", leaf ? "" : " chain",
                           c->ep->spec->min_cert_days);
            else if (leaf)
                check_fail(c, "TLS certificate expires in %lld days (< %d)", (long long)(left_us / DAY_US),
                           c->ep->spec->min_cert_days);
            else
                check_fail(c, "TLS certificate chain expires in %lld days (< %d): %s", (long long)(left_us / DAY_US),
                           c->ep->spec->min_cert_days, f->chain_first_subject);
            return;
        }
    }
    check_succeed(c);
}

static void handshake(struct check *c, struct tls_state *s)
{
    ERR_clear_error();
    int rc = SSL_connect(s->ssl);
    if (rc == 1) {
        int64_t now = cw_mono_ns();
        c->r.tls_us = (now - s->handshake_start_ns) / 1000;
        c->r.latency_us = check_elapsed_us(c, now);
        s->phase = TLS_DONE;
        tls_facts_read(s->ssl, &s->facts);
        s->have_facts = true;
        int64_t exp = s->facts.leaf_not_after_us;
        if (exp >= CW_CERT_EXPIRY_MIN_US && exp < CW_CERT_EXPIRY_MAX_US && exp != 0) c->r.tls_expires_at_us = exp;
        judge(c, s);
        return;
    }
    int e = SSL_get_error(s->ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        if (check_watch(c, s->conn.fd, e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT) != 0)
            check_fail(c, "cannot watch the connection: %s", strerror(errno));
        return;
    }
    char why[256];
    if (e == SSL_ERROR_SYSCALL) {
        int err = errno;
        tls_error_text(why, sizeof why);
        if (!why[0] && err) conn_errno_text(err, why, sizeof why);
        check_fail(c, "TLS handshake failed: %s", why[0] ? why : "the server closed the connection");
        return;
    }
    tls_error_text(why, sizeof why);
    check_fail(c, "TLS handshake failed: %s", why[0] ? why : "protocol error");
}

static void start_handshake(struct check *c, struct tls_state *s)
{
    char err[512];
    SSL_CTX *ctx = tls_ctx_get(c->ep->spec->ca_file, err, sizeof err);
    if (!ctx) {
        check_fail(c, "%s", err);
        return;
    }
    s->ssl = SSL_new(ctx);
    if (!s->ssl || SSL_set_fd(s->ssl, s->conn.fd) != 1) {
        check_fail(c, "cannot set up TLS on the connection");
        return;
    }
    const char *name = peer_name(c);
    int ok = 1;
    if (is_ip_literal(name)) {
        ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s->ssl), name);
    } else {
        ok = SSL_set_tlsext_host_name(s->ssl, name) == 1 && SSL_set1_host(s->ssl, name) == 1;
    }
    if (!ok) {
        ERR_clear_error();
        check_fail(c, "cannot use %s as the TLS server name", name);
        return;
    }
    SSL_set_connect_state(s->ssl);
    s->phase = TLS_HANDSHAKE;
    s->handshake_start_ns = cw_mono_ns();
    handshake(c, s);
}

static void advance_starttls(struct check *c, struct tls_state *s)
{
    char err[512];
    enum starttls_status st = starttls_advance(&s->st, s->conn.fd, err, sizeof err);
    if (st == STARTTLS_DONE) start_handshake(c, s);
    else if (st == STARTTLS_FAILED) check_fail(c, "%s", err);
    else if (check_watch(c, s->conn.fd, st == STARTTLS_WANT_READ ? EPOLLIN : EPOLLOUT) != 0)
        check_fail(c, "cannot watch the connection: %s", strerror(errno));
}

static void on_connected(struct check *c)
{
    struct tls_state *s = c->state;
    char addr[64];
    figures_str(&c->fig, "address", conn_addr_text(&s->conn, addr, sizeof addr));
    if (c->ep->spec->starttls == CW_STARTTLS_NONE) {
        start_handshake(c, s);
        return;
    }
    s->phase = TLS_STARTTLS;
    starttls_init(&s->st, c->ep->spec->starttls);
    advance_starttls(c, s);
}

static void tls_start(struct check *c)
{
    struct tls_state *s = c->state;
    conn_start(c, &s->conn, on_connected);
}

static void tls_on_fd(struct check *c, uint32_t epoll_events)
{
    struct tls_state *s = c->state;
    if (s->phase == TLS_CONNECT) {
        conn_on_fd(c, &s->conn, epoll_events);
    } else if (s->phase == TLS_STARTTLS) {
        advance_starttls(c, s);
    } else if (s->phase == TLS_HANDSHAKE) {
        handshake(c, s);
    }
}

static void tls_on_timeout(struct check *c)
{
    struct tls_state *s = c->state;
    char t[32], doing[160];
    check_timeout_text(c, t, sizeof t);
    if (s->phase == TLS_STARTTLS) check_fail(c, "timed out after %s %s", t, starttls_waiting_for(&s->st));
    else if (s->phase == TLS_HANDSHAKE) check_fail(c, "timed out after %s in the TLS handshake", t);
    else {
        conn_doing(c, &s->conn, doing, sizeof doing);
        check_fail(c, "timed out after %s %s", t, doing);
    }
}

static void tls_finish(struct check *c)
{
    struct tls_state *s = c->state;
    if (c->ep->spec->starttls != CW_STARTTLS_NONE)
        figures_str(&c->fig, "starttls", starttls_name(c->ep->spec->starttls));
    if (!s->have_facts) return;
    const struct tls_facts *f = &s->facts;
    char when[40];
    figures_str(&c->fig, "version", f->version);
    figures_str(&c->fig, "cipher", f->cipher);
    figures_str(&c->fig, "verify", f->verify == X509_V_OK ? "ok" : X509_verify_cert_error_string(f->verify));
    if (!f->have_cert) return;
    figures_str(&c->fig, "subject", f->subject);
    figures_str(&c->fig, "issuer", f->issuer);
    if (f->leaf_not_after_us) {
        cw_format_iso8601(f->leaf_not_after_us, when, sizeof when);
        figures_str(&c->fig, "expires_at", when);
    }
    if (f->chain_not_after_us) {
        cw_format_iso8601(f->chain_not_after_us, when, sizeof when);
        figures_str(&c->fig, "chain_expires_at", when);
        figures_str(&c->fig, "chain", f->chain_verified ? "verified" : "presented");
    }
}

static void tls_release(struct check *c)
{
    struct tls_state *s = c->state;
    if (s->ssl) SSL_free(s->ssl); /* no close_notify: the connection is reset (SO_LINGER 0) */
    s->ssl = NULL;
    conn_close(c, &s->conn);
}

/* Loads the CA sets of the shard's tls checks now: loading the system's bundle takes tens of milliseconds,
 * which would otherwise land in the first check's latency (a set that fails is tried again by each check,
 * which then says why). */
static int tls_open(struct engine *e, char *err, size_t errlen)
{
    if (OPENSSL_init_ssl(0, NULL) != 1) {
        snprintf(err, errlen, "cannot initialise OpenSSL");
        return -1;
    }
    const struct cw_config *cfg = engine_config(e);
    for (size_t i = 0; cfg && i < cfg->n_endpoints; i++) {
        char why[512];
        if (cfg->endpoints[i].type == CW_CHECK_TLS) (void)tls_ctx_get(cfg->endpoints[i].spec->ca_file, why, sizeof why);
    }
    return 0;
}

static void tls_close(struct engine *e)
{
    (void)e;
    tls_ctx_free_all();
}

const struct check_ops check_tls_ops = {
    .name = "tls",
    .state_size = sizeof(struct tls_state),
    .open = tls_open,
    .close = tls_close,
    .start = tls_start,
    .on_fd = tls_on_fd,
    .on_timeout = tls_on_timeout,
    .finish = tls_finish,
    .release = tls_release,
};
