/* tests/unit/test_reload_fast.c — the parts of a reload in place that do work proportional to the change (issue 18):
 * the storer registers only the endpoints whose url, name or type is new (storer/epdiff.c); the web updates its model
 * where it is when the endpoints stayed in place (web/ids.c web_ids_update), and builds it again when one moved;
 * the supervisor writes no snapshot for a reload that changes nothing (supervisor/snapshot.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/config/config.h"
#include "storer/epdiff.h"
#include "supervisor/snapshot.h"
#include "web/model.h"

static size_t changed(const struct cw_endpoint *old, size_t n_old, const struct cw_endpoint *eps, size_t n,
                      size_t *out)
{
    return epdiff_changed(old, n_old, eps, n, out);
}

static void test_epdiff(void **state)
{
    (void)state;
    struct cw_endpoint a[4] = { { .url = "http://h/a" }, { .url = "http://h/b", .name = "B" }, { .url = "tcp://h:1" },
                                { .url = "http://h/d" } };
    struct cw_endpoint b[5];
    size_t out[5];
    memcpy(b, a, sizeof a);
    assert_int_equal(changed(a, 4, b, 4, out), 0); /* nothing changed: nothing to register */

    b[1].name = "B2"; /* renamed */
    b[2].type = CW_CHECK_TCP;
    b[3].url = "http://h/d2"; /* a new URL */
    assert_int_equal(changed(a, 4, b, 4, out), 3);
    assert_int_equal(out[0], 1);
    assert_int_equal(out[1], 2);
    assert_int_equal(out[2], 3);

    /* one inserted at the start: every index moved, only the new one is registered */
    b[0] = (struct cw_endpoint){ .url = "http://h/new" };
    memcpy(&b[1], a, sizeof a);
    assert_int_equal(changed(a, 4, b, 5, out), 1);
    assert_int_equal(out[0], 0);

    /* two swapped, one removed: nothing new */
    b[0] = a[3];
    b[1] = a[0];
    b[2] = a[2];
    assert_int_equal(changed(a, 4, b, 3, out), 0);
    assert_int_equal(changed(a, 4, b, 0, out), 0);
    assert_int_equal(changed(b, 0, a, 4, out), 4); /* from nothing: every one */
}

static struct cw_endpoint web_eps[3] = {
    { .url = "http://127.0.0.1:1/a", .name = "Alpha" },
    { .url = "http://127.0.0.1:1/b" },
    { .url = "http://127.0.0.1:1/c", .name = "Gamma" },
};

static void test_web_update_in_place(void **state)
{
    (void)state;
    struct cw_config c1 = { .endpoints = web_eps, .n_endpoints = 3 };
    struct web_model m;
    char err[256];
    assert_int_equal(web_ids_build(&m, &c1, err, sizeof err), 0);
    m.endpoints[0].live.locs[0].checks_ok = 5;
    m.endpoints[1].live.locs[0].checks_ok = 6;
    m.endpoints[1].live.last.error = strdup("HTTP 500");
    uint64_t gen = m.generation;

    /* a new URL at index 1, index 2 renamed: updated where it is */
    struct cw_endpoint e2[3];
    memcpy(e2, web_eps, sizeof e2);
    e2[1].url = "http://127.0.0.1:1/b2";
    e2[2].name = "Delta";
    struct cw_config c2 = { .endpoints = e2, .n_endpoints = 3 };
    size_t n_urls = 9;
    assert_int_equal(web_ids_update(&m, &c2, &n_urls, err, sizeof err), 0);
    assert_int_equal(n_urls, 1);
    assert_true(m.generation != gen);
    assert_ptr_equal(m.endpoints[0].cfg, &e2[0]);
    assert_int_equal(m.endpoints[0].live.locs[0].checks_ok, 5); /* kept */
    assert_int_equal(m.endpoints[1].live.locs[0].checks_ok, 0); /* a new URL starts afresh */
    assert_null(m.endpoints[1].live.last.error);
    assert_ptr_equal(web_model_by_url(&m, "http://127.0.0.1:1/b2"), &m.endpoints[1]);
    assert_null(web_model_by_url(&m, "http://127.0.0.1:1/b"));
    assert_ptr_equal(web_model_by_url(&m, "http://127.0.0.1:1/a"), &m.endpoints[0]);
    assert_ptr_equal(web_model_by_id(&m, "delta"), &m.endpoints[2]);
    assert_null(web_model_by_id(&m, "gamma"));
    assert_ptr_equal(m.endpoints[1].live.locs[0].name, m.own_location);

    /* two endpoints swap their names (their IDs): still each one's own */
    struct cw_endpoint e3[3];
    memcpy(e3, e2, sizeof e3);
    e3[0].name = "Delta";
    e3[2].name = "Alpha";
    struct cw_config c3 = { .endpoints = e3, .n_endpoints = 3 };
    assert_int_equal(web_ids_update(&m, &c3, &n_urls, err, sizeof err), 0);
    assert_int_equal(n_urls, 0);
    assert_ptr_equal(web_model_by_id(&m, "delta"), &m.endpoints[0]);
    assert_ptr_equal(web_model_by_id(&m, "alpha"), &m.endpoints[2]);

    /* one ID twice: refused as web_ids_build refuses it */
    struct cw_endpoint e4[3];
    memcpy(e4, e3, sizeof e4);
    e4[1].name = "Alpha";
    struct cw_config c4 = { .endpoints = e4, .n_endpoints = 3 };
    assert_int_equal(web_ids_update(&m, &c4, &n_urls, err, sizeof err), -1);
    assert_non_null(strstr(err, "one ID 'alpha'"));
    web_ids_free(&m);

    /* an URL that moved to another index, or another count: not in place (the caller builds and carries) */
    assert_int_equal(web_ids_build(&m, &c1, err, sizeof err), 0);
    struct cw_endpoint e5[3] = { web_eps[1], web_eps[0], web_eps[2] };
    struct cw_config c5 = { .endpoints = e5, .n_endpoints = 3 }, c6 = { .endpoints = web_eps, .n_endpoints = 2 };
    assert_int_equal(web_ids_update(&m, &c5, &n_urls, err, sizeof err), 1);
    assert_int_equal(web_ids_update(&m, &c6, &n_urls, err, sizeof err), 1);
    assert_ptr_equal(web_model_by_url(&m, web_eps[0].url), &m.endpoints[0]); /* untouched */
    web_ids_free(&m);
}

/* Many endpoints, every 97th renamed or given a new URL, twice: each key taken out of the tables where it was and
 * put back (backward-shift deletion through real collisions: 20,000 keys in 65,536 slots), every endpoint found by
 * its URL and its ID, none by the keys it had; then more than a few changed at once: the tables built again. */
static void test_web_rekey_many(void **state)
{
    (void)state;
    enum { N = 20000 };
    static struct cw_endpoint eps[2][N];
    static char urls[2][N][48], names[2][N][24];
    for (int v = 0; v < 2; v++)
        for (int i = 0; i < N; i++) {
            snprintf(urls[v][i], sizeof urls[v][i], "http://10.0.%d.%d/p%d", i / 250, i % 250, v && i % 194 == 0);
            snprintf(names[v][i], sizeof names[v][i], "ep %d%s", i, v && i % 194 == 97 ? " new" : "");
            eps[v][i] = (struct cw_endpoint){ .url = urls[v][i], .name = names[v][i] };
        }
    struct cw_config c[2] = { { .endpoints = eps[0], .n_endpoints = N }, { .endpoints = eps[1], .n_endpoints = N } };
    struct web_model m;
    char err[256], id[64];
    size_t n_urls;
    assert_int_equal(web_ids_build(&m, &c[0], err, sizeof err), 0);
    for (int round = 1; round <= 2; round++) {
        int v = round % 2;
        assert_int_equal(web_ids_update(&m, &c[v], &n_urls, err, sizeof err), 0);
        assert_int_equal(n_urls, (N + 193) / 194);
        assert_true(m.n_moved_ids > 0); /* keyed again in place, not built again */
        for (int i = 0; i < N; i++) {
            assert_ptr_equal(web_model_by_url(&m, urls[v][i]), &m.endpoints[i]);
            assert_ptr_equal(web_model_by_id(&m, m.endpoints[i].id), &m.endpoints[i]);
            if (strcmp(urls[v][i], urls[!v][i]) != 0) assert_null(web_model_by_url(&m, urls[!v][i]));
            cw_endpoint_slug(names[!v][i], urls[!v][i], id, sizeof id);
            if (strcmp(id, m.endpoints[i].id) != 0) assert_null(web_model_by_id(&m, id));
        }
    }
    for (int i = 0; i < N; i += 2) {
        snprintf(names[1][i], sizeof names[1][i], "again %d", i);
        eps[1][i].name = names[1][i];
    }
    assert_int_equal(web_ids_update(&m, &c[1], &n_urls, err, sizeof err), 0);
    assert_int_equal(m.n_moved_ids, 0); /* 10,000 at once: built again */
    assert_ptr_equal(web_model_by_id(&m, "again-2"), &m.endpoints[2]);
    web_ids_free(&m);
}

static void test_snapshot_written_only_when_changed(void **state)
{
    (void)state;
    char dir[] = "/tmp/cw-reload-fast-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct cw_endpoint eps[1] = { { .url = "http://127.0.0.1:1/a" } };
    struct cw_config cfg = { .run_dir = dir, .endpoints = eps, .n_endpoints = 1, .workers = 1 };
    struct privs none = { 0 };
    char p1[512], p2[512], p3[512];
    bool same = true;
    assert_int_equal(snapshot_write_if_changed(&cfg, &none, 1, NULL, p1, sizeof p1, &same), 0);
    assert_false(same);
    assert_int_equal(access(p1, F_OK), 0);
    /* the same configuration again: no file for generation 2 */
    assert_int_equal(snapshot_write_if_changed(&cfg, &none, 2, p1, p2, sizeof p2, &same), 0);
    assert_true(same);
    assert_int_equal(access(p2, F_OK), -1);
    /* one endpoint changed: generation 3 written, and it differs */
    eps[0].url = "http://127.0.0.1:1/b";
    assert_int_equal(snapshot_write_if_changed(&cfg, &none, 3, p1, p3, sizeof p3, &same), 0);
    assert_false(same);
    assert_int_equal(access(p3, F_OK), 0);
    assert_false(snapshot_same(p1, p3));
    assert_int_equal(snapshot_remove_all(dir), 2);
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_epdiff),
        cmocka_unit_test(test_web_update_in_place),
        cmocka_unit_test(test_web_rekey_many),
        cmocka_unit_test(test_snapshot_written_only_when_changed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
