/* storer/main.c — bin/clockwerk-storer: receives results and alerts over the bus and writes them to the
 * database in batched transactions, losing nothing while the database is away.
 *
 * DESIGN
 * One thread, one loop (the skeleton common/proc/proc.h: bus_wait on the results' socket and the signalfd):
 * receive (ROUTER, acknowledged) -> decode -> copy into the current batch (storer/receive.c) -> seal the batch at
 * ~500 rows or 200 ms after its first row -> write sealed batches, one transaction each, through the backend
 * table (storer/backend.h; storer/flow.c); the loop never knows which database it talks to. Between batches,
 * when nothing waits to be written, it runs one step of the retention's pruning (storer/retention.c).
 *
 * Outages (storer/dbconn.c): when the database cannot be opened or a write returns STORE_RETRY, the
 * connection is closed and reopened with backoff (0.5 s doubling to 10 s; reset only by a write that succeeds,
 * so a database that opens but refuses writes is not "back") while the loop keeps receiving.
 * Sealed batches are held in memory (storer/held.h) up to HOLD_MAX_ROWS; while the database is away, or
 * beyond that bound, they are appended to the spool (storer/spool.h, run_dir/storer.spool) as wire payloads.
 * Once the database is back, held batches are written first, then the spool is replayed chunk by chunk
 * (interleaved with receiving) and deleted. A spool left by a previous run is replayed at start. Writes are
 * idempotent (UNIQUE (worker, boot_id, seq), alerts upserted by alert_id), so a batch written twice after a
 * crash between commit and consume is stored once.
 *
 * Exit codes: 0 after SIGTERM (drain the socket until quiet for 200 ms or 5 s passed, write everything, or
 * spool it when the database is away); 2 when the backend says STORE_FATAL while opening, migrating or
 * syncing endpoints (wrong path or permissions, a schema newer than ours, an unusable driver: configuration
 * problems a restart cannot fix, so the supervisor does not restart); 1 when a write fails with STORE_FATAL
 * or on runtime failures (the supervisor restarts with backoff). Before any non-zero exit, what is held in
 * memory is spooled, so a restart replays it. A kill -9 loses nothing acknowledged: what was held in memory
 * was not acked yet, and its senders resend it.
 *
 * Acknowledged delivery (docs/protocol.md, common/bus/ackgather.h): every result's seq range is remembered with
 * its sender (the ROUTER's peer id), tagged with the number of the batch its row went into. When that batch
 * is committed, or appended to the spool and the spool synced, the ranges are acked to the sender in one
 * "ack" message per sender. While the database is away, sealed batches go straight to the spool (age or
 * size), so acks keep flowing and the workers' outboxes stay small. A duplicate (a resend) is added like any
 * row (the UNIQUE key makes it a no-op) and acked the same way. Alerts are acked the same way too, by
 * (alert_id, delivery-state version). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/clock.h"
#include "common/config/config.h"
#include "common/base/log.h"
#include "storer/epdiff.h"
#include "storer/storer.h"

#define STATS_EVERY_NS 1000000000LL
#define DRAIN_QUIET_NS 200000000LL
#define DRAIN_MAX_NS 5000000000LL
#define SHUTDOWN_REPLAY_NS 2000000000LL /* at SIGTERM, replay the spool for this long at most; the rest waits */
#define BUS_ERRORS_MAX 100              /* receive errors in a row before the storer gives up (exit 1) */

/* After SIGTERM: the socket is drained until it has been quiet for DRAIN_QUIET_NS, DRAIN_MAX_NS at most. */
struct drain {
    bool on;
    int64_t start, last_msg;
};

static void storer_free(struct storer *s)
{
    dbconn_close(&s->db);
    held_free(&s->held);
    ackgather_free(&s->acks);
    store_batch_free(&s->cur);
    store_batch_free(&s->replay);
    store_spool_close(s->spool);
    free(s->results);
    cw_buf_free(&s->scratch);
    seqgap_free(&s->seqs);
    prune_free(&s->prune);
    storer_maint_free(&s->maint);
    rawkeep_free(&s->raw);
    proc_close(&s->p); /* the bus, with its sockets, and the configuration */
}

_Noreturn void storer_die(struct storer *s, int code, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t lost = s->spool ? storer_spool_everything(s) : 0;
    if (lost) log_error("%zu results could not be saved to the spool and are lost", lost);
    storer_free(s);
    fatal(code, "%s", line);
}

/* ---- setup */

static void open_spool(struct storer *s)
{
    char path[4096], err[512];
    if ((size_t)snprintf(path, sizeof path, "%s/storer.spool", s->p.cfg->run_dir) >= sizeof path)
        storer_die(s, 2, "run_dir is too long");
    s->spool = store_spool_open(path, err, sizeof err);
    if (!s->spool) storer_die(s, 1, "%s", err);
    if (store_spool_pending(s->spool))
        log_info("found a spool of %" PRIu64 " bytes from a previous run: it is replayed once the database is up",
                 store_spool_bytes(s->spool));
}

static void open_sockets(struct storer *s)
{
    char err[512];
    s->in = bus_open(s->p.bus, BUS_RECV_RELIABLE, s->p.cfg->store_address, err, sizeof err);
    if (!s->in) storer_die(s, 1, "%s", err);
    if (s->p.cfg->publish_address) {
        s->pub = bus_open(s->p.bus, BUS_PUBLISH, s->p.cfg->publish_address, err, sizeof err);
        if (!s->pub) log_warn("no stats: %s", err);
    }
}

static void storer_init(struct storer *s)
{
    memset(s, 0, sizeof *s);
    proc_init(&s->p, &(struct proc_opts){ .name = "storer", .open_bus = true });
    s->rl_malformed.what = "malformed-message warnings";
    s->rl_gap.what = "gap warnings";
    s->rl_spool.what = "spool errors";
    s->rl_bus.what = "bus warnings";
    s->rl_location.what = "wrong-location warnings";
    s->rl_prune.what = "retention errors";
    store_batch_init(&s->cur);
    store_batch_init(&s->replay);
    seqgap_init(&s->seqs, SENDERS_MAX);
    ackgather_init(&s->acks);
    s->results = cw_xcalloc(CW_RESULT_BATCH_MAX, sizeof *s->results);
    prune_init(&s->prune, cw_mono_ns());
    storer_prune_configure(s);
    storer_maint_set(&s->maint, s->p.cfg);
    rawkeep_set(&s->raw, s->p.cfg);
    if (s->p.cfg->db_raw != CW_RAW_ALL)
        log_info("database.raw is %s: %s; the roll-ups count every check", config_raw_name(s->p.cfg->db_raw),
                 s->p.cfg->db_raw == CW_RAW_NONE ? "no raw rows are kept"
                                                 : "raw rows only for failed, slow and maintenance checks, state "
                                                   "changes and one check per endpoint an hour");

    const struct store_backend *be = store_backend_for(s->p.cfg->db_driver);
    if (!be || !be->open) storer_die(s, 2, "no backend for db_driver %d", (int)s->p.cfg->db_driver);
    dbconn_init(&s->db, be);
    if (!s->p.cfg->run_dir || !s->p.cfg->store_address)
        storer_die(s, 2, "the snapshot has no run_dir or store_address");
    open_spool(s);
    open_sockets(s);
}

/* ---- events */

/* Upserts the endpoints of cfg whose url, name or type old did not have (epdiff.h); returns how many. */
static size_t sync_changed(struct storer *s, const struct cw_config *old, const struct cw_config *cfg)
{
    char err[512];
    size_t *idx = cw_xmalloc((cfg->n_endpoints + 1) * sizeof *idx);
    size_t k = epdiff_changed(old->endpoints, old->n_endpoints, cfg->endpoints, cfg->n_endpoints, idx);
    struct cw_endpoint *rows = NULL;
    if (k && k < cfg->n_endpoints) { /* the rows' keys only: what sync_endpoints reads */
        rows = cw_xcalloc(k, sizeof *rows);
        for (size_t i = 0; i < k; i++) {
            rows[i].url = cfg->endpoints[idx[i]].url;
            rows[i].name = cfg->endpoints[idx[i]].name;
            rows[i].type = cfg->endpoints[idx[i]].type;
        }
    }
    free(idx);
    int rc = k ? s->db.be->sync_endpoints(s->db.db, rows ? rows : cfg->endpoints, k, err, sizeof err) : STORE_OK;
    free(rows);
    if (rc == STORE_FATAL) storer_die(s, 1, "cannot store endpoints: %s", err);
    if (rc != STORE_OK) dbconn_lost(&s->db, err, cw_mono_ns()); /* the reconnection registers every one */
    return k;
}

static void reload(struct storer *s)
{
    char err[512];
    int64_t t0 = cw_mono_ns(), c0 = cw_thread_cpu_ns();
    struct cw_config *old = proc_reload(&s->p, err, sizeof err);
    if (!old) {
        log_warn("reload: %s; keeping the previous configuration", err);
        return;
    }
    storer_maint_set(&s->maint, s->p.cfg);
    /* database.raw itself never changes here: the supervisor restarts the storer for that (reload.c) */
    if (s->p.cfg->db_raw != s->raw.mode)
        log_warn("reload: database.raw changed from %s to %s: it takes effect when the storer restarts",
                 config_raw_name(s->raw.mode), config_raw_name(s->p.cfg->db_raw));
    rawkeep_set(&s->raw, s->p.cfg); /* keeps its mode and each endpoint's state (old is freed below) */
    storer_prune_configure(s);
    const struct cw_config *cfg = s->p.cfg;
    if (s->db.db && s->db.be->bind) s->db.be->bind(s->db.db, cfg); /* its id cache moves to cfg's URLs */
    size_t synced = s->db.db ? sync_changed(s, old, cfg) : 0; /* without a connection, the next one registers all */
    config_free(old);
    log_info("reloaded: %zu endpoint%s, %zu new or renamed, in %.2f s (%.2f s CPU; a changed database or address takes "
             "a restart)",
             cfg->n_endpoints, cw_plural((long long)cfg->n_endpoints), synced, (double)(cw_mono_ns() - t0) / 1e9,
             (double)(cw_thread_cpu_ns() - c0) / 1e9);
}

static void publish_stats(struct storer *s)
{
    if (!s->pub) return;
    struct proc_stats st;
    proc_stats_begin(&st, "storer", 0, s->p.boot_id);
    proc_stats_add(&st, "received", (int64_t)s->c.received);
    proc_stats_add(&st, "stored", (int64_t)s->c.stored);
    proc_stats_add(&st, "batches", (int64_t)s->c.batches);
    proc_stats_add(&st, "malformed", (int64_t)s->c.malformed);
    proc_stats_add(&st, "wrong_location", (int64_t)s->c.wrong_location);
    proc_stats_add(&st, "gaps", (int64_t)s->seqs.gaps);
    proc_stats_add(&st, "missing", (int64_t)s->seqs.missing);
    proc_stats_add(&st, "seq_jumps", (int64_t)s->seqs.jumps);
    proc_stats_add(&st, "duplicates", (int64_t)s->seqs.repeats);
    proc_stats_add(&st, "held", (int64_t)(s->held.rows + store_batch_rows(&s->cur)));
    proc_stats_add(&st, "spooled", (int64_t)s->c.spooled);
    proc_stats_add(&st, "replayed", (int64_t)s->c.replayed);
    proc_stats_add(&st, "spool_bytes", (int64_t)store_spool_bytes(s->spool));
    proc_stats_add(&st, "write_errors", (int64_t)s->c.write_errors);
    proc_stats_add(&st, "last_batch_ms", s->c.last_batch_ms);
    proc_stats_add(&st, "db_up", s->db.db ? 1 : 0);
    proc_stats_add(&st, "acked", (int64_t)s->acks.acked);
    proc_stats_add(&st, "ack_messages", (int64_t)s->acks.ack_messages);
    proc_stats_add(&st, "acks_waiting", (int64_t)ackgather_pending(&s->acks));
    proc_stats_add(&st, "dropped_malformed", (int64_t)s->c.malformed);
    proc_stats_add(&st, "refused", (int64_t)s->acks.refused);
    proc_stats_add(&st, "bus_refused", (int64_t)bus_refused_clients(s->p.bus));
    proc_stats_add(&st, "pruned_raw", (int64_t)s->prune.total.raw);
    proc_stats_add(&st, "pruned_hourly", (int64_t)s->prune.total.hourly);
    proc_stats_add(&st, "pruned_daily", (int64_t)s->prune.total.daily);
    proc_stats_add(&st, "prune_longest_ms", s->prune.longest_ever_ns / 1000000);
    if (proc_stats_encode(&st, &s->scratch) != 0) return;
    if (bus_send(s->pub, CW_MSG_STATS, s->scratch.data, s->scratch.len) == BUS_ERROR &&
        ratelimit_allow(&s->rl_bus, cw_mono_ns()))
        log_warn("cannot publish stats: %s", strerror(errno));
}

static void on_signals(struct storer *s, struct drain *d, int64_t now)
{
    unsigned sig = proc_signals(s->p.sigfd);
    if ((sig & PROC_SIG_TERM) && !d->on) {
        *d = (struct drain){ .on = true, .start = now, .last_msg = now };
        log_info("stopping: draining the socket");
    }
    if (sig & PROC_SIG_HUP) reload(s);
}

static void on_bus_error(struct storer *s, unsigned *errors, int64_t now)
{
    if (++*errors >= BUS_ERRORS_MAX)
        storer_die(s, 1, "cannot receive from %s: %s", s->p.cfg->store_address, strerror(errno));
    if (ratelimit_allow(&s->rl_bus, now)) log_warn("receive error: %s", strerror(errno));
}

/* ---- the loop */

/* When the loop must look again at the latest: the next stats, the current batch's age, the spool's sync
 * (then its acks), a reconnect, batches waiting to be written (at once), the end of a drain. */
static int wait_ms(const struct storer *s, const struct proc_period *stats, const struct drain *d, int64_t now)
{
    struct proc_wake w;
    proc_wake_init(&w, stats->next);
    if (store_batch_rows(&s->cur)) proc_wake_at(&w, s->cur_first + BATCH_AGE_NS);
    if (s->spool_dirty_since) proc_wake_at(&w, s->spool_dirty_since + SPOOL_SYNC_EVERY_NS);
    if (!s->db.db && !d->on) proc_wake_at(&w, s->db.reconnect_at);
    if (storer_work_pending(s)) proc_wake_at(&w, now);
    if (storer_prune_wanted(s) && !d->on) proc_wake_at(&w, prune_due_at(&s->prune));
    if (d->on) {
        proc_wake_at(&w, d->last_msg + DRAIN_QUIET_NS);
        proc_wake_at(&w, d->start + DRAIN_MAX_NS);
    }
    return proc_wake_ms(&w, now);
}

/* Receives and stores until SIGTERM and a drained socket. */
static void run(struct storer *s)
{
    struct proc_period stats;
    struct drain d = { 0 };
    unsigned bus_errors = 0;
    proc_period_start(&stats, cw_mono_ns(), STATS_EVERY_NS);
    storer_connect(s, cw_mono_ns());
    proc_ready(&s->p); /* the database open, or away and the spool taking the results: either way they are kept */
    for (;;) {
        int64_t now = cw_mono_ns();
        if (d.on && (now - d.last_msg >= DRAIN_QUIET_NS || now - d.start >= DRAIN_MAX_NS)) return;
        int ready = bus_wait(&s->in, 1, s->p.sigfd, wait_ms(s, &stats, &d, now));
        now = cw_mono_ns();
        if (ready < 0) on_bus_error(s, &bus_errors, now);
        if (ready > 0 && (ready & BUS_WAIT_FD)) on_signals(s, &d, now);
        struct bus_msg m;
        int got = ready > 0 && (ready & BUS_WAIT_SOCKET) ? bus_recv(s->in, &m, 0) : 0;
        if (got == 1) {
            storer_receive(s, &m, now);
            bus_msg_release(&m);
            d.last_msg = now;
            bus_errors = 0;
        } else if (got < 0) {
            on_bus_error(s, &bus_errors, now);
        }

        storer_seal(s, now, false);
        if (!d.on && dbconn_due(&s->db, now)) storer_connect(s, now); /* a connect may block */
        if (storer_work_pending(s)) storer_write_pending(s, WRITE_BUDGET_NS, true);
        now = cw_mono_ns();
        if (!d.on) storer_prune(s, now, got == 1);
        if (s->spool_dirty_since && now - s->spool_dirty_since >= SPOOL_SYNC_EVERY_NS) storer_sync_spool(s);
        storer_flush_acks(s);
        if (proc_period_due(&stats, now)) publish_stats(s);
    }
}

/* SIGTERM: write what is held; what cannot be written now goes to the spool for the next start. Returns the
 * rows lost (could not be spooled either). */
static size_t finish(struct storer *s)
{
    storer_seal(s, cw_mono_ns(), true);
    if (s->held.count && dbconn_due(&s->db, cw_mono_ns())) storer_connect(s, cw_mono_ns());
    if (s->db.db) storer_write_pending(s, 0, false);
    if (s->db.db && store_spool_pending(s->spool)) storer_write_pending(s, SHUTDOWN_REPLAY_NS, true);
    size_t lost = storer_spool_everything(s);
    storer_flush_acks(s);
    publish_stats(s);
    log_info("stopped: %" PRIu64 " received, %" PRIu64 " stored, %" PRIu64 " bytes left in the spool", s->c.received,
             s->c.stored, store_spool_bytes(s->spool));
    return lost;
}

int main(void)
{
    static struct storer storer;
    storer_init(&storer);
    run(&storer);
    size_t lost = finish(&storer);
    storer_free(&storer);
    if (lost) fatal(1, "%zu results could not be saved and are lost", lost);
    return 0;
}
