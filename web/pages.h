/* web/pages.h — the HTML handlers of clockwerk-web: the status page (`/`), one endpoint's page, `/healthz` and
 * `/favicon.ico`. Each is a pure function of the request (web/route.h). */
#ifndef CW_WEB_PAGES_H
#define CW_WEB_PAGES_H

#include "web/route.h"

/* After this long without any message from the bus (workers publish stats every second) /healthz says 503. */
#define WEB_BUS_QUIET_NS (15000000000LL)
#define WEB_HISTORY_STALE_PERIODS 3 /* /healthz: 503 once the history is older than this many web.history_refresh */

/* `/` (web/page_index.c): the status page, `?page=N`. */
void page_index(const struct web_request *rq, struct web_reply *rp);
/* `/groups` (web/page_groups.c): every group and its count per state, PAGE_GROUPS_MAX a page (`?page=N`),
 * `?q=` keeps the groups whose name has it. */
void page_groups(const struct web_request *rq, struct web_reply *rp);
/* `/endpoint/ID` (web/page_endpoint.c; a needs_detail route): one endpoint, `?window=24h|7d|30d`. */
void page_endpoint(const struct web_request *rq, struct web_reply *rp);
/* Its needs_detail: `/endpoint/ID` with no window or a good one (not a 400 or 404). */
bool page_endpoint_needs_detail(const struct web_request *rq);
void page_healthz(const struct web_request *rq, struct web_reply *rp);
void page_favicon(const struct web_request *rq, struct web_reply *rp);

#endif
