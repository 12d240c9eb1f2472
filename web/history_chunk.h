/* web/history_chunk.h — the reads of one chunk of endpoints for clockwerk-web's history (web/history_chunk.c),
 * shared by the snapshot (web/history_read.c, every configured endpoint, a chunk of ids at a time) and by one
 * endpoint's exact days (its detail). Internal to web/history_read.c and web/history_chunk.c. */
#ifndef CW_WEB_HISTORY_CHUNK_H
#define CW_WEB_HISTORY_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config/config.h"
#include "common/wire/lathist.h"
#include "history/window.h"
#include "storer/reader.h"
#include "web/history.h"

/* A latency histogram that remembers the buckets it touched, so that clearing and reading it costs what was
 * added, not LAT_BUCKETS (a chunk's endpoints each hold five of them). */
struct whist {
    uint64_t total;
    unsigned lo, hi; /* the buckets touched: [lo, hi]; lo > hi when none */
    uint64_t bucket[LAT_BUCKETS];
};

struct alert_ev {
    int64_t at_ms;
    bool down;
    size_t seq;    /* the order the database gave */
    char *message; /* owned */
};

#define CHUNK_TODAY WEB_WINDOWS /* the index of today's figures beside the windows' */

/* What one endpoint of the chunk gathers. */
struct ep_work {
    uint64_t checks[WEB_WINDOWS + 1], ok[WEB_WINDOWS + 1];
    struct whist lat[WEB_WINDOWS + 1];
    struct web_day days[WEB_DAYS]; /* exact; the past days' p95 set as their cells end */
    struct alert_ev *ev;
    size_t n_ev, cap_ev;
};

/* A configured endpoint the database knows. */
struct known {
    int64_t db_id;
    const struct cw_endpoint *ep;
};

/* The day whose cells are being added (the cells come ordered by endpoint and period, storer/reader.h): its
 * histogram is the merged one of its cells (one per location). */
struct day_acc {
    long k; /* -1: none */
    int day;
    struct whist lat;
};

struct snap_read {
    int64_t now_ms, today0, day0, hours_end;
    int64_t alerts_from; /* the alerts read: from here, plus each endpoint's last one before (its state then) */
    struct win_split split[WEB_WINDOWS];
    struct known *known; /* sorted by db_id */
    size_t n_known, cap_known;
    size_t lo, n;         /* the chunk: known[lo .. lo + n) */
    struct ep_work *work; /* n of them (at most the chunk's size) */
    bool reading_days;
    struct day_acc acc;
    int64_t *last_call_ms; /* per chunk entry: the push endpoint's last call (NULL: not read) */
};

/* The times of a read at now_ms: today's midnight, the bar's first day, the windows' cuts. */
void chunk_set_times(struct snap_read *s, int64_t now_ms);
/* Reads the chunk known[lo .. lo + n) into work (zeroed by the caller). */
int chunk_read(struct snap_read *s, const struct store_read_backend *b, struct store_reader *r, char *err,
               size_t errlen);
/* The chunk's endpoint k: its exact days, windows (packed into eh unless NULL), incidents and state (into eh) from
 * what it gathered; frees its events. */
void chunk_finish(struct snap_read *s, size_t k, struct web_ep_history *eh);
/* Clears work[0 .. n) for the next chunk (the histograms' touched buckets only). */
void chunk_clear(struct snap_read *s);

#endif
