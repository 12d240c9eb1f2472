/* tests/unit/test_web_history.c — clockwerk-web's history read (web/history_read.c, web/history_detail.c)
 * against a real SQLite file written by the storer's backend: the 90-day cells (a past day from its daily cell,
 * today from the hourly cells plus the rows not folded yet), the windows, the incidents (newest first, an open
 * one), the state the last alert left, an endpoint only in the database or only in the configuration, the
 * detail's hours and last checks, the last_checks statement on its index, and a database that is not there; the
 * loop's side of the reader thread (web/history_wait.c): the snapshot swapped in, suspended detail requests
 * answered and shared, the cache, the bound, an unknown ID, and a client gone while suspended (freed, no leak
 * under ASan). libmicrohttpd's suspend/resume are stood in for below (the executable's definitions win). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <microhttpd.h>
#include <poll.h>
#include <sqlite3.h>

#include "common/base/log.h"
#include "storer/backend.h"
#include "storer/batch.h"
#include "storer/reader.h"
#include "web/history_read.h"
#include "web/history_thread.h"
#include "web/history_wait.h"
#include "sqlite_fx_util.h"

#define T0_US 1796342400000000LL /* 2026-12-04T00:00:00Z */
#define MIN_US 60000000LL
#define HOUR_US (60 * MIN_US)
#define DAY_US (24 * HOUR_US)
#define T0_MS (T0_US / 1000)
#define NOW_MS (T0_MS + 2 * 86400000LL + 12 * 3600000LL + 30000) /* 2026-12-06T12:00:30Z */

/* A new database (folds due at every batch: main sets CLOCKWERK_ROLLUP_EVERY_MS=1). */
static int setup(void **state) { return (*state = sqlite_fx_new("cw-webhist")) ? 0 : -1; }
static int teardown(void **state) { return sqlite_fx_free(*state), 0; }

/* n checks of url one a minute from at (seq first..), every third seq failed; latency 10 ms. */
static void write_checks(struct sqlite_fx *f, const char *url, uint64_t first, int n, int64_t at)
{
    struct store_batch b;
    store_batch_init(&b);
    for (int i = 0; i < n; i++) {
        struct cw_result r = { 0 };
        r.url = (char *)url;
        r.worker = 1;
        r.boot_id = 77;
        r.seq = first + (uint64_t)i;
        r.checked_at_us = at + i * MIN_US;
        r.ok = r.seq % 3 != 0;
        r.status_code = r.ok ? 200 : 500;
        r.error = r.ok ? NULL : "HTTP 500";
        r.latency_us = 10000;
        r.dns_us = 100;
        r.connect_us = 200;
        r.tls_us = -1;
        r.ttfb_us = 5000;
        store_batch_add_check(&b, &r);
    }
    char err[512];
    usleep(2000); /* past the fold period when it is 1 ms */
    assert_int_equal(f->be->write_batch(f->db, &b, err, sizeof err), STORE_OK);
    store_batch_free(&b);
}

static void add_alert(struct sqlite_fx *f, int id, const char *url, const char *kind, const char *raised_at)
{
    char sql[600];
    snprintf(sql, sizeof sql,
             "INSERT INTO alerts (alert_id, endpoint_id, raised_at, kind, message, email_state, webhook_state)"
             " SELECT %d, id, '%s', '%s', 'went %s', 'none', 'none' FROM endpoints WHERE url = '%s'",
             id, raised_at, kind, kind, url);
    assert_int_equal(sqlite3_exec(f->peek, sql, NULL, NULL, NULL), SQLITE_OK);
}

/* A: two days ago 60 checks (20 failed) and 30 min DOWN; today 30 folded checks (10 failed) from 10:00 and 10
 * rows not folded (4 failed) from 11:00, DOWN since 11:30. B: stored, not configured. */
static void fill(struct sqlite_fx *f)
{
    write_checks(f, "http://a.example/", 1, 60, T0_US + 10 * HOUR_US);
    write_checks(f, "http://b.example/", 1001, 5, T0_US + 10 * HOUR_US);
    write_checks(f, "http://a.example/", 101, 30, T0_US + 2 * DAY_US + 10 * HOUR_US);
    setenv("CLOCKWERK_ROLLUP_EVERY_MS", "3600000", 1);
    sqlite_fx_reopen(f); /* the next rows stay above the watermark */
    write_checks(f, "http://a.example/", 201, 10, T0_US + 2 * DAY_US + 11 * HOUR_US);
    setenv("CLOCKWERK_ROLLUP_EVERY_MS", "1", 1);
    assert_int_equal(
        sqlite_fx_int(f, "SELECT count(*) FROM checks WHERE id > (SELECT last_check_id FROM rollup_state)"), 10);
    add_alert(f, 1, "http://a.example/", "down", "2026-12-04T10:02:00.000Z");
    add_alert(f, 2, "http://a.example/", "up", "2026-12-04T10:32:00.000Z");
    add_alert(f, 3, "http://a.example/", "down", "2026-12-06T11:30:00.000Z");
}

static struct cw_config config_of(struct cw_endpoint *eps, size_t n, const char *path)
{
    return (struct cw_config){ .db_driver = CW_DB_SQLITE, .db_name = (char *)path, .endpoints = eps, .n_endpoints = n };
}

static void test_snapshot(void **state)
{
    struct sqlite_fx *f = *state;
    fill(f);
    struct cw_endpoint eps[] = { { .url = "http://c.example/" }, { .url = "http://a.example/", .name = "A" } };
    struct cw_config cfg = config_of(eps, 2, f->path);
    const struct store_read_backend *b = store_read_backend_for(CW_DB_SQLITE);
    char err[512] = "";
    int rc;
    struct store_reader *r = b->open(&cfg, &rc, err, sizeof err);
    assert_non_null(r);
    struct web_history_ids ids = { 0 };
    struct web_history *h = web_history_read(b, r, &cfg, NOW_MS, &ids, NULL, &rc, err, sizeof err);
    assert_int_equal(rc, STORE_OK);
    assert_non_null(h);
    assert_int_equal(h->n, 1); /* C has nothing stored, B is not configured */
    const struct web_ep_history *a = &h->ep[0];
    assert_int_equal(h->cfg_index[0], 1); /* the configuration's second endpoint */
    assert_int_equal(h->day0_ms, T0_MS + 2 * 86400000LL - 89 * 86400000LL);
    struct web_bar bar; /* what the bar keeps of the days: the uptime per 10,000 (floor), p95, incidents */
    web_bar_day(a, WEB_DAYS - 3, &bar); /* 2026-12-04 */
    assert_true(bar.data);
    assert_int_equal(bar.per10k, 6666);
    assert_true(bar.p95_us >= 9700 && bar.p95_us <= 10300);
    assert_int_equal(bar.incidents, 1);
    web_bar_day(a, WEB_DAYS - 2, &bar);
    assert_false(bar.data);
    web_bar_day(a, WEB_DAYS - 1, &bar); /* today: 26 of 40 */
    assert_int_equal(bar.per10k, 6500);
    assert_int_equal(bar.incidents, 1);
    struct web_window_figures fig, *w = &fig;
    web_ep_window(a, WEB_WIN_24H, w);
    assert_int_equal(w->checks, 40);
    assert_int_equal(w->ok, 26);
    assert_int_equal(w->down_ms, 1830000);
    assert_int_equal(w->incidents, 1);
    assert_true(w->has_latency && w->p50_ms > 9.6 && w->p50_ms < 10.4);
    web_ep_window(a, WEB_WIN_7D, w);
    assert_int_equal(w->checks, 100);
    assert_int_equal(w->ok, 66);
    assert_int_equal(w->down_ms, 1800000 + 1830000);
    assert_int_equal(w->incidents, 2);
    assert_int_equal(a->win[WEB_WIN_90D].checks, 100);
    const struct web_ep_more *ax = web_ep_more(a);
    assert_int_equal(ax->n_incidents, 2); /* newest first */
    assert_int_equal(ax->incidents[0].start_ms, NOW_MS - 30000 - 1800000);
    assert_int_equal(ax->incidents[0].end_ms, 0);
    assert_int_equal(ax->incidents[1].end_ms - ax->incidents[1].start_ms, 1800000);
    assert_string_equal(ax->incidents[1].message, "went down");
    assert_true(a->state_known && a->down);
    assert_int_equal(ax->state_since_ms, NOW_MS - 30000 - 1800000);

    /* the detail of A: today's 10:00 and 11:00 hours, the newest 20 checks */
    int64_t id = web_history_find_id(b, r, &ids, "http://a.example/", &rc, err, sizeof err);
    assert_true(id > 0);
    assert_int_equal(web_history_find_id(b, r, &ids, "http://c.example/", &rc, err, sizeof err), -1);
    struct web_detail *det = web_detail_read(b, r, id, &eps[1], NOW_MS);
    assert_null(det->error);
    assert_true(det->has_days); /* the exact days (the API's /history?res=day) */
    const struct web_day *d = &det->days[WEB_DAYS - 3]; /* 2026-12-04 */
    assert_int_equal(d->checks, 60);
    assert_int_equal(d->ok, 40);
    assert_true(d->p95_us >= 9700 && d->p95_us <= 10300);
    assert_int_equal(d->down_s, 1800);
    assert_int_equal(d->incidents, 1);
    assert_int_equal(det->days[WEB_DAYS - 2].checks, 0);
    d = &det->days[WEB_DAYS - 1]; /* today: hourly cells + the rows not folded */
    assert_int_equal(d->checks, 40);
    assert_int_equal(d->ok, 26);
    assert_int_equal(d->down_s, 1830);
    assert_int_equal(d->incidents, 1);
    const struct web_detail_hour *last = &det->hours[WEB_DETAIL_HOURS - 1];
    assert_int_equal(last->start_ms, NOW_MS - 30000);
    assert_int_equal(last->checks, 0);
    assert_int_equal(det->hours[WEB_DETAIL_HOURS - 2].checks, 10); /* not folded */
    assert_int_equal(det->hours[WEB_DETAIL_HOURS - 2].ok, 6);
    assert_int_equal(det->hours[WEB_DETAIL_HOURS - 3].checks, 30);
    assert_true(det->hours[WEB_DETAIL_HOURS - 3].phase_mean_us[3] > 4800);
    assert_int_equal(det->hours[WEB_DETAIL_HOURS - 3].phase_mean_us[2], 0); /* no TLS */
    assert_int_equal(det->n_checks, WEB_DETAIL_CHECKS);
    assert_int_equal(det->checks[0].checked_at_ms, T0_MS + 2 * 86400000LL + 11 * 3600000LL + 9 * 60000);
    assert_false(det->checks[0].ok); /* seq 210 */
    assert_string_equal(det->checks[0].error, "HTTP 500");
    assert_int_equal(det->checks[0].status_code, 500);
    assert_int_equal(det->checks[0].latency_us, 10000);
    assert_int_equal(det->checks[0].phase_us[2], -1);
    assert_true(det->checks[1].ok && det->checks[1].error == NULL);
    for (size_t i = 1; i < det->n_checks; i++)
        assert_true(det->checks[i].checked_at_ms < det->checks[i - 1].checked_at_ms);
    web_detail_free(det);
    det = web_detail_read(b, r, -1, &eps[0], NOW_MS); /* stored nothing yet: an empty detail, not an error */
    assert_null(det->error);
    assert_int_equal(det->n_checks, 0);
    web_detail_free(det);
    b->close(r);
    web_history_ids_free(&ids);
    web_history_free(h);
}

struct pause_seen {
    int calls;
    size_t checks;
};

/* Between chunks: a detail read with the snapshot's reader works. */
static void on_pause(void *ctx, const struct store_read_backend *b, struct store_reader *r)
{
    struct pause_seen *p = ctx;
    struct web_detail *d = web_detail_read(b, r, 1, NULL, NOW_MS);
    p->calls++;
    p->checks = d->error ? 0 : d->n_checks;
    web_detail_free(d);
}

/* More endpoints than a chunk: every one is read (the chunks' id ranges hold each once), the pause comes between
 * the chunks. */
static void test_chunks(void **state)
{
    struct sqlite_fx *f = *state;
    enum { N = WEB_HISTORY_CHUNK + 3 };
    static char urls[N][40];
    struct cw_endpoint eps[N];
    for (int i = 0; i < N; i++) {
        snprintf(urls[i], sizeof urls[i], "http://e%d.example/", i);
        eps[i] = (struct cw_endpoint){ .url = urls[i] };
    }
    for (int i = 0; i < N; i++)
        write_checks(f, urls[N - 1 - i], 1 + 10 * (uint64_t)i, 1, T0_US + 2 * DAY_US + HOUR_US); /* ids reversed */
    struct cw_config cfg = config_of(eps, N, f->path);
    const struct store_read_backend *b = store_read_backend_for(CW_DB_SQLITE);
    char err[512] = "";
    int rc;
    struct store_reader *r = b->open(&cfg, &rc, err, sizeof err);
    assert_non_null(r);
    struct pause_seen seen = { 0 };
    struct web_history_pause pause = { on_pause, &seen };
    struct web_history *h = web_history_read(b, r, &cfg, NOW_MS, NULL, &pause, &rc, err, sizeof err);
    assert_non_null(h);
    assert_int_equal(h->n, N);
    assert_int_equal(seen.calls, 1);
    assert_int_equal(seen.checks, 1);
    for (size_t i = 0; i < h->n; i++) {
        struct web_bar bar;
        web_bar_day(&h->ep[i], WEB_DAYS - 1, &bar);
        assert_true(bar.data);
        assert_int_equal(h->ep[i].win[WEB_WIN_24H].checks, 1);
    }
    b->close(r);
    web_history_free(h);
}

/* last_checks reads the index (endpoint_id, checked_at) backwards, never the table. */
static void test_last_checks_uses_the_index(void **state)
{
    struct sqlite_fx *f = *state;
    struct cw_buf sql = { 0 };
    const struct store_read_dialect d = { .checked_ms = "checked_at" };
    cw_buf_printf(&sql, "EXPLAIN QUERY PLAN ");
    store_read_sql_last_checks(&sql, &d, 1, 20);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(f->peek, (const char *)sql.data, -1, &st, NULL), SQLITE_OK);
    char plan[1000] = "";
    while (sqlite3_step(st) == SQLITE_ROW) {
        strncat(plan, (const char *)sqlite3_column_text(st, 3), sizeof plan - strlen(plan) - 2);
        strcat(plan, ";");
    }
    sqlite3_finalize(st);
    cw_buf_free(&sql);
    assert_non_null(strstr(plan, "checks_endpoint_time"));
    assert_null(strstr(plan, "TEMP B-TREE")); /* no sort */
}

static void test_no_database_yet(void **state)
{
    struct sqlite_fx *f = *state;
    char path[200], err[512] = "";
    snprintf(path, sizeof path, "%s/none.db", f->dir);
    struct cw_endpoint eps[] = { { .url = "http://a.example/" } };
    struct cw_config cfg = config_of(eps, 1, path);
    int rc;
    assert_null(store_read_sqlite.open(&cfg, &rc, err, sizeof err));
    assert_non_null(strstr(err, "does not exist"));
    assert_int_equal(access(path, F_OK), -1); /* never created by a reader */
}

static unsigned suspended, resumed;
void MHD_suspend_connection(struct MHD_Connection *connection)
{
    (void)connection;
    suspended++;
}
void MHD_resume_connection(struct MHD_Connection *connection)
{
    (void)connection;
    resumed++;
}

/* Takes the thread's results until cond holds (10 s at most). */
static void poll_until(struct web_history_loop *hl, struct web_model *m, bool (*cond)(void *), void *arg)
{
    for (int i = 0; i < 100 && !cond(arg); i++) {
        struct pollfd p = { .fd = web_history_fd(hl->thread), .events = POLLIN };
        (void)poll(&p, 1, 100);
        web_history_poll(hl, m);
    }
    assert_true(cond(arg));
}

/* The model of cfg and the loop's side of a reader thread started on it (one refresh an hour: only the first). */
static struct web_history_loop start_loop(struct web_model *m, struct cw_config *cfg)
{
    char err[512];
    cfg->web_history_refresh = 3600;
    assert_int_equal(web_ids_build(m, cfg, err, sizeof err), 0);
    struct web_history_loop hl = { .thread = web_history_start(cfg, err, sizeof err) };
    assert_non_null(hl.thread);
    return hl;
}

static bool has_history(void *m) { return ((struct web_model *)m)->history != NULL; }
static bool resumed_at_least(void *n) { return resumed >= *(unsigned *)n; }

static void test_detail_requests(void **state)
{
    struct sqlite_fx *f = *state;
    fill(f);
    struct cw_endpoint eps[] = { { .url = "http://a.example/", .name = "A" }, { .url = "http://c.example/" } };
    struct cw_config cfg = config_of(eps, 2, f->path);
    struct web_model m;
    struct web_history_loop hl = start_loop(&m, &cfg);
    poll_until(&hl, &m, has_history, &m);
    assert_non_null(web_model_by_id(&m, "a")->hist); /* attached by URL */
    assert_null(web_model_by_id(&m, "c-example")->hist);

    char conns[WEB_DETAIL_QUEUE + 1];
    void *slot[WEB_DETAIL_QUEUE + 1] = { 0 };
    const struct web_detail *d = NULL;
    struct MHD_Connection *c0 = (struct MHD_Connection *)&conns[0], *c1 = (struct MHD_Connection *)&conns[1];
    d = &(struct web_detail){ 0 };
    /* an unknown ID: no read, no wait; the handler answers its own 404 (JSON on the API) */
    assert_int_equal(web_history_detail_step(&hl, &m, c0, "nope", &slot[0], &d), WEB_DETAIL_READY);
    assert_null(d);
    assert_null(slot[0]);
    assert_int_equal(web_history_detail_step(&hl, &m, c0, "a", &slot[0], &d), WEB_DETAIL_SUSPENDED);
    assert_int_equal(web_history_detail_step(&hl, &m, c1, "a/history", &slot[1], &d), WEB_DETAIL_SUSPENDED);
    assert_int_equal(suspended, 2);
    unsigned want = 2;
    poll_until(&hl, &m, resumed_at_least, &want);
    assert_int_equal(hl.details_read, 1); /* one read for both */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(web_history_detail_step(&hl, &m, i ? c1 : c0, "a", &slot[i], &d), WEB_DETAIL_READY);
        assert_null(d->error);
        assert_int_equal(d->n_checks, WEB_DETAIL_CHECKS);
        web_history_detail_release(&slot[i]);
        web_history_detail_completed(&hl, &slot[i]);
        assert_null(slot[i]);
    }
    assert_int_equal(web_history_detail_step(&hl, &m, c0, "a", &slot[0], &d), WEB_DETAIL_READY); /* the cache */
    assert_int_equal(hl.details_cached, 1);
    web_history_detail_release(&slot[0]);
    web_history_detail_completed(&hl, &slot[0]);

    /* the bound ("a" would come from the cache): WEB_DETAIL_QUEUE wait, one more is refused; then every client
     * goes away while suspended */
    for (int i = 0; i < WEB_DETAIL_QUEUE; i++)
        assert_int_equal(
            web_history_detail_step(&hl, &m, (struct MHD_Connection *)&conns[i], "c-example", &slot[i], &d),
            WEB_DETAIL_SUSPENDED);
    assert_int_equal(web_history_detail_step(&hl, &m, (struct MHD_Connection *)&conns[WEB_DETAIL_QUEUE], "c-example",
                                             &slot[WEB_DETAIL_QUEUE], &d),
                     WEB_DETAIL_BUSY);
    web_history_resume_all(&hl); /* the stop: none may stay suspended */
    assert_int_equal(hl.n_waiting, 0);
    for (int i = 0; i < WEB_DETAIL_QUEUE; i++) {
        if (i == 0) { /* resumed by the stop: answered as such */
            assert_int_equal(web_history_detail_step(&hl, &m, c0, "c-example", &slot[0], &d), WEB_DETAIL_READY);
            assert_non_null(d->error);
            web_history_detail_release(&slot[0]);
        }
        web_history_detail_completed(&hl, &slot[i]); /* the connection is gone */
    }
    web_history_stop(hl.thread); /* the answer for c-example may come or not: freed either way */
    hl.thread = NULL;
    web_history_loop_free(&hl, &m);
    web_ids_free(&m);
}

/* A failed detail (the database is not there) is kept WEB_DETAIL_FAILED_CACHE_NS too: the next view of the page
 * within it is answered from the cache, not with a new connection attempt on the reader thread. */
static void test_failed_detail_cached(void **state)
{
    (void)state;
    struct cw_endpoint eps[] = { { .url = "http://a.example/", .name = "A" } };
    struct cw_config cfg = config_of(eps, 1, "/nonexistent-cw-webhist/clockwerk.db");
    struct web_model m;
    struct web_history_loop hl = start_loop(&m, &cfg);
    char conn;
    struct MHD_Connection *c = (struct MHD_Connection *)&conn;
    void *slot = NULL;
    const struct web_detail *d = NULL;
    unsigned want = resumed + 1;
    assert_int_equal(web_history_detail_step(&hl, &m, c, "a", &slot, &d), WEB_DETAIL_SUSPENDED);
    poll_until(&hl, &m, resumed_at_least, &want);
    assert_int_equal(web_history_detail_step(&hl, &m, c, "a", &slot, &d), WEB_DETAIL_READY);
    assert_non_null(d->error);
    web_history_detail_release(&slot);
    web_history_detail_completed(&hl, &slot);
    assert_int_equal(web_history_detail_step(&hl, &m, c, "a", &slot, &d), WEB_DETAIL_READY); /* the cache */
    assert_non_null(d->error);
    assert_int_equal(hl.details_read, 1);
    assert_int_equal(hl.details_cached, 1);
    web_history_detail_release(&slot);
    web_history_detail_completed(&hl, &slot);
    web_history_stop(hl.thread);
    hl.thread = NULL;
    web_history_loop_free(&hl, &m);
    web_ids_free(&m);
}

int main(void)
{
    log_init("test", LOG_LVL_ERROR);
    setenv("CLOCKWERK_ROLLUP_EVERY_MS", "1", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_checks_uses_the_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_database_yet, setup, teardown),
        cmocka_unit_test_setup_teardown(test_detail_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunks, setup, teardown),
        cmocka_unit_test(test_failed_detail_cached),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
