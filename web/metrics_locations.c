/* web/metrics_locations.c — the locations' part of /metrics (issue 16, docs/web.md "Metrics"): per location the
 * alerter knows, from its last CW_MSG_LOCATIONS, whether it is live, when it was last heard and its clock's
 * offset. Left out while no message came, or when the last one is older than WEB_STATS_STALE_NS (the alerter is
 * not publishing: a stale "live" would lie). */
#include "web/metrics.h"

#include "web/html.h"

static void open_line(struct cw_buf *b, const char *name, const struct web_location *l)
{
    put_cstr(b, name);
    put_cstr(b, "{location=\"");
    web_metrics_label_value(b, l->name);
    put_cstr(b, "\"} ");
}

void web_metrics_locations(struct cw_buf *b, const struct web_model *m, int64_t now_mono_ns)
{
    const struct web_locations *w = &m->locations;
    if (w->received_mono_ns == 0 || now_mono_ns - w->received_mono_ns > WEB_STATS_STALE_NS) return;
    web_metrics_header(
        b, "clockwerk_location_up", "gauge",
        "1 while the alerter hears from the location (a heartbeat or a result within location_silent_after), "
        "0 when it is silent; absent while unknown (not heard since the alerter started).");
    for (unsigned i = 0; i < w->n; i++) {
        if (w->v[i].state == CW_LOCATION_UNKNOWN) continue;
        open_line(b, "clockwerk_location_up", &w->v[i]);
        put_cstr(b, w->v[i].state == CW_LOCATION_LIVE ? "1\n" : "0\n");
    }
    web_metrics_header(
        b, "clockwerk_location_clock_offset_seconds", "gauge",
        "The location's clock minus the central host's (its workers' best measurement); absent while unknown.");
    for (unsigned i = 0; i < w->n; i++) {
        if (w->v[i].offset_us == CW_OFFSET_UNKNOWN) continue;
        open_line(b, "clockwerk_location_clock_offset_seconds", &w->v[i]);
        web_metrics_us_as_seconds(b, w->v[i].offset_us);
        put_cstr(b, "\n");
    }
    web_metrics_header(b, "clockwerk_location_last_heard_timestamp_seconds", "gauge",
                       "When the alerter last heard from the location (Unix time); absent when never.");
    for (unsigned i = 0; i < w->n; i++) {
        if (w->v[i].last_heard_us <= 0) continue;
        open_line(b, "clockwerk_location_last_heard_timestamp_seconds", &w->v[i]);
        web_metrics_us_as_seconds(b, w->v[i].last_heard_us);
        put_cstr(b, "\n");
    }
}
