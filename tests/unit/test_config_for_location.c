/* tests/unit/test_config_for_location.c — what a central host sends its probe hosts (issue 16, docs/config.md
 * "Locations"): config_for_location keeps only the endpoints of that location, with their check secrets (the probe
 * checks with them), and nothing else secret or central (database, SMTP, channels, web, maintenance, the other
 * locations and their keys, push checks); config_snapshot_encode gives the bytes of the snapshot file and
 * config_snapshot_decode reads them back. */
#include "cfgtest_util.h"

#include "common/bus/bus_keys.h"

/* The central file, with fra's and nyc's keys and a client certificate's paths (cert, key) of the test. */
static struct cw_config *load_central(struct ct *t, const char *workers)
{
    char path[512], err[512], fra[BUS_KEY_Z85_LEN + 1], nyc[BUS_KEY_Z85_LEN + 1], central[BUS_KEY_Z85_LEN + 1];
    const char *files[] = { "central.key", "fra.key", "nyc.key" };
    char *pubs[] = { central, fra, nyc };
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", t->dir, files[i]);
        unlink(path);
        assert_int_equal(bus_keygen(path, pubs[i], err, sizeof err), 0);
    }
    ct_write(t, "cert.pem", "-----BEGIN CERTIFICATE-----\n", 0600);
    ct_write(t, "key.pem", "-----BEGIN PRIVATE KEY-----\n", 0600);
    ct_write(t, "key.pw", "key-secret\n", 0600);
    ct_write(t, "db.pw", "db-secret\n", 0600);
    ct_write(t, "web.pw", "web-secret\n", 0600);
    char text[8192];
    snprintf(
        text, sizeof text,
        "supervisor = { location = \"central\"; workers = %s; };\n"
        "locations = ( { name = \"fra\"; key = \"%s\"; }, { name = \"nyc\"; key = \"%s\"; } );\n"
        "bus = { config_address = \"tcp://127.0.0.1:17000\"; store_address = \"tcp://127.0.0.1:17001\";\n"
        "        alert_address = \"tcp://127.0.0.1:17002\"; publish_address = \"tcp://127.0.0.1:17003\";\n"
        "        tap_address = \"tcp://127.0.0.1:17004\"; curve_key_file = \"central.key\";\n"
        "        curve_allowed_keys = [\"%s\"]; };\n"
        "database = { db_activation = true; db_driver = \"postgresql\"; db_name = \"cw\"; db_user = \"cw\";\n"
        "             db_host = \"db.example\"; db_password_file = \"db.pw\"; };\n"
        "email = { smtp_host = \"smtp.example\"; email_from = \"cw@example.com\"; email_to = \"ops@example.com\";\n"
        "          smtp_user = \"u\"; smtp_password = \"smtp-secret\"; };\n"
        "alerts = { quorum = 2; location_silent_after = 30;\n"
        "  channels = ( { name = \"pd\"; type = \"pagerduty\"; routing_key = \"pd-secret\"; } ); };\n"
        "web = { listen = \"127.0.0.1:1\"; auth_user = \"ops\"; auth_password_file = \"web.pw\"; };\n"
        "groups = ( { name = \"eu\"; locations = [\"fra\", \"nyc\"]; notify = [\"pd\"]; } );\n"
        "maintenance = ( { name = \"m\"; days = [\"sun\"]; from = \"01:00\"; to = \"02:00\"; } );\n"
        "monitor = { check_interval = 30; latency_threshold = 2; endpoints = (\n"
        " { url = \"https://user:url-secret@shop.example/\"; name = \"shop\"; group = \"eu\";\n"
        "   headers = [\"Authorization: Bearer hdr-secret\"]; client_cert = \"%s/cert.pem\";\n"
        "   client_key = \"%s/key.pem\"; client_key_password_file = \"key.pw\"; depends_on = \"api\"; },\n"
        " { url = \"https://api.example/\"; name = \"api\"; locations = [\"nyc\"]; quorum = 1; },\n"
        " { url = \"https://here.example/\"; locations = [\"central\", \"fra\"]; },\n"
        " { type = \"push\"; name = \"beat\"; token = \"0123456789abcdef0123\"; }\n"
        "); };\n",
        workers, fra, nyc, fra, t->dir, t->dir);
    struct cw_config *c = ct_load(t, text);
    if (!c) ct_dump(t);
    return c;
}

/* Every byte of what the probe may see: none of the central's secrets is in it. */
static void assert_no_secret(const struct cw_config *c)
{
    unsigned char *bytes = NULL;
    size_t len = 0;
    char err[256];
    assert_int_equal(config_snapshot_encode(c, &bytes, &len, err, sizeof err), 0);
    const char *secrets[] = { "db-secret",  "smtp-secret",  "pd-secret",  "web-secret", "0123456789abcdef0123",
                              "db.example", "smtp.example", "central.key" };
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
        assert_null(memmem(bytes, len, secrets[i], strlen(secrets[i])));
    free(bytes);
}

static void test_for_location(void **state)
{
    struct ct *t = *state;
    struct cw_config *c = load_central(t, "2");
    assert_non_null(c);
    char err[256];
    setenv("CLOCKWERK_SECRETS", "none", 1); /* whatever the supervisor's environment: the probe gets its secrets */
    struct cw_config *fra = config_for_location(c, "fra", err, sizeof err);
    unsetenv("CLOCKWERK_SECRETS");
    if (!fra) fprintf(stderr, "%s\n", err);
    assert_non_null(fra);
    assert_string_equal(fra->location, "fra");
    assert_false(config_is_probe_host(fra));
    assert_int_equal(fra->n_locations, 0);
    assert_null(fra->config_address);
    assert_null(fra->curve_key_file);
    assert_null(fra->curve_server_key);
    assert_int_equal(fra->n_curve_allowed_keys, 0);
    assert_null(fra->store_address);
    assert_int_equal(fra->workers, 0);
    assert_false(fra->db_activation);
    assert_null(fra->db_password);
    assert_null(fra->db_host);
    assert_false(fra->email_enabled);
    assert_null(fra->smtp_password);
    assert_int_equal(fra->n_channels, 0);
    assert_int_equal(fra->n_default_notify, 0);
    assert_int_equal(fra->n_group_settings, 0);
    assert_int_equal(fra->n_maintenance, 0);
    assert_false(fra->web_enabled);
    assert_null(fra->web_auth_password);
    assert_null(fra->path);
    assert_int_equal(fra->quorum, 2);
    assert_true(fra->location_silent_after == 30);
    assert_true(fra->check_interval == 30);
    assert_true(fra->latency_threshold == 2);
    /* shop (its group's locations) and here; not api (nyc only), never the push check */
    assert_int_equal(fra->n_endpoints, 2);
    const struct cw_endpoint *shop = &fra->endpoints[0];
    assert_string_equal(shop->url, "https://user:url-secret@shop.example/");
    assert_string_equal(shop->spec->headers[0], "Authorization: Bearer hdr-secret");
    assert_string_equal(shop->spec->client_key_password, "key-secret");
    assert_non_null(shop->spec->client_cert);
    assert_null(shop->group);
    assert_int_equal(shop->n_notify, 0);
    assert_null(shop->depends_on);
    assert_int_equal(shop->depends_on_idx, -1);
    assert_int_equal(shop->n_locations, 2);
    assert_int_equal(shop->quorum, 2);
    assert_string_equal(fra->endpoints[1].url, "https://here.example/");
    assert_true(config_endpoint_at(&fra->endpoints[1], "fra"));
    assert_no_secret(fra);
    config_free(fra);

    struct cw_config *nyc = config_for_location(c, "nyc", err, sizeof err);
    assert_non_null(nyc);
    assert_int_equal(nyc->n_endpoints, 2);
    assert_string_equal(nyc->endpoints[0].url, "https://user:url-secret@shop.example/");
    assert_string_equal(nyc->endpoints[1].url, "https://api.example/");
    config_free(nyc);

    /* the central's own location: its endpoints but no push check */
    struct cw_config *own = config_for_location(c, "central", err, sizeof err);
    assert_non_null(own);
    assert_int_equal(own->n_endpoints, 1);
    config_free(own);

    assert_null(config_for_location(c, "sgp", err, sizeof err));
    assert_non_null(strstr(err, "unknown location 'sgp'"));
    assert_null(config_for_location(c, NULL, err, sizeof err));
    c->workers = 0; /* without workers, the central's own name is no location */
    assert_null(config_for_location(c, "central", err, sizeof err));
    config_free(c);
}

/* encode: the bytes of the snapshot file; decode: the whole configuration back. */
static void test_encode_decode(void **state)
{
    struct ct *t = *state;
    struct cw_config *c = load_central(t, "2");
    assert_non_null(c);
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/config.snap", t->dir);
    assert_int_equal(config_snapshot_write(c, path, err, sizeof err), 0);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static unsigned char file[1 << 16];
    size_t flen = fread(file, 1, sizeof file, f);
    fclose(f);
    unsigned char *bytes = NULL;
    size_t len = 0;
    assert_int_equal(config_snapshot_encode(c, &bytes, &len, err, sizeof err), 0);
    assert_int_equal(len, flen);
    assert_memory_equal(bytes, file, len);
    struct cw_config *back = config_snapshot_decode(bytes, len, err, sizeof err);
    assert_non_null(back);
    assert_true(config_same(c, back));
    assert_string_equal(back->locations[1].name, "nyc");
    config_free(back);
    /* the probe's check of what it received: every damage is an error, never a crash */
    for (size_t cut = 0; cut < len; cut += len / 97 + 1)
        assert_null(config_snapshot_decode(bytes, cut, err, sizeof err));
    bytes[len - 1] ^= 0x5a;
    assert_null(config_snapshot_decode(bytes, len, err, sizeof err));
    assert_non_null(strstr(err, "checksum"));
    assert_null(config_snapshot_decode(NULL, 0, err, sizeof err));
    free(bytes);

    /* a location's copy travels the same way */
    struct cw_config *fra = config_for_location(c, "fra", err, sizeof err);
    assert_non_null(fra);
    assert_int_equal(config_snapshot_encode(fra, &bytes, &len, err, sizeof err), 0);
    back = config_snapshot_decode(bytes, len, err, sizeof err);
    assert_non_null(back);
    assert_true(config_same(fra, back));
    free(bytes);
    config_free(back);
    config_free(fra);
    config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_for_location, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_encode_decode, ct_setup, ct_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
