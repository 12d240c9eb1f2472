/* history/downtime.c — DOWN intervals from the alert history, clipped to the report's window (downtime.h). */
#include "history/downtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/util.h"

#include "history/window.h"

#define DT_TIME_LEN 24 /* 2026-11-25T04:05:06.123Z, cw_format_iso8601's form */

/* The time at p when it is exactly cw_format_iso8601's form; -1 otherwise. */
static int64_t time_at(const char *p)
{
    if (strnlen(p, DT_TIME_LEN) < DT_TIME_LEN) return -1;
    char when[DT_TIME_LEN + 1];
    memcpy(when, p, DT_TIME_LEN);
    when[DT_TIME_LEN] = '\0';
    int64_t ms;
    return when[10] == 'T' && when[DT_TIME_LEN - 1] == 'Z' && win_parse_date(when, &ms) ? ms : -1;
}

/* The time after `<what><marker>` when message begins with exactly that; -1 otherwise. */
static int64_t time_after_prefix(const char *message, const char *what, const char *marker)
{
    size_t wlen = strlen(what), mlen = strlen(marker);
    if (strncmp(message, what, wlen) != 0 || strncmp(message + wlen, marker, mlen) != 0) return -1;
    return time_at(message + wlen + mlen);
}

int64_t dt_event_time(const char *message, const char *name, const char *masked_url, bool down, int64_t raised_at_ms)
{
    if (!message || !masked_url) return raised_at_ms;
    const char *marker = down ? " is DOWN since " : " is UP again since ";
    int64_t ms = -1;
    if (name && name[0]) {
        size_t len = strlen(name) + strlen(masked_url) + 4;
        char *what = cw_xmalloc(len);
        snprintf(what, len, "%s (%s)", name, masked_url);
        ms = time_after_prefix(message, what, marker);
        free(what);
    } else ms = time_after_prefix(message, masked_url, marker);
    return ms >= 0 ? ms : raised_at_ms;
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

void dt_compute(struct dt_event *ev, size_t n, int64_t since_ms, int64_t until_ms, int64_t open_end_ms,
                struct dt_result *out)
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
    if (down) { /* open at until: an incident of the window; DOWN up to what is known of it */
        int64_t end = open_end_ms < until_ms ? open_end_ms : until_ms, from = start > since_ms ? start : since_ms;
        out->down_ms += end > from ? end - from : 0;
        out->incidents++;
    }
    out->down_at_until = down;
}
