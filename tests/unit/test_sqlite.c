/* tests/unit/test_sqlite.c — the SQLite backend (storer/sqlite.c) against a real database file in a private
 * temporary directory: migrate creates the schema once (twice is a no-op, also after reopening), a batch is
 * stored with the exact values (ISO-8601 checked_at, microseconds -> REAL milliseconds, NULL for phases not
 * reached, error NULL when ok, boot_id as the signed 64-bit bit pattern), the same batch written twice is
 * stored once, alerts are upserted (delivery states only move forward), endpoints are synced, a newer
 * schema_version and an unusable path are refused as STORE_FATAL. A last test measures rows per second. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "common/base/clock.h"
#include "common/config/config.h"
#include "common/wire/protocol.h"
#include "storer/backend.h"
#include "storer/batch.h"

struct fx {
    char dir[64];
    char path[128];
    struct cw_config cfg;
    const struct store_backend *be;
    struct store_db *db;
    sqlite3 *peek; /* a second connection, to read what was committed */
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/cw-sqlite-XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    snprintf(f->path, sizeof f->path, "%s/clockwerk.db", f->dir);
    f->cfg.db_driver = CW_DB_SQLITE;
    f->cfg.db_name = f->path;
    f->be = store_backend_for(CW_DB_SQLITE);
    char err[512];
    int rc = -99;
    f->db = f->be->open(&f->cfg, &rc, err, sizeof err);
    if (!f->db || rc != STORE_OK) {
        fprintf(stderr, "open: %s\n", err);
        return -1;
    }
    if (f->be->migrate(f->db, err, sizeof err) != STORE_OK) {
        fprintf(stderr, "migrate: %s\n", err);
        return -1;
    }
    if (sqlite3_open(f->path, &f->peek) != SQLITE_OK) return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    if (f->db) f->be->close(f->db);
    sqlite3_close(f->peek);
    const char *suffixes[] = { "", "-wal", "-shm" };
    char p[160];
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", f->path, suffixes[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* The first column of the first row as text ("NULL" for NULL, "" when there is no row). */
static void q(struct fx *f, const char *sql, char *out, size_t outlen)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(f->peek, sql, -1, &st, NULL), SQLITE_OK);
    out[0] = '\0';
    if (sqlite3_step(st) == SQLITE_ROW) {
        if (sqlite3_column_type(st, 0) == SQLITE_NULL) snprintf(out, outlen, "NULL");
        else snprintf(out, outlen, "%s", (const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
}

static long long qi(struct fx *f, const char *sql)
{
    char buf[128];
    q(f, sql, buf, sizeof buf);
    return strtoll(buf, NULL, 10);
}

static void test_migrate_twice(void **state)
{
    struct fx *f = *state;
    char err[512], buf[256];
    assert_int_equal(f->be->migrate(f->db, err, sizeof err), STORE_OK);
    f->be->close(f->db);
    int rc;
    f->db = f->be->open(&f->cfg, &rc, err, sizeof err);
    assert_non_null(f->db);
    assert_int_equal(f->be->migrate(f->db, err, sizeof err), STORE_OK);
    assert_int_equal(qi(f, "SELECT count(*) FROM schema_version"), STORE_SCHEMA_VERSION); /* one row a version */
    assert_int_equal(qi(f, "SELECT max(version) FROM schema_version"), STORE_SCHEMA_VERSION);
    q(f, "PRAGMA journal_mode", buf, sizeof buf);
    assert_string_equal(buf, "wal");
    assert_int_equal(qi(f, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name IN "
                           "('endpoints','checks','alerts','schema_version')"),
                     4);
    assert_int_equal(qi(f, "SELECT count(*) FROM sqlite_master WHERE name='checks_endpoint_time'"), 1);
}

static struct cw_result res(uint64_t seq, const char *url)
{
    struct cw_result r = {
        .worker = 2,
        .boot_id = 0xFFFFFFFFFFFFFFFEull,
        .seq = seq,
        .checked_at_us = 1795579506123456, /* 2026-11-25T04:05:06.123456Z */
        .lateness_us = 3,
        .latency_us = 12345,
        .dns_us = 1500,
        .connect_us = 250,
        .tls_us = 7001,
        .ttfb_us = 9999,
        .status_code = 200,
        .ok = true,
        .url = url,
        .error = "",
    };
    return r;
}

static void test_write_exact_values(void **state)
{
    struct fx *f = *state;
    char err[512], buf[256];
    struct store_batch b;
    store_batch_init(&b);
    struct cw_result ok = res(1, "http://127.0.0.1:8080/ok");
    struct cw_result bad = res(2, "http://127.0.0.1:9/closed");
    bad.ok = false;
    bad.status_code = 0;
    bad.latency_us = 800;
    bad.dns_us = 0;
    bad.connect_us = -1;
    bad.tls_us = -1;
    bad.ttfb_us = -1;
    bad.error = "Couldn't connect to server";
    struct cw_result okerr = res(3, "http://127.0.0.1:8080/ok");
    okerr.error = "ignored";
    store_batch_add_check(&b, &ok);
    store_batch_add_check(&b, &bad);
    store_batch_add_check(&b, &okerr);
    assert_int_equal(f->be->write_batch(f->db, &b, err, sizeof err), STORE_OK);

    assert_int_equal(qi(f, "SELECT count(*) FROM checks"), 3);
    assert_int_equal(qi(f, "SELECT count(*) FROM endpoints"), 2);
    q(f, "SELECT checked_at FROM checks WHERE seq=1", buf, sizeof buf);
    assert_string_equal(buf, "2026-11-25T04:05:06.123Z");
    q(f,
      "SELECT printf('%.3f|%.3f|%.3f|%.3f|%.3f', latency_ms, dns_ms, connect_ms, tls_ms, ttfb_ms) "
      "FROM checks WHERE seq=1",
      buf, sizeof buf);
    assert_string_equal(buf, "12.345|1.500|0.250|7.001|9.999");
    q(f, "SELECT typeof(latency_ms) || typeof(ok) || typeof(checked_at) || typeof(boot_id) FROM checks WHERE seq=1",
      buf, sizeof buf);
    assert_string_equal(buf, "realintegertextinteger");
    q(f, "SELECT error FROM checks WHERE seq=1", buf, sizeof buf);
    assert_string_equal(buf, "NULL");
    q(f, "SELECT error FROM checks WHERE seq=3", buf, sizeof buf);
    assert_string_equal(buf, "NULL"); /* error text on an ok result is not stored */
    q(f,
      "SELECT ok || '|' || status_code || '|' || latency_ms || '|' || dns_ms || '|' || "
      "ifnull(connect_ms,'N') || ifnull(tls_ms,'N') || ifnull(ttfb_ms,'N') || '|' || error "
      "FROM checks WHERE seq=2",
      buf, sizeof buf);
    assert_string_equal(buf, "0|0|0.8|0.0|NNN|Couldn't connect to server");
    assert_int_equal(qi(f, "SELECT boot_id FROM checks WHERE seq=1"), -2); /* 0xFFFFFFFFFFFFFFFE */
    assert_int_equal(qi(f, "SELECT worker FROM checks WHERE seq=1"), 2);
    q(f,
      "SELECT e.url || '|' || ifnull(e.name, 'NULL') FROM checks c JOIN endpoints e ON e.id = c.endpoint_id "
      "WHERE c.seq=2",
      buf, sizeof buf);
    assert_string_equal(buf, "http://127.0.0.1:9/closed|NULL");

    /* the same batch again: stored once */
    assert_int_equal(f->be->write_batch(f->db, &b, err, sizeof err), STORE_OK);
    assert_int_equal(qi(f, "SELECT count(*) FROM checks"), 3);
    /* and after reopening (an empty endpoint cache) */
    f->be->close(f->db);
    int rc;
    f->db = f->be->open(&f->cfg, &rc, err, sizeof err);
    assert_non_null(f->db);
    assert_int_equal(f->be->migrate(f->db, err, sizeof err), STORE_OK);
    assert_int_equal(f->be->write_batch(f->db, &b, err, sizeof err), STORE_OK);
    assert_int_equal(qi(f, "SELECT count(*) FROM checks"), 3);
    assert_int_equal(qi(f, "SELECT count(*) FROM endpoints"), 2);
    store_batch_free(&b);
}

static void test_sync_endpoints(void **state)
{
    struct fx *f = *state;
    char err[512], buf[256];
    struct cw_endpoint eps[2] = { { .url = "http://127.0.0.1/a", .name = "alpha" }, { .url = "http://127.0.0.1/b" } };
    assert_int_equal(f->be->sync_endpoints(f->db, eps, 2, err, sizeof err), STORE_OK);
    assert_int_equal(qi(f, "SELECT count(*) FROM endpoints"), 2);
    q(f, "SELECT name FROM endpoints WHERE url='http://127.0.0.1/a'", buf, sizeof buf);
    assert_string_equal(buf, "alpha");
    long long id_a = qi(f, "SELECT id FROM endpoints WHERE url='http://127.0.0.1/a'");
    eps[0].name = "renamed";
    eps[1].name = "bravo";
    assert_int_equal(f->be->sync_endpoints(f->db, eps, 2, err, sizeof err), STORE_OK);
    assert_int_equal(qi(f, "SELECT count(*) FROM endpoints"), 2);
    assert_int_equal(qi(f, "SELECT id FROM endpoints WHERE url='http://127.0.0.1/a'"), id_a);
    q(f, "SELECT group_concat(name, ',') FROM (SELECT name FROM endpoints ORDER BY url)", buf, sizeof buf);
    assert_string_equal(buf, "renamed,bravo");
    /* a result for a synced endpoint uses its id */
    struct store_batch b;
    store_batch_init(&b);
    struct cw_result r = res(1, "http://127.0.0.1/a");
    store_batch_add_check(&b, &r);
    assert_int_equal(f->be->write_batch(f->db, &b, err, sizeof err), STORE_OK);
    assert_int_equal(qi(f, "SELECT endpoint_id FROM checks"), id_a);
    store_batch_free(&b);
}

static void test_alert_upsert(void **state)
{
    struct fx *f = *state;
    char err[512], buf[256];
    struct store_batch b;
    store_batch_init(&b);
    struct cw_alert a = { .alert_id = 0x8000000000000001ull,
                          .raised_at_us = 1795579506999000,
                          .kind = CW_ALERT_DOWN,
                          .email_state = CW_DELIVERY_PENDING,
                          .webhook_state = CW_DELIVERY_PENDING,
                          .url = "http://127.0.0.1/x",
                          .name = "",
                          .message = "x is down: HTTP 500" };
    store_batch_add_alert(&b, &a);
    assert_int_equal(f->be->write_batch(f->db, &b, err, sizeof err), STORE_OK);
    q(f, "SELECT raised_at || '|' || kind || '|' || message || '|' || email_state || '|' || webhook_state FROM alerts",
      buf, sizeof buf);
    assert_string_equal(buf, "2026-11-25T04:05:06.999Z|down|x is down: HTTP 500|pending|pending");
    assert_int_equal(qi(f, "SELECT alert_id FROM alerts"), INT64_MIN + 1);

    /* the delivery states change: same alert_id, updated in place */
    store_batch_clear(&b);
    a.email_state = CW_DELIVERY_SENT;
    store_batch_add_alert(&b, &a);
    assert_int_equal(f->be->write_batch(f->db, &b, err, sizeof err), STORE_OK);
    /* an older copy replayed afterwards does not undo a final state */
    store_batch_clear(&b);
    a.email_state = CW_DELIVERY_PENDING;
    a.webhook_state = CW_DELIVERY_FAILED;
    store_batch_add_alert(&b, &a);
    assert_int_equal(f->be->write_batch(f->db, &b, err, sizeof err), STORE_OK);
    assert_int_equal(qi(f, "SELECT count(*) FROM alerts"), 1);
    q(f, "SELECT email_state || '|' || webhook_state FROM alerts", buf, sizeof buf);
    assert_string_equal(buf, "sent|failed");
    q(f, "SELECT e.url FROM alerts a JOIN endpoints e ON e.id = a.endpoint_id", buf, sizeof buf);
    assert_string_equal(buf, "http://127.0.0.1/x");
    store_batch_free(&b);
}

/* Closes the backend's handle, turns the database back into an older schema with `downgrade` (SQL run on the peek
 * connection) and adds an endpoint http://old.example/ with one check (seq 1), then opens and migrates again. */
static void downgrade_and_migrate(struct fx *f, const char *downgrade)
{
    char err[512], sql[1024];
    f->be->close(f->db);
    f->db = NULL;
    snprintf(sql, sizeof sql,
             "%s"
             "INSERT INTO endpoints(url) VALUES ('http://old.example/');"
             "INSERT INTO checks(endpoint_id, checked_at, status_code, ok, worker, boot_id, seq) "
             "VALUES (1, '2026-01-01T00:00:00.000Z', 200, 1, 0, 1, 1)",
             downgrade);
    assert_int_equal(sqlite3_exec(f->peek, sql, NULL, NULL, NULL), SQLITE_OK);
    int rc;
    f->db = f->be->open(&f->cfg, &rc, err, sizeof err);
    assert_non_null(f->db);
    assert_int_equal(f->be->migrate(f->db, err, sizeof err), STORE_OK);
}

/* A database of schema version 1 (as the first release made it, with a check in it) is upgraded in place:
 * the old row keeps a NULL tls_expires_at, a new https result stores its certificate's expiry. */
static void test_upgrade_from_v1(void **state)
{
    struct fx *f = *state;
    char err[512], buf[256];
    downgrade_and_migrate(f, "ALTER TABLE checks DROP COLUMN tls_expires_at;"
                             "ALTER TABLE checks DROP COLUMN details;"
                             "ALTER TABLE endpoints DROP COLUMN type;"
                             "DELETE FROM schema_version WHERE version >= 2;");
    assert_int_equal(qi(f, "SELECT max(version) FROM schema_version"), STORE_SCHEMA_VERSION);
    assert_int_equal(qi(f, "SELECT count(*) FROM pragma_table_info('checks') WHERE name = 'tls_expires_at'"), 1);
    q(f, "SELECT tls_expires_at FROM checks WHERE seq = 1", buf, sizeof buf);
    assert_string_equal(buf, "NULL");

    struct store_batch b;
    store_batch_init(&b);
    struct cw_result r = res(2, "https://127.0.0.1:8443/ok");
    r.tls_expires_at_us = 1798761600000000LL; /* 2027-01-01T00:00:00Z */
    store_batch_add_check(&b, &r);
    struct cw_result plain = res(3, "http://old.example/");
    store_batch_add_check(&b, &plain);
    assert_int_equal(f->be->write_batch(f->db, &b, err, sizeof err), STORE_OK);
    q(f, "SELECT tls_expires_at FROM checks WHERE seq = 2", buf, sizeof buf);
    assert_string_equal(buf, "2027-01-01T00:00:00.000Z");
    q(f, "SELECT tls_expires_at FROM checks WHERE seq = 3", buf, sizeof buf);
    assert_string_equal(buf, "NULL");
    store_batch_free(&b);

    /* and once more: nothing left to do */
    int rc;
    f->be->close(f->db);
    f->db = f->be->open(&f->cfg, &rc, err, sizeof err);
    assert_non_null(f->db);
    assert_int_equal(f->be->migrate(f->db, err, sizeof err), STORE_OK);
    assert_int_equal(qi(f, "SELECT count(*) FROM schema_version"), STORE_SCHEMA_VERSION);
}

/* Schema 4 (docs/schema.md): a database of version 3 with a check in it is upgraded in place (the old endpoint is
 * an http one, the old check has no details); a result of another kind sets the type of the endpoint it creates
 * and stores its figures in checks.details as sent; the configuration's type wins at endpoint sync. */
static void test_upgrade_from_v3_kinds(void **state)
{
    struct fx *f = *state;
    char err[512], buf[512];
    downgrade_and_migrate(f, "ALTER TABLE checks DROP COLUMN details;"
                             "ALTER TABLE endpoints DROP COLUMN type;"
                             "DELETE FROM schema_version WHERE version >= 4;");
    assert_int_equal(qi(f, "SELECT max(version) FROM schema_version"), STORE_SCHEMA_VERSION);
    q(f, "SELECT type FROM endpoints WHERE url = 'http://old.example/'", buf, sizeof buf);
    assert_string_equal(buf, "http");
    q(f, "SELECT details FROM checks WHERE seq = 1", buf, sizeof buf);
    assert_string_equal(buf, "NULL");

    struct store_batch b;
    store_batch_init(&b);
    struct cw_result dns = res(2, "dns://127.0.0.1:5353/example.test?type=MX");
    dns.kind = CW_CHECK_DNS;
    dns.figures = "{\"rcode\":\"NOERROR\",\"answers\":[\"10 mx.example.test.\"]}";
    store_batch_add_check(&b, &dns);
    struct cw_result icmp = res(3, "icmp://127.0.0.1");
    icmp.kind = CW_CHECK_ICMP, icmp.ok = false, icmp.error = "100% packet loss", icmp.latency_us = -1;
    icmp.figures = "{\"sent\":3,\"received\":0,\"loss_pct\":100}";
    store_batch_add_check(&b, &icmp);
    struct cw_result plain = res(4, "http://old.example/");
    store_batch_add_check(&b, &plain);
    assert_int_equal(f->be->write_batch(f->db, &b, err, sizeof err), STORE_OK);
    q(f, "SELECT type FROM endpoints WHERE url = 'dns://127.0.0.1:5353/example.test?type=MX'", buf, sizeof buf);
    assert_string_equal(buf, "dns");
    q(f, "SELECT type FROM endpoints WHERE url = 'icmp://127.0.0.1'", buf, sizeof buf);
    assert_string_equal(buf, "icmp");
    q(f, "SELECT details FROM checks WHERE seq = 2", buf, sizeof buf);
    assert_string_equal(buf, dns.figures);
    q(f, "SELECT json_extract(details, '$.rcode') FROM checks WHERE seq = 2", buf, sizeof buf);
    assert_string_equal(buf, "NOERROR");
    q(f,
      "SELECT json_extract(details, '$.loss_pct') || ' ' || coalesce(latency_ms, 'NULL') FROM checks "
      "WHERE seq = 3",
      buf, sizeof buf);
    assert_string_equal(buf, "100 NULL");
    q(f, "SELECT details FROM checks WHERE seq = 4", buf, sizeof buf);
    assert_string_equal(buf, "NULL");
    store_batch_free(&b);

    struct cw_endpoint eps[2] = { { .url = "tcp://127.0.0.1:25", .name = "smtp", .type = CW_CHECK_TCP },
                                  { .url = "icmp://127.0.0.1", .type = CW_CHECK_ICMP } };
    assert_int_equal(f->be->sync_endpoints(f->db, eps, 2, err, sizeof err), STORE_OK);
    q(f, "SELECT group_concat(type, ',') FROM (SELECT type FROM endpoints ORDER BY url)", buf, sizeof buf);
    assert_string_equal(buf, "dns,http,icmp,tcp");
}

static void test_newer_schema_refused(void **state)
{
    struct fx *f = *state;
    char err[512];
    assert_int_equal(sqlite3_exec(f->peek, "INSERT INTO schema_version VALUES (99)", NULL, NULL, NULL), SQLITE_OK);
    f->be->close(f->db);
    int rc;
    f->db = f->be->open(&f->cfg, &rc, err, sizeof err);
    assert_non_null(f->db);
    err[0] = '\0';
    assert_int_equal(f->be->migrate(f->db, err, sizeof err), STORE_FATAL);
    assert_non_null(strstr(err, "newer"));
    assert_non_null(strstr(err, f->path));
}

static void test_bad_path_fatal(void **state)
{
    struct fx *f = *state;
    char err[512], path[200];
    snprintf(path, sizeof path, "%s/no/such/dir/x.db", f->dir);
    struct cw_config cfg = { .db_driver = CW_DB_SQLITE, .db_name = path };
    int rc = 0;
    assert_null(f->be->open(&cfg, &rc, err, sizeof err));
    assert_int_equal(rc, STORE_FATAL);
    assert_non_null(strstr(err, path));
    /* a file that is not a database */
    snprintf(path, sizeof path, "%s/junk.db", f->dir);
    FILE *j = fopen(path, "w");
    assert_non_null(j);
    fputs("this is not an SQLite database, just some text that is long enough for a header ......", j);
    fclose(j);
    assert_null(f->be->open(&cfg, &rc, err, sizeof err));
    assert_int_equal(rc, STORE_FATAL);
    unlink(path);
}

static void test_speed(void **state)
{
    struct fx *f = *state;
    char err[512];
    struct store_batch b;
    store_batch_init(&b);
    const int batches = 400, per = 500;
    char url[64];
    int64_t t0 = cw_mono_us();
    uint64_t seq = 1;
    for (int k = 0; k < batches; k++) {
        store_batch_clear(&b);
        for (int i = 0; i < per; i++, seq++) {
            snprintf(url, sizeof url, "http://127.0.0.1:8080/endpoint/%d", (int)(seq % 5000));
            struct cw_result r = res(seq, url);
            r.checked_at_us += (int64_t)seq * 1000;
            if (seq % 10 == 0) {
                r.ok = false;
                r.error = "HTTP 500";
            }
            store_batch_add_check(&b, &r);
        }
        assert_int_equal(f->be->write_batch(f->db, &b, err, sizeof err), STORE_OK);
    }
    int64_t us = cw_mono_us() - t0;
    long long rows = (long long)batches * per;
    assert_int_equal(qi(f, "SELECT count(*) FROM checks"), rows);
    printf("sqlite: %lld rows in %.3f s = %.0f rows/s (batches of %d, 5000 endpoints, WAL, synchronous=NORMAL)\n", rows,
           (double)us / 1e6, (double)rows * 1e6 / (double)us, per);
    store_batch_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_migrate_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_exact_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_endpoints, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alert_upsert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_from_v1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_from_v3_kinds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_path_fatal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_speed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
