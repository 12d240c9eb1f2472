/* tests/unit/test_config_locations.c — the configuration keys of issue 16 (docs/config.md "Locations"): a central
 * host's supervisor.location, `locations`, bus.config_address, alerts.quorum and location_silent_after, endpoints'
 * and groups' `locations` and `quorum` resolved (own -> group's -> default), push endpoints and workers = 0; a probe
 * host's file and its refusals; each bad key refused at its FILE:LINE; config_location_names,
 * config_quorum_required, config_is_probe_host; the snapshot carrying everything and a worker's reading keeping
 * only the endpoints of its own location. */
#include "cfgtest_util.h"

#include "common/bus/bus_keys.h"

struct keys {
    char central[BUS_KEY_Z85_LEN + 1], fra[BUS_KEY_Z85_LEN + 1], nyc[BUS_KEY_Z85_LEN + 1];
};

/* central.key, fra.key and nyc.key in the test's directory; their public keys in k. */
static void make_keys(struct ct *t, struct keys *k)
{
    char path[512], err[512];
    const char *names[] = { "central.key", "fra.key", "nyc.key" };
    char *pubs[] = { k->central, k->fra, k->nyc };
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", t->dir, names[i]);
        unlink(path);
        assert_int_equal(bus_keygen(path, pubs[i], err, sizeof err), 0);
    }
}

/* A central host's file: line 1 supervisor, 2-3 locations, 4-6 bus, 7 alerts, 8 groups, 9.. monitor (MON). */
#define CENTRAL_HEAD                                                                                    \
    "supervisor = { location = \"central\"; workers = %s; };\n"                                         \
    "locations = ( { name = \"fra\"; key = \"%s\"; },\n"                                                \
    "              { name = \"nyc\"; key = \"%s\"; } );\n"                                              \
    "bus = { config_address = \"tcp://127.0.0.1:17000\"; store_address = \"tcp://127.0.0.1:17001\";\n"  \
    "        alert_address = \"tcp://127.0.0.1:17002\"; publish_address = \"tcp://127.0.0.1:17003\";\n" \
    "        tap_address = \"tcp://127.0.0.1:17004\"; curve_key_file = \"central.key\"; };\n"

static const char *const central_rest =
    /* 7 */ "alerts = { quorum = \"all\"; location_silent_after = 20; };\n"
            /* 8 */ "groups = ( { name = \"eu\"; locations = [\"fra\"]; quorum = 1; } );\n"
            /* 9 */ "monitor = { endpoints = (\n"
            /* 10 */ " { url = \"http://127.0.0.1:1/own\"; locations = [\"fra\", \"nyc\", \"fra\"]; quorum = 2; },\n"
            /* 11 */ " { url = \"http://127.0.0.1:1/group\"; group = \"eu\"; },\n"
            /* 12 */ " { url = \"http://127.0.0.1:1/default\"; },\n"
            /* 13 */ " { type = \"push\"; name = \"beat\"; token = \"0123456789abcdef0123\"; },\n"
            /* 14 */ " { url = \"http://127.0.0.1:1/here\"; locations = \"central\"; quorum = \"majority\"; }\n"
            /* 15 */ "); };\n"
            /* 16 */ "web = { listen = \"127.0.0.1:1\"; };\n";

/* The central file with `workers` and `rest` after the head (lines 7...). */
static struct cw_config *load_central(struct ct *t, const struct keys *k, const char *workers, const char *rest)
{
    char text[8192];
    snprintf(text, sizeof text, CENTRAL_HEAD "%s", workers, k->fra, k->nyc, rest);
    return ct_load(t, text);
}

static void test_central(void **state)
{
    struct ct *t = *state;
    struct keys k;
    make_keys(t, &k);
    struct cw_config *c = load_central(t, &k, "2", central_rest);
    if (!c) ct_dump(t);
    assert_non_null(c);
    assert_false(config_is_probe_host(c));
    assert_string_equal(c->location, "central");
    assert_int_equal(c->n_locations, 2);
    assert_string_equal(c->locations[0].name, "fra");
    assert_string_equal(c->locations[0].key, k.fra);
    assert_string_equal(c->locations[1].key, k.nyc);
    assert_string_equal(c->config_address, "tcp://127.0.0.1:17000");
    assert_null(c->central_address);
    assert_int_equal(c->quorum, CW_QUORUM_ALL);
    assert_true(c->location_silent_after == 20);
    const char *names[8];
    assert_int_equal(config_location_names(c, names, 8), 3);
    assert_string_equal(names[0], "central");
    assert_string_equal(names[1], "fra");
    assert_string_equal(names[2], "nyc");
    assert_int_equal(config_location_names(c, names, 1), 3); /* the count, whatever max */

    assert_int_equal(c->n_endpoints, 5);
    const struct cw_endpoint *ep = c->endpoints;
    /* own: duplicates dropped, canonical strings */
    assert_int_equal(ep[0].n_locations, 2);
    assert_ptr_equal(ep[0].locations[0], c->locations[0].name);
    assert_ptr_equal(ep[0].locations[1], c->locations[1].name);
    assert_int_equal(ep[0].quorum, 2);
    assert_int_equal(config_quorum_required(&ep[0]), 2);
    /* its group's */
    assert_int_equal(ep[1].n_locations, 1);
    assert_string_equal(ep[1].locations[0], "fra");
    assert_int_equal(ep[1].quorum, 1);
    /* the default: every location, alerts.quorum */
    assert_int_equal(ep[2].n_locations, 3);
    assert_string_equal(ep[2].locations[0], "central");
    assert_string_equal(ep[2].locations[2], "nyc");
    assert_int_equal(ep[2].quorum, CW_QUORUM_ALL);
    assert_int_equal(config_quorum_required(&ep[2]), 3);
    /* push: here only */
    assert_int_equal(ep[3].n_locations, 1);
    assert_ptr_equal(ep[3].locations[0], c->location);
    assert_int_equal(config_quorum_required(&ep[3]), 1);
    assert_int_equal(ep[4].quorum, CW_QUORUM_MAJORITY);
    assert_true(config_endpoint_at(&ep[0], "nyc"));
    assert_false(config_endpoint_at(&ep[0], "central"));
    config_free(c);

    /* workers = 0: the central checks nothing itself, its own location is not one */
    c = load_central(t, &k, "0", "monitor = { endpoints = ( { url = \"http://127.0.0.1:1/a\"; } ); };\n");
    if (!c) ct_dump(t);
    assert_non_null(c);
    assert_int_equal(config_location_names(c, names, 8), 2);
    assert_string_equal(names[0], "fra");
    assert_int_equal(c->endpoints[0].n_locations, 2);
    assert_int_equal(c->quorum, CW_QUORUM_MAJORITY);
    assert_true(c->location_silent_after == 10);
    config_free(c);
}

/* No `locations`: one location, "local" unless named; every endpoint there. */
static void test_single_host_defaults(void **state)
{
    struct ct *t = *state;
    struct cw_config *c = ct_load(t, "monitor = { endpoints = ( { url = \"http://127.0.0.1:1/a\"; } ); };\n");
    assert_non_null(c);
    assert_string_equal(c->location, "local");
    assert_int_equal(c->n_locations, 0);
    assert_null(c->config_address);
    const char *names[4];
    assert_int_equal(config_location_names(c, names, 4), 1);
    assert_string_equal(names[0], "local");
    assert_int_equal(c->endpoints[0].n_locations, 1);
    assert_string_equal(c->endpoints[0].locations[0], "local");
    assert_int_equal(config_quorum_required(&c->endpoints[0]), 1);
    config_free(c);
    c = ct_load(
        t, "supervisor = { location = \"Berlin-1.a_b\"; };\n"
           "monitor = { endpoints = ( { url = \"http://127.0.0.1:1/a\"; locations = [\"Berlin-1.a_b\"]; } ); };\n");
    if (!c) ct_dump(t);
    assert_non_null(c);
    assert_string_equal(c->endpoints[0].locations[0], "Berlin-1.a_b");
    config_free(c);
}

static void test_quorum_required(void **state)
{
    (void)state;
    char *locs[5] = { "a", "b", "c", "d", "e" };
    struct cw_endpoint ep = { .locations = locs };
    static const struct {
        size_t n;
        int quorum;
        unsigned want;
    } cases[] = { { 1, CW_QUORUM_MAJORITY, 1 },
                  { 2, CW_QUORUM_MAJORITY, 2 },
                  { 3, CW_QUORUM_MAJORITY, 2 },
                  { 4, CW_QUORUM_MAJORITY, 3 },
                  { 5, CW_QUORUM_MAJORITY, 3 },
                  { 5, CW_QUORUM_ALL, 5 },
                  { 3, 1, 1 },
                  { 3, 3, 3 },
                  { 2, 7, 2 },
                  { 0, 0, 1 },
                  { 4, 0, 3 } };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ep.n_locations = cases[i].n;
        ep.quorum = cases[i].quorum;
        assert_int_equal(config_quorum_required(&ep), cases[i].want);
    }
    assert_true(config_location_name_valid("a"));
    assert_true(config_location_name_valid("0123456789012345678901234567890x"));
    assert_false(config_location_name_valid("0123456789012345678901234567890xy"));
    assert_false(config_location_name_valid(""));
    assert_false(config_location_name_valid("a b"));
    assert_false(config_location_name_valid("fr/a"));
    assert_false(config_location_name_valid(NULL));
    ep.n_locations = 0;
    assert_true(config_endpoint_at(&ep, "anywhere")); /* a hand-built endpoint: everywhere */
}

/* A probe host's file: workers only; the rest comes from the central. */
static void test_probe_host(void **state)
{
    struct ct *t = *state;
    struct keys k;
    make_keys(t, &k);
    char text[4096];
    snprintf(text, sizeof text,
             "supervisor = { location = \"fra\"; workers = 3; run_dir = \"run\"; log_level = \"debug\"; };\n"
             "bus = { central_address = \"tcp://127.0.0.1:17000\"; curve_key_file = \"fra.key\";\n"
             "        curve_server_key = \"%s\"; };\n",
             k.central);
    struct cw_config *c = ct_load(t, text);
    if (!c) ct_dump(t);
    assert_non_null(c);
    assert_int_equal(t->n_msgs, 0);
    assert_true(config_is_probe_host(c));
    assert_string_equal(c->location, "fra");
    assert_string_equal(c->central_address, "tcp://127.0.0.1:17000");
    assert_null(c->store_address);
    assert_null(c->alert_address);
    assert_null(c->publish_address);
    assert_null(c->tap_address);
    assert_null(c->config_address);
    assert_int_equal(c->workers, 3);
    assert_int_equal(c->n_endpoints, 0);
    const char *names[2];
    assert_int_equal(config_location_names(c, names, 2), 1);
    assert_string_equal(names[0], "fra");
    config_free(c);
}

/* Every bad key of a probe host's file, each at its line. */
static void test_probe_host_refusals(void **state)
{
    struct ct *t = *state;
    struct keys k;
    make_keys(t, &k);
    char text[4096], bus[1024];
    snprintf(bus, sizeof bus,
             "bus = { central_address = \"tcp://127.0.0.1:17000\"; curve_key_file = \"fra.key\";\n"
             "        curve_server_key = \"%s\";\n",
             k.central);
    snprintf(text, sizeof text,
             "supervisor = { location = \"fra\"; };\n%s store_address = \"tcp://127.0.0.1:1\";\n"
             " config_address = \"tcp://127.0.0.1:2\"; curve_allowed_keys = [\"%s\"]; };\n"
             "monitor = { endpoints = ( { url = \"http://127.0.0.1:1/a\"; } ); };\n"
             "database = { db_activation = true; };\nalerts = { quorum = 2; };\nweb = { listen = \"127.0.0.1:1\"; };\n"
             "groups = ( { name = \"g\"; } );\nmaintenance = ( { name = \"m\"; } );\nlocations = ( );\n"
             "email = { smtp_host = \"h\"; };\n",
             bus, k.fra);
    struct cw_config *c = ct_load(t, text);
    if (!c) {
        static const struct {
            int line;
            const char *needle;
        } want[] = {
            { 4, "bus.store_address: a probe host takes its endpoints and bus addresses from the central host" },
            { 5, "bus.config_address: a probe host" },
            { 5, "remove `bus.curve_allowed_keys`" },
            { 6, "monitor: a probe host takes its endpoints from the central host (bus.central_address): remove "
                 "`monitor`" },
            { 7, "remove `database`" },
            { 8, "remove `alerts`" },
            { 9, "remove `web`" },
            { 10, "remove `groups`" },
            { 11, "remove `maintenance`" },
            { 12, "remove `locations`" },
            { 13, "remove `email`" },
        };
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
            if (ct_find(t, want[i].line, want[i].needle) < 0) {
                fprintf(stderr, "missing: line %d %s\n", want[i].line, want[i].needle);
                ct_dump(t);
            }
            assert_true(ct_find(t, want[i].line, want[i].needle) >= 0);
        }
    }
    assert_null(c);
    /* what a probe host needs: its location named, its key pair, the central's key, a tcp:// central */
    const struct ct_bad_case cases[] = {
        { "bus = { central_address = \"tcp://127.0.0.1:17000\"; curve_key_file = \"fra.key\";\n"
          " curve_server_key = \"0000000000000000000000000000000000000000\"; };\n",
          1, "bus.central_address: a probe host needs supervisor.location" },
        { "supervisor = { location = \"fra\"; };\nbus = { central_address = \"tcp://127.0.0.1:17000\"; };\n", 2,
          "a probe host needs bus.curve_key_file" },
        { "supervisor = { location = \"fra\"; };\nbus = { central_address = \"tcp://127.0.0.1:17000\"; };\n", 2,
          "a probe host needs bus.curve_server_key" },
        { "supervisor = { location = \"fra\"; };\nbus = { central_address = \"ipc:///tmp/x.sock\";\n"
          " curve_key_file = \"fra.key\"; curve_server_key = \"0000000000000000000000000000000000000000\"; };\n",
          2, "bus.central_address: the central host is reached over tcp://" },
        { "supervisor = { location = \"fra\"; };\nbus = { central_address = \"tcp://nohost\";\n"
          " curve_key_file = \"fra.key\"; curve_server_key = \"0000000000000000000000000000000000000000\"; };\n",
          2, "bus.central_address: tcp:// address needs host:port" },
        { "supervisor = { location = \"fra\";\n workers = 0; };\nbus = { central_address = \"tcp://127.0.0.1:1\";\n"
          " curve_key_file = \"fra.key\"; curve_server_key = \"0000000000000000000000000000000000000000\"; };\n",
          2, "supervisor.workers: 0 on a probe host" },
        { "supervisor = { location = \"fra\"; };\nbus = { central_address = \"tcp://0.0.0.0:17000\";\n"
          " curve_key_file = \"fra.key\"; curve_server_key = \"0000000000000000000000000000000000000000\"; };\n",
          2, "bus.central_address: a wildcard host is where a server listens" },
        { "supervisor = { location = \"fra\"; };\nbus = { central_address = \"tcp://*:17000\";\n"
          " curve_key_file = \"fra.key\"; curve_server_key = \"0000000000000000000000000000000000000000\"; };\n",
          2, "bus.central_address: a wildcard host is where a server listens" },
    };
    ct_expect_all_refused(t, cases, sizeof cases / sizeof cases[0]);
    /* the probe's own public key as the central's: only "not answering" at run time, so refused here */
    char own[1024];
    snprintf(own, sizeof own,
             "supervisor = { location = \"fra\"; };\nbus = { central_address = \"tcp://127.0.0.1:17000\";\n"
             " curve_key_file = \"fra.key\";\n curve_server_key = \"%s\"; };\n",
             k.fra);
    assert_null(ct_load(t, own));
    assert_true(ct_find(t, 4, "bus.curve_server_key: this is the probe host's own public key") >= 0);
}

/* Every bad key of a central host's file, each at its line. */
static void test_central_refusals(void **state)
{
    struct ct *t = *state;
    struct keys k;
    make_keys(t, &k);
#define EP1(extra) "monitor = { endpoints = (\n { url = \"http://127.0.0.1:1/a\"; " extra " } ); };\n"
    /* line 7 onwards (the head is CENTRAL_HEAD with workers 2) */
    const struct {
        const char *rest;
        int line;
        const char *needle;
    } cases[] = {
        { EP1("locations = [\"sgp\"];"), 8,
          "monitor.endpoints[0].locations: no location is named 'sgp' (the known ones: central, fra, nyc)" },
        { EP1("locations = [];"), 8, "monitor.endpoints[0].locations: empty: it would be checked nowhere" },
        { EP1("locations = 3;"), 8, "monitor.endpoints[0].locations: expected a list of strings" },
        { EP1("locations = [\"fra\"]; quorum = 2;"), 8,
          "monitor.endpoints[0]: quorum 2 (its own) is more than its 1 location" },
        { EP1("quorum = 0;"), 8, "monitor.endpoints[0].quorum: must be between 1 and 64 (got 0)" },
        { EP1("quorum = \"most\";"), 8, "monitor.endpoints[0].quorum: 'most' is not a quorum" },
        { EP1("quorum = 1.5;"), 8, "monitor.endpoints[0].quorum: expected a number of locations" },
        { "alerts = { quorum = 4; };\n" EP1(""), 9,
          "monitor.endpoints[0]: quorum 4 (alerts.quorum) is more than its 3 locations" },
        { "alerts = { quorum = true; };\n", 7,
          "alerts.quorum: expected a number of locations, \"majority\" or \"all\"" },
        { "alerts = { location_silent_after = 2; };\n", 7, "alerts.location_silent_after: must be at least 3" },
        { "alerts = { location_silent_after = 3601; };\n", 7, "alerts.location_silent_after: must be at most 3600" },
        { "groups = ( { name = \"g\"; locations = [\"xx\"]; } );\n", 7,
          "groups[0].locations: no location is named 'xx'" },
        { "groups = ( { name = \"g\"; quorum = \"some\"; } );\n", 7, "groups[0].quorum: 'some' is not a quorum" },
        { "groups = ( { name = \"g\"; locations = [\"fra\"]; quorum = 2; } );\n" EP1("group = \"g\";"), 9,
          "monitor.endpoints[0]: quorum 2 (its group's) is more than its 1 location" },
        { EP1("type = \"push\"; name = \"p\"; token = \"0123456789abcdef0123\"; locations = [\"fra\"];") "web = { listen = \"127.0.0.1:1\"; };\n",
          8,
          "monitor.endpoints[0].locations: a push check is checked where the web is (this host, location 'central'): "
          "'fra' is another location" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cw_config *c = load_central(t, &k, "2", cases[i].rest);
        if (c || ct_find(t, cases[i].line, cases[i].needle) < 0) {
            fprintf(stderr, "case %zu: expected line %d '%s' for:\n%s", i, cases[i].line, cases[i].needle,
                    cases[i].rest);
            ct_dump(t);
        }
        assert_null(c);
        assert_true(ct_find(t, cases[i].line, cases[i].needle) >= 0);
    }
    /* push endpoints need this host's workers */
    struct cw_config *c = load_central(
        t, &k, "0",
        EP1("type = \"push\"; name = \"p\"; token = \"0123456789abcdef0123\";") "web = { listen = \"127.0.0.1:1\"; };\n");
    assert_null(c);
    assert_true(ct_find(t, 8,
                        "monitor.endpoints[0]: a push check is checked where the web is, by this host's workers: "
                        "supervisor.workers is 0") >= 0);
#undef EP1
}

/* The `locations` list and what it needs of the bus; supervisor.location and bus.config_address. */
static void test_locations_refusals(void **state)
{
    struct ct *t = *state;
    struct keys k;
    make_keys(t, &k);
    char texts[12][2048];
    const char *bus_ok =
        "bus = { config_address = \"tcp://127.0.0.1:17000\"; store_address = \"tcp://127.0.0.1:17001\";\n"
        " alert_address = \"tcp://127.0.0.1:17002\"; publish_address = \"tcp://127.0.0.1:17003\";\n"
        " curve_key_file = \"central.key\"; };\n";
    int i = 0;
    snprintf(texts[i++], sizeof texts[0],
             "locations = ( { name = \"fra\"; key = \"%s\"; },\n { name = \"fra\"; key = \"%s\"; } );\n%s", k.fra,
             k.nyc, bus_ok);
    snprintf(texts[i++], sizeof texts[0],
             "locations = ( { name = \"fra\"; key = \"%s\"; },\n { name = \"nyc\"; key = \"%s\"; } );\n%s", k.fra,
             k.fra, bus_ok);
    snprintf(texts[i++], sizeof texts[0], "locations = ( { name = \"local\";\n key = \"%s\"; } );\n%s", k.fra, bus_ok);
    snprintf(texts[i++], sizeof texts[0], "locations = ( { name = \"f r a\"; key = \"%s\"; } );\n%s", k.fra, bus_ok);
    snprintf(texts[i++], sizeof texts[0], "locations = ( { name = \"fra\"; key = \"short\"; } );\n%s", bus_ok);
    snprintf(texts[i++], sizeof texts[0], "locations = ( { name = \"fra\"; } );\n%s", bus_ok);
    snprintf(texts[i++], sizeof texts[0], "locations = ( { name = \"fra\"; key = \"%s\"; colour = 1; } );\n%s", k.fra,
             bus_ok);
    snprintf(texts[i++], sizeof texts[0],
             "locations = ( { name = \"fra\"; key = \"%s\"; } );\n"
             "bus = { store_address = \"tcp://127.0.0.1:17001\"; alert_address = \"tcp://127.0.0.1:17002\";\n"
             " publish_address = \"tcp://127.0.0.1:17003\"; };\n",
             k.fra);
    snprintf(texts[i++], sizeof texts[0],
             "locations = ( { name = \"fra\"; key = \"%s\"; } );\n"
             "bus = { config_address = \"tcp://127.0.0.1:17000\"; curve_key_file = \"central.key\"; };\n",
             k.fra);
    snprintf(texts[i++], sizeof texts[0],
             "locations = ( { name = \"fra\"; key = \"%s\"; } );\n"
             "bus = { config_address = \"tcp://127.0.0.1:17000\"; curve_key_file = \"central.key\"; };\n",
             k.central);
    const struct ct_bad_case cases[] = {
        { texts[0], 2, "locations[1].name: another location is named 'fra'" },
        { texts[1], 2, "locations[1].key: the key of location 'fra' too" },
        { texts[2], 1, "locations[0].name: 'local' is this host's own supervisor.location" },
        { texts[3], 1, "locations[0].name: 'f r a' is not a location name" },
        { texts[4], 1, "locations[0].key: expected the probe host's public key" },
        { texts[5], 1, "locations[0]: key is required" },
        { texts[6], 1, "unknown key 'colour' in locations[0]" },
        { texts[7], 1, "locations: probe hosts need CURVE: set bus.curve_key_file" },
        { texts[7], 1, "locations: probe hosts fetch their configuration from bus.config_address: set it" },
        { texts[8], 1, "locations: probe hosts need store_address on tcp://" },
        { texts[9], 1, "locations[0].key: this host's own public key" },
        { "locations = { name = \"fra\"; };\n", 1, "locations: expected a list of groups" },
        { "supervisor = { location = \"a/b\"; };\n", 1, "supervisor.location: 'a/b' is not a location name" },
        { "supervisor = { location = \"\"; };\n", 1, "supervisor.location: must not be empty" },
        { "supervisor = { location = 3; };\n", 1, "supervisor.location: expected a string" },
        { "bus = { config_address = \"udp://x:1\"; };\n", 1,
          "bus.config_address: address must start with ipc:// or tcp://" },
        { "bus = { config_address = \"tcp://10.1.2.3:7000\"; };\n", 1,
          "bus.config_address: tcp://10.1.2.3:7000 is reachable from other hosts, which needs CURVE" },
        { "bus = { store_address = \"tcp://127.0.0.1:7000\";\n config_address = \"tcp://127.0.0.1:7000\"; };\n", 2,
          "bus.config_address: the same address as bus.store_address" },
        { "alerts = { channels = ( { name = \"x\"; type = \"webhook\"; url = \"http://127.0.0.1:1/\";\n"
          " kinds = [\"down\", \"location_sad\"]; } ); };\n",
          2, "is not an alert kind" },
    };
    ct_expect_all_refused(t, cases, sizeof cases / sizeof cases[0]);
    /* the two new alert kinds are accepted by a channel */
    struct cw_config *c =
        ct_load(t, "alerts = { channels = ( { name = \"x\"; type = \"webhook\"; url = \"http://127.0.0.1:1/\";\n"
                   " kinds = [\"location_silent\", \"Location_Back\"]; } ); };\n");
    if (!c) ct_dump(t);
    assert_non_null(c);
    assert_int_equal(c->channels[0].kinds, (1u << CW_ALERT_LOCATION_SILENT) | (1u << CW_ALERT_LOCATION_BACK));
    config_free(c);
    /* config_address on ipc:// (a relative path, under the config's directory) */
    c = ct_load(t, "bus = { config_address = \"ipc://run/config.sock\"; };\n");
    if (!c) ct_dump(t);
    assert_non_null(c);
    char want[600];
    snprintf(want, sizeof want, "ipc://%s/run/config.sock", c->dir);
    assert_string_equal(c->config_address, want);
    config_free(c);
}

/* The snapshot carries everything; a worker keeps only the endpoints of its own location. */
static void test_snapshot(void **state)
{
    struct ct *t = *state;
    struct keys k;
    make_keys(t, &k);
    struct cw_config *c = load_central(t, &k, "2", central_rest);
    assert_non_null(c);
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/config.snap", t->dir);
    assert_int_equal(config_snapshot_write(c, path, err, sizeof err), 0);
    struct cw_config *all = config_snapshot_read(path, 0, 0, err, sizeof err);
    if (!all) fprintf(stderr, "%s\n", err);
    assert_non_null(all);
    assert_true(config_same(c, all));
    assert_string_equal(all->location, "central");
    assert_string_equal(all->config_address, "tcp://127.0.0.1:17000");
    assert_int_equal(all->n_locations, 2);
    assert_string_equal(all->locations[1].name, "nyc");
    assert_string_equal(all->locations[1].key, k.nyc);
    assert_int_equal(all->quorum, CW_QUORUM_ALL);
    assert_true(all->location_silent_after == 20);
    assert_int_equal(all->n_group_settings, 1);
    assert_int_equal(all->group_settings[0].n_locations, 1);
    assert_int_equal(all->group_settings[0].quorum, 1);
    assert_int_equal(all->n_endpoints, 5);
    assert_int_equal(all->endpoints[0].n_locations, 2);
    assert_ptr_equal(all->endpoints[0].locations[1], all->locations[1].name); /* shared, not copied */
    assert_int_equal(all->endpoints[0].quorum, 2);
    assert_int_equal(all->endpoints[2].n_locations, 3);
    assert_ptr_equal(all->endpoints[2].locations[0], all->location);
    assert_int_equal(all->endpoints[4].quorum, CW_QUORUM_MAJORITY);
    config_free(all);
    /* a worker of this host (location central): /default, the push check and /here; not /own nor /group */
    size_t kept = 0;
    for (unsigned slot = 0; slot < 2; slot++) {
        struct cw_config *w = config_snapshot_read(path, slot, 2, err, sizeof err);
        assert_non_null(w);
        for (size_t i = 0; i < w->n_endpoints; i++) {
            assert_true(config_endpoint_at(&w->endpoints[i], "central"));
            assert_int_equal(cw_shard_of(w->endpoints[i].url, 2), slot);
        }
        kept += w->n_endpoints;
        config_free(w);
    }
    assert_int_equal(kept, 3);
    config_free(c);

    /* a snapshot naming a bad location is refused */
    struct cw_config hand = { .location = "bad name", .workers = 1 };
    assert_int_equal(config_snapshot_write(&hand, path, err, sizeof err), 0);
    assert_null(config_snapshot_read(path, 0, 0, err, sizeof err));
    assert_non_null(strstr(err, "malformed"));
    hand.location = "ok";
    hand.quorum = 65;
    assert_int_equal(config_snapshot_write(&hand, path, err, sizeof err), 0);
    assert_null(config_snapshot_read(path, 0, 0, err, sizeof err));
    hand.quorum = 0;
    hand.location_silent_after = 1e9;
    assert_int_equal(config_snapshot_write(&hand, path, err, sizeof err), 0);
    assert_null(config_snapshot_read(path, 0, 0, err, sizeof err));
    hand.location_silent_after = 0;
    assert_int_equal(config_snapshot_write(&hand, path, err, sizeof err), 0);
    struct cw_config *ok = config_snapshot_read(path, 0, 0, err, sizeof err);
    assert_non_null(ok);
    assert_string_equal(ok->location, "ok");
    config_free(ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_central, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_single_host_defaults, ct_setup, ct_teardown),
        cmocka_unit_test(test_quorum_required),
        cmocka_unit_test_setup_teardown(test_probe_host, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_probe_host_refusals, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_central_refusals, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_locations_refusals, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_snapshot, ct_setup, ct_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
