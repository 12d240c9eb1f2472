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

/* One UTC day of one endpoint, exact: what the API's `/history?res=day` gives (read with the endpoint's detail,
 * web_detail.days). checks == 0: nothing was checked that day (no data: grey, not red). */
struct web_day {
    uint32_t checks, ok;
    uint32_t p95_us;         /* 0 when no latency was recorded */
    uint32_t down_s : 17;    /* seconds DOWN that day (from the alerts), at most 86400 */
    uint32_t incidents : 15; /* DOWN intervals overlapping the day (at most WEB_DAY_INCIDENTS_MAX counted) */
};
#define WEB_DAY_INCIDENTS_MAX 32767

/* What the uptime bar shows of a day (its colour and its tooltip), as the snapshot keeps it for every endpoint:
 * 3 bytes a day (web_bar_pack / web_bar_day), and the day's incident count beside it only for the days that had
 * one. Nothing the bar shows is lost: the uptime is floor(ok * 10000 / checks) (the tooltip's two decimals, 100%
 * only when every check was ok), the p95 is the index of its latency bucket (a percentile IS a bucket's midpoint,
 * history/tally.h). */
struct web_bar {
    bool data;         /* some check that day */
    uint16_t per10k;   /* floor(ok * 10000 / checks); 10000 only when ok == checks */
    uint32_t p95_us;   /* 0 when no latency was recorded */
    unsigned incidents;
};
#define WEB_BAR_NO_DATA 0x3fff /* the 14-bit uptime code of a day without checks */

/* A day with incidents (the snapshot's sparse list beside the bar). */
struct web_day_note {
    uint8_t day; /* 0 .. WEB_DAYS - 1 */
    uint16_t incidents;
};

/* One window (24 h, 7 d, 30 d, 90 d, ending at the snapshot's time) of one endpoint, as shown (web_ep_window). The
 * 24 h window counts whole hours (the roll-ups' finest cell) plus the raw rows not folded yet, like `clockwerk
 * report`. */
struct web_window_figures {
    int64_t checks, ok;
    int64_t down_ms;    /* time DOWN inside the window (alerts) */
    unsigned incidents; /* DOWN intervals overlapping it */
    bool has_latency;   /* p50/p95 mean something */
    double p50_ms, p95_ms;
};
/* How the snapshot keeps a window: 20 bytes. p50/p95: latency bucket + 1 (0: no latency). */
struct web_window_cell {
    uint32_t checks, ok;
    uint32_t down_s;
    uint16_t down_ms_rem; /* the milliseconds of the time DOWN beyond down_s */
    uint16_t incidents;   /* at most 65535 counted */
    uint16_t p50, p95;
};

/* A DOWN interval from the alerts: from the `down` alert's "since" to the `up` alert's "since". */
struct web_incident {
    int64_t start_ms;
    int64_t end_ms; /* 0: still open */
    char *message;  /* the down alert's message (owned); it names the error */
};

/* What the alerts (and a push endpoint's calls) left of one endpoint in the snapshot: only an endpoint that has some
 * (a down/up alert in its history, or a push call) has one; the others share web_ep_more's zeroes. */
struct web_ep_more {
    struct web_day_note *notes;     /* n_notes, by day; NULL when none */
    struct web_incident *incidents; /* n_incidents; NULL when none */
    uint8_t n_notes;                /* days with incidents (notes) */
    uint8_t n_incidents;            /* incidents kept, newest first, at most WEB_INCIDENTS_MAX */
    uint16_t incidents_older;       /* incidents in the 90 days that were not kept (at most 65535 counted) */
    int64_t state_since_ms;         /* when the state the last down/up alert left began */
    int64_t last_call_ms; /* push: the last call its newest stored check tells (web_push_last_call_us); 0: none */
};

/* One endpoint's part of the snapshot: 360 bytes (it was 1,700 with 16-byte exact days and a copy of the URL, 392
 * with the incidents' fields inline; docs/performance.md "The web at 500,000 endpoints"). Which endpoint it is:
 * web_history.cfg_index. */
struct web_ep_history {
    uint8_t bar[WEB_DAYS][3];                /* web_bar_day */
    bool state_known;                        /* some down/up alert exists (then `more` is there) */
    bool down;                               /* the state the last down/up alert left */
    struct web_window_cell win[WEB_WINDOWS]; /* web_ep_window */
    struct web_ep_more *more;                /* NULL: no alert, no call (web_ep_more gives zeroes); owned */
};

/* h's incidents, notes, state time and last call: zeroes when it has none (or h is NULL). */
const struct web_ep_more *web_ep_more(const struct web_ep_history *h);
/* The same to fill in: allocated at the first call. */
struct web_ep_more *web_ep_more_get(struct web_ep_history *h);

struct web_history {
    int64_t read_at_ms;        /* wall clock of the snapshot: the end of every window */
    int64_t day0_ms;           /* UTC midnight of the bar's first day */
    double read_seconds;       /* how long the read took (web stats, /metrics) */
    uint64_t cfg_gen;          /* the reader thread's configuration it was read with (web_history_config_gen) */
    struct web_ep_history *ep; /* one per endpoint the database knows and the configuration has */
    uint32_t *cfg_index;       /* ep[i] is the configuration's endpoint cfg_index[i] (the model's entry) */
    size_t n;
};

/* The day's cell of the bar (day 0 .. WEB_DAYS - 1) of h (NULL: no data). */
void web_bar_day(const struct web_ep_history *h, int day, struct web_bar *out);
/* Packs an exact day into its 3 bytes (the incidents go to the notes, not here). */
void web_bar_pack(uint8_t cell[3], const struct web_day *d);
/* A window as shown, and as kept (the percentiles to their buckets, the counts capped to their fields). */
void web_ep_window(const struct web_ep_history *h, enum web_window w, struct web_window_figures *out);
void web_window_pack(struct web_window_cell *c, const struct web_window_figures *f);
/* The latency bucket + 1 of a p95/p50 in µs as lat_hist_percentile gives it (0 for 0: none), and back. */
uint16_t web_latency_code(int64_t us);
int64_t web_latency_us(uint16_t code);
/* Frees what e owns (its incidents and notes). */
void web_ep_history_clear(struct web_ep_history *e);

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
    bool has_days;                /* days[] was read (the endpoint is configured and the database knows it) */
    struct web_day days[WEB_DAYS]; /* exact, from the same reads as the snapshot's (history_read.c) */
};

/* A read of the snapshot takes at most 1/WEB_HISTORY_DUTY of a core on average: the next one starts
 * web.history_refresh after the start of the last, or WEB_HISTORY_DUTY times its duration when that is longer
 * (at 500,000 endpoints a read takes tens of seconds; docs/web.md "History"). */
#define WEB_HISTORY_DUTY 10
/* The period between two reads after one that took read_seconds. */
double web_history_period(double refresh_s, double read_seconds);

/* "24h", "7d", "30d", "90d"; web_window_parse: the inverse, -1 when none. */
const char *web_window_name(enum web_window w);
int web_window_parse(const char *s);
int64_t web_window_ms(enum web_window w);

void web_history_free(struct web_history *h);
void web_detail_free(struct web_detail *d);

#endif
