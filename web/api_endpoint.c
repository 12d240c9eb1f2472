/* web/api_endpoint.c — `/api/v1/endpoints/{id}` (one endpoint with its incidents and last stored checks) and
 * `/api/v1/endpoints/{id}/history?res=day|hour` (see web/api.h). One prefix route that needs the detail: rq->rest
 * is "{id}" or "{id}/history". */
#include "web/api.h"

#include "history/window.h"
#include "common/base/clock.h"
#include "web/api_json.h"
#include "web/figures.h"
#include "web/html.h"

#include <inttypes.h>
#include <string.h>

static void put_stored_check(struct cw_buf *b, const struct web_detail_check *c)
{
    put_cstr(b, "{\"at\":");
    api_put_time_ms(b, c->checked_at_ms);
    cw_buf_printf(b, ",\"ok\":%s,\"status_code\":", c->ok ? "true" : "false");
    if (c->status_code > 0) cw_buf_printf(b, "%d", c->status_code);
    else put_cstr(b, "null");
    put_cstr(b, ",\"latency_ms\":");
    api_put_ms(b, c->latency_us / 1000.0, c->latency_us >= 0);
    put_cstr(b, ",\"phases_ms\":");
    api_put_phases(b, c->phase_us);
    put_cstr(b, ",\"error\":");
    web_json_string(b, c->error);
    put_cstr(b, ",\"details\":");
    web_put_details(b, c->details);
    put_cstr(b, "}");
}

static void answer_one(const struct web_request *rq, struct web_reply *rp, const struct web_endpoint *e)
{
    struct cw_buf *b = &rp->body;
    const struct web_ep_history *h = e->hist;
    int64_t now_ms = rq->model->history ? rq->model->history->read_at_ms : cw_wall_us() / 1000;
    api_begin(rq, rp);
    put_cstr(b, ",\"endpoint\":");
    api_put_endpoint(b, e);
    put_cstr(b, ",\"incidents\":");
    if (h) {
        const struct web_ep_more *x = web_ep_more(h);
        put_cstr(b, "[");
        for (size_t i = 0; i < x->n_incidents; i++) {
            if (i) put_cstr(b, ",");
            api_put_incident(b, &x->incidents[i], NULL, now_ms);
        }
        cw_buf_printf(b, "],\"incidents_older\":%u", x->incidents_older);
    } else {
        put_cstr(b, "null,\"incidents_older\":0");
    }
    const struct web_detail *d = rq->detail;
    /* database.raw: which checks last_checks can hold ("all": every one, "failures": the kept ones, "none": none) */
    cw_buf_printf(b, ",\"raw\":\"%s\"", config_raw_name(rq->cfg ? rq->cfg->db_raw : CW_RAW_ALL));
    put_cstr(b, ",\"last_checks\":");
    if (d && !d->error) {
        put_cstr(b, "[");
        for (size_t i = 0; i < d->n_checks && i < WEB_DETAIL_CHECKS; i++) {
            if (i) put_cstr(b, ",");
            put_stored_check(b, &d->checks[i]);
        }
        put_cstr(b, "]");
    } else {
        put_cstr(b, "null");
    }
    put_cstr(b, ",\"history_error\":");
    web_json_string(b, d ? d->error : NULL);
    put_cstr(b, "}\n");
}

/* The 90 UTC days, exact, from the detail (read with the snapshot's reads: web_history_days_read); [] when no
 * snapshot was read yet, days without checks when the database does not know e. The snapshot keeps only what the
 * bar shows of a day. */
static void put_days(struct cw_buf *b, const struct web_model *m, const struct web_detail *det)
{
    put_cstr(b, "[");
    for (int i = 0; m->history && i < WEB_DAYS; i++) {
        static const struct web_day none;
        const struct web_day *d = det && det->has_days ? &det->days[i] : &none;
        put_cstr(b, i ? ",\n{\"start\":" : "{\"start\":");
        api_put_time_ms(b, m->history->day0_ms + i * WIN_DAY_MS);
        cw_buf_printf(b, ",\"checks\":%" PRIu32 ",\"ok\":%" PRIu32 ",\"uptime_percent\":", d->checks, d->ok);
        api_put_uptime(b, d->checks, d->ok);
        put_cstr(b, ",\"p95_ms\":");
        api_put_ms(b, d->p95_us / 1000.0, d->p95_us > 0);
        cw_buf_printf(b, ",\"down_seconds\":%" PRIu32 ",\"incidents\":%u}", d->down_s, (unsigned)d->incidents);
    }
    put_cstr(b, "]");
}

/* The 720 hours of the detail, oldest first. */
static void put_hours(struct cw_buf *b, const struct web_detail *d)
{
    int64_t first = d->read_at_ms / WIN_HOUR_MS * WIN_HOUR_MS - (WEB_DETAIL_HOURS - 1) * WIN_HOUR_MS;
    put_cstr(b, "[");
    for (int i = 0; i < WEB_DETAIL_HOURS; i++) {
        const struct web_detail_hour *h = &d->hours[i];
        put_cstr(b, i ? ",\n{\"start\":" : "{\"start\":");
        api_put_time_ms(b, h->start_ms > 0 ? h->start_ms : first + i * WIN_HOUR_MS);
        cw_buf_printf(b, ",\"checks\":%" PRIu32 ",\"ok\":%" PRIu32 ",\"uptime_percent\":", h->checks, h->ok);
        api_put_uptime(b, h->checks, h->ok);
        put_cstr(b, ",\"p50_ms\":");
        api_put_ms(b, h->p50_us / 1000.0, h->has_latency);
        put_cstr(b, ",\"p95_ms\":");
        api_put_ms(b, h->p95_us / 1000.0, h->has_latency);
        int64_t phases[WEB_PHASES];
        for (int k = 0; k < WEB_PHASES; k++)
            phases[k] = h->has_latency && h->phase_mean_us[k] ? (int64_t)h->phase_mean_us[k] : -1;
        put_cstr(b, ",\"phases_ms\":");
        api_put_phases(b, phases);
        put_cstr(b, "}");
    }
    put_cstr(b, "]");
}

/* ?res: 1 hour, 0 day (the default), -1 a bad value (400). */
static int res_hourly(const struct web_request *rq)
{
    const char *res = web_request_arg(rq, "res");
    if (api_arg_given(rq, "res") && (!res || (strcmp(res, "day") != 0 && strcmp(res, "hour") != 0))) return -1;
    return res && strcmp(res, "hour") == 0;
}

bool api_endpoint_needs_detail(const struct web_request *rq)
{
    const char *tail = rq->rest + strcspn(rq->rest, "/");
    return *tail == '\0' || (strcmp(tail, "/history") == 0 && res_hourly(rq) >= 0);
}

static void answer_history(const struct web_request *rq, struct web_reply *rp, const struct web_endpoint *e)
{
    int hourly = res_hourly(rq);
    if (hourly < 0) {
        api_error(rp, 400, "res must be day or hour");
        return;
    }
    const struct web_detail *d = rq->detail;
    if ((hourly && !d) || (d && d->error)) {
        api_error(rp, 503, d ? d->error : "history not available: this web reads no history (yet)");
        return;
    }
    struct cw_buf *b = &rp->body;
    cw_buf_reserve(b, hourly ? WEB_DETAIL_HOURS * 200 : WEB_DAYS * 150);
    api_begin(rq, rp);
    cw_buf_printf(b, ",\"id\":\"%s\",\"res\":\"%s\",\"points\":", e->id, hourly ? "hour" : "day");
    if (hourly) put_hours(b, d);
    else put_days(b, rq->model, d);
    put_cstr(b, "}\n");
}

void api_endpoint(const struct web_request *rq, struct web_reply *rp)
{
    const char *tail;
    const struct web_endpoint *e = web_model_by_path(rq->model, rq->rest, &tail);
    bool history = strcmp(tail, "/history") == 0;
    if (*tail && !history) {
        api_error(rp, 404, "no such path");
        return;
    }
    if (!e) {
        api_error(rp, 404, "no such endpoint");
        return;
    }
    if (history) answer_history(rq, rp, e);
    else answer_one(rq, rp, e);
}
