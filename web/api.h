/* web/api.h — clockwerk-web's JSON API, `/api/v1/…` (docs/api.md, docs/openapi.yaml): pure handlers of the model
 * (web/route.h) that write JSON with web/html.h's string escaper, so an answer is always valid JSON whatever a
 * name or an error holds. URLs are shown without credentials and with a query as "?***", like the pages.
 *
 *   /api/v1/endpoints                 every endpoint (?limit=&offset= pages it), config order
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

#define API_INCIDENTS_DEFAULT 100
#define API_INCIDENTS_MAX 1000

void api_endpoints(const struct web_request *rq, struct web_reply *rp);
void api_endpoint(const struct web_request *rq, struct web_reply *rp); /* {id} and {id}/history */
void api_incidents(const struct web_request *rq, struct web_reply *rp);
void api_locations(const struct web_request *rq, struct web_reply *rp);

#endif
