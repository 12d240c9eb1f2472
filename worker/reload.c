/* worker/reload.c — a worker's reload in place (SIGHUP from the supervisor; worker/main.c's header comment says what
 * it keeps, worker/remap.h how endpoints are paired and the schedule carried over, worker/worker.h the ids). */
#include <stdio.h>
#include <stdlib.h>

#include "common/base/clock.h"
#include "common/base/log.h"
#include "worker/check.h"
#include "worker/remap.h"
#include "worker/worker.h"

static void retired_free(struct retired *r)
{
    for (size_t i = 0; i < r->cfg->n_endpoints; i++) curl_slist_free_all(r->headers[i]);
    free(r->headers);
    probe_asserts_free(&r->asserts); /* before the configuration: an assertion reads its endpoint's spec */
    config_free(r->cfg);
    free(r);
}

void worker_free_retired(struct worker *w)
{
    if (!w->retired) return;
    while (w->retired) {
        struct retired *r = w->retired;
        w->retired = r->next;
        retired_free(r);
    }
    proc_give_back(); /* the previous shard's configuration: tens of MB at 250,000 endpoints (a few ms) */
}

void worker_check_over(struct worker *w, uint32_t id)
{
    if (id >= w->n_ids) return;
    uint32_t gen = w->busy[id];
    w->busy[id] = 0;
    if (!gen || gen == w->gen) return;
    struct retired *r = retire_check_over(&w->retired, gen);
    if (!r) return;
    retired_free(r);
    proc_give_back();
}

/* A reload in place: the checks in flight renumbered (map: old id -> new id, built by remap_build for the endpoints;
 * a removed endpoint's check in flight gets an id past the new shard's end), each keeping its generation's tag;
 * returns how many carry the current one's (w->gen, being retired). */
static size_t remap_in_flight(struct worker *w, uint32_t *map, size_t n_old, size_t n)
{
    size_t n_ids, pending;
    uint32_t *busy = retire_remap_busy(w->busy, w->n_ids, map, n_old, n, w->gen, &n_ids, &pending);
    probe_remap(w->pool, map, w->n_ids);
    engine_remap(w->engine, map, w->n_ids);
    free(w->busy);
    w->busy = busy;
    w->n_ids = n_ids;
    return pending;
}

/* The new shard cannot be taken: the supervisor counts this worker on it already, so it stops (as on SIGTERM: the
 * checks in flight get their second, the results are handed over) and exits 1 to be started on it again. */
static void refuse(struct worker *w, const char *why)
{
    log_error("reload: %s: stopping, to be started again on the current configuration", why);
    w->stopping = true;
    w->exit_code = 1;
}

/* SIGHUP: the supervisor's current snapshot, this worker's shard of it, in place (see the header comment). The
 * supervisor counts this worker on the new generation from the signal on (its fingerprints, children.c's c->gen): a
 * shard that cannot be read, or a snapshot with another worker count, is not stayed out of quietly on the old shard:
 * the worker stops and exits 1 with the reason (refuse), and the supervisor starts it again from its current
 * snapshot. */
void worker_reload(struct worker *w)
{
    int64_t t0 = cw_mono_ns(), c0 = cw_thread_cpu_ns();
    char err[640];
    struct cw_config *old = proc_reload(&w->p, err, sizeof err);
    if (!old) {
        refuse(w, err);
        return;
    }
    if (w->p.cfg->workers != (int)w->p.slots) {
        snprintf(err, sizeof err, "the configuration has %d workers, not %u", w->p.cfg->workers, w->p.slots);
        config_free(w->p.cfg);
        w->p.cfg = old;
        log_set_level((enum log_level)old->log_level); /* proc_reload applied the refused one's */
        log_set_target((enum log_target)old->log_target);
        refuse(w, err);
        return;
    }
    const struct cw_config *cfg = w->p.cfg;
    size_t n_old = old->n_endpoints, n = cfg->n_endpoints;
    uint32_t *map = cw_xcalloc(w->n_ids ? w->n_ids : 1, sizeof *map);
    remap_build(old->endpoints, n_old, cfg->endpoints, n, map);
    struct remap_counts rc;
    remap_schedule(&w->sched, map, old->endpoints, n_old, cfg->endpoints, n, cw_mono_ns(), cw_wall_us() * 1000, &rc);
    size_t pending = remap_in_flight(w, map, n_old, n);
    free(map);
    struct retired *r = cw_xcalloc(1, sizeof *r);
    *r = (struct retired){ .gen = w->gen, .in_flight = pending, .cfg = old, .headers = w->headers };
    probe_pool_take_asserts(w->pool, &r->asserts);
    w->gen = retire_next_gen(w->retired, w->gen);
    if (pending) {
        r->next = w->retired;
        w->retired = r;
    }
    w->cfg = cfg;
    w->hello.endpoints = (uint32_t)n;
    worker_set_headers(w);
    /* the supervisor validated the file (assertions compiled there too): a failure here is not the file's; exit 1, and
     * the restart decides (a start that fails on it exits 2, as ever) */
    if (probe_pool_prepare(w->pool, cfg->endpoints, n, err, sizeof err) != 0) fatal(1, "reload: %s", err);
    engine_set_config(w->engine, cfg);
    if (!pending) { /* no check holds it; engine_set_config read it (the push module's calls) */
        retired_free(r);
        proc_give_back();
    }
    w->reloads++;
    size_t n_retired = retire_count(w->retired);
    log_info("reloaded in place: %zu endpoint%s (%zu kept, %zu rescheduled, %zu added, %zu removed), %zu check%s in "
             "flight finishing under the previous definitions, %zu previous shard%s kept, in %.3f s (%.3f s CPU)",
             n, cw_plural((long long)n), rc.kept, rc.rephased, rc.added, rc.removed, pending,
             cw_plural((long long)pending), n_retired, cw_plural((long long)n_retired),
             (double)(cw_mono_ns() - t0) / 1e9, (double)(cw_thread_cpu_ns() - c0) / 1e9);
}

