/* tests/unit/test_alerter_index.c — the alerter's compact endpoint table of issue 18 (alerter/endpoints.c): the
 * open-addressing URL index (lookups, probing past collisions, a table of 50,000), a reload in place that replaces
 * many URLs (each replaced one unlisted with the entries probed past it shifted back, none lost), a rebuild that
 * moves every endpoint (its state follows its URL), and the incident allocated only while it holds something. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "alerter/endpoints.h"
#include "alerter/incident.h"

#define N 50000

/* A configuration of n endpoints http://h/<tag><i> (owned: free with cfg_free). */
static struct cw_config *cfg_new(size_t n, const char *tag)
{
    struct cw_config *cfg = calloc(1, sizeof *cfg);
    cfg->endpoints = calloc(n, sizeof *cfg->endpoints);
    cfg->n_endpoints = n;
    for (size_t i = 0; i < n; i++) {
        char url[64];
        snprintf(url, sizeof url, "http://h/%s%zu", tag, i);
        cfg->endpoints[i].url = strdup(url);
        cfg->endpoints[i].depends_on_idx = -1;
    }
    return cfg;
}

static void cfg_free(struct cw_config *cfg)
{
    for (size_t i = 0; i < cfg->n_endpoints; i++) free(cfg->endpoints[i].url);
    free(cfg->endpoints);
    free(cfg);
}

static void all_found(const struct endpoints *t, const struct cw_config *cfg)
{
    for (size_t i = 0; i < cfg->n_endpoints; i++) {
        char copy[64]; /* by its bytes, not its pointer */
        snprintf(copy, sizeof copy, "%s", cfg->endpoints[i].url);
        assert_ptr_equal(endpoints_find(t, copy), &t->all[i]);
    }
}

static void test_lookups_and_collisions(void **state)
{
    (void)state;
    struct endpoints t;
    endpoints_init(&t, NULL);
    assert_null(endpoints_find(&t, "http://h/a0")); /* empty */
    struct cw_config *cfg = cfg_new(N, "a");
    endpoints_build(&t, cfg);
    assert_true(t.url_mask + 1 >= 2 * N);
    all_found(&t, cfg);
    size_t displaced = 0; /* entries not in their home slot: the table had collisions and found through them */
    for (size_t s = 0; s <= t.url_mask; s++)
        if (t.by_url[s]) displaced += ((size_t)cw_hash64(t.all[t.by_url[s] - 1].ep->url) & t.url_mask) != s;
    assert_true(displaced > 0);
    assert_null(endpoints_find(&t, "http://h/a50000"));
    assert_null(endpoints_find(&t, "http://h/b0"));
    assert_null(endpoints_find(&t, NULL));
    endpoints_free(&t);
    cfg_free(cfg);
}

/* Every third URL replaced in place: the new ones are found, the old ones not, the others keep their state. */
static void test_reload_in_place_replaces(void **state)
{
    (void)state;
    struct endpoints t;
    endpoints_init(&t, NULL);
    struct cw_config *cfg = cfg_new(N, "a");
    endpoints_build(&t, cfg);
    struct endpoint *all = t.all;
    for (size_t i = 0; i < N; i++) t.all[i].st.fail_run = (uint32_t)i + 1;
    struct cw_config *next = cfg_new(N, "a");
    for (size_t i = 0; i < N; i += 3) {
        char url[64];
        snprintf(url, sizeof url, "http://h/new%zu", i);
        free(next->endpoints[i].url);
        next->endpoints[i].url = strdup(url);
    }
    endpoints_build(&t, next);
    assert_ptr_equal(t.all, all); /* in place: the same table */
    cfg_free(cfg);                /* the old configuration goes: nothing points into it any more */
    all_found(&t, next);
    for (size_t i = 0; i < N; i++) {
        char old[64];
        snprintf(old, sizeof old, "http://h/a%zu", i);
        if (i % 3 == 0) {
            assert_null(endpoints_find(&t, old));
            assert_int_equal(t.all[i].st.fail_run, 0); /* a new endpoint starts afresh */
        } else {
            assert_int_equal(t.all[i].st.fail_run, i + 1);
        }
    }
    endpoints_free(&t);
    cfg_free(next);
}

/* Reversed order (not in place): a new table, each state follows its URL, an incident too. */
static void test_rebuild_moves_state(void **state)
{
    (void)state;
    struct endpoints t;
    endpoints_init(&t, NULL);
    struct cw_config *cfg = cfg_new(1000, "a");
    endpoints_build(&t, cfg);
    for (size_t i = 0; i < 1000; i++) t.all[i].st.fail_run = (uint32_t)i + 1;
    incident_open(endpoint_incident_mut(&t.all[7]), 77, 1);
    t.all[7].notified = ASTATE_DOWN;
    struct cw_config *next = cfg_new(1000, "a");
    for (size_t i = 0; i < 500; i++) {
        char *x = next->endpoints[i].url;
        next->endpoints[i].url = next->endpoints[999 - i].url;
        next->endpoints[999 - i].url = x;
    }
    endpoints_build(&t, next);
    cfg_free(cfg);
    all_found(&t, next);
    for (size_t i = 0; i < 1000; i++) assert_int_equal(t.all[i].st.fail_run, 1000 - i);
    assert_int_equal(t.all[992].inc->id, 77);
    assert_int_equal(t.all[992].notified, ASTATE_DOWN);
    assert_null(t.all[7].inc);
    endpoints_free(&t);
    cfg_free(next);
}

static void test_incident_allocated_while_needed(void **state)
{
    (void)state;
    struct endpoint e = { 0 };
    assert_false(endpoint_incident(&e)->open); /* none: all zeroes */
    assert_int_equal(endpoint_incident(&e)->id, 0);
    assert_null(e.inc);
    struct incident *inc = endpoint_incident_mut(&e);
    assert_ptr_equal(e.inc, inc);
    assert_ptr_equal(endpoint_incident_mut(&e), inc); /* once */
    incident_open(inc, 5, 1);
    endpoint_incident_release(&e);
    assert_ptr_equal(e.inc, inc); /* open: kept */
    inc->open = false;
    incident_add_child(inc, "http://h/child");
    endpoint_incident_release(&e);
    assert_ptr_equal(e.inc, inc); /* a child still to list: kept */
    incident_clear_children(inc);
    endpoint_incident_release(&e);
    assert_null(e.inc); /* closed and childless: freed */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookups_and_collisions),
        cmocka_unit_test(test_reload_in_place_replaces),
        cmocka_unit_test(test_rebuild_moves_state),
        cmocka_unit_test(test_incident_allocated_while_needed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
