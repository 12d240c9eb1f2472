/* alerter/statefile.h — the alerter's memory across restarts: endpoint states, alerts not yet fully
 * delivered, and the undelivered outbox jobs (their exact bytes), in one JSON file in run_dir.
 *
 * DESIGN
 * Two files (issue 18; the format in docs/alerts.md): the base, alerter.state, the whole state as one JSON object,
 * and its journal, alerter.state.journal (STATEJOURNAL_SUFFIX), one JSON line per save since the base was written:
 * the endpoints ("units") that changed, their new records, and the other sections that changed, whole. The base
 * says with "journal_from" which line comes first on top of it; a base without it (older alerters) has no journal.
 * statefile_load reads the base then replays the journal's lines in order (alerter/statefile_replay.c), so that
 * what it gives back is the last save; a torn last line (a crash mid-append) was never acknowledged and is left
 * out. A save appends a line and the base is rewritten now and then (alerter/statejournal.c: whole, or compacted
 * in chunks, with the text pieces of alerter/statefile_write.c); what goes in is gathered by alerter/persist.c, and when it is written is decided by alerter/savepolicy.c: at most one write per pass of the
 * loop when a state changed or an alert was raised or delivered, and at most one every few seconds for mere
 * counter changes. Loading gives
 * back what was saved so that a restarted alerter neither repeats a DOWN for an endpoint already down, nor
 * forgets one that went down, and resends undelivered alerts as the same messages (same ids, same
 * Message-IDs).
 * What `clockwerk status` shows comes from this file too, read with this loader (alerter/status.c). "plain"
 * says which of the endpoints left out of "endpoints" are plainly up (the others were never checked), as one
 * bit per endpoint in the alerter's configuration order with a fingerprint of that order: a few bytes per
 * hundred endpoints where a list of URLs would rewrite megabytes a second at 100,000 endpoints; and the newest
 * result of each worker slot, so that status sees a worker that stopped checking. "last_checked" says when an
 * endpoint in "endpoints" was last checked. The loader reads all three as optional (older files lack them),
 * and the alerter itself ignores them.
 * Format (version 1), documented in docs/alerts.md:
 *   {"version":1, "saved_at":"ISO", "journal_from":S (optional),
 *    "endpoints":[{"url":..., "avail":..., ... astate fields, "last_checked":µs}],
 *    "plain":{"fingerprint":"hex", "n":N, "up":"hex, 4 endpoints a digit", "workers":[µs, ...]},
 *    "alerts":[{"id":"hex", "kind":..., ...}], "jobs":[{"key":"hex", "channel":0|1, "target":...,
 *    "chan":NAME, "method":..., "headers":[...], "dest":"hex" (these four: jobs of a channel, issue 15),
 *    "ids":["hex", ...], "payload":"...", "attempts":N, "sent_to":["addr", ...], "refused":["addr", ...]}],
 *    "locations":[{"name":..., "state":"unknown|live|silent", "heard":µs, "silent_since":µs, "back_at":µs,
 *    "offset":µs|null}], "votes":[{"url":..., "verdict":"up|down|unknown", "summary":"DOWN from fra; up from nyc"}]}
 *    — "locations" (issue 16) only when more than one location is judged, "votes" for the multi-location
 *    endpoints whose locations do not all see them up (for `clockwerk status`; not restored); both optional;
 *    "voters":[{"url":..., "location":..., "vote":"up|down|unknown", "speed":"fast|slow|unknown", "runs":[fail, ok,
 *    slow, fast], "sinces":[fail, ok, slow, fast, vote, speed, last] (µs), "boot":"hex", "checked":µs}] — each
 *    location's vote on the multi-location endpoints not plainly up everywhere (restored: a restart mid-outage
 *    neither ends nor repeats it); optional (older files lack it: those votes start unknown). */
#ifndef CW_ALERTER_STATEFILE_H
#define CW_ALERTER_STATEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alerter/alert.h"
#include "alerter/flap.h"
#include "alerter/incident.h"
#include "alerter/outbox.h"
#include "alerter/state.h"
#include "common/base/quorum.h"
#include "common/base/util.h"
#include "common/config/config.h"

#define STATEFILE_NAME "alerter.state"
#define STATEJOURNAL_SUFFIX ".journal" /* the journal: the state file's path + this */
#define STATEFILE_VERSION 1

struct statefile_endpoint {
    char *url;
    struct astate st;
    uint16_t last_status;
    int64_t last_latency_us;
    char *last_error;        /* "" when none */
    int64_t last_checked_us; /* checked_at of the last result applied; 0: none since the alerter started */
    struct incident inc;     /* its incident (saving: the owner's, not freed; loading: owned copies) */
    uint8_t notified;        /* what its channels last heard (the incident's "notified"; INCIDENT_NOTIFIED_UNSET:
                              * a file of before incidents) */
    uint32_t resends;        /* the incident's "resends" */
    struct flap_hist flap;   /* its recent outcomes and flapping */
};

/* "plain" (for `clockwerk status`; not restored). */
struct statefile_plain {
    bool present;            /* load: the file has it */
    uint64_t fingerprint;    /* statefile_fingerprint of the configuration the alerter runs */
    size_t n;                /* its endpoints */
    uint8_t *up;             /* n entries: 1 when plainly up (left out of "endpoints", avail UP) */
    int64_t *worker_last_us; /* per worker slot: checked_at of its newest result applied; 0: none yet */
    size_t n_workers;
};

struct statefile_job {
    uint64_t key;
    uint8_t channel;
    char *chan;     /* the channel's name ("chan"; missing in older files: NULL) */
    char *method;   /* HTTP: "method" (NULL: POST) */
    char *target;   /* NULL for mail */
    char **headers; /* HTTP: "headers" (may hold secrets: the file is 0600) */
    size_t n_headers;
    uint64_t dest; /* HTTP: "dest", outbox_chan_dest when built */
    uint64_t *ids;
    size_t n_ids;
    char *payload;
    size_t payload_len;
    uint32_t attempts;
    struct outbox_rcpts sent;    /* mail: recipients that have it ("sent_to"; may be missing: none) */
    struct outbox_rcpts refused; /* mail: recipients that refused it for good ("refused"; may be missing) */
};

/* Issue 16: a location's liveness (alerter/locations.h) across restarts: a location silent stays silent without a
 * second alert; its last word and offset are shown again. */
struct statefile_location {
    char *name;
    uint8_t state; /* CW_LOCATION_* */
    int64_t heard_wall_us, silent_since_us, back_at_us, offset_us;
};

/* Issue 16: who sees what on a multi-location endpoint (for `clockwerk status`). */
struct statefile_vote {
    char *url;
    uint8_t verdict; /* enum quorum_vote */
    char *summary;   /* endpoints_location_summary */
};

/* Issue 16: one location's vote on a multi-location endpoint (alerter/endpoints.h struct endpoint_vote). */
struct statefile_voter {
    char *url, *location;
    struct quorum_voter v;
    uint64_t boot_id;   /* of its last result */
    int64_t checked_us; /* its checked_at */
};

/* What the caller saves or gets back. For saving, the caller fills the arrays with pointers into its own
 * data (nothing is freed); statefile_load fills them with copies the caller owns (statefile_data_free). */
struct statefile_data {
    int64_t saved_at_us; /* load only: "saved_at" (0 when missing or unreadable); a save writes the time now */
    struct statefile_endpoint *eps;
    size_t n_eps;
    struct statefile_plain plain; /* saving: pointers into the caller's data */
    struct alert_rec **alerts;
    bool *alert_held; /* per alert: still in the grouping window, no job yet */
    size_t n_alerts;
    struct statefile_job *jobs;
    size_t n_jobs;
    struct statefile_location *locs; /* "locations"; none in a single-location setup */
    size_t n_locs;
    struct statefile_vote *votes; /* "votes" */
    size_t n_votes;
    struct statefile_voter *voters; /* "voters" */
    size_t n_voters;
    /* The journal, as statefile_load found it (alerter/statejournal.c takes up from there): */
    int64_t journal_from; /* the base's "journal_from": seq of the first line on top of it (0: none, no journal) */
    int64_t next_seq;     /* seq of the next line to append: the last applied + 1, or journal_from when none was
                           * (0 when journal_from is 0) */
    int64_t journal_good; /* bytes of the journal up to and including the last complete line's "\n" (the writer
                           * truncates the file there before appending); 0 when no journal */
    size_t journal_lines; /* lines applied */
    bool journal_torn;    /* a torn last line (no "\n": a crash mid-append) was ignored */
};

/* The fingerprint of a configuration's endpoint URLs in their order (what "plain"'s bits refer to). */
uint64_t statefile_fingerprint(const struct cw_endpoint *eps, size_t n);

/* ---- writing in pieces: the journal and the compaction (alerter/statejournal.h, docs/alerts.md) */

/* The whole sections a journal line may carry; STATEFILE_WORKERS is plain's "workers" alone. */
enum statefile_section { STATEFILE_PLAIN, STATEFILE_WORKERS, STATEFILE_ALERTS, STATEFILE_JOBS, STATEFILE_LOCATIONS };
/* The lists of per-endpoint entries (an endpoint's "unit": its record, its voters, its vote summary). */
enum statefile_list { STATEFILE_ENDPOINTS, STATEFILE_VOTERS, STATEFILE_VOTES };

const char *statefile_section_key(enum statefile_section s);
const char *statefile_list_key(enum statefile_list l);
/* Appends the JSON value of d's section s to out. */
void statefile_section_text(const struct statefile_data *d, enum statefile_section s, struct cw_buf *out);
/* Appends d's entries of list l as array elements, each after a comma unless *first (which it then clears). */
void statefile_items_text(const struct statefile_data *d, enum statefile_list l, struct cw_buf *out, bool *first);
/* The whole file's text for d (journal_from > 0: the base of a journal that starts at that seq). */
void statefile_text(const struct statefile_data *d, int64_t journal_from, struct cw_buf *out);
/* What ends the file after its lists: ',"plain":...,"alerts":...,"jobs":...[,"locations":...]}' and a newline. */
void statefile_tail_text(const struct statefile_data *d, struct cw_buf *out);
/* A hash of everything an endpoint's unit writes (NULL / 0: that part absent); 0 only when all are absent. */
uint64_t statefile_unit_hash(const struct statefile_endpoint *rec, const struct statefile_voter *voters, size_t n_voters,
                             const struct statefile_vote *vote);

/* Writes d to path atomically as a whole file with no journal (the alerter writes its base through
 * alerter/statejournal.h; tests write a file of before the journal with this). 0, or -1 with a reason in err. */
int statefile_save(const char *path, const struct statefile_data *d, char *err, size_t errlen);

/* Reads path (the base) and path STATEJOURNAL_SUFFIX (its journal, when the base has "journal_from") into d
 * (zeroed first): the base with the journal's lines applied (alerter/statefile_replay.c). Returns 1 when loaded,
 * 0 when there is no base (whatever the journal holds), -1 with a one-line reason in err when either is unreadable
 * or malformed, or when the journal does not follow the base after 3 reads of both (d is then empty). */
int statefile_load(const char *path, struct statefile_data *d, char *err, size_t errlen);

/* Frees what statefile_load allocated. */
void statefile_data_free(struct statefile_data *d);

#endif
