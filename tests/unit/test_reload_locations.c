/* tests/unit/test_reload_locations.c — what a reload restarts for the keys of issue 16 (supervisor/reload.c, docs/
 * config.md "Locations"): an endpoint's `locations` only the workers whose shard of this host's location changed,
 * plus the alerter and the web; a quorum the alerter and the web; location_silent_after the alerter;
 * supervisor.location every child; a location's key the bus servers (storer, alerter, relay) and the web;
 * bus.config_address nothing but the supervisor itself. */
#include "cfgtest_util.h"

#include "common/bus/bus_keys.h"
#include "supervisor/reload.h"

#define SLOTS 4

struct fixture {
    struct ct ct;
    char fra[BUS_KEY_Z85_LEN + 1], nyc[BUS_KEY_Z85_LEN + 1], other[BUS_KEY_Z85_LEN + 1];
};

static int setup(void **state)
{
    if (ct_setup(state) != 0) return -1;
    struct ct *t = *state;
    struct fixture *f = calloc(1, sizeof *f);
    if (!f) return -1;
    f->ct = *t;
    free(t);
    char path[512], err[512], central[BUS_KEY_Z85_LEN + 1];
    const char *names[] = { "central.key", "fra.key", "nyc.key", "other.key" };
    char *pubs[] = { central, f->fra, f->nyc, f->other };
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", f->ct.dir, names[i]);
        if (bus_keygen(path, pubs[i], err, sizeof err) != 0) return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    struct ct *t = calloc(1, sizeof *t);
    if (!t) return -1;
    *t = f->ct;
    free(f);
    *state = t;
    return ct_teardown(state);
}

struct knobs {
    const char *location;  /* supervisor.location */
    const char *nyc_key;   /* nyc's key */
    const char *config_at; /* bus.config_address */
    const char *shop_locations, *shop_quorum;
    int silent_after;
};

/* The central file with the knobs; 20 endpoints at every location besides "shop". */
static struct cw_config *load(struct fixture *f, const struct knobs *k)
{
    char text[16384];
    int n = snprintf(text, sizeof text,
                     "supervisor = { location = \"%s\"; workers = %d; };\n"
                     "locations = ( { name = \"fra\"; key = \"%s\"; }, { name = \"nyc\"; key = \"%s\"; } );\n"
                     "bus = { config_address = \"%s\"; store_address = \"tcp://127.0.0.1:17001\";\n"
                     "        alert_address = \"tcp://127.0.0.1:17002\"; publish_address = \"tcp://127.0.0.1:17003\";\n"
                     "        curve_key_file = \"central.key\"; };\n"
                     "alerts = { location_silent_after = %d; };\n"
                     "monitor = { endpoints = (\n"
                     " { url = \"http://127.0.0.1:1/shop\"; locations = %s; quorum = %s; }",
                     k->location, SLOTS, f->fra, k->nyc_key, k->config_at, k->silent_after, k->shop_locations,
                     k->shop_quorum);
    for (int i = 0; i < 20; i++)
        n += snprintf(text + n, sizeof text - (size_t)n, ",\n { url = \"http://127.0.0.1:1/e%d\"; }", i);
    snprintf(text + n, sizeof text - (size_t)n, "\n); };\n");
    struct cw_config *c = ct_load(&f->ct, text);
    if (!c) ct_dump(&f->ct);
    assert_non_null(c);
    return c;
}

static const struct knobs base = { "central", NULL, "tcp://127.0.0.1:17000", "[\"fra\"]", "1", 10 };

struct restarts {
    bool workers_all, relay, storer, alerter, web;
    int shards; /* workers restarted for their shard */
};

/* As the supervisor compares (issue 18): the running generation a as it keeps it — its settings copy and its
 * fingerprints, no endpoint — with the whole new one; the answers are also those of the two whole configurations. */
static struct restarts compare(const struct cw_config *a, const struct cw_config *b)
{
    char err[256];
    struct cw_config *kept = config_settings_copy(a, err, sizeof err);
    assert_non_null(kept);
    assert_int_equal(kept->n_endpoints, 0);
    struct reload_print pa, pb;
    reload_print_make(&pa, a);
    reload_print_make(&pb, b);
    struct reload_readers d;
    reload_print_readers(kept, &pa, b, &pb, &d);
    struct restarts r = { .workers_all = reload_worker_globals_changed(kept, b),
                          .relay = reload_relay_changed(kept, b),
                          .storer = d.storer.globals || d.storer.endpoints,
                          .alerter = d.alerter.globals || d.alerter.endpoints,
                          .web = d.web.globals || d.web.endpoints };
    assert_int_equal(r.workers_all, reload_worker_globals_changed(a, b));
    assert_int_equal(r.relay, reload_relay_changed(a, b));
    assert_int_equal(r.storer, reload_storer_changed(a, b));
    assert_int_equal(r.alerter, reload_alerter_changed(a, b));
    assert_int_equal(r.web, reload_web_changed(a, b));
    bool changed[256] = { false }; /* as the supervisor: the shards of the new worker count (SLOTS, or the CPUs') */
    reload_print_shards(&pa, &pb, (unsigned)b->workers, changed);
    for (int i = 0; i < b->workers; i++) r.shards += changed[i];
    reload_print_free(&pa);
    reload_print_free(&pb);
    config_free(kept);
    return r;
}

/* The restarts of changing base into k. */
static struct restarts restarts_for(struct fixture *f, struct knobs k)
{
    struct knobs b = base;
    b.nyc_key = f->nyc;
    if (!k.nyc_key) k.nyc_key = f->nyc;
    struct cw_config *x = load(f, &b), *y = load(f, &k);
    struct restarts r = compare(x, y);
    config_free(x);
    config_free(y);
    return r;
}

static void assert_restarts(struct restarts got, struct restarts want)
{
    bool same = got.workers_all == want.workers_all && got.relay == want.relay && got.storer == want.storer &&
                got.alerter == want.alerter && got.web == want.web && got.shards == want.shards;
    if (!same)
        fprintf(stderr, "got workers_all %d relay %d storer %d alerter %d web %d shards %d\n", got.workers_all,
                got.relay, got.storer, got.alerter, got.web, got.shards);
    assert_true(same);
}

static void test_endpoint_locations(void **state)
{
    struct fixture *f = *state;
    struct knobs k = base;
    /* nothing changed: nothing restarts */
    assert_restarts(restarts_for(f, k), (struct restarts){ 0 });
    /* fra -> fra and this host: the shard of shop on this host's workers, the alerter and the web */
    k.shop_locations = "[\"fra\", \"central\"]";
    assert_restarts(restarts_for(f, k), (struct restarts){ .alerter = true, .web = true, .shards = 1 });
    /* fra -> nyc: this host checks it neither before nor after: no worker */
    k.shop_locations = "[\"nyc\"]";
    assert_restarts(restarts_for(f, k), (struct restarts){ .alerter = true, .web = true });
}

static void test_other_keys(void **state)
{
    struct fixture *f = *state;
    struct knobs k = base;
    k.shop_locations = "[\"fra\", \"nyc\"]"; /* fra -> fra, nyc (alerter, web) and quorum 1 -> 2 */
    k.shop_quorum = "2";
    assert_restarts(restarts_for(f, k), (struct restarts){ .alerter = true, .web = true });
    k = base;
    k.shop_quorum = "\"all\""; /* 1 of 1 either way, but another setting: the alerter and the web read it */
    assert_restarts(restarts_for(f, k), (struct restarts){ .alerter = true, .web = true });
    k = base;
    k.silent_after = 30;
    assert_restarts(restarts_for(f, k), (struct restarts){ .alerter = true });
    k = base;
    k.config_at = "tcp://127.0.0.1:17009";
    assert_restarts(restarts_for(f, k), (struct restarts){ 0 });
    k = base;
    k.nyc_key = f->other; /* the bus servers admit another key */
    assert_restarts(restarts_for(f, k),
                    (struct restarts){ .relay = true, .storer = true, .alerter = true, .web = true });
    k = base;
    k.location = "hq"; /* in every result: every child */
    k.shop_locations = "[\"fra\"]";
    assert_restarts(restarts_for(f, k),
                    (struct restarts){ .workers_all = true,
                                       .relay = true,
                                       .storer = true,
                                       .alerter = true,
                                       .web = true }); /* the shards are alike: all restart anyway */
}

/* database.raw: the storer (what it writes) and the web (what its endpoint page says) restart, nothing else */
static void test_database_raw(void **state)
{
    struct fixture *f = *state;
    const char *text = "database = { db_activation = true; raw = \"%s\"; };\n"
                       "monitor = { endpoints = ( { url = \"http://127.0.0.1:1/a\"; } ); };\n";
    char a_text[300], b_text[300];
    snprintf(a_text, sizeof a_text, text, "all");
    snprintf(b_text, sizeof b_text, text, "failures");
    struct cw_config *a = ct_load(&f->ct, a_text), *b = ct_load(&f->ct, b_text), *c = ct_load(&f->ct, b_text);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_restarts(compare(a, b), (struct restarts){ .storer = true, .web = true });
    assert_restarts(compare(b, c), (struct restarts){ 0 });
    config_free(a);
    config_free(b);
    config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_endpoint_locations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_database_raw, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
