/* web/api.h — clockwerk-web's JSON API, `/api/v1/…` (docs/api.md, docs/openapi.yaml): pure handlers of the model
 * (web/route.h) that write JSON with web/html.h's string escaper, so an answer is always valid JSON whatever a
 * name or an error holds. URLs are shown without credentials and with a query as "?***", like the pages.
 *
 *   /api/v1/endpoints                 the endpoints in config order, a page at a time (?limit= default 1000, at
 *                                     most 10000; ?offset=; `next`), filtered by ?q= ?state= ?group= (web/layout.h)
 *   /api/v1/endpoints/{id}            one, with its incidents and its last stored checks
 *   /api/v1/endpoints/{id}/history    ?res=day (90 daily cells, the snapshot) or ?res=hour (720 hourly points)
 *   /api/v1/incidents                 every endpoint's incidents, newest first (?limit=, at most 1000)
 *   /api/v1/locations                 every location as the alerter last told (web/api_locations.c)
 *
 * Routing: `/api/v1/endpoints/` is ONE prefix route; its needs_detail (api_endpoint_needs_detail) asks for the
 * endpoint's detail from the reader thread only for `{id}` (its last checks) and `{id}/history?res=hour`. Only
 * what uses the detail answers 503 when the detail failed or there is none (res=hour); `{id}` then has
 * "last_checks": null.
 * Errors are JSON {"error": "…"}: 400 a bad query value, 404 an unknown id or path, 503 history not available. */
#ifndef CW_WEB_API_H
#define CW_WEB_API_H

#include "web/route.h"

/* needs_detail of `/api/v1/endpoints/`: {id} (its last checks) and {id}/history?res=hour; not res=day (the
 * snapshot), a bad res (400) or another path (404). */
bool api_endpoint_needs_detail(const struct web_request *rq);

#define API_ENDPOINTS_DEFAULT 1000 /* endpoints per answer without ?limit= (issue 18: 500,000 would be ~450 MB) */
#define API_ENDPOINTS_MAX 10000    /* a larger ?limit= is cut to this (the answer's `limit` and `next` say so) */
#define API_INCIDENTS_DEFAULT 100
#define API_INCIDENTS_MAX 1000

void api_endpoints(const struct web_request *rq, struct web_reply *rp);
void api_endpoint(const struct web_request *rq, struct web_reply *rp); /* {id} and {id}/history */
void api_incidents(const struct web_request *rq, struct web_reply *rp);
void api_locations(const struct web_request *rq, struct web_reply *rp);

#endif
