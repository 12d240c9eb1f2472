/* web/page_common.h — what the HTML pages of clockwerk-web share (web/page_index.c, web/page_endpoint.c): the
 * page frame and its one stylesheet (`/style.css`), the 90-day uptime bar, and the formats of times, durations,
 * uptimes and latencies. Every text from the configuration, the bus or the database goes through web/html.h. */
#ifndef CW_WEB_PAGE_COMMON_H
#define CW_WEB_PAGE_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "common/base/util.h"
#include "web/route.h"

#define PAGE_LABEL_MAX (CW_URL_MAX + 8) /* a buffer for web_endpoint_label / web_url_label */

/* "<!DOCTYPE html>…<body>" with the page's title ("title — site title", escaped), the stylesheet and the site
 * header; refresh_s > 0 adds a <meta http-equiv="refresh"> (no script needed). */
void page_begin(struct cw_buf *b, const struct web_request *rq, const char *title, int refresh_s);
void page_end(struct cw_buf *b);
/* A whole small HTML page with status and one line of text (404, 400, 503). */
void page_error(const struct web_request *rq, struct web_reply *rp, int status, const char *text);

/* "2026-12-05 02:30 UTC" from wall-clock milliseconds; "2026-12-05" when date_only. */
void page_put_time_ms(struct cw_buf *b, int64_t ms, bool date_only);
/* "3 d 4 h", "2 h 5 min", "12 min 3 s", "1 min", "45 s". */
void page_put_duration_ms(struct cw_buf *b, int64_t ms);
/* "99.95%" (rounded down: 99.999% is never shown as 100%), "–" when checks == 0. */
void page_put_uptime(struct cw_buf *b, int64_t checks, int64_t ok);
/* "123 ms", "1.23 s". */
void page_put_latency_ms(struct cw_buf *b, double ms);
/* ` <span class="kind">dns · NOERROR, 2 answers</span>`: the check type and its headline (web/figures.h) for every
 * type but http, which shows nothing (an http row stays as it was: the page's size budget). now_ms: wall clock. */
void page_put_kind(struct cw_buf *b, const struct web_endpoint *e, int64_t now_ms);

/* ` <span class="maintenance">maintenance NAME until TIME</span>` when a maintenance window covers e at now_us
 * (web/maint.c); nothing otherwise. */
void page_put_maintenance(struct cw_buf *b, const struct web_endpoint *e, int64_t now_us);

/* UTC midnight of the bar's first day: the snapshot's, or from the wall clock when no snapshot was read yet. */
int64_t page_day0_ms(const struct web_model *m);
/* The 90-day uptime bar: one cell per UTC day coloured by uptime, grey without checks, with a tooltip (date,
 * uptime, incidents, p95). h NULL: every day "no data". */
void page_put_bar(struct cw_buf *b, const struct web_ep_history *h, int64_t day0_ms);

/* ---- web/page_locations.c (issue 16): nothing for an endpoint checked in one place / a single location */
/* `<div class="chips">` with a chip per location of e: its state there and its last latency (title: details). */
void page_put_location_chips(struct cw_buf *b, const struct web_model *m, const struct web_endpoint *e);
/* The endpoint page's table of e's locations (state, last check, latency, error) and its quorum. */
void page_put_location_table(struct cw_buf *b, const struct web_model *m, const struct web_endpoint *e);
/* The Locations box of `/` (more than one location): state, last heard, clock offset (warning above 1 s). */
void page_put_locations_box(struct cw_buf *b, const struct web_model *m, int64_t now_mono_ns);

/* ---- web/page_groups.c: what `/` and `/groups` share (issue 18: pages that stay small at 500,000 endpoints) */
struct web_filter;
/* The count per state (enum web_state) over every endpoint into states[4]; per group (layout order) into the
 * returned array of n_groups * 4 (free it). One pass over the model. */
size_t *page_count_states(const struct web_model *m, size_t states[4]);
/* ?page=N of `pages` into *page (1 when absent): 0, or 400 when it is not a number, 404 past the last page. */
int page_number_arg(const struct web_request *rq, size_t pages, size_t *page);
/* The page ?page=N asks for among n_items shown per_page at a time, into *page: true; false when the request was
 * answered already (400 not a number, 404 "No such page of WHAT" past the last). *pages: how many there are. */
bool page_pick(const struct web_request *rq, struct web_reply *rp, size_t n_items, size_t per_page, const char *what,
               size_t *page, size_t *pages);
/* "Page 3 of 250: 1 … 2 3 4 … 250" (nothing for one page): links to path?query&page=N (query percent-encoded
 * already, may be ""). */
void page_put_pager(struct cw_buf *b, const char *path, const char *query, size_t page, size_t pages);
/* The Groups box of `/` (two groups or more): at most PAGE_GROUPS_MAX rows, the groups with a problem first when
 * there are more, and a link to `/groups`. gstates: page_count_states. */
#define PAGE_GROUPS_MAX 100
void page_put_groups(struct cw_buf *b, const struct web_model *m, const size_t *gstates);
/* A link to the group's own view, `/?group=NAME` (the ungrouped: `/?group=`), its name as the text. */
void page_put_group_link(struct cw_buf *b, const char *name);

/* `/style.css`: the one stylesheet of every page (cached for a while). */
void page_style(const struct web_request *rq, struct web_reply *rp);

#endif
