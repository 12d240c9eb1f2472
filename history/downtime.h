/* history/downtime.h — downtime and incidents of one endpoint from its alert history (docs/report.md). Pure.
 *
 * The alerter raises `down` when an endpoint has failed alert_threshold checks in a row and `up` when it has
 * recovered; each message says when the new state began (alerter/alert.c: "… is DOWN since <first failure
 * of the run>: …", "… is UP again since <first success of the recovery run> after …"). An interval DOWN runs
 * from the down alert's "since" to the next up alert's "since" (raised_at when a message does not carry the
 * time). Intervals are clipped to the window [since, until): one that began before the window counts from
 * its start, one still open at until counts to until or to the last thing known of the endpoint, whichever
 * is earlier (never into the future, never on after Clockwerk stopped). An incident is an interval that overlaps the window. */
#ifndef CW_HISTORY_DOWNTIME_H
#define CW_HISTORY_DOWNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dt_event {
    int64_t at_ms; /* when the state began */
    bool down;     /* down, else up */
};

struct dt_result {
    int64_t down_ms;    /* time DOWN inside the window */
    unsigned incidents; /* DOWN intervals overlapping the window */
    bool known;         /* some down/up alert came before until */
    bool down_at_until; /* the state at until is DOWN */
};

/* When the state an alert announces began: the "since" time of its message when the message begins exactly as
 * the alerter writes it for this endpoint — `<name> (<masked url>) is DOWN since <time>` (or `is UP again
 * since`), or `<masked url> is …` for an endpoint without a name — else raised_at_ms. Matching the whole known
 * prefix means a name that itself holds "is DOWN since <time>" cannot fool it; a renamed endpoint's older
 * messages fall back to raised_at_ms (a little late, never wrong by more than the alerter's delay). */
int64_t dt_event_time(const char *message, const char *name, const char *masked_url, bool down, int64_t raised_at_ms);

/* Sorts ev by time (stably: the database's order breaks ties) and computes the window's figures. An interval
 * still open at until ends at open_end_ms when that is earlier (what is known of the endpoint: now, its last
 * check); it counts as an incident either way. */
void dt_compute(struct dt_event *ev, size_t n, int64_t since_ms, int64_t until_ms, int64_t open_end_ms,
                struct dt_result *out);

#endif
