/* common/wire/pushmsg.h — the `push` message (type 5, docs/protocol.md 2.8): clockwerk-web tells the worker that
 * owns a push endpoint that a call arrived on /push/TOKEN. It carries the endpoint's key, never the token.
 *
 * Layout after the 4-byte header (version 1, type 5, count 1): i64 received_at_us (the web's wall clock), u8 status
 * (0 up, 1 down), u8 reserved (0), str url (the endpoint's key, 1..4096 bytes), str msg (0..256 bytes, no control
 * character). The decoder is defensive like every other (common/wire/protocol.h): the whole message or nothing. */
#ifndef CW_PUSHMSG_H
#define CW_PUSHMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/base/util.h"

#define CW_PUSH_MSG_MAX 256 /* bytes of a call's msg */

struct cw_push_call {
    const char *url;        /* the endpoint's key (push://name) */
    int64_t received_at_us; /* when the web received the call (wall clock, UTC) */
    bool down;              /* ?status=down */
    const char *msg;        /* "" when none; at most CW_PUSH_MSG_MAX bytes, no control characters */
};

/* 0, or -1 when the call cannot be sent (an empty or over-long url, a msg too long or with a control character, a
 * time out of range): the web makes msg fit first (proto_push_clean_msg). */
int proto_push_encode(struct cw_buf *b, const struct cw_push_call *call);
/* 0 with *out pointing into payload, or -1 with a static reason in *why. */
int proto_push_decode(const void *payload, size_t len, struct cw_push_call *out, const char **why);

/* A caller's msg made fit to send: at most CW_PUSH_MSG_MAX bytes cut at a character boundary, every control
 * character (and a byte that is not UTF-8) replaced by '?'. out has room for CW_PUSH_MSG_MAX + 1 bytes. */
void proto_push_clean_msg(const char *in, char *out);

#endif
