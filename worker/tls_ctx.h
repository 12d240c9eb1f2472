/* worker/tls_ctx.h — OpenSSL for the tls checks: one SSL_CTX per CA set, and the facts of a finished handshake
 * (version, cipher, subject, issuer, expiry of the leaf and of the chain).
 *
 * DESIGN
 * - Contexts are cached by ca_file (NULL: the system's CAs, SSL_CTX_set_default_verify_paths): loading a CA
 *   bundle costs milliseconds, a handshake must not. The brief's "one per (ca_file, verify)" needs no second
 *   key: every context verifies with SSL_VERIFY_NONE and the check reads SSL_get_verify_result after the
 *   handshake, so the handshake completes whatever is wrong with the certificate, and a check with
 *   verify_tls = false still reports what verification found (figures "verify") without failing on it.
 * - No session reuse (SSL_SESS_CACHE_OFF, SSL_OP_NO_TICKET): every handshake is a full one, its time honest.
 * - A CA file that cannot be loaded is not cached: each check says why (the file may be fixed meanwhile). */
#ifndef CW_WORKER_TLS_CTX_H
#define CW_WORKER_TLS_CTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

/* The context for ca_file (NULL: the system's CAs); NULL with the reason in err. Owned by the cache. */
SSL_CTX *tls_ctx_get(const char *ca_file, char *err, size_t errlen);
/* Frees every cached context. */
void tls_ctx_free_all(void);

struct tls_facts {
    bool have_cert;    /* the server presented a certificate */
    char version[16];  /* "TLSv1.3" */
    char cipher[64];   /* "TLS_AES_256_GCM_SHA384" */
    char subject[256]; /* the leaf's, RFC 2253 ("CN=x,O=y") */
    char issuer[256];
    int64_t leaf_not_after_us;     /* 0: unknown */
    int64_t chain_not_after_us;    /* the earliest notAfter of the chain (below); 0: unknown */
    bool chain_verified;           /* the chain is the verified one; false: the one presented (not verified) */
    char chain_first_subject[256]; /* the certificate that expires first */
    long verify;                   /* SSL_get_verify_result: X509_V_OK or an X509_V_ERR_* code */
};
/* Reads the facts of ssl after a completed handshake. */
void tls_facts_read(SSL *ssl, struct tls_facts *f);
/* An ASN1_TIME in microseconds since the epoch (UTC); 0 when it cannot be read. */
int64_t tls_asn1_time_us(const ASN1_TIME *t);
/* The first OpenSSL error of the queue as text ("wrong version number"), "" when none; clears the queue. */
void tls_error_text(char *out, size_t outlen);

#endif
