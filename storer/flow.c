/* storer/flow.c — the path of a sealed batch (see main.c's header): into the held queue, or into the spool
 * while the database is away; written one transaction each, held batches first, then the spool replayed;
 * acks marked as each becomes durable. */
#include <inttypes.h>
#include <stdio.h>

#include "common/base/clock.h"
#include "common/base/log.h"
#include "storer/storer.h"

static int spool_emit(void *ctx, const void *payload, size_t len)
{
    struct storer *s = ctx;
    char err[256];
    if (store_spool_append(s->spool, payload, len, err, sizeof err) != 0) {
        if (ratelimit_allow(&s->rl_spool, cw_mono_ns())) log_error("%s", err);
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
    if (!s->spool_dirty_since) s->spool_dirty_since = cw_mono_ns();
    ackgather_mark(&s->acks, batch_no, ACKGATHER_HELD); /* durable, and acked, after the next sync */
    return 0;
}

/* Syncs the spool; on success what was spooled is ready to ack. */
static void sync_spool(struct storer *s, bool rate_limited)
{
    char err[256];
    if (store_spool_sync(s->spool, err, sizeof err) != 0) {
        if (!rate_limited || ratelimit_allow(&s->rl_spool, cw_mono_ns())) log_error("%s", err);
        /* After a failed sync the kernel may have dropped those pages: a later sync that succeeds proves
         * nothing about them. So what waited for this sync is never acked (moved to SENT: dropped at the next
         * flush without a message): its senders resend it, and the resend is spooled or written again (a
         * duplicate is a no-op). The sync is tried again after SPOOL_SYNC_EVERY_NS. */
        ackgather_move(&s->acks, ACKGATHER_HELD, ACKGATHER_SENT);
        s->spool_dirty_since = cw_mono_ns();
        return;
    }
    ackgather_move(&s->acks, ACKGATHER_HELD, ACKGATHER_READY);
    s->spool_dirty_since = 0;
}

void storer_sync_spool(struct storer *s) { sync_spool(s, true); }

size_t storer_spool_everything(struct storer *s)
{
    size_t lost = 0;
    for (const struct held_batch *h; (h = held_front(&s->held)) != NULL; held_pop(&s->held))
        if (spool_batch(s, h->batch, h->no) != 0) lost += store_batch_rows(h->batch);
    if (spool_batch(s, &s->cur, s->cur_no) != 0) lost += store_batch_rows(&s->cur);
    store_batch_clear(&s->cur);
    s->cur_no++;
    sync_spool(s, false);
    return lost;
}

void storer_seal(struct storer *s, int64_t now, bool force)
{
    size_t rows = store_batch_rows(&s->cur);
    bool old = now - s->cur_first >= BATCH_AGE_NS;
    if (rows == 0 || (!force && rows < BATCH_ROWS && !old)) return;
    /* while the database is away, to the spool at once: it is durable after the next sync, and acked */
    if ((!s->db.db || s->held.rows + rows > HOLD_MAX_ROWS) && spool_batch(s, &s->cur, s->cur_no) == 0) {
        store_batch_clear(&s->cur);
        s->cur_no++;
        return;
    }
    /* (a spool that cannot be written leaves the batch in memory, over the bound, rather than losing it) */
    held_push(&s->held, &s->cur, s->cur_no++);
}

void storer_connect(struct storer *s, int64_t now)
{
    char err[512];
    if (dbconn_open(&s->db, s->p.cfg, now, err, sizeof err) == STORE_FATAL) storer_die(s, 2, "database: %s", err);
}

bool storer_work_pending(const struct storer *s)
{
    return s->db.db && (s->held.count || store_spool_pending(s->spool));
}

/* Writes one batch; false when the database went away (the batch stays with the caller). */
static bool write_one(struct storer *s, struct store_batch *b, int64_t *now)
{
    char err[512] = "";
    int64_t t0 = cw_mono_ns();
    rawkeep_mark(&s->raw, b); /* database.raw: which checks are raw rows, which are folded (storer/rawkeep.h) */
    int rc = s->db.be->write_batch(s->db.db, b, err, sizeof err);
    *now = cw_mono_ns();
    if (rc == STORE_OK) {
        rawkeep_commit(&s->raw, b);
        s->c.stored += store_batch_rows(b);
        s->c.batches++;
        s->c.last_batch_ms = (*now - t0) / 1000000;
        dbconn_write_ok(&s->db, s->held.rows, store_spool_pending(s->spool));
        return true;
    }
    s->c.write_errors++;
    if (rc == STORE_FATAL) storer_die(s, 1, "cannot store a batch of %zu rows: %s", store_batch_rows(b), err);
    dbconn_lost(&s->db, err, *now);
    return false;
}

/* Replays the spool chunk by chunk until it is empty, the database goes away or the budget is spent. */
static void replay_spool(struct storer *s, int64_t start, int64_t now, int64_t budget)
{
    while (s->db.db && store_spool_pending(s->spool)) {
        char err[256];
        store_batch_clear(&s->replay);
        if (store_spool_read(s->spool, &s->replay, REPLAY_ROWS, &s->c.malformed, err, sizeof err) != 0)
            storer_die(s, 1, "%s", err);
        store_batch_locate(&s->replay, 0, s->p.cfg->location); /* a record spooled without its location */
        storer_maint_mark(&s->maint, &s->replay, 0);           /* the spool holds wire payloads: marked anew */
        if (store_batch_rows(&s->replay) > 0 && !write_one(s, &s->replay, &now)) return;
        s->c.replayed += store_batch_rows(&s->replay);
        store_spool_consume(s->spool);
        if (!store_spool_pending(s->spool)) log_info("spool replayed (%" PRIu64 " rows so far)", s->c.replayed);
        if (budget && now - start >= budget) return;
    }
}

void storer_write_pending(struct storer *s, int64_t budget, bool replay)
{
    int64_t now = cw_mono_ns(), start = now;
    for (const struct held_batch *h; s->db.db && (h = held_front(&s->held)) != NULL;) {
        if (!write_one(s, h->batch, &now)) return;
        ackgather_mark(&s->acks, h->no, ACKGATHER_READY);
        held_pop(&s->held);
        if (budget && now - start >= budget) return;
    }
    if (replay) replay_spool(s, start, now, budget);
}
