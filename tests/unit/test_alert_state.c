/* tests/unit/test_alert_state.c — the alerter's per-endpoint state machine (alerter/state.c) over sequences
 * of results, its grouping window (alerter/group.c) and alert ids (alerter/alert.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "alerter/alert.h"
#include "alerter/group.h"
#include "alerter/outbox.h"
#include "alerter/state.h"
#include "alerter/statefile.h"
#include "common/wire/protocol.h"

#define S 1000000LL /* one second in microseconds */
#define MS 1000LL

struct run {
    struct astate st;
    struct astate_params p;
    int64_t t;                    /* checked_at of the next result */
    struct astate_event last[16]; /* events seen, in order */
    unsigned n_events;
};

static void run_init(struct run *r, uint32_t alert_threshold, uint32_t recovery_threshold)
{
    memset(r, 0, sizeof *r);
    astate_init(&r->st);
    r->p.alert_threshold = alert_threshold;
    r->p.recovery_threshold = recovery_threshold;
    r->p.latency_threshold_us = 1000 * MS;
    r->p.renotify_us = 0;
    r->t = 1700000000 * S;
}

/* Feeds one result 10 s after the previous one; returns the number of events it caused. */
static unsigned feed(struct run *r, bool ok, int64_t latency_us)
{
    struct astate_event ev[ASTATE_MAX_EVENTS];
    unsigned n = astate_feed(&r->st, &r->p, ok, latency_us, r->t, ev);
    for (unsigned i = 0; i < n && r->n_events < 16; i++) r->last[r->n_events++] = ev[i];
    r->t += 10 * S;
    return n;
}

/* Feeds a pattern: 'F' failure, 'o' fast success, 's' slow success. Returns events caused. */
static unsigned feed_pattern(struct run *r, const char *pattern)
{
    unsigned n = 0;
    for (const char *c = pattern; *c; c++) n += feed(r, *c != 'F', *c == 's' ? 2500 * MS : 20 * MS);
    return n;
}

static void start_is_silent(void **state)
{
    (void)state;
    struct run r;
    run_init(&r, 3, 1);
    assert_int_equal(feed_pattern(&r, "oooo"), 0);
    assert_int_equal(r.st.avail, ASTATE_UP);
    assert_int_equal(r.st.speed, ASTATE_FAST);
    /* failures below the threshold before the first success: still no alert, and UP established */
    run_init(&r, 3, 1);
    assert_int_equal(feed_pattern(&r, "FFo"), 0);
    assert_int_equal(r.st.avail, ASTATE_UP);
}

static void down_exactly_at_threshold(void **state)
{
    (void)state;
    struct run r;
    run_init(&r, 3, 1);
    feed_pattern(&r, "oo");
    int64_t first_fail = r.t;
    assert_int_equal(feed_pattern(&r, "FF"), 0);
    assert_int_equal(r.st.avail, ASTATE_UP);
    assert_int_equal(feed(&r, false, 0), 1);
    assert_int_equal(r.last[0].kind, CW_ALERT_DOWN);
    assert_int_equal(r.last[0].since_us, first_fail);
    assert_int_equal(r.last[0].at_us, first_fail + 20 * S);
    assert_int_equal(r.last[0].count, 3);
    /* further failures: never a mail per failed check */
    assert_int_equal(feed_pattern(&r, "FFFFFFFFFF"), 0);
    assert_int_equal(r.st.failed_count, 13);
}

static void down_from_unknown(void **state)
{
    (void)state;
    struct run r;
    run_init(&r, 2, 1);
    assert_int_equal(feed_pattern(&r, "FF"), 1);
    assert_int_equal(r.last[0].kind, CW_ALERT_DOWN);
}

static void threshold_one(void **state)
{
    (void)state;
    struct run r;
    run_init(&r, 1, 1);
    feed_pattern(&r, "o");
    assert_int_equal(feed_pattern(&r, "F"), 1);
    assert_int_equal(feed_pattern(&r, "o"), 1);
    assert_int_equal(r.last[1].kind, CW_ALERT_UP);
}

static void recovery_and_downtime(void **state)
{
    (void)state;
    struct run r;
    run_init(&r, 2, 1);
    feed_pattern(&r, "o");
    int64_t down_at = r.t;
    assert_int_equal(feed_pattern(&r, "FFFF"), 1);
    int64_t up_at = r.t;
    assert_int_equal(feed(&r, true, 20 * MS), 1);
    assert_int_equal(r.last[1].kind, CW_ALERT_UP);
    assert_int_equal(r.last[1].since_us, up_at);
    assert_int_equal(r.last[1].duration_us, up_at - down_at);
    assert_int_equal(r.last[1].count, 4);
    assert_int_equal(r.st.avail, ASTATE_UP);
    assert_int_equal(feed_pattern(&r, "oooo"), 0);
}

static void recovery_threshold_counts_consecutive(void **state)
{
    (void)state;
    struct run r;
    run_init(&r, 2, 3);
    feed_pattern(&r, "o");
    assert_int_equal(feed_pattern(&r, "FF"), 1);
    /* two successes, a failure: the recovery run starts again, no reminder, no alert */
    assert_int_equal(feed_pattern(&r, "ooF"), 0);
    assert_int_equal(r.st.avail, ASTATE_DOWN);
    assert_int_equal(feed_pattern(&r, "oo"), 0);
    int64_t third = r.t - 20 * S; /* the first success of the run that completes */
    assert_int_equal(feed_pattern(&r, "o"), 1);
    assert_int_equal(r.last[1].kind, CW_ALERT_UP);
    assert_int_equal(r.last[1].since_us, third);
    assert_int_equal(r.last[1].count, 3);
}

static void flapping_below_threshold_is_silent(void **state)
{
    (void)state;
    struct run r;
    run_init(&r, 3, 1);
    assert_int_equal(feed_pattern(&r, "oFFoFFoFoFFoFFoFFo"), 0);
    assert_int_equal(r.st.avail, ASTATE_UP);
}

static void flapping_across_threshold(void **state)
{
    (void)state;
    struct run r;
    run_init(&r, 2, 1);
    assert_int_equal(feed_pattern(&r, "oFFoFFoFFo"), 6);
    const uint8_t want[] = { CW_ALERT_DOWN, CW_ALERT_UP, CW_ALERT_DOWN, CW_ALERT_UP, CW_ALERT_DOWN, CW_ALERT_UP };
    for (unsigned i = 0; i < 6; i++) assert_int_equal(r.last[i].kind, want[i]);
    /* every state change has its own id */
    for (unsigned i = 0; i < 6; i++)
        for (unsigned j = i + 1; j < 6; j++)
            assert_true(alert_make_id("http://x/", r.last[i].kind, r.last[i].since_us, r.last[i].seq) !=
                        alert_make_id("http://x/", r.last[j].kind, r.last[j].since_us, r.last[j].seq));
}

static void slow_and_fast(void **state)
{
    (void)state;
    struct run r;
    run_init(&r, 3, 1);
    assert_int_equal(feed_pattern(&r, "oss"), 0);
    int64_t slow_from = r.t - 20 * S;
    assert_int_equal(feed_pattern(&r, "s"), 1);
    assert_int_equal(r.last[0].kind, CW_ALERT_SLOW);
    assert_int_equal(r.last[0].since_us, slow_from);
    assert_int_equal(r.last[0].count, 3);
    assert_int_equal(feed_pattern(&r, "ssssoosoo"), 0); /* a slow check resets the fast run */
    assert_int_equal(feed_pattern(&r, "o"), 1);
    assert_int_equal(r.last[1].kind, CW_ALERT_FAST);
    assert_true(r.last[1].duration_us > 0);
}

static void failures_do_not_count_toward_slow(void **state)
{
    (void)state;
    struct run r;
    run_init(&r, 3, 1);
    /* failures neither count nor reset the slow run */
    assert_int_equal(feed_pattern(&r, "osFsF"), 0);
    assert_int_equal(feed_pattern(&r, "s"), 1);
    assert_int_equal(r.last[0].kind, CW_ALERT_SLOW);
    /* a fast endpoint whose checks fail with a long latency is not slow */
    run_init(&r, 3, 1);
    for (int i = 0; i < 2; i++) assert_int_equal(feed(&r, false, 9000 * MS), 0);
    assert_int_equal(feed(&r, true, 10 * MS), 0);
    assert_int_equal(r.st.speed, ASTATE_FAST);
}

static void slow_and_down_together(void **state)
{
    (void)state;
    struct run r;
    run_init(&r, 2, 1);
    assert_int_equal(feed_pattern(&r, "os"), 0);
    assert_int_equal(feed_pattern(&r, "FF"), 1); /* DOWN; slow run paused (cleared) */
    assert_int_equal(r.last[0].kind, CW_ALERT_DOWN);
    assert_int_equal(feed_pattern(&r, "FFF"), 0);
    assert_int_equal(feed_pattern(&r, "s"), 1); /* UP; counts as the first slow check */
    assert_int_equal(r.last[1].kind, CW_ALERT_UP);
    assert_int_equal(feed_pattern(&r, "s"), 1);
    assert_int_equal(r.last[2].kind, CW_ALERT_SLOW);
    /* SLOW, then DOWN: the speed state is kept across the outage; slow checks after it raise nothing new */
    assert_int_equal(feed_pattern(&r, "FF"), 1);
    assert_int_equal(r.last[3].kind, CW_ALERT_DOWN);
    assert_int_equal(r.st.speed, ASTATE_SLOW);
    assert_int_equal(feed_pattern(&r, "sss"), 1);
    assert_int_equal(r.last[4].kind, CW_ALERT_UP);
    /* recovery with threshold 1 and alert_threshold 1 can raise UP and FAST with one check */
    run_init(&r, 1, 1);
    assert_int_equal(feed_pattern(&r, "os"), 1);
    assert_int_equal(r.st.speed, ASTATE_SLOW);
    assert_int_equal(feed_pattern(&r, "F"), 1);
    assert_int_equal(feed_pattern(&r, "o"), 2);
    assert_int_equal(r.last[2].kind, CW_ALERT_UP);
    assert_int_equal(r.last[3].kind, CW_ALERT_FAST);
}

static void no_speed_tracking_without_threshold(void **state)
{
    (void)state;
    struct run r;
    run_init(&r, 1, 1);
    r.p.latency_threshold_us = 0;
    assert_int_equal(feed_pattern(&r, "osssss"), 0);
}

static void renotify_timing(void **state)
{
    (void)state;
    struct run r;
    run_init(&r, 2, 1);
    r.p.renotify_us = 60 * S; /* checks every 10 s */
    feed_pattern(&r, "o");
    int64_t since = r.t;
    assert_int_equal(feed_pattern(&r, "FF"), 1);    /* DOWN at since + 10 s */
    assert_int_equal(feed_pattern(&r, "FFFFF"), 0); /* +20 .. +60: less than 60 s after the DOWN */
    assert_int_equal(feed_pattern(&r, "F"), 1);     /* +70: exactly 60 s */
    assert_int_equal(r.last[1].kind, CW_ALERT_REMINDER);
    assert_int_equal(r.last[1].seq, 1);
    assert_int_equal(r.last[1].since_us, since);
    assert_int_equal(r.last[1].duration_us, 70 * S);
    assert_int_equal(r.last[1].count, 8);
    assert_int_equal(feed_pattern(&r, "FFFFF"), 0);
    assert_int_equal(feed_pattern(&r, "F"), 1);
    assert_int_equal(r.last[2].seq, 2);
    assert_true(alert_make_id("u", CW_ALERT_REMINDER, since, 1) != alert_make_id("u", CW_ALERT_REMINDER, since, 2));
    /* recovery ends the reminders; a new outage starts counting again */
    assert_int_equal(feed_pattern(&r, "o"), 1);
    assert_int_equal(r.last[3].kind, CW_ALERT_UP);
    assert_int_equal(feed_pattern(&r, "FFFFFFF"), 1);
    assert_int_equal(r.last[4].kind, CW_ALERT_DOWN);
    /* renotify 0: never a reminder */
    run_init(&r, 2, 1);
    assert_int_equal(feed_pattern(&r, "oFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"), 1);
}

static void ids_are_deterministic(void **state)
{
    (void)state;
    assert_true(alert_make_id("http://a/", CW_ALERT_DOWN, 5, 0) == alert_make_id("http://a/", CW_ALERT_DOWN, 5, 0));
    assert_true(alert_make_id("http://a/", CW_ALERT_DOWN, 5, 0) != alert_make_id("http://a/", CW_ALERT_UP, 5, 0));
    assert_true(alert_make_id("http://a/", CW_ALERT_DOWN, 5, 0) != alert_make_id("http://b/", CW_ALERT_DOWN, 5, 0));
    assert_true(alert_make_id("http://a/", CW_ALERT_DOWN, 5, 0) != alert_make_id("http://a/", CW_ALERT_DOWN, 6, 0));
    /* the same results replayed into a fresh state give the same events */
    struct run a, b;
    run_init(&a, 3, 2);
    run_init(&b, 3, 2);
    feed_pattern(&a, "ooFFFFooFFFoo");
    feed_pattern(&b, "ooFFFFooFFFoo");
    assert_int_equal(a.n_events, b.n_events);
    for (unsigned i = 0; i < a.n_events; i++) {
        assert_int_equal(a.last[i].kind, b.last[i].kind);
        assert_int_equal(a.last[i].since_us, b.last[i].since_us);
    }
}

static void grouping_window(void **state)
{
    (void)state;
    assert_int_equal(agroup_hold_us(1.0), 2 * S);
    assert_int_equal(agroup_hold_us(0.5), 1500 * MS);
    assert_int_equal(agroup_hold_us(60.0), GROUP_HOLD_MAX_US);
    struct agroup g = { 0 };
    assert_false(agroup_due(&g, 0));
    assert_true(agroup_deadline(&g) == INT64_MAX);
    agroup_add(&g, 100 * S, 1.0);
    agroup_add(&g, 101 * S, 1.0); /* does not extend the window */
    assert_int_equal(g.held, 2);
    assert_true(agroup_deadline(&g) == 102 * S);
    assert_false(agroup_due(&g, 102 * S - 1));
    assert_true(agroup_due(&g, 102 * S));
    assert_false(agroup_release(&g, 102 * S, 2, 5));
    assert_false(agroup_due(&g, 200 * S));
    assert_true(agroup_deadline(&g) == INT64_MAX);
    /* more than group_threshold makes a summary; exactly the threshold does not */
    assert_false(agroup_is_summary(5, 5));
    assert_true(agroup_is_summary(6, 5));
    assert_false(agroup_is_summary(1, 0));
    assert_true(agroup_is_summary(2, 0));
}

/* Twenty endpoints failing together: their DOWN transitions fall into one window -> one summary. */
static void grouping_storm(void **state)
{
    (void)state;
    struct run r[20];
    struct agroup g = { 0 };
    size_t released = 0, summaries = 0;
    for (int i = 0; i < 20; i++) run_init(&r[i], 2, 1);
    int64_t mono = 1000 * S;
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < 20; i++) {
            /* checks spread across the 1 s interval (phase = i * 50 ms) */
            int64_t now = mono + round * S + i * 50 * MS;
            if (agroup_due(&g, now)) {
                released += g.held;
                summaries += agroup_release(&g, now, g.held, 5);
            }
            struct astate_event ev[ASTATE_MAX_EVENTS];
            bool ok = round == 0;
            unsigned n = astate_feed(&r[i].st, &r[i].p, ok, 10 * MS, now, ev);
            for (unsigned k = 0; k < n; k++) agroup_add(&g, now, 1.0);
        }
    }
    if (g.held) {
        summaries += agroup_is_summary(g.held, 5);
        released += g.held;
    }
    assert_int_equal(released, 20);
    assert_int_equal(summaries, 1);
}

/* 3,000 endpoints checked every 60 s, phased across the interval, all failing from one moment on: the first
 * window (10 s) is a summary, the storm period collects the rest into one more; then the storm ends. */
static void grouping_long_interval_storm(void **state)
{
    (void)state;
    struct agroup g = { 0 };
    size_t released = 0, summaries = 0, singles = 0;
    int64_t t0 = 5000 * S;
    for (int i = 0; i < 3000; i++) {
        int64_t now = t0 + (int64_t)i * 20 * MS; /* 3000 x 20 ms = 60 s */
        if (agroup_due(&g, now)) {
            size_t n = g.held;
            released += n;
            if (agroup_release(&g, now, n, 5)) summaries++;
            else singles += n;
        }
        agroup_add(&g, now, 60.0);
    }
    int64_t now = t0 + 60 * S;
    while (g.held) {
        if (agroup_due(&g, now)) {
            size_t n = g.held;
            released += n;
            if (agroup_release(&g, now, n, 5)) summaries++;
            else singles += n;
        }
        now += 100 * MS;
    }
    assert_int_equal(released, 3000);
    assert_int_equal(summaries, 2);
    assert_int_equal(singles, 0);
    /* a lone alert after the storm period: the storm has ended only when a window closes small */
    agroup_add(&g, now + 61 * S, 60.0);
    assert_true(agroup_deadline(&g) == now + 61 * S + GROUP_HOLD_MAX_US);
    assert_false(agroup_release(&g, agroup_deadline(&g), 1, 5));
    agroup_add(&g, now + 200 * S, 60.0);
    assert_true(agroup_deadline(&g) == now + 200 * S + GROUP_HOLD_MAX_US);
}

static void alert_records(void **state)
{
    (void)state;
    struct alert_rec *a = alert_new(CW_ALERT_DOWN, "http://user:secret@host/x", NULL, "Connection refused",
                                    1700000000 * S, 1700000020 * S, 0, 3, 0, 1700000021 * S);
    assert_string_equal(a->name, "");
    assert_true(a->id == alert_make_id("http://user:secret@host/x", CW_ALERT_DOWN, 1700000000 * S, 0));
    assert_null(strstr(a->message, "secret"));
    assert_non_null(strstr(a->message, "DOWN"));
    assert_non_null(strstr(a->message, "Connection refused"));
    assert_non_null(strstr(a->message, ": 3 checks failed, last: "));
    struct alert_rec *one =
        alert_new(CW_ALERT_DOWN, "http://h/", NULL, NULL, 1700000000 * S, 1700000001 * S, 0, 1, 0, 1700000001 * S);
    assert_non_null(strstr(one->message, " is DOWN since 2023-11-14T22:13:20.000Z: 1 check failed, last: "));
    alert_free(one);
    one = alert_new(CW_ALERT_UP, "http://h/", NULL, NULL, 1700000000 * S, 1700000001 * S, 5 * S, 1, 0, 1700000001 * S);
    assert_non_null(
        strstr(one->message, " is UP again since 2023-11-14T22:13:20.000Z after 5.0s down (1 check failed)"));
    alert_free(one);
    struct cw_alert w;
    alert_to_wire(a, &w);
    assert_true(w.alert_id == a->id);
    alert_free(a);
    char d[32];
    alert_format_duration(125 * S, d, sizeof d);
    assert_string_equal(d, "2m 05s");
    alert_format_duration(3 * 3600 * S + 61 * S, d, sizeof d);
    assert_string_equal(d, "3h 01m 01s");
    alert_format_duration(1500 * MS, d, sizeof d);
    assert_string_equal(d, "1.5s");
}

static void backoff(void **state)
{
    (void)state;
    assert_int_equal(outbox_backoff_us(1), 1 * S);
    assert_int_equal(outbox_backoff_us(2), 2 * S);
    assert_int_equal(outbox_backoff_us(5), 16 * S);
    assert_int_equal(outbox_backoff_us(9), 256 * S);
    assert_int_equal(outbox_backoff_us(10), 300 * S);
    assert_int_equal(outbox_backoff_us(1000000), 300 * S);
}

/* Save and load give back the same endpoint state, alerts and jobs (bytes included). */
/* A certificate close to its expiry alerts once per expiry date; a renewed one that comes close alerts again. */
static void tls_expiry_once(void **state)
{
    (void)state;
    const int64_t day = 86400LL * S;
    struct astate st;
    astate_init(&st);
    struct astate_params p = { .alert_threshold = 1, .recovery_threshold = 1, .tls_expiry_us = 14 * day };
    struct astate_event ev;
    int64_t now = 1795579506LL * S;
    assert_int_equal(astate_feed_tls(&st, &p, 0, now, &ev), 0);              /* nothing known (http) */
    assert_int_equal(astate_feed_tls(&st, &p, now + 30 * day, now, &ev), 0); /* far away */
    assert_int_equal(astate_feed_tls(&st, &p, now + 5 * day + 3600 * S, now, &ev), 1);
    assert_int_equal(ev.kind, CW_ALERT_TLS_EXPIRY);
    assert_true(ev.since_us == now + 5 * day + 3600 * S);
    assert_true(ev.duration_us == 5 * day + 3600 * S);
    assert_int_equal(ev.count, 5);
    for (int i = 1; i < 100; i++) /* the same certificate, checked again and again: silent */
        assert_int_equal(astate_feed_tls(&st, &p, now + 5 * day + 3600 * S, now + i * 60 * S, &ev), 0);
    /* renewed for 90 days: silent; when that one comes close: one more alert */
    assert_int_equal(astate_feed_tls(&st, &p, now + 95 * day, now + day, &ev), 0);
    assert_int_equal(astate_feed_tls(&st, &p, now + 95 * day, now + 82 * day, &ev), 1);
    assert_int_equal(ev.count, 13);
    /* already expired (seen with verify_tls = false) */
    struct astate st2;
    astate_init(&st2);
    assert_int_equal(astate_feed_tls(&st2, &p, now - day, now, &ev), 1);
    assert_true(ev.duration_us == -day);
    assert_int_equal(ev.count, 0);
    struct alert_rec *a = alert_new(ev.kind, "https://127.0.0.1:8443/", "", NULL, ev.since_us, ev.at_us, ev.duration_us,
                                    ev.count, ev.seq, now);
    assert_non_null(strstr(a->message, "EXPIRED"));
    alert_free(a);
    /* 0 days: disabled */
    struct astate st3;
    astate_init(&st3);
    p.tls_expiry_us = 0;
    assert_int_equal(astate_feed_tls(&st3, &p, now + day, now, &ev), 0);
}

static void statefile_round_trip(void **state)
{
    (void)state;
    char dir[] = "/tmp/cw-statefile-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/alerter.state", dir);

    struct run r;
    run_init(&r, 2, 1);
    feed_pattern(&r, "oFFF");
    struct statefile_endpoint ep = { .url = "http://u:p@127.0.0.1:1/x",
                                     .st = r.st,
                                     .last_status = 500,
                                     .last_latency_us = 1234,
                                     .last_error = "boom \"quoted\"\n" };
    ep.st.tls_notified_us = 1798761600000000LL; /* kept across a restart */
    struct alert_rec *a =
        alert_new(CW_ALERT_DOWN, ep.url, "n", "boom", r.last[0].since_us, r.last[0].at_us, 0, 2, 0, 77 * S);
    a->email_state = CW_DELIVERY_PENDING;
    bool held = false;
    uint64_t ids[1] = { a->id };
    char payload[] = "Subject: x\r\n\r\nbody \xc3\xa9\r\n";
    struct statefile_job job = { .key = a->id,
                                 .channel = OUTBOX_MAIL,
                                 .target = NULL,
                                 .ids = ids,
                                 .n_ids = 1,
                                 .payload = payload,
                                 .payload_len = strlen(payload),
                                 .attempts = 3 };
    struct statefile_data d = {
        .eps = &ep, .n_eps = 1, .alerts = &a, .alert_held = &held, .n_alerts = 1, .jobs = &job, .n_jobs = 1
    };
    char err[256];
    assert_int_equal(statefile_save(path, &d, err, sizeof err), 0);

    struct statefile_data back;
    assert_int_equal(statefile_load(path, &back, err, sizeof err), 1);
    assert_int_equal(back.n_eps, 1);
    assert_string_equal(back.eps[0].url, ep.url);
    assert_memory_equal(&back.eps[0].st, &ep.st, sizeof ep.st);
    assert_string_equal(back.eps[0].last_error, ep.last_error);
    assert_int_equal(back.n_alerts, 1);
    assert_true(back.alerts[0]->id == a->id);
    assert_int_equal(back.alerts[0]->kind, CW_ALERT_DOWN);
    assert_int_equal(back.alerts[0]->email_state, CW_DELIVERY_PENDING);
    assert_string_equal(back.alerts[0]->message, a->message);
    assert_false(back.alert_held[0]);
    assert_int_equal(back.n_jobs, 1);
    assert_true(back.jobs[0].ids[0] == a->id);
    assert_int_equal(back.jobs[0].attempts, 3);
    assert_int_equal(back.jobs[0].payload_len, strlen(payload));
    assert_memory_equal(back.jobs[0].payload, payload, strlen(payload));
    assert_null(back.jobs[0].target);
    statefile_data_free(&back);

    /* missing file: 0; malformed file: -1, nothing returned */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(statefile_load(path, &back, err, sizeof err), 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"version\":1,\"endpoints\":[{\"url\":3}],\"alerts\":[],\"jobs\":[]}", f);
    fclose(f);
    assert_int_equal(statefile_load(path, &back, err, sizeof err), -1);
    assert_int_equal(back.n_eps, 0);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("not json at all", f);
    fclose(f);
    assert_int_equal(statefile_load(path, &back, err, sizeof err), -1);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rmdir(dir), 0);
    alert_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(start_is_silent),
        cmocka_unit_test(down_exactly_at_threshold),
        cmocka_unit_test(down_from_unknown),
        cmocka_unit_test(threshold_one),
        cmocka_unit_test(recovery_and_downtime),
        cmocka_unit_test(recovery_threshold_counts_consecutive),
        cmocka_unit_test(flapping_below_threshold_is_silent),
        cmocka_unit_test(flapping_across_threshold),
        cmocka_unit_test(slow_and_fast),
        cmocka_unit_test(failures_do_not_count_toward_slow),
        cmocka_unit_test(slow_and_down_together),
        cmocka_unit_test(no_speed_tracking_without_threshold),
        cmocka_unit_test(renotify_timing),
        cmocka_unit_test(ids_are_deterministic),
        cmocka_unit_test(grouping_window),
        cmocka_unit_test(grouping_storm),
        cmocka_unit_test(grouping_long_interval_storm),
        cmocka_unit_test(alert_records),
        cmocka_unit_test(backoff),
        cmocka_unit_test(tls_expiry_once),
        cmocka_unit_test(statefile_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
