/* alerter/state.c — the per-endpoint state machine (see state.h for the rules). */
#include "alerter/state.h"

#include <string.h>

#include "common/wire/protocol.h"

void astate_init(struct astate *s)
{
    memset(s, 0, sizeof *s);
    s->avail = ASTATE_UNKNOWN;
    s->speed = ASTATE_SPEED_UNKNOWN;
}

static uint32_t at_least_one(uint32_t v) { return v ? v : 1; }

static struct astate_event *next_event(struct astate_event *ev, unsigned *n)
{
    struct astate_event *e = &ev[(*n)++];
    memset(e, 0, sizeof *e);
    return e;
}

/* A failing check while DOWN: counted, and a REMINDER when renotify has passed since the last notice. */
static unsigned remind(struct astate *s, const struct astate_params *p, int64_t at, struct astate_event *ev)
{
    unsigned n = 0;
    s->failed_count++;
    if (p->renotify_us > 0 && at - s->last_notify_us >= p->renotify_us) {
        s->reminders++;
        s->last_notify_us = at;
        struct astate_event *e = next_event(ev, &n);
        e->kind = CW_ALERT_REMINDER;
        e->since_us = s->state_since_us;
        e->at_us = at;
        e->duration_us = at - s->state_since_us;
        e->count = s->failed_count;
        e->seq = s->reminders;
    }
    return n;
}

/* Enters DOWN (since: when it began; count: the failed checks that led to it) with its event. */
static unsigned enter_down(struct astate *s, int64_t since, int64_t at, uint32_t count, struct astate_event *ev)
{
    unsigned n = 0;
    s->avail = ASTATE_DOWN;
    s->state_since_us = since;
    s->failed_count = count;
    s->reminders = 0;
    s->last_notify_us = at;
    s->slow_run = s->fast_run = 0; /* speed tracking pauses while down */
    struct astate_event *e = next_event(ev, &n);
    e->kind = CW_ALERT_DOWN;
    e->since_us = since;
    e->at_us = at;
    e->count = count;
    return n;
}

/* Leaves DOWN for UP (since: the first success of the recovery) with its event, written at ev[*n]. */
static void leave_down(struct astate *s, int64_t since, int64_t at, struct astate_event *ev, unsigned *n)
{
    struct astate_event *e = next_event(ev, n);
    e->kind = CW_ALERT_UP;
    e->since_us = since;
    e->at_us = at;
    e->duration_us = since - s->state_since_us;
    e->count = s->failed_count;
    s->avail = ASTATE_UP;
    s->state_since_us = since;
    s->failed_count = 0;
    s->reminders = 0;
}

static unsigned feed_failure(struct astate *s, const struct astate_params *p, int64_t at, struct astate_event *ev)
{
    if (s->fail_run == 0) s->fail_since_us = at;
    s->fail_run++;
    s->ok_run = 0;
    if (s->avail == ASTATE_DOWN) return remind(s, p, at, ev);
    if (s->fail_run >= at_least_one(p->alert_threshold)) return enter_down(s, s->fail_since_us, at, s->fail_run, ev);
    return 0;
}

/* SLOW since `since` (count: slow checks), with its event at ev[*n]. */
static void enter_slow(struct astate *s, int64_t since, int64_t at, uint32_t count, struct astate_event *ev,
                       unsigned *n)
{
    s->speed = ASTATE_SLOW;
    s->speed_since_us = since;
    struct astate_event *e = next_event(ev, n);
    e->kind = CW_ALERT_SLOW;
    e->since_us = since;
    e->at_us = at;
    e->count = count;
}

/* FAST again since `since` (the slowness lasted from speed_since to it), with its event at ev[*n]. */
static void leave_slow(struct astate *s, int64_t since, int64_t at, struct astate_event *ev, unsigned *n)
{
    struct astate_event *e = next_event(ev, n);
    e->kind = CW_ALERT_FAST;
    e->since_us = since;
    e->at_us = at;
    e->duration_us = since - s->speed_since_us;
    s->speed = ASTATE_FAST;
    s->speed_since_us = since;
}

static unsigned feed_speed(struct astate *s, const struct astate_params *p, int64_t latency_us, int64_t at,
                           struct astate_event *ev, unsigned n)
{
    if (p->latency_threshold_us <= 0) return n;
    uint32_t need = at_least_one(p->alert_threshold);
    if (latency_us > p->latency_threshold_us) {
        s->fast_run = 0;
        if (s->slow_run == 0) s->slow_since_us = at;
        s->slow_run++;
        if (s->speed != ASTATE_SLOW && s->slow_run >= need) enter_slow(s, s->slow_since_us, at, s->slow_run, ev, &n);
        return n;
    }
    s->slow_run = 0;
    if (s->fast_run == 0) s->fast_since_us = at;
    s->fast_run++;
    if (s->speed == ASTATE_SPEED_UNKNOWN) {
        s->speed = ASTATE_FAST;
        s->speed_since_us = at;
    } else if (s->speed == ASTATE_SLOW && s->fast_run >= need) {
        leave_slow(s, s->fast_since_us, at, ev, &n);
    }
    return n;
}

unsigned astate_feed(struct astate *s, const struct astate_params *p, bool ok, int64_t latency_us,
                     int64_t checked_at_us, struct astate_event ev[ASTATE_MAX_EVENTS])
{
    if (!ok) return feed_failure(s, p, checked_at_us, ev);

    unsigned n = 0;
    if (s->ok_run == 0) s->ok_since_us = checked_at_us;
    s->ok_run++;
    s->fail_run = 0;
    if (s->avail == ASTATE_DOWN) {
        if (s->ok_run < at_least_one(p->recovery_threshold)) return 0; /* still down: speed paused */
        leave_down(s, s->ok_since_us, checked_at_us, ev, &n);
    } else if (s->avail == ASTATE_UNKNOWN) {
        s->avail = ASTATE_UP; /* the first results establish UP without an alert */
        s->state_since_us = checked_at_us;
    }
    return feed_speed(s, p, latency_us, checked_at_us, ev, n);
}

/* The speed verdict of a multi-location endpoint (not while DOWN). */
static unsigned feed_speed_verdict(struct astate *s, const struct astate_verdict *v, int64_t at,
                                   struct astate_event *ev, unsigned n)
{
    if (v->speed == ASTATE_SLOW && s->speed != ASTATE_SLOW) {
        enter_slow(s, v->speed_since_us, at, v->slow_count, ev, &n);
    } else if (v->speed == ASTATE_FAST && s->speed == ASTATE_SLOW) {
        leave_slow(s, v->speed_since_us > s->speed_since_us ? v->speed_since_us : at, at, ev, &n);
    } else if (v->speed == ASTATE_FAST && s->speed == ASTATE_SPEED_UNKNOWN) {
        s->speed = ASTATE_FAST;
        s->speed_since_us = v->speed_since_us;
    }
    return n;
}

unsigned astate_feed_verdict(struct astate *s, const struct astate_params *p, const struct astate_verdict *v, bool ok,
                             int64_t checked_at_us, struct astate_event ev[ASTATE_MAX_EVENTS])
{
    if (ok) {
        s->fail_run = 0;
        if (s->ok_run++ == 0) s->ok_since_us = checked_at_us;
    } else {
        s->ok_run = 0;
        if (s->fail_run++ == 0) s->fail_since_us = checked_at_us;
    }
    if (v->avail == ASTATE_DOWN) {
        if (s->avail != ASTATE_DOWN) return enter_down(s, v->since_us, checked_at_us, v->count, ev);
        return ok ? 0 : remind(s, p, checked_at_us, ev);
    }
    if (v->avail != ASTATE_UP) return 0; /* unknown: too few live locations to say anything */
    unsigned n = 0;
    int64_t since = v->since_us;
    if (s->avail == ASTATE_DOWN) {
        if (since <= s->state_since_us) since = checked_at_us; /* no UP vote began after */
        leave_down(s, since, checked_at_us, ev, &n);
    } else if (s->avail == ASTATE_UNKNOWN) {
        s->avail = ASTATE_UP; /* established without an alert, as a single location's first success */
        s->state_since_us = since;
    }
    return feed_speed_verdict(s, v, checked_at_us, ev, n);
}

unsigned astate_feed_tls(struct astate *s, const struct astate_params *p, int64_t expires_at_us, int64_t checked_at_us,
                         struct astate_event *ev)
{
    if (expires_at_us == 0 || p->tls_expiry_us <= 0) return 0;
    if (expires_at_us == s->tls_notified_us) return 0; /* this certificate's date was alerted already */
    int64_t left = expires_at_us - checked_at_us;
    if (left > p->tls_expiry_us) return 0;
    s->tls_notified_us = expires_at_us;
    memset(ev, 0, sizeof *ev);
    ev->kind = CW_ALERT_TLS_EXPIRY;
    ev->since_us = expires_at_us;
    ev->at_us = checked_at_us;
    ev->duration_us = left;
    ev->count = left > 0 ? (uint32_t)(left / (86400LL * 1000000)) : 0;
    return 1;
}

const char *astate_avail_name(unsigned avail)
{
    switch (avail) {
    case ASTATE_UP:
        return "up";
    case ASTATE_DOWN:
        return "down";
    default:
        return "unknown";
    }
}

const char *astate_speed_name(unsigned speed)
{
    switch (speed) {
    case ASTATE_FAST:
        return "fast";
    case ASTATE_SLOW:
        return "slow";
    default:
        return "unknown";
    }
}
