/* tests/unit/test_location_live.c — the alerter's location table (alerter/locations.c): liveness from HELLOs and
 * results, one WENT_SILENT per silence (also for a location never heard since the start), one CAME_BACK with how
 * long it was silent, late results (checked before it came back, corrected by the clock offset), the offset of the
 * worker with the smallest round trip, skew crossing and clearing, a rebuild keeping states, and a single location
 * never judged; the key check of alerter/locwatch.c (a location's key speaks only for it, another key only for the
 * central's own location, no key for any). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "alerter/locations.h"
#include "alerter/locwatch.h"
#include "common/config/config.h"

#define S 1000000LL
#define WALL0 (1700000000LL * S)

static const char *const three[] = { "central", "fra", "sgp" };

static void silence_and_back(void **state)
{
    (void)state;
    struct locations t = { 0 };
    struct location_event ev[4];
    locations_build(&t, three, 3, 10, 0, WALL0);
    assert_true(t.judged);
    struct location *fra = locations_find(&t, "fra"), *sgp = locations_find(&t, "sgp");
    struct location *central = locations_find(&t, "central");
    assert_int_equal(fra->state, CW_LOCATION_UNKNOWN);
    assert_null(locations_find(&t, "nyc"));
    assert_int_equal(locations_heard(&t, fra, 0, 1 * S, WALL0 + 1 * S, ev), 0);
    assert_int_equal(locations_heard(&t, central, 0, 1 * S, WALL0 + 1 * S, ev), 0);
    assert_int_equal(fra->state, CW_LOCATION_LIVE);
    assert_int_equal(locations_tick(&t, 10 * S, WALL0 + 10 * S, ev, 4), 0);
    /* sgp never heard: silent once the start is silent_after away; fra heard at 1 s: silent after 11 s */
    locations_heard(&t, central, 0, 11 * S, WALL0 + 11 * S, ev);
    assert_int_equal(locations_tick(&t, 11 * S, WALL0 + 11 * S, ev, 4), 1);
    assert_int_equal(ev[0].kind, LOCATION_WENT_SILENT);
    assert_int_equal(ev[0].idx, 2);
    assert_int_equal(ev[0].since_us, WALL0);
    assert_int_equal(locations_tick(&t, 12 * S, WALL0 + 12 * S, ev, 4), 1);
    assert_int_equal(ev[0].idx, 1);
    assert_int_equal(ev[0].since_us, WALL0 + 1 * S); /* when it was last heard */
    assert_false(locations_live(&t, fra));
    assert_int_equal(locations_tick(&t, 30 * S, WALL0 + 30 * S, ev, 4), 1); /* central: 11 s + 10 s passed */
    assert_int_equal(locations_tick(&t, 40 * S, WALL0 + 40 * S, ev, 4), 0); /* once per silence */

    /* heard again at 63 s: back once heard without a break for silent_after (10 s) */
    assert_int_equal(locations_heard(&t, fra, 1, 63 * S, WALL0 + 63 * S, ev), 0);
    assert_int_equal(locations_heard(&t, fra, 1, 68 * S, WALL0 + 68 * S, ev), 0);
    assert_false(locations_live(&t, fra));
    assert_true(locations_is_late(&t, fra, WALL0 + 68 * S)); /* settling: what it checks now is not voted */
    assert_int_equal(locations_heard(&t, fra, 1, 73 * S, WALL0 + 73 * S, ev), 1);
    assert_int_equal(ev[0].kind, LOCATION_CAME_BACK);
    assert_int_equal(ev[0].since_us, WALL0 + 73 * S);
    assert_int_equal(ev[0].duration_us, 72 * S); /* since it was last heard before its silence */
    assert_true(locations_live(&t, fra));
    assert_false(locations_live(&t, sgp));
    /* results it buffered while cut off (or checked while settling) tell the past: late; later ones are voted */
    assert_true(locations_is_late(&t, fra, WALL0 + 50 * S));
    assert_true(locations_is_late(&t, fra, WALL0 + 64 * S));
    assert_false(locations_is_late(&t, fra, WALL0 + 74 * S));
    assert_true(locations_is_late(&t, central, WALL0 + 80 * S)); /* silent since 30 s: not voted */
    locations_free(&t);
}

/* A link that drops a little longer than silent_after every minute: a few silent/back pairs while the settle time
 * doubles, then one silence until it holds; a break in the hearing starts the settling again. */
static void flapping_link(void **state)
{
    (void)state;
    static const char *const two[] = { "central", "fra" };
    struct locations t = { 0 };
    struct location_event ev[2];
    locations_build(&t, two, 2, 10, 0, WALL0);
    struct location *fra = locations_find(&t, "fra"), *central = locations_find(&t, "central");
    unsigned silences = 0, backs = 0;
    for (int64_t s = 1; s <= 3600; s++) { /* fra heard each second except 11 s of each minute */
        locations_heard(&t, central, 0, s * S, WALL0 + s * S, ev);
        if (s % 60 >= 11) backs += locations_heard(&t, fra, 0, s * S, WALL0 + s * S, ev);
        silences += (unsigned)locations_tick(&t, s * S, WALL0 + s * S, ev, 2);
    }
    assert_true(silences <= 4);
    assert_true(backs <= 3);
    assert_false(locations_is_late(&t, central, WALL0 + 1 * S)); /* never silent: never late */
    assert_int_equal(fra->state, CW_LOCATION_SILENT);
    /* it holds: back once heard without a break for its (now longer) settle time, and only then */
    int64_t s = 3611, settle = fra->settle_us / S; /* the minute's 11 s break is over: a fresh run of hearing */
    assert_true(settle >= 40);
    for (; !locations_heard(&t, fra, 0, s * S, WALL0 + s * S, ev); s++)
        locations_heard(&t, central, 0, s * S, WALL0 + s * S, ev);
    assert_int_equal(s, 3611 + settle);
    /* a break (longer than silent_after) while settling starts it again */
    assert_int_equal(locations_tick(&t, (s + 11) * S, WALL0 + (s + 11) * S, ev, 2), 2);
    assert_int_equal(locations_heard(&t, fra, 0, (s + 12) * S, WALL0 + (s + 12) * S, ev), 0);
    assert_int_equal(locations_heard(&t, fra, 0, (s + 30) * S, WALL0 + (s + 30) * S, ev), 0); /* 18 s gap */
    assert_false(locations_live(&t, fra));
    locations_free(&t);
}

static void clock_offset_and_skew(void **state)
{
    (void)state;
    struct locations t = { 0 };
    locations_build(&t, three, 3, 10, 0, WALL0);
    struct location *fra = locations_find(&t, "fra");
    assert_int_equal(fra->offset_us, CW_OFFSET_UNKNOWN);
    assert_int_equal(locations_clock(&t, fra, 0, CW_OFFSET_UNKNOWN, -1, 1 * S), 0);
    assert_int_equal(fra->offset_us, CW_OFFSET_UNKNOWN);
    assert_int_equal(locations_clock(&t, fra, 0, 300000, 9000, 1 * S), 0);
    assert_int_equal(locations_clock(&t, fra, 1, 1500000, 2000, 1 * S), 1); /* the smaller round trip wins */
    assert_int_equal(fra->offset_us, 1500000);
    assert_true(fra->skewed);
    assert_int_equal(locations_clock(&t, fra, 1, 800000, 2000, 2 * S), 0); /* between the marks: still skewed */
    assert_true(fra->skewed);
    assert_int_equal(locations_clock(&t, fra, 1, -400000, 2000, 3 * S), -1);
    assert_false(fra->skewed);
    /* worker 1 not heard for longer than silent_after: worker 0's measurement counts */
    assert_int_equal(locations_clock(&t, fra, 0, -1200000, 9000, 20 * S), 1);
    assert_int_equal(fra->offset_us, -1200000);
    /* late results are judged on the alerter's clock: checked_at - offset */
    struct location_event ev[3];
    assert_int_equal(locations_tick(&t, 25 * S, WALL0 + 25 * S, ev, 3), 3);
    assert_int_equal(fra->state, CW_LOCATION_SILENT);
    locations_heard(&t, fra, 0, 30 * S, WALL0 + 30 * S, ev);
    assert_int_equal(locations_heard(&t, fra, 0, 40 * S, WALL0 + 40 * S, ev), 1);
    assert_true(locations_is_late(&t, fra, WALL0 + 38 * S));  /* 39.2 s on the alerter's clock */
    assert_false(locations_is_late(&t, fra, WALL0 + 39 * S)); /* 40.2 s */
    locations_free(&t);
}

static void rebuild_keeps_state_and_single_not_judged(void **state)
{
    (void)state;
    struct locations t = { 0 };
    struct location_event ev[3];
    locations_build(&t, three, 3, 10, 0, WALL0);
    assert_int_equal(locations_tick(&t, 11 * S, WALL0 + 11 * S, ev, 3), 3);
    static const char *const two[] = { "sgp", "nyc" };
    locations_build(&t, two, 2, 5, 11 * S, WALL0 + 11 * S);
    assert_int_equal(t.n, 2);
    assert_int_equal(locations_find(&t, "sgp")->state, CW_LOCATION_SILENT);
    assert_int_equal(locations_find(&t, "nyc")->state, CW_LOCATION_UNKNOWN);
    assert_int_equal(t.silent_after_us, 5 * S);
    locations_free(&t);

    static const char *const one[] = { "local" };
    locations_build(&t, one, 1, 10, 0, WALL0);
    assert_false(t.judged);
    assert_int_equal(locations_tick(&t, 100 * S, WALL0 + 100 * S, ev, 3), 0);
    assert_true(locations_live(&t, locations_find(&t, "local")));
    struct cw_locations_msg m;
    locations_heard(&t, locations_find(&t, "local"), 3, 100 * S, WALL0 + 100 * S, ev);
    locations_to_msg(&t, 101 * S, WALL0 + 101 * S, &m);
    assert_int_equal(m.count, 1);
    assert_string_equal(m.loc[0].name, "local");
    assert_int_equal(m.loc[0].state, CW_LOCATION_LIVE);
    assert_int_equal(m.loc[0].workers, 1);
    assert_int_equal(m.loc[0].last_heard_us, WALL0 + 100 * S);
    locations_free(&t);
}

#define FRA_KEY "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
#define OTHER_KEY "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"

static bool admit_claiming(struct locwatch *w, const char *key, const char *location)
{
    struct bus_msg m;
    memset(&m, 0, sizeof m);
    snprintf(m.peer_key, sizeof m.peer_key, "%s", key);
    struct cw_result r = {
        .worker = 0, .boot_id = 1, .seq = 1, .checked_at_us = WALL0, .ok = true, .url = "u", .location = location
    };
    return locwatch_admit(w, &m, &r, 1, 1 * S);
}

static void key_check(void **state)
{
    (void)state;
    struct cw_location locs[2] = { { .name = "fra", .key = FRA_KEY }, { .name = "sgp", .key = OTHER_KEY "x" } };
    struct cw_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.location = "central";
    cfg.workers = 1;
    cfg.locations = locs;
    cfg.n_locations = 2;
    cfg.location_silent_after = 10;
    struct locwatch w;
    locwatch_init(&w, NULL, NULL);
    locwatch_configure(&w, &cfg, 0);
    assert_int_equal(w.locs.n, 3);
    assert_true(admit_claiming(&w, FRA_KEY, "fra"));
    assert_false(admit_claiming(&w, FRA_KEY, "sgp")); /* fra's key speaks for fra only */
    assert_false(admit_claiming(&w, FRA_KEY, ""));    /* "": the central's own */
    assert_int_equal(w.wrong_location, 2);
    assert_true(admit_claiming(&w, OTHER_KEY, "central")); /* another admitted key: the own location */
    assert_true(admit_claiming(&w, OTHER_KEY, ""));
    assert_false(admit_claiming(&w, OTHER_KEY, "fra"));
    assert_true(admit_claiming(&w, "", "sgp")); /* no CURVE: cannot be checked */
    assert_true(admit_claiming(&w, "", "tyo"));
    assert_int_equal(w.unknown_location, 1);
    assert_int_equal(locations_find(&w.locs, "fra")->state, CW_LOCATION_LIVE); /* heard by its results */
    assert_int_equal(w.wrong_location, 3);
    locwatch_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(silence_and_back),
        cmocka_unit_test(flapping_link),
        cmocka_unit_test(clock_offset_and_skew),
        cmocka_unit_test(rebuild_keeps_state_and_single_not_judged),
        cmocka_unit_test(key_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
