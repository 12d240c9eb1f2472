/* common/wire/proto_codec.h — the pieces every message codec of common/wire shares (protocol.c: results, stats,
 * alerts; protoloc.c: the location messages of issue 16): the 4-byte header, strings, and the end of a decode.
 * Internal to common/wire: programs use protocol.h. */
#ifndef CW_PROTO_CODEC_H
#define CW_PROTO_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "common/base/le.h"
#include "common/base/util.h"
#include "common/wire/protocol.h"

/* Resets b and writes the header: version CW_PROTO_VERSION (the caller may raise b->data[0]), type, count. */
void proto_put_header(struct cw_buf *b, enum cw_msg_type type, uint16_t count);

/* A string: u16 length, bytes, NUL; NULL is "". Cut at max bytes, never inside a UTF-8 character. */
void proto_put_str(struct cw_buf *b, const char *s, size_t max);

/* Reads the header of a message of `type` whose versions are `oldest` .. `newest`; returns the count, or -1
 * (the reader fails). The version goes to *version_out unless that is NULL. */
int proto_get_header(struct le_reader *r, enum cw_msg_type type, uint8_t oldest, uint8_t newest, uint8_t *version_out);

/* A string of at most max bytes, NUL-terminated and without a NUL inside: a pointer into the payload, or NULL
 * (the reader fails). */
const char *proto_get_str(struct le_reader *r, size_t max);

/* The end of a decode: trailing bytes fail the reader; returns value, or -1 with *why set (when why != NULL). */
int proto_finish(struct le_reader *r, int value, const char **why);

#endif
