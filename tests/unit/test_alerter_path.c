/* tests/unit/test_alerter_path.c — the alerter's result path past the intake: the endpoint table
 * (alerter/endpoints.c: lookups, results applied, late ones refused, alerts handed to the dispatch, a
 * rebuild that keeps states), what the dispatch reports as unsaved, the save policy (alerter/savepolicy.c)
 * and the state file assembled and given back (alerter/persist.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "alerter/dispatch.h"
#include "alerter/endpoints.h"
#include "alerter/outbox.h"
#include "alerter/persist.h"
#include "alerter/savepolicy.h"
#include "alerter/statefile.h"
#include "alerter/storeq.h"
#include "common/base/clock.h"
#include "common/config/config.h"

#define S 1000000LL

/* ---- the save policy */

static void savepolicy_levels(void **state)
{
    (void)state;
    struct savepolicy sp = { 0 };
    savepolicy_saved(&sp, 100 * S);
    assert_false(savepolicy_due(&sp, 200 * S, false));
    assert_int_equal(savepolicy_deadline(&sp, false), INT64_MAX);
    assert_int_equal(savepolicy_deadline(&sp, true), 100 * S + SAVE_ACK_US);

    savepolicy_note(&sp, SAVE_LIGHT);
    assert_false(savepolicy_due(&sp, 100 * S + SAVE_LIGHT_US - 1, false));
    assert_true(savepolicy_due(&sp, 100 * S + SAVE_ACK_US, true)); /* acks waiting: sooner */
    assert_true(savepolicy_due(&sp, 100 * S + SAVE_LIGHT_US, false));
    assert_int_equal(savepolicy_deadline(&sp, false), 100 * S + SAVE_LIGHT_US);

    savepolicy_note(&sp, SAVE_SOON);
    savepolicy_note(&sp, SAVE_LIGHT); /* a lower level changes nothing */
    assert_int_equal(sp.need, SAVE_SOON);
    assert_false(savepolicy_due(&sp, 100 * S + SAVE_SOON_US - 1, false));
    assert_true(savepolicy_due(&sp, 100 * S + SAVE_SOON_US, false));
    assert_int_equal(savepolicy_deadline(&sp, true), 100 * S + SAVE_SOON_US);

    savepolicy_note(&sp, SAVE_NOW);
    assert_true(savepolicy_due(&sp, 100 * S, false));
    savepolicy_saved(&sp, 101 * S);
    assert_int_equal(sp.need, SAVE_NONE);
    assert_int_equal(sp.last_save_us, 101 * S);
}

/* A failed save keeps what was noted (so acks stay held: main.c flushes them only at SAVE_NONE) and waits
 * SAVE_RETRY_US before the next try; a later good save clears both. */
static void savepolicy_failure_keeps_need(void **state)
{
    (void)state;
    struct savepolicy sp = { 0 };
    savepolicy_saved(&sp, 100 * S);
    savepolicy_note(&sp, SAVE_NOW);
    assert_true(savepolicy_due(&sp, 100 * S, false));
    savepolicy_failed(&sp, 100 * S);
    assert_int_equal(sp.need, SAVE_NOW);
    assert_false(savepolicy_due(&sp, 100 * S + SAVE_RETRY_US - 1, true));
    assert_int_equal(savepolicy_deadline(&sp, true), 100 * S + SAVE_RETRY_US);
    assert_true(savepolicy_due(&sp, 100 * S + SAVE_RETRY_US, true));
    savepolicy_saved(&sp, 102 * S);
    assert_int_equal(sp.need, SAVE_NONE);
    assert_int_equal(sp.retry_at_us, 0);
    savepolicy_note(&sp, SAVE_NOW);
    assert_true(savepolicy_due(&sp, 102 * S, false));
}

/* ---- the endpoint table and the dispatch */

struct world {
    struct cw_config cfg;
    struct cw_endpoint eps[3];
    struct outbox *ob;
    struct storeq rec;
    struct dispatch d;
    struct endpoints t;
};

static void world_config(struct world *w, const char *const *urls, size_t n)
{
    memset(&w->cfg, 0, sizeof w->cfg);
    memset(w->eps, 0, sizeof w->eps);
    for (size_t i = 0; i < n; i++)
        w->eps[i] = (struct cw_endpoint){ .url = (char *)urls[i], .interval = 1, .alert_threshold = 2 };
    w->cfg.endpoints = w->eps;
    w->cfg.n_endpoints = n;
    w->cfg.recovery_threshold = 1;
    w->cfg.group_threshold = 5;
    w->cfg.workers = 2;
}

static void world_init(struct world *w)
{
    memset(w, 0, sizeof *w);
    static const char *const urls[] = { "http://a.test/", "http://b.test/" };
    world_config(w, urls, 2);
    w->ob = outbox_new(&w->cfg, dispatch_on_delivery, &w->d);
    dispatch_init(&w->d, w->ob, &w->rec);
    endpoints_init(&w->t, &w->d);
    endpoints_build(&w->t, &w->cfg);
}

static void world_free(struct world *w)
{
    endpoints_free(&w->t);
    dispatch_free(&w->d);
    outbox_free(w->ob);
}

static enum intake_verdict feed(struct world *w, const char *url, uint64_t boot, int64_t at, bool ok)
{
    struct cw_result r = { .worker = 0,
                           .boot_id = boot,
                           .seq = 1,
                           .checked_at_us = at,
                           .latency_us = 1000,
                           .status_code = ok ? 200 : 500,
                           .ok = ok,
                           .url = url,
                           .error = ok ? NULL : "HTTP 500" };
    return endpoints_apply(&w->t, &r, 0);
}

static void endpoints_results_to_alerts(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    assert_non_null(endpoints_find(&w.t, "http://b.test/"));
    assert_null(endpoints_find(&w.t, "http://c.test/"));

    assert_int_equal(feed(&w, "http://c.test/", 1, 10 * S, false), INTAKE_IGNORED);
    assert_int_equal(w.t.unknown_urls, 1);

    assert_int_equal(feed(&w, "http://a.test/", 1, 10 * S, false), INTAKE_APPLIED);
    assert_int_equal(w.d.n_alerts, 0);
    assert_int_equal(dispatch_take_unsaved(&w.d), SAVE_NONE);
    assert_int_equal(feed(&w, "http://a.test/", 1, 11 * S, false), INTAKE_APPLIED);
    assert_int_equal(w.d.n_alerts, 1); /* DOWN after two failures, held in the window */
    assert_string_equal(endpoints_find(&w.t, "http://a.test/")->last.error, "HTTP 500");
    assert_int_equal(dispatch_take_unsaved(&w.d), SAVE_SOON);
    assert_int_equal(dispatch_take_unsaved(&w.d), SAVE_NONE); /* taken */

    /* another boot's older result would make it flap: late */
    assert_int_equal(feed(&w, "http://a.test/", 2, 9 * S, true), INTAKE_LATE);
    assert_int_equal(endpoints_find(&w.t, "http://a.test/")->st.avail, ASTATE_DOWN);

    /* the window closes: no channel configured, so the alert is done and forgotten at once */
    dispatch_release(&w.d, &w.cfg, INT64_MAX / 2);
    assert_int_equal(w.d.n_alerts, 0);
    assert_int_equal(dispatch_take_unsaved(&w.d), SAVE_NOW);
    world_free(&w);
}

static void endpoints_rebuild_keeps_states(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    feed(&w, "http://a.test/", 1, 10 * S, false);
    feed(&w, "http://a.test/", 1, 11 * S, false);
    feed(&w, "http://b.test/", 1, 11 * S, true);

    struct cw_config next;
    struct cw_endpoint next_eps[2] = { { .url = "http://c.test/", .interval = 1 },
                                       { .url = "http://a.test/", .interval = 1, .alert_threshold = 2 } };
    memset(&next, 0, sizeof next);
    next.endpoints = next_eps;
    next.n_endpoints = 2;
    endpoints_build(&w.t, &next);
    assert_int_equal(w.t.n, 2);
    const struct endpoint *a = endpoints_find(&w.t, "http://a.test/");
    assert_non_null(a);
    assert_int_equal(a->st.avail, ASTATE_DOWN);
    assert_string_equal(a->last.error, "HTTP 500");
    assert_int_equal(endpoints_find(&w.t, "http://c.test/")->st.avail, ASTATE_UNKNOWN);
    assert_null(endpoints_find(&w.t, "http://b.test/"));
    world_free(&w);
}

/* ---- the state file assembled and given back */

static void persist_round_trip(void **state)
{
    (void)state;
    char dir[] = "/tmp/cw-persist-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct world w;
    world_init(&w);
    feed(&w, "http://a.test/", 1, 10 * S, false);
    feed(&w, "http://a.test/", 1, 11 * S, false);
    feed(&w, "http://b.test/", 1, 11 * S, true); /* plainly up: left out of the file */

    struct persist keep;
    persist_init(&keep, dir);
    struct intake in;
    memset(&in, 0, sizeof in);
    ackgather_init(&in.acks);
    persist_save(&keep, &w.t, &w.d, w.ob, &in);
    assert_int_equal(keep.saves, 1);
    assert_int_equal(keep.errors, 0);

    struct statefile_data back;
    char err[512];
    assert_int_equal(statefile_load(keep.path, &back, err, sizeof err), 1);
    assert_int_equal(back.n_eps, 1);
    assert_string_equal(back.eps[0].url, "http://a.test/");
    assert_int_equal(back.eps[0].last_checked_us, 11 * S);
    /* for `clockwerk status`: b is plainly up (not unknown), by its place in this configuration */
    assert_true(back.plain.present);
    assert_int_equal(back.plain.n, 2);
    assert_int_equal(back.plain.fingerprint, statefile_fingerprint(w.cfg.endpoints, 2));
    assert_int_equal(back.plain.up[0], 0); /* a: in "endpoints" */
    assert_int_equal(back.plain.up[1], 1);
    assert_int_equal(back.plain.n_workers, 2); /* worker 0's newest result; none of worker 1 */
    assert_int_equal(back.plain.worker_last_us[0], 11 * S);
    assert_int_equal(back.plain.worker_last_us[1], 0);
    assert_true(back.saved_at_us > 0 && llabs(back.saved_at_us - cw_wall_us()) < 60 * S);
    assert_int_equal(back.n_alerts, 1);
    assert_true(back.alert_held[0]);
    statefile_data_free(&back);

    struct world w2;
    world_init(&w2);
    persist_load(&keep, &w2.t, &w2.d, &w2.cfg, 0);
    assert_int_equal(endpoints_find(&w2.t, "http://a.test/")->st.avail, ASTATE_DOWN);
    assert_int_equal(endpoints_find(&w2.t, "http://b.test/")->st.avail, ASTATE_UNKNOWN);
    assert_int_equal(w2.d.n_alerts, 1);
    assert_int_equal(w2.d.n_held, 1);

    ackgather_free(&in.acks);
    world_free(&w2);
    world_free(&w);
    unlink(keep.path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(savepolicy_levels),
        cmocka_unit_test(savepolicy_failure_keeps_need),
        cmocka_unit_test(endpoints_results_to_alerts),
        cmocka_unit_test(endpoints_rebuild_keeps_states),
        cmocka_unit_test(persist_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
