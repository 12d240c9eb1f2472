/* alerter/alert.h — one alert as the alerter keeps it: what happened to which endpoint, and how far its
 * delivery has come on each channel. Built from a state-machine event (state.h) and the endpoint's last
 * result; read by the mail and webhook formatters; saved in the state file until fully delivered.
 *
 * The alert id is deterministic: FNV-1a over (url, kind, since, seq), so the same state change always gets
 * the same id and the same Message-ID `<id@clockwerk>`, even after a restart. */
#ifndef CW_ALERTER_ALERT_H
#define CW_ALERTER_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/wire/protocol.h"

struct alert_rec {
    uint64_t id;
    uint8_t kind;            /* enum cw_alert_kind */
    uint8_t email_state;     /* enum cw_delivery */
    uint8_t webhook_state;   /* enum cw_delivery */
    int64_t raised_at_us;    /* wall clock: when the alerter raised it */
    int64_t since_us;        /* when the new state began */
    int64_t at_us;           /* checked_at of the check that made the transition */
    int64_t duration_us;     /* UP: downtime; FAST: slow for; REMINDER: down so far */
    uint32_t count;          /* failed checks (DOWN, UP, REMINDER) or slow checks (SLOW) */
    uint32_t seq;            /* reminder number */
    uint16_t last_status;    /* status code of the last check (0: none) */
    int64_t last_latency_us; /* latency of the last check */
    int64_t threshold_us;    /* the endpoint's latency threshold */
    char *url;               /* as configured (may hold credentials: mask before showing) */
    char *name;              /* "" when the endpoint has none */
    char *error;             /* the last check's error text, "" when none */
    char *message;           /* one human-readable line (credentials masked) */
    bool held;               /* still in the grouping window (no job yet) */
    /* Its delivery on each channel it was routed to (alerter/route.h), set when the grouping window releases
     * it; email_state aggregates the email channels, webhook_state every other one (alert_update_deliveries). */
    struct alert_delivery {
        char *chan;       /* the channel's name (cfg->channels[].name; an outbox job's chan) */
        bool email;       /* an email channel */
        uint8_t state;    /* enum cw_delivery */
        uint32_t pending; /* this channel's outbox jobs still to deliver it */
        uint32_t failed;  /* this channel's jobs given up (failed for good, outbox full, channel removed) */
    } * dl;
    size_t n_dl;
    char *deliveries;       /* "NAME=STATE,..." of dl, "" when none (alert_update_deliveries) */
    uint32_t steps_reached; /* escalation steps its incident had reached when raised (routing of follow-ups) */

    /* issue 15: routing, incidents, muting (alerter/dispatch.c fills them; the formatters read them) */
    uint64_t incident_id; /* the DOWN alert that opened the incident (DOWN, REMINDER, ESCALATION, UP and the
                             * alerts of its folded children); 0: none. Mail threads on it (In-Reply-To),
                             * PagerDuty's dedup_key and Opsgenie's alias derive from it. */
    uint8_t severity;     /* enum cw_severity of the endpoint */
    uint8_t muted;        /* enum cw_mute: why it is not sent (CW_MUTE_NONE: it is) */
    uint32_t escalation;  /* ESCALATION: the step (1, 2, ...); else 0 */
    struct alert_child {  /* a parent's DOWN/UP: the children folded into its incident (depends_on) */
        char *name;       /* the child's display name */
        char *url;        /* its key (mask before showing) */
        uint8_t avail;    /* enum astate_avail when the parent's alert was made */
    } * children;
    size_t n_children;
    bool flap_end; /* a DOWN/UP that tells the end of flapping: sent even when the channels heard this state
                    * (resolves the flapping alert's own dedup key); in memory only */
    char *detail;  /* one more line for the reader, "" when none: a flapping alert's percent, a
                             * stable-again note, an escalation's step, a location summary (issue 16) */
};

/* The deterministic id (never 0). */
uint64_t alert_make_id(const char *url, unsigned kind, int64_t since_us, uint32_t seq);

/* Creates a record (strings copied; NULL name/error become ""), computes its id and message.
 * Owned by the caller: alert_free. */
struct alert_rec *alert_new(uint8_t kind, const char *url, const char *name, const char *error, int64_t since_us,
                            int64_t at_us, int64_t duration_us, uint32_t count, uint32_t seq, int64_t raised_at_us);
void alert_free(struct alert_rec *a);

/* Rebuilds a->message from the other fields (call after changing them). */
void alert_update_message(struct alert_rec *a);

/* The last check's result in words, for the alert's message (sep ": ") and the mail (sep ", ", with_latency):
 * "HTTP 500: unexpected status 500", "connection refused (...)", "HTTP 200, 12.5 ms", or "ok, 1.2 ms" for an ok
 * check of a type without an HTTP status (tcp, tls, dns, icmp, push). Always NUL-terminated. */
void alert_last_result(const struct alert_rec *a, const char *sep, bool with_latency, char *out, size_t len);

/* "name" when the endpoint has one, else the masked URL; written to out (always NUL-terminated). */
void alert_display_name(const struct alert_rec *a, char *out, size_t len);

/* A duration as "2h 03m 05s" / "4m 10s" / "12.3s". */
void alert_format_duration(int64_t us, char *out, size_t len);

/* Adds a delivery on channel chan in state (enum cw_delivery). */
struct alert_delivery *alert_add_delivery(struct alert_rec *a, const char *chan, bool email, uint8_t state);

/* The delivery on channel chan, or NULL. */
struct alert_delivery *alert_delivery_of(const struct alert_rec *a, const char *chan);

/* True while a channel still has a job to deliver it. */
bool alert_pending(const struct alert_rec *a);

/* Recomputes email_state and webhook_state from dl (none: NONE; any pending: PENDING; all muted: MUTED; any
 * failed: FAILED; else SENT) and the deliveries text. */
void alert_update_deliveries(struct alert_rec *a);

/* Fills a wire record (pointers into a). */
void alert_to_wire(const struct alert_rec *a, struct cw_alert *w);

#endif
