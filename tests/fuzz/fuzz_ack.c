/* tests/fuzz/fuzz_ack.c — libFuzzer harness for the ack decoder (common/bus/ackmsg.c, ackq_ack_decode): the input
 * is the payload frame of an `ack` message, which a worker or the alerter reads from the bus
 * (docs/protocol.md 2.6). The decoder must accept it or refuse it with a reason, never read past the frame
 * nor write past `max` ranges, and accept exactly what section 2.6 allows: version 1 or 2, type 4, a count of
 * 1..512, exactly 4 + 28 * count bytes (version 1) or 4 + 29 * count (version 2: a kind byte first), every
 * durable range with 1 <= first <= last, every refusal (kind 1) with worker 0 and first = last = a length of
 * 1..4 MiB, no other kind (checked here against a reference written from the document, not from the
 * decoder). Every accepted range is the little-endian fields at its offset; ackq_ack_encode gives the input
 * back byte for byte when it is version 1 or holds a refusal (an encoder writes version 2 only then; the
 * format has no reserved bytes), else the same ranges as version 1; either decodes to the same ranges.
 * ackq_on_ack agrees with the decoder. The encoder is fuzzed too: the input read as raw ranges (a kind byte
 * each) is encoded exactly when it is valid. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/bus/ackq.h"
#include "common/base/log.h"
#include "common/wire/protocol.h"
#include "common/base/util.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define RANGE_BYTES 28 /* docs/protocol.md 2.6: u32 worker, u64 boot_id, u64 first, u64 last */
#define PAYLOAD_MAX (4u << 20)

/* Bytes of one range in a message of version v (1 or 2). */
static size_t record_bytes(uint8_t v) { return v == 2 ? RANGE_BYTES + 1 : RANGE_BYTES; }

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    log_init("fuzz", LOG_LVL_ERROR + 1); /* ackq_on_ack warns about malformed acks */
    return 0;
}

static uint64_t le(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

/* Range i of a message of version v (version 1: every range durable). */
static struct ackq_range range_at(const uint8_t *rec, uint8_t v)
{
    uint8_t kind = v == 2 ? *rec++ : 0;
    return (struct ackq_range){ (uint32_t)le(rec, 4), le(rec + 4, 8), le(rec + 12, 8), le(rec + 20, 8), kind };
}

static bool range_valid(const struct ackq_range *r)
{
    if (r->kind == 0) return r->first >= 1 && r->first <= r->last;
    return r->kind == 1 && r->worker == 0 && r->first == r->last && r->first >= 1 && r->first <= PAYLOAD_MAX;
}

static bool same_range(const struct ackq_range *a, const struct ackq_range *b)
{
    return a->worker == b->worker && a->boot_id == b->boot_id && a->first == b->first && a->last == b->last &&
           a->kind == b->kind;
}

/* The rules of docs/protocol.md 2.6: the number of ranges the payload holds, or -1 when it breaks one. */
static long reference_count(const uint8_t *p, size_t size)
{
    if (size < 4 || (p[0] != 1 && p[0] != 2) || p[1] != 4) return -1;
    size_t n = (size_t)le(p + 2, 2);
    if (n < 1 || n > 512 || size != 4 + n * record_bytes(p[0])) return -1;
    for (size_t i = 0; i < n; i++) {
        struct ackq_range r = range_at(p + 4 + i * record_bytes(p[0]), p[0]);
        if (!range_valid(&r)) return -1;
    }
    return (long)n;
}

/* Decodes p into an exact-size heap block of max ranges (ASan sees a write past it). */
static int decode_into(const uint8_t *p, size_t size, size_t max, struct ackq_range **out)
{
    *out = malloc((max ? max : 1) * sizeof **out);
    if (!*out) abort();
    const char *why = NULL;
    int n = ackq_ack_decode(p, size, *out, max, &why);
    if (n < 0) FUZZ_ASSERT(n == -1 && why && why[0]);
    return n;
}

static void decoder(const uint8_t *p, size_t size)
{
    struct ackq_range *out;
    int n = decode_into(p, size, ACKQ_RANGES_MAX, &out);
    FUZZ_ASSERT(n == reference_count(p, size));
    if (n > 0) {
        FUZZ_ASSERT(n <= ACKQ_RANGES_MAX);
        FUZZ_ASSERT(size == 4 + (size_t)n * record_bytes(p[0]));
        bool refusal = false;
        for (int i = 0; i < n; i++) {
            struct ackq_range want = range_at(p + 4 + (size_t)i * record_bytes(p[0]), p[0]);
            FUZZ_ASSERT(range_valid(&out[i]) && same_range(&out[i], &want));
            refusal = refusal || want.kind == 1;
        }
        /* re-encoding gives the input byte for byte (or, a version 2 of durable ranges only, the same ranges
         * as version 1), which decodes to the same ranges */
        struct cw_buf b = { 0 };
        FUZZ_ASSERT(ackq_ack_encode(&b, out, (size_t)n) == 0);
        if (p[0] == 1 || refusal) FUZZ_ASSERT(b.len == size && memcmp(b.data, p, size) == 0);
        else FUZZ_ASSERT(b.data[0] == 1 && b.len == 4 + (size_t)n * RANGE_BYTES);
        struct ackq_range *back;
        FUZZ_ASSERT(decode_into(b.data, b.len, (size_t)n, &back) == n); /* room for exactly n */
        for (int i = 0; i < n; i++) FUZZ_ASSERT(same_range(&back[i], &out[i]));
        free(back);
        cw_buf_free(&b);
        /* one range fewer than the message holds: refused, nothing written past the room given */
        if (n > 1) {
            FUZZ_ASSERT(decode_into(p, size, (size_t)n - 1, &back) == -1);
            free(back);
        }
    }
    free(out);

    /* the receiving side: an ack that decodes is counted as received, any other as malformed */
    struct ackq q;
    char err[256];
    FUZZ_ASSERT(ackq_init(&q, NULL, "fuzz", 1 << 20, 16, 1000000000, NULL, err, sizeof err) == 0);
    long done = ackq_on_ack(&q, p, size);
    FUZZ_ASSERT(n < 0 ? done == -1 && q.acks_malformed == 1 && q.acks_received == 0
                      : done == 0 && q.acks_malformed == 0 && q.acks_received == 1);
    FUZZ_ASSERT(q.count == 0 && q.acked == 0);
    ackq_free(&q);
}

/* The input as raw ranges for the encoder: the count is the u16 at offset 2 (at most 513, beyond which
 * every count is refused alike), range i the 29 bytes at 4 + 29 * i (a kind byte, then the range), zero past
 * the end of the input. */
static void encoder(const uint8_t *p, size_t size)
{
    size_t n = size >= 4 ? (size_t)le(p + 2, 2) : 0;
    if (n > ACKQ_RANGES_MAX + 1) n = ACKQ_RANGES_MAX + 1;
    struct ackq_range *r = calloc(n ? n : 1, sizeof *r);
    if (!r) abort();
    bool valid = n >= 1 && n <= ACKQ_RANGES_MAX, refusal = false;
    for (size_t i = 0; i < n; i++) {
        uint8_t rec[RANGE_BYTES + 1] = { 0 };
        size_t at = 4 + i * sizeof rec;
        if (at < size) memcpy(rec, p + at, size - at < sizeof rec ? size - at : sizeof rec);
        r[i] = range_at(rec, 2);
        valid = valid && range_valid(&r[i]);
        refusal = refusal || r[i].kind != 0;
    }
    struct cw_buf b = { 0 };
    cw_buf_put(&b, "stale", 5); /* the encoder resets b first */
    int rc = ackq_ack_encode(&b, r, n);
    FUZZ_ASSERT(rc == (valid ? 0 : -1));
    if (rc != 0) {
        FUZZ_ASSERT(b.len == 0);
    } else {
        uint8_t v = refusal ? 2 : 1;
        FUZZ_ASSERT(b.len == 4 + n * record_bytes(v) && b.data[0] == v && b.data[1] == CW_MSG_ACK);
        struct ackq_range *back;
        FUZZ_ASSERT(decode_into(b.data, b.len, n, &back) == (int)n);
        for (size_t i = 0; i < n; i++) FUZZ_ASSERT(same_range(&back[i], &r[i]));
        free(back);
    }
    cw_buf_free(&b);
    free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Copy into an exact-size heap block so that ASan sees any read past the end of the frame. */
    uint8_t *p = malloc(size ? size : 1);
    if (!p) abort();
    memcpy(p, data, size);
    decoder(p, size);
    encoder(p, size);
    free(p);
    return 0;
}
