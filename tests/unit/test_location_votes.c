/* tests/unit/test_location_votes.c — quorum alerting in the alerter's endpoint table (alerter/endpoints.c with
 * alerter/locations.c): a replay of results from three locations gives the right alerts (here with the same ids when
 * the locations' results interleave otherwise: the quorum is reached with the same votes; that is not so in
 * general, docs/alerts.md "Alert ids"); one location's trouble raises nothing with quorum 2 of 3; the
 * alert says who sees what; a silent location's vote is left out; results checked before their location came back
 * are not voted; a result of a location the endpoint is not checked from is ignored; an endpoint with one location
 * behaves as before. Configurations are filled by hand. */
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

static const struct step outage[] = {
    { "fra", 10, 'F' }, { "nyc", 10, 'o' }, { "sgp", 10, 'o' }, { "fra", 11, 'F' }, { "nyc", 11, 'o' },
    { "sgp", 11, 'o' }, { "fra", 12, 'F' }, { "nyc", 12, 'F' }, { "sgp", 12, 'o' }, { "fra", 13, 'F' },
    { "nyc", 13, 'F' }, { "sgp", 13, 'o' }, { "fra", 20, 'o' }, { "nyc", 20, 'F' }, { "sgp", 20, 'o' },
};

static void quorum_two_of_three(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    replay(&w, outage, 6); /* fra alone sees it down: no alert */
    assert_int_equal(w.d.n_alerts, 0);
    assert_int_equal(endpoints_find(&w.t, URL)->verdict, QUORUM_UP);
    replay(&w, outage + 6, 5); /* nyc's second failure makes the quorum */
    const struct alert_rec *down = only_alert(&w, CW_ALERT_DOWN);
    /* since: when the quorum was reached in result time, the second-earliest DOWN vote's since (nyc's, 12 s) */
    assert_int_equal(down->since_us, WALL0 + 12 * S);
    assert_int_equal(down->id, alert_make_id(URL, CW_ALERT_DOWN, WALL0 + 12 * S, 0));
    assert_string_equal(down->detail, "DOWN from fra, nyc; up from sgp");
    assert_non_null(strstr(down->message, "(DOWN from fra, nyc; up from sgp)"));
    assert_int_equal(down->count, 6); /* fra's 4 failures and nyc's 2 */
    replay(&w, outage + 11, 4);       /* fra recovers at 20 s: one DOWN vote left of the two needed */
    const struct alert_rec *up = only_alert(&w, CW_ALERT_UP);
    assert_int_equal(up->since_us, WALL0 + 20 * S);
    assert_int_equal(up->duration_us, 8 * S);
    assert_string_equal(up->detail, "DOWN from nyc; up from fra, sgp");
    world_free(&w);
}

/* The same results, the locations interleaved otherwise (each location's own order kept): here, where the quorum
 * is reached by the same votes either way, the same alerts. */
static void same_ids_for_this_interleaving(void **state)
{
    (void)state;
    struct step reordered[15];
    size_t n = 0;
    for (const char *const *loc = (const char *const[]){ "sgp", "nyc", "fra", NULL }; *loc; loc++)
        for (size_t i = 0; i < 15; i++)
            if (strcmp(outage[i].loc, *loc) == 0) reordered[n++] = outage[i];
    struct world a, b;
    world_init(&a);
    world_init(&b);
    replay(&a, outage, 15);
    replay(&b, reordered, 15);
    assert_int_equal(a.d.n_alerts, b.d.n_alerts);
    for (size_t i = 0; i < a.d.n_alerts; i++) assert_non_null(dispatch_find(&b.d, a.d.alerts[i]->id));
    world_free(&a);
    world_free(&b);
}

static void silent_location_left_out(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    replay(&w, (const struct step[]){ { "fra", 10, 'o' }, { "nyc", 10, 'o' }, { "sgp", 10, 'o' } }, 3);
    /* nyc and sgp go silent (only fra and the central heard since) */
    struct location_event ev[4];
    locations_heard(&w.locs, locations_find(&w.locs, "fra"), 0, 12 * S, WALL0 + 12 * S, ev);
    locations_heard(&w.locs, locations_find(&w.locs, "central"), 0, 12 * S, WALL0 + 12 * S, ev);
    assert_int_equal(locations_tick(&w.locs, 12 * S, WALL0 + 12 * S, ev, 4), 2);
    replay(&w, (const struct step[]){ { "fra", 13, 'F' }, { "fra", 14, 'F' }, { "fra", 15, 'F' } }, 3);
    assert_int_equal(w.d.n_alerts, 0); /* one live location of the two needed: unknown, no false DOWN */
    assert_int_equal(endpoints_find(&w.t, URL)->verdict, QUORUM_UNKNOWN);
    char text[256];
    endpoints_location_summary(&w.t, endpoints_find(&w.t, URL), text, sizeof text);
    assert_string_equal(text, "DOWN from fra; nyc silent; sgp silent");

    /* nyc heard again from 30 s, back at 40 s (heard without a break for silent_after): what it checked before
     * (buffered while cut off) tells the past */
    assert_int_equal(locations_heard(&w.locs, locations_find(&w.locs, "nyc"), 0, 30 * S, WALL0 + 30 * S, ev), 0);
    assert_int_equal(locations_heard(&w.locs, locations_find(&w.locs, "nyc"), 0, 40 * S, WALL0 + 40 * S, ev), 1);
    assert_int_equal(feed(&w, URL, "nyc", WALL0 + 16 * S, false), INTAKE_IGNORED);
    assert_int_equal(feed(&w, URL, "nyc", WALL0 + 17 * S, false), INTAKE_IGNORED);
    assert_int_equal(w.t.late_location_results, 2);
    assert_int_equal(w.d.n_alerts, 0);
    replay(&w, (const struct step[]){ { "nyc", 41, 'F' }, { "nyc", 42, 'F' } }, 2);
    assert_int_equal(only_alert(&w, CW_ALERT_DOWN)->since_us, WALL0 + 41 * S);
    world_free(&w);
}

static void other_locations_and_one_location(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    assert_int_equal(feed(&w, URL, "tyo", WALL0 + 10 * S, false), INTAKE_IGNORED);
    assert_int_equal(feed(&w, SOLO, "nyc", WALL0 + 10 * S, false), INTAKE_IGNORED);
    assert_int_equal(feed(&w, SOLO, "", WALL0 + 10 * S, false), INTAKE_IGNORED); /* "": the central's own */
    assert_int_equal(w.t.other_location_results, 3);
    /* one location: each result drives the state machine as before (DOWN after alert_threshold failures) */
    assert_int_equal(feed(&w, SOLO, "fra", WALL0 + 10 * S, false), INTAKE_APPLIED);
    assert_int_equal(feed(&w, SOLO, "fra", WALL0 + 11 * S, false), INTAKE_APPLIED);
    const struct alert_rec *down = only_alert(&w, CW_ALERT_DOWN);
    assert_int_equal(down->id, alert_make_id(SOLO, CW_ALERT_DOWN, WALL0 + 10 * S, 0));
    assert_true(down->detail == NULL || down->detail[0] == '\0'); /* no location summary */
    world_free(&w);
}

/* SLOW when a quorum of live locations vote slow; FAST again when they do not (speed paused while DOWN). */
static void slow_by_quorum(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    w.eps[0].latency_threshold = 0.5;
    endpoints_build(&w.t, &w.cfg);
    struct cw_result r = { .boot_id = 7, .seq = 1, .status_code = 200, .ok = true, .url = URL };
    static const struct {
        const char *loc;
        int t;
        int64_t latency;
    } steps[] = { { "fra", 10, 900000 }, { "nyc", 10, 1000 },   { "sgp", 10, 1000 },
                  { "fra", 11, 900000 }, { "nyc", 11, 900000 }, { "sgp", 11, 1000 },
                  { "nyc", 12, 900000 }, { "fra", 20, 1000 },   { "fra", 21, 1000 } };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        r.location = steps[i].loc;
        r.checked_at_us = WALL0 + steps[i].t * S;
        r.latency_us = steps[i].latency;
        assert_int_equal(endpoints_apply(&w.t, &r, 0), INTAKE_APPLIED);
        if (i == 5) assert_int_equal(w.d.n_alerts, 0); /* fra slow, nyc not yet: no quorum */
    }
    const struct alert_rec *slow = only_alert(&w, CW_ALERT_SLOW);
    assert_int_equal(slow->since_us, WALL0 + 11 * S); /* nyc's slow run began at 11 s: the second-earliest */
    const struct alert_rec *fast = only_alert(&w, CW_ALERT_FAST);
    assert_int_equal(fast->since_us, WALL0 + 20 * S);
    assert_int_equal(fast->duration_us, 9 * S);
    world_free(&w);
}

/* The state file keeps a silent location silent (no second alert after a restart) and who sees what. */
static void state_file_keeps_silence_and_votes(void **state)
{
    (void)state;
    char dir[] = "/tmp/cw-locvotes-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct world w;
    world_init(&w);
    replay(&w, outage, 11); /* DOWN from fra, nyc; up from sgp */
    struct location_event ev[4];
    for (const char *const *n = (const char *const[]){ "central", "fra", "nyc", NULL }; *n; n++)
        locations_heard(&w.locs, locations_find(&w.locs, *n), 0, 12 * S, WALL0 + 12 * S, ev);
    assert_int_equal(locations_tick(&w.locs, 12 * S, WALL0 + 12 * S, ev, 4), 1); /* sgp */
    struct persist keep;
    persist_init(&keep, dir);
    struct intake in;
    memset(&in, 0, sizeof in);
    ackgather_init(&in.acks);
    assert_int_equal(persist_save(&keep, &w.t, &w.d, w.ob, &in), 0);

    struct statefile_data back;
    char err[512];
    assert_int_equal(statefile_load(keep.path, &back, err, sizeof err), 1);
    assert_int_equal(back.n_locs, 4);
    assert_string_equal(back.locs[3].name, "sgp");
    assert_int_equal(back.locs[3].state, CW_LOCATION_SILENT);
    assert_int_equal(back.n_votes, 1);
    assert_string_equal(back.votes[0].url, URL);
    assert_string_equal(back.votes[0].summary, "DOWN from fra, nyc; sgp silent");
    statefile_data_free(&back);

    struct world w2;
    world_init(&w2); /* every location heard at 1 s */
    locations_free(&w2.locs);
    locations_build(&w2.locs, names, 4, 10, 100 * S, WALL0 + 100 * S);
    persist_load(&keep, &w2.t, &w2.d, &w2.cfg, 0);
    persist_free(&keep);
    assert_int_equal(locations_find(&w2.locs, "sgp")->state, CW_LOCATION_SILENT);
    assert_int_equal(locations_find(&w2.locs, "fra")->state, CW_LOCATION_UNKNOWN);
    assert_int_equal(locations_find(&w2.locs, "fra")->heard_wall_us, WALL0 + 12 * S);
    for (const char *const *n = (const char *const[]){ "central", "fra", "nyc", NULL }; *n; n++)
        locations_heard(&w2.locs, locations_find(&w2.locs, *n), 0, 105 * S, WALL0 + 105 * S, ev);
    assert_int_equal(locations_tick(&w2.locs, 112 * S, WALL0 + 112 * S, ev, 4), 0); /* no second silence */
    assert_int_equal(endpoints_find(&w2.t, URL)->st.avail, ASTATE_DOWN);
    assert_int_equal(locations_heard(&w2.locs, locations_find(&w2.locs, "sgp"), 0, 113 * S, WALL0 + 113 * S, ev), 0);
    assert_int_equal(locations_heard(&w2.locs, locations_find(&w2.locs, "sgp"), 0, 123 * S, WALL0 + 123 * S, ev), 1);
    assert_int_equal(ev[0].kind, LOCATION_CAME_BACK);
    assert_int_equal(ev[0].duration_us, 122 * S); /* since it was last heard (1 s), before the restart */

    ackgather_free(&in.acks);
    world_free(&w2);
    world_free(&w);
    unlink(keep.path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quorum_two_of_three),      cmocka_unit_test(same_ids_for_this_interleaving),
        cmocka_unit_test(silent_location_left_out), cmocka_unit_test(other_locations_and_one_location),
        cmocka_unit_test(slow_by_quorum),           cmocka_unit_test(state_file_keeps_silence_and_votes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
