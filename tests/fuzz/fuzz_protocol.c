/* tests/fuzz/fuzz_protocol.c — libFuzzer harness for the wire decoders (common/wire/protocol.c, protoloc.c): the
 * input is a payload frame. Each of the result, stats, alert, push and location (HELLO, HELLO_ECHO, CONFIG_GET,
 * CONFIG, LOCATIONS) decoders must accept it or reject it with a reason, never read out of bounds. Whatever a
 * decoder accepts is encoded again: the encoding must be the input byte for byte (the format has exactly one
 * encoding per message, reserved bytes aside, which must be sent as 0 but are ignored on receipt, and a result
 * batch's version: a batch that needs nothing of its version is written as the lowest version that holds it), and
 * must decode to the same values. */
#include <stdint.h>
#include <string.h>

#include "common/wire/protocol.h"
#include "common/wire/pushmsg.h"
#include "common/base/util.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The encoding equals the input except at the reserved byte offsets listed. */
static void same_bytes(const struct cw_buf *enc, const uint8_t *data, size_t size, const size_t *reserved,
                       size_t n_reserved)
{
    FUZZ_ASSERT(enc->len == size);
    size_t next = 0;
    for (size_t i = 0; i < size; i++) {
        if (next < n_reserved && reserved[next] == i) {
            FUZZ_ASSERT(enc->data[i] == 0);
            next++;
            continue;
        }
        FUZZ_ASSERT(enc->data[i] == data[i]);
    }
}

static bool str_eq(const char *a, const char *b) { return strcmp(a ? a : "", b ? b : "") == 0; }

static void results(const uint8_t *data, size_t size)
{
    static struct cw_result out[CW_RESULT_BATCH_MAX], back[CW_RESULT_BATCH_MAX]; /* harness scratch */
    const char *why = NULL;
    int n = proto_results_decode(data, size, out, CW_RESULT_BATCH_MAX, &why);
    if (n < 0) {
        FUZZ_ASSERT(why && why[0]);
        return;
    }
    FUZZ_ASSERT(n >= 1 && n <= CW_RESULT_BATCH_MAX);
    struct cw_buf b = { 0 };
    size_t reserved[CW_RESULT_BATCH_MAX], off = 4, n_reserved = 0;
    uint8_t needs = 1; /* the version the records need */
    proto_results_begin(&b);
    for (int i = 0; i < n; i++) {
        FUZZ_ASSERT(out[i].url && out[i].error && out[i].url[0]);
        FUZZ_ASSERT(!out[i].ok || !out[i].error[0]);
        FUZZ_ASSERT(out[i].kind <= CW_RESULT_KIND_MAX && (data[0] >= 2 || (out[i].kind == 0 && !out[i].figures)));
        FUZZ_ASSERT(!out[i].figures || (out[i].figures[0] && strlen(out[i].figures) <= CW_FIGURES_MAX));
        FUZZ_ASSERT(out[i].location && (data[0] == 3 || !out[i].location[0]));
        FUZZ_ASSERT(!out[i].location[0] || proto_location_valid(out[i].location));
        FUZZ_ASSERT(proto_results_add(&b, &out[i]) == 0);
        uint8_t version = out[i].location[0] ? 3 : (out[i].kind != 0 || out[i].figures) ? 2 : 1;
        if (version > needs) needs = version;
        if (data[0] == 1) reserved[n_reserved++] = off + 79; /* u32 + 9 * u64 + u16 + u8 flags, reserved byte */
        off += 80 + 2 + strlen(out[i].url) + 1 + 2 + strlen(out[i].error) + 1 +
               (out[i].tls_expires_at_us != 0 ? 8 : 0) +                   /* flags bit 1: the expiry */
               (out[i].figures ? 2 + strlen(out[i].figures) + 1 : 0) +     /* flags bit 2: the figures */
               (out[i].location[0] ? 2 + strlen(out[i].location) + 1 : 0); /* flags bit 3: the location */
    }
    FUZZ_ASSERT(proto_results_count(&b) == (unsigned)n);
    FUZZ_ASSERT(b.data[0] == needs && data[0] >= needs);
    b.data[0] = data[0];
    same_bytes(&b, data, size, reserved, n_reserved);
    FUZZ_ASSERT(proto_results_decode(b.data, b.len, back, CW_RESULT_BATCH_MAX, &why) == n);
    for (int i = 0; i < n; i++) {
        FUZZ_ASSERT(back[i].seq == out[i].seq && back[i].worker == out[i].worker && back[i].ok == out[i].ok);
        FUZZ_ASSERT(back[i].latency_us == out[i].latency_us && back[i].status_code == out[i].status_code);
        FUZZ_ASSERT(str_eq(back[i].url, out[i].url) && str_eq(back[i].error, out[i].error));
        FUZZ_ASSERT(back[i].tls_expires_at_us == out[i].tls_expires_at_us && back[i].kind == out[i].kind);
        FUZZ_ASSERT(str_eq(back[i].figures, out[i].figures) && str_eq(back[i].location, out[i].location));
    }
    cw_buf_free(&b);
}

static void stats(const uint8_t *data, size_t size)
{
    static struct cw_stats s, t; /* harness scratch */
    const char *why = NULL;
    if (proto_stats_decode(data, size, &s, &why) != 0) {
        FUZZ_ASSERT(why && why[0]);
        return;
    }
    FUZZ_ASSERT(s.role && s.role[0] && s.count <= CW_STATS_MAX);
    struct cw_buf b = { 0 };
    FUZZ_ASSERT(proto_stats_encode(&b, &s) == 0);
    same_bytes(&b, data, size, NULL, 0);
    FUZZ_ASSERT(proto_stats_decode(b.data, b.len, &t, &why) == 0);
    FUZZ_ASSERT(t.count == s.count && t.id == s.id && t.boot_id == s.boot_id && str_eq(t.role, s.role));
    for (unsigned i = 0; i < s.count; i++)
        FUZZ_ASSERT(t.items[i].value == s.items[i].value && str_eq(t.items[i].name, s.items[i].name));
    cw_buf_free(&b);
}

static void alert(const uint8_t *data, size_t size)
{
    struct cw_alert a, c;
    const char *why = NULL;
    if (proto_alert_decode(data, size, &a, &why) != 0) {
        FUZZ_ASSERT(why && why[0]);
        return;
    }
    FUZZ_ASSERT(proto_alert_kind_name(a.kind) && proto_delivery_name(a.email_state) &&
                proto_delivery_name(a.webhook_state));
    FUZZ_ASSERT(a.url && a.url[0] && a.name && a.message);
    struct cw_buf b = { 0 };
    FUZZ_ASSERT(proto_alert_encode(&b, &a) == 0);
    size_t reserved = 4 + 8 + 8 + 3; /* version 1: reserved; version 2: muted, compared below */
    /* a version 2 alert that says nothing new is written as version 1 (docs/protocol.md 3): compare bytes only
     * when the version is the same */
    if (b.data[0] == data[0]) same_bytes(&b, data, size, &reserved, 1);
    FUZZ_ASSERT(proto_alert_decode(b.data, b.len, &c, &why) == 0);
    FUZZ_ASSERT(c.alert_id == a.alert_id && c.raised_at_us == a.raised_at_us && c.kind == a.kind);
    FUZZ_ASSERT(c.email_state == a.email_state && c.webhook_state == a.webhook_state);
    FUZZ_ASSERT(str_eq(c.url, a.url) && str_eq(c.name, a.name) && str_eq(c.message, a.message));
    FUZZ_ASSERT(c.incident_id == a.incident_id && c.muted == a.muted && str_eq(c.deliveries, a.deliveries));
    cw_buf_free(&b);
}

/* The push message (common/wire/pushmsg.h): what decodes encodes to the same bytes (reserved byte 13 aside). */
static void push(const uint8_t *data, size_t size)
{
    struct cw_push_call c, d;
    const char *why = NULL;
    if (proto_push_decode(data, size, &c, &why) != 0) {
        FUZZ_ASSERT(why && why[0]);
        return;
    }
    struct cw_buf b = { 0 };
    FUZZ_ASSERT(proto_push_encode(&b, &c) == 0);
    size_t reserved = 13;
    same_bytes(&b, data, size, &reserved, 1);
    FUZZ_ASSERT(proto_push_decode(b.data, b.len, &d, &why) == 0);
    FUZZ_ASSERT(d.received_at_us == c.received_at_us && d.down == c.down && str_eq(d.url, c.url) &&
                str_eq(d.msg, c.msg));
    cw_buf_free(&b);
}

/* ---- the location messages (issue 16): each decodes, encodes to the same bytes, and decodes to the same values */

static void hello(const uint8_t *data, size_t size)
{
    struct cw_hello h, k;
    const char *why = NULL;
    if (proto_hello_decode(data, size, &h, &why) != 0) {
        FUZZ_ASSERT(why && why[0]);
        return;
    }
    FUZZ_ASSERT(proto_location_valid(h.location) && h.boot_id != 0);
    FUZZ_ASSERT((h.offset_us == CW_OFFSET_UNKNOWN) == (h.rtt_us == -1));
    struct cw_buf b = { 0 };
    FUZZ_ASSERT(proto_hello_encode(&b, &h) == 0);
    same_bytes(&b, data, size, NULL, 0);
    FUZZ_ASSERT(proto_hello_decode(b.data, b.len, &k, &why) == 0);
    FUZZ_ASSERT(str_eq(k.location, h.location) && k.worker == h.worker && k.boot_id == h.boot_id);
    FUZZ_ASSERT(k.sent_at_us == h.sent_at_us && k.offset_us == h.offset_us && k.rtt_us == h.rtt_us);
    FUZZ_ASSERT(k.endpoints == h.endpoints);
    cw_buf_free(&b);
}

static void hello_echo(const uint8_t *data, size_t size)
{
    struct cw_hello_echo e, f;
    const char *why = NULL;
    if (proto_hello_echo_decode(data, size, &e, &why) != 0) {
        FUZZ_ASSERT(why && why[0]);
        return;
    }
    struct cw_buf b = { 0 };
    FUZZ_ASSERT(proto_hello_echo_encode(&b, &e) == 0);
    same_bytes(&b, data, size, NULL, 0);
    FUZZ_ASSERT(proto_hello_echo_decode(b.data, b.len, &f, &why) == 0);
    FUZZ_ASSERT(f.sent_at_us == e.sent_at_us && f.received_at_us == e.received_at_us);
    cw_buf_free(&b);
}

static void config_get(const uint8_t *data, size_t size)
{
    struct cw_config_get g, h;
    const char *why = NULL;
    if (proto_config_get_decode(data, size, &g, &why) != 0) {
        FUZZ_ASSERT(why && why[0]);
        return;
    }
    FUZZ_ASSERT(proto_location_valid(g.location));
    struct cw_buf b = { 0 };
    FUZZ_ASSERT(proto_config_get_encode(&b, &g) == 0);
    same_bytes(&b, data, size, NULL, 0);
    FUZZ_ASSERT(proto_config_get_decode(b.data, b.len, &h, &why) == 0);
    FUZZ_ASSERT(str_eq(h.location, g.location) && h.have_hash == g.have_hash && h.sent_at_us == g.sent_at_us);
    cw_buf_free(&b);
}

static void config_reply(const uint8_t *data, size_t size)
{
    struct cw_config_reply c, d;
    const char *why = NULL;
    if (proto_config_reply_decode(data, size, &c, &why) != 0) {
        FUZZ_ASSERT(why && why[0]);
        return;
    }
    FUZZ_ASSERT(c.status <= CW_CONFIG_REFUSED && c.reason && c.store_address && c.alert_address && c.publish_address);
    FUZZ_ASSERT((c.status == CW_CONFIG_NEW) == (c.snapshot_len > 0) && (c.snapshot != NULL) == (c.snapshot_len > 0));
    FUZZ_ASSERT((c.status == CW_CONFIG_REFUSED) == (c.reason[0] != 0));
    struct cw_buf b = { 0 };
    FUZZ_ASSERT(proto_config_reply_encode(&b, &c) == 0);
    same_bytes(&b, data, size, NULL, 0);
    FUZZ_ASSERT(proto_config_reply_decode(b.data, b.len, &d, &why) == 0);
    FUZZ_ASSERT(d.status == c.status && d.hash == c.hash && d.echo_sent_at_us == c.echo_sent_at_us);
    FUZZ_ASSERT(d.central_at_us == c.central_at_us && str_eq(d.reason, c.reason));
    FUZZ_ASSERT(str_eq(d.store_address, c.store_address) && str_eq(d.alert_address, c.alert_address) &&
                str_eq(d.publish_address, c.publish_address));
    FUZZ_ASSERT(d.snapshot_len == c.snapshot_len &&
                (!c.snapshot_len || !memcmp(d.snapshot, c.snapshot, c.snapshot_len)));
    cw_buf_free(&b);
}

static void locations(const uint8_t *data, size_t size)
{
    static struct cw_locations_msg m, n; /* harness scratch */
    const char *why = NULL;
    if (proto_locations_decode(data, size, &m, &why) != 0) {
        FUZZ_ASSERT(why && why[0] && m.count == 0);
        return;
    }
    FUZZ_ASSERT(m.count <= CW_LOCATIONS_MAX);
    struct cw_buf b = { 0 };
    FUZZ_ASSERT(proto_locations_encode(&b, &m) == 0);
    same_bytes(&b, data, size, NULL, 0);
    FUZZ_ASSERT(proto_locations_decode(b.data, b.len, &n, &why) == 0);
    FUZZ_ASSERT(n.count == m.count && n.at_us == m.at_us);
    for (unsigned i = 0; i < m.count; i++) {
        FUZZ_ASSERT(proto_location_valid(m.loc[i].name) && str_eq(n.loc[i].name, m.loc[i].name));
        FUZZ_ASSERT(n.loc[i].state == m.loc[i].state && n.loc[i].last_heard_us == m.loc[i].last_heard_us);
        FUZZ_ASSERT(n.loc[i].offset_us == m.loc[i].offset_us && n.loc[i].rtt_us == m.loc[i].rtt_us);
        FUZZ_ASSERT(n.loc[i].workers == m.loc[i].workers);
    }
    cw_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Copy into an exact-size heap block so that ASan sees any read past the end of the frame. */
    uint8_t *p = malloc(size ? size : 1);
    if (!p) abort();
    memcpy(p, data, size);
    results(p, size);
    stats(p, size);
    alert(p, size);
    push(p, size);
    hello(p, size);
    hello_echo(p, size);
    config_get(p, size);
    config_reply(p, size);
    locations(p, size);
    /* topics are outside input too */
    enum cw_msg_type t = proto_type_of_topic(p, size);
    FUZZ_ASSERT(t == CW_MSG_INVALID || (strlen(proto_topic(t)) == size && !memcmp(proto_topic(t), p, size)));
    free(p);
    return 0;
}
