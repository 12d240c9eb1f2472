/* report/downtime.c — DOWN intervals from the alert history, clipped to the report's window (downtime.h). */
#include "report/downtime.h"

#include <string.h>

#include "report/window.h"

#define DT_TIME_LEN 24 /* 2026-11-25T04:05:06.123Z, cw_format_iso8601's form */

int64_t dt_event_time(const char *message, bool down, int64_t raised_at_ms)
{
    const char *marker = down ? " is DOWN since " : " is UP again since ";
    size_t mlen = strlen(marker);
    /* the first marker followed by a time (a name could hold the marker's words; the time it would not) */
    for (const char *p = message ? strstr(message, marker) : NULL; p; p = strstr(p + 1, marker)) {
        const char *t = p + mlen;
        if (strnlen(t, DT_TIME_LEN) < DT_TIME_LEN) break;
        char when[DT_TIME_LEN + 1];
        memcpy(when, t, DT_TIME_LEN);
        when[DT_TIME_LEN] = '\0';
        int64_t ms;
        if (when[10] == 'T' && when[DT_TIME_LEN - 1] == 'Z' && win_parse_date(when, &ms)) return ms;
    }
    return raised_at_ms;
}

/* Insertion sort by time: stable (the database's order breaks ties) and linear on the nearly sorted input
 * (the alerts come ordered by raised_at, which follows "since" except across an alerter restart). */
static void sort_by_time(struct dt_event *ev, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        struct dt_event e = ev[i];
        size_t j = i;
        for (; j > 0 && ev[j - 1].at_ms > e.at_ms; j--) ev[j] = ev[j - 1];
        ev[j] = e;
    }
}

/* Adds the DOWN interval [start, end) as far as it overlaps the window. */
static void add_interval(struct dt_result *out, int64_t start, int64_t end, int64_t since_ms, int64_t until_ms)
{
    if (start >= until_ms || end <= since_ms) return;
    int64_t from = start > since_ms ? start : since_ms, to = end < until_ms ? end : until_ms;
    out->down_ms += to - from;
    out->incidents++;
}

void dt_compute(struct dt_event *ev, size_t n, int64_t since_ms, int64_t until_ms, struct dt_result *out)
{
    memset(out, 0, sizeof *out);
    sort_by_time(ev, n);
    bool down = false;
    int64_t start = 0;
    for (size_t i = 0; i < n && ev[i].at_ms < until_ms; i++) {
        out->known = true;
        if (ev[i].down && !down) {
            down = true;
            start = ev[i].at_ms;
        } else if (!ev[i].down && down) {
            down = false;
            add_interval(out, start, ev[i].at_ms, since_ms, until_ms);
        }
    }
    if (down) add_interval(out, start, until_ms, since_ms, until_ms);
    out->down_at_until = down;
}
