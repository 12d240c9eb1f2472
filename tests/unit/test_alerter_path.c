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

/* A world of these endpoints, not built yet: the caller may change w->eps, then calls endpoints_build. */
static void world_init_urls(struct world *w, const char *const *urls, size_t n)
{
    memset(w, 0, sizeof *w);
    world_config(w, urls, n);
    w->ob = outbox_new(&w->cfg, dispatch_on_delivery, &w->d);
    dispatch_init(&w->d, w->ob, &w->rec);
    endpoints_init(&w->t, &w->d);
}

static void world_init(struct world *w)
{
    static const char *const urls[] = { "http://a.test/", "http://b.test/" };
    world_init_urls(w, urls, 2);
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
    assert_int_equal(endpoints_find(&w2.t, "http://a.test/")->last.checked_us, 11 * S); /* escalation's at */
    assert_int_equal(endpoints_find(&w2.t, "http://b.test/")->st.avail, ASTATE_UNKNOWN);
    assert_int_equal(w2.d.n_alerts, 1);
    assert_int_equal(w2.d.n_held, 1);

    ackgather_free(&in.acks);
    persist_free(&keep);
    world_free(&w2);
    world_free(&w);
    unlink(keep.path);
    rmdir(dir);
}

/* The journal's last line. */
static char *last_line(const char *journal_path)
{
    FILE *f = fopen(journal_path, "r");
    assert_non_null(f);
    static char line[8192], last[8192];
    last[0] = '\0';
    while (fgets(line, sizeof line, f)) memcpy(last, line, sizeof last);
    fclose(f);
    return last;
}

/* The "changed" list of the journal's last line (for the checks below). */
static char *last_changed(const char *journal_path)
{
    char *c = strstr(last_line(journal_path), "\"changed\":[");
    assert_non_null(c);
    *strchr(c, ']') = '\0';
    return c + strlen("\"changed\":[");
}

/* The files of dir (b's record in them) loaded where b is not configured: its record is forgotten by the first
 * line, not left to a compaction (were b added back by a reload and stayed plainly up, a restart would otherwise
 * bring its old state back). */
static void forgotten_when_not_configured(const char *dir, struct intake *in)
{
    struct world w;
    world_init_urls(&w, (const char *const[]){ "http://c.test/" }, 1);
    endpoints_build(&w.t, &w.cfg);
    struct persist keep;
    persist_init(&keep, dir);
    persist_load(&keep, &w.t, &w.d, &w.cfg, 0);
    assert_int_equal(w.t.n_gone, 1);
    assert_int_equal(persist_save(&keep, &w.t, &w.d, w.ob, in), 0);
    assert_non_null(strstr(last_changed(keep.j.path), "b.test"));
    struct statefile_data back;
    char err[512];
    assert_int_equal(statefile_load(keep.path, &back, err, sizeof err), 1);
    assert_int_equal(back.n_eps, 0);
    statefile_data_free(&back);
    persist_free(&keep);
    world_free(&w);
}

/* After the base, each save is a journal line of what changed: an endpoint that went down, one a reload removed
 * (forgotten), nothing at all; loading gives the state of the last save. */
static void persist_journal_round_trip(void **state)
{
    (void)state;
    char dir[] = "/tmp/cw-persist-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct world w;
    world_init(&w);
    struct persist keep;
    persist_init(&keep, dir);
    const char *journal = keep.j.path;
    struct intake in;
    memset(&in, 0, sizeof in);
    ackgather_init(&in.acks);
    feed(&w, "http://a.test/", 1, 10 * S, false);
    feed(&w, "http://a.test/", 1, 11 * S, false);
    assert_int_equal(persist_save(&keep, &w.t, &w.d, w.ob, &in), 0); /* no base yet: written whole */
    assert_int_equal(keep.base_writes, 1);
    assert_int_equal(keep.lines, 0);

    feed(&w, "http://b.test/", 1, 12 * S, false);
    assert_int_equal(persist_save(&keep, &w.t, &w.d, w.ob, &in), 0);
    assert_int_equal(keep.lines, 1);
    char *changed = last_changed(journal);
    assert_non_null(strstr(changed, "b.test")); /* a did not change */
    assert_null(strstr(changed, "a.test"));

    struct cw_config next = w.cfg; /* a reload: a removed, c added */
    struct cw_endpoint next_eps[2] = { w.eps[1], { .url = "http://c.test/", .interval = 1, .alert_threshold = 2 } };
    next.endpoints = next_eps;
    next.n_endpoints = 2;
    assert_false(endpoints_build(&w.t, &next)); /* built anew: b moved */
    assert_int_equal(w.t.n_gone, 1);
    assert_int_equal(persist_save(&keep, &w.t, &w.d, w.ob, &in), 0);
    changed = last_changed(journal);
    assert_non_null(strstr(changed, "a.test")); /* forgotten */
    assert_null(strstr(changed, "b.test"));
    assert_int_equal(w.t.n_gone, 0);
    w.t.worker_last_us[1] = 13 * S; /* only a worker's newest result moved: "workers", not the whole "plain" */
    assert_int_equal(persist_save(&keep, &w.t, &w.d, w.ob, &in), 0);
    assert_non_null(strstr(last_line(journal), "\"workers\":[12000000,13000000]"));
    assert_null(strstr(last_line(journal), "\"plain\""));
    assert_string_equal(last_changed(journal), ""); /* nothing else changed: an empty list */
    assert_int_equal(keep.lines, 3);

    struct statefile_data back;
    char err[512];
    assert_int_equal(statefile_load(keep.path, &back, err, sizeof err), 1);
    assert_int_equal(back.journal_lines, 3);
    assert_int_equal(back.n_eps, 1); /* b (c was never checked; a is forgotten) */
    assert_string_equal(back.eps[0].url, "http://b.test/");
    statefile_data_free(&back);
    persist_free(&keep);

    struct world w2;
    world_init_urls(&w2, (const char *const[]){ "http://b.test/", "http://c.test/" }, 2);
    endpoints_build(&w2.t, &w2.cfg);
    struct persist again;
    persist_init(&again, dir);
    persist_load(&again, &w2.t, &w2.d, &w2.cfg, 0);
    assert_int_equal(endpoints_find(&w2.t, "http://b.test/")->st.avail, ASTATE_UNKNOWN); /* one failure of two */
    assert_int_equal(endpoints_find(&w2.t, "http://b.test/")->st.fail_run, 1);
    assert_int_equal(again.j.next_seq, 4);
    assert_false(again.need_base);
    assert_int_equal(w2.t.n_gone, 0);
    persist_free(&again);
    forgotten_when_not_configured(dir, &in);

    ackgather_free(&in.acks);
    world_free(&w2);
    world_free(&w);
    unlink(journal);
    unlink(keep.path);
    rmdir(dir);
}

/* ---- the check types (issue 14) */

static void feed_result(struct world *w, struct cw_result r)
{
    assert_int_equal(endpoints_apply(&w->t, &r, 0), INTAKE_APPLIED);
}

/* A push check's latency is the gap since the previous call: never SLOW, whatever latency_threshold says; nor is
 * any endpoint whose latency_threshold is 0. An http endpoint with a threshold does go SLOW (the control). */
static void kinds_push_never_slow(void **state)
{
    (void)state;
    struct world w;
    static const char *const urls[] = { "push://nightly-backup", "tcp://127.0.0.1:25", "http://slow.test/" };
    world_init_urls(&w, urls, 3);
    w.eps[0].type = CW_CHECK_PUSH, w.eps[0].latency_threshold = 1.0;
    w.eps[1].type = CW_CHECK_TCP, w.eps[1].latency_threshold = 0;
    w.eps[2].latency_threshold = 1.0;
    endpoints_build(&w.t, &w.cfg);
    for (int i = 0; i < 4; i++) {
        for (int k = 0; k < 3; k++) {
            struct cw_result r = { .boot_id = 1,
                                   .seq = 1 + (uint64_t)(3 * i + k),
                                   .checked_at_us = (10 + i) * S,
                                   .latency_us = 3600 * S,
                                   .ok = true,
                                   .url = urls[k],
                                   .kind = k == 0   ? CW_CHECK_PUSH
                                           : k == 1 ? CW_CHECK_TCP
                                                    : CW_CHECK_HTTP };
            feed_result(&w, r);
        }
    }
    assert_int_not_equal(endpoints_find(&w.t, "push://nightly-backup")->st.speed, ASTATE_SLOW);
    assert_int_not_equal(endpoints_find(&w.t, "tcp://127.0.0.1:25")->st.speed, ASTATE_SLOW);
    assert_int_equal(endpoints_find(&w.t, "http://slow.test/")->st.speed, ASTATE_SLOW);
    assert_int_equal(w.d.n_alerts, 1);
    assert_int_equal(w.d.alerts[0]->kind, CW_ALERT_SLOW);
    assert_string_equal(w.d.alerts[0]->url, "http://slow.test/");
    world_free(&w);
}

/* A tls check's certificate expiry raises the expiry alert as an https check's does; a failed dns check's DOWN
 * message says what failed (the check's error), with no HTTP status. */
static void kinds_tls_expiry_and_messages(void **state)
{
    (void)state;
    struct world w;
    static const char *const urls[] = { "tls://mail.test:465", "dns://127.0.0.1:53/example.test?type=MX" };
    world_init_urls(&w, urls, 2);
    w.cfg.tls_expiry_days = 14;
    w.eps[0].type = CW_CHECK_TLS, w.eps[1].type = CW_CHECK_DNS;
    endpoints_build(&w.t, &w.cfg);
    struct cw_result tls = { .boot_id = 1,
                             .seq = 1,
                             .checked_at_us = 1795579506000000LL,
                             .latency_us = 2000,
                             .tls_us = 1500,
                             .ok = true,
                             .url = urls[0],
                             .kind = CW_CHECK_TLS,
                             .tls_expires_at_us = 1795579506000000LL + 3 * 86400 * S,
                             .figures = "{\"version\":\"TLSv1.3\"}" };
    feed_result(&w, tls);
    assert_int_equal(w.d.n_alerts, 1);
    assert_int_equal(w.d.alerts[0]->kind, CW_ALERT_TLS_EXPIRY);
    assert_non_null(strstr(w.d.alerts[0]->message, "tls://mail.test:465 has a TLS certificate that expires at "
                                                   "2026-11-28T04:05:06.000Z (in 3d"));
    for (uint64_t seq = 2; seq <= 3; seq++) {
        struct cw_result dns = { .boot_id = 1,
                                 .seq = seq,
                                 .checked_at_us = (int64_t)(1795579506 + seq) * S,
                                 .latency_us = 800,
                                 .status_code = 3,
                                 .ok = false,
                                 .url = urls[1],
                                 .kind = CW_CHECK_DNS,
                                 .error = "rcode NXDOMAIN (wanted NOERROR)" };
        feed_result(&w, dns);
    }
    assert_int_equal(w.d.n_alerts, 2);
    assert_int_equal(w.d.alerts[1]->kind, CW_ALERT_DOWN);
    const char *m = w.d.alerts[1]->message;
    assert_non_null(strstr(m, "dns://127.0.0.1:53/example.test?type=MX is DOWN since "));
    assert_non_null(strstr(m, ": 2 checks failed, last: rcode NXDOMAIN (wanted NOERROR)"));
    assert_null(strstr(m, "HTTP"));
    world_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(savepolicy_levels),
        cmocka_unit_test(savepolicy_failure_keeps_need),
        cmocka_unit_test(endpoints_results_to_alerts),
        cmocka_unit_test(endpoints_rebuild_keeps_states),
        cmocka_unit_test(persist_round_trip),
        cmocka_unit_test(persist_journal_round_trip),
        cmocka_unit_test(kinds_push_never_slow),
        cmocka_unit_test(kinds_tls_expiry_and_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
