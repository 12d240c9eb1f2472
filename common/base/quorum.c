/* common/base/quorum.c — one location's vote on an endpoint and the quorum verdict (see quorum.h). */
#include "common/base/quorum.h"

/* The one rule (quorum.h) for both verdicts: bad is DOWN or SLOW (2), good UP or FAST (1), 0 unknown. */
static unsigned judge(const struct quorum_ballot *b, size_t n, unsigned required, unsigned current, unsigned bad)
{
    unsigned need = required ? required : 1, known = 0, bad_votes = 0;
    for (size_t i = 0; i < n; i++) {
        if (!b[i].live || b[i].vote == 0) continue;
        known++;
        if (b[i].vote == bad) bad_votes++;
    }
    unsigned good = 1, good_votes = known - bad_votes;
    if (bad_votes >= need) return bad;
    if (current == bad) /* bad holds until it can no longer be reached: n - required + 1 live good votes */
        return need > n || good_votes >= n - need + 1 ? good : bad;
    return known < need ? 0 : good;
}

enum quorum_vote quorum_verdict(const struct quorum_ballot *b, size_t n, unsigned required, unsigned current)
{
    return (enum quorum_vote)judge(b, n, required, current, QUORUM_DOWN);
}

enum quorum_speed quorum_speed_verdict(const struct quorum_ballot *b, size_t n, unsigned required, unsigned current)
{
    return (enum quorum_speed)judge(b, n, required, current, QUORUM_SLOW);
}

static uint32_t at_least_one(uint32_t v) { return v ? v : 1; }

static unsigned feed_speed(struct quorum_voter *v, const struct quorum_params *p, int64_t latency_us, int64_t at)
{
    if (p->latency_threshold_us <= 0) return 0;
    uint32_t need = at_least_one(p->alert_threshold);
    if (latency_us > p->latency_threshold_us) {
        v->fast_run = 0;
        if (v->slow_run++ == 0) v->slow_since_us = at;
        if (v->speed == QUORUM_SLOW || v->slow_run < need) return 0;
        v->speed = QUORUM_SLOW;
        v->speed_since_us = v->slow_since_us;
        return QUORUM_SPEED_CHANGED;
    }
    v->slow_run = 0;
    if (v->fast_run++ == 0) v->fast_since_us = at;
    if (v->speed == QUORUM_FAST) return 0;
    if (v->speed == QUORUM_SLOW && v->fast_run < need) return 0;
    v->speed = QUORUM_FAST;
    v->speed_since_us = v->fast_since_us;
    return QUORUM_SPEED_CHANGED;
}

unsigned quorum_voter_feed(struct quorum_voter *v, const struct quorum_params *p, bool ok, int64_t latency_us,
                           int64_t checked_at_us)
{
    v->last_at_us = checked_at_us;
    if (!ok) {
        v->ok_run = 0;
        if (v->fail_run++ == 0) v->fail_since_us = checked_at_us;
        if (v->vote == QUORUM_DOWN || v->fail_run < at_least_one(p->alert_threshold)) return 0;
        v->vote = QUORUM_DOWN;
        v->since_us = v->fail_since_us;
        v->slow_run = v->fast_run = 0; /* speed paused while down, as alerter/state.h */
        return QUORUM_VOTE_CHANGED;
    }
    v->fail_run = 0;
    if (v->ok_run++ == 0) v->ok_since_us = checked_at_us;
    unsigned changed = 0;
    if (v->vote == QUORUM_DOWN) {
        if (v->ok_run < at_least_one(p->recovery_threshold)) return 0; /* still down: speed paused */
        v->vote = QUORUM_UP;
        v->since_us = v->ok_since_us;
        changed = QUORUM_VOTE_CHANGED;
    } else if (v->vote == QUORUM_UNKNOWN) {
        if (p->endpoint_down && v->ok_run < at_least_one(p->recovery_threshold)) return 0; /* as a DOWN vote */
        v->vote = QUORUM_UP;
        v->since_us = v->ok_since_us;
        changed = QUORUM_VOTE_CHANGED;
    }
    return changed | feed_speed(v, p, latency_us, checked_at_us);
}

const char *quorum_vote_name(unsigned vote)
{
    return vote == QUORUM_UP ? "up" : vote == QUORUM_DOWN ? "down" : "unknown";
}

const char *quorum_speed_name(unsigned speed)
{
    return speed == QUORUM_FAST ? "fast" : speed == QUORUM_SLOW ? "slow" : "unknown";
}
