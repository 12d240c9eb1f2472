/* tests/unit/test_route.c — routing (alerter/route.c): which channels an alert of an endpoint goes to, over a
 * configuration filled by hand (notify, escalation steps, kinds and min_severity filters). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "alerter/route.h"
#include "common/wire/protocol.h"

enum { MAIL, PD, CHAT, OPS, N_CH };

struct fixture {
    struct cw_config cfg;
    struct cw_channel ch[N_CH];
    struct cw_endpoint ep;
    size_t notify[2];
    size_t step1[1], step2[1];
    struct cw_escalation esc[2];
    size_t out[N_CH];
};

static void fixture_init(struct fixture *f)
{
    memset(f, 0, sizeof *f);
    const char *names[N_CH] = { "mail", "pd", "chat", "ops" };
    for (int i = 0; i < N_CH; i++) {
        f->ch[i].name = (char *)names[i];
        f->ch[i].kinds = CW_KINDS_ALL;
        f->ch[i].min_severity = CW_SEV_INFO;
    }
    f->cfg.channels = f->ch;
    f->cfg.n_channels = N_CH;
    f->notify[0] = MAIL;
    f->notify[1] = CHAT;
    f->ep.notify = f->notify;
    f->ep.n_notify = 2;
    f->ep.severity = CW_SEV_ERROR;
    f->ep.depends_on_idx = -1;
    f->step1[0] = PD;
    f->step2[0] = OPS;
    f->esc[0] = (struct cw_escalation){ .after = 60, .channels = f->step1, .n_channels = 1 };
    f->esc[1] = (struct cw_escalation){ .after = 600, .channels = f->step2, .n_channels = 1 };
    f->ep.escalate = f->esc;
    f->ep.n_escalate = 2;
}

static size_t route(struct fixture *f, unsigned kind, uint32_t reached, uint32_t step)
{
    struct route_query q = { .ep = &f->ep, .kind = kind, .steps_reached = reached, .escalation_step = step };
    return route_channels(&f->cfg, &q, f->out);
}

static void notify_only_its_channels(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    assert_int_equal(route(&f, CW_ALERT_DOWN, 0, 0), 2);
    assert_int_equal(f.out[0], MAIL);
    assert_int_equal(f.out[1], CHAT);
    f.ep.n_notify = 0; /* notify = []: nobody */
    assert_int_equal(route(&f, CW_ALERT_DOWN, 0, 0), 0);
}

static void kinds_filter(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    f.ch[CHAT].kinds = (1u << CW_ALERT_DOWN) | (1u << CW_ALERT_UP);
    assert_int_equal(route(&f, CW_ALERT_SLOW, 0, 0), 1);
    assert_int_equal(f.out[0], MAIL);
    assert_int_equal(route(&f, CW_ALERT_UP, 0, 0), 2);
}

static void min_severity_filter(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    f.ch[MAIL].min_severity = CW_SEV_CRITICAL; /* the endpoint is only ERROR */
    assert_int_equal(route(&f, CW_ALERT_DOWN, 0, 0), 1);
    assert_int_equal(f.out[0], CHAT);
    f.ep.severity = CW_SEV_CRITICAL;
    assert_int_equal(route(&f, CW_ALERT_DOWN, 0, 0), 2);
}

static void escalation_goes_to_its_step(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    assert_int_equal(route(&f, CW_ALERT_ESCALATION, 1, 1), 1); /* the default kinds (all) take it */
    assert_int_equal(f.out[0], PD);
    f.ch[PD].kinds = 1u << CW_ALERT_DOWN; /* kinds without "escalation": not this channel */
    assert_int_equal(route(&f, CW_ALERT_ESCALATION, 1, 1), 0);
    f.ch[PD].kinds |= 1u << CW_ALERT_ESCALATION;
    assert_int_equal(route(&f, CW_ALERT_ESCALATION, 1, 1), 1);
    assert_int_equal(route(&f, CW_ALERT_ESCALATION, 2, 2), 1);
    assert_int_equal(f.out[0], OPS);
    f.ch[OPS].min_severity = CW_SEV_CRITICAL; /* min_severity does */
    assert_int_equal(route(&f, CW_ALERT_ESCALATION, 2, 2), 0);
    assert_int_equal(route(&f, CW_ALERT_ESCALATION, 2, 3), 0); /* no such step */
}

static void follow_ups_reach_escalated_channels(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    assert_int_equal(route(&f, CW_ALERT_REMINDER, 1, 0), 3); /* mail, pd, chat */
    assert_int_equal(f.out[1], PD);
    assert_int_equal(route(&f, CW_ALERT_UP, 2, 0), 4);
    assert_int_equal(route(&f, CW_ALERT_SLOW, 2, 0), 2); /* not a follow-up of the incident */
    assert_int_equal(route(&f, CW_ALERT_DOWN, 0, 0), 2);
}

static void no_channels_configured(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    f.cfg.n_channels = 0;
    assert_int_equal(route(&f, CW_ALERT_DOWN, 0, 0), 0);
}

static void duplicates_listed_once(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    f.step1[0] = MAIL; /* step 1 names a channel notify has already */
    assert_int_equal(route(&f, CW_ALERT_REMINDER, 1, 0), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(notify_only_its_channels),
        cmocka_unit_test(kinds_filter),
        cmocka_unit_test(min_severity_filter),
        cmocka_unit_test(escalation_goes_to_its_step),
        cmocka_unit_test(follow_ups_reach_escalated_channels),
        cmocka_unit_test(no_channels_configured),
        cmocka_unit_test(duplicates_listed_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
