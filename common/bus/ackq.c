/* common/bus/ackq.c — the acknowledged outbox (see ackq.h): ring of unacked batches, window, resend, spool (its file
 * format and recovery scan are common/wire/spoolfile.c's). */
#include "common/bus/ackq.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/clock.h"
#include "common/base/le.h"
#include "common/base/log.h"
#include "common/wire/protocol.h"
#include "common/wire/spoolfile.h"

#define ACK_RANGE_BYTES 28
#define SPOOL_META 32 /* u32 worker, u64 boot_id, u64 first, u64 last, u32 results */
#define SPOOL_RECORD_MAX (CW_PAYLOAD_MAX)

/* ---- the ack message */

int ackq_ack_encode(struct cw_buf *b, const struct ackq_range *r, size_t n)
{
    cw_buf_reset(b);
    if (n == 0 || n > ACKQ_RANGES_MAX) return -1;
    for (size_t i = 0; i < n; i++)
        if (r[i].first == 0 || r[i].first > r[i].last) return -1;
    uint8_t h[4] = { CW_PROTO_VERSION, CW_MSG_ACK };
    le_put_u16(h + 2, (uint16_t)n);
    cw_buf_put(b, h, sizeof h);
    for (size_t i = 0; i < n; i++) {
        uint8_t rec[ACK_RANGE_BYTES];
        le_put_u32(rec, r[i].worker);
        le_put_u64(rec + 4, r[i].boot_id);
        le_put_u64(rec + 12, r[i].first);
        le_put_u64(rec + 20, r[i].last);
        cw_buf_put(b, rec, sizeof rec);
    }
    return 0;
}

int ackq_ack_decode(const void *payload, size_t len, struct ackq_range *out, size_t max, const char **why)
{
    const uint8_t *p = payload;
    if (!p || len < 4) return *why = "truncated", -1;
    if (p[0] != CW_PROTO_VERSION) return *why = "bad version", -1;
    if (p[1] != CW_MSG_ACK) return *why = "type does not match topic", -1;
    size_t n = le_get_u16(p + 2);
    if (n == 0 || n > ACKQ_RANGES_MAX) return *why = "bad count", -1;
    if (len != 4 + n * ACK_RANGE_BYTES)
        return *why = len < 4 + n * ACK_RANGE_BYTES ? "truncated" : "trailing bytes", -1;
    if (n > max) return *why = "too many ranges", -1;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *rec = p + 4 + i * ACK_RANGE_BYTES;
        out[i] = (struct ackq_range){ .worker = le_get_u32(rec),
                                      .boot_id = le_get_u64(rec + 4),
                                      .first = le_get_u64(rec + 12),
                                      .last = le_get_u64(rec + 20) };
        if (out[i].first == 0 || out[i].first > out[i].last) return *why = "bad range", -1;
    }
    return (int)n;
}

uint64_t ackq_alert_version(uint8_t email_state, uint8_t webhook_state)
{
    return 1 + (uint64_t)(email_state & 3) * 4 + (uint64_t)(webhook_state & 3);
}

/* ---- the ring */

static struct ackq_entry *at(const struct ackq *q, size_t i) { return &q->ring[(q->head + i) % q->cap]; }

static struct ackq_entry *ring_append(struct ackq *q)
{
    if (q->count == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        struct ackq_entry *r = cw_xcalloc(cap, sizeof *r);
        for (size_t i = 0; i < q->count; i++) r[i] = *at(q, i);
        /* keep the buffers of the free slots too: their capacity is reused */
        for (size_t i = q->count; i < q->cap; i++) r[i] = *at(q, i);
        free(q->ring);
        q->ring = r;
        q->cap = cap;
        q->head = 0;
    }
    struct ackq_entry *e = at(q, q->count);
    struct cw_buf keep = e->buf;
    memset(e, 0, sizeof *e);
    e->buf = keep;
    cw_buf_reset(&e->buf);
    q->count++;
    return e;
}

static void pop_done(struct ackq *q)
{
    while (q->count && at(q, 0)->acked) {
        struct ackq_entry *e = at(q, 0);
        q->mem_bytes -= e->buf.len;
        cw_buf_reset(&e->buf);
        q->head = (q->head + 1) % q->cap;
        q->count--;
        if (q->nsent) q->nsent--;
    }
}

/* ---- the spool: common/wire/spoolfile.h's format, each record's meta is the entry's identity */

static void meta_put(uint8_t *m, const struct ackq_entry *e)
{
    le_put_u32(m, e->worker);
    le_put_u64(m + 4, e->boot_id);
    le_put_u64(m + 12, e->first);
    le_put_u64(m + 20, e->last);
    le_put_u32(m + 28, e->n);
}

static void meta_get(const uint8_t *m, struct ackq_entry *e)
{
    e->worker = le_get_u32(m);
    e->boot_id = le_get_u64(m + 4);
    e->first = le_get_u64(m + 12);
    e->last = le_get_u64(m + 20);
    e->n = le_get_u32(m + 28);
}

static void spool_log_failure(struct ackq *q, const char *what)
{
    if (q->spool_failed_logged) return;
    q->spool_failed_logged = true;
    log_error("cannot %s the spool %s for the %s: %s (results beyond the memory bound are dropped)", what,
              q->spool_path, q->name, strerror(errno));
}

static void spool_make_room(struct ackq *q, uint64_t want);

static int spool_append(struct ackq *q, const struct ackq_entry *e, const void *data, size_t len)
{
    if (!q->spool_path) return -1;
    uint64_t bytes = spoolfile_record_bytes(&q->spool, len);
    if (q->spool_max_bytes && q->spool.fd >= 0 && q->spool.end + bytes > q->spool_max_bytes) spool_make_room(q, bytes);
    uint8_t meta[SPOOL_META];
    meta_put(meta, e);
    if (spoolfile_append(&q->spool, meta, data, len) != 0) {
        spool_log_failure(q, q->spool.fd < 0 ? "create" : "write");
        return -1;
    }
    q->spool_failed_logged = false;
    return 0;
}

/* Replaces the spool file by: (with_memory) every unacked entry in memory, in ring order, then the unread
 * records [spool_read, spool.end). Synced, renamed over the old file. 0, or -1 (the old file is untouched). */
static int spool_rewrite(struct ackq *q, bool with_memory)
{
    struct spoolfile tmp;
    if (spoolfile_rewrite_begin(&q->spool, &tmp) != 0) return -1;
    for (size_t i = 0; with_memory && i < q->count; i++) {
        const struct ackq_entry *e = at(q, i);
        if (e->acked) continue;
        uint8_t meta[SPOOL_META];
        meta_put(meta, e);
        if (spoolfile_append(&tmp, meta, e->buf.data, e->buf.len) != 0) goto fail;
    }
    if (q->spool.fd >= 0 && spoolfile_copy(&tmp, &q->spool, q->spool_read, q->spool.end) != 0) goto fail;
    if (spoolfile_rewrite_commit(&q->spool, &tmp) != 0) return -1;
    q->spool_read = 0;
    /* what was read from the old file is no longer in the new one: those entries now live in memory only */
    for (size_t i = 0; i < q->count; i++) at(q, i)->from_spool = false;
    q->spool_outstanding = 0;
    return 0;
fail:;
    int saved = errno;
    spoolfile_rewrite_abort(&tmp);
    errno = saved;
    return -1;
}

/* The disk bound is reached: drops the oldest unread records until the file (rewritten) holds at most
 * half the bound with room for `want` more bytes. */
static void spool_make_room(struct ackq *q, uint64_t want)
{
    uint64_t target = q->spool_max_bytes / 2, dropped = 0, batches = 0;
    while (q->spool_read < q->spool.end && q->spool.end - q->spool_read + want > target) {
        struct spoolfile_record rec;
        if (spoolfile_read(&q->spool, q->spool_read, &rec, NULL) != 0) {
            q->spool_read = q->spool.end; /* unreadable: drop the rest */
            break;
        }
        dropped += le_get_u32(rec.meta + 28);
        batches++;
        q->spool_read = rec.next;
    }
    q->dropped += dropped;
    q->spool_full_dropped += dropped;
    log_error("the spool %s for the %s reached its bound of %llu bytes: the oldest %llu results (%llu batches) are "
              "DROPPED (%llu dropped so far)",
              q->spool_path, q->name, (unsigned long long)q->spool_max_bytes, (unsigned long long)dropped,
              (unsigned long long)batches, (unsigned long long)q->spool_full_dropped);
    if (spool_rewrite(q, false) != 0)
        log_error("cannot rewrite the spool %s: %s (it stays over its bound)", q->spool_path, strerror(errno));
}

static void spool_reset_if_done(struct ackq *q)
{
    if (q->spool.fd < 0 || q->spool_read < q->spool.end || q->spool_outstanding) return;
    spoolfile_remove(&q->spool);
    q->spool_read = 0;
}

/* Reads spool records into memory while memory is below 3/4 of the bound. */
static void spool_refill(struct ackq *q)
{
    while (q->spool.fd >= 0 && q->spool_read < q->spool.end && q->mem_bytes < q->max_bytes / 4 * 3) {
        struct spoolfile_record rec;
        struct ackq_entry *e = ring_append(q);
        if (spoolfile_read(&q->spool, q->spool_read, &rec, &e->buf) != 0) {
            q->count--;
            log_error("the spool %s for the %s is unreadable at offset %llu (%s): the rest of it is dropped",
                      q->spool_path, q->name, (unsigned long long)q->spool_read, strerror(errno));
            q->spool_read = q->spool.end;
            break;
        }
        meta_get(rec.meta, e);
        e->from_spool = true;
        q->mem_bytes += rec.len;
        q->spool_read = rec.next;
        q->spool_outstanding++;
        q->replayed += e->n;
    }
    spool_reset_if_done(q);
}

/* ---- public */

int ackq_init(struct ackq *q, struct bus_socket *sock, const char *name, size_t max_bytes, size_t window,
              int64_t resend_ns, const char *spool_path, char *err, size_t errlen)
{
    memset(q, 0, sizeof *q);
    q->sock = sock;
    q->msg_type = CW_MSG_RESULT;
    q->name = name;
    q->max_bytes = max_bytes ? max_bytes : 1;
    q->window = window ? window : 1;
    q->resend_ns = resend_ns > 0 ? resend_ns : 1;
    q->spool.fd = -1;
    if (spool_path) {
        /* a predecessor's spool: its whole records become unread (the recovery scan cuts a torn tail) */
        uint64_t records = 0;
        spoolfile_init(&q->spool, spool_path, SPOOL_META, SPOOL_RECORD_MAX);
        if (spoolfile_open(&q->spool, &records, err, errlen) != 0) {
            spoolfile_free(&q->spool);
            return -1;
        }
        q->spool_path = q->spool.path;
        if (records)
            log_info("replaying %llu batches for the %s left in %s by a previous run", (unsigned long long)records,
                     q->name, q->spool_path);
    }
    return 0;
}

void ackq_free(struct ackq *q)
{
    for (size_t i = 0; i < q->cap; i++) cw_buf_free(&q->ring[i].buf);
    free(q->ring);
    q->ring = NULL;
    q->count = q->cap = q->head = 0;
    spoolfile_free(&q->spool);
    q->spool_path = NULL;
}

static void send_window(struct ackq *q, int64_t now_ns)
{
    while (q->nsent < q->count && q->inflight < q->window) {
        struct ackq_entry *e = at(q, q->nsent);
        if (e->acked) {
            q->nsent++;
            continue;
        }
        int rc = bus_send(q->sock, q->msg_type, e->buf.data, e->buf.len);
        if (rc == BUS_WOULD_BLOCK) return;
        if (rc == BUS_ERROR) {
            /* not lost: it stays unacked and goes again at the next resend round */
            q->send_errors++;
            if ((q->send_errors & (q->send_errors - 1)) == 0)
                log_warn("cannot send to the %s: %s (%llu errors so far)", q->name, strerror(errno),
                         (unsigned long long)q->send_errors);
        } else if (e->tries++) {
            q->resent += e->n;
        } else {
            q->sent += e->n;
        }
        e->sent_ns = now_ns;
        q->nsent++;
        q->inflight++;
    }
}

void ackq_push(struct ackq *q, const void *data, size_t len, uint32_t worker, uint64_t boot_id, uint64_t first,
               uint64_t last, unsigned n)
{
    struct ackq_entry key = { .worker = worker, .boot_id = boot_id, .first = first, .last = last, .n = n };
    bool spool_first = q->spool.fd >= 0 && q->spool_read < q->spool.end; /* keep the order */
    if (spool_first || (q->mem_bytes + len > q->max_bytes && q->count > 0)) {
        if (spool_append(q, &key, data, len) == 0) {
            if (q->spooled == 0 || !spool_first)
                log_warn("the %s is behind: %zu results (%zu bytes) unacknowledged in memory; spooling to %s", q->name,
                         (size_t)ackq_pending_results(q), q->mem_bytes, q->spool_path);
            q->spooled += n;
            return;
        }
        if (!spool_first || q->mem_bytes + len > q->max_bytes) {
            q->dropped += n;
            return;
        }
    }
    struct ackq_entry *e = ring_append(q);
    *e = (struct ackq_entry){
        .buf = e->buf, .worker = worker, .boot_id = boot_id, .first = first, .last = last, .n = n
    };
    cw_buf_put(&e->buf, data, len);
    q->mem_bytes += len;
    send_window(q, cw_mono_ns());
}

long ackq_on_ack(struct ackq *q, const void *payload, size_t len)
{
    struct ackq_range r[ACKQ_RANGES_MAX];
    const char *why = "";
    int n = ackq_ack_decode(payload, len, r, ACKQ_RANGES_MAX, &why);
    if (n < 0) {
        q->acks_malformed++;
        if ((q->acks_malformed & (q->acks_malformed - 1)) == 0)
            log_warn("malformed ack from the %s: %s (%llu so far)", q->name, why,
                     (unsigned long long)q->acks_malformed);
        return -1;
    }
    q->acks_received++;
    long done = 0;
    /* acks concern what was sent: the entries in flight, or in flight before a resend round (at most a
     * window more); an ack for anything further is answered again after its resend */
    size_t scan = q->nsent + q->window < q->count ? q->nsent + q->window : q->count;
    for (int k = 0; k < n; k++) {
        for (size_t i = 0; i < scan; i++) {
            struct ackq_entry *e = at(q, i);
            if (e->acked || e->worker != r[k].worker || e->boot_id != r[k].boot_id || e->first < r[k].first ||
                e->last > r[k].last)
                continue;
            e->acked = true;
            if (i < q->nsent && q->inflight) q->inflight--;
            if (e->from_spool && q->spool_outstanding) q->spool_outstanding--;
            q->acked += e->n;
            done += e->n;
        }
    }
    pop_done(q);
    return done;
}

void ackq_service(struct ackq *q, int64_t now_ns)
{
    for (int i = 0; i < 10000; i++) {
        struct bus_msg m;
        int rc = bus_recv(q->sock, &m, 0);
        if (rc <= 0) break;
        if (m.type == CW_MSG_ACK) (void)ackq_on_ack(q, m.data, m.len);
        else q->acks_malformed++;
        bus_msg_release(&m);
    }
    /* the oldest entry in flight is the head (acked entries leave the ring from the head) */
    if (q->inflight && q->nsent && now_ns - at(q, 0)->sent_ns >= q->resend_ns) {
        q->resend_rounds++;
        if ((q->resend_rounds & (q->resend_rounds - 1)) == 0)
            log_warn("the %s has not acknowledged %zu batches for %lld ms: sending them again (%llu rounds so far)",
                     q->name, q->inflight, (long long)(q->resend_ns / 1000000), (unsigned long long)q->resend_rounds);
        q->nsent = 0;
        q->inflight = 0;
    }
    spool_refill(q);
    send_window(q, now_ns);
}

bool ackq_idle(const struct ackq *q) { return q->count == 0 && q->spool_read >= q->spool.end; }

uint64_t ackq_pending_results(const struct ackq *q)
{
    uint64_t n = 0;
    for (size_t i = 0; i < q->count; i++) n += at(q, i)->n;
    return n;
}

uint64_t ackq_spool_bytes(const struct ackq *q) { return q->spool.end - q->spool_read; }

int64_t ackq_next_deadline(const struct ackq *q)
{
    if (!q->inflight || !q->nsent) return INT64_MAX;
    return at(q, 0)->sent_ns + q->resend_ns;
}

uint64_t ackq_spill(struct ackq *q)
{
    uint64_t lost = 0;
    if (q->spool_path && spool_rewrite(q, true) == 0) {
        for (size_t i = 0; i < q->count; i++) {
            struct ackq_entry *e = at(q, i);
            if (!e->acked) q->spooled += e->n;
            e->acked = true; /* safe on disk: no longer ours */
        }
    } else {
        if (q->spool_path)
            log_error("cannot rewrite the spool %s: %s (appending instead)", q->spool_path, strerror(errno));
        for (size_t i = 0; i < q->count; i++) {
            struct ackq_entry *e = at(q, i);
            if (e->acked || e->from_spool) continue;
            if (spool_append(q, e, e->buf.data, e->buf.len) != 0) lost += e->n;
            else q->spooled += e->n;
            e->acked = true; /* safe on disk (or lost): no longer ours */
        }
        /* what was read from the spool is still in the file: the next start reads it again */
        for (size_t i = 0; i < q->count; i++) at(q, i)->acked = true;
    }
    q->spool_outstanding = 0;
    q->inflight = 0;
    pop_done(q);
    if (spoolfile_sync(&q->spool) != 0) log_warn("cannot sync the spool %s: %s", q->spool_path, strerror(errno));
    return lost;
}

void ackq_set_spool_max(struct ackq *q, uint64_t max_bytes) { q->spool_max_bytes = max_bytes; }

long ackq_adopt_spool(struct ackq *q, const char *orphan_path, char *err, size_t errlen)
{
    if (!q->spool_path) {
        snprintf(err, errlen, "no spool of our own to adopt %s into", orphan_path);
        return -1;
    }
    struct spoolfile orphan;
    spoolfile_init(&orphan, orphan_path, SPOOL_META, SPOOL_RECORD_MAX);
    if (spoolfile_open(&orphan, NULL, err, errlen) != 0) {
        spoolfile_free(&orphan);
        return -1;
    }
    long batches = 0;
    struct cw_buf payload = { 0 };
    uint64_t off = 0;
    while (off < orphan.end) {
        struct spoolfile_record rec;
        struct ackq_entry key = { 0 };
        if (spoolfile_read(&orphan, off, &rec, &payload) != 0) {
            snprintf(err, errlen, "cannot read %s: %s", orphan_path, strerror(errno));
            goto fail;
        }
        meta_get(rec.meta, &key);
        if (spool_append(q, &key, payload.data, payload.len) != 0) {
            snprintf(err, errlen, "cannot append %s to %s: %s", orphan_path, q->spool_path, strerror(errno));
            goto fail;
        }
        off = rec.next;
        batches++;
    }
    cw_buf_free(&payload);
    if (spoolfile_sync(&q->spool) != 0) {
        snprintf(err, errlen, "cannot sync %s: %s", q->spool_path, strerror(errno));
        spoolfile_free(&orphan);
        return -1;
    }
    spoolfile_remove(&orphan); /* a failure is logged: the orphan would be resent once more */
    spoolfile_free(&orphan);
    return batches;
fail:
    cw_buf_free(&payload);
    spoolfile_free(&orphan);
    return -1;
}
