/* web/push.c — /push/TOKEN: a call of a push endpoint handed to the worker that owns it (see web/push.h). */
#include "web/push.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/base/clock.h"
#include "common/base/hash.h"
#include "common/base/log.h"
#include "common/wire/pushmsg.h"

#define PUSH_TOKEN_MAX 256 /* longer is no token of ours: 404 without hashing it */
#define DIGEST_LEN 32

struct push_token {
    unsigned char digest[DIGEST_LEN];
    const char *url; /* the endpoint's key, in the configuration */
    unsigned slot;   /* the worker that owns it */
    UT_hash_handle hh;
};

static struct {
    struct bus *bus;
    struct bus_socket **socks; /* per worker slot */
    unsigned slots;
    struct push_token *tokens; /* by digest */
    struct cw_buf msg;
} P;

static bool digest_of(const char *token, size_t len, unsigned char out[DIGEST_LEN])
{
    unsigned int n = 0;
    return EVP_Digest(token, len, out, &n, EVP_sha256(), NULL) == 1 && n == DIGEST_LEN;
}

static void forget_tokens(void)
{
    struct push_token *t, *tmp;
    HASH_ITER(hh, P.tokens, t, tmp)
    {
        HASH_DEL(P.tokens, t);
        OPENSSL_cleanse(t->digest, sizeof t->digest);
        free(t);
    }
}

static void close_sockets(void)
{
    for (unsigned i = 0; i < P.slots; i++) bus_close(P.socks[i]);
    free(P.socks);
    P.socks = NULL;
    P.slots = 0;
}

static int open_sockets(struct bus *bus, const struct cw_config *cfg, char *err, size_t errlen)
{
    unsigned slots = cfg->workers > 0 ? (unsigned)cfg->workers : 1;
    if (P.socks && P.slots == slots && P.bus == bus) return 0;
    close_sockets();
    P.bus = bus;
    P.socks = cw_xcalloc(slots, sizeof *P.socks);
    P.slots = slots;
    for (unsigned i = 0; i < slots; i++) {
        char address[CW_URL_MAX];
        snprintf(address, sizeof address, "ipc://%s/push-%u.sock", cfg->run_dir, i);
        if (!(P.socks[i] = bus_open(bus, BUS_PUSH_CALLS, address, err, errlen))) return -1;
    }
    return 0;
}

int web_push_configure(struct bus *bus, const struct cw_config *cfg, char *err, size_t errlen)
{
    forget_tokens();
    size_t n = 0;
    for (size_t i = 0; i < cfg->n_endpoints; i++) {
        const struct cw_endpoint *ep = &cfg->endpoints[i];
        if (ep->type != CW_CHECK_PUSH || !ep->push_token) continue;
        struct push_token *t = cw_xcalloc(1, sizeof *t), *dup = NULL;
        if (!digest_of(ep->push_token, strlen(ep->push_token), t->digest)) {
            free(t);
            snprintf(err, errlen, "cannot compute SHA-256 (OpenSSL)");
            return -1;
        }
        HASH_FIND(hh, P.tokens, t->digest, DIGEST_LEN, dup);
        if (dup) { /* `-t` refuses two endpoints with one token; the first keeps it */
            free(t);
            continue;
        }
        t->url = ep->url;
        t->slot = cw_shard_of(ep->url, cfg->workers > 0 ? (unsigned)cfg->workers : 1);
        HASH_ADD(hh, P.tokens, digest, DIGEST_LEN, t);
        n++;
    }
    if (n == 0) {
        close_sockets();
        return 0;
    }
    return open_sockets(bus, cfg, err, errlen);
}

void web_push_stop(void)
{
    forget_tokens();
    close_sockets();
    cw_buf_free(&P.msg);
}

/* The endpoint of a token (NULL: none): found by its digest, confirmed in constant time. */
static const struct push_token *token_lookup(const char *token)
{
    size_t len = strlen(token);
    if (len == 0 || len > PUSH_TOKEN_MAX) return NULL;
    unsigned char d[DIGEST_LEN];
    if (!digest_of(token, len, d)) return NULL;
    struct push_token *t = NULL;
    HASH_FIND(hh, P.tokens, d, DIGEST_LEN, t);
    bool same = t && CRYPTO_memcmp(t->digest, d, DIGEST_LEN) == 0;
    OPENSSL_cleanse(d, sizeof d);
    return same ? t : NULL;
}

static void reply(struct web_reply *rp, int status, const char *text)
{
    rp->status = status;
    rp->content_type = "text/plain; charset=utf-8";
    cw_buf_printf(&rp->body, "%s\n", text);
}

/* The token of the request: the path's rest after /push/, or the Bearer credential on /push; NULL when none. */
static const char *token_of(const struct web_request *rq)
{
    if (rq->rest && rq->rest[0]) return strchr(rq->rest, '/') ? NULL : rq->rest;
    const char *auth = rq->authorization;
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) return NULL;
    auth += 7;
    while (*auth == ' ') auth++;
    return *auth ? auth : NULL;
}

void web_push_page(const struct web_request *rq, struct web_reply *rp)
{
    const char *token = token_of(rq);
    const struct push_token *t = token ? token_lookup(token) : NULL;
    if (!t) {
        reply(rp, 404, "not found");
        return;
    }
    const char *status = web_request_arg(rq, "status");
    if (status && strcmp(status, "up") != 0 && strcmp(status, "down") != 0) {
        reply(rp, 400, "status must be up or down");
        return;
    }
    char msg[CW_PUSH_MSG_MAX + 1];
    proto_push_clean_msg(web_request_arg(rq, "msg"), msg);
    struct cw_push_call call = {
        .url = t->url, .received_at_us = cw_wall_us(), .down = status && strcmp(status, "down") == 0, .msg = msg
    };
    if (proto_push_encode(&P.msg, &call) != 0 || t->slot >= P.slots) {
        reply(rp, 500, "cannot pass the call on");
        return;
    }
    switch (bus_send(P.socks[t->slot], CW_MSG_PUSH, P.msg.data, P.msg.len)) {
    case BUS_SENT:
        reply(rp, 200, "ok");
        break;
    case BUS_WOULD_BLOCK:
        reply(rp, 503, "the worker of this check is not running; try again");
        break;
    default:
        reply(rp, 500, "cannot pass the call on");
        break;
    }
}
