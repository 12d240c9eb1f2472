/* tests/unit/proto_loc_test_util.h — what the tests of the location messages share (test_proto_locations.c: results
 * version 3, HELLO, HELLO_ECHO; test_proto_config.c: CONFIG_GET, CONFIG, LOCATIONS): a decode of any of them from a
 * tight heap copy, the framing checks every one of them has, and single-field mutations. */
#ifndef CW_TEST_PROTO_LOC_TEST_UTIL_H
#define CW_TEST_PROTO_LOC_TEST_UTIL_H

#include <stdbool.h>

#include "common/base/le.h"
#include "tests/unit/proto_test_util.h"

#define NOW_US 1795579506123456LL /* 2026-11-25 */

/* Decodes payload[0..len) as a message of `type` from a tight heap copy: NULL when accepted, else the reason. */
static inline const char *decode_why(enum cw_msg_type type, const void *payload, size_t len)
{
    uint8_t *copy = dup_bytes(payload, len);
    const char *why = NULL;
    int rc = -1;
    static struct cw_locations_msg locs;
    union {
        struct cw_hello h;
        struct cw_hello_echo e;
        struct cw_config_get g;
        struct cw_config_reply c;
    } out;
    switch (type) {
    case CW_MSG_HELLO:
        rc = proto_hello_decode(copy, len, &out.h, &why);
        break;
    case CW_MSG_HELLO_ECHO:
        rc = proto_hello_echo_decode(copy, len, &out.e, &why);
        break;
    case CW_MSG_CONFIG_GET:
        rc = proto_config_get_decode(copy, len, &out.g, &why);
        break;
    case CW_MSG_CONFIG:
        rc = proto_config_reply_decode(copy, len, &out.c, &why);
        break;
    case CW_MSG_LOCATIONS:
        rc = proto_locations_decode(copy, len, &locs, &why);
        break;
    default:
        fail();
    }
    free(copy);
    if (rc == 0) return NULL;
    assert_int_equal(rc, -1);
    assert_non_null(why);
    return why;
}

/* Every proper prefix is "truncated", one byte more is "trailing bytes", a wrong type byte, version or count is
 * refused: the framing checks every location message shares. */
static inline void expect_framing_checked(enum cw_msg_type type, const struct cw_buf *b, bool single)
{
    assert_null(decode_why(type, b->data, b->len));
    for (size_t len = 0; len < b->len; len++) assert_string_equal(decode_why(type, b->data, len), "truncated");
    uint8_t *m = malloc(b->len + 1);
    assert_non_null(m);
    memcpy(m, b->data, b->len);
    m[b->len] = 0;
    assert_string_equal(decode_why(type, m, b->len + 1), "trailing bytes");
    m[0] = CW_PROTO_LOC_VERSION + 1;
    assert_string_equal(decode_why(type, m, b->len), "unsupported version");
    m[0] = 0;
    assert_string_equal(decode_why(type, m, b->len), "unsupported version");
    m[0] = CW_PROTO_LOC_VERSION;
    m[1] = (uint8_t)(type == CW_MSG_HELLO ? CW_MSG_HELLO_ECHO : CW_MSG_HELLO);
    assert_string_equal(decode_why(type, m, b->len), "type does not match topic");
    m[1] = (uint8_t)type;
    if (single) {
        put_le(m + 2, 2, 2);
        assert_string_equal(decode_why(type, m, b->len), "count is not 1");
        put_le(m + 2, 0, 2);
        assert_string_equal(decode_why(type, m, b->len), "count is not 1");
    }
    free(m);
}

/* One field changed at a time (`bytes` little-endian bytes at `at`, restored after): refused with `why`. */
struct mutation {
    size_t at;
    int bytes;
    uint64_t value;
    const char *why;
};

static inline void expect_mutations(enum cw_msg_type type, uint8_t *m, size_t len, const struct mutation *cases,
                                    size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t saved[8];
        memcpy(saved, m + cases[i].at, (size_t)cases[i].bytes);
        put_le(m + cases[i].at, cases[i].value, cases[i].bytes);
        assert_string_equal(decode_why(type, m, len), cases[i].why);
        memcpy(m + cases[i].at, saved, (size_t)cases[i].bytes);
    }
    assert_null(decode_why(type, m, len));
}

#endif
