/* web/model.h — the live model that clockwerk-web renders: one entry per configured endpoint with its ID, its
 * last check and its state from the alerts, and the bus counters. Written by web/live.c (bus messages) and
 * web/ids.c (the entries and their lookup tables); every page, API answer, metric and badge only READS it.
 *
 * DESIGN
 * The model lives in the web's one thread (HTTP and the bus share the loop): no locks. Entries are one array in
 * the configuration's order; `cfg` points into the web's configuration (name, url, group) and stays valid until
 * web_ids_free. Times are wall-clock microseconds (UTC) as on the wire; -1 or 0 mean "not known" as noted.
 * The state comes from the alerter's `alert` messages when one was seen (DOWN until an UP alert), else from
 * the last result (a failed check before the alerter confirmed it is FAILING, not DOWN). What the web missed
 * (a restart, the relay dropping) is counted in `gaps`; after a restart the state is seeded from the history
 * snapshot's last down/up alert (web_live_seed) until the bus says newer. */
#ifndef CW_WEB_MODEL_H
#define CW_WEB_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/base/hash.h"
#include "common/base/quorum.h"
#include "common/config/config.h"
#include "common/config/config_web.h"
#include "common/wire/protocol.h"
#include "common/wire/seqgap.h"
#include "web/history.h"
#include "web/layout.h"

enum web_state {
    WEB_STATE_UNKNOWN = 0, /* no check seen yet */
    WEB_STATE_UP = 1,      /* last check ok, or an `up` alert */
    WEB_STATE_FAILING = 2, /* last check failed; the alerter has not (yet) declared it down */
    WEB_STATE_DOWN = 3,    /* a `down` alert, until an `up` alert */
};

/* A histogram of check durations (web/metrics.c): counts per bucket, NOT cumulative; bucket i holds durations
 * <= web_hist_bounds_us[i] (and above the bound before), the last one the rest (+Inf). */
#define WEB_HIST_BOUNDS 5
#define WEB_HIST_BUCKETS (WEB_HIST_BOUNDS + 1)
extern const int64_t web_hist_bounds_us[WEB_HIST_BOUNDS];
enum web_hist_phase {
    WEB_PHASE_TOTAL,
    WEB_PHASE_DNS,
    WEB_PHASE_CONNECT,
    WEB_PHASE_TLS,
    WEB_PHASE_TTFB,
    WEB_HIST_PHASES
};
struct web_hist {
    uint32_t bucket[WEB_HIST_BUCKETS];
    uint64_t sum_us;
};
/* Alert kinds counted as state changes (the others, TLS expiry and reminders, change no state). */
enum web_change_kind { WEB_CHANGE_DOWN, WEB_CHANGE_UP, WEB_CHANGE_SLOW, WEB_CHANGE_FAST, WEB_CHANGE_KINDS };

/* The last `stats` message of one process (role, slot), its items mapped through web/metrics_stats.c's table
 * (index into it; unknown names are dropped and counted in web_procs.unknown_keys). */
#define WEB_PROCS_MAX 512 /* (role, slot) pairs kept; more are dropped and counted */
#define WEB_ROLE_MAX 24
struct web_proc {
    char role[WEB_ROLE_MAX + 1];
    uint32_t slot;
    int64_t received_mono_ns; /* cw_mono_ns when it arrived: a process silent for long is left out */
    unsigned count;
    uint16_t metric[CW_STATS_MAX]; /* web_stats_lookup index */
    int64_t value[CW_STATS_MAX];
};
struct web_procs {
    struct web_proc *v;
    size_t n;
    uint64_t unknown_keys; /* items whose name the table does not know (skipped) */
    uint64_t dropped;      /* messages from a (role, slot) beyond WEB_PROCS_MAX */
};

/* What the web shows of a check's figures (web/figures.c parses them once, when the result arrives): the
 * headline of each type and the numbers /metrics exports. -1 or "" when the figures do not say. */
struct web_figures {
    int32_t answers;      /* dns: how many answers */
    char rcode[16];       /* dns: "NOERROR", "NXDOMAIN", ... */
    double loss_pct;      /* icmp: 0..100 */
    double rtt_avg_ms;    /* icmp */
    char tls_version[16]; /* tls: "TLSv1.3" */
    char push_status[8];  /* push: "up", "down" (a call), "missing" (a silence) */
    double push_gap_s;    /* push: a silence's time since the last call (-1: none recorded) */
    char *raw;            /* the figures as received (web_check_figures); owned by the web_check holding this */
};

/* A check's duration (its latency, one of its phases) as the model keeps it: µs in 32 bits, WEB_US_NONE for "not
 * reached" (-1 on the wire). A check lasts at most its timeout (an hour at most: config_endpoints.c MAX_TIMEOUT),
 * well under the 4,294 s 32 bits hold; a longer one is kept as WEB_US_NONE - 1 (never seen). web_us: back to µs. */
#define WEB_US_NONE UINT32_MAX
static inline uint32_t web_us_pack(int64_t us)
{
    return us < 0 ? WEB_US_NONE : us >= (int64_t)WEB_US_NONE ? WEB_US_NONE - 1 : (uint32_t)us;
}
static inline int64_t web_us(uint32_t v) { return v == WEB_US_NONE ? -1 : (int64_t)v; }

/* The last check of an endpoint, as the worker sent it. */
struct web_check {
    uint8_t kind; /* enum cw_check_type of the result */
    bool ok;
    uint16_t status_code;       /* 0: no HTTP response */
    uint32_t latency;           /* total (web_us: µs, -1 when not reached) */
    uint32_t phase[WEB_PHASES]; /* dns, connect, tls, ttfb (web_us: µs, -1 when not reached) */
    struct web_figures *fig;    /* the figures, parsed and as received (.raw); NULL when there are none; owned */
    int64_t checked_at_us;      /* wall clock */
    int64_t tls_expires_at_us; /* 0: unknown (http, or no handshake) */
    char *error;               /* NULL when ok; owned (malloc) */
};

/* c's figures as parsed, the "not said" ones (all -1 or "") when it has none. */
const struct web_figures *web_check_fig(const struct web_check *c);
/* c's figures as received (one JSON object, checked by the decoder); NULL: none. */
static inline const char *web_check_figures(const struct web_check *c) { return c->fig ? c->fig->raw : NULL; }

/* One location's view of an endpoint (issue 16; docs/web.md "Locations"): its last check there and its vote
 * (common/base/quorum.h: DOWN after alert_threshold failures in a row there, UP after recovery_threshold
 * successes). Every endpoint has at least one (web/locations.c web_locs_build); the counters /metrics exports per
 * location live here. */
struct web_loc {
    const char *name; /* into the model's configuration: ep->locations[i], or cfg->location */
    bool has_check, ok;
    /* The location's vote (common/base/quorum.h): what of a struct quorum_voter decides the vote, the rest (times,
     * speed runs: the web reads neither) is not kept (web_loc_apply feeds a voter made of these; 12 B, not 80). */
    uint8_t vote;                      /* enum quorum_vote */
    uint32_t fail_run, ok_run;         /* failures / successes in a row */
    uint32_t latency;                  /* web_us: µs, -1 when not reached */
    int64_t checked_at_us;             /* wall clock */
    char *error;                       /* NULL when ok (or no check yet); owned (malloc) */
    uint64_t checks_ok, checks_failed; /* since the web started (carried over a reload) */
    struct web_hist total;             /* the whole check's duration (WEB_PHASE_TOTAL): the group sums */
    /* The other phases' (index phase - 1: dns, connect, tls, ttfb), only when the model keeps them
     * (web_model.per_endpoint_metrics: 128 B a location nobody scrapes at 500,000 endpoints); NULL: not kept. */
    struct web_hist *phases;
};
/* loc's histogram of phase ph, NULL when the model does not keep it. */
static inline const struct web_hist *web_loc_hist(const struct web_loc *loc, int ph)
{
    if (ph == WEB_PHASE_TOTAL) return &loc->total;
    return loc->phases ? &loc->phases[ph - 1] : NULL;
}

/* The state changes an endpoint's alerts counted (for /metrics, since the web started, carried over a reload): only
 * an endpoint that had an alert has them (48 B that most of 500,000 endpoints, never down, would hold as zeroes). */
struct web_alerts {
    uint32_t changes[WEB_CHANGE_KINDS]; /* state changes from `alert` messages (enum web_change_kind) */
    uint64_t recent_alert_ids[4];       /* last alert ids counted: a resent alert (delivery update) is not */
};

/* What the bus told about one endpoint. */
struct web_live {
    struct web_loc *locs; /* its locations, in ep->locations' order (one for an endpoint checked in one place) */
    uint32_t n_locs;      /* (the fields are ordered for no padding: 500,000 of these) */
    enum web_state state;
    bool has_check;
    bool slow;        /* a `slow` alert without a `fast` one after it */
    bool locs_pooled; /* locs is an entry of the model's loc_pool (web_locs_free does not free it) */
    struct web_check last;
    int64_t last_call_us;   /* push: wall clock of the last call (up or down; web_push_last_call_us); 0: none known */
    int64_t state_since_us; /* wall clock of the change that set `state`; 0 unknown */
    int64_t last_alert_us;  /* the state change of the last down/up alert known (bus or snapshot); 0: none */
    /* (the checks counted: each location's, locs[i].checks_ok / checks_failed) */
    struct web_alerts *alerts; /* NULL until an alert counted a change (web_live_changes); owned */
};

struct web_endpoint {
    const struct cw_endpoint *cfg;  /* name (may be NULL), url, group (may be NULL) */
    const struct cw_config *config; /* the configuration cfg belongs to (its maintenance windows) */
    const char *id;                 /* config_web.h cw_endpoint_slug, unique within the model: into model.ids */
    struct web_live live;
    const struct web_ep_history *hist; /* its part of model->history (matched by URL); NULL: none yet */
};

/* One location as the alerter last told (CW_MSG_LOCATIONS, issue 16). */
struct web_location {
    char name[CW_LOCATION_NAME_MAX + 1];
    uint8_t state;         /* CW_LOCATION_UNKNOWN, _LIVE, _SILENT */
    int64_t last_heard_us; /* wall clock; 0: never */
    int64_t offset_us;     /* its clock - the central's; CW_OFFSET_UNKNOWN */
    int64_t rtt_us;        /* -1: unknown */
    uint32_t workers;
};
struct web_locations {
    struct web_location v[CW_LOCATIONS_MAX];
    unsigned n;
    int64_t at_us;            /* the message's time (the alerter's clock); 0: no message yet */
    int64_t received_mono_ns; /* cw_mono_ns when it arrived; 0: none */
};

/* What the web received from the bus. */
struct web_bus_counts {
    uint64_t messages, results, alerts, stats, locations;
    uint64_t unknown_locations;   /* results of a location the endpoint is not checked from (ignored) */
    uint64_t malformed;           /* dropped: could not be decoded */
    uint64_t unknown_urls;        /* results or alerts for an URL not in the configuration (dropped) */
    const char *last_malformed;   /* static reason */
    int64_t last_message_mono_ns; /* cw_mono_ns of the last message from the bus; 0: none yet */
};

struct web_model {
    struct web_endpoint *endpoints; /* n, in the configuration's order */
    size_t n;
    /* The lookup tables (web/ids.c): open addressing, `slots` (a power of two, at least twice n) entries each, an
     * endpoint's index + 1 (0: empty), by its URL and by its ID; 8 B an endpoint where two uthash handles took 112. */
    uint32_t *by_url, *by_id;
    size_t slots;
    /* The one location of each endpoint checked in one place, in one array (web_ids_build): no malloc, no malloc
     * header, per endpoint (web_live.locs points here, locs_pooled); an endpoint of several has its own array. */
    struct web_loc *loc_pool;
    char *ids;                /* every endpoint's ID, each ending in '\0' (web_endpoint.id points here) */
    char **moved_ids;         /* the IDs reloads changed in place (web_ids_update), each its own string; past
                               * 64 + n / 16 of them the IDs' buffer is built again */
    size_t n_moved_ids;
    struct web_layout layout; /* the page's order and groups (web/layout.h), built with the entries */
    struct seqgap gaps;       /* results per worker: what the web missed */
    struct web_bus_counts bus;
    struct cw_result *scratch;         /* CW_RESULT_BATCH_MAX, for decoding */
    const struct web_history *history; /* the last snapshot read (web/history.h); NULL until the first */
    struct web_procs procs;            /* every process's last stats (/metrics), carried over a reload */
    struct web_locations locations;    /* the alerter's last CW_MSG_LOCATIONS, carried over a reload */
    const char *own_location;          /* cfg->location ("local" when unset): a result without one is from here */
    const char *config_locations[CW_LOCATIONS_MAX + 1]; /* config_location_names (into the configuration) */
    size_t n_config_locations;                          /* more than one: the web shows locations everywhere */
    uint64_t generation;       /* differs for every model built: a /metrics stream ends on a reload */
    const char *history_error; /* why the last read of the history failed; NULL when it did not */
    bool history_off;          /* no database is configured: no history is read */
    /* web.metrics_per_endpoint in effect for this model (cw_web_metrics_per_endpoint): each location keeps its
     * phase histograms (web_loc.phases) only then. */
    bool per_endpoint_metrics;
};

/* ---- web/ids.c */
/* Builds the model's entries for cfg (which must outlive the model). -1 with a reason in err when two endpoints
 * have one ID or one has none (config_load refuses both when the web is on). */
int web_ids_build(struct web_model *m, const struct cw_config *cfg, char *err, size_t errlen);
void web_ids_free(struct web_model *m);
/* A reload: moves what `from` knows (each endpoint's last check, state and counts, by URL; the bus counters and
 * sequence gaps; its part of the history snapshot, `hist`) into the freshly built `to`. `from` is then only fit for web_ids_free. */
void web_ids_carry(struct web_model *to, struct web_model *from);
/* A reload in place that kept the count of endpoints and moved none (each URL is where it was, or new): updates m
 * for cfg without building it again (issue 18: 500,000 entries and their tables stay; an endpoint whose URL changed
 * starts afresh without history, the IDs' buffer and both tables are built again when an ID or URL changed, the
 * layout is built again, the generation changes). Returns 0 (and in *n_urls how many URLs changed), 1 when it does
 * not apply (the caller then builds and carries), or -1 with a reason in err as web_ids_build. */
int web_ids_update(struct web_model *m, const struct cw_config *cfg, size_t *n_urls, char *err, size_t errlen);
struct web_endpoint *web_model_by_id(const struct web_model *m, const char *id);
/* The endpoint whose ID begins path ("ID", "ID/more"): the one reading of an ID from a route's rest. *after (may
 * be NULL) gets what follows the ID ("" or "/more"), also when no endpoint has it (then NULL). */
struct web_endpoint *web_model_by_path(const struct web_model *m, const char *path, const char **after);
struct web_endpoint *web_model_by_url(const struct web_model *m, const char *url);

/* ---- web/live.c */
/* Applies one bus message (type from its topic; payload as received): counted; a malformed one is counted in
 * `malformed` and dropped. now_mono_ns: cw_mono_ns. */
void web_live_apply(struct web_model *m, enum cw_msg_type type, const void *data, size_t len, int64_t now_mono_ns);
/* The state the snapshot's alerts left (h->state_known) when it is newer than the last down/up alert the bus
 * gave: after a restart a DOWN endpoint is DOWN, not FAILING (web/history_wait.c web_history_attach); an UP
 * replaces DOWN or "no check seen yet", never a failed check the bus brought since. */
void web_live_seed(struct web_live *e, const struct web_ep_history *h);
/* "unknown", "up", "failing", "down". */
const char *web_state_name(enum web_state state);
/* The state changes of kind k (enum web_change_kind) counted for e (0 before its first alert). */
uint32_t web_live_changes(const struct web_live *e, int k);
/* Frees what e owns besides its locations (its last check's strings, its alerts' counts). */
void web_live_free(struct web_live *e);
/* url as the web shows it, into buf (CW_URL_MAX + 8): without credentials; an http(s) URL's query (or fragment)
 * as "?***"; the key of another check type (tcp://, tls://, dns://, icmp://, push://) whole. */
const char *web_url_label(const char *url, char *buf, size_t len);
/* The name the web shows: the endpoint's name, or web_url_label of its URL. */
const char *web_endpoint_label(const struct web_endpoint *e, char *buf, size_t len);
/* ---- web/locations.c (issue 16) */
/* e's locations (ep->locations, or the own location when it lists none), no check yet. */
/* phases: keep each location's phase histograms (web_model.per_endpoint_metrics). slot (may be NULL): where the one
 * location of an endpoint checked in one place goes (a web_model.loc_pool entry); else they are allocated. */
void web_locs_build(struct web_live *l, const struct cw_endpoint *ep, const char *own_location, bool phases,
                    struct web_loc *slot);
void web_locs_free(struct web_live *l);
/* A reload: each location of `to` that `from` had (by name) takes its last check, vote and counters. */
void web_locs_carry(struct web_live *to, struct web_live *from);
/* The location of e named name ("" or NULL: the own location), NULL when e is not checked there. */
struct web_loc *web_loc_find(const struct web_model *m, struct web_live *l, const char *name);
/* One result into its location: last check, counters, vote (endpoint_down: the endpoint is shown DOWN, so an unknown
 * vote needs recovery_threshold successes, common/base/quorum.h). false when it is older than the last one known. */
bool web_loc_apply(struct web_loc *loc, const struct cw_result *r, const struct cw_endpoint *ep, bool endpoint_down);
/* The alerter's view of the locations (a decoded CW_MSG_LOCATIONS). true when a location's silence changed (or
 * the list did): the verdicts of the endpoints must be judged again. */
bool web_locations_apply(struct web_model *m, const struct cw_locations_msg *msg, int64_t now_mono_ns);
/* The alerter's last word on the location named name; NULL when it said none. */
const struct web_location *web_location_find(const struct web_model *m, const char *name);
/* Every location to show, into out (at most max): the configuration's in its order, each with the alerter's last
 * word on it (state unknown and nothing known when it said none), then any other the alerter told of. */
size_t web_location_rows(const struct web_model *m, struct web_location *out, size_t max);
/* Whether the model shows locations (the configuration knows more than one, or the alerter told of several). */
bool web_model_has_locations(const struct web_model *m);
/* The endpoint's state from its locations' votes and the quorum (several locations only): DOWN when the
 * verdict is DOWN, FAILING when a quorum of the live locations' last checks failed without that, UP when the
 * verdict is UP, UNKNOWN when too few live locations have a vote. A silent location (the alerter's word) is
 * left out. The verdict is quorum_verdict given the state shown (l->state): a DOWN shown holds until DOWN can no
 * longer be reached, as the alerter's. */
enum web_state web_locs_state(const struct web_model *m, const struct web_live *l, const struct cw_endpoint *ep);
/* A location's own state for its chip: DOWN when its vote is, FAILING when its last check failed short of that,
 * UP after an ok check, UNKNOWN before any. */
enum web_state web_loc_state(const struct web_loc *loc);

/* ---- web/maint.c */
/* The maintenance window covering e at now_us (wall clock), NULL: none; *end_us (unless NULL): its end, 0. */
const struct cw_maintenance *web_maintenance(const struct web_endpoint *e, int64_t now_us, int64_t *end_us);
/* ---- web/metrics_stats.c */
void web_procs_free(struct web_procs *p);

#endif
