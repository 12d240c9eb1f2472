/* worker/reload.c — a worker's reload in place (SIGHUP from the supervisor; worker/main.c's header comment says what
 * it keeps, worker/remap.h how endpoints are paired and the schedule carried over, worker/worker.h the ids). */
#include <stdlib.h>

#include "common/base/clock.h"
#include "common/base/log.h"
#include "worker/check.h"
#include "worker/remap.h"
#include "worker/worker.h"

void worker_free_retired(struct worker *w)
{
    if (!w->retired) return;
    while (w->retired) {
        struct retired *r = w->retired;
        w->retired = r->next;
        for (size_t i = 0; i < r->cfg->n_endpoints; i++) curl_slist_free_all(r->headers[i]);
        free(r->headers);
        probe_asserts_free(&r->asserts);
        config_free(r->cfg);
        free(r);
    }
    proc_give_back(); /* the previous shard's configuration: tens of MB at 250,000 endpoints (a few ms) */
}

/* A reload in place: the checks in flight renumbered (map: old id -> new id, built by remap_build for the endpoints;
 * a removed endpoint's check in flight gets an id past the new shard's end), each marked BUSY_OLD; returns how many. */
static size_t remap_in_flight(struct worker *w, uint32_t *map, size_t n_old, size_t n)
{
    size_t orphans = 0, pending = 0;
    for (size_t i = 0; i < w->n_ids; i++) {
        if (i >= n_old) map[i] = REMAP_GONE; /* a removed endpoint of an earlier reload */
        if (w->busy[i] && map[i] == REMAP_GONE) map[i] = (uint32_t)(n + orphans++);
    }
    uint8_t *busy = cw_xcalloc(n + orphans ? n + orphans : 1, 1);
    for (size_t i = 0; i < w->n_ids; i++) {
        if (!w->busy[i]) continue;
        busy[map[i]] = BUSY_OLD;
        pending++;
    }
    probe_remap(w->pool, map, w->n_ids);
    engine_remap(w->engine, map, w->n_ids);
    free(w->busy);
    w->busy = busy;
    w->n_ids = n + orphans;
    return pending;
}

/* SIGHUP: the supervisor's current snapshot, this worker's shard of it, in place (see the header comment). A snapshot
 * with another worker count (a second reload that restarts every worker is under way) is not taken. */
void worker_reload(struct worker *w)
{
    int64_t t0 = cw_mono_ns(), c0 = cw_thread_cpu_ns();
    char err[640];
    struct cw_config *old = proc_reload(&w->p, err, sizeof err);
    if (!old) {
        log_warn("reload: %s; keeping the previous configuration", err);
        return;
    }
    if (w->p.cfg->workers != (int)w->p.slots) {
        log_info("reload: the configuration has %d workers, not %u: keeping the previous one until the supervisor "
                 "restarts this worker",
                 w->p.cfg->workers, w->p.slots);
        config_free(w->p.cfg);
        w->p.cfg = old;
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
    *r = (struct retired){ .cfg = old, .headers = w->headers, .next = w->retired };
    probe_pool_take_asserts(w->pool, &r->asserts);
    w->retired = r;
    w->old_in_flight = pending;
    w->cfg = cfg;
    w->hello.endpoints = (uint32_t)n;
    worker_set_headers(w);
    /* the supervisor validated the file (assertions compiled there too): a failure here is not the file's; exit 1, and
     * the restart decides (a start that fails on it exits 2, as ever) */
    if (probe_pool_prepare(w->pool, cfg->endpoints, n, err, sizeof err) != 0) fatal(1, "reload: %s", err);
    engine_set_config(w->engine, cfg);
    if (!pending) worker_free_retired(w);
    w->reloads++;
    log_info("reloaded in place: %zu endpoint%s (%zu kept, %zu rescheduled, %zu added, %zu removed), %zu check%s in "
             "flight finishing under the previous definitions, in %.3f s (%.3f s CPU)",
             n, cw_plural((long long)n), rc.kept, rc.rephased, rc.added, rc.removed, pending,
             cw_plural((long long)pending), (double)(cw_mono_ns() - t0) / 1e9, (double)(cw_thread_cpu_ns() - c0) / 1e9);
}

