/* web/api_locations.c — locations in the JSON API (issue 16, docs/api.md): the `locations` array of an Endpoint
 * object (its last check and state at each place it is checked from) and `/api/v1/locations` (each location as
 * the alerter last told: live, silent or unknown, last heard, clock offset). */
#include "web/api.h"

#include "common/base/clock.h"
#include "web/api_json.h"
#include "web/html.h"

#include <inttypes.h>
#include <stdlib.h>

void api_put_endpoint_locations(struct cw_buf *b, const struct web_endpoint *e)
{
    const struct web_live *l = &e->live;
    cw_buf_printf(b, ",\"quorum\":%u,\"locations\":[", l->n_locs > 1 ? config_quorum_required(e->cfg) : 1u);
    for (size_t i = 0; i < l->n_locs; i++) {
        const struct web_loc *loc = &l->locs[i];
        put_cstr(b, i ? ",{\"name\":" : "{\"name\":");
        web_json_string(b, loc->name);
        cw_buf_printf(b, ",\"state\":\"%s\",\"ok\":", web_state_name(web_loc_state(loc)));
        put_cstr(b, !loc->has_check ? "null" : loc->ok ? "true" : "false");
        put_cstr(b, ",\"latency_ms\":");
        api_put_ms(b, web_us(loc->latency) / 1000.0, loc->has_check && web_us(loc->latency) >= 0);
        put_cstr(b, ",\"checked_at\":");
        api_put_time_ms(b, loc->has_check ? loc->checked_at_us / 1000 : 0);
        put_cstr(b, ",\"error\":");
        web_json_string(b, loc->error);
        put_cstr(b, "}");
    }
    put_cstr(b, "]");
}

void api_locations(const struct web_request *rq, struct web_reply *rp)
{
    const struct web_model *m = rq->model;
    struct web_location rows[2 * CW_LOCATIONS_MAX + 1];
    size_t n = web_location_rows(m, rows, sizeof rows / sizeof rows[0]);
    struct cw_buf *b = &rp->body;
    api_begin(rq, rp);
    put_cstr(b, ",\"as_of\":");
    api_put_time_ms(b, m->locations.at_us / 1000);
    put_cstr(b, ",\"locations\":[");
    for (size_t i = 0; i < n; i++) {
        const struct web_location *l = &rows[i];
        put_cstr(b, i ? ",\n{\"name\":" : "{\"name\":");
        web_json_string(b, l->name);
        cw_buf_printf(b, ",\"state\":\"%s\",\"last_heard\":", proto_location_state_name(l->state));
        api_put_time_ms(b, l->last_heard_us / 1000);
        put_cstr(b, ",\"clock_offset_seconds\":");
        if (l->offset_us == CW_OFFSET_UNKNOWN) put_cstr(b, "null");
        else cw_buf_printf(b, "%.6f", l->offset_us / 1e6);
        bool skewed = l->offset_us != CW_OFFSET_UNKNOWN && llabs(l->offset_us) > CW_CLOCK_SKEW_WARN_US;
        cw_buf_printf(b, ",\"clock_warning\":%s,\"rtt_ms\":", skewed ? "true" : "false");
        api_put_ms(b, l->rtt_us / 1000.0, l->rtt_us >= 0);
        cw_buf_printf(b, ",\"workers\":%" PRIu32 "}", l->workers);
    }
    put_cstr(b, "]}\n");
}
