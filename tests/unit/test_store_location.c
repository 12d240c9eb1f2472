/* tests/unit/test_store_location.c — locations in the storer (issue 16, docs/schema.md "Locations"): a schema-5
 * SQLite database is migrated in place to 6 keeping every row and cell (location ''); checks carry their location
 * (a record without one takes the storer's own: store_batch_locate); the roll-ups are per endpoint, location and
 * period, a late row of an hour already folded is folded into it again; and the key check (config_key_admits, the
 * alerter's rule too) refuses a batch that carries a location its sender's key may not send for. */
#include "sqlite_fx_util.h"

#include <string.h>

#include "storer/batch.h"

#define H0 1796601600000000LL /* 2026-12-07 00:00:00 UTC */
#define HOUR 3600000000LL

static int setup(void **state)
{
    setenv("CLOCKWERK_ROLLUP_EVERY_MS", "1", 1); /* a fold at every batch */
    *state = sqlite_fx_new("cw-loc");
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    sqlite_fx_free(*state);
    return 0;
}

static struct cw_result check(uint64_t seq, int64_t at, bool ok, const char *location)
{
    return (struct cw_result){ .url = "http://a.example/",
                               .worker = 1,
                               .boot_id = 7,
                               .seq = seq,
                               .checked_at_us = at,
                               .status_code = ok ? 200 : 500,
                               .ok = ok,
                               .error = "HTTP 500",
                               .latency_us = 1000,
                               .dns_us = -1,
                               .connect_us = -1,
                               .tls_us = -1,
                               .ttfb_us = -1,
                               .location = location };
}

static void write_checks(struct sqlite_fx *f, const struct cw_result *r, size_t n, const char *own)
{
    struct store_batch b;
    char err[512];
    store_batch_init(&b);
    usleep(3000); /* past the fold period of 1 ms: this batch folds */
    for (size_t i = 0; i < n; i++) store_batch_add_check(&b, &r[i]);
    store_batch_locate(&b, 0, own);
    assert_int_equal(f->be->write_batch(f->db, &b, err, sizeof err), STORE_OK);
    store_batch_free(&b);
}

static long long cell(struct sqlite_fx *f, const char *table, const char *location, const char *col)
{
    return sqlite_fx_int(f, "SELECT %s FROM %s WHERE location = '%s'", col, table, location);
}

/* A database of schema 5 (the tables as release 5 made them, rows in them) is migrated in place. */
static void test_upgrade_from_v5(void **state)
{
    struct sqlite_fx *f = *state;
    struct cw_result old[2] = { check(1, H0, true, "x"), check(2, H0 + 1000, false, "x") };
    write_checks(f, old, 2, NULL);
    f->be->close(f->db);
    f->db = NULL;
    const char *down = "ALTER TABLE checks DROP COLUMN location;"
                       "CREATE TABLE h5 AS SELECT endpoint_id, period_start, checks, ok, failures, latency_hist,"
                       " dns_hist, connect_hist, tls_hist, ttfb_hist FROM checks_hourly;"
                       "DROP TABLE checks_hourly;"
                       "CREATE TABLE checks_hourly (endpoint_id INTEGER NOT NULL, period_start TEXT NOT NULL,"
                       " checks INTEGER NOT NULL, ok INTEGER NOT NULL, failures INTEGER NOT NULL,"
                       " latency_hist BLOB NOT NULL, dns_hist BLOB NOT NULL, connect_hist BLOB NOT NULL,"
                       " tls_hist BLOB NOT NULL, ttfb_hist BLOB NOT NULL,"
                       " PRIMARY KEY (endpoint_id, period_start)) WITHOUT ROWID;"
                       "INSERT INTO checks_hourly SELECT * FROM h5; DROP TABLE h5;"
                       "DELETE FROM schema_version WHERE version >= 6;";
    assert_int_equal(sqlite3_exec(f->peek, down, NULL, NULL, NULL), SQLITE_OK);
    sqlite_fx_reopen(f);
    assert_int_equal(sqlite_fx_int(f, "SELECT max(version) FROM schema_version"), 6);
    assert_int_equal(sqlite_fx_int(f, "SELECT count(*) FROM checks WHERE location = ''"), 2);
    assert_int_equal(cell(f, "checks_hourly", "", "checks"), 2);
    assert_int_equal(cell(f, "checks_hourly", "", "ok"), 1);
    assert_int_equal(cell(f, "checks_daily", "x", "checks"), 2); /* the daily table was not taken back */
    /* a new row of the same hour from location "fra": its own cell beside the old one */
    struct cw_result fra = check(3, H0 + 2000, true, "fra");
    write_checks(f, &fra, 1, "central");
    assert_int_equal(cell(f, "checks_hourly", "fra", "checks"), 1);
    assert_int_equal(cell(f, "checks_hourly", "", "checks"), 2);
}

/* Rows carry their location, "" takes the storer's own; cells per location; a late row is folded again into its
 * hour, already folded. */
static void test_locations_and_late_rows(void **state)
{
    struct sqlite_fx *f = *state;
    struct cw_result r[4] = { check(1, H0, true, "fra"), check(2, H0 + 10, false, "nyc"), check(3, H0 + 20, true, ""),
                              check(4, H0 + HOUR, true, "fra") };
    write_checks(f, r, 4, "central");
    assert_int_equal(sqlite_fx_int(f, "SELECT count(*) FROM checks WHERE location = 'central'"), 1);
    assert_int_equal(sqlite_fx_int(f, "SELECT count(*) FROM checks_hourly"), 4);
    assert_int_equal(cell(f, "checks_hourly", "nyc", "ok"), 0);
    assert_int_equal(cell(f, "checks_daily", "fra", "checks"), 2);
    assert_int_equal(sqlite_fx_int(f, "SELECT last_check_id FROM rollup_state"), 4);
    /* two rows of the first hour arrive late (a probe's buffer): its cells grow, nothing else */
    struct cw_result late[2] = { check(5, H0 + 30, false, "fra"), check(6, H0 + 40, true, "fra") };
    write_checks(f, late, 2, "central");
    assert_int_equal(sqlite_fx_int(f, "SELECT checks FROM checks_hourly WHERE location = 'fra' ORDER BY period_start"),
                     3);
    assert_int_equal(sqlite_fx_int(f, "SELECT ok FROM checks_hourly WHERE location = 'fra' ORDER BY period_start"), 2);
    assert_int_equal(cell(f, "checks_daily", "fra", "checks"), 4);
    assert_int_equal(sqlite_fx_int(f, "SELECT sum(checks) FROM checks_daily"), 6);
}

/* What the key of fra (a `locations` entry) refuses; *allowed and *claimed as config_key_admits sets them. */
static const char *refused(const struct cw_config *cfg, const char *key, const struct cw_result *r, size_t n,
                           const char **claimed)
{
    const char *allowed = NULL;
    *claimed = NULL;
    return config_key_admits(cfg, key, r, n, &allowed, claimed) ? NULL : allowed;
}

static void test_key_check(void **state)
{
    (void)state;
    struct cw_location locs[2] = { { .name = "fra", .key = "FRAKEY" }, { .name = "nyc", .key = "NYCKEY" } };
    struct cw_config cfg = { .location = "central", .locations = locs, .n_locations = 2 };
    struct cw_result r[2] = { check(1, H0, true, "fra"), check(2, H0, true, "nyc") };
    const char *bad = NULL;
    assert_null(refused(&cfg, "FRAKEY", r, 1, &bad));
    assert_string_equal(refused(&cfg, "FRAKEY", r, 2, &bad), "fra");
    assert_string_equal(bad, "nyc");
    assert_string_equal(refused(&cfg, "NYCKEY", r, 1, &bad), "nyc");
    assert_string_equal(bad, "fra");
    assert_null(refused(&cfg, "", r, 2, &bad)); /* ipc://, no CURVE */
    assert_null(refused(&cfg, NULL, r, 2, &bad));
    /* another admitted key (the central's own workers): only the central's own location, as at the alerter */
    assert_string_equal(refused(&cfg, "OWNKEY", r, 2, &bad), "central");
    assert_string_equal(bad, "fra");
    struct cw_result own[2] = { check(3, H0, true, "central"), check(4, H0, true, NULL) }; /* NULL: an old worker */
    assert_null(refused(&cfg, "OWNKEY", own, 2, &bad));
    assert_string_equal(refused(&cfg, "FRAKEY", &own[1], 1, &bad), "fra"); /* an old worker on a probe host */
    assert_string_equal(bad, "");
    assert_string_equal(config_key_location(&cfg, "NYCKEY"), "nyc");
    assert_string_equal(config_key_location(&cfg, "OWNKEY"), "central");
    assert_null(config_key_location(&cfg, ""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_upgrade_from_v5, setup, teardown),
        cmocka_unit_test_setup_teardown(test_locations_and_late_rows, setup, teardown),
        cmocka_unit_test(test_key_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
