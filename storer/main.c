/* storer/main.c — bin/clockwerk-storer: receives results and alerts over the bus and writes them to the
 * database in batched transactions, losing nothing while the database is away.
 *
 * DESIGN
 * One thread, one loop: receive (PULL, reliable) -> decode -> copy into the current batch -> seal the batch
 * at ~500 rows or 200 ms after its first row -> write sealed batches, one transaction each, through the
 * backend table (storer/backend.h); the loop never knows which database it talks to.
 *
 * Outages: when the database cannot be opened or a write returns STORE_RETRY, the connection is closed and
 * reopened with backoff (0.5 s doubling to 10 s) while the loop keeps receiving. Sealed batches are held in
 * memory up to HOLD_MAX_ROWS; beyond that they are appended to the spool (storer/spool.h, run_dir/
 * storer.spool) as wire payloads. Once the database is back, held batches are written first, then the spool
 * is replayed chunk by chunk (interleaved with receiving) and deleted. A spool left by a previous run is
 * replayed at start. Writes are idempotent (UNIQUE (worker, boot_id, seq), alerts upserted by alert_id), so a
 * batch written twice after a crash between commit and consume is stored once.
 *
 * Exit codes: 0 after SIGTERM (drain the socket until quiet for 200 ms or 5 s passed, write everything, or
 * spool it when the database is away); 2 when the backend says STORE_FATAL while opening, migrating or
 * syncing endpoints (wrong path or permissions, a schema newer than ours, an unusable driver: configuration
 * problems a restart cannot fix, so the supervisor does not restart); 1 when a write fails with STORE_FATAL
 * or on runtime failures (the supervisor restarts with backoff). Before any non-zero exit, what is held in
 * memory is spooled, so a restart replays it. A kill -9 loses what was held in memory only (until delivery
 * is acknowledged end to end, a later step).
 *
 * Acknowledged delivery (docs/protocol.md, common/ackq.h): every result message is remembered with its sender
 * (the ROUTER's peer id) and its seq ranges, tagged with the number of the batch its rows went into. When
 * that batch is committed, or appended to the spool and the spool synced, the ranges are acked to the
 * sender in one "ack" message per sender. While the database is away, sealed batches go straight to the
 * spool (age or size), so acks keep flowing and the workers' outboxes stay small. A duplicate (a resend)
 * is added like any row (the UNIQUE key makes it a no-op) and acked the same way. Alerts are not acked.
 * The bookkeeping of those acks is storer/acks.c. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ackq.h"
#include "common/bus.h"
#include "common/bus_keys.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/log.h"
#include "common/protocol.h"
#include "common/util.h"
#include "storer/acks.h"
#include "storer/backend.h"
#include "storer/batch.h"
#include "storer/spool.h"

#define BATCH_ROWS 500
#define BATCH_AGE_US 200000
#define HOLD_MAX_ROWS 100000
#define REPLAY_ROWS 2000
#define WRITE_BUDGET_US 100000      /* writing held/spooled batches yields to receiving after this */
#define BACKOFF_MIN_US 500000
#define BACKOFF_MAX_US 10000000
#define STATS_EVERY_US 1000000
#define DRAIN_QUIET_US 200000
#define DRAIN_MAX_US 5000000
#define SHUTDOWN_REPLAY_US 2000000  /* at SIGTERM, replay the spool for this long at most; the rest waits */
#define SPOOL_SYNC_EVERY_US 1000000

static volatile sig_atomic_t got_term;
static volatile sig_atomic_t got_hup;

static void on_signal(int sig)
{
    if (sig == SIGTERM) got_term = 1;
    else if (sig == SIGHUP) got_hup = 1;
}

/* At most a few lines per 10 s of one kind, then a count of what was left out. */
struct ratelimit {
    int64_t window_us;
    unsigned lines;
    uint64_t suppressed;
    const char *what;
};

static bool rl_allow(struct ratelimit *rl, int64_t now)
{
    if (now - rl->window_us >= 10000000) {
        if (rl->suppressed)
            log_warn("%" PRIu64 " more %s not logged in the last 10 s", rl->suppressed, rl->what);
        rl->window_us = now;
        rl->lines = 0;
        rl->suppressed = 0;
    }
    if (rl->lines < 5) {
        rl->lines++;
        return true;
    }
    rl->suppressed++;
    return false;
}

/* (worker, boot_id) -> last seq seen, to count gaps and duplicates. */
struct seq_entry {
    uint64_t boot_id;  /* 0: empty slot (boot ids are never 0) */
    uint32_t worker;
    uint64_t last;
};
struct seq_table {
    struct seq_entry *slots;
    size_t cap, n;
};

static size_t seq_slot(const struct seq_table *t, uint32_t worker, uint64_t boot_id)
{
    uint64_t h = (boot_id ^ ((uint64_t)worker * 0x9E3779B97F4A7C15ull)) * 0xFF51AFD7ED558CCDull;
    size_t i = (size_t)(h >> 17) & (t->cap - 1);
    while (t->slots[i].boot_id && (t->slots[i].boot_id != boot_id || t->slots[i].worker != worker))
        i = (i + 1) & (t->cap - 1);
    return i;
}

/* The entry for (worker, boot_id); *fresh says whether it was just created (last = 0). */
static struct seq_entry *seq_get(struct seq_table *t, uint32_t worker, uint64_t boot_id, bool *fresh)
{
    if ((t->n + 1) * 2 > t->cap) {
        struct seq_table old = *t;
        t->cap = old.cap ? old.cap * 2 : 64;
        t->slots = cw_xcalloc(t->cap, sizeof *t->slots);
        t->n = 0;
        for (size_t i = 0; i < old.cap; i++)
            if (old.slots[i].boot_id) {
                t->slots[seq_slot(t, old.slots[i].worker, old.slots[i].boot_id)] = old.slots[i];
                t->n++;
            }
        free(old.slots);
    }
    size_t i = seq_slot(t, worker, boot_id);
    *fresh = t->slots[i].boot_id == 0;
    if (*fresh) {
        t->slots[i] = (struct seq_entry){ .boot_id = boot_id, .worker = worker, .last = 0 };
        t->n++;
    }
    return &t->slots[i];
}

struct counters {
    uint64_t received, stored, batches, malformed, gaps, missing, duplicates, spooled, replayed, write_errors;
    int64_t last_batch_ms;
};

struct storer {
    char *snapshot_path;
    struct cw_config *cfg;
    const struct store_backend *be;
    struct store_db *db;
    bool db_was_up;
    bool db_down_logged;
    int64_t reconnect_at;
    int64_t backoff;

    struct store_batch cur;
    int64_t cur_first;
    struct store_batch **held;     /* FIFO of sealed batches waiting for the database */
    uint64_t *held_no;             /* their batch numbers */
    size_t n_held, cap_held;
    uint64_t cur_no;               /* number of the current batch (acks wait for it) */
    struct store_acks acks;
    size_t held_rows;
    struct store_batch *spare[4];  /* emptied batches kept for reuse */
    size_t n_spare;
    struct store_batch replay;     /* a chunk of the spool being written */

    struct store_spool *spool;
    int64_t spool_dirty_since;     /* 0: nothing appended since the last sync */

    struct bus *bus;
    struct bus_socket *in, *pub;
    struct cw_result *results;     /* CW_RESULT_BATCH_MAX, for decoding */
    struct cw_buf scratch;
    struct seq_table seqs;
    struct counters c;
    uint64_t boot_id;
    int64_t next_stats;
    struct ratelimit rl_malformed, rl_gap, rl_db, rl_spool, rl_bus;
};

static struct store_batch *batch_take(struct storer *s)
{
    if (s->n_spare) return s->spare[--s->n_spare];
    struct store_batch *b = cw_xmalloc(sizeof *b);
    store_batch_init(b);
    return b;
}

static void batch_give(struct storer *s, struct store_batch *b)
{
    store_batch_clear(b);
    if (s->n_spare < sizeof s->spare / sizeof s->spare[0]) {
        s->spare[s->n_spare++] = b;
    } else {
        store_batch_free(b);
        free(b);
    }
}

static int spool_emit(void *ctx, const void *payload, size_t len)
{
    struct storer *s = ctx;
    char err[256];
    if (store_spool_append(s->spool, payload, len, err, sizeof err) != 0) {
        if (rl_allow(&s->rl_spool, cw_mono_us())) log_error("%s", err);
        return -1;
    }
    return 0;
}

/* Appends a whole batch to the spool. 0, or -1 (then nothing of it counts as spooled; records that did
 * reach the file are harmless: writes are idempotent). */
static int spool_batch(struct storer *s, const struct store_batch *b, uint64_t batch_no)
{
    if (store_batch_rows(b) == 0) return 0;
    if (store_batch_encode(b, &s->scratch, spool_emit, s) != 0) return -1;
    s->c.spooled += store_batch_rows(b);
    if (!s->spool_dirty_since) s->spool_dirty_since = cw_mono_us();
    store_acks_mark(&s->acks, batch_no, STORE_ACK_SPOOLED);
    return 0;
}

/* Moves everything held in memory (and the current batch) to the spool and syncs it: before exiting
 * while the database is away. Returns the number of rows that could not be spooled. */
static size_t spool_everything(struct storer *s)
{
    size_t lost = 0;
    for (size_t i = 0; i < s->n_held; i++) {
        if (spool_batch(s, s->held[i], s->held_no[i]) != 0) lost += store_batch_rows(s->held[i]);
        batch_give(s, s->held[i]);
    }
    s->n_held = 0;
    s->held_rows = 0;
    if (spool_batch(s, &s->cur, s->cur_no) != 0) lost += store_batch_rows(&s->cur);
    store_batch_clear(&s->cur);
    s->cur_no++;
    char err[256];
    if (store_spool_sync(s->spool, err, sizeof err) != 0) log_error("%s", err);
    else store_acks_spool_synced(&s->acks);
    s->spool_dirty_since = 0;
    return lost;
}

static void storer_free(struct storer *s)
{
    if (s->db) s->be->close(s->db);
    s->db = NULL;
    for (size_t i = 0; i < s->n_held; i++) {
        store_batch_free(s->held[i]);
        free(s->held[i]);
    }
    free(s->held);
    free(s->held_no);
    store_acks_free(&s->acks);
    for (size_t i = 0; i < s->n_spare; i++) {
        store_batch_free(s->spare[i]);
        free(s->spare[i]);
    }
    store_batch_free(&s->cur);
    store_batch_free(&s->replay);
    store_spool_close(s->spool);
    bus_free(s->bus);
    free(s->results);
    cw_buf_free(&s->scratch);
    free(s->seqs.slots);
    config_free(s->cfg);
    free(s->snapshot_path);
}

/* Exits with code after saving what is held in memory to the spool. */
static _Noreturn void storer_die(struct storer *s, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static _Noreturn void storer_die(struct storer *s, int code, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t lost = s->spool ? spool_everything(s) : 0;
    if (lost) log_error("%zu results could not be saved to the spool and are lost", lost);
    storer_free(s);
    fatal(code, "%s", line);
}

/* ---- acks */

/* store_acks_send_fn: to the sender, over the results' socket. */
static void send_ack(void *ctx, const struct bus_peer *peer, const void *data, size_t len)
{
    struct storer *s = ctx;
    if (bus_send_to(s->in, peer, CW_MSG_ACK, data, len) == BUS_ERROR && rl_allow(&s->rl_bus, cw_mono_us()))
        log_warn("cannot send an ack: %s", strerror(errno));
}

/* ---- receiving */

static void track_seq(struct storer *s, const struct cw_result *r, int64_t now)
{
    bool fresh;
    struct seq_entry *e = seq_get(&s->seqs, r->worker, r->boot_id, &fresh);
    if (fresh || r->seq == e->last + 1) {
        e->last = r->seq;   /* the first result of a worker seen by this storer is not a gap */
    } else if (r->seq > e->last + 1) {
        uint64_t missing = r->seq - e->last - 1;
        s->c.gaps++;
        s->c.missing += missing;
        if (rl_allow(&s->rl_gap, now))
            log_warn("worker %" PRIu32 " boot %016" PRIx64 ": %" PRIu64 " results missing (seq %" PRIu64 "..%" PRIu64 ")",
                     r->worker, r->boot_id, missing, e->last + 1, r->seq - 1);
        e->last = r->seq;
    } else {
        s->c.duplicates++;  /* stored once anyway: the UNIQUE key ignores it */
    }
}

static void handle_message(struct storer *s, const struct bus_msg *m, int64_t now)
{
    const char *why = "unexpected message type";
    size_t before = store_batch_rows(&s->cur);
    if (m->type == CW_MSG_RESULT) {
        int n = proto_results_decode(m->data, m->len, s->results, CW_RESULT_BATCH_MAX, &why);
        for (int i = 0; i < n; i++) {
            const struct cw_result *r = &s->results[i];
            track_seq(s, r, now);
            store_batch_add_check(&s->cur, r);
            if (r->seq > 0) {
                struct ackq_range ar = { r->worker, r->boot_id, r->seq, r->seq };
                store_acks_add(&s->acks, &m->peer, &ar, s->cur_no);
            }
        }
        if (n > 0) s->c.received += (uint64_t)n;
        else goto malformed;
    } else if (m->type == CW_MSG_ALERT) {
        struct cw_alert a;
        if (proto_alert_decode(m->data, m->len, &a, &why) != 0) goto malformed;
        store_batch_add_alert(&s->cur, &a);
        s->c.received++;
        /* acked like results once durable: (ACKQ_ALERT_WORKER, alert_id, delivery-state version) */
        uint64_t v = ackq_alert_version(a.email_state, a.webhook_state);
        struct ackq_range ar = { ACKQ_ALERT_WORKER, a.alert_id, v, v };
        store_acks_add(&s->acks, &m->peer, &ar, s->cur_no);
    } else {
        if (m->type == CW_MSG_INVALID) why = "bad framing or unknown topic";
        goto malformed;
    }
    if (before == 0 && store_batch_rows(&s->cur) > 0) s->cur_first = now;
    return;
malformed:
    s->c.malformed++;
    if (rl_allow(&s->rl_malformed, now))
        log_warn("dropped a malformed %s message (%zu bytes): %s", proto_topic(m->type) ? proto_topic(m->type) : "bus",
                 m->len, why);
}

/* Seals the current batch when it is full, old enough (only while the database is up: while it is away,
 * batches fill up to BATCH_ROWS so that the held queue stays short), or `force`: into the held queue, or
 * into the spool when memory holds HOLD_MAX_ROWS already. */
static void seal(struct storer *s, int64_t now, bool force)
{
    size_t rows = store_batch_rows(&s->cur);
    bool old = now - s->cur_first >= BATCH_AGE_US;
    if (rows == 0 || (!force && rows < BATCH_ROWS && !old)) return;
    /* while the database is away, to the spool at once: it is durable after the next sync, and acked */
    if ((!s->db || s->held_rows + rows > HOLD_MAX_ROWS) && spool_batch(s, &s->cur, s->cur_no) == 0) {
        store_batch_clear(&s->cur);
        s->cur_no++;
        return;
    }
    /* (a spool that cannot be written leaves the batch in memory, over the bound, rather than losing it) */
    if (s->n_held == s->cap_held) {
        s->cap_held = s->cap_held ? s->cap_held * 2 : 64;
        s->held = cw_xrealloc(s->held, s->cap_held * sizeof *s->held);
        s->held_no = cw_xrealloc(s->held_no, s->cap_held * sizeof *s->held_no);
    }
    struct store_batch *b = batch_take(s);
    /* swap: the filled batch goes to the queue, an empty one becomes current */
    struct store_batch tmp = *b;
    *b = s->cur;
    s->cur = tmp;
    s->held_no[s->n_held] = s->cur_no++;
    s->held[s->n_held++] = b;
    s->held_rows += rows;
}

/* ---- the database */

static void db_lost(struct storer *s, const char *err, int64_t now, bool write_failed)
{
    if (write_failed) s->c.write_errors++;
    if (!s->db_down_logged || rl_allow(&s->rl_db, now))
        log_warn("database unavailable, holding results and retrying: %s", err);
    s->db_down_logged = true;
    if (s->db) s->be->close(s->db);
    s->db = NULL;
    s->reconnect_at = now + s->backoff;
    s->backoff = s->backoff * 2 > BACKOFF_MAX_US ? BACKOFF_MAX_US : s->backoff * 2;
}

static void try_connect(struct storer *s, int64_t now)
{
    char err[512] = "";
    int rc = STORE_RETRY;
    struct store_db *db = s->be->open(s->cfg, &rc, err, sizeof err);
    if (db) {
        rc = s->be->migrate(db, err, sizeof err);
        if (rc == STORE_OK)
            rc = s->be->sync_endpoints(db, s->cfg->endpoints, s->cfg->n_endpoints, err, sizeof err);
        if (rc != STORE_OK) {
            s->be->close(db);
            db = NULL;
        }
    } else if (rc == STORE_OK) {
        rc = STORE_RETRY; /* a backend that returns NULL must say why; treat it as transient */
    }
    if (rc == STORE_FATAL) storer_die(s, 2, "database: %s", err[0] ? err : "unusable (no reason given)");
    if (!db) {
        db_lost(s, err[0] ? err : "cannot connect", now, false);
        return;
    }
    s->db = db;
    s->backoff = BACKOFF_MIN_US;
    if (s->db_down_logged)
        log_info("database is back (%s): writing %zu held results%s", s->be->name, s->held_rows,
                 store_spool_pending(s->spool) ? " and replaying the spool" : "");
    else if (!s->db_was_up)
        log_info("storing to %s", s->be->name);
    s->db_down_logged = false;
    s->db_was_up = true;
}

/* Writes one batch; false when the database went away (the batch stays with the caller). */
static bool write_one(struct storer *s, const struct store_batch *b, int64_t *now)
{
    char err[512] = "";
    int64_t t0 = cw_mono_us();
    int rc = s->be->write_batch(s->db, b, err, sizeof err);
    *now = cw_mono_us();
    if (rc == STORE_OK) {
        s->c.stored += store_batch_rows(b);
        s->c.batches++;
        s->c.last_batch_ms = (*now - t0) / 1000;
        return true;
    }
    if (rc == STORE_FATAL) {
        s->c.write_errors++;
        storer_die(s, 1, "cannot store a batch of %zu rows: %s", store_batch_rows(b), err);
    }
    db_lost(s, err, *now, true);
    return false;
}

/* Writes held batches, then replays the spool, for up to budget_us (0: no limit for held batches, and
 * the spool is left alone). */
static void write_pending(struct storer *s, int64_t budget_us, bool replay)
{
    int64_t now = cw_mono_us(), start = now;
    while (s->db && s->n_held > 0) {
        struct store_batch *b = s->held[0];
        if (!write_one(s, b, &now)) return;
        s->held_rows -= store_batch_rows(b);
        store_acks_mark(&s->acks, s->held_no[0], STORE_ACK_READY);
        memmove(s->held, s->held + 1, (s->n_held - 1) * sizeof *s->held);
        memmove(s->held_no, s->held_no + 1, (s->n_held - 1) * sizeof *s->held_no);
        s->n_held--;
        batch_give(s, b);
        if (budget_us && now - start >= budget_us) return;
    }
    while (replay && s->db && store_spool_pending(s->spool)) {
        char err[256];
        store_batch_clear(&s->replay);
        if (store_spool_read(s->spool, &s->replay, REPLAY_ROWS, &s->c.malformed, err, sizeof err) != 0)
            storer_die(s, 1, "%s", err);
        if (store_batch_rows(&s->replay) > 0 && !write_one(s, &s->replay, &now)) return;
        s->c.replayed += store_batch_rows(&s->replay);
        store_spool_consume(s->spool);
        if (!store_spool_pending(s->spool)) log_info("spool replayed (%" PRIu64 " rows so far)", s->c.replayed);
        if (budget_us && now - start >= budget_us) return;
    }
}

/* ---- stats */

static void publish_stats(struct storer *s)
{
    if (!s->pub) return;
    struct cw_stats st = { .role = "storer", .id = 0, .boot_id = s->boot_id, .at_us = cw_wall_us() };
    const struct cw_stat items[] = {
        { "received", (int64_t)s->c.received },     { "stored", (int64_t)s->c.stored },
        { "batches", (int64_t)s->c.batches },       { "malformed", (int64_t)s->c.malformed },
        { "gaps", (int64_t)s->c.gaps },             { "missing", (int64_t)s->c.missing },
        { "duplicates", (int64_t)s->c.duplicates }, { "held", (int64_t)(s->held_rows + store_batch_rows(&s->cur)) },
        { "spooled", (int64_t)s->c.spooled },       { "replayed", (int64_t)s->c.replayed },
        { "spool_bytes", (int64_t)store_spool_bytes(s->spool) },
        { "write_errors", (int64_t)s->c.write_errors }, { "last_batch_ms", s->c.last_batch_ms },
        { "db_up", s->db ? 1 : 0 },
        { "acked", (int64_t)s->acks.acked },        { "ack_messages", (int64_t)s->acks.ack_messages },
        { "acks_waiting", (int64_t)s->acks.n },     { "dropped_malformed", (int64_t)s->c.malformed },
        { "bus_refused", (int64_t)bus_refused_clients(s->bus) },
    };
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) st.items[st.count++] = items[i];
    if (proto_stats_encode(&s->scratch, &st) != 0) return;
    if (bus_send(s->pub, CW_MSG_STATS, s->scratch.data, s->scratch.len) == BUS_ERROR && rl_allow(&s->rl_bus, cw_mono_us()))
        log_warn("cannot publish stats: %s", strerror(errno));
}

/* ---- setup and the loop */

static void reload(struct storer *s)
{
    char err[512];
    struct cw_config *cfg = config_snapshot_read(s->snapshot_path, 0, 0, err, sizeof err);
    if (!cfg) {
        log_warn("reload: %s; keeping the previous configuration", err);
        return;
    }
    config_free(s->cfg);
    s->cfg = cfg;
    log_set_level((enum log_level)cfg->log_level);
    if (s->db) {
        int rc = s->be->sync_endpoints(s->db, cfg->endpoints, cfg->n_endpoints, err, sizeof err);
        if (rc == STORE_FATAL) storer_die(s, 1, "cannot store endpoints: %s", err);
        if (rc != STORE_OK) db_lost(s, err, cw_mono_us(), false);
    }
    log_info("reloaded: %zu endpoints (a changed database or address takes a restart)", cfg->n_endpoints);
}

static void setup_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: a signal ends the wait in the loop */
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGHUP, &sa, NULL) != 0)
        fatal(1, "cannot install signal handlers: %s", strerror(errno));
    signal(SIGINT, SIG_IGN);  /* the supervisor orders the shutdown */
    signal(SIGPIPE, SIG_IGN);
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    log_init("storer", LOG_LVL_INFO);
    setup_signals();

    struct storer st, *s = &st;
    memset(s, 0, sizeof *s);
    s->rl_malformed.what = "malformed-message warnings";
    s->rl_gap.what = "gap warnings";
    s->rl_db.what = "database warnings";
    s->rl_spool.what = "spool errors";
    s->rl_bus.what = "bus warnings";

    const char *snap = getenv("CLOCKWERK_SNAPSHOT");
    if (!snap || !snap[0]) fatal(2, "CLOCKWERK_SNAPSHOT is not set (the storer is started by bin/clockwerk)");
    s->snapshot_path = cw_xstrdup(snap);
    char err[512];
    s->cfg = config_snapshot_read(snap, 0, 0, err, sizeof err);
    if (!s->cfg) {
        free(s->snapshot_path);
        fatal(2, "cannot read the configuration snapshot: %s", err);
    }
    log_init("storer", (enum log_level)s->cfg->log_level);
    s->be = store_backend_for(s->cfg->db_driver);
    if (!s->be || !s->be->open) storer_die(s, 2, "no backend for db_driver %d", (int)s->cfg->db_driver);
    if (!s->cfg->run_dir || !s->cfg->store_address) storer_die(s, 2, "the snapshot has no run_dir or store_address");

    char spool_path[4096];
    if ((size_t)snprintf(spool_path, sizeof spool_path, "%s/storer.spool", s->cfg->run_dir) >= sizeof spool_path)
        storer_die(s, 2, "run_dir is too long");
    s->spool = store_spool_open(spool_path, err, sizeof err);
    if (!s->spool) storer_die(s, 1, "%s", err);
    if (store_spool_pending(s->spool))
        log_info("found a spool of %" PRIu64 " bytes from a previous run: it is replayed once the database is up",
                 store_spool_bytes(s->spool));

    s->results = cw_xcalloc(CW_RESULT_BATCH_MAX, sizeof *s->results);
    store_acks_init(&s->acks);
    s->boot_id = cw_boot_id();
    s->backoff = BACKOFF_MIN_US;
    store_batch_init(&s->cur);
    store_batch_init(&s->replay);

    s->bus = bus_new_for(s->cfg, err, sizeof err);
    if (!s->bus) storer_die(s, s->cfg->curve_key_file ? 2 : 1, "%s", err);
    s->in = bus_open(s->bus, BUS_RECV_RELIABLE, s->cfg->store_address, err, sizeof err);
    if (!s->in) storer_die(s, 1, "%s", err);
    if (s->cfg->publish_address) {
        s->pub = bus_open(s->bus, BUS_PUBLISH, s->cfg->publish_address, err, sizeof err);
        if (!s->pub) log_warn("no stats: %s", err);
    }

    int64_t now = cw_mono_us();
    try_connect(s, now);
    s->next_stats = now + STATS_EVERY_US;

    bool draining = false;
    int64_t drain_start = 0, last_msg = 0;
    unsigned bus_errors = 0;
    for (;;) {
        now = cw_mono_us();
        if (got_term && !draining) {
            draining = true;
            drain_start = last_msg = now;
            log_info("stopping: draining the socket");
        }
        if (draining && (now - last_msg >= DRAIN_QUIET_US || now - drain_start >= DRAIN_MAX_US)) break;
        if (got_hup) {
            got_hup = 0;
            reload(s);
        }

        /* how long to wait for a message */
        int64_t wake = s->next_stats;
        if (store_batch_rows(&s->cur)) wake = min64(wake, s->cur_first + BATCH_AGE_US);
        if (s->spool_dirty_since) wake = min64(wake, s->spool_dirty_since + SPOOL_SYNC_EVERY_US); /* then ack */
        if (!s->db && !draining) wake = min64(wake, s->reconnect_at);
        if (s->db && (s->n_held || store_spool_pending(s->spool))) wake = now;
        if (draining) wake = min64(wake, min64(last_msg + DRAIN_QUIET_US, drain_start + DRAIN_MAX_US));
        int timeout_ms = wake <= now ? 0 : (int)((wake - now + 999) / 1000);

        struct bus_msg m;
        int n = bus_recv(s->in, &m, timeout_ms);
        now = cw_mono_us();
        if (n == 1) {
            handle_message(s, &m, now);
            bus_msg_release(&m);
            last_msg = now;
            bus_errors = 0;
        } else if (n < 0) {
            if (++bus_errors >= 100) storer_die(s, 1, "cannot receive from %s: %s", s->cfg->store_address, strerror(errno));
            if (rl_allow(&s->rl_bus, now)) log_warn("receive error: %s", strerror(errno));
        }

        seal(s, now, false);
        if (!s->db && !draining && now >= s->reconnect_at) try_connect(s, now); /* a connect may block */
        if (s->db && (s->n_held || store_spool_pending(s->spool))) write_pending(s, WRITE_BUDGET_US, true);
        now = cw_mono_us();
        if (s->spool_dirty_since && now - s->spool_dirty_since >= SPOOL_SYNC_EVERY_US) {
            if (store_spool_sync(s->spool, err, sizeof err) != 0) {
                if (rl_allow(&s->rl_spool, now)) log_error("%s", err);
            } else {
                store_acks_spool_synced(&s->acks);
            }
            s->spool_dirty_since = 0;
        }
        store_acks_flush(&s->acks, send_ack, s);
        if (now >= s->next_stats) {
            publish_stats(s);
            s->next_stats = now + STATS_EVERY_US;
        }
    }

    /* SIGTERM: write what is held; what cannot be written now goes to the spool for the next start. */
    seal(s, cw_mono_us(), true);
    if (!s->db && s->n_held && cw_mono_us() >= s->reconnect_at) try_connect(s, cw_mono_us());
    if (s->db) write_pending(s, 0, false);
    if (s->db && store_spool_pending(s->spool)) write_pending(s, SHUTDOWN_REPLAY_US, true);
    size_t lost = spool_everything(s);
    store_acks_flush(&s->acks, send_ack, s);
    publish_stats(s);
    log_info("stopped: %" PRIu64 " received, %" PRIu64 " stored, %" PRIu64 " bytes left in the spool",
             s->c.received, s->c.stored, store_spool_bytes(s->spool));
    storer_free(s);
    if (lost) fatal(1, "%zu results could not be saved and are lost", lost);
    return 0;
}
