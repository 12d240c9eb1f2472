/* alerter/statefile.h — the alerter's memory across restarts: endpoint states, alerts not yet fully
 * delivered, and the undelivered outbox jobs (their exact bytes), in one JSON file in run_dir.
 *
 * DESIGN
 * Written atomically (cw_write_file_atomic: temporary file, fsync, rename, fsync of the directory) by
 * statefile_save; what goes in is gathered by alerter/persist.c, and when it is written is decided by
 * alerter/savepolicy.c: at most one write per pass of the loop when a state changed or an alert was raised
 * or delivered, and at most one every few seconds for mere counter changes. Loading gives
 * back what was saved so that a restarted alerter neither repeats a DOWN for an endpoint already down, nor
 * forgets one that went down, and resends undelivered alerts as the same messages (same ids, same
 * Message-IDs).
 * What `clockwerk status` shows comes from this file too, read with this loader (alerter/status.c): "up" lists
 * the endpoints plainly up (left out of "endpoints": nothing to restore), so that status tells them from
 * endpoints never checked; "last_checked" and "up"'s "checked" say when each was last checked; the loader
 * reads all three as optional (files of older alerters lack them) and the alerter itself ignores them.
 * Format (version 1), documented in docs/alerts.md:
 *   {"version":1, "saved_at":"ISO", "endpoints":[{"url":..., "avail":..., ... astate fields, "last_checked":µs}],
 *    "up":[{"url":..., "checked":µs}],
 *    "alerts":[{"id":"hex", "kind":..., ...}], "jobs":[{"key":"hex", "channel":0|1, "target":...,
 *    "ids":["hex", ...], "payload":"...", "attempts":N, "sent_to":["addr", ...], "refused":["addr", ...]}]} */
#ifndef CW_ALERTER_STATEFILE_H
#define CW_ALERTER_STATEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alerter/alert.h"
#include "alerter/outbox.h"
#include "alerter/state.h"

#define STATEFILE_NAME "alerter.state"
#define STATEFILE_VERSION 1

struct statefile_endpoint {
    char *url;
    struct astate st;
    uint16_t last_status;
    int64_t last_latency_us;
    char *last_error;        /* "" when none */
    int64_t last_checked_us; /* checked_at of the last result applied; 0: none since the alerter started */
};

/* An endpoint plainly up (for `clockwerk status`; not restored). */
struct statefile_up {
    char *url;
    int64_t checked_us; /* checked_at of its last result */
};

struct statefile_job {
    uint64_t key;
    uint8_t channel;
    char *target; /* NULL for mail */
    uint64_t *ids;
    size_t n_ids;
    char *payload;
    size_t payload_len;
    uint32_t attempts;
    struct outbox_rcpts sent;    /* mail: recipients that have it ("sent_to"; may be missing: none) */
    struct outbox_rcpts refused; /* mail: recipients that refused it for good ("refused"; may be missing) */
};

/* What the caller saves or gets back. For saving, the caller fills the arrays with pointers into its own
 * data (nothing is freed); statefile_load fills them with copies the caller owns (statefile_data_free). */
struct statefile_data {
    int64_t saved_at_us; /* load only: "saved_at" (0 when missing or unreadable); a save writes the time now */
    struct statefile_endpoint *eps;
    size_t n_eps;
    struct statefile_up *up;
    size_t n_up;
    struct alert_rec **alerts;
    bool *alert_held; /* per alert: still in the grouping window, no job yet */
    size_t n_alerts;
    struct statefile_job *jobs;
    size_t n_jobs;
};

/* Writes d to path atomically. Returns 0, or -1 with a one-line reason in err. */
int statefile_save(const char *path, const struct statefile_data *d, char *err, size_t errlen);

/* Reads path into d (zeroed first). Returns 1 when loaded, 0 when there is no file, -1 with a reason in err
 * when it is unreadable or malformed (d is then empty). */
int statefile_load(const char *path, struct statefile_data *d, char *err, size_t errlen);

/* Frees what statefile_load allocated. */
void statefile_data_free(struct statefile_data *d);

#endif
