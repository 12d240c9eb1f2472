/* alerter/locations.h — the alerter's view of the locations (issue 16, docs/alerts.md "Locations and quorum"):
 * whether each is live, silent or not heard yet, its clock offset, and the LOCATION_SILENT / LOCATION_BACK
 * transitions. Pure: the caller passes the clocks in and raises the alerts.
 *
 * DESIGN
 * The table holds the configuration's locations (config_location_names: the central's own first when it has
 * workers, then each `locations` entry). A location is heard when a HELLO or a result of it arrives; it is LIVE
 * while it was heard within silent_after (alerts.location_silent_after). At start every location is UNKNOWN; one not
 * heard within silent_after of the start goes SILENT too. Going SILENT is one event (the alert's since: when it was
 * last heard, else the start); coming back from SILENT is one event (its since: the moment it came back, back_at),
 * once it has been heard without a break (no gap above silent_after) for its settle time: silent_after, doubled
 * each time it goes silent again within LOCATION_FLAP_WINDOW_US of coming back (up to LOCATION_SETTLE_MAX_US), back
 * to silent_after otherwise. So a link that drops a little longer than silent_after every minute sends a few
 * silent/back pairs, then one silence until it holds, not a pair a minute. Until it is back it is not live (its
 * votes are left out) and what it checks is late.
 * A result checked before back_at (its checked_at corrected by the location's clock offset) is late: it tells the
 * past, and is not voted (locations_is_late).
 * Judged only when there is more than one location (locations.judged): a single-host setup never has a location
 * alert, exactly as before locations existed.
 * Clock: each worker's HELLO carries its offset (its clock - the alerter's) and the round trip it was measured
 * with; the location's offset is that of its worker with the smallest round trip heard within silent_after. Above
 * CW_CLOCK_SKEW_WARN_US (either way) the location is skewed (logged once), under LOCATION_SKEW_CLEAR_US it is not
 * any more (logged once). A rebuild (reload) keeps the state of the locations known by name; the state file keeps
 * which are SILENT, so a restart does not alert again for them. */
#ifndef CW_ALERTER_LOCATIONS_H
#define CW_ALERTER_LOCATIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/wire/protocol.h"

#define LOCATION_WORKERS_MAX 64                   /* workers followed per location for the offset */
#define LOCATION_SKEW_CLEAR_US 500000LL           /* |offset| below this: not skewed any more */
#define LOCATION_FLAP_WINDOW_US (600LL * 1000000) /* silent again within this of coming back: settle doubles */
#define LOCATION_SETTLE_MAX_US (3600LL * 1000000) /* the longest settle time */

struct location_worker {
    uint32_t worker;
    int64_t heard_mono_us;
    int64_t offset_us; /* CW_OFFSET_UNKNOWN: none reported */
    int64_t rtt_us;
};

struct location {
    char name[CW_PROTO_LOCATION_MAX + 1];
    uint8_t state;           /* CW_LOCATION_UNKNOWN, _LIVE, _SILENT */
    int64_t heard_mono_us;   /* last HELLO or result (monotonic); 0: not since the start */
    int64_t heard_wall_us;   /* the same on the wall clock; kept in the state file; 0: never */
    int64_t silent_since_us; /* SILENT: the alert's since (last heard, else when the judging started) */
    int64_t back_at_us;      /* wall clock when it last came back: results checked before are late; 0: never */
    int64_t back_mono_us;    /* the same, monotonic (this run only); 0: not in this run */
    int64_t returning_us;    /* SILENT and heard again: monotonic start of the unbroken run of hearing; 0: none */
    int64_t settle_us;       /* unbroken hearing needed to come back; 0: silent_after */
    int64_t offset_us;       /* its clock - the alerter's: the best worker's; CW_OFFSET_UNKNOWN */
    int64_t rtt_us;          /* that measurement's round trip; -1: unknown */
    bool skewed;             /* |offset| crossed CW_CLOCK_SKEW_WARN_US (and is not back under the clear mark) */
    struct location_worker w[LOCATION_WORKERS_MAX];
    size_t n_w;
};

struct locations {
    struct location *all;
    size_t n;
    bool judged; /* more than one location: silence and lateness are judged */
    int64_t silent_after_us;
    int64_t start_mono_us; /* when judging started */
    int64_t start_wall_us;
};

enum location_event_kind { LOCATION_WENT_SILENT = 1, LOCATION_CAME_BACK = 2 };

struct location_event {
    uint8_t kind;        /* enum location_event_kind */
    size_t idx;          /* in all */
    int64_t since_us;    /* SILENT: last heard (or the start); BACK: back_at */
    int64_t duration_us; /* BACK: how long it was silent (from its last word before); else 0 */
};

/* (Re)builds the table for these names (copied), keeping the state of names already known; silent_after in
 * seconds (<= 0: 10). The first build starts the clock of "not heard since the start". */
void locations_build(struct locations *t, const char *const *names, size_t n, double silent_after, int64_t now_mono,
                     int64_t now_wall);

/* The location of that name (NULL or "": none), or NULL (also when t is NULL). */
struct location *locations_find(const struct locations *t, const char *name);

/* It was heard (a HELLO or a result from worker). Returns 1 with *ev filled when this brings it back from SILENT
 * (heard without a break for its settle time). */
unsigned locations_heard(struct locations *t, struct location *l, uint32_t worker, int64_t now_mono, int64_t now_wall,
                         struct location_event *ev);

/* A worker's clock measurement (a HELLO's offset and rtt); recomputes the location's offset. Returns +1 when it
 * became skewed, -1 when it stopped being skewed, 0 otherwise. */
int locations_clock(struct locations *t, struct location *l, uint32_t worker, int64_t offset_us, int64_t rtt_us,
                    int64_t now_mono);

/* Judges silence now: writes at most max WENT_SILENT events, returns how many. */
size_t locations_tick(struct locations *t, int64_t now_mono, int64_t now_wall, struct location_event *ev, size_t max);

/* Whether l is live (heard within silent_after). Always true when the table is not judged or l is NULL. */
bool locations_live(const struct locations *t, const struct location *l);

/* Whether a result of l checked at checked_at_us (l's clock) was checked before l came back, or l is not back yet
 * (still SILENT, settling): not voted. */
bool locations_is_late(const struct locations *t, const struct location *l, int64_t checked_at_us);

/* Workers heard within silent_after. */
uint32_t locations_workers(const struct locations *t, const struct location *l, int64_t now_mono);

/* Fills a CW_MSG_LOCATIONS (names point into t). */
void locations_to_msg(const struct locations *t, int64_t now_mono, int64_t now_wall, struct cw_locations_msg *m);

void locations_free(struct locations *t);

#endif
