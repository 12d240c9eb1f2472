/* tests/unit/test_store_schema5.c — schema 5 in the SQLite backend (docs/schema.md): a database of schema 4 is
 * migrated in place (old rows: not in maintenance, muted none, no incident, no deliveries); checks.maintenance is
 * written as marked; an alert's muted, incident_id and deliveries are stored, the deliveries list only moves
 * forward (a replayed older copy with more pending channels does not undo a newer one); and the storer's marking
 * (storer/maint.h) follows the configuration's windows at each check's checked_at, by endpoint URL. */
#include "sqlite_fx_util.h"

#include <string.h>

#include "common/config/maintenance.h"
#include "storer/batch.h"
#include "storer/maint.h"

#define T0 1796601600000000LL /* 2026-12-07 00:00:00 UTC */

static int setup(void **state)
{
    *state = sqlite_fx_new("cw-schema5");
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    sqlite_fx_free(*state);
    return 0;
}

static void text(struct sqlite_fx *f, const char *sql, char *out, size_t len)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(f->peek, sql, -1, &st, NULL), SQLITE_OK);
    out[0] = '\0';
    if (sqlite3_step(st) == SQLITE_ROW)
        snprintf(out, len, "%s", sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "NULL");
    sqlite3_finalize(st);
}

static struct cw_result check(uint64_t seq, const char *url, int64_t at)
{
    return (struct cw_result){ .url = url,
                               .worker = 1,
                               .boot_id = 7,
                               .seq = seq,
                               .checked_at_us = at,
                               .status_code = 200,
                               .ok = true,
                               .latency_us = 1000,
                               .dns_us = -1,
                               .connect_us = -1,
                               .tls_us = -1,
                               .ttfb_us = -1 };
}

static void test_upgrade_from_v4(void **state)
{
    struct sqlite_fx *f = *state;
    f->be->close(f->db);
    f->db = NULL;
    const char *down = "DROP INDEX checks_maintenance; ALTER TABLE checks DROP COLUMN maintenance;"
                       "ALTER TABLE alerts DROP COLUMN muted;"
                       "ALTER TABLE alerts DROP COLUMN incident_id; ALTER TABLE alerts DROP COLUMN deliveries;"
                       "DELETE FROM schema_version WHERE version >= 5;"
                       "INSERT INTO endpoints(url) VALUES ('http://old.example/');"
                       "INSERT INTO checks(endpoint_id, checked_at, status_code, ok, worker, boot_id, seq) "
                       "VALUES (1, '2026-01-01T00:00:00.000Z', 200, 1, 0, 1, 1);"
                       "INSERT INTO alerts(alert_id, endpoint_id, raised_at, kind, message, email_state, "
                       "webhook_state) VALUES (5, 1, '2026-01-01T00:00:00.000Z', 'down', 'm', 'sent', 'none')";
    assert_int_equal(sqlite3_exec(f->peek, down, NULL, NULL, NULL), SQLITE_OK);
    sqlite_fx_reopen(f);
    assert_int_equal(sqlite_fx_int(f, "SELECT max(version) FROM schema_version"), STORE_SCHEMA_VERSION);
    assert_int_equal(sqlite_fx_int(f, "SELECT maintenance FROM checks WHERE seq = 1"), 0);
    char buf[256];
    text(f, "SELECT muted || '|' || deliveries || '|' || coalesce(incident_id, 'NULL') FROM alerts", buf, sizeof buf);
    assert_string_equal(buf, "none||NULL");
}

static void test_write_columns(void **state)
{
    struct sqlite_fx *f = *state;
    char err[512], buf[256];
    struct store_batch b;
    store_batch_init(&b);
    struct cw_result in = check(1, "http://a.example/", T0), out = check(2, "http://a.example/", T0 + 1000);
    store_batch_add_check(&b, &in);
    store_batch_add_check(&b, &out);
    b.checks[0].maintenance = true;
    struct cw_alert a = { .alert_id = 0x8000000000000001ULL,
                          .incident_id = 0x8000000000000001ULL,
                          .raised_at_us = T0,
                          .kind = CW_ALERT_DOWN,
                          .email_state = CW_DELIVERY_PENDING,
                          .webhook_state = CW_DELIVERY_MUTED,
                          .muted = CW_MUTE_NONE,
                          .url = "http://a.example/",
                          .name = "a",
                          .message = "a is DOWN",
                          .deliveries = "mail=pending,pd=pending" };
    store_batch_add_alert(&b, &a);
    assert_int_equal(f->be->write_batch(f->db, &b, err, sizeof err), STORE_OK);
    text(f, "SELECT group_concat(maintenance, ',') FROM (SELECT maintenance FROM checks ORDER BY seq)", buf,
         sizeof buf);
    assert_string_equal(buf, "1,0");
    text(f, "SELECT deliveries || '|' || incident_id || '|' || muted || '|' || webhook_state FROM alerts", buf,
         sizeof buf);
    assert_string_equal(buf, "mail=pending,pd=pending|-9223372036854775807|none|muted");

    /* newer: one channel sent; then an older copy replayed: the newer list stays */
    store_batch_clear(&b);
    a.deliveries = "mail=pending,pd=sent";
    store_batch_add_alert(&b, &a);
    a.deliveries = "mail=failed,pd=sent";
    a.email_state = CW_DELIVERY_FAILED;
    store_batch_add_alert(&b, &a);
    a.deliveries = "mail=pending,pd=pending";
    a.email_state = CW_DELIVERY_PENDING;
    store_batch_add_alert(&b, &a);
    assert_int_equal(f->be->write_batch(f->db, &b, err, sizeof err), STORE_OK);
    text(f, "SELECT deliveries || '|' || email_state FROM alerts", buf, sizeof buf);
    assert_string_equal(buf, "mail=failed,pd=sent|failed");

    /* a muted alert: recorded when raised (pending, not routed yet), then decided muted; an older copy replayed
     * after that changes nothing */
    store_batch_clear(&b);
    struct cw_alert raised = { .alert_id = 9,
                               .raised_at_us = T0,
                               .kind = CW_ALERT_DOWN,
                               .webhook_state = CW_DELIVERY_PENDING,
                               .url = "http://b/",
                               .name = "",
                               .message = "b is DOWN",
                               .deliveries = "" };
    store_batch_add_alert(&b, &raised);
    struct cw_alert m = { .alert_id = 9,
                          .raised_at_us = T0,
                          .kind = CW_ALERT_DOWN,
                          .email_state = CW_DELIVERY_MUTED,
                          .webhook_state = CW_DELIVERY_MUTED,
                          .muted = CW_MUTE_MAINTENANCE,
                          .url = "http://b/",
                          .name = "",
                          .message = "b is DOWN",
                          .deliveries = "mail=muted" };
    store_batch_add_alert(&b, &m);
    store_batch_add_alert(&b, &raised);
    assert_int_equal(f->be->write_batch(f->db, &b, err, sizeof err), STORE_OK);
    text(f, "SELECT muted || '|' || deliveries || '|' || coalesce(incident_id, 'NULL') FROM alerts WHERE alert_id = 9",
         buf, sizeof buf);
    assert_string_equal(buf, "maintenance|mail=muted|NULL");
    text(f, "SELECT email_state || '|' || webhook_state FROM alerts WHERE alert_id = 9", buf, sizeof buf);
    assert_string_equal(buf, "muted|muted");

    /* routed: '' when raised, then the list of its channels, all pending: taken */
    store_batch_clear(&b);
    raised.alert_id = 10;
    store_batch_add_alert(&b, &raised);
    raised.deliveries = "mail=pending,pd=pending";
    raised.incident_id = 10;
    store_batch_add_alert(&b, &raised);
    assert_int_equal(f->be->write_batch(f->db, &b, err, sizeof err), STORE_OK);
    text(f, "SELECT deliveries || '|' || incident_id FROM alerts WHERE alert_id = 10", buf, sizeof buf);
    assert_string_equal(buf, "mail=pending,pd=pending|10");
    store_batch_free(&b);
}

static void test_storer_marks(void **state)
{
    (void)state;
    struct cw_endpoint eps[2] = { { .url = "http://a.example/", .name = "a" },
                                  { .url = "http://b.example/", .name = "b", .group = "db" } };
    size_t only_a[] = { 0 };
    char *db[] = { "db" };
    struct cw_maintenance ms[2] = {
        { .name = "upgrade", .endpoints = only_a, .n_endpoints = 1, .start_us = T0, .duration = 60 },
        { .name = "db-night", .groups = db, .n_groups = 1, .start_us = T0 + 120000000LL, .duration = 60 },
    };
    struct cw_config cfg = { .endpoints = eps, .n_endpoints = 2, .maintenance = ms, .n_maintenance = 2 };
    struct storer_maint m = { 0 };
    storer_maint_set(&m, &cfg);
    struct store_batch b;
    store_batch_init(&b);
    const int64_t at[] = { T0 - 1, T0, T0 + 59999999, T0 + 60000000, T0 + 120000000 };
    for (size_t i = 0; i < 5; i++) {
        struct cw_result r = check(i + 1, "http://a.example/", at[i]);
        store_batch_add_check(&b, &r);
    }
    struct cw_result rb = check(9, "http://b.example/", T0 + 130000000), gone = check(10, "http://gone/", T0);
    store_batch_add_check(&b, &rb);
    store_batch_add_check(&b, &gone);
    storer_maint_mark(&m, &b, 0);
    const bool want[] = { false, true, true, false, false, true, false };
    for (size_t i = 0; i < 7; i++) assert_int_equal(b.checks[i].maintenance, want[i]);
    /* a window over everything covers an URL the configuration no longer has */
    struct cw_maintenance all = { .name = "all", .start_us = T0, .duration = 1 };
    cfg.maintenance = &all;
    cfg.n_maintenance = 1;
    storer_maint_set(&m, &cfg);
    storer_maint_mark(&m, &b, 6);
    assert_true(b.checks[6].maintenance);
    assert_true(b.checks[0].maintenance == false);
    storer_maint_free(&m);
    store_batch_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_upgrade_from_v4, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_columns, setup, teardown),
        cmocka_unit_test(test_storer_marks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
