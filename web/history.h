/* web/history.h — the history half of the web model: what clockwerk-web reads from the database (through the
 * storer's read side, storer/reader.h, for SQLite, PostgreSQL and MySQL/MariaDB alike) and the pages, the API,
 * the badges and /metrics show beside the live state (web/model.h).
 *
 * Two kinds of reads, both on the web's reader thread (web/history.c), never on the HTTP loop:
 *  - the SNAPSHOT (struct web_history): every endpoint's last 90 UTC days (one cell per day from the roll-ups,
 *    today's from the hourly cells and the raw rows not folded yet), its uptime and latency percentiles over
 *    24 h / 7 d / 30 d / 90 d, its incidents of the last 90 days (from the alerts) and its state as the alerts
 *    left it (the state the page shows after a restart of the web, until the bus says more). Read at start and
 *    then every web.history_refresh (60 s), in chunks of endpoint ids so only one chunk's histograms sit in
 *    memory, with the read connection closed between refreshes (a long SQLite read snapshot stops checkpoints,
 *    a PostgreSQL one holds back vacuum). Built whole on the reader thread, then handed to the loop, which swaps
 *    it in and frees the previous one: renderers only ever see a complete, immutable snapshot.
 *  - the DETAIL of one endpoint (struct web_detail), on demand: its hourly points over the last 30 days (p50,
 *    p95 and the phases' means per hour) and its last checks. A route that needs it is marked in the route table;
 *    the HTTP layer suspends the request, asks the reader thread, and calls the handler again when the detail is
 *    there (or has failed: then detail->error says why and the handler answers 503).
 *
 * Time: wall clock, UTC. Days are UTC days; days[WEB_DAYS - 1] is the current (partial) day. Uptime is counted
 * in checks (ok / checks) as Uptime Kuma and Gatus do; the downtime from the alerts (time DOWN) is given beside it.
 * Latency percentiles come from the summed latency histograms (history/tally.h: within ~3.2%). */
#ifndef CW_WEB_HISTORY_H
#define CW_WEB_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WEB_DAYS 90                /* cells of the uptime bar */
#define WEB_DETAIL_HOURS (30 * 24) /* hourly points of an endpoint's page */
#define WEB_DETAIL_CHECKS 20       /* last checks on an endpoint's page */
#define WEB_INCIDENTS_MAX 50       /* incidents kept per endpoint (the newest); older ones are only counted */
#define WEB_PHASES 4               /* dns, connect, tls, ttfb (history/tally.h order) */

enum web_window { WEB_WIN_24H, WEB_WIN_7D, WEB_WIN_30D, WEB_WIN_90D, WEB_WINDOWS };

/* One UTC day of one endpoint. checks == 0: nothing was checked that day (no data: grey, not red). */
struct web_day {
    uint32_t checks, ok;
    uint32_t p95_us;         /* 0 when no latency was recorded */
    uint32_t down_s : 17;    /* seconds DOWN that day (from the alerts), at most 86400 */
    uint32_t incidents : 15; /* DOWN intervals overlapping the day (at most WEB_DAY_INCIDENTS_MAX counted) */
};                           /* 16 bytes: 90 of them for each of 10,000 endpoints, twice while a snapshot swaps */
#define WEB_DAY_INCIDENTS_MAX 32767

/* One window (24 h, 7 d, 30 d, 90 d, ending at the snapshot's time) of one endpoint. The 24 h window counts whole
 * hours (the roll-ups' finest cell) plus the raw rows not folded yet, like `clockwerk report`. */
struct web_window_figures {
    int64_t checks, ok;
    int64_t down_ms;    /* time DOWN inside the window (alerts) */
    unsigned incidents; /* DOWN intervals overlapping it */
    bool has_latency;   /* p50/p95 mean something */
    double p50_ms, p95_ms;
};

/* A DOWN interval from the alerts: from the `down` alert's "since" to the `up` alert's "since". */
struct web_incident {
    int64_t start_ms;
    int64_t end_ms; /* 0: still open */
    char *message;  /* the down alert's message (owned); it names the error */
};

struct web_ep_history {
    char *url; /* the endpoint's URL as stored (owned): how the snapshot is matched to the model */
    struct web_day days[WEB_DAYS];
    struct web_window_figures win[WEB_WINDOWS];
    struct web_incident *incidents; /* newest first, at most WEB_INCIDENTS_MAX */
    size_t n_incidents;
    unsigned incidents_older; /* incidents in the 90 days that were not kept */
    bool state_known;         /* some down/up alert exists */
    bool down;                /* the state the last down/up alert left */
    int64_t state_since_ms;   /* when that state began */
    int64_t last_call_ms;     /* push: the last call its newest stored check tells (web_push_last_call_us); 0: none */
};

struct web_history {
    int64_t read_at_ms;        /* wall clock of the snapshot: the end of every window */
    int64_t day0_ms;           /* UTC midnight of days[0] */
    double read_seconds;       /* how long the read took (web stats, /metrics) */
    struct web_ep_history *ep; /* one per endpoint the database knows and the configuration has */
    size_t n;
};

/* One hour of one endpoint's page. checks == 0: no data. */
struct web_detail_hour {
    int64_t start_ms;
    uint32_t checks, ok;
    bool has_latency;
    uint32_t p50_us, p95_us;
    uint32_t phase_mean_us[WEB_PHASES]; /* 0 when the phase was not recorded */
};

/* One stored check (checks table). */
struct web_detail_check {
    int64_t checked_at_ms;
    bool ok;
    int status_code;              /* 0: no HTTP response */
    int64_t latency_us;           /* -1: not recorded */
    int64_t phase_us[WEB_PHASES]; /* -1: not reached */
    char *error;                  /* NULL when ok; owned */
    char *details;                /* the figures (checks.details); NULL: none; owned */
};

/* detail->error of a detail that could not be read: the database's own error goes to the web's log only (it
 * names the database: a path, a user, a host). */
#define WEB_DETAIL_FAILED "the history could not be read (the web's log says why)"

struct web_detail {
    const char *error; /* NULL, or why the detail could not be read (the handler answers 503); static or owned */
    char *error_owned;
    int64_t read_at_ms;
    struct web_detail_hour hours[WEB_DETAIL_HOURS];    /* oldest first; the last is the current hour */
    struct web_detail_check checks[WEB_DETAIL_CHECKS]; /* newest first */
    size_t n_checks;
};

/* "24h", "7d", "30d", "90d"; web_window_parse: the inverse, -1 when none. */
const char *web_window_name(enum web_window w);
int web_window_parse(const char *s);
int64_t web_window_ms(enum web_window w);

void web_history_free(struct web_history *h);
void web_detail_free(struct web_detail *d);

#endif
