/* web/api_json.h — the JSON pieces the API's handlers share (web/api.c, web/api_endpoint.c): errors, times,
 * milliseconds, uptimes, an endpoint object, an incident object, and the query's whole numbers. The field names
 * and units are the contract of docs/api.md and docs/openapi.yaml. */
#ifndef CW_WEB_API_JSON_H
#define CW_WEB_API_JSON_H

#include <stdbool.h>
#include <stdint.h>

#include "common/base/util.h"
#include "web/route.h"

/* Replaces the reply with {"error": message} and the status. */
void api_error(struct web_reply *rp, int status, const char *message);
/* Opens the answer's object: {"generated_at":…,"history_at":… (the caller goes on with ",…" and closes it). */
void api_begin(const struct web_request *rq, struct web_reply *rp);
/* "2026-12-05T02:30:00.123Z", or null when ms <= 0 (unknown). */
void api_put_time_ms(struct cw_buf *b, int64_t ms);
/* Milliseconds with three decimals, or null when !known. */
void api_put_ms(struct cw_buf *b, double ms, bool known);
/* ok / checks in percent (four decimals), null when checks == 0. */
void api_put_uptime(struct cw_buf *b, int64_t checks, int64_t ok);
/* {"dns":…,"connect":…,"tls":…,"ttfb":…} in ms from microseconds; < 0 (not reached) is null. */
void api_put_phases(struct cw_buf *b, const int64_t us[WEB_PHASES]);
/* The Endpoint object. */
void api_put_endpoint(struct cw_buf *b, const struct web_endpoint *e);
/* The Endpoint object's ",\"quorum\":N,\"locations\":[…]" (web/api_locations.c). */
void api_put_endpoint_locations(struct cw_buf *b, const struct web_endpoint *e);
/* The Incident object; with "endpoint" first when endpoint_id is not NULL. An open one lasts until now_ms. */
void api_put_incident(struct cw_buf *b, const struct web_incident *in, const char *endpoint_id, int64_t now_ms);
/* Whether the query has key (with or without a value). */
bool api_arg_given(const struct web_request *rq, const char *key);
/* The whole number in ?key= into *out, untouched when absent: 0, or -1 when it is given but not a number from 0 to
 * max (a key without a value too). */
int api_arg_uint(const struct web_request *rq, const char *key, uint64_t max, uint64_t *out);

#endif
