/* tests/unit/test_web_fixes.c — fixes of clockwerk-web after review (issue 13): a token in an endpoint's query
 * never reaches the snapshot's incident messages (web/history_read.c); the live state seeded from the snapshot
 * after a restart (web/history_wait.c); the one uptime and latency formatter; the alerts read from a lower bound
 * (storer/reader.h); the snapshot's web_history_refresh bound. Real SQLite files written through the storer's
 * backend where the database is involved. */
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
#include "storer/backend.h"
#include "storer/reader.h"
#include "web/api_json.h"
#include "web/badge.h"
#include "web/history_read.h"
#include "web/page_common.h"
#include "web/route.h"
#include "web/history_thread.h"
#include "web/history_wait.h"
#include "web/model.h"
#include <poll.h>
#include "sqlite_fx_util.h"

#define NOW_MS 1796342400000LL /* 2026-12-04T00:00:00Z */

static int setup(void **state) { return (*state = sqlite_fx_new("cw-webfix")) ? 0 : -1; }
static int teardown(void **state) { return sqlite_fx_free(*state), 0; }

static void exec_sql(struct sqlite_fx *f, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(f->peek, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) fail_msg("%s: %s", sql, msg ? msg : "?");
}

/* A reader of the fixture's database with cfg (its driver and file set here). */
static struct store_reader *open_reader(struct sqlite_fx *f, struct cw_config *cfg)
{
    cfg->db_driver = CW_DB_SQLITE;
    cfg->db_name = f->path;
    char err[512] = "";
    int rc;
    struct store_reader *r = store_read_backend_for(CW_DB_SQLITE)->open(cfg, &rc, err, sizeof err);
    if (!r) fail_msg("cannot open %s: %s", f->path, err);
    return r;
}

static struct web_history *read_snapshot(struct sqlite_fx *f, struct cw_endpoint *eps, size_t n, int64_t now_ms)
{
    struct cw_config cfg = { .endpoints = eps, .n_endpoints = n };
    const struct store_read_backend *b = store_read_backend_for(CW_DB_SQLITE);
    struct store_reader *r = open_reader(f, &cfg);
    char err[512] = "";
    int rc;
    struct web_history *h = web_history_read(b, r, &cfg, now_ms, NULL, NULL, &rc, err, sizeof err);
    b->close(r);
    assert_int_equal(rc, STORE_OK);
    assert_non_null(h);
    return h;
}

/* Item 1: the alerter's message names the URL masked by cw_mask_url (credentials hidden, the query NOT): the
 * snapshot keeps it with the query as "?***", as the web labels the endpoint. */
static void test_incident_message_hides_the_query(void **state)
{
    struct sqlite_fx *f = *state;
    exec_sql(f, "INSERT INTO endpoints (url) VALUES ('http://u:pw@q.example/x?token=SECRET')");
    exec_sql(f, "INSERT INTO alerts (alert_id, endpoint_id, raised_at, kind, message, email_state, webhook_state)"
                " SELECT 1, id, '2026-12-03T10:00:00.000Z', 'down', 'Q (http://***@q.example/x?token=SECRET) is DOWN"
                " since 2026-12-03T09:59:00Z: 3 checks failed, last: HTTP 500', 'none', 'none' FROM endpoints");
    struct cw_endpoint eps[] = { { .url = "http://u:pw@q.example/x?token=SECRET", .name = "Q" } };
    struct web_history *h = read_snapshot(f, eps, 1, NOW_MS);
    assert_int_equal(h->n, 1);
    assert_int_equal(web_ep_more(&h->ep[0])->n_incidents, 1);
    const char *msg = web_ep_more(&h->ep[0])->incidents[0].message;
    assert_null(strstr(msg, "SECRET"));
    assert_null(strstr(msg, "pw"));
    assert_string_equal(msg, "Q (http://***@q.example/x?***) is DOWN since 2026-12-03T09:59:00Z: 3 checks failed,"
                             " last: HTTP 500");
    web_history_free(h);
}

/* Item 2: a detail that cannot be read (the database is not there) says a fixed sentence, never the database's
 * error (a path, a postgresql://user@host/db): that goes to the web's log only. */
static void test_failed_detail_hides_the_database(void **state)
{
    (void)state;
    struct cw_endpoint eps[] = { { .url = "http://a.example/", .name = "A" } };
    struct cw_config cfg = { .db_driver = CW_DB_SQLITE,
                             .db_name = "/nonexistent-cw-webfix/secret-place.db",
                             .endpoints = eps,
                             .n_endpoints = 1,
                             .web_history_refresh = 3600 };
    char err[512];
    struct web_history_thread *t = web_history_start(&cfg, err, sizeof err);
    assert_non_null(t);
    assert_true(web_history_ask_detail(t, "http://a.example/"));
    struct web_history_results res = { 0 };
    for (int i = 0; i < 100 && res.n_answers == 0; i++) {
        web_history_results_free(&res);
        struct pollfd p = { .fd = web_history_fd(t), .events = POLLIN };
        (void)poll(&p, 1, 100);
        web_history_take(t, &res);
    }
    assert_int_equal(res.n_answers, 1);
    const struct web_detail *d = res.answers[0].detail;
    assert_non_null(d->error);
    assert_null(strstr(d->error, "secret-place"));
    assert_string_equal(d->error, WEB_DETAIL_FAILED);
    web_history_results_free(&res);
    web_history_stop(t);
}

/* A `down` (or `up`) alert from the bus for url, its state change at since (the alerter's message format). */
static void bus_alert(struct web_model *m, const char *url, bool down, int64_t since_ms)
{
    char msg[200], iso[40];
    cw_format_iso8601(since_ms * 1000, iso, sizeof iso);
    snprintf(msg, sizeof msg, "%s is %s since %s: 3 checks failed, last: HTTP 500", url, down ? "DOWN" : "UP again",
             iso);
    struct cw_alert a = { .alert_id = (uint64_t)since_ms,
                          .raised_at_us = (since_ms + 5000) * 1000,
                          .kind = down ? CW_ALERT_DOWN : CW_ALERT_UP,
                          .url = url,
                          .name = "",
                          .message = msg };
    struct cw_buf b = { 0 };
    assert_int_equal(proto_alert_encode(&b, &a), 0);
    web_live_apply(m, CW_MSG_ALERT, b.data, b.len, 0);
    cw_buf_free(&b);
}

/* Item 3: after a restart the live state starts empty; the snapshot's state (the last down/up alert) is the
 * state until the bus says newer: DOWN, not "failing" from the checks. An older snapshot changes nothing. */
static void test_attach_seeds_the_state(void **state)
{
    (void)state;
    struct cw_endpoint eps[] = { { .url = "http://a.example/" }, { .url = "http://b.example/" } };
    struct cw_config cfg = { .endpoints = eps, .n_endpoints = 2 };
    struct web_model m;
    char err[256];
    assert_int_equal(web_ids_build(&m, &cfg, err, sizeof err), 0);
    struct web_endpoint *a = web_model_by_url(&m, "http://a.example/"), *b = web_model_by_url(&m, "http://b.example/");
    a->live.state = WEB_STATE_FAILING;                        /* what the checks since the restart said */
    bus_alert(&m, "http://b.example/", true, NOW_MS - 60000); /* b: DOWN from the bus, newer than the snapshot */
    struct web_ep_more more[2] = { { .state_since_ms = NOW_MS - 3600000 }, { .state_since_ms = NOW_MS - 120000 } };
    struct web_ep_history ep[2] = { { .state_known = true, .down = true, .more = &more[0] },
                                    { .state_known = true, .down = false, .more = &more[1] } };
    uint32_t cfg_index[2] = { 0, 1 }; /* a, b */
    struct web_history h = { .read_at_ms = NOW_MS, .ep = ep, .cfg_index = cfg_index, .n = 2 };
    m.history = &h;
    web_history_attach(&m);
    assert_int_equal(a->live.state, WEB_STATE_DOWN);
    assert_int_equal(a->live.state_since_us, (NOW_MS - 3600000) * 1000);
    assert_int_equal(b->live.state, WEB_STATE_DOWN);
    more[1].state_since_ms = NOW_MS - 30000; /* a newer snapshot: the web missed b's `up` */
    web_history_attach(&m);
    assert_int_equal(b->live.state, WEB_STATE_UP);
    bus_alert(&m, "http://a.example/", false, NOW_MS - 1000); /* the bus's `up` is newer than the snapshot's DOWN */
    web_history_attach(&m);
    assert_int_equal(a->live.state, WEB_STATE_UP);
    m.history = NULL;
    web_history_attach(&m);
    web_ids_free(&m);
}

static void insert_alert(struct sqlite_fx *f, int id, const char *kind, int64_t at_ms)
{
    char iso[40], sql[400];
    cw_format_iso8601(at_ms * 1000, iso, sizeof iso);
    snprintf(sql, sizeof sql,
             "INSERT INTO alerts (alert_id, endpoint_id, raised_at, kind, message, email_state, webhook_state)"
             " SELECT %d, id, '%s', '%s', 'went %s', 'none', 'none' FROM endpoints",
             id, iso, kind, kind);
    exec_sql(f, sql);
}

struct seen {
    int64_t at[8];
    int n;
};

static int on_seen(void *ctx, int64_t endpoint_id, bool down, int64_t raised_at_ms, const char *message)
{
    struct seen *s = ctx;
    if (s->n < 8) s->at[s->n] = raised_at_ms;
    s->n++;
    return 0;
}

/* Item 4: the alerts read from a lower bound: those raised in [from, before) and, per endpoint, the last one
 * before from (the state at from); the older ones are not read. The snapshot reads from 90 days (and a slack)
 * ago: an endpoint DOWN for 100 days is still down, its incident open. */
static void test_alerts_from_a_bound(void **state)
{
    struct sqlite_fx *f = *state;
    const int64_t day = 86400000LL;
    exec_sql(f, "INSERT INTO endpoints (url) VALUES ('http://a.example/')");
    insert_alert(f, 1, "down", NOW_MS - 200 * day);
    insert_alert(f, 2, "up", NOW_MS - 150 * day);
    insert_alert(f, 3, "down", NOW_MS - 100 * day);
    insert_alert(f, 4, "up", NOW_MS - 100 * day + 1000);
    insert_alert(f, 5, "down", NOW_MS - 99 * day);
    insert_alert(f, 6, "down", NOW_MS - 2 * day);
    struct cw_config cfg = { 0 };
    const struct store_read_backend *b = store_read_backend_for(CW_DB_SQLITE);
    struct store_reader *r = open_reader(f, &cfg);
    char err[512] = "";
    struct seen s = { 0 };
    assert_int_equal(b->alerts(r, NOW_MS - 95 * day, NOW_MS, 0, INT64_MAX, on_seen, &s, err, sizeof err), STORE_OK);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.at[0], NOW_MS - 99 * day);
    assert_int_equal(s.at[1], NOW_MS - 2 * day);
    s = (struct seen){ 0 };
    assert_int_equal(b->alerts(r, STORE_READ_ALL_ALERTS, NOW_MS, 0, INT64_MAX, on_seen, &s, err, sizeof err), STORE_OK);
    assert_int_equal(s.n, 6); /* `clockwerk report`: all of them, as before */
    b->close(r);

    struct cw_endpoint eps[] = { { .url = "http://a.example/" } };
    struct web_history *h = read_snapshot(f, eps, 1, NOW_MS);
    assert_true(h->ep[0].state_known && h->ep[0].down);
    assert_int_equal(web_ep_more(&h->ep[0])->state_since_ms, NOW_MS - 99 * day);
    assert_int_equal(web_ep_more(&h->ep[0])->n_incidents, 1);
    assert_int_equal(web_ep_more(&h->ep[0])->incidents[0].end_ms, 0);
    struct web_window_figures w90;
    web_ep_window(&h->ep[0], WEB_WIN_90D, &w90);
    assert_int_equal(w90.down_ms, 90 * day);
    web_history_free(h);
}

static char *text_of(struct cw_buf *b)
{
    cw_buf_put(b, "", 1);
    return (char *)b->data;
}

/* Item 5: one uptime formatter, rounded down exactly (99.99999% is not 100), the same on the page, the badge and
 * in the API (41/125: 32.80% everywhere; the badge's floating point said 32.79%). */
static void test_one_uptime_format(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    api_put_uptime(&b, 10000000, 9999999);
    assert_string_equal(text_of(&b), "99.9999");
    cw_buf_free(&b);
    b = (struct cw_buf){ 0 };
    page_put_uptime(&b, 125, 41);
    assert_string_equal(text_of(&b), "32.80%");
    cw_buf_free(&b);

    struct cw_endpoint eps[] = { { .url = "http://a.example/", .name = "A" } };
    struct cw_config cfg = { .endpoints = eps, .n_endpoints = 1 };
    struct web_model m;
    char err[256];
    assert_int_equal(web_ids_build(&m, &cfg, err, sizeof err), 0);
    struct web_ep_history ep = { 0 };
    web_window_pack(&ep.win[WEB_WIN_30D], &(struct web_window_figures){ .checks = 125, .ok = 41 });
    m.endpoints[0].hist = &ep;
    struct web_request rq = { .model = &m, .rest = "a/uptime-30d.svg" };
    struct web_reply rp = { .status = 200 };
    web_badge_page(&rq, &rp);
    assert_int_equal(rp.status, 200);
    assert_non_null(strstr(text_of(&rp.body), ">32.80%<"));
    cw_buf_free(&rp.body);
    web_ids_free(&m);
}

/* Whether the route asks the reader thread for path's detail (path with an optional "?key=value"). */
static bool wants_detail(const char *path)
{
    char copy[128];
    snprintf(copy, sizeof copy, "%s", path);
    char *query = strchr(copy, '?');
    struct web_request rq = { 0 };
    if (query) {
        *query++ = '\0';
        char *eq = strchr(query, '=');
        if (eq) *eq++ = '\0';
        rq.args[rq.n_args++] = (struct web_arg){ query, eq };
    }
    const struct web_route *route;
    assert_int_equal(web_route_find("GET", copy, &route, &rq.rest), WEB_ROUTE_FOUND);
    return route->needs_detail && route->needs_detail(&rq);
}

/* Item 7: only what uses the detail costs a database read: an endpoint's page (with a good window), the API's
 * {id} and {id}/history (res=hour, and res=day: the exact days are the detail's, the snapshot keeps the bar's);
 * not a bad res or window, or a path that is 404. */
static void test_detail_only_when_used(void **state)
{
    (void)state;
    assert_true(wants_detail("/endpoint/a"));
    assert_true(wants_detail("/endpoint/a?window=7d"));
    assert_false(wants_detail("/endpoint/a?window=90d"));
    assert_false(wants_detail("/endpoint/a?window=x"));
    assert_false(wants_detail("/endpoint/a/x"));
    assert_true(wants_detail("/api/v1/endpoints/a"));
    assert_true(wants_detail("/api/v1/endpoints/a/history?res=hour"));
    assert_true(wants_detail("/api/v1/endpoints/a/history"));
    assert_true(wants_detail("/api/v1/endpoints/a/history?res=day"));
    assert_false(wants_detail("/api/v1/endpoints/a/history?res=week"));
    assert_false(wants_detail("/api/v1/endpoints/a/garbage"));
    assert_false(wants_detail("/badge/a/status.svg"));
    assert_false(wants_detail("/"));
}

int main(void)
{
    setenv("CLOCKWERK_ROLLUP_EVERY_MS", "1", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_incident_message_hides_the_query, setup, teardown),
        cmocka_unit_test(test_failed_detail_hides_the_database),
        cmocka_unit_test(test_attach_seeds_the_state),
        cmocka_unit_test_setup_teardown(test_alerts_from_a_bound, setup, teardown),
        cmocka_unit_test(test_one_uptime_format),
        cmocka_unit_test(test_detail_only_when_used),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
