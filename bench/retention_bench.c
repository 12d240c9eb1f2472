/* bench/retention_bench.c — the retention figures of `make bench` (driven by bench/retention_bench.py, which
 * also prepares the databases and measures their size): drives one storer backend (storer/backend.h) and the
 * retention engine (storer/prune.h) directly, the way the storer does.
 *
 *   retention_bench [db options] history   writes --days of checks of --endpoints endpoints every --interval
 *                                          seconds, ending now, through write_batch in batches of 500 (the
 *                                          roll-ups folding inside them as in the storer, CLOCKWERK_ROLLUP_EVERY_MS
 *                                          1 s), then runs one pruning pass with the default retention (30/400/0)
 *                                          and prints `rows=N seconds=S pruned_raw=R ...`
 *   retention_bench [db options] prune     a batch of 500 rows is due every 200 ms (the storer's batch age) and
 *                                          written at once when due; between batches, pruning steps run as
 *                                          storer/retention.c runs them (only when no batch is due). First
 *                                          --baseline seconds without pruning, then with raw_days = --raw-days
 *                                          until the pass ends. Prints the worst and p99 delay of a batch (due ->
 *                                          committed) in both phases, the pass's time, steps and longest step.
 * db options: --driver sqlite|postgresql|mysql --host H --port P --db NAME --user U (password:
 * CLOCKWERK_DB_PASSWORD). Exit: 0 ok, 1 a database error, 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/base/clock.h"
#include "common/base/log.h"
#include "common/base/util.h"
#include "common/config/config.h"
#include "storer/backend.h"
#include "storer/prune.h"

#define BATCH 500
#define BATCH_EVERY_NS 200000000LL
#define MAX_DELAYS 100000

struct opts {
    struct cw_config cfg;
    long endpoints, days, interval, raw_days, baseline_s;
};

struct bench {
    const struct store_backend *be;
    struct store_db *db;
    struct store_batch b;
    char (*urls)[64];
    long n_urls;
    uint64_t seq, boot;
};

static void usage(void)
{
    fprintf(stderr, "usage: retention_bench [--driver D] [--host H] [--port P] [--db NAME] [--user U]\n"
                    "         [--endpoints N] [--days D] [--interval S] [--raw-days D] [--baseline S] history|prune\n");
    exit(2);
}

static void die_db(const char *what, int rc, const char *err)
{
    printf("%s: %s: %s\n", what, rc == STORE_RETRY ? "retry" : "fatal", err);
    exit(1);
}

static void bench_open(struct bench *x, const struct opts *o)
{
    char err[1024] = "";
    int rc = STORE_FATAL;
    x->be = store_backend_for(o->cfg.db_driver);
    if (!(x->db = x->be->open(&o->cfg, &rc, err, sizeof err))) die_db("open", rc, err);
    if ((rc = x->be->migrate(x->db, err, sizeof err)) != STORE_OK) die_db("migrate", rc, err);
    x->n_urls = o->endpoints;
    x->urls = cw_xcalloc((size_t)x->n_urls, sizeof *x->urls);
    for (long i = 0; i < x->n_urls; i++) snprintf(x->urls[i], sizeof x->urls[i], "http://127.0.0.1:9/site/%ld", i);
    x->b.checks = cw_xcalloc(BATCH, sizeof *x->b.checks);
    x->b.cap_checks = BATCH;
    x->boot = cw_boot_id();
}

static void bench_close(struct bench *x)
{
    x->be->close(x->db);
    free(x->b.checks);
    free(x->urls);
}

/* One check as a worker reports it: mostly ok, a latency spread over two decades, the phases of http://. */
static void fill_result(struct bench *x, struct cw_result *r, long ep, int64_t at_us)
{
    memset(r, 0, sizeof *r);
    uint64_t h = cw_hash64_mem(&x->seq, sizeof x->seq);
    r->worker = 0;
    r->boot_id = x->boot;
    r->seq = ++x->seq;
    r->checked_at_us = at_us;
    r->latency_us = 2000 + (int64_t)(h % 200000);
    r->dns_us = 50 + (int64_t)(h % 300);
    r->connect_us = 100 + (int64_t)(h % 1000);
    r->tls_us = -1;
    r->ttfb_us = r->latency_us / 2;
    r->ok = h % 100 != 0;
    r->status_code = r->ok ? 200 : 503;
    r->url = x->urls[ep];
    r->error = r->ok ? NULL : "unexpected status 503";
}

static void write_or_die(struct bench *x)
{
    char err[1024];
    int rc = x->be->write_batch(x->db, &x->b, err, sizeof err);
    if (rc != STORE_OK) die_db("write_batch", rc, err);
    x->b.n_checks = 0;
}

static int on_db(void *ctx, const struct prune_req *req, struct prune_res *res, char *err, size_t errlen)
{
    struct bench *x = ctx;
    return x->be->prune(x->db, req, res, err, errlen);
}

/* One step if due; returns its time in ns (0: none was due). */
static int64_t prune_once(struct bench *x, struct prune *p)
{
    char err[1024];
    int64_t t0 = cw_mono_ns();
    if (prune_due_at(p) > t0) return 0;
    int rc = prune_step(p, on_db, x, t0, cw_wall_us() / 1000000, err, sizeof err);
    if (rc != STORE_OK) die_db("prune", rc, err);
    int64_t took = cw_mono_ns() - t0;
    prune_took(p, took);
    return took;
}

static int history(const struct opts *o)
{
    setenv("CLOCKWERK_ROLLUP_EVERY_MS", "1000", 1);
    struct bench x = { 0 };
    bench_open(&x, o);
    int64_t step_us = o->interval * 1000000LL, n = o->days * 86400LL / o->interval, now = cw_wall_us();
    int64_t t0 = cw_mono_ns();
    for (int64_t i = 0; i < n; i++) /* every endpoint at its own phase inside the interval */
        for (long e = 0; e < o->endpoints; e++) {
            int64_t at = now - (n - i) * step_us + (e * step_us) / o->endpoints;
            fill_result(&x, &x.b.checks[x.b.n_checks++].r, e, at);
            if (x.b.n_checks == BATCH) write_or_die(&x);
        }
    if (x.b.n_checks) write_or_die(&x);
    double secs = (double)(cw_mono_ns() - t0) / 1e9;
    bench_close(&x); /* folds what is pending */
    bench_open(&x, o);
    struct prune p;
    prune_init(&p, cw_mono_ns());
    prune_configure(&p, 30, 400, 0);
    while (p.passes == 0) prune_once(&x, &p);
    printf("rows=%lld endpoints=%ld days=%ld interval=%ld seconds=%.1f pruned_raw=%llu pruned_hourly=%llu\n",
           (long long)n * o->endpoints, o->endpoints, o->days, o->interval, secs, (unsigned long long)p.total.raw,
           (unsigned long long)p.total.hourly);
    prune_free(&p);
    bench_close(&x);
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

struct delays {
    int64_t v[MAX_DELAYS];
    size_t n;
};

static void delays_report(const char *name, struct delays *d)
{
    qsort(d->v, d->n, sizeof d->v[0], cmp_i64);
    double p99 = d->n ? (double)d->v[(d->n * 99) / 100] / 1e6 : 0, worst = d->n ? (double)d->v[d->n - 1] / 1e6 : 0;
    printf("%s_batches=%zu %s_p99_ms=%.1f %s_worst_ms=%.1f ", name, d->n, name, p99, name, worst);
}

/* Batches due every BATCH_EVERY_NS and written when due; pruning steps in between when p is not NULL. Runs
 * until `until` (monotonic ns) or, with p, until its first pass ends. */
static void writer_loop(struct bench *x, struct prune *p, int64_t until, struct delays *d)
{
    int64_t due = cw_mono_ns();
    long ep = 0;
    for (;;) {
        int64_t now = cw_mono_ns();
        if (p ? p->passes > 0 : now >= until) return;
        if (now >= due) {
            for (int i = 0; i < BATCH; i++, ep = (ep + 1) % x->n_urls)
                fill_result(x, &x->b.checks[x->b.n_checks++].r, ep, cw_wall_us());
            write_or_die(x);
            if (d->n < MAX_DELAYS) d->v[d->n++] = cw_mono_ns() - due;
            due += BATCH_EVERY_NS;
            continue;
        }
        if (p && prune_due_at(p) <= now) {
            prune_once(x, p);
            continue;
        }
        int64_t wake = p && prune_due_at(p) < due ? prune_due_at(p) : due;
        struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)(wake - now) };
        nanosleep(&ts, NULL);
    }
}

static int prune_bench(const struct opts *o)
{
    setenv("CLOCKWERK_ROLLUPS", "off", 1); /* the prefilled rows are "folded" by the driver's watermark */
    struct bench x = { 0 };
    bench_open(&x, o);
    static struct delays base, with;
    writer_loop(&x, NULL, cw_mono_ns() + o->baseline_s * 1000000000LL, &base);
    struct prune p;
    prune_init(&p, cw_mono_ns());
    prune_configure(&p, (int)o->raw_days, 0, 0);
    int64_t t0 = cw_mono_ns();
    writer_loop(&x, &p, 0, &with);
    double secs = (double)(cw_mono_ns() - t0) / 1e9;
    delays_report("baseline", &base);
    delays_report("pruning", &with);
    printf("pruned_raw=%llu pass_s=%.1f steps=%u longest_step_ms=%.1f\n", (unsigned long long)p.total.raw, secs,
           p.steps, (double)p.longest_ever_ns / 1e6);
    prune_free(&p);
    bench_close(&x);
    return 0;
}

static long num(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < 0) usage();
    return v;
}

int main(int argc, char **argv)
{
    log_init("retention_bench", getenv("RETENTION_BENCH_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_WARN);
    struct opts o = { .endpoints = 100, .days = 30, .interval = 60, .raw_days = 1, .baseline_s = 10 };
    o.cfg.db_driver = CW_DB_SQLITE;
    o.cfg.db_password = getenv("CLOCKWERK_DB_PASSWORD");
    const char *cmd = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strncmp(a, "--", 2) && !v) usage();
        if (!strcmp(a, "--driver")) {
            o.cfg.db_driver = !strcmp(v, "postgresql") ? CW_DB_POSTGRES
                              : !strcmp(v, "mysql")    ? CW_DB_MYSQL
                                                       : CW_DB_SQLITE;
        } else if (!strcmp(a, "--host")) o.cfg.db_host = argv[i + 1];
        else if (!strcmp(a, "--port")) o.cfg.db_port = (int)num(v);
        else if (!strcmp(a, "--db")) o.cfg.db_name = argv[i + 1];
        else if (!strcmp(a, "--user")) o.cfg.db_user = argv[i + 1];
        else if (!strcmp(a, "--endpoints")) o.endpoints = num(v);
        else if (!strcmp(a, "--days")) o.days = num(v);
        else if (!strcmp(a, "--interval")) o.interval = num(v);
        else if (!strcmp(a, "--raw-days")) o.raw_days = num(v);
        else if (!strcmp(a, "--baseline")) o.baseline_s = num(v);
        else if (strncmp(a, "--", 2)) {
            cmd = a;
            continue;
        } else usage();
        i++;
    }
    if (!cmd || !o.cfg.db_name || o.endpoints < 1 || o.interval < 1 || o.days < 1) usage();
    if (!strcmp(cmd, "history")) return history(&o);
    if (!strcmp(cmd, "prune")) return prune_bench(&o);
    usage();
}
