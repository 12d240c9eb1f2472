/* bench/store_bench.c — drives one storer backend directly (storer/backend.h), without the rest of Clockwerk:
 * measures rows per second of write_batch, and runs the backend-level checks of tests/e2e/test_databases.py.
 *
 *   store_bench [options] bench     open, migrate, then write --rows synthetic checks in batches of --batch;
 *                                   prints `DRIVER rows=N batch=B seconds=S rows_per_s=R`
 *   store_bench [options] verify    writes a fixed set of checks and alerts twice (idempotence), with NULL
 *                                   phases and awkward error text; the test then reads the tables back
 *   store_bench [options] open      open + migrate only: prints the outcome (used for bad-input tests)
 * options: --driver sqlite|postgresql|mysql  --host H  --port P  --db NAME  --user U  --sslmode M
 *          --rows N (default 100000)  --batch B (default 500)  --worker W (default: random)
 *          --urls U (default 5000: distinct endpoints the rows go to, round robin, as 5,000 endpoints at one
 *          check interval would; the (endpoint_id, checked_at) index then takes each row at its own place)
 *          --raw all|failures|none (database.raw: the rows go through the storer's marking, storer/rawkeep.h)
 *          --interval S (the rows are S seconds apart per endpoint, in simulated time from now: --rows / --urls
 *          rounds; without it 1 ms apart) --fail-pct P (default 10: every (100/P)th check fails; with --raw
 *          spread over the endpoints by a hash of the seq)
 *          With --raw, an SQLite database's size after the close is printed: `db_bytes=B`.
 * The password comes from CLOCKWERK_DB_PASSWORD. Exit: 0 ok, 3 STORE_RETRY, 4 STORE_FATAL, 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/clock.h"
#include "common/config/config.h"
#include "common/base/log.h"
#include "common/base/util.h"
#include "storer/backend.h"
#include "storer/rawkeep.h"

#include <sys/stat.h>

struct sim {
    bool raw_set;         /* --raw given: the batches are marked like the storer's */
    double interval_s;    /* 0: rows 1 ms apart */
    long fail_every;      /* every fail_every-th check fails (0: none) */
};

static int exit_code(int rc) { return rc == STORE_OK ? 0 : rc == STORE_RETRY ? 3 : 4; }

static void usage(void)
{
    fprintf(stderr, "usage: store_bench [--driver D] [--host H] [--port P] [--db NAME] [--user U] [--sslmode M]\n"
                    "                   [--rows N] [--batch B] [--worker W] [--urls U] [--raw all|failures|none]\n"
                    "                   [--interval S] [--fail-pct P] bench|verify|open\n");
    exit(2);
}

/* Opens and migrates; exits with the classified code on failure. */
static struct store_db *connect_db(const struct store_backend *be, const struct cw_config *cfg)
{
    char err[1024] = "";
    int rc = STORE_FATAL;
    struct store_db *db = be->open(cfg, &rc, err, sizeof err);
    if (!db) {
        printf("open: %s: %s\n", rc == STORE_RETRY ? "retry" : "fatal", err);
        exit(exit_code(rc));
    }
    rc = be->migrate(db, err, sizeof err);
    if (rc != STORE_OK) {
        printf("migrate: %s: %s\n", rc == STORE_RETRY ? "retry" : "fatal", err);
        be->close(db);
        exit(exit_code(rc));
    }
    return db;
}

/* The size of an SQLite database and its journal files, in bytes. */
static long long file_bytes(const char *path)
{
    long long total = 0;
    const char *suffix[] = { "", "-wal", "-shm" };
    for (int i = 0; i < 3; i++) {
        char p[1024];
        struct stat st;
        snprintf(p, sizeof p, "%s%s", path, suffix[i]);
        if (stat(p, &st) == 0) total += (long long)st.st_size;
    }
    return total;
}

static int run_bench(const struct store_backend *be, struct cw_config *cfg, long rows, long batch_size,
                     uint32_t worker, long n_urls, const struct sim *sim)
{
    struct store_db *db = connect_db(be, cfg);
    char(*urls)[64] = cw_xcalloc((size_t)n_urls, sizeof *urls);
    for (long i = 0; i < n_urls; i++) snprintf(urls[i], sizeof urls[i], "http://127.0.0.1:9/bench/%ld", i);
    struct cw_endpoint *eps = cw_xcalloc((size_t)n_urls, sizeof *eps);
    for (long i = 0; i < n_urls; i++) eps[i] = (struct cw_endpoint){ .url = urls[i], .latency_threshold = 1.0 };
    cfg->endpoints = eps;
    cfg->n_endpoints = (size_t)n_urls;
    struct rawkeep keep = { 0 };
    rawkeep_set(&keep, cfg);

    struct store_batch b = { 0 };
    b.checks = cw_xcalloc((size_t)batch_size, sizeof *b.checks);
    b.cap_checks = (size_t)batch_size;
    uint64_t boot = cw_boot_id(), seq = 0;
    int64_t now = cw_wall_us();
    char err[1024];
    int rc = STORE_OK;
    int64_t t0 = cw_mono_us();
    long written = 0;
    while (written < rows) {
        long n = rows - written < batch_size ? rows - written : batch_size;
        for (long i = 0; i < n; i++) {
            struct cw_result *r = &b.checks[i].r;
            memset(r, 0, sizeof *r);
            r->worker = worker;
            r->boot_id = boot;
            r->seq = ++seq;
            r->checked_at_us = now + (int64_t)seq * 1000;
            if (sim->interval_s > 0) /* round (seq-1)/n_urls, spread over the interval */
                r->checked_at_us = now + (int64_t)(((double)((seq - 1) / (uint64_t)n_urls) +
                                                    (double)((seq - 1) % (uint64_t)n_urls) / (double)n_urls) *
                                                   sim->interval_s * 1e6);
            r->latency_us = 1000 + (int64_t)(seq % 5000);
            r->dns_us = 10;
            r->connect_us = 100;
            r->tls_us = -1;
            r->ttfb_us = 500;
            /* with --raw the failures are spread over the endpoints (each then recovers: a state change) */
            uint64_t pick = sim->raw_set ? (seq * UINT64_C(2654435761)) >> 7 : seq;
            r->ok = sim->fail_every <= 0 || pick % (uint64_t)sim->fail_every != 0;
            r->status_code = r->ok ? 200 : 500;
            r->url = urls[seq % (uint64_t)n_urls];
            r->error = r->ok ? NULL : "HTTP status 500";
        }
        b.n_checks = (size_t)n;
        b.raw_marked = false;
        if (sim->raw_set) rawkeep_mark(&keep, &b);
        rc = be->write_batch(db, &b, err, sizeof err);
        if (rc == STORE_OK && sim->raw_set) rawkeep_commit(&keep, &b);
        if (rc != STORE_OK) {
            printf("write_batch: %s: %s\n", rc == STORE_RETRY ? "retry" : "fatal", err);
            break;
        }
        written += n;
    }
    double secs = (double)(cw_mono_us() - t0) / 1e6;
    if (rc == STORE_OK)
        printf("%s rows=%ld batch=%ld seconds=%.3f rows_per_s=%.0f\n", be->name, written, batch_size, secs,
               secs > 0 ? (double)written / secs : 0.0);
    free(b.checks);
    be->close(db);
    if (rc == STORE_OK && sim->raw_set && cfg->db_driver == CW_DB_SQLITE)
        printf("%s raw=%s rows=%ld urls=%ld kept=%llu db_bytes=%lld\n", be->name, config_raw_name(cfg->db_raw), written,
               n_urls, (unsigned long long)keep.kept, file_bytes(cfg->db_name));
    rawkeep_free(&keep);
    free(eps);
    free(urls);
    return exit_code(rc);
}

/* The fixed data set of `verify` (tests/e2e/test_databases.py knows it). Worker 77, boot id with the top
 * bit set (stored as a negative BIGINT with the same bits). */
static void verify_checks(struct store_check checks[4])
{
    static const char *const awkward = "line1\nline2\ttab \\ back 'quote' \"dq\" caf\xc3\xa9 bad\xff byte";
    memset(checks, 0, 4 * sizeof *checks);
    const uint64_t boot = 0x8000000000000001ULL;
    for (int i = 0; i < 4; i++) {
        struct cw_result *r = &checks[i].r;
        r->worker = 77;
        r->boot_id = boot;
        r->seq = (uint64_t)i + 1;
        r->checked_at_us = 1795579506123456LL + i * 1000000LL; /* 2026-11-25T04:05:06.123456Z + i s */
        r->lateness_us = 5;
        r->latency_us = 12345 + i;
        r->dns_us = 100;
        r->connect_us = 200;
        r->tls_us = -1;
        r->ttfb_us = 3000;
    }
    checks[0].r.url = "http://127.0.0.1:1/configured";
    checks[0].r.status_code = 200;
    checks[0].r.ok = true;
    checks[0].r.error = "";
    checks[1].r.url = "http://127.0.0.1:1/new-in-batch";
    checks[1].r.status_code = 500;
    checks[1].r.error = awkward;
    checks[2].r.url = "http://127.0.0.1:1/unnamed";
    checks[2].r.status_code = 0;
    checks[2].r.error = "Connection refused";
    checks[2].r.connect_us = -1;
    checks[2].r.ttfb_us = -1;
    checks[3].r.url = "http://127.0.0.1:1/configured";
    checks[3].r.status_code = 204;
    checks[3].r.ok = true;
}

/* The one alert of `verify`. */
static void verify_alert(struct store_alert *alert)
{
    memset(alert, 0, sizeof *alert);
    alert->a.alert_id = 0xfedcba9876543210ULL;
    alert->a.raised_at_us = 1795579507000000LL;
    alert->a.kind = CW_ALERT_DOWN;
    alert->a.email_state = CW_DELIVERY_PENDING;
    alert->a.webhook_state = CW_DELIVERY_NONE;
    alert->a.url = "http://127.0.0.1:1/alert-only";
    alert->a.name = "alert only";
    alert->a.message = "http://127.0.0.1:1/alert-only is DOWN";
}

/* Writes the data set twice (the second time with the alert's delivery state updated), then an empty batch
 * and a batch of only already-stored rows. Returns the first non-OK code, or STORE_OK. */
static int verify_write(const struct store_backend *be, struct store_db *db, char *err, size_t errlen)
{
    struct store_check checks[4];
    struct store_alert alerts[1];
    verify_checks(checks);
    verify_alert(&alerts[0]);
    struct store_batch b = {
        .checks = checks, .n_checks = 4, .cap_checks = 4, .alerts = alerts, .n_alerts = 1, .cap_alerts = 1
    };
    int rc = STORE_OK;
    for (int round = 0; round < 2 && rc == STORE_OK; round++) {
        if (round == 1) alerts[0].a.email_state = CW_DELIVERY_SENT; /* the same alert again: delivery state updated */
        rc = be->write_batch(db, &b, err, errlen);
    }
    /* An empty batch and a batch of only already-stored rows are fine too. */
    if (rc == STORE_OK) {
        struct store_batch empty = { 0 };
        rc = be->write_batch(db, &empty, err, errlen);
    }
    if (rc == STORE_OK) {
        b.n_alerts = 0;
        b.n_checks = 2;
        rc = be->write_batch(db, &b, err, errlen);
    }
    return rc;
}

static int run_verify(const struct store_backend *be, const struct cw_config *cfg)
{
    struct store_db *db = connect_db(be, cfg);
    char err[1024];
    struct cw_endpoint eps[2] = {
        { .url = "http://127.0.0.1:1/configured", .name = "configured one" },
        { .url = "http://127.0.0.1:1/unnamed" },
    };
    int rc = be->sync_endpoints(db, eps, 2, err, sizeof err);
    if (rc == STORE_OK) rc = be->sync_endpoints(db, eps, 2, err, sizeof err); /* again: nothing changes */
    if (rc != STORE_OK) {
        printf("sync_endpoints: %s\n", err);
        be->close(db);
        return exit_code(rc);
    }
    rc = verify_write(be, db, err, sizeof err);
    if (rc != STORE_OK) printf("write_batch: %s: %s\n", rc == STORE_RETRY ? "retry" : "fatal", err);
    else printf("verify: written\n");
    be->close(db);
    return exit_code(rc);
}

int main(int argc, char **argv)
{
    struct cw_config cfg;
    memset(&cfg, 0, sizeof cfg);
    const char *driver = "postgresql", *mode = NULL;
    long rows = 100000, batch = 500, n_urls = 5000;
    struct sim sim = { .fail_every = 10 };
    uint32_t worker = (uint32_t)(cw_boot_id() % 1000000) + 1000;
    cfg.db_activation = true;
    cfg.db_host = "127.0.0.1";
    cfg.db_name = "clockwerk";
    cfg.db_user = "clockwerk";
    cfg.db_password = getenv("CLOCKWERK_DB_PASSWORD");

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--driver") && v) driver = v, i++;
        else if (!strcmp(a, "--host") && v) cfg.db_host = (char *)v, i++;
        else if (!strcmp(a, "--port") && v) cfg.db_port = atoi(v), i++;
        else if (!strcmp(a, "--db") && v) cfg.db_name = (char *)v, i++;
        else if (!strcmp(a, "--user") && v) cfg.db_user = (char *)v, i++;
        else if (!strcmp(a, "--sslmode") && v) cfg.db_sslmode = (char *)v, i++;
        else if (!strcmp(a, "--rows") && v) rows = atol(v), i++;
        else if (!strcmp(a, "--batch") && v) batch = atol(v), i++;
        else if (!strcmp(a, "--urls") && v) n_urls = atol(v), i++;
        else if (!strcmp(a, "--worker") && v) worker = (uint32_t)strtoul(v, NULL, 10), i++;
        else if (!strcmp(a, "--interval") && v) sim.interval_s = atof(v), i++;
        else if (!strcmp(a, "--fail-pct") && v) sim.fail_every = atof(v) > 0 ? (long)(100.0 / atof(v) + 0.5) : 0, i++;
        else if (!strcmp(a, "--raw") && v) {
            sim.raw_set = true;
            if (!strcmp(v, "all")) cfg.db_raw = CW_RAW_ALL;
            else if (!strcmp(v, "failures")) cfg.db_raw = CW_RAW_FAILURES;
            else if (!strcmp(v, "none")) cfg.db_raw = CW_RAW_NONE;
            else usage();
            i++;
        }
        else if (a[0] != '-' && !mode) mode = a;
        else usage();
    }
    if (!mode || rows < 1 || batch < 1 || n_urls < 1) usage();
    log_init("store_bench", getenv("STORE_BENCH_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_WARN);

    const struct store_backend *be;
    if (!strcmp(driver, "postgresql") || !strcmp(driver, "postgres")) {
        be = &store_backend_postgres;
        cfg.db_driver = CW_DB_POSTGRES;
    } else if (!strcmp(driver, "mysql") || !strcmp(driver, "mariadb")) {
        be = &store_backend_mysql;
        cfg.db_driver = CW_DB_MYSQL;
    } else if (!strcmp(driver, "sqlite")) {
        be = &store_backend_sqlite;
        cfg.db_driver = CW_DB_SQLITE;
    } else {
        usage();
    }

    if (!strcmp(mode, "bench")) return run_bench(be, &cfg, rows, batch, worker, n_urls, &sim);
    if (!strcmp(mode, "verify")) return run_verify(be, &cfg);
    if (!strcmp(mode, "open")) {
        struct store_db *db = connect_db(be, &cfg);
        printf("open: ok\n");
        be->close(db);
        return 0;
    }
    usage();
}
