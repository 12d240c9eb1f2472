/* tests/unit/locvotes_test_util.h — a small alerter for the quorum tests (test_location_votes.c,
 * test_location_hold.c): one endpoint checked from fra, nyc and sgp (quorum 2 of 3, alert_threshold 2), one from fra
 * only, the endpoint table with its dispatch and outbox, and the locations central, fra, nyc, sgp heard at 1 s.
 * Header-only (static functions), for the tests only. */
#ifndef CW_TESTS_LOCVOTES_TEST_UTIL_H
#define CW_TESTS_LOCVOTES_TEST_UTIL_H

#include "alerter/alert.h"
#include "alerter/dispatch.h"
#include "alerter/endpoints.h"
#include "alerter/locations.h"
#include "alerter/outbox.h"
#include "alerter/persist.h"
#include "alerter/statefile.h"
#include "alerter/storeq.h"
#include "common/config/config.h"

#define S 1000000LL
#define WALL0 (1700000000LL * S)
#define URL "http://shop.test/"
#define SOLO "http://solo.test/"

static char *three[] = { "fra", "nyc", "sgp" };
static char *only_fra[] = { "fra" };
static const char *const names[] = { "central", "fra", "nyc", "sgp" };

struct world {
    struct cw_config cfg;
    struct cw_endpoint eps[2];
    struct outbox *ob;
    struct storeq rec;
    struct dispatch d;
    struct endpoints t;
    struct locations locs;
};

static void world_init(struct world *w)
{
    memset(w, 0, sizeof *w);
    w->eps[0] = (struct cw_endpoint){ .url = URL,
                                      .interval = 1,
                                      .alert_threshold = 2,
                                      .recovery_threshold = 1,
                                      .locations = three,
                                      .n_locations = 3,
                                      .quorum = 2 };
    w->eps[1] = (struct cw_endpoint){ .url = SOLO,
                                      .interval = 1,
                                      .alert_threshold = 2,
                                      .recovery_threshold = 1,
                                      .locations = only_fra,
                                      .n_locations = 1,
                                      .quorum = CW_QUORUM_MAJORITY };
    w->cfg.endpoints = w->eps;
    w->cfg.n_endpoints = 2;
    w->cfg.recovery_threshold = 1;
    w->cfg.group_threshold = 5;
    w->cfg.location = "central";
    w->ob = outbox_new(&w->cfg, dispatch_on_delivery, &w->d);
    dispatch_init(&w->d, w->ob, &w->rec);
    endpoints_init(&w->t, &w->d);
    endpoints_build(&w->t, &w->cfg);
    locations_build(&w->locs, names, 4, 10, 0, WALL0);
    struct location_event ev;
    for (size_t i = 0; i < 4; i++) locations_heard(&w->locs, &w->locs.all[i], 0, 1 * S, WALL0 + 1 * S, &ev);
    w->t.locs = &w->locs;
}

static void world_free(struct world *w)
{
    endpoints_free(&w->t);
    dispatch_free(&w->d);
    outbox_free(w->ob);
    locations_free(&w->locs);
}

/* One result of loc on url, checked at `at`, by a worker of that boot. */
__attribute__((unused)) static enum intake_verdict feed_boot(struct world *w, const char *url, const char *loc,
                                                             int64_t at, bool ok, uint64_t boot)
{
    struct cw_result r = { .worker = 0,
                           .boot_id = boot,
                           .seq = 1,
                           .checked_at_us = at,
                           .latency_us = 1000,
                           .status_code = ok ? 200 : 500,
                           .ok = ok,
                           .url = url,
                           .error = ok ? NULL : "HTTP 500",
                           .location = loc };
    return endpoints_apply(&w->t, &r, 0);
}

/* "fra:F" at t: fra's result failed ('F') or ok ('o') at WALL0 + t seconds. */
struct step {
    const char *loc;
    int t;
    char outcome;
};

static enum intake_verdict feed(struct world *w, const char *url, const char *loc, int64_t at, bool ok)
{
    return feed_boot(w, url, loc, at, ok, 7);
}

static void replay(struct world *w, const struct step *steps, size_t n)
{
    for (size_t i = 0; i < n; i++)
        assert_int_equal(feed(w, URL, steps[i].loc, WALL0 + steps[i].t * S, steps[i].outcome == 'o'), INTAKE_APPLIED);
}

__attribute__((unused)) static const struct alert_rec *only_alert(const struct world *w, uint8_t kind)
{
    const struct alert_rec *found = NULL;
    for (size_t i = 0; i < w->d.n_alerts; i++) {
        if (w->d.alerts[i]->kind != kind) continue;
        assert_null(found);
        found = w->d.alerts[i];
    }
    assert_non_null(found);
    return found;
}

__attribute__((unused)) static size_t count_kind(const struct world *w, uint8_t kind)
{
    size_t n = 0;
    for (size_t i = 0; i < w->d.n_alerts; i++) n += w->d.alerts[i]->kind == kind;
    return n;
}

/* The locations named (NULL-terminated) are heard at WALL0 + t seconds (monotonic: t seconds); returns how many of
 * them came back. */
__attribute__((unused)) static unsigned hear(struct world *w, int t, const char *const *which)
{
    struct location_event ev;
    unsigned back = 0;
    for (; *which; which++)
        back += locations_heard(&w->locs, locations_find(&w->locs, *which), 0, t * S, WALL0 + t * S, &ev);
    return back;
}

/* Judges silence at t seconds: how many went silent. */
__attribute__((unused)) static size_t tick(struct world *w, int t)
{
    struct location_event ev[4];
    return locations_tick(&w->locs, t * S, WALL0 + t * S, ev, 4);
}

#endif
