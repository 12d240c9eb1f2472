/* web/page_locations.c — what the HTML pages show of locations (issue 16, docs/web.md "Locations"): a chip per
 * location of an endpoint checked in several (its own state there and its last latency), the table of those
 * locations on the endpoint's page, and the Locations box of `/` (each location's state as the alerter last
 * told, when it was last heard, its clock's offset: a warning above 1 s). */
#include "web/page_common.h"

#include "common/base/clock.h"
#include "web/html.h"

#include <inttypes.h>
#include <stdlib.h>

#define STALE_LOCATIONS_NS (30LL * 1000000000LL) /* no CW_MSG_LOCATIONS for this long: the box says so */

static bool silent_there(const struct web_model *m, const struct web_loc *loc)
{
    const struct web_location *known = web_location_find(m, loc->name);
    return known && known->state == CW_LOCATION_SILENT;
}

static void put_chip(struct cw_buf *b, const struct web_model *m, const struct web_loc *loc)
{
    enum web_state st = web_loc_state(loc);
    bool silent = silent_there(m, loc);
    const char *state = web_state_name(st);
    cw_buf_printf(b, "<span class=\"chip %s%s\" title=\"", state, silent ? " silent" : "");
    web_html_text(b, loc->name);
    cw_buf_printf(b, ": %s%s", state, silent ? " (location silent: left out of the quorum)" : "");
    if (loc->has_check) {
        put_cstr(b, ", last check ");
        page_put_time_ms(b, loc->checked_at_us / 1000, false);
    }
    if (loc->error) {
        put_cstr(b, ": ");
        web_html_text(b, loc->error);
    }
    put_cstr(b, "\">");
    web_html_text(b, loc->name);
    put_cstr(b, " ");
    if (st == WEB_STATE_UP && web_us(loc->latency) >= 0) page_put_latency_ms(b, web_us(loc->latency) / 1000.0);
    else put_cstr(b, state);
    put_cstr(b, "</span>");
}

void page_put_location_chips(struct cw_buf *b, const struct web_model *m, const struct web_endpoint *e)
{
    if (e->live.n_locs < 2) return;
    put_cstr(b, "<div class=\"chips\">");
    for (size_t i = 0; i < e->live.n_locs; i++) put_chip(b, m, &e->live.locs[i]);
    put_cstr(b, "</div>");
}

void page_put_location_table(struct cw_buf *b, const struct web_model *m, const struct web_endpoint *e)
{
    if (e->live.n_locs < 2) return;
    cw_buf_printf(b,
                  "<h2>Locations</h2><p class=\"muted\">Down when %u of its %u locations see it down (each after "
                  "%d failed checks in a row); a silent location is left out.</p>",
                  config_quorum_required(e->cfg), e->live.n_locs, e->cfg->alert_threshold);
    put_cstr(b, "<table id=\"ep-locations\"><thead><tr><th>Location</th><th>State</th><th>Last check</th>"
                "<th>Latency</th><th>Error</th></tr></thead><tbody>");
    for (size_t i = 0; i < e->live.n_locs; i++) {
        const struct web_loc *loc = &e->live.locs[i];
        const char *state = web_state_name(web_loc_state(loc));
        put_cstr(b, "<tr><td>");
        web_html_text(b, loc->name);
        cw_buf_printf(b, "</td><td class=\"state %s\">%s%s</td><td>", state, state,
                      silent_there(m, loc) ? " (silent)" : "");
        if (loc->has_check) page_put_time_ms(b, loc->checked_at_us / 1000, false);
        put_cstr(b, "</td><td class=\"n\">");
        page_put_latency_ms(b, loc->has_check && web_us(loc->latency) >= 0 ? web_us(loc->latency) / 1000.0 : -1);
        put_cstr(b, "</td><td>");
        if (loc->error) web_html_text(b, loc->error);
        put_cstr(b, "</td></tr>");
    }
    put_cstr(b, "</tbody></table>\n");
}

/* "+0.012 s" (warning class above 1 s either way), "–" when unknown. */
static void put_offset(struct cw_buf *b, int64_t offset_us)
{
    if (offset_us == CW_OFFSET_UNKNOWN) {
        put_cstr(b, "<td class=\"n\">\xE2\x80\x93</td>");
        return;
    }
    bool warn = llabs(offset_us) > CW_CLOCK_SKEW_WARN_US;
    cw_buf_printf(b, "<td class=\"n%s\"%s>%+.3f s</td>", warn ? " clockwarn" : "",
                  warn ? " title=\"clock skew above 1 s: its results' times are off by that much\"" : "",
                  offset_us / 1e6);
}

void page_put_locations_box(struct cw_buf *b, const struct web_model *m, int64_t now_mono_ns)
{
    if (!web_model_has_locations(m)) return;
    struct web_location rows[2 * CW_LOCATIONS_MAX + 1];
    size_t n = web_location_rows(m, rows, sizeof rows / sizeof rows[0]);
    int64_t now_us = cw_wall_us();
    put_cstr(b, "<h2>Locations</h2>");
    if (m->locations.received_mono_ns == 0)
        put_cstr(b, "<p class=\"muted\" id=\"locations-none\">The alerter has not told the locations' states yet.</p>");
    else if (now_mono_ns - m->locations.received_mono_ns > STALE_LOCATIONS_NS) {
        put_cstr(b, "<p class=\"down\" id=\"locations-stale\">As the alerter told at ");
        page_put_time_ms(b, m->locations.at_us / 1000, false);
        put_cstr(b, ": nothing from it since.</p>");
    }
    put_cstr(b, "<table id=\"locations\"><thead><tr><th>Location</th><th>State</th>"
                "<th>Last heard</th><th>Clock offset</th><th>Workers</th></tr></thead><tbody>");
    for (size_t i = 0; i < n; i++) {
        const struct web_location *l = &rows[i];
        const char *state = proto_location_state_name(l->state);
        put_cstr(b, "<tr><td>");
        web_html_text(b, l->name);
        cw_buf_printf(b, "</td><td class=\"state loc-%s\">%s</td><td class=\"n\">", state, state);
        if (l->last_heard_us > 0) {
            page_put_duration_ms(b, now_us > l->last_heard_us ? (now_us - l->last_heard_us) / 1000 : 0);
            put_cstr(b, " ago");
        } else {
            put_cstr(b, "never");
        }
        put_cstr(b, "</td>");
        put_offset(b, l->offset_us);
        cw_buf_printf(b, "<td class=\"n\">%" PRIu32 "</td></tr>", l->workers);
    }
    put_cstr(b, "</tbody></table>\n");
}
