/* tests/unit/test_quorum.c — quorum alerting's pure part (common/base/quorum.c): the verdict of an endpoint's
 * locations (DOWN with `required` DOWN votes among live locations, UNKNOWN with too few known live votes, UP
 * otherwise; silent locations left out; a DOWN endpoint stays DOWN until n - required + 1 live UP votes) and one
 * location's vote (thresholds, since times from the results; an unknown vote while the endpoint is DOWN needs
 * recovery_threshold successes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/base/quorum.h"

#define U QUORUM_UP
#define D QUORUM_DOWN
#define K QUORUM_UNKNOWN

/* The verdict of votes given as a string ('u' up, 'd' down, '?' unknown; upper case: silent), the endpoint being
 * `current`. */
static enum quorum_vote verdict_from(const char *votes, unsigned required, unsigned current)
{
    struct quorum_ballot b[16];
    size_t n = strlen(votes);
    for (size_t i = 0; i < n; i++) {
        char c = votes[i];
        b[i].live = c == 'u' || c == 'd' || c == '?';
        c = (char)(c | 0x20);
        b[i].vote = c == 'u' ? QUORUM_UP : c == 'd' ? QUORUM_DOWN : QUORUM_UNKNOWN;
    }
    return quorum_verdict(b, n, required, current);
}

static enum quorum_vote verdict_of(const char *votes, unsigned required)
{
    return verdict_from(votes, required, QUORUM_UP);
}

/* While DOWN, the endpoint stays DOWN until DOWN can no longer be reached: n - required + 1 live UP votes. */
static void down_holds(void **state)
{
    (void)state;
    assert_int_equal(verdict_from("dDu", 2, D), D); /* a DOWN vote went silent: one UP of the two needed */
    assert_int_equal(verdict_from("d?u", 2, D), D); /* a location with no vote yet */
    assert_int_equal(verdict_from("duu", 2, D), U); /* DOWN cannot be reached any more */
    assert_int_equal(verdict_from("uUu", 2, D), U); /* a silent one left out: still two live UP votes */
    assert_int_equal(verdict_from("uUU", 2, D), D); /* one live location: it cannot say */
    assert_int_equal(verdict_from("d??", 2, U), K); /* not DOWN: the rule as before */
    assert_int_equal(verdict_from("dDu", 2, U), U); /* not DOWN: a live quorum with a vote says UP */
    assert_int_equal(verdict_from("du", 1, D), D);  /* quorum 1 of 2: both must see it up */
    assert_int_equal(verdict_from("uu", 1, D), U);
    assert_int_equal(verdict_from("ddu", 3, D), U); /* "all": one UP vote ends it */
    assert_int_equal(verdict_from("ddU", 3, D), D);
    assert_int_equal(verdict_from("dddu?", 3, D), D); /* 5 locations, quorum 3: three UP votes needed */
    assert_int_equal(verdict_from("uuuDD", 3, D), U);
}

static void verdict_two_of_three(void **state)
{
    (void)state;
    assert_int_equal(verdict_of("ddu", 2), D);
    assert_int_equal(verdict_of("duu", 2), U); /* one location's trouble pages no one */
    assert_int_equal(verdict_of("ddd", 2), D);
    assert_int_equal(verdict_of("uuu", 2), U);
    assert_int_equal(verdict_of("d??", 2), K); /* one known vote of the two needed */
    assert_int_equal(verdict_of("du?", 2), U);
    assert_int_equal(verdict_of("???", 2), K);
}

static void silent_votes_left_out(void **state)
{
    (void)state;
    assert_int_equal(verdict_of("dDu", 2), U); /* the silent one's DOWN does not count */
    assert_int_equal(verdict_of("dUU", 2), K); /* one live location: fewer than the quorum left */
    assert_int_equal(verdict_of("DDu", 2), K);
    assert_int_equal(verdict_of("DDD", 1), K);
    assert_int_equal(verdict_of("ddU", 2), D); /* two live DOWN votes are a quorum */
}

static void quorum_one_and_all(void **state)
{
    (void)state;
    assert_int_equal(verdict_of("duu", 1), D);
    assert_int_equal(verdict_of("uuu", 1), U);
    assert_int_equal(verdict_of("ddu", 3), U);
    assert_int_equal(verdict_of("ddd", 3), D);
    assert_int_equal(verdict_of("dd?", 3), K);
    assert_int_equal(verdict_of("d", 0), D); /* 0 taken as 1 */
    assert_int_equal(verdict_of("", 1), K);
}

static void speed_verdict(void **state)
{
    (void)state;
    struct quorum_ballot b[3] = { { QUORUM_SLOW, true }, { QUORUM_SLOW, true }, { QUORUM_FAST, true } };
    assert_int_equal(quorum_speed_verdict(b, 3, 2, QUORUM_FAST), QUORUM_SLOW);
    b[1].live = false;
    assert_int_equal(quorum_speed_verdict(b, 3, 2, QUORUM_FAST), QUORUM_FAST);
    assert_int_equal(quorum_speed_verdict(b, 3, 2, QUORUM_SLOW), QUORUM_SLOW); /* the same hysteresis */
    b[2].vote = QUORUM_SPEED_UNKNOWN;
    assert_int_equal(quorum_speed_verdict(b, 3, 2, QUORUM_FAST), QUORUM_SPEED_UNKNOWN);
}

/* Feeds a pattern ('o' ok and fast, 's' ok and slow, 'F' failed), one second apart from t0; returns the changes. */
static unsigned feed(struct quorum_voter *v, const struct quorum_params *p, const char *pattern, int64_t t0)
{
    unsigned changed = 0;
    for (size_t i = 0; pattern[i]; i++) {
        int64_t lat = pattern[i] == 's' ? 900000 : 1000;
        changed |= quorum_voter_feed(v, p, pattern[i] != 'F', lat, t0 + (int64_t)i * 1000000);
    }
    return changed;
}

static void vote_thresholds(void **state)
{
    (void)state;
    struct quorum_params p = { .alert_threshold = 3, .recovery_threshold = 2, .latency_threshold_us = 0 };
    struct quorum_voter v;
    memset(&v, 0, sizeof v);
    assert_int_equal(v.vote, QUORUM_UNKNOWN);
    assert_int_equal(feed(&v, &p, "o", 1000000), QUORUM_VOTE_CHANGED); /* first success: UP */
    assert_int_equal(v.vote, QUORUM_UP);
    assert_int_equal(v.since_us, 1000000);
    assert_int_equal(feed(&v, &p, "FF", 2000000), 0);
    assert_int_equal(v.vote, QUORUM_UP);
    assert_int_equal(feed(&v, &p, "oFFF", 4000000), QUORUM_VOTE_CHANGED);
    assert_int_equal(v.vote, QUORUM_DOWN);
    assert_int_equal(v.since_us, 5000000); /* the first failure of the run */
    assert_int_equal(feed(&v, &p, "oFo", 8000000), 0);
    assert_int_equal(v.vote, QUORUM_DOWN);
    assert_int_equal(feed(&v, &p, "o", 11000000), QUORUM_VOTE_CHANGED);
    assert_int_equal(v.vote, QUORUM_UP);
    assert_int_equal(v.since_us, 10000000); /* the first success of the recovery run */
    assert_string_equal(quorum_vote_name(v.vote), "up");
}

/* An unknown vote while the endpoint is DOWN (a restart, a location back) recovers as a DOWN vote does. */
static void unknown_vote_while_down(void **state)
{
    (void)state;
    struct quorum_params p = { .alert_threshold = 3, .recovery_threshold = 2, .endpoint_down = true };
    struct quorum_voter v;
    memset(&v, 0, sizeof v);
    assert_int_equal(feed(&v, &p, "o", 1000000), 0);
    assert_int_equal(v.vote, QUORUM_UNKNOWN);
    assert_int_equal(feed(&v, &p, "o", 2000000), QUORUM_VOTE_CHANGED);
    assert_int_equal(v.vote, QUORUM_UP);
    assert_int_equal(v.since_us, 1000000); /* the first success of the run */
    memset(&v, 0, sizeof v);
    assert_int_equal(feed(&v, &p, "oFo", 1000000), 0); /* a failure breaks the run */
    assert_int_equal(v.vote, QUORUM_UNKNOWN);
}

static void speed_vote(void **state)
{
    (void)state;
    struct quorum_params p = { .alert_threshold = 2, .recovery_threshold = 1, .latency_threshold_us = 500000 };
    struct quorum_voter v;
    memset(&v, 0, sizeof v);
    feed(&v, &p, "o", 0);
    assert_int_equal(v.speed, QUORUM_FAST);
    assert_int_equal(feed(&v, &p, "sFs", 1000000), QUORUM_SPEED_CHANGED); /* a failure does not reset the run */
    assert_int_equal(v.speed, QUORUM_SLOW);
    assert_int_equal(v.speed_since_us, 1000000);
    assert_int_equal(feed(&v, &p, "o", 4000000), 0);
    assert_int_equal(feed(&v, &p, "o", 5000000), QUORUM_SPEED_CHANGED);
    assert_int_equal(v.speed, QUORUM_FAST);
    assert_int_equal(v.speed_since_us, 4000000);
    assert_string_equal(quorum_speed_name(v.speed), "fast");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(verdict_two_of_three), cmocka_unit_test(silent_votes_left_out),
        cmocka_unit_test(quorum_one_and_all),   cmocka_unit_test(speed_verdict),
        cmocka_unit_test(vote_thresholds),      cmocka_unit_test(speed_vote),
        cmocka_unit_test(down_holds),           cmocka_unit_test(unknown_vote_while_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
