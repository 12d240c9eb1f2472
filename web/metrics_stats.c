/* web/metrics_stats.c — every process's `stats` counters on /metrics: ONE table maps a counter's name (and, where
 * the same name means different things, its role) to a metric family, fixed labels and a unit; the web keeps each
 * process's last report (web/model.h struct web_procs) and renders them grouped by family.
 *
 * Labels: `role` (worker, storer, alerter, tap, supervisor) and `slot` (the worker's slot, else 0) on every
 * sample, plus the entry's own (result="ok", ...). Units: *_us counters become seconds (x 1e-6), *_ms seconds
 * (x 1e-3), everything else is a count or bytes as sent. A name the table does not know is skipped and counted
 * (clockwerk_web_stats_unknown_keys_total): a newer process may publish counters this web does not know yet. The
 * supervisor's `restarts_<kind>` become clockwerk_process_restarts_total{role="<kind>"} (its own role label:
 * the process that restarted, not the one that counted). Process counters restart at 0 when their process does
 * (Prometheus' rate() handles such resets). */
#include "web/metrics.h"

#include "web/html.h"

#include <stdlib.h>
#include <string.h>

enum family_type { GAUGE, COUNTER };
enum unit { AS_IS, US_TO_S, MS_TO_S };

struct family {
    const char *name;
    enum family_type type;
    const char *help;
};

enum family_id {
    F_ENDPOINTS,
    F_IN_FLIGHT,
    F_IN_FLIGHT_LIMIT,
    F_IN_FLIGHT_PEAK,
    F_WORKER_CHECKS,
    F_MISSED,
    F_LATENESS,
    F_LATENESS_P99,
    F_LATENESS_MAX,
    F_LATENESS_SAMPLES,
    F_SENT,
    F_ACKED,
    F_RESENT,
    F_REFUSED,
    F_INVALID,
    F_SPOOLED,
    F_REPLAYED,
    F_SPOOL_BYTES,
    F_PENDING_BATCHES,
    F_DROPPED,
    F_DROPPED_SPOOL_FULL,
    F_MALFORMED,
    F_GAPS,
    F_MISSING,
    F_JUMPS,
    F_DUPLICATES,
    F_RECEIVED,
    F_STORED,
    F_BATCHES,
    F_HELD,
    F_WRITE_ERRORS,
    F_LAST_BATCH,
    F_DB_UP,
    F_ACK_MESSAGES,
    F_ACKS_WAITING,
    F_BUS_REFUSED,
    F_PRUNED,
    F_PRUNE_LONGEST,
    F_UNKNOWN_URLS,
    F_ALERTS_RAISED,
    F_DELIVERIES,
    F_OUTBOX,
    F_OUTBOX_FULL,
    F_ALERTS_PENDING,
    F_STORE_QUEUE,
    F_STORE_RECORDS,
    F_LATE,
    F_STATE_SAVES,
    F_TAP_MESSAGES,
    F_TAP_PRINTED,
    F_SENDERS,
    F_RESTARTS,
    F_CRASHES,
    F_FATAL,
    F_RELOADS,
    FAMILIES
};

static const struct family families[FAMILIES] = {
    [F_ENDPOINTS] = { "clockwerk_worker_endpoints", GAUGE, "Endpoints in the worker's shard." },
    [F_IN_FLIGHT] = { "clockwerk_checks_in_flight", GAUGE, "Checks running now." },
    [F_IN_FLIGHT_LIMIT] = { "clockwerk_checks_in_flight_limit", GAUGE, "The most checks the worker runs at once." },
    [F_IN_FLIGHT_PEAK] = { "clockwerk_checks_in_flight_peak", GAUGE,
                           "The most checks the worker had running at once since it started." },
    [F_WORKER_CHECKS] = { "clockwerk_worker_checks_total", COUNTER,
                          "Checks made by the worker since it started, by result." },
    [F_MISSED] = { "clockwerk_worker_missed_checks_total", COUNTER,
                   "Scheduled checks skipped: the previous one still ran, or the worker was behind." },
    [F_LATENESS] = { "clockwerk_worker_check_lateness_p50_seconds", GAUGE,
                     "The median of how late checks started behind their schedule, since the worker started." },

    [F_LATENESS_SAMPLES] = { "clockwerk_worker_check_lateness_samples_total", COUNTER,
                             "Check starts measured for the lateness." },
    [F_SENT] = { "clockwerk_results_sent_total", COUNTER,
                 "Results sent to the reliable receivers for the first time." },
    [F_ACKED] = { "clockwerk_results_acked_total", COUNTER,
                  "Results acknowledged (worker: acknowledged to it; storer, alerter: acknowledged by it)." },
    [F_RESENT] = { "clockwerk_results_resent_total", COUNTER, "Results sent again after no acknowledgement." },
    [F_REFUSED] = { "clockwerk_results_refused_total", COUNTER,
                    "Result messages refused as malformed (worker: by a receiver; storer, alerter: by it)." },
    [F_INVALID] = { "clockwerk_results_invalid_total", COUNTER,
                    "Results not sent because every receiver would refuse them." },
    [F_SPOOLED] = { "clockwerk_results_spooled_total", COUNTER, "Results written to a spool file." },
    [F_REPLAYED] = { "clockwerk_results_replayed_total", COUNTER, "Rows read back from the storer's spool." },
    [F_SPOOL_BYTES] = { "clockwerk_spool_bytes", GAUGE, "Bytes not read back yet in the process's spool files." },
    [F_PENDING_BATCHES] = { "clockwerk_pending_batches", GAUGE,
                            "Batches in the worker's outboxes not acknowledged yet." },
    [F_DROPPED] = { "clockwerk_results_dropped_total", COUNTER,
                    "Results lost: the spool could not be written or was full." },
    [F_DROPPED_SPOOL_FULL] = { "clockwerk_results_dropped_spool_full_total", COUNTER,
                               "Of the results lost, those of a full spool file." },
    [F_MALFORMED] = { "clockwerk_malformed_messages_total", COUNTER,
                      "Messages dropped because they could not be decoded." },
    [F_GAPS] = { "clockwerk_seq_gaps_total", COUNTER, "Gaps in the workers' sequence numbers seen (events)." },
    [F_MISSING] = { "clockwerk_results_missing_total", COUNTER, "Results the sequence gaps skipped." },
    [F_JUMPS] = { "clockwerk_seq_jumps_total", COUNTER,
                  "Sequence jumps too large to believe (not counted as missing)." },
    [F_DUPLICATES] = { "clockwerk_results_duplicate_total", COUNTER, "Results received again (resends, reordering)." },
    [F_RECEIVED] = { "clockwerk_results_received_total", COUNTER, "Results received." },
    [F_STORED] = { "clockwerk_storer_rows_stored_total", COUNTER, "Check rows committed to the database." },
    [F_BATCHES] = { "clockwerk_storer_batches_total", COUNTER, "Database transactions committed." },
    [F_HELD] = { "clockwerk_storer_held_rows", GAUGE, "Rows received and not committed yet." },
    [F_WRITE_ERRORS] = { "clockwerk_storer_write_errors_total", COUNTER, "Database writes that failed." },
    [F_LAST_BATCH] = { "clockwerk_storer_last_batch_seconds", GAUGE, "How long the last database transaction took." },
    [F_DB_UP] = { "clockwerk_storer_database_up", GAUGE, "1 while the storer has a database connection." },
    [F_ACK_MESSAGES] = { "clockwerk_ack_messages_total", COUNTER, "Acknowledgement messages sent." },
    [F_ACKS_WAITING] = { "clockwerk_acks_waiting", GAUGE, "Acknowledgements waiting for their batch to be durable." },
    [F_BUS_REFUSED] = { "clockwerk_bus_refused_clients_total", COUNTER,
                        "Bus clients refused (CURVE keys not allowed)." },
    [F_PRUNED] = { "clockwerk_storer_pruned_rows_total", COUNTER, "Rows deleted by the retention, by table." },
    [F_PRUNE_LONGEST] = { "clockwerk_storer_prune_longest_step_seconds", GAUGE,
                          "The longest step of the retention since start." },
    [F_UNKNOWN_URLS] = { "clockwerk_alerter_unknown_urls_total", COUNTER,
                         "Results for an URL the alerter does not know." },
    [F_ALERTS_RAISED] = { "clockwerk_alerts_raised_total", COUNTER, "Alerts raised." },
    [F_DELIVERIES] = { "clockwerk_alert_deliveries_total", COUNTER, "Alert deliveries by channel and result." },
    [F_OUTBOX] = { "clockwerk_alerter_outbox_messages", GAUGE, "Alert messages queued for delivery." },
    [F_OUTBOX_FULL] = { "clockwerk_alerter_outbox_full_total", COUNTER,
                        "Alert messages not queued because the outbox was full." },
    [F_ALERTS_PENDING] = { "clockwerk_alerter_alerts_pending", GAUGE, "Alerts whose delivery is not finished." },
    [F_STORE_QUEUE] = { "clockwerk_alerter_store_queue_records", GAUGE,
                        "Alert records to the storer not acknowledged yet." },
    [F_STORE_RECORDS] = { "clockwerk_alerter_store_records_total", COUNTER,
                          "Alert records to the storer, by outcome." },
    [F_LATE] = { "clockwerk_alerter_late_results_total", COUNTER, "Results not applied because a later check was." },
    [F_STATE_SAVES] = { "clockwerk_alerter_state_saves_total", COUNTER,
                        "Saves of the alerter's state file, by result." },
    [F_TAP_MESSAGES] = { "clockwerk_tap_messages_total", COUNTER, "Messages clockwerk-tap received." },
    [F_TAP_PRINTED] = { "clockwerk_tap_printed_total", COUNTER, "Records clockwerk-tap printed." },
    [F_SENDERS] = { "clockwerk_result_senders_total", COUNTER, "Worker boots seen sending results." },
    [F_RESTARTS] = { "clockwerk_process_restarts_total", COUNTER,
                     "Restarts of the supervisor's children by role, since the supervisor started." },
    [F_CRASHES] = { "clockwerk_supervisor_crashes_total", COUNTER, "Children that exited without being asked to." },
    [F_FATAL] = { "clockwerk_supervisor_fatal_exits_total", COUNTER,
                  "Children that exited 2 (a configuration they cannot use)." },
    [F_RELOADS] = { "clockwerk_supervisor_reloads_total", COUNTER, "Reloads (SIGHUP), by result." },
    [F_LATENESS_P99] = { "clockwerk_worker_check_lateness_p99_seconds", GAUGE,
                         "The 99th percentile of how late checks started behind schedule, since the worker started." },
    [F_LATENESS_MAX] = { "clockwerk_worker_check_lateness_max_seconds", GAUGE,
                         "The most a check started behind its schedule, since the worker started." },
};
#define IGNORED (-1) /* a known counter deliberately not exported (the sum of two others, a duplicate) */

struct stat_map {
    const char *name;
    const char *role; /* NULL: any role */
    int family;       /* enum family_id, or IGNORED: known, not exported */
    enum unit unit;
    const char *labels; /* fixed labels after role and slot, "" for none */
    bool own_role;      /* labels carry the role (and there is no slot): the supervisor's restarts */
};

/* Entries of one name with a role come before the one without. */
static const struct stat_map table[] = {
    { "endpoints", "worker", F_ENDPOINTS, AS_IS, "", false },
    { "in_flight", NULL, F_IN_FLIGHT, AS_IS, "", false },
    { "in_flight_limit", NULL, F_IN_FLIGHT_LIMIT, AS_IS, "", false },
    { "max_in_flight", NULL, F_IN_FLIGHT_PEAK, AS_IS, "", false },
    { "checks", "worker", IGNORED, AS_IS, "", false }, /* checks_ok + checks_failed */
    { "checks_ok", NULL, F_WORKER_CHECKS, AS_IS, ",result=\"ok\"", false },
    { "checks_failed", NULL, F_WORKER_CHECKS, AS_IS, ",result=\"failed\"", false },
    { "missed", NULL, F_MISSED, AS_IS, "", false },
    { "lateness_samples", NULL, F_LATENESS_SAMPLES, AS_IS, "", false },
    { "lateness_p50_us", NULL, F_LATENESS, US_TO_S, "", false },
    { "lateness_p99_us", NULL, F_LATENESS_P99, US_TO_S, "", false },
    { "lateness_max_us", NULL, F_LATENESS_MAX, US_TO_S, "", false },
    { "results_sent", NULL, F_SENT, AS_IS, "", false },
    { "results_acked", NULL, F_ACKED, AS_IS, "", false },
    { "acked", NULL, F_ACKED, AS_IS, "", false },
    { "results_resent", NULL, F_RESENT, AS_IS, "", false },
    { "results_refused", NULL, F_REFUSED, AS_IS, "", false },
    { "refused", NULL, F_REFUSED, AS_IS, "", false },
    { "results_invalid", NULL, F_INVALID, AS_IS, "", false },
    { "results_spooled", NULL, F_SPOOLED, AS_IS, "", false },
    { "spooled", NULL, F_SPOOLED, AS_IS, "", false },
    { "replayed", NULL, F_REPLAYED, AS_IS, "", false },
    { "spool_bytes", NULL, F_SPOOL_BYTES, AS_IS, "", false },
    { "store_spool_bytes", NULL, F_SPOOL_BYTES, AS_IS, "", false },
    { "pending_batches", NULL, F_PENDING_BATCHES, AS_IS, "", false },
    { "dropped", NULL, F_DROPPED, AS_IS, "", false },
    { "spool_full_dropped", NULL, F_DROPPED_SPOOL_FULL, AS_IS, "", false },
    { "dropped_malformed", NULL, F_MALFORMED, AS_IS, "", false },
    { "malformed", "tap", F_MALFORMED, AS_IS, "", false },
    { "malformed", NULL, IGNORED, AS_IS, "", false }, /* = dropped_malformed */
    { "gaps", "worker", IGNORED, AS_IS, "", false },  /* always 0 */
    { "gaps", NULL, F_GAPS, AS_IS, "", false },
    { "missing", NULL, F_MISSING, AS_IS, "", false },
    { "seq_jumps", NULL, F_JUMPS, AS_IS, "", false },
    { "duplicates", NULL, F_DUPLICATES, AS_IS, "", false },
    { "reordered", NULL, F_DUPLICATES, AS_IS, "", false },
    { "received", NULL, F_RECEIVED, AS_IS, "", false },
    { "results", NULL, F_RECEIVED, AS_IS, "", false },
    { "stored", NULL, F_STORED, AS_IS, "", false },
    { "batches", NULL, F_BATCHES, AS_IS, "", false },
    { "held", NULL, F_HELD, AS_IS, "", false },
    { "write_errors", NULL, F_WRITE_ERRORS, AS_IS, "", false },
    { "last_batch_ms", NULL, F_LAST_BATCH, MS_TO_S, "", false },
    { "db_up", NULL, F_DB_UP, AS_IS, "", false },
    { "ack_messages", NULL, F_ACK_MESSAGES, AS_IS, "", false },
    { "acks_waiting", NULL, F_ACKS_WAITING, AS_IS, "", false },
    { "bus_refused", NULL, F_BUS_REFUSED, AS_IS, "", false },
    { "pruned_raw", NULL, F_PRUNED, AS_IS, ",table=\"raw\"", false },
    { "pruned_hourly", NULL, F_PRUNED, AS_IS, ",table=\"hourly\"", false },
    { "pruned_daily", NULL, F_PRUNED, AS_IS, ",table=\"daily\"", false },
    { "prune_longest_ms", NULL, F_PRUNE_LONGEST, MS_TO_S, "", false },
    { "unknown_urls", NULL, F_UNKNOWN_URLS, AS_IS, "", false },
    { "alerts_raised", NULL, F_ALERTS_RAISED, AS_IS, "", false },
    { "mails_sent", NULL, F_DELIVERIES, AS_IS, ",channel=\"email\",result=\"sent\"", false },
    { "mail_failures", NULL, F_DELIVERIES, AS_IS, ",channel=\"email\",result=\"failed\"", false },
    { "mail_refused", NULL, F_DELIVERIES, AS_IS, ",channel=\"email\",result=\"refused\"", false },
    { "webhooks_sent", NULL, F_DELIVERIES, AS_IS, ",channel=\"webhook\",result=\"sent\"", false },
    { "webhook_failures", NULL, F_DELIVERIES, AS_IS, ",channel=\"webhook\",result=\"failed\"", false },
    { "outbox", NULL, F_OUTBOX, AS_IS, "", false },
    { "outbox_full", NULL, F_OUTBOX_FULL, AS_IS, "", false },
    { "alerts_pending", NULL, F_ALERTS_PENDING, AS_IS, "", false },
    { "store_queue", NULL, F_STORE_QUEUE, AS_IS, "", false },
    { "store_acked", NULL, F_STORE_RECORDS, AS_IS, ",outcome=\"acked\"", false },
    { "store_resent", NULL, F_STORE_RECORDS, AS_IS, ",outcome=\"resent\"", false },
    { "store_dropped", NULL, F_STORE_RECORDS, AS_IS, ",outcome=\"dropped\"", false },
    { "late", NULL, F_LATE, AS_IS, "", false },
    { "state_saves", NULL, F_STATE_SAVES, AS_IS, ",result=\"ok\"", false },
    { "state_errors", NULL, F_STATE_SAVES, AS_IS, ",result=\"failed\"", false },
    { "messages", "tap", F_TAP_MESSAGES, AS_IS, "", false },
    { "printed", "tap", F_TAP_PRINTED, AS_IS, "", false },
    { "senders", NULL, F_SENDERS, AS_IS, "", false },
    { "restarts_relay", "supervisor", F_RESTARTS, AS_IS, "role=\"relay\"", true },
    { "restarts_storer", "supervisor", F_RESTARTS, AS_IS, "role=\"storer\"", true },
    { "restarts_alerter", "supervisor", F_RESTARTS, AS_IS, "role=\"alerter\"", true },
    { "restarts_worker", "supervisor", F_RESTARTS, AS_IS, "role=\"worker\"", true },
    { "restarts_web", "supervisor", F_RESTARTS, AS_IS, "role=\"web\"", true },
    { "crashes", "supervisor", F_CRASHES, AS_IS, "", false },
    { "fatal_exits", "supervisor", F_FATAL, AS_IS, "", false },
    { "reloads", "supervisor", F_RELOADS, AS_IS, ",result=\"ok\"", false },
    { "reloads_failed", "supervisor", F_RELOADS, AS_IS, ",result=\"failed\"", false },
};
#define TABLE (sizeof table / sizeof table[0])

int web_stats_lookup(const char *role, const char *name)
{
    for (size_t i = 0; i < TABLE; i++)
        if (strcmp(table[i].name, name) == 0 && (!table[i].role || strcmp(table[i].role, role) == 0)) return (int)i;
    return -1;
}

static struct web_proc *proc_entry(struct web_procs *p, const char *role, uint32_t slot)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i].slot == slot && strcmp(p->v[i].role, role) == 0) return &p->v[i];
    if (p->n == WEB_PROCS_MAX) return NULL;
    if (!p->v) p->v = cw_xcalloc(WEB_PROCS_MAX, sizeof *p->v);
    struct web_proc *e = &p->v[p->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->role, sizeof e->role, "%s", role);
    e->slot = slot;
    return e;
}

void web_stats_apply(struct web_procs *p, const struct cw_stats *s, int64_t now_mono_ns)
{
    const char *role = s->role ? s->role : "";
    struct web_proc *e = strlen(role) <= WEB_ROLE_MAX ? proc_entry(p, role, s->id) : NULL;
    if (!e) {
        p->dropped++;
        return;
    }
    e->received_mono_ns = now_mono_ns;
    e->count = 0;
    for (unsigned i = 0; i < s->count && i < CW_STATS_MAX; i++) {
        int k = web_stats_lookup(role, s->items[i].name ? s->items[i].name : "");
        if (k < 0) p->unknown_keys++;
        if (k < 0 || table[k].family == IGNORED) continue;
        e->metric[e->count] = (uint16_t)k;
        e->value[e->count++] = s->items[i].value;
    }
}

void web_procs_free(struct web_procs *p)
{
    free(p->v);
    memset(p, 0, sizeof *p);
}

static void sample(struct cw_buf *b, const struct family *f, const struct stat_map *m, const struct web_proc *e,
                   int64_t value)
{
    put_cstr(b, f->name);
    put_cstr(b, "{");
    if (m->own_role) {
        put_cstr(b, m->labels);
    } else {
        put_cstr(b, "role=\"");
        web_metrics_label_value(b, e->role);
        put_cstr(b, "\",slot=\"");
        web_metrics_u64(b, e->slot);
        put_cstr(b, "\"");
        put_cstr(b, m->labels);
    }
    put_cstr(b, "} ");
    if (m->unit == US_TO_S) web_metrics_us_as_seconds(b, value);
    else if (m->unit == MS_TO_S) web_metrics_us_as_seconds(b, value * 1000);
    else web_metrics_i64(b, value);
    put_cstr(b, "\n");
}

void web_metrics_procs(struct cw_buf *b, const struct web_procs *p, int64_t now_mono_ns)
{
    for (size_t f = 0; f < FAMILIES; f++) {
        bool header = false;
        for (size_t i = 0; i < p->n; i++) {
            const struct web_proc *e = &p->v[i];
            if (now_mono_ns - e->received_mono_ns > WEB_STATS_STALE_NS) continue;
            for (unsigned k = 0; k < e->count; k++) {
                const struct stat_map *m = &table[e->metric[k]];
                if (m->family != (int)f) continue;
                if (!header) {
                    cw_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", families[f].name, families[f].help,
                                  families[f].name, families[f].type == COUNTER ? "counter" : "gauge");
                    header = true;
                }
                sample(b, &families[f], m, e, e->value[k]);
            }
        }
    }
}
