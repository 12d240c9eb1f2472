/* alerter/locwatch.c — HELLOs, the key check, location alerts and the LOCATIONS message (see locwatch.h). */
#include "alerter/locwatch.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerter/alert.h"
#include "common/base/clock.h"
#include "common/base/log.h"

void locwatch_init(struct locwatch *w, struct dispatch *d, struct bus_socket *sock)
{
    memset(w, 0, sizeof *w);
    w->d = d;
    w->sock = sock;
    w->rl_wrong.what = "wrong-location warnings";
    w->rl_bad.what = "malformed HELLO warnings";
}

void locwatch_configure(struct locwatch *w, const struct cw_config *cfg, int64_t now_mono)
{
    const char *names[CW_LOCATIONS_MAX];
    size_t n = config_location_names(cfg, names, CW_LOCATIONS_MAX);
    if (n > CW_LOCATIONS_MAX) n = CW_LOCATIONS_MAX;
    w->cfg = cfg;
    locations_build(&w->locs, names, n, cfg->location_silent_after, now_mono, cw_wall_us());
}

/* Whether m's sender may speak for location claimed ("": the own one), by the storer's rule too
 * (config_key_location); counted and logged when not. */
static bool key_allows(struct locwatch *w, const struct bus_msg *m, const char *claimed, const char *what)
{
    const char *allowed = config_key_location(w->cfg, m->peer_key),
               *as = claimed[0] ? claimed : config_own_location(w->cfg);
    if (!allowed || strcmp(as, allowed) == 0) return true; /* no key (no CURVE): it cannot be checked */
    w->wrong_location++;
    if (ratelimit_allow(&w->rl_wrong, cw_mono_ns()))
        log_warn("%s claiming location %s refused: key %s may only send for location %s", what, as, m->peer_key,
                 allowed);
    return false;
}

static void raise_location_alert(struct locwatch *w, const struct location_event *ev, int64_t now_mono)
{
    const struct location *l = &w->locs.all[ev->idx];
    char url[CW_PROTO_LOCATION_MAX + 16], detail[96] = "";
    snprintf(url, sizeof url, "location:%s", l->name);
    bool silent = ev->kind == LOCATION_WENT_SILENT;
    int64_t now_wall = cw_wall_us();
    struct alert_rec *al = alert_new(silent ? CW_ALERT_LOCATION_SILENT : CW_ALERT_LOCATION_BACK, url, l->name, NULL,
                                     ev->since_us, now_wall, ev->duration_us, 0, 0, now_wall);
    if (dispatch_find(w->d, al->id)) {
        alert_free(al);
        return;
    }
    if (silent && l->offset_us != CW_OFFSET_UNKNOWN)
        snprintf(detail, sizeof detail, "last clock offset %+.3f s", (double)l->offset_us / 1e6);
    else if (silent) snprintf(detail, sizeof detail, "clock offset unknown");
    free(al->detail);
    al->detail = cw_xstrdup(detail);
    al->severity = CW_SEV_WARNING;
    alert_update_message(al);
    log_warn("%s", al->message);
    dispatch_raise(w->d, w->cfg, al, w->cfg->check_interval, now_mono);
}

static void note_skew(const struct location *l, int change)
{
    if (change > 0)
        log_warn("location %s: its clock is %+.3f s off the central host's (above 1 s): its results' times are off "
                 "by as much",
                 l->name, (double)l->offset_us / 1e6);
    else if (change < 0) log_info("location %s: clock offset back to %+.3f s", l->name, (double)l->offset_us / 1e6);
}

/* Makes l heard from worker, raising its BACK alert when it comes back. */
static void heard(struct locwatch *w, struct location *l, uint32_t worker, int64_t now_mono)
{
    struct location_event ev;
    if (locations_heard(&w->locs, l, worker, now_mono, cw_wall_us(), &ev)) raise_location_alert(w, &ev, now_mono);
}

static void echo(struct locwatch *w, const struct bus_msg *m, const struct cw_hello *h, int64_t received_at)
{
    struct cw_hello_echo e = { .sent_at_us = h->sent_at_us, .received_at_us = received_at };
    w->buf.len = 0;
    if (proto_hello_echo_encode(&w->buf, &e) != 0) return;
    if (bus_send_to(w->sock, &m->peer, CW_MSG_HELLO_ECHO, w->buf.data, w->buf.len) == BUS_SENT) w->echoes++;
}

void locwatch_hello(struct locwatch *w, const struct bus_msg *m, int64_t now_mono)
{
    int64_t received_at = cw_wall_us();
    struct cw_hello h;
    const char *why = "";
    if (proto_hello_decode(m->data, m->len, &h, &why) != 0) {
        w->malformed_hellos++;
        if (ratelimit_allow(&w->rl_bad, cw_mono_ns())) log_warn("malformed HELLO dropped: %s", why);
        return;
    }
    w->hellos++;
    if (!key_allows(w, m, h.location, "a HELLO")) return;
    echo(w, m, &h, received_at);
    struct location *l = locations_find(&w->locs, h.location[0] ? h.location : config_own_location(w->cfg));
    if (!l) {
        w->unknown_location++;
        return;
    }
    heard(w, l, h.worker, now_mono);
    if (h.offset_us != CW_OFFSET_UNKNOWN)
        note_skew(l, locations_clock(&w->locs, l, h.worker, h.offset_us, h.rtt_us, now_mono));
}

bool locwatch_admit(struct locwatch *w, const struct bus_msg *m, const struct cw_result *r, int n, int64_t now_mono)
{
    for (int i = 0; i < n; i++)
        if (!key_allows(w, m, r[i].location ? r[i].location : "", "a result batch")) return false;
    for (int i = 0; i < n; i++) {
        const char *name = r[i].location && r[i].location[0] ? r[i].location : config_own_location(w->cfg);
        struct location *l = locations_find(&w->locs, name);
        if (l) heard(w, l, r[i].worker, now_mono);
        else w->unknown_location++;
    }
    return true;
}

void locwatch_tick(struct locwatch *w, int64_t now_mono)
{
    struct location_event ev[CW_LOCATIONS_MAX];
    size_t n = locations_tick(&w->locs, now_mono, cw_wall_us(), ev, CW_LOCATIONS_MAX);
    for (size_t i = 0; i < n; i++) raise_location_alert(w, &ev[i], now_mono);
}

void locwatch_publish(struct locwatch *w, struct bus_socket *pub, int64_t now_mono)
{
    if (!pub || w->locs.n == 0) return;
    static struct cw_locations_msg msg; /* 64 entries: not on the stack of every pass */
    locations_to_msg(&w->locs, now_mono, cw_wall_us(), &msg);
    w->buf.len = 0;
    if (proto_locations_encode(&w->buf, &msg) == 0) (void)bus_send(pub, CW_MSG_LOCATIONS, w->buf.data, w->buf.len);
}

void locwatch_free(struct locwatch *w)
{
    locations_free(&w->locs);
    cw_buf_free(&w->buf);
}
