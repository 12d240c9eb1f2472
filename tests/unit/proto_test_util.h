/* tests/unit/proto_test_util.h — what the wire-format tests share (tests/unit/test_protocol.c: round trips;
 * tests/unit/test_protocol_reject.c: malformed input; test_proto_locations.c, test_tap.c: the location messages):
 * the offsets of a result record, sample values and
 * heap copies of exactly a payload's size (so ASan catches any read past it). */
#ifndef CW_TEST_PROTO_TEST_UTIL_H
#define CW_TEST_PROTO_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/wire/protocol.h"
#include "common/base/util.h"

/* Offsets inside the first result record of a result payload (docs/protocol.md). */
enum {
    HDR = 4,
    R_WORKER = HDR + 0,
    R_BOOT = HDR + 4,
    R_SEQ = HDR + 12,
    R_CHECKED = HDR + 20,
    R_LATENESS = HDR + 28,
    R_LATENCY = HDR + 36,
    R_DNS = HDR + 44,
    R_CONNECT = HDR + 52,
    R_TLS = HDR + 60,
    R_TTFB = HDR + 68,
    R_STATUS = HDR + 76,
    R_FLAGS = HDR + 78,
    R_RESERVED = HDR + 79,
    R_URL = HDR + 80,
};

/* ---- helpers */

static inline struct cw_result sample_result(unsigned i, const char *url, const char *error)
{
    struct cw_result r = {
        .worker = 3 + i,
        .boot_id = 0xab12cd34ef560789ULL + i,
        .seq = 1 + (uint64_t)i,
        .checked_at_us = 1795579506123456LL + i,
        .lateness_us = -250 + (int64_t)i,
        .latency_us = 12345 + (int64_t)i,
        .dns_us = 100,
        .connect_us = 200,
        .tls_us = -1,
        .ttfb_us = 11000,
        .status_code = (uint16_t)(error ? 0 : 200),
        .ok = error == NULL,
        .url = url,
        .error = error,
    };
    return r;
}

/* A LOCATIONS message of three locations at at_us: central live (2 workers, offset -150 us, rtt 400 us, heard a
 * second before), fra silent (offset +1.5 s, rtt 90 ms, heard a minute before), sgp unknown (never heard). */
static inline void sample_locations(struct cw_locations_msg *m, int64_t at_us)
{
    memset(m, 0, sizeof *m);
    m->at_us = at_us;
    m->count = 3;
    m->loc[0] = (struct cw_location_state){ "central", CW_LOCATION_LIVE, at_us - 1000000, -150, 400, 2 };
    m->loc[1] = (struct cw_location_state){ "fra", CW_LOCATION_SILENT, at_us - 60000000, 1500000, 90000, 0 };
    m->loc[2] = (struct cw_location_state){ "sgp", CW_LOCATION_UNKNOWN, 0, CW_OFFSET_UNKNOWN, -1, 0 };
}

/* A heap copy of exactly len bytes (ASan catches any read past it). */
static inline uint8_t *dup_bytes(const void *p, size_t len)
{
    uint8_t *d = malloc(len ? len : 1);
    assert_non_null(d);
    if (len) memcpy(d, p, len);
    return d;
}

static inline void put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Decodes a result payload (from a tight heap copy); returns the decoder's value, *why its reason. */
static inline int decode_results(const void *payload, size_t len, const char **why)
{
    static struct cw_result out[CW_RESULT_BATCH_MAX];
    uint8_t *copy = dup_bytes(payload, len);
    *why = NULL;
    int n = proto_results_decode(copy, len, out, CW_RESULT_BATCH_MAX, why);
    free(copy);
    return n;
}

static inline void expect_result_rejected(const void *payload, size_t len, const char *reason)
{
    const char *why = NULL;
    assert_int_equal(decode_results(payload, len, &why), -1);
    assert_non_null(why);
    if (reason) assert_string_equal(why, reason);
}

/* A one-result message with a normal url and an error. */
static inline void one_result_msg(struct cw_buf *b)
{
    struct cw_result r = sample_result(0, "http://127.0.0.1:8089/", "Couldn't connect to server");
    proto_results_begin(b);
    assert_int_equal(proto_results_add(b, &r), 0);
}

static inline void assert_result_equal(const struct cw_result *a, const struct cw_result *b)
{
    assert_int_equal(a->worker, b->worker);
    assert_true(a->boot_id == b->boot_id);
    assert_true(a->seq == b->seq);
    assert_true(a->checked_at_us == b->checked_at_us);
    assert_true(a->lateness_us == b->lateness_us);
    assert_true(a->latency_us == b->latency_us);
    assert_true(a->dns_us == b->dns_us);
    assert_true(a->connect_us == b->connect_us);
    assert_true(a->tls_us == b->tls_us);
    assert_true(a->ttfb_us == b->ttfb_us);
    assert_int_equal(a->status_code, b->status_code);
    assert_int_equal(a->ok, b->ok);
    assert_string_equal(a->url, b->url);
    if (b->ok || !b->error) assert_string_equal(a->error, "");
    else assert_string_equal(a->error, b->error);
    assert_true(a->tls_expires_at_us == b->tls_expires_at_us);
}

#endif
