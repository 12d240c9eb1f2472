/* web/push.h — the push (heartbeat) listener of clockwerk-web (docs/web.md "Push checks"): a job calls
 * /push/TOKEN (GET or POST; ?status=down&msg=...), or /push with `Authorization: Bearer TOKEN`, and the call goes
 * to the worker that owns the endpoint (worker/check_push.c) as a `push` message (docs/protocol.md 2.8).
 *
 * DESIGN
 * - Tokens are secrets: the web keeps only their SHA-256 digests (OpenSSL), finds a token by its digest and
 *   confirms it with CRYPTO_memcmp (constant time); a token never appears in a log line, a metric or a reply.
 *   An unknown token is 404, like any unknown path, so a caller learns nothing about which tokens exist.
 * - One PUSH socket per worker slot, to ipc://<run_dir>/push-<slot>.sock, with ZMQ_IMMEDIATE: a call goes to the
 *   slot of the endpoint's key (cw_shard_of(key, workers): the supervisor's sharding). When that worker is not
 *   there (starting, restarting) the send is refused at once and the caller gets 503, so `curl --retry` calls
 *   again; 200 means the worker's socket has the call.
 * - msg is cut at 256 bytes and its control characters replaced (proto_push_clean_msg); status is "up" (the
 *   default) or "down", anything else is 400. */
#ifndef CW_WEB_PUSH_H
#define CW_WEB_PUSH_H

#include "common/bus/bus.h"
#include "common/config/config.h"
#include "web/route.h"

/* Builds the token table of cfg and, when it has push endpoints, connects a socket per worker slot (again when the
 * worker count changed). Called at start and at every reload (cfg must outlive the next call). 0, or -1 with err. */
int web_push_configure(struct bus *bus, const struct cw_config *cfg, char *err, size_t errlen);
/* Closes the sockets and forgets the tokens. */
void web_push_stop(void);

/* The routes "/push/" (the token in the path) and "/push" (the token in Authorization: Bearer). */
void web_push_page(const struct web_request *rq, struct web_reply *rp);

#endif
