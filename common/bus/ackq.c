/* common/bus/ackq.c — the acknowledged outbox (see ackq.h): ring of unacked batches, window, resend, spool (its file
 * format and recovery scan are common/wire/spoolfile.c's). */
#include "common/bus/ackq.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/clock.h"
#include "common/base/le.h"
#include "common/base/log.h"
#include "common/wire/protocol.h"
#include "common/wire/spoolfile.h"

#define SPOOL_META 32 /* u32 worker, u64 boot_id, u64 first, u64 last, u32 results */
#define SPOOL_RECORD_MAX (CW_PAYLOAD_MAX)
#define ACKQ_BLOCKED_RETRY_NS 20000000LL /* a resend pass stopped at the HWM tries again after this */

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
    q->resend_max_ns = q->resend_ns * ACKQ_RESEND_MAX_FACTOR;
    q->resend_at = INT64_MAX;
    q->rl_refused.what = "refusal warnings";
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

/* Hands one copy of e to the socket: BUS_SENT (or BUS_ERROR, counted: it goes again after its timeout, like a
 * copy the receiver never got) or BUS_WOULD_BLOCK (nothing happened). */
static int send_copy(struct ackq *q, struct ackq_entry *e, int64_t now_ns)
{
    int rc = bus_send(q->sock, q->msg_type, e->buf.data, e->buf.len);
    if (rc == BUS_WOULD_BLOCK) return rc;
    if (rc == BUS_ERROR) {
        q->send_errors++;
        if ((q->send_errors & (q->send_errors - 1)) == 0)
            log_warn("cannot send to the %s: %s (%llu errors so far)", q->name, strerror(errno),
                     (unsigned long long)q->send_errors);
    }
    if (e->tries++) q->resent += e->n;
    else {
        q->sent += e->n;
        e->first_copy = q->copies;
    }
    e->last_copy = q->copies++;
    e->sent_ns = now_ns;
    return rc;
}

/* Sends entries not sent yet, while the window allows and the socket takes them. */
static void send_window(struct ackq *q, int64_t now_ns)
{
    while (q->nsent < q->count && q->inflight < q->window) {
        struct ackq_entry *e = at(q, q->nsent);
        if (!e->acked) {
            if (send_copy(q, e, now_ns) == BUS_WOULD_BLOCK) return;
            q->inflight++;
        }
        q->nsent++;
    }
}

/* The timeout of an entry sent `tries` times: resend_ns, doubling with each copy, at most resend_max_ns. */
static int64_t resend_timeout(const struct ackq *q, unsigned tries)
{
    int64_t t = q->resend_ns;
    for (unsigned i = 1; i < tries && t < q->resend_max_ns; i++) t *= 2;
    return t < q->resend_max_ns ? t : q->resend_max_ns;
}

/* When entry e (sent, unacked) may be sent again (see ackq.h, DESIGN): its timeout has passed, and the receiver
 * either read past its last copy or has been silent for that timeout. */
static int64_t resend_due(const struct ackq *q, const struct ackq_entry *e)
{
    int64_t timeout = resend_timeout(q, e->tries);
    int64_t due = e->sent_ns + timeout;
    if (e->last_copy >= q->read_mark && q->last_ack_ns + timeout > due) due = q->last_ack_ns + timeout;
    return due;
}

/* Works out resend_at: the earliest resend_due in flight (a pass stopped at the HWM keeps its retry time). */
static void plan_resends(struct ackq *q)
{
    if (q->resend_blocked) return;
    q->resend_at = INT64_MAX;
    for (size_t i = 0; i < q->nsent; i++) {
        const struct ackq_entry *e = at(q, i);
        if (e->acked) continue;
        int64_t due = resend_due(q, e);
        if (due < q->resend_at) q->resend_at = due;
    }
}

/* Sends again, oldest first, every entry in flight whose resend is due; stops at the socket's HWM. */
static void resend_pass(struct ackq *q, int64_t now_ns)
{
    if (now_ns < q->resend_at) return;
    q->resend_blocked = false;
    size_t batches = 0;
    for (size_t i = 0; i < q->nsent; i++) {
        struct ackq_entry *e = at(q, i);
        if (e->acked || resend_due(q, e) > now_ns) continue;
        if (send_copy(q, e, now_ns) == BUS_WOULD_BLOCK) {
            q->resend_blocked = true; /* new batches wait too: the resends go first */
            q->resend_at = now_ns + ACKQ_BLOCKED_RETRY_NS;
            break;
        }
        batches++;
    }
    if (!batches) return;
    q->resend_rounds++;
    if ((q->resend_rounds & (q->resend_rounds - 1)) == 0)
        log_warn("the %s has not acknowledged %zu batches in time: sent %zu again, each waits twice as long before "
                 "the next copy, up to %lld s (%llu resend passes so far)",
                 q->name, q->inflight, batches, (long long)(q->resend_max_ns / 1000000000),
                 (unsigned long long)q->resend_rounds);
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
    int64_t now = cw_mono_ns();
    if (!q->resend_blocked) send_window(q, now);
    plan_resends(q);
}

/* Appends a refused entry to <spool path>.refused (created 0600, synced). 0, or -1 with errno set. */
static int set_aside(struct ackq *q, const struct ackq_entry *e, char *path, size_t pathlen)
{
    if (!q->spool_path) {
        snprintf(path, pathlen, "(no spool: dropped)");
        errno = ENOENT;
        return -1;
    }
    snprintf(path, pathlen, "%s.refused", q->spool_path);
    struct spoolfile f;
    char err[256];
    spoolfile_init(&f, path, SPOOL_META, SPOOL_RECORD_MAX);
    uint8_t meta[SPOOL_META];
    meta_put(meta, e);
    int rc = spoolfile_open(&f, NULL, err, sizeof err);
    if (rc == 0) rc = spoolfile_append(&f, meta, e->buf.data, e->buf.len);
    if (rc == 0) rc = spoolfile_sync(&f);
    int saved = errno;
    spoolfile_free(&f);
    errno = saved;
    return rc;
}

/* Entry i is done (acknowledged or set aside): it leaves the ring once everything before it has. */
static void mark_done(struct ackq *q, size_t i)
{
    struct ackq_entry *e = at(q, i);
    e->acked = true;
    if (i < q->nsent && q->inflight) q->inflight--;
    if (e->from_spool && q->spool_outstanding) q->spool_outstanding--;
}

/* The receiver refused the payload r names: the first unacked entry in [0, scan) with that length and digest
 * is set aside (ackq.h, DESIGN) and leaves the ring. Nothing when none matches (a refusal of a copy already
 * dealt with). */
static void on_refusal(struct ackq *q, const struct ackq_range *r, size_t scan)
{
    for (size_t i = 0; i < scan; i++) {
        struct ackq_entry *e = at(q, i);
        if (e->acked || e->buf.len != r->first || ackq_payload_digest(e->buf.data, e->buf.len) != r->boot_id) continue;
        char path[4200];
        bool kept = set_aside(q, e, path, sizeof path) == 0;
        q->refused += e->n;
        q->refused_batches++;
        if (!kept) q->dropped += e->n;
        if (ratelimit_allow(&q->rl_refused, cw_mono_ns()))
            log_error("the %s refused a batch of %u results, malformed or of a location its key may not send for"
                      " (worker %" PRIu32 " boot %016" PRIx64 " seq %" PRIu64 "..%" PRIu64 "): %s %s%s%s (%" PRIu64
                      " batches refused so far)",
                      q->name, e->n, e->worker, e->boot_id, e->first, e->last, kept ? "set aside in" : "LOST:", path,
                      kept ? "" : ": ", kept ? "" : strerror(errno), q->refused_batches);
        mark_done(q, i);
        return;
    }
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
    int64_t now = cw_mono_ns();
    q->last_ack_ns = now;
    long done = 0;
    /* acks concern what was sent: the entries in flight (and, for an old receiver, a window more) */
    size_t scan = q->nsent + q->window < q->count ? q->nsent + q->window : q->count;
    for (int k = 0; k < n; k++) {
        if (r[k].kind == ACKQ_REFUSED) {
            on_refusal(q, &r[k], scan);
            continue;
        }
        for (size_t i = 0; i < scan; i++) {
            struct ackq_entry *e = at(q, i);
            if (e->acked || e->worker != r[k].worker || e->boot_id != r[k].boot_id || e->first < r[k].first ||
                e->last > r[k].last)
                continue;
            /* the receiver read a copy of it: at least its first one, and everything sent before that */
            if (i < q->nsent && e->first_copy >= q->read_mark) q->read_mark = e->first_copy + 1;
            mark_done(q, i);
            q->acked += e->n;
            done += e->n;
        }
    }
    pop_done(q);
    plan_resends(q);
    return done;
}

void ackq_service(struct ackq *q, int64_t now_ns)
{
    for (int i = 0; i < 10000; i++) {
        struct bus_msg m;
        int rc = bus_recv(q->sock, &m, 0);
        if (rc <= 0) break;
        if (m.type == CW_MSG_ACK) (void)ackq_on_ack(q, m.data, m.len);
        else if (!q->on_other || !q->on_other(q->on_other_arg, &m)) q->acks_malformed++;
        bus_msg_release(&m);
    }
    spool_refill(q);
    resend_pass(q, now_ns);
    if (!q->resend_blocked) send_window(q, now_ns);
    plan_resends(q);
}

void ackq_set_other(struct ackq *q, bool (*fn)(void *arg, const struct bus_msg *m), void *arg)
{
    q->on_other = fn;
    q->on_other_arg = arg;
}

bool ackq_idle(const struct ackq *q) { return q->count == 0 && q->spool_read >= q->spool.end; }

uint64_t ackq_pending_results(const struct ackq *q)
{
    uint64_t n = 0;
    for (size_t i = 0; i < q->count; i++) n += at(q, i)->n;
    return n;
}

uint64_t ackq_spool_bytes(const struct ackq *q) { return q->spool.end - q->spool_read; }

int64_t ackq_next_deadline(const struct ackq *q) { return q->resend_at; }

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
