/* worker/tls_ctx.c — SSL_CTX per CA set, and the facts of a handshake (see tls_ctx.h). */
#include "worker/tls_ctx.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/base/hash.h"
#include "common/base/util.h"

struct ctx_entry {
    char *key; /* the ca_file, "" for the system's CAs */
    SSL_CTX *ctx;
    UT_hash_handle hh;
};

static struct ctx_entry *contexts;

void tls_error_text(char *out, size_t outlen)
{
    unsigned long e = ERR_get_error();
    const char *reason = e ? ERR_reason_error_string(e) : NULL;
    if (reason) snprintf(out, outlen, "%s", reason);
    else if (e) ERR_error_string_n(e, out, outlen);
    else if (outlen) out[0] = '\0';
    ERR_clear_error();
}

static SSL_CTX *ctx_new(const char *ca_file, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        snprintf(err, errlen, "cannot create a TLS context");
        return NULL;
    }
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL); /* judged after the handshake: tls_ctx.h */
    int ok = ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL) : SSL_CTX_set_default_verify_paths(ctx);
    if (ok != 1) {
        char why[256];
        tls_error_text(why, sizeof why);
        snprintf(err, errlen, "cannot load the CA certificates%s%s: %s", ca_file ? " of " : "", ca_file ? ca_file : "",
                 why[0] ? why : "unknown error");
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

SSL_CTX *tls_ctx_get(const char *ca_file, char *err, size_t errlen)
{
    const char *key = ca_file ? ca_file : "";
    struct ctx_entry *e;
    HASH_FIND_STR(contexts, key, e);
    if (e) return e->ctx;
    SSL_CTX *ctx = ctx_new(ca_file, err, errlen);
    if (!ctx) return NULL;
    e = cw_xcalloc(1, sizeof *e);
    e->key = cw_xstrdup(key);
    e->ctx = ctx;
    HASH_ADD_KEYPTR(hh, contexts, e->key, strlen(e->key), e);
    return ctx;
}

void tls_ctx_free_all(void)
{
    struct ctx_entry *e, *tmp;
    HASH_ITER(hh, contexts, e, tmp)
    {
        HASH_DEL(contexts, e);
        SSL_CTX_free(e->ctx);
        free(e->key);
        free(e);
    }
}

int64_t tls_asn1_time_us(const ASN1_TIME *t)
{
    struct tm tm;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
    time_t s = timegm(&tm);
    return (int64_t)s * 1000000;
}

static void name_text(const X509_NAME *name, char *out, size_t outlen)
{
    out[0] = '\0';
    BIO *b = BIO_new(BIO_s_mem());
    if (!b) return;
    if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0) {
        int n = BIO_read(b, out, (int)outlen - 1);
        out[n > 0 ? n : 0] = '\0';
    }
    BIO_free(b);
}

void tls_facts_read(SSL *ssl, struct tls_facts *f)
{
    memset(f, 0, sizeof *f);
    snprintf(f->version, sizeof f->version, "%s", SSL_get_version(ssl));
    const SSL_CIPHER *cipher = SSL_get_current_cipher(ssl);
    snprintf(f->cipher, sizeof f->cipher, "%s", cipher ? SSL_CIPHER_get_name(cipher) : "");
    f->verify = SSL_get_verify_result(ssl);
    X509 *leaf = SSL_get0_peer_certificate(ssl);
    if (!leaf) return;
    f->have_cert = true;
    name_text(X509_get_subject_name(leaf), f->subject, sizeof f->subject);
    name_text(X509_get_issuer_name(leaf), f->issuer, sizeof f->issuer);
    f->leaf_not_after_us = tls_asn1_time_us(X509_get0_notAfter(leaf));
    f->chain_not_after_us = f->leaf_not_after_us;
    snprintf(f->chain_first_subject, sizeof f->chain_first_subject, "%s", f->subject);
    /* the chain verification built (leaf to trust anchor) when it succeeded: a certificate the server sends but
     * trust does not need (an old cross-sign) does not count; else what the server presented (its view as a
     * client includes the leaf) */
    STACK_OF(X509) *chain = f->verify == X509_V_OK ? SSL_get0_verified_chain(ssl) : NULL;
    f->chain_verified = chain != NULL;
    if (!chain) chain = SSL_get_peer_cert_chain(ssl);
    for (int i = 0; chain && i < sk_X509_num(chain); i++) {
        X509 *x = sk_X509_value(chain, i);
        int64_t t = tls_asn1_time_us(X509_get0_notAfter(x));
        if (t && (!f->chain_not_after_us || t < f->chain_not_after_us)) {
            f->chain_not_after_us = t;
            name_text(X509_get_subject_name(x), f->chain_first_subject, sizeof f->chain_first_subject);
        }
    }
}
