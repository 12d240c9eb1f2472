/* tests/unit/test_dispatch_group.c — the grouping window's release (alerter/dispatch.c): summary or not is decided
 * per channel from the unmuted alerts routed to it; the storm period follows the largest such count; a reminder
 * released with the UP of its incident is not sent. Alerts built by hand, a fake decision and a fake queue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "alerter/dispatch.h"

#define S 1000000LL
enum { MAIL, HOOK, N_CH };

struct job_seen {
    size_t ch, n;
    uint8_t kind0;
};

static struct fx {
    struct cw_config cfg;
    struct cw_channel ch[N_CH];
    struct dispatch d;
    struct storeq sq;
    struct job_seen jobs[64];
    size_t n_jobs;
} f;

static struct outbox_job dummy_job;

static struct outbox_job *fake_queue(struct outbox *ob, const struct cw_config *cfg, size_t ch,
                                     struct alert_rec *const *alerts, size_t n, const struct chan_ctx *ctx)
{
    (void)ob, (void)cfg, (void)ctx;
    f.jobs[f.n_jobs++] = (struct job_seen){ .ch = ch, .n = n, .kind0 = alerts[0]->kind };
    return &dummy_job;
}

/* Routing by the alert's name: "mail..." to MAIL only, "hook..." to HOOK only; "muted..." flapping-muted on both. */
static size_t fake_decide(void *ctx, const struct cw_config *cfg, struct alert_rec *al, size_t *chans)
{
    (void)ctx, (void)cfg;
    if (!strncmp(al->name, "muted", 5)) {
        al->muted = CW_MUTE_FLAPPING;
        chans[0] = MAIL, chans[1] = HOOK;
        return 2;
    }
    chans[0] = !strncmp(al->name, "mail", 4) ? MAIL : HOOK;
    return 1;
}

static int setup(void **state)
{
    (void)state;
    memset(&f, 0, sizeof f);
    f.ch[MAIL] = (struct cw_channel){ .name = "mail", .type = CW_CHAN_EMAIL, .kinds = CW_KINDS_ALL };
    f.ch[HOOK] = (struct cw_channel){ .name = "hook", .type = CW_CHAN_WEBHOOK, .kinds = CW_KINDS_ALL };
    f.cfg.channels = f.ch;
    f.cfg.n_channels = N_CH;
    f.cfg.group_threshold = 2;
    f.d.queue = fake_queue;
    dispatch_init(&f.d, NULL, &f.sq);
    f.d.decide = fake_decide;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    dispatch_free(&f.d);
    return 0;
}

static struct alert_rec *raise_one(uint8_t kind, const char *name, uint32_t seq, int64_t mono)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:1/%s", name);
    int64_t since = 1800000000 * S;
    struct alert_rec *al = alert_new(kind, url, name, "HTTP 500", since, since, 0, 1, seq, since);
    al->incident_id = 77;
    dispatch_raise(&f.d, &f.cfg, al, 1, mono);
    return al;
}

static size_t jobs_on(size_t ch, size_t *largest)
{
    size_t n = 0;
    *largest = 0;
    for (size_t i = 0; i < f.n_jobs; i++)
        if (f.jobs[i].ch == ch) {
            n++;
            if (f.jobs[i].n > *largest) *largest = f.jobs[i].n;
        }
    return n;
}

/* 6 alerts released together: 2 to mail, 2 muted (flapping), 2 to hook. threshold 2: no channel has more than 2
 * unmuted alerts, so each goes out on its own, and no storm period starts. */
static void summary_per_channel_unmuted(void **state)
{
    (void)state;
    int64_t mono = 1000 * S;
    const char *names[] = { "mail1", "mail2", "muted1", "muted2", "hook1", "hook2" };
    for (uint32_t i = 0; i < 6; i++) raise_one(CW_ALERT_DOWN, names[i], i, mono);
    dispatch_release(&f.d, &f.cfg, mono + 60 * S);
    size_t largest;
    assert_int_equal(jobs_on(MAIL, &largest), 2);
    assert_int_equal(largest, 1);
    assert_int_equal(jobs_on(HOOK, &largest), 2);
    assert_int_equal(largest, 1);
    assert_true(f.d.group.storm_until_us == 0);

    /* 3 to mail, 1 to hook: a summary on mail only, a storm period */
    f.n_jobs = 0;
    mono += 120 * S;
    const char *more[] = { "mail3", "mail4", "mail5", "hook3" };
    for (uint32_t i = 0; i < 4; i++) raise_one(CW_ALERT_DOWN, more[i], 10 + i, mono);
    dispatch_release(&f.d, &f.cfg, mono + 60 * S);
    assert_int_equal(jobs_on(MAIL, &largest), 1);
    assert_int_equal(largest, 3);
    assert_int_equal(jobs_on(HOOK, &largest), 1);
    assert_int_equal(largest, 1);
    assert_true(f.d.group.storm_until_us > 0);
}

/* A reminder released together with the UP of its incident is stale: only the UP is sent. */
static void reminder_dropped_with_its_up(void **state)
{
    (void)state;
    int64_t mono = 1000 * S;
    struct alert_rec *rem = raise_one(CW_ALERT_REMINDER, "mailx", 1, mono);
    uint64_t rem_id = rem->id;
    raise_one(CW_ALERT_UP, "mailx", 2, mono);
    dispatch_release(&f.d, &f.cfg, mono + 60 * S);
    size_t largest;
    assert_int_equal(jobs_on(MAIL, &largest), 1);
    assert_int_equal(f.jobs[0].kind0, CW_ALERT_UP);
    assert_null(dispatch_find(&f.d, rem_id)); /* nothing left to deliver for it */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(summary_per_channel_unmuted, setup, teardown),
        cmocka_unit_test_setup_teardown(reminder_dropped_with_its_up, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
