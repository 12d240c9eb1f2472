/* tests/unit/test_incident_flow.c — the alerter's incident path replayed without I/O: results through the endpoint
 * table (alerter/endpoints.c), the grouping window's release through the decision (alerter/incident_run.c:
 * routing, muting, children) into per-channel jobs (a fake channel_queue), escalation and the alerts sent when a
 * mute ends (incident_tick), over a configuration filled by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "alerter/dispatch.h"
#include "alerter/endpoints.h"
#include "alerter/incident.h"
#include "common/base/clock.h"

#define S 1000000LL
enum { MAIL, HOOK, PAGER, N_CH };
enum { P, C, X, N_EP };

struct job_seen {
    size_t ch, n;
    uint64_t ids[8];
};
struct decided {
    uint64_t id;
    uint8_t kind, muted;
    size_t n_children, n_chans;
    uint64_t incident_id;
    int64_t duration_us;
    uint32_t count;
};

static struct fx {
    struct cw_config cfg;
    struct cw_channel ch[N_CH];
    struct cw_endpoint eps[N_EP];
    size_t both[2], hook_only[1], pager[1];
    struct cw_escalation esc[1];
    struct cw_maintenance window;
    struct endpoints t;
    struct dispatch d;
    struct storeq sq;
    int64_t now_wall, mono;
    struct job_seen jobs[64];
    size_t n_jobs;
    struct decided dec[64];
    size_t n_dec;
} f;

static struct outbox_job dummy_job;

static struct outbox_job *fake_queue(struct outbox *ob, const struct cw_config *cfg, size_t ch,
                                     struct alert_rec *const *alerts, size_t n, const struct chan_ctx *ctx)
{
    (void)ob, (void)cfg, (void)ctx;
    struct job_seen *j = &f.jobs[f.n_jobs++];
    j->ch = ch;
    j->n = n;
    for (size_t i = 0; i < n && i < 8; i++) j->ids[i] = alerts[i]->id;
    return &dummy_job;
}

static size_t logging_decide(void *ctx, const struct cw_config *cfg, struct alert_rec *al, size_t *chans)
{
    size_t n = incident_decide(ctx, cfg, al, chans);
    f.dec[f.n_dec++] = (struct decided){ .id = al->id,
                                         .kind = al->kind,
                                         .muted = al->muted,
                                         .n_children = al->n_children,
                                         .n_chans = n,
                                         .incident_id = al->incident_id,
                                         .duration_us = al->duration_us,
                                         .count = al->count };
    return n;
}

static int setup(void **state)
{
    (void)state;
    memset(&f, 0, sizeof f);
    const char *names[N_CH] = { "mail", "hook", "pager" };
    for (int i = 0; i < N_CH; i++) {
        f.ch[i] = (struct cw_channel){ .name = (char *)names[i],
                                       .type = i == MAIL ? CW_CHAN_EMAIL : CW_CHAN_WEBHOOK,
                                       .kinds = CW_KINDS_ALL };
    }
    f.both[0] = MAIL, f.both[1] = HOOK, f.hook_only[0] = HOOK, f.pager[0] = PAGER;
    const char *urls[N_EP] = { "http://127.0.0.1:1/parent", "http://127.0.0.1:1/child", "http://127.0.0.1:1/x" };
    for (int i = 0; i < N_EP; i++) {
        struct cw_endpoint *ep = &f.eps[i];
        ep->url = (char *)urls[i];
        ep->alert_threshold = 1;
        ep->recovery_threshold = 1;
        ep->interval = 10;
        ep->depends_on_idx = -1;
        ep->severity = CW_SEV_CRITICAL;
        ep->notify = f.both;
        ep->n_notify = 2;
    }
    f.eps[C].depends_on_idx = P;
    f.eps[X].notify = f.hook_only;
    f.eps[X].n_notify = 1;
    f.cfg.channels = f.ch;
    f.cfg.n_channels = N_CH;
    f.cfg.endpoints = f.eps;
    f.cfg.n_endpoints = N_EP;
    f.cfg.group_threshold = 5;
    f.cfg.recovery_threshold = 1;
    f.d.queue = fake_queue;
    dispatch_init(&f.d, NULL, &f.sq);
    f.d.decide = logging_decide;
    f.d.decide_ctx = &f.t;
    endpoints_init(&f.t, &f.d);
    endpoints_build(&f.t, &f.cfg);
    f.now_wall = 1800000000 * S;
    f.mono = 1000 * S;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    dispatch_free(&f.d);
    endpoints_free(&f.t);
    return 0;
}

static void result(int ep, bool ok)
{
    struct cw_result r = { .url = f.eps[ep].url,
                           .ok = ok,
                           .checked_at_us = f.now_wall,
                           .boot_id = 1,
                           .status_code = ok ? 200 : 500,
                           .error = ok ? NULL : "HTTP 500" };
    assert_int_equal(endpoints_apply(&f.t, &r, f.mono), INTAKE_APPLIED);
}

static void release(void)
{
    f.now_wall += 10 * S;
    f.mono += 3600 * S;
    dispatch_release(&f.d, &f.cfg, f.mono);
}

static size_t jobs_on(size_t ch)
{
    size_t n = 0;
    for (size_t i = 0; i < f.n_jobs; i++) n += f.jobs[i].ch == ch;
    return n;
}

/* Escalation counts on the wall clock from when the DOWN went out: lets a microsecond pass. */
static void let_wall_clock_move(void)
{
    int64_t start = cw_wall_us();
    while (cw_wall_us() <= start + 1) {
    }
}

static void bring_up_all(void)
{
    for (int i = 0; i < N_EP; i++) result(i, true);
    release();
    f.n_jobs = f.n_dec = 0;
}

static void routes_only_to_its_channels(void **state)
{
    (void)state;
    bring_up_all();
    result(X, false);
    release();
    assert_int_equal(f.n_jobs, 1);
    assert_int_equal(f.jobs[0].ch, HOOK);
    result(P, false);
    release();
    assert_int_equal(jobs_on(MAIL), 1);
    assert_int_equal(jobs_on(HOOK), 2);
    assert_int_equal(jobs_on(PAGER), 0);
}

static void parent_first_same_release(void **state)
{
    (void)state;
    bring_up_all();
    result(C, false); /* the child's check happens to come first */
    result(P, false);
    release();
    assert_int_equal(f.n_dec, 2);
    assert_int_equal(f.dec[0].kind, CW_ALERT_DOWN);
    assert_int_equal(f.dec[0].muted, CW_MUTE_DEPENDENCY); /* the child: folded */
    assert_int_equal(f.dec[1].muted, CW_MUTE_NONE);       /* the parent: lists it */
    assert_int_equal(f.dec[1].n_children, 1);
    assert_int_equal(f.dec[0].incident_id, f.dec[1].id); /* folded: the child's alert names the parent's incident */
    assert_int_equal(f.n_jobs, 2); /* the parent's DOWN on mail and hook, nothing about the child */
    for (size_t i = 0; i < f.n_jobs; i++) assert_int_equal(f.jobs[i].n, 1);
    f.n_jobs = f.n_dec = 0;
    result(P, true); /* the parent recovers, the child does not */
    release();
    assert_int_equal(f.dec[0].kind, CW_ALERT_UP);
    assert_int_equal(f.dec[0].n_children, 1);
    incident_tick(&f.t, true, f.mono); /* the child is still down: now it alerts on its own */
    release();
    assert_int_equal(f.dec[1].kind, CW_ALERT_DOWN);
    assert_int_equal(f.dec[1].muted, CW_MUTE_NONE);
    incident_tick(&f.t, true, f.mono); /* once */
    release();
    assert_int_equal(f.n_dec, 2);
}

/* A child that goes down after its parent's DOWN went out is folded (not sent alone): the parent's next reminder
 * lists it, so nobody waits for the parent's UP to hear of it (the operator trial). */
static void child_after_parent_listed_in_reminder(void **state)
{
    (void)state;
    f.cfg.renotify = 15;
    endpoints_build(&f.t, &f.cfg);
    bring_up_all();
    result(P, false);
    release();
    assert_int_equal(f.dec[0].muted, CW_MUTE_NONE);
    assert_int_equal(f.dec[0].n_children, 0);
    result(C, false); /* after the parent's DOWN was released: folded */
    release();
    assert_int_equal(f.dec[1].muted, CW_MUTE_DEPENDENCY);
    result(P, false); /* 20 s after the DOWN: the parent's reminder */
    release();
    assert_int_equal(f.dec[2].kind, CW_ALERT_REMINDER);
    assert_int_equal(f.dec[2].muted, CW_MUTE_NONE);
    assert_int_equal(f.dec[2].n_children, 1);
}

static void child_first_alerts_alone(void **state)
{
    (void)state;
    bring_up_all();
    result(C, false);
    release();
    assert_int_equal(f.dec[0].muted, CW_MUTE_NONE);
    assert_int_equal(f.n_jobs, 2);
    result(P, false);
    release();
    assert_int_equal(f.dec[1].muted, CW_MUTE_NONE);
    assert_int_equal(f.dec[1].n_children, 1); /* lists the child as affected too */
    result(C, true);                          /* the child's UP while its parent is down: folded */
    release();
    assert_int_equal(f.dec[2].kind, CW_ALERT_UP);
    assert_int_equal(f.dec[2].muted, CW_MUTE_DEPENDENCY);
    result(P, true);                   /* the parent's UP lists the child, up: no separate UP for it */
    incident_tick(&f.t, true, f.mono); /* the parent is UP already, its alert still held: the child waits */
    release();
    assert_int_equal(f.n_dec, 4);
    assert_int_equal(f.dec[3].n_children, 1);
    incident_tick(&f.t, true, f.mono);
    assert_int_equal(f.d.n_held, 0);
}

/* The parent escalates to the pager at once, and is down (its DOWN released). */
static void parent_down_with_instant_escalation(void)
{
    f.esc[0] = (struct cw_escalation){ .after = 0.000001, .channels = f.pager, .n_channels = 1 };
    f.eps[P].escalate = f.esc;
    f.eps[P].n_escalate = 1;
    bring_up_all();
    result(P, false);
    release();
}

static void ack_stops_reminders_and_escalation(void **state)
{
    (void)state;
    f.cfg.renotify = 1;
    endpoints_build(&f.t, &f.cfg);
    parent_down_with_instant_escalation();
    uint64_t incident = endpoint_incident(&f.t.all[P])->id;
    char msg[256];
    assert_int_equal(incident_ack(&f.t, incident, "alice", msg, sizeof msg), 0);
    size_t before = f.n_dec;
    result(P, false); /* a reminder would be due (renotify 1 s, 10 s later) */
    let_wall_clock_move();
    incident_tick(&f.t, true, f.mono);
    release();
    assert_int_equal(f.n_dec, before);
    assert_int_equal(jobs_on(PAGER), 0);
    result(P, true); /* the UP still goes out */
    release();
    assert_int_equal(f.dec[f.n_dec - 1].kind, CW_ALERT_UP);
    assert_int_equal(f.dec[f.n_dec - 1].incident_id, incident);
}

static void escalation_once_to_its_step(void **state)
{
    (void)state;
    parent_down_with_instant_escalation();
    let_wall_clock_move();
    incident_tick(&f.t, true, f.mono);
    release();
    assert_int_equal(jobs_on(PAGER), 1);
    assert_int_equal(f.dec[f.n_dec - 1].kind, CW_ALERT_ESCALATION);
    assert_int_equal(f.dec[f.n_dec - 1].incident_id, endpoint_incident(&f.t.all[P])->id);
    incident_tick(&f.t, true, f.mono);
    release();
    assert_int_equal(jobs_on(PAGER), 1);
    result(P, true); /* the UP reaches the escalated channel too */
    release();
    assert_int_equal(jobs_on(PAGER), 2);
}

static void maintenance_end_sends_down_with_new_id(void **state)
{
    (void)state;
    bring_up_all();
    f.window = (struct cw_maintenance){ .name = "w", .start_us = 1, .duration = 4e9 }; /* covers every endpoint */
    f.cfg.maintenance = &f.window;
    f.cfg.n_maintenance = 1;
    result(X, false);
    release();
    assert_int_equal(f.dec[0].muted, CW_MUTE_MAINTENANCE);
    assert_int_equal(f.n_jobs, 0);
    incident_tick(&f.t, true, f.mono); /* still in the window: nothing */
    assert_int_equal(f.d.n_held, 0);
    f.cfg.n_maintenance = 0; /* the window ends */
    incident_tick(&f.t, true, f.mono);
    release();
    assert_int_equal(f.n_dec, 2);
    assert_int_equal(f.dec[1].kind, CW_ALERT_DOWN);
    assert_int_equal(f.dec[1].muted, CW_MUTE_NONE);
    assert_true(f.dec[1].id != f.dec[0].id);
    assert_int_equal(f.n_jobs, 1);
}

static void flapping_one_alert_then_stable(void **state)
{
    (void)state;
    f.eps[X].flap_window = 6;
    f.eps[X].flap_high = 50;
    f.eps[X].flap_low = 25;
    bring_up_all();
    const char *pattern = "FoFoFoFoFo";
    size_t flapping = 0, sent_state = 0;
    for (const char *c = pattern; *c; c++) {
        result(X, *c == 'o');
        release();
    }
    for (size_t i = 0; i < f.n_dec; i++) {
        flapping += f.dec[i].kind == CW_ALERT_FLAPPING && f.dec[i].muted == CW_MUTE_NONE;
        sent_state += (f.dec[i].kind == CW_ALERT_DOWN || f.dec[i].kind == CW_ALERT_UP) && f.dec[i].muted == 0;
    }
    assert_int_equal(flapping, 1);
    size_t sent_before = sent_state;
    for (int i = 0; i < 12; i++) {
        result(X, true);
        release();
    }
    sent_state = 0;
    for (size_t i = 0; i < f.n_dec; i++)
        sent_state += (f.dec[i].kind == CW_ALERT_DOWN || f.dec[i].kind == CW_ALERT_UP) && f.dec[i].muted == 0;
    assert_int_equal(sent_state, sent_before + 1); /* one "stable again" */
    assert_int_equal(f.dec[f.n_dec - 1].kind, CW_ALERT_UP);
    assert_true(f.dec[f.n_dec - 1].duration_us > 0); /* from the DOWN the channels heard */
    assert_true(f.dec[f.n_dec - 1].count >= 1);
    assert_false(f.t.all[X].flap.flapping);
}

static void window_on(bool on)
{
    f.window = (struct cw_maintenance){ .name = "w", .start_us = 1, .duration = 4e9 }; /* covers every endpoint */
    f.cfg.maintenance = &f.window;
    f.cfg.n_maintenance = on ? 1 : 0;
}

/* A DOWN told, then a window in which it recovers and fails again (muted): the incident told stays the one. */
static void muted_flip_keeps_told_incident(void **state)
{
    (void)state;
    bring_up_all();
    result(X, false);
    release();
    uint64_t told = f.dec[0].id;
    assert_int_equal(endpoint_incident(&f.t.all[X])->id, told);
    window_on(true);
    result(X, true);
    release();
    result(X, false);
    release();
    assert_int_equal(f.dec[2].muted, CW_MUTE_MAINTENANCE);
    window_on(false);
    incident_tick(&f.t, true, f.mono); /* the channels heard DOWN, it is down: nothing to send */
    release();
    assert_int_equal(f.n_dec, 3);
    assert_int_equal(endpoint_incident(&f.t.all[X])->id, told);
    assert_true(endpoint_incident(&f.t.all[X])->opened_wall_us != 0);
    char msg[256];
    assert_int_equal(incident_ack(&f.t, told, "alice", msg, sizeof msg), 0);
    result(X, true);
    release();
    assert_int_equal(f.dec[3].kind, CW_ALERT_UP);
    assert_int_equal(f.dec[3].muted, CW_MUTE_NONE);
    assert_int_equal(f.dec[3].incident_id, told);
    assert_false(endpoint_incident(&f.t.all[X])->open);
    assert_null(f.t.all[X].inc); /* closed and childless: freed (issue 18) */
}

/* A reminder released just after the window that held the DOWN back ended: muted, the DOWN goes out instead. */
static void reminder_after_mute_waits_for_down(void **state)
{
    (void)state;
    f.cfg.renotify = 1;
    endpoints_build(&f.t, &f.cfg);
    bring_up_all();
    window_on(true);
    result(X, false);
    release();
    assert_int_equal(f.dec[0].muted, CW_MUTE_MAINTENANCE);
    result(X, false); /* a reminder is due */
    window_on(false);
    release();
    assert_int_equal(f.dec[1].kind, CW_ALERT_REMINDER);
    assert_int_not_equal(f.dec[1].muted, CW_MUTE_NONE);
    assert_int_equal(f.n_jobs, 0);
    incident_tick(&f.t, true, f.mono);
    release();
    assert_int_equal(f.dec[2].kind, CW_ALERT_DOWN);
    assert_int_equal(f.dec[2].muted, CW_MUTE_NONE);
    assert_int_equal(endpoint_incident(&f.t.all[X])->id, f.dec[2].id);
}

/* The DOWN sent when a window ends restarts the reminder clock: the next reminder comes renotify after it, not
 * renotify after the last reminder muted inside the window (the operator trial saw one a second later). */
static void reconcile_down_restarts_reminder_clock(void **state)
{
    (void)state;
    f.cfg.renotify = 25;
    endpoints_build(&f.t, &f.cfg);
    bring_up_all();
    window_on(true);
    const char *inside = "FFFFFF"; /* DOWN at t0 (muted), a reminder at t0+30 (muted), t0+50 the last */
    for (const char *c = inside; *c; c++) {
        result(X, false);
        release();
    }
    window_on(false);
    incident_tick(&f.t, true, f.mono);
    release();
    size_t before = f.n_dec;
    assert_int_equal(f.dec[before - 1].kind, CW_ALERT_DOWN);
    assert_int_equal(f.dec[before - 1].muted, CW_MUTE_NONE);
    result(X, false); /* 20 s after the check the DOWN was sent about (40 s after the muted reminder): not yet */
    release();
    assert_int_equal(f.n_dec, before);
    result(X, false); /* 30 s: due */
    release();
    assert_int_equal(f.n_dec, before + 1);
    assert_int_equal(f.dec[before].kind, CW_ALERT_REMINDER);
}

/* Flapping stops on the very check that confirms DOWN: one DOWN, marked stable again. */
static void flap_end_on_state_change_one_alert(void **state)
{
    (void)state;
    f.eps[X].flap_window = 6;
    f.eps[X].flap_high = 50;
    f.eps[X].flap_low = 25;
    f.eps[X].alert_threshold = 2;
    endpoints_build(&f.t, &f.cfg);
    bring_up_all();
    const char *pattern = "FoFooooF";
    for (const char *c = pattern; *c; c++) {
        result(X, *c == 'o');
        release();
    }
    assert_true(f.t.all[X].flap.flapping);
    size_t before = f.n_dec;
    result(X, false); /* the second failure: DOWN, and the flapping ends */
    release();
    assert_false(f.t.all[X].flap.flapping);
    assert_int_equal(f.n_dec, before + 1);
    assert_int_equal(f.dec[before].kind, CW_ALERT_DOWN);
    assert_int_equal(f.dec[before].muted, CW_MUTE_NONE);
}

/* The UP sent when a mute ends says how long the incident the channels heard of lasted and its failed checks. */
static void reconcile_up_says_downtime(void **state)
{
    (void)state;
    bring_up_all();
    result(X, false);
    release();
    result(X, false);
    window_on(true);
    result(X, true);
    release();
    assert_int_equal(f.dec[1].muted, CW_MUTE_MAINTENANCE);
    window_on(false);
    incident_tick(&f.t, true, f.mono);
    release();
    assert_int_equal(f.dec[2].kind, CW_ALERT_UP);
    assert_int_equal(f.dec[2].muted, CW_MUTE_NONE);
    assert_int_equal(f.dec[2].duration_us, 10 * S);
    assert_int_equal(f.dec[2].count, 2);
}

/* The tick walks only the endpoints with work (issue 18): all of them once after a build, then those listed by a
 * change; one whose escalation is done and channels level leaves the list, the UP that ends it lists it again. */
static void tick_lists_only_endpoints_with_work(void **state)
{
    (void)state;
    bring_up_all();
    incident_tick(&f.t, true, f.mono);
    assert_int_equal(f.t.n_tick, 0); /* all up and told nothing: nothing to walk */
    parent_down_with_instant_escalation();
    assert_int_equal(f.t.n_tick, 1); /* the DOWN told, an escalation step ahead */
    assert_int_equal(f.t.tick_list[0], P);
    let_wall_clock_move();
    incident_tick(&f.t, true, f.mono);
    release();
    assert_int_equal(jobs_on(PAGER), 1);
    incident_tick(&f.t, true, f.mono);
    assert_int_equal(f.t.n_tick, 0); /* its last step raised, the channels level: it left */
    result(P, true);
    release();
    incident_tick(&f.t, true, f.mono);
    assert_int_equal(f.t.n_tick, 0);
    assert_int_equal(jobs_on(PAGER), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(routes_only_to_its_channels, setup, teardown),
        cmocka_unit_test_setup_teardown(parent_first_same_release, setup, teardown),
        cmocka_unit_test_setup_teardown(child_first_alerts_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(ack_stops_reminders_and_escalation, setup, teardown),
        cmocka_unit_test_setup_teardown(escalation_once_to_its_step, setup, teardown),
        cmocka_unit_test_setup_teardown(maintenance_end_sends_down_with_new_id, setup, teardown),
        cmocka_unit_test_setup_teardown(flapping_one_alert_then_stable, setup, teardown),
        cmocka_unit_test_setup_teardown(muted_flip_keeps_told_incident, setup, teardown),
        cmocka_unit_test_setup_teardown(reminder_after_mute_waits_for_down, setup, teardown),
        cmocka_unit_test_setup_teardown(flap_end_on_state_change_one_alert, setup, teardown),
        cmocka_unit_test_setup_teardown(reconcile_up_says_downtime, setup, teardown),
        cmocka_unit_test_setup_teardown(reconcile_down_restarts_reminder_clock, setup, teardown),
        cmocka_unit_test_setup_teardown(child_after_parent_listed_in_reminder, setup, teardown),
        cmocka_unit_test_setup_teardown(tick_lists_only_endpoints_with_work, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
