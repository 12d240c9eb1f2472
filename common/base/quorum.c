/* common/base/quorum.c — one location's vote on an endpoint and the quorum verdict (see quorum.h). */
#include "common/base/quorum.h"

static unsigned count_votes(const struct quorum_ballot *b, size_t n, unsigned bad, unsigned *known)
{
    unsigned bad_votes = 0;
    *known = 0;
    for (size_t i = 0; i < n; i++) {
        if (!b[i].live || b[i].vote == 0) continue;
        (*known)++;
        if (b[i].vote == bad) bad_votes++;
    }
    return bad_votes;
}

enum quorum_vote quorum_verdict(const struct quorum_ballot *b, size_t n, unsigned required)
{
    unsigned need = required ? required : 1, known;
    if (count_votes(b, n, QUORUM_DOWN, &known) >= need) return QUORUM_DOWN;
    return known < need ? QUORUM_UNKNOWN : QUORUM_UP;
}

enum quorum_speed quorum_speed_verdict(const struct quorum_ballot *b, size_t n, unsigned required)
{
    unsigned need = required ? required : 1, known;
    if (count_votes(b, n, QUORUM_SLOW, &known) >= need) return QUORUM_SLOW;
    return known < need ? QUORUM_SPEED_UNKNOWN : QUORUM_FAST;
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
        v->vote = QUORUM_UP;
        v->since_us = checked_at_us;
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
