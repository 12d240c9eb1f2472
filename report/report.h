/* report/report.h — `clockwerk report`'s data: the chosen endpoints and their figures over the window, read
 * through a read backend (storer/reader.h). output.c prints it; main.c drives. */
#ifndef CW_REPORT_REPORT_H
#define CW_REPORT_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/base/hash.h"
#include "common/config/config.h"
#include "history/downtime.h"
#include "history/tally.h"
#include "history/window.h"
#include "storer/reader.h"

struct report_ep {
    const struct cw_endpoint *ep; /* the configured endpoint (the config outlives the report) */
    int64_t db_id;                /* endpoints.id, -1 when the database does not know the URL */
    char *masked_url;             /* its URL as the alerter's messages show it (cw_mask_url) */
    struct tally t;
    struct tally late;      /* the hour holding a past until, counted only after a check before until (report.c) */
    bool checked_before;    /* a cell of the hour before the window has checks (report.c) */
    int64_t last_check_ms;  /* the end of its last check the reads saw (a row's time + 1 ms, a cell's end) */
    bool last_check_is_day; /* ... and that was the end of a daily cell (refined from its hours: report.c) */
    struct dt_event *ev;    /* its down/up alerts before until */
    size_t n_ev, cap_ev;
    struct dt_result dt;
    struct tally_figures fig;
    bool late_counted;       /* `late` was merged into `t` (report_collect) */
    int64_t maint_checks[2]; /* its checks stored in maintenance (schema 5): [0] before, [1] in the late hour */
    int64_t maint_ok[2];     /* ... of them ok */
    int64_t maint_ms;        /* time in the configuration's maintenance windows over [since, until) */
    UT_hash_handle by_id, by_url;
};

struct report {
    const struct cw_config *cfg; /* outlives the report */
    int64_t since_ms, until_ms;
    int64_t now_ms; /* the clock when the report began (INT64_MAX until main sets it) */
    struct win_split split;
    struct report_ep *eps; /* in the configuration's order */
    size_t n;
    struct report_ep *id_table, *url_table; /* uthash heads */
    unsigned bad_blobs;
    bool reading_days;    /* the cells being read are checks_daily's */
    bool reading_late;    /* what is being read lies in the hour holding a past until (report.c) */
    bool reading_before;  /* the cells being read are of the hour before the window (report.c) */
    const char *location; /* only this location's checks (--location, each report of --by-location); NULL: all */
    char **seen;          /* the locations of the checks read (--by-location's rows), each once */
    size_t n_seen;
};

/* The configured endpoints whose name, URL or masked URL (cw_mask_url) is `only` (all when NULL). -1 when none matches. */
int report_init(struct report *rep, const struct cw_config *cfg, const char *only, int64_t since_ms, int64_t until_ms);
/* Whether e has a row in a report of one location: it has checks there, or is configured to be checked there (the
 * endpoint's `locations`; one without: the host's own location). */
bool report_ep_shown(const struct report *rep, const struct report_ep *e);
/* Reads everything through the open reader and computes the figures. STORE_OK or the reader's error. */
int report_collect(struct report *rep, const struct store_read_backend *b, struct store_reader *r, char *err,
                   size_t errlen);
/* The state at until (docs/report.md): the last down/up alert before until decides ("down" or "up"); without
 * one, "up" when the window has a successful check, else "unknown". */
const char *report_state(const struct report_ep *e);
void report_free(struct report *rep);

#endif
