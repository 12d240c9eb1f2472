/* tests/unit/test_location_hold.c — what quorum alerting must not do when locations come and go (alerter/endpoints.c
 * with common/base/quorum.c and alerter/locations.c): a DOWN location going silent mid-outage does not end it (no
 * false UP, no second DOWN when it returns); a restart mid-outage keeps the votes (no UP, no second DOWN), and an
 * unknown vote needs recovery_threshold successes while the endpoint is DOWN; a location back from silence does not
 * vote with what it said before; flapping is fed the endpoint's state, not an unknown verdict; the same results in
 * the same order give the same alert ids; locations not heard yet are said so; a reload to fewer locations does not
 * make the remaining one's results late. Configurations are filled by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "locvotes_test_util.h"

/* fra and nyc see it down from 10 s, sgp up: DOWN since 10 s. */
static const struct step two_down[] = { { "fra", 10, 'F' }, { "nyc", 10, 'F' }, { "sgp", 10, 'o' },
                                        { "fra", 11, 'F' }, { "nyc", 11, 'F' }, { "sgp", 11, 'o' } };

static void down_location_silent_mid_outage(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    replay(&w, two_down, 6);
    assert_int_equal(count_kind(&w, CW_ALERT_DOWN), 1);
    hear(&w, 12, (const char *const[]){ "central", "fra", "sgp", NULL });
    assert_int_equal(tick(&w, 12), 1);                          /* nyc silent */
    replay(&w, (const struct step[]){ { "fra", 13, 'F' } }, 1); /* fra still sees it down */
    assert_int_equal(count_kind(&w, CW_ALERT_UP), 0);           /* one DOWN vote of two, but UP is not reached */
    struct endpoint *e = endpoints_find(&w.t, URL);
    assert_int_equal(e->st.avail, ASTATE_DOWN);
    hear(&w, 30, (const char *const[]){ "central", "fra", "sgp", "nyc", NULL });
    assert_int_equal(hear(&w, 40, (const char *const[]){ "central", "fra", "sgp", "nyc", NULL }), 1); /* nyc back */
    replay(&w, (const struct step[]){ { "fra", 41, 'F' }, { "nyc", 41, 'F' } }, 2);
    assert_int_equal(count_kind(&w, CW_ALERT_DOWN), 1); /* the same outage: no second DOWN */
    assert_int_equal(e->st.avail, ASTATE_DOWN);
    /* UP once DOWN can no longer be reached: 2 live UP votes of 3 locations, quorum 2 */
    replay(&w, (const struct step[]){ { "fra", 42, 'o' }, { "sgp", 42, 'o' } }, 2);
    const struct alert_rec *up = only_alert(&w, CW_ALERT_UP);
    assert_int_equal(up->since_us, WALL0 + 42 * S);
    assert_int_equal(up->duration_us, 32 * S);
    world_free(&w);
}

/* The state file of w, then a second alerter loading it (every location heard at 1 s). */
static void restart(struct world *w, struct world *w2, char *dir)
{
    struct persist keep;
    persist_init(&keep, dir);
    struct intake in;
    memset(&in, 0, sizeof in);
    ackgather_init(&in.acks);
    assert_int_equal(persist_save(&keep, &w->t, &w->d, w->ob, &in), 0);
    ackgather_free(&in.acks);
    world_init(w2);
    w2->eps[0].recovery_threshold = w->eps[0].recovery_threshold;
    endpoints_build(&w2->t, &w2->cfg);
    persist_load(&keep, &w2->t, &w2->d, &w2->cfg, 0);
    persist_free(&keep);
    unlink(keep.path);
}

static void restart_mid_outage_keeps_votes(void **state)
{
    (void)state;
    char dir[] = "/tmp/cw-lochold-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct world w, w2;
    world_init(&w);
    replay(&w, two_down, 6);
    restart(&w, &w2, dir);
    struct endpoint *e = endpoints_find(&w2.t, URL);
    assert_int_equal(e->st.avail, ASTATE_DOWN);
    /* the votes are back as they were: fra's with its run, its since and its worker's boot */
    assert_int_equal(e->votes[0].v.vote, QUORUM_DOWN);
    assert_int_equal(e->votes[0].v.fail_run, 2);
    assert_int_equal(e->votes[0].v.since_us, WALL0 + 10 * S);
    assert_int_equal(e->votes[0].v.last_at_us, WALL0 + 11 * S);
    assert_int_equal(e->votes[0].boot_id, 7);
    assert_int_equal(e->votes[0].checked_us, WALL0 + 11 * S);
    assert_int_equal(e->votes[2].v.vote, QUORUM_UP);
    char text[256];
    endpoints_location_summary(&w2.t, e, text, sizeof text);
    assert_string_equal(text, "DOWN from fra, nyc; up from sgp");
    size_t before = w2.d.n_alerts;
    replay(&w2,
           (const struct step[]){
               { "sgp", 20, 'o' }, { "fra", 20, 'F' }, { "fra", 21, 'F' }, { "nyc", 21, 'F' }, { "nyc", 22, 'F' } },
           5);
    assert_int_equal(count_kind(&w2, CW_ALERT_UP), 0);
    assert_int_equal(w2.d.n_alerts, before); /* nothing new: no UP, no second DOWN */
    assert_int_equal(endpoints_find(&w2.t, URL)->votes[0].v.vote, QUORUM_DOWN);
    world_free(&w2);
    world_free(&w);
    rmdir(dir);
}

/* A vote unknown while the endpoint is DOWN (a state file without votes) needs recovery_threshold successes. */
static void unknown_vote_needs_recovery_while_down(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    w.eps[0].recovery_threshold = 3;
    endpoints_build(&w.t, &w.cfg);
    replay(&w, two_down, 6);
    struct endpoint *e = endpoints_find(&w.t, URL);
    assert_int_equal(e->st.avail, ASTATE_DOWN);
    for (size_t i = 0; i < e->n_votes; i++) memset(&e->votes[i].v, 0, sizeof e->votes[i].v);
    replay(&w, (const struct step[]){ { "fra", 20, 'o' }, { "sgp", 20, 'o' }, { "fra", 21, 'o' }, { "sgp", 21, 'o' } },
           4);
    assert_int_equal(count_kind(&w, CW_ALERT_UP), 0); /* two successes each, three needed */
    assert_int_equal(e->votes[0].v.vote, QUORUM_UNKNOWN);
    replay(&w, (const struct step[]){ { "fra", 22, 'o' }, { "sgp", 22, 'o' } }, 2);
    assert_int_equal(only_alert(&w, CW_ALERT_UP)->since_us, WALL0 + 20 * S);
    world_free(&w);
}

static void back_from_silence_forgets_its_votes(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    replay(&w, (const struct step[]){ { "fra", 10, 'o' }, { "nyc", 10, 'F' }, { "sgp", 10, 'o' }, { "nyc", 11, 'F' } },
           4);
    assert_int_equal(endpoints_find(&w.t, URL)->votes[1].v.vote, QUORUM_DOWN); /* nyc's own trouble */
    hear(&w, 12, (const char *const[]){ "central", "fra", "sgp", NULL });
    assert_int_equal(tick(&w, 12), 1); /* nyc silent */
    hear(&w, 30, (const char *const[]){ "central", "fra", "sgp", "nyc", NULL });
    assert_int_equal(hear(&w, 40, (const char *const[]){ "central", "fra", "sgp", "nyc", NULL }), 1); /* back */
    char text[256];
    endpoints_location_summary(&w.t, endpoints_find(&w.t, URL), text, sizeof text);
    assert_string_equal(text, "up from fra, sgp; no result from nyc");
    replay(&w, (const struct step[]){ { "fra", 41, 'F' }, { "fra", 42, 'F' } }, 2);
    assert_int_equal(w.d.n_alerts, 0); /* nyc's DOWN from before its silence does not make a quorum with fra */
    world_free(&w);
}

/* Flapping is fed the endpoint's state after the verdict; nothing while the verdict is unknown. */
static void flapping_not_fed_unknown(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    w.eps[0].flap_window = 6;
    w.eps[0].flap_high = 30;
    w.eps[0].flap_low = 10;
    endpoints_build(&w.t, &w.cfg);
    replay(&w,
           (const struct step[]){ { "fra", 10, 'F' },
                                  { "nyc", 10, 'F' },
                                  { "sgp", 10, 'F' },
                                  { "fra", 11, 'F' },
                                  { "nyc", 11, 'F' },
                                  { "sgp", 11, 'F' } },
           6);
    int t = 12;
    for (int round = 0; round < 3; round++, t += 20) {
        /* nyc and sgp silent a while (their DOWN votes left out), then back, all seeing it down throughout */
        hear(&w, t + 20, (const char *const[]){ "central", "fra", NULL });
        tick(&w, t + 20);
        feed(&w, URL, "fra", WALL0 + (t + 21) * S, false);
        hear(&w, t + 21, (const char *const[]){ "nyc", "sgp", NULL });
        feed(&w, URL, "fra", WALL0 + (t + 22) * S, false);
    }
    assert_int_equal(count_kind(&w, CW_ALERT_FLAPPING), 0);
    assert_int_equal(count_kind(&w, CW_ALERT_DOWN), 1);

    struct world u; /* at start, before any verdict: nothing fed */
    world_init(&u);
    replay(&u, (const struct step[]){ { "fra", 10, 'o' }, { "fra", 11, 'F' } }, 2);
    assert_int_equal(endpoints_find(&u.t, URL)->flap.n, 0);
    world_free(&u);
    world_free(&w);
}

/* Alert ids come from the results' times: the same results in the same order give the same ids (a replay). */
static void same_results_same_order_same_ids(void **state)
{
    (void)state;
    static const struct step run[] = { { "fra", 5, 'o' },  { "nyc", 5, 'o' },  { "sgp", 5, 'o' },  { "fra", 10, 'F' },
                                       { "fra", 11, 'F' }, { "sgp", 14, 'F' }, { "sgp", 15, 'F' }, { "nyc", 12, 'F' },
                                       { "nyc", 13, 'F' }, { "fra", 20, 'o' }, { "sgp", 20, 'o' } };
    struct world a, b;
    world_init(&a);
    world_init(&b);
    replay(&a, run, sizeof run / sizeof run[0]);
    replay(&b, run, sizeof run / sizeof run[0]);
    assert_int_equal(count_kind(&a, CW_ALERT_DOWN), 1);
    assert_int_equal(count_kind(&a, CW_ALERT_UP), 1);
    assert_int_equal(a.d.n_alerts, b.d.n_alerts);
    for (size_t i = 0; i < a.d.n_alerts; i++) assert_int_equal(a.d.alerts[i]->id, b.d.alerts[i]->id);
    world_free(&a);
    world_free(&b);
}

static void not_heard_yet_is_said_so(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    locations_free(&w.locs); /* a fresh start: nobody heard yet */
    locations_build(&w.locs, names, 4, 10, 0, WALL0);
    hear(&w, 1, (const char *const[]){ "central", "fra", NULL });
    feed(&w, URL, "fra", WALL0 + 2 * S, false);
    char text[256];
    endpoints_location_summary(&w.t, endpoints_find(&w.t, URL), text, sizeof text);
    assert_string_equal(text, "no result from fra; nyc not heard yet; sgp not heard yet");
    assert_int_equal(tick(&w, 11), 2);
    endpoints_location_summary(&w.t, endpoints_find(&w.t, URL), text, sizeof text);
    assert_string_equal(text, "no result from fra; nyc silent; sgp silent");
    world_free(&w);
}

/* A reload from three locations to fra only: fra's results are not late behind nyc's newer ones. */
static void reload_to_one_location(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    assert_int_equal(feed_boot(&w, URL, "fra", WALL0 + 10 * S, true, 8), INTAKE_APPLIED);
    assert_int_equal(feed_boot(&w, URL, "nyc", WALL0 + 20 * S, true, 9), INTAKE_APPLIED);
    static char *fra_only[] = { "fra" };
    struct cw_config cfg2 = w.cfg;
    struct cw_endpoint eps2[2] = { w.eps[0], w.eps[1] };
    eps2[0].locations = fra_only;
    eps2[0].n_locations = 1;
    cfg2.endpoints = eps2;
    endpoints_build(&w.t, &cfg2);
    assert_int_equal(feed_boot(&w, URL, "fra", WALL0 + 15 * S, false, 8), INTAKE_APPLIED);
    assert_int_equal(feed_boot(&w, URL, "fra", WALL0 + 16 * S, false, 10), INTAKE_APPLIED); /* fra restarted */
    assert_int_equal(only_alert(&w, CW_ALERT_DOWN)->since_us, WALL0 + 15 * S);
    endpoints_build(&w.t, &w.cfg); /* before eps2 goes */
    world_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(down_location_silent_mid_outage),
        cmocka_unit_test(restart_mid_outage_keeps_votes),
        cmocka_unit_test(unknown_vote_needs_recovery_while_down),
        cmocka_unit_test(back_from_silence_forgets_its_votes),
        cmocka_unit_test(flapping_not_fed_unknown),
        cmocka_unit_test(same_results_same_order_same_ids),
        cmocka_unit_test(not_heard_yet_is_said_so),
        cmocka_unit_test(reload_to_one_location),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
