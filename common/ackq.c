/* common/ackq.c — the acknowledged outbox (see ackq.h): ring of unacked batches, window, resend, spool. */
#include "common/ackq.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/le.h"
#include "common/log.h"
#include "common/protocol.h"

#define ACK_RANGE_BYTES 28
#define SPOOL_HEADER 36
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
    if (len != 4 + n * ACK_RANGE_BYTES) return *why = len < 4 + n * ACK_RANGE_BYTES ? "truncated" : "trailing bytes", -1;
    if (n > max) return *why = "too many ranges", -1;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *rec = p + 4 + i * ACK_RANGE_BYTES;
        out[i] = (struct ackq_range){ le_get_u32(rec), le_get_u64(rec + 4), le_get_u64(rec + 12), le_get_u64(rec + 20) };
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

/* ---- the spool */

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
    if (q->spool_max_bytes && q->spool_fd >= 0 && q->spool_end + SPOOL_HEADER + len > q->spool_max_bytes)
        spool_make_room(q, SPOOL_HEADER + len);
    if (q->spool_fd < 0) {
        q->spool_fd = open(q->spool_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (q->spool_fd < 0) {
            spool_log_failure(q, "create");
            return -1;
        }
    }
    uint8_t h[SPOOL_HEADER];
    le_put_u32(h, (uint32_t)len);
    le_put_u32(h + 4, e->worker);
    le_put_u64(h + 8, e->boot_id);
    le_put_u64(h + 16, e->first);
    le_put_u64(h + 24, e->last);
    le_put_u32(h + 32, e->n);
    struct iovec iov[2] = { { h, sizeof h }, { (void *)data, len } };
    ssize_t want = (ssize_t)(sizeof h + len);
    ssize_t w = pwritev(q->spool_fd, iov, 2, (off_t)q->spool_end);
    if (w != want) {
        if (w >= 0) errno = ENOSPC;
        spool_log_failure(q, "write");
        return -1;
    }
    q->spool_end += (uint64_t)want;
    q->spool_failed_logged = false;
    return 0;
}

/* Scans the whole records of fd up to size: returns where the last whole one ends. */
static uint64_t spool_whole_end(int fd, uint64_t size, uint64_t *records)
{
    uint64_t off = 0;
    while (off + SPOOL_HEADER <= size) {
        uint8_t h[SPOOL_HEADER];
        if (pread(fd, h, sizeof h, (off_t)off) != (ssize_t)sizeof h) break;
        uint32_t len = le_get_u32(h);
        if (len > SPOOL_RECORD_MAX || off + SPOOL_HEADER + len > size) break;
        off += SPOOL_HEADER + len;
        if (records) (*records)++;
    }
    return off;
}

/* Copies bytes [from, to) of in to out at out_off. 0, or -1 with errno set. */
static int copy_range(int in, uint64_t from, uint64_t to, int out, uint64_t out_off)
{
    uint8_t buf[65536];
    while (from < to) {
        size_t n = to - from < sizeof buf ? (size_t)(to - from) : sizeof buf;
        ssize_t r = pread(in, buf, n, (off_t)from);
        if (r <= 0) {
            if (r == 0) errno = EIO;
            return -1;
        }
        if (pwrite(out, buf, (size_t)r, (off_t)out_off) != r) {
            if (errno == 0) errno = ENOSPC;
            return -1;
        }
        from += (uint64_t)r;
        out_off += (uint64_t)r;
    }
    return 0;
}

/* Replaces the spool file by: (with_memory) every unacked entry in memory, in ring order, then the unread
 * records [spool_read, spool_end). Synced, renamed over the old file. 0, or -1 (the old file is untouched). */
static int spool_rewrite(struct ackq *q, bool with_memory)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", q->spool_path) >= sizeof tmp) return errno = ENAMETOOLONG, -1;
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    uint64_t off = 0;
    for (size_t i = 0; with_memory && i < q->count; i++) {
        const struct ackq_entry *e = at(q, i);
        if (e->acked) continue;
        uint8_t h[SPOOL_HEADER];
        le_put_u32(h, (uint32_t)e->buf.len);
        le_put_u32(h + 4, e->worker);
        le_put_u64(h + 8, e->boot_id);
        le_put_u64(h + 16, e->first);
        le_put_u64(h + 24, e->last);
        le_put_u32(h + 32, e->n);
        struct iovec iov[2] = { { h, sizeof h }, { e->buf.data, e->buf.len } };
        ssize_t want = (ssize_t)(sizeof h + e->buf.len);
        ssize_t w = pwritev(fd, iov, 2, (off_t)off);
        if (w != want) {
            if (w >= 0) errno = ENOSPC;
            goto fail;
        }
        off += (uint64_t)want;
    }
    if (q->spool_fd >= 0 && copy_range(q->spool_fd, q->spool_read, q->spool_end, fd, off) != 0) goto fail;
    off += q->spool_fd >= 0 ? q->spool_end - q->spool_read : 0;
    if (fdatasync(fd) != 0 || rename(tmp, q->spool_path) != 0) goto fail;
    if (q->spool_fd >= 0) close(q->spool_fd);
    q->spool_fd = fd;
    q->spool_read = 0;
    q->spool_end = off;
    /* what was read from the old file is no longer in the new one: those entries now live in memory only */
    for (size_t i = 0; i < q->count; i++) at(q, i)->from_spool = false;
    q->spool_outstanding = 0;
    if (off == 0) {
        if (unlink(q->spool_path) != 0 && errno != ENOENT)
            log_warn("cannot remove the spool %s: %s", q->spool_path, strerror(errno));
        close(fd);
        q->spool_fd = -1;
    }
    return 0;
fail:;
    int e = errno;
    close(fd);
    unlink(tmp);
    errno = e;
    return -1;
}

/* The disk bound is reached: drops the oldest unread records until the file (rewritten) holds at most
 * half the bound with room for `want` more bytes. */
static void spool_make_room(struct ackq *q, uint64_t want)
{
    uint64_t target = q->spool_max_bytes / 2, dropped = 0, batches = 0;
    while (q->spool_read < q->spool_end && q->spool_end - q->spool_read + want > target) {
        uint8_t h[SPOOL_HEADER];
        if (pread(q->spool_fd, h, sizeof h, (off_t)q->spool_read) != (ssize_t)sizeof h) {
            q->spool_read = q->spool_end; /* unreadable: drop the rest */
            break;
        }
        uint32_t len = le_get_u32(h);
        if (len > SPOOL_RECORD_MAX || q->spool_read + SPOOL_HEADER + len > q->spool_end) {
            q->spool_read = q->spool_end;
            break;
        }
        dropped += le_get_u32(h + 32);
        batches++;
        q->spool_read += SPOOL_HEADER + len;
    }
    q->dropped += dropped;
    q->spool_full_dropped += dropped;
    log_error("the spool %s for the %s reached its bound of %llu bytes: the oldest %llu results (%llu batches) are "
              "DROPPED (%llu dropped so far)", q->spool_path, q->name, (unsigned long long)q->spool_max_bytes,
              (unsigned long long)dropped, (unsigned long long)batches, (unsigned long long)q->spool_full_dropped);
    if (spool_rewrite(q, false) != 0)
        log_error("cannot rewrite the spool %s: %s (it stays over its bound)", q->spool_path, strerror(errno));
}

static void spool_reset_if_done(struct ackq *q)
{
    if (q->spool_fd < 0 || q->spool_read < q->spool_end || q->spool_outstanding) return;
    if (unlink(q->spool_path) != 0 && errno != ENOENT)
        log_warn("cannot remove the spool %s: %s", q->spool_path, strerror(errno));
    close(q->spool_fd);
    q->spool_fd = -1;
    q->spool_read = q->spool_end = 0;
}

/* Reads spool records into memory while memory is below 3/4 of the bound. */
static void spool_refill(struct ackq *q)
{
    while (q->spool_fd >= 0 && q->spool_read < q->spool_end && q->mem_bytes < q->max_bytes / 4 * 3) {
        uint8_t h[SPOOL_HEADER];
        if (pread(q->spool_fd, h, sizeof h, (off_t)q->spool_read) != (ssize_t)sizeof h) goto bad;
        uint32_t len = le_get_u32(h);
        if (len > SPOOL_RECORD_MAX || q->spool_read + SPOOL_HEADER + len > q->spool_end) goto bad;
        struct ackq_entry *e = ring_append(q);
        e->worker = le_get_u32(h + 4);
        e->boot_id = le_get_u64(h + 8);
        e->first = le_get_u64(h + 16);
        e->last = le_get_u64(h + 24);
        e->n = le_get_u32(h + 32);
        e->from_spool = true;
        cw_buf_reserve(&e->buf, len);
        if (pread(q->spool_fd, e->buf.data, len, (off_t)(q->spool_read + SPOOL_HEADER)) != (ssize_t)len) {
            q->count--;
            goto bad;
        }
        e->buf.len = len;
        q->mem_bytes += len;
        q->spool_read += SPOOL_HEADER + len;
        q->spool_outstanding++;
        q->replayed += e->n;
    }
    spool_reset_if_done(q);
    return;
bad:
    log_error("the spool %s for the %s is unreadable at offset %llu (%s): the rest of it is dropped", q->spool_path,
              q->name, (unsigned long long)q->spool_read, strerror(errno));
    q->spool_read = q->spool_end;
    spool_reset_if_done(q);
}

/* Opens a predecessor's spool: its whole records become unread; a record cut short at the end is ignored. */
static int spool_open_existing(struct ackq *q, char *err, size_t errlen)
{
    int fd = open(q->spool_path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return 0;
        snprintf(err, errlen, "cannot open %s: %s", q->spool_path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "cannot stat %s: %s", q->spool_path, strerror(errno));
        close(fd);
        return -1;
    }
    uint64_t size = (uint64_t)st.st_size, records = 0;
    uint64_t off = spool_whole_end(fd, size, &records);
    if (off < size) log_warn("spool %s: %llu bytes at the end are not a whole record (ignored)", q->spool_path,
                             (unsigned long long)(size - off));
    q->spool_fd = fd;
    q->spool_read = 0;
    q->spool_end = off;
    if (records) log_info("replaying %llu batches for the %s left in %s by a previous run", (unsigned long long)records,
                          q->name, q->spool_path);
    spool_reset_if_done(q);
    return 0;
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
    q->spool_fd = -1;
    if (spool_path) {
        q->spool_path = cw_xstrdup(spool_path);
        if (spool_open_existing(q, err, errlen) != 0) {
            free(q->spool_path);
            q->spool_path = NULL;
            return -1;
        }
    }
    return 0;
}

void ackq_free(struct ackq *q)
{
    for (size_t i = 0; i < q->cap; i++) cw_buf_free(&q->ring[i].buf);
    free(q->ring);
    q->ring = NULL;
    q->count = q->cap = q->head = 0;
    if (q->spool_fd >= 0) close(q->spool_fd);
    q->spool_fd = -1;
    free(q->spool_path);
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
    bool spool_first = q->spool_fd >= 0 && q->spool_read < q->spool_end; /* keep the order */
    if (spool_first || (q->mem_bytes + len > q->max_bytes && q->count > 0)) {
        if (spool_append(q, &key, data, len) == 0) {
            if (q->spooled == 0 || !spool_first)
                log_warn("the %s is behind: %zu results (%zu bytes) unacknowledged in memory; spooling to %s",
                         q->name, (size_t)ackq_pending_results(q), q->mem_bytes, q->spool_path);
            q->spooled += n;
            return;
        }
        if (!spool_first || q->mem_bytes + len > q->max_bytes) {
            q->dropped += n;
            return;
        }
    }
    struct ackq_entry *e = ring_append(q);
    *e = (struct ackq_entry){ .buf = e->buf, .worker = worker, .boot_id = boot_id, .first = first, .last = last, .n = n };
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
            log_warn("malformed ack from the %s: %s (%llu so far)", q->name, why, (unsigned long long)q->acks_malformed);
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

bool ackq_idle(const struct ackq *q) { return q->count == 0 && q->spool_read >= q->spool_end; }

uint64_t ackq_pending_results(const struct ackq *q)
{
    uint64_t n = 0;
    for (size_t i = 0; i < q->count; i++) n += at(q, i)->n;
    return n;
}

uint64_t ackq_spool_bytes(const struct ackq *q) { return q->spool_end - q->spool_read; }

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
        if (q->spool_path) log_error("cannot rewrite the spool %s: %s (appending instead)", q->spool_path, strerror(errno));
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
    if (q->spool_fd >= 0 && fdatasync(q->spool_fd) != 0)
        log_warn("cannot sync the spool %s: %s", q->spool_path, strerror(errno));
    return lost;
}

void ackq_set_spool_max(struct ackq *q, uint64_t max_bytes) { q->spool_max_bytes = max_bytes; }

long ackq_adopt_spool(struct ackq *q, const char *orphan_path, char *err, size_t errlen)
{
    if (!q->spool_path) {
        snprintf(err, errlen, "no spool of our own to adopt %s into", orphan_path);
        return -1;
    }
    int in = open(orphan_path, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        if (errno == ENOENT) return 0;
        snprintf(err, errlen, "cannot open %s: %s", orphan_path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(in, &st) != 0) {
        snprintf(err, errlen, "cannot stat %s: %s", orphan_path, strerror(errno));
        close(in);
        return -1;
    }
    uint64_t end = spool_whole_end(in, (uint64_t)st.st_size, NULL), off = 0;
    long batches = 0;
    struct cw_buf b = { 0 };
    while (off < end) {
        uint8_t h[SPOOL_HEADER];
        if (pread(in, h, sizeof h, (off_t)off) != (ssize_t)sizeof h) goto rd;
        uint32_t len = le_get_u32(h);
        struct ackq_entry key = { .worker = le_get_u32(h + 4), .boot_id = le_get_u64(h + 8), .first = le_get_u64(h + 16),
                                  .last = le_get_u64(h + 24), .n = le_get_u32(h + 32) };
        cw_buf_reset(&b);
        cw_buf_reserve(&b, len);
        if (pread(in, b.data, len, (off_t)(off + SPOOL_HEADER)) != (ssize_t)len) goto rd;
        if (spool_append(q, &key, b.data, len) != 0) {
            snprintf(err, errlen, "cannot append %s to %s: %s", orphan_path, q->spool_path, strerror(errno));
            goto fail;
        }
        off += SPOOL_HEADER + len;
        batches++;
    }
    cw_buf_free(&b);
    close(in);
    if (q->spool_fd >= 0 && fdatasync(q->spool_fd) != 0) {
        snprintf(err, errlen, "cannot sync %s: %s", q->spool_path, strerror(errno));
        return -1;
    }
    if (unlink(orphan_path) != 0 && errno != ENOENT)
        log_warn("cannot remove the adopted spool %s: %s (it would be resent once more)", orphan_path, strerror(errno));
    return batches;
rd:
    snprintf(err, errlen, "cannot read %s: %s", orphan_path, errno ? strerror(errno) : "short read");
fail:
    cw_buf_free(&b);
    close(in);
    return -1;
}
