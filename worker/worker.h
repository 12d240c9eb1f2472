/* worker/worker.h — the worker process's state (bin/clockwerk-worker: worker/main.c runs it), shared by main.c and
 * worker/reload.c (the reload in place, issue 18).
 *
 * DESIGN
 * Ids: the worker names an endpoint by its index in its shard (the schedule, busy[], the checks in flight); after a
 * reload in place a removed endpoint whose check is still in flight has an id past the shard's end until the check
 * is collected (worker/remap.h). busy[id] is the tag of the generation the id's check in flight started under (0:
 * none): gen for the current shard, a retired one's for a check started before a reload; each previous shard
 * (struct retired: the configuration, the headers and the compiled assertions its checks hold) is freed when its
 * own last check is collected (worker/retire.h). */
#ifndef CW_WORKER_WORKER_H
#define CW_WORKER_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "common/base/ratelimit.h"
#include "common/base/util.h"
#include "common/config/config.h"
#include "common/proc/proc.h"
#include "common/wire/lathist.h"
#include "worker/alive.h"
#include "worker/events.h"
#include "worker/hello.h"
#include "worker/output.h"
#include "worker/probe.h"
#include "worker/retire.h"
#include "worker/schedule.h"

struct worker {
    struct proc p;               /* the skeleton: configuration, slot/slots, boot id, bus, signalfd */
    const struct cw_config *cfg; /* p.cfg (replaced by a reload in place) */
    unsigned slot;               /* p.slot */
    const char *location;        /* location_buf: in every result (it outlives a reload's configuration) */
    char location_buf[CW_PROTO_LOCATION_MAX + 1]; /* cfg->location ("local" while the configuration names none) */
    uint64_t seq;

    CURLM *multi;
    struct probe_pool *pool;
    struct engine *engine;  /* the checks that are not HTTP */
    unsigned max_in_flight; /* over both */
    int64_t timer_slack_ns; /* see WORKER_SLACK_MAX_NS */
    size_t outbox_bytes;
    uint64_t spool_max_bytes; /* disk bound per spool file (CLOCKWERK_SPOOL_MAX_BYTES) */
    unsigned orphan_scans;    /* stats periods since the last look for orphan spools (slot 0) */
    struct sched sched;
    uint32_t *busy;              /* per id: the generation its check in flight started under, 0 when none */
    size_t n_ids;                /* ids: the endpoints, then the removed ones still in flight (worker/remap.h) */
    struct curl_slist **headers; /* per endpoint, NULL when none */
    struct retired *retired;     /* previous shards with checks in flight (a reload in place), newest first */
    uint32_t gen;                /* the current shard's generation tag (worker/retire.h) */
    uint64_t reloads;

    struct worker_output out;
    struct worker_hello hello; /* HELLO to the alerter once a second, the clock offset from its echoes */

    struct cw_buf batch;
    int64_t batch_since_ns;   /* when the first result of the open batch came; 0 when empty */
    uint64_t batch_first_seq; /* seq of the open batch's first result (its seqs are consecutive) */
    struct cw_buf stats_buf;
    struct worker_events ev; /* the one wait: libcurl's sockets, signals, the bus */
    size_t nofile;           /* the descriptor limit in force */
    bool stopping;
    int exit_code; /* 1 after a reload that could not be taken (worker/reload.c) */

    /* counters since start */
    uint64_t checks, checks_ok, checks_failed, missed, results_emitted, results_invalid, figures_dropped;
    struct ratelimit invalid_log; /* "result ... not sent" lines */
    struct ratelimit figures_log; /* "figures of ... left out" lines */
    /* over the current stats period */
    struct lat_hist lateness;
    unsigned peak_in_flight;
    struct proc_period stats_period;
    struct sched_misses misses; /* since the last "missed" warning */
    bool cap_blocked;           /* a due check waits for a slot under the in-flight cap */
    struct worker_alive alive;
};

/* worker/main.c: the headers of every endpoint of w->cfg (w->headers, allocated) and the timer slack for its load. */
void worker_set_headers(struct worker *w);
/* worker/reload.c: SIGHUP, after the finished checks were collected (see main.c's header comment); a shard it cannot
 * take sets stopping and exit_code 1. */
void worker_reload(struct worker *w);
/* The check of id is over (its result emitted): the generation it started under loses a check, and a retired one
 * whose last check it was is freed. */
void worker_check_over(struct worker *w, uint32_t id);
/* Frees every retired shard (no check holding one may be in flight any more) and gives the heap's free pages back. */
void worker_free_retired(struct worker *w);

#endif
