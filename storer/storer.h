/* storer/storer.h — the storer's state, shared by its files: main.c (setup, the loop, teardown), receive.c
 * (messages into the current batch: gaps counted, acks gathered) and flow.c (batches sealed, held, spooled,
 * written, replayed). The design is in main.c's header. */
#ifndef CW_STORER_STORER_H
#define CW_STORER_STORER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/bus/ackgather.h"
#include "common/bus/bus.h"
#include "common/proc/proc.h"
#include "common/wire/protocol.h"
#include "common/base/ratelimit.h"
#include "common/wire/seqgap.h"
#include "common/base/util.h"
#include "storer/batch.h"
#include "storer/dbconn.h"
#include "storer/held.h"
#include "storer/maint.h"
#include "storer/prune.h"
#include "storer/rawkeep.h"
#include "storer/spool.h"

#define BATCH_ROWS 500
#define BATCH_AGE_NS 200000000LL
#define HOLD_MAX_ROWS 100000
#define REPLAY_ROWS 2000
#define WRITE_BUDGET_NS 100000000LL /* writing held/spooled batches yields to receiving after this */
#define SPOOL_SYNC_EVERY_NS 1000000000LL
#define SENDERS_MAX 4096 /* (worker, boot_id) pairs followed for gaps; the least recent goes */

struct storer_counters {
    uint64_t received, stored, batches, malformed, spooled, replayed, write_errors;
    uint64_t wrong_location; /* results refused: a key sending another location's (config_key_admits) */
    uint64_t config_gets;    /* probe hosts' configuration requests sent here by mistake (dropped) */
    int64_t last_batch_ms;
};

struct storer {
    struct proc p; /* the skeleton: configuration, signals, bus, boot id */
    struct dbconn db;
    struct bus_socket *in, *pub; /* results and alerts (reliable); stats */
    struct cw_result *results;   /* CW_RESULT_BATCH_MAX, for decoding */
    struct cw_buf scratch;
    struct seqgap seqs;    /* gaps, missing and duplicates of the stats */
    struct ackgather acks; /* tagged with batch numbers */

    struct store_batch cur;    /* filling */
    int64_t cur_first;         /* when its first row came */
    uint64_t cur_no;           /* its number (acks wait for it) */
    struct held_queue held;    /* sealed, waiting for the database */
    struct store_batch replay; /* a chunk of the spool being written */
    struct store_spool *spool;
    int64_t spool_dirty_since; /* 0: nothing appended since the last sync */

    struct storer_maint maint; /* checks.maintenance from the configuration held (storer/maint.h) */
    struct rawkeep raw;        /* database.raw: the raw rows kept, the checks folded once (storer/rawkeep.h) */

    struct storer_counters c;
    struct ratelimit rl_malformed, rl_gap, rl_spool, rl_bus, rl_location;

    struct prune prune;      /* retention (storer/retention.c) */
    int64_t prune_last_step; /* monotonic */
    struct ratelimit rl_prune;
};

/* main.c: exits with code after saving what is held in memory to the spool. */
_Noreturn void storer_die(struct storer *s, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* receive.c: one message from the bus into the current batch (malformed ones counted, rate-limited log). */
void storer_receive(struct storer *s, const struct bus_msg *m, int64_t now);
/* receive.c: sends the acks that are ready, one message per sender. */
void storer_flush_acks(struct storer *s);

/* flow.c: seals the current batch when it is full, old enough (whether or not the database is up) or `force`:
 * into the held queue, or into the spool while the database is away or memory holds HOLD_MAX_ROWS already. */
void storer_seal(struct storer *s, int64_t now, bool force);
/* flow.c: connects (dbconn_open); exits 2 when the backend says STORE_FATAL. */
void storer_connect(struct storer *s, int64_t now);
/* flow.c: writes held batches, then (replay) replays the spool, for up to budget ns (0: no limit). */
void storer_write_pending(struct storer *s, int64_t budget, bool replay);
/* flow.c: syncs the spool; what it made durable becomes ready to ack. */
void storer_sync_spool(struct storer *s);
/* flow.c: moves everything held in memory (and the current batch) to the spool and syncs it. Returns the
 * rows that could not be spooled. */
size_t storer_spool_everything(struct storer *s);
/* flow.c: whether batches wait to be written (held, or in the spool) and the database is there. */
bool storer_work_pending(const struct storer *s);

/* retention.c: takes database.retention from the configuration held (at start and at a reload). */
void storer_prune_configure(struct storer *s);
/* retention.c: whether pruning may run now at all (database up, a backend that prunes, a finite retention). */
bool storer_prune_wanted(const struct storer *s);
/* retention.c: one pruning step when one is due and nothing waits to be written; busy: this loop turn
 * received a message (then a step at most every second). */
void storer_prune(struct storer *s, int64_t now, bool busy);

#endif
