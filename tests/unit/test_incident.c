/* tests/unit/test_incident.c — incidents (alerter/incident.c): acknowledgement by the incident's id or by the id
 * of any of its alerts (reminders, escalations), refusal of unknown or closed ones, folded children. */
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
#include "alerter/endpoints.h"
#include "alerter/incident.h"
#include "alerter/statefile.h"

#define S 1000000LL

struct fixture {
    struct cw_config cfg;
    struct cw_endpoint eps[2];
    struct endpoints t;
};

static void fixture_init(struct fixture *f)
{
    memset(f, 0, sizeof *f);
    f->eps[0].url = "http://127.0.0.1:1/api";
    f->eps[0].name = "api";
    f->eps[1].url = "http://127.0.0.1:1/db";
    for (int i = 0; i < 2; i++) f->eps[i].depends_on_idx = -1;
    f->cfg.endpoints = f->eps;
    f->cfg.n_endpoints = 2;
    endpoints_init(&f->t, NULL);
    endpoints_build(&f->t, &f->cfg);
}

/* Opens an incident on endpoint i of f, its DOWN since since_us; returns its id. */
static uint64_t open_on(struct fixture *f, size_t i, int64_t since_us)
{
    struct endpoint *e = &f->t.all[i];
    uint64_t down = alert_make_id(e->ep->url, CW_ALERT_DOWN, since_us, 0);
    incident_open(endpoint_incident_mut(e), down, since_us);
    return down;
}

static void ack_by_incident_id(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    struct endpoint *e = &f.t.all[0];
    uint64_t down = open_on(&f, 0, 100 * S);
    char msg[256];
    assert_int_equal(incident_ack(&f.t, down, "alice", msg, sizeof msg), 0);
    assert_true(e->inc->acked);
    assert_string_equal(e->inc->acked_by, "alice");
    assert_non_null(strstr(msg, "acknowledged by alice"));
    assert_non_null(strstr(msg, "api"));
    assert_int_equal(incident_ack(&f.t, down, "bob", msg, sizeof msg), 0); /* again: says who did */
    assert_non_null(strstr(msg, "already acknowledged by alice"));
    endpoints_free(&f.t);
}

static void ack_by_reminder_or_escalation_id(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    struct endpoint *e = &f.t.all[1];
    open_on(&f, 1, 5 * S);
    e->st.reminders = 2;
    e->inc->steps = 1;
    char msg[256];
    uint64_t third = alert_make_id(e->ep->url, CW_ALERT_REMINDER, 5 * S, 3); /* not raised yet */
    assert_int_equal(incident_ack(&f.t, third, "x", msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "no open incident has alert id"));
    uint64_t esc = alert_make_id(e->ep->url, CW_ALERT_ESCALATION, 5 * S, 1);
    assert_true(incident_has_alert(e->inc, e->ep->url, 2, esc));
    uint64_t second = alert_make_id(e->ep->url, CW_ALERT_REMINDER, 5 * S, 2);
    assert_int_equal(incident_ack(&f.t, second, "carol", msg, sizeof msg), 0);
    assert_true(e->inc->acked);
    assert_null(f.t.all[0].inc); /* none on endpoint 0 */
    endpoints_free(&f.t);
}

static void closed_incident_refused(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    uint64_t down = open_on(&f, 0, 100 * S);
    f.t.all[0].inc->open = false; /* its UP came */
    char msg[256];
    assert_int_equal(incident_ack(&f.t, down, "alice", msg, sizeof msg), -1);
    assert_int_equal(incident_ack(&f.t, 0, "alice", msg, sizeof msg), -1);
    endpoints_free(&f.t);
}

static void children_once_and_reopen_clears(void **state)
{
    (void)state;
    struct incident inc = { 0 };
    incident_open(&inc, 7, 1);
    incident_add_child(&inc, "http://a/");
    incident_add_child(&inc, "http://b/");
    incident_add_child(&inc, "http://a/");
    assert_int_equal(inc.n_children, 2);
    inc.acked = true;
    incident_open(&inc, 8, 2);
    assert_int_equal(inc.n_children, 0);
    assert_false(inc.acked);
    incident_free(&inc);
}

static void ack_survives_rebuild(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    struct endpoint *e = &f.t.all[0];
    incident_open(endpoint_incident_mut(e), 42, 1);
    char msg[256];
    assert_int_equal(incident_ack(&f.t, 42, "dave", msg, sizeof msg), 0);
    endpoints_build(&f.t, &f.cfg); /* a reload keeps the incident */
    assert_true(f.t.all[0].inc->acked);
    assert_string_equal(f.t.all[0].inc->acked_by, "dave");
    endpoints_free(&f.t);
}

static void state_file_keeps_incident_and_deliveries(void **state)
{
    (void)state;
    char dir[] = "/tmp/cwinc.XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/alerter.state", dir);
    struct statefile_endpoint ep = { .url = "http://127.0.0.1:1/api", .last_error = "" };
    ep.st.avail = ASTATE_DOWN;
    incident_open(&ep.inc, 0xabcdef, 5 * S);
    ep.inc.steps = 2;
    ep.notified = ASTATE_DOWN;
    ep.resends = 3;
    ep.inc.acked = true;
    ep.inc.acked_by = strdup("alice");
    incident_add_child(&ep.inc, "http://127.0.0.1:1/db");
    ep.flap = (struct flap_hist){ .failed = 0x2a, .n = 21, .flapping = true };
    struct alert_rec *al = alert_new(CW_ALERT_UP, ep.url, "api", NULL, 9 * S, 9 * S, 4 * S, 1, 0, 10 * S);
    al->incident_id = 0xabcdef;
    al->muted = CW_MUTE_SILENCE;
    alert_add_delivery(al, "ops-mail", true, CW_DELIVERY_MUTED);
    alert_add_delivery(al, "pd", false, CW_DELIVERY_MUTED);
    alert_update_deliveries(al);
    assert_string_equal(al->deliveries, "ops-mail=muted,pd=muted");
    assert_int_equal(al->email_state, CW_DELIVERY_MUTED);
    bool held = false;
    struct statefile_data d = { .eps = &ep, .n_eps = 1, .alerts = &al, .alert_held = &held, .n_alerts = 1 };
    char err[256];
    assert_int_equal(statefile_save(path, &d, err, sizeof err), 0);
    struct statefile_data back;
    assert_int_equal(statefile_load(path, &back, err, sizeof err), 1);
    assert_int_equal(back.n_eps, 1);
    const struct incident *inc = &back.eps[0].inc;
    assert_true(inc->open);
    assert_int_equal(inc->id, 0xabcdef);
    assert_int_equal(inc->steps, 2);
    assert_int_equal(back.eps[0].notified, ASTATE_DOWN);
    assert_int_equal(back.eps[0].resends, 3);
    assert_true(inc->acked);
    assert_string_equal(inc->acked_by, "alice");
    assert_int_equal(inc->n_children, 1);
    assert_int_equal(back.eps[0].flap.failed, 0x2a);
    assert_true(back.eps[0].flap.flapping);
    const struct alert_rec *a2 = back.alerts[0];
    assert_int_equal(a2->incident_id, 0xabcdef);
    assert_int_equal(a2->muted, CW_MUTE_SILENCE);
    assert_string_equal(a2->deliveries, "ops-mail=muted,pd=muted");
    struct cw_alert w;
    alert_to_wire(a2, &w);
    assert_int_equal(w.incident_id, 0xabcdef);
    assert_int_equal(w.muted, CW_MUTE_SILENCE);
    assert_string_equal(w.deliveries, "ops-mail=muted,pd=muted");
    statefile_data_free(&back);
    alert_free(al);
    incident_free(&ep.inc);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ack_by_incident_id),      cmocka_unit_test(ack_by_reminder_or_escalation_id),
        cmocka_unit_test(closed_incident_refused), cmocka_unit_test(children_once_and_reopen_clears),
        cmocka_unit_test(ack_survives_rebuild),    cmocka_unit_test(state_file_keeps_incident_and_deliveries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
