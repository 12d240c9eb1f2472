/* tests/unit/test_locdist.c — the pure parts of the locations' configuration distribution (issue 16,
 * supervisor/confserve.h, confetch.h, probe.h): who the central serves, the probe's poll timing, the central.snap
 * container, a wildcard host replaced by the central's, and the local settings put over the central's
 * configuration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/base/util.h"
#include "common/bus/bus_keys.h"
#include "common/config/config.h"
#include "supervisor/confetch.h"
#include "supervisor/confserve.h"
#include "supervisor/probe.h"

#define S (1000000000LL)
#define KEY_FRA "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
#define KEY_NYC "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"

static void test_admit(void **state)
{
    (void)state;
    struct confserve_loc locs[2] = { { .name = "fra" }, { .name = "nyc" } };
    snprintf(locs[0].key, sizeof locs[0].key, "%s", KEY_FRA);
    snprintf(locs[1].key, sizeof locs[1].key, "%s", KEY_NYC);
    char why[300];
    /* the location's own key */
    assert_int_equal(confserve_admit(locs, 2, true, "nyc", KEY_NYC, why, sizeof why), 1);
    assert_int_equal(confserve_admit(locs, 2, true, "fra", KEY_FRA, why, sizeof why), 0);
    /* another location's key: refused, naming the key and the location */
    assert_int_equal(confserve_admit(locs, 2, true, "fra", KEY_NYC, why, sizeof why), -1);
    assert_non_null(strstr(why, KEY_NYC));
    assert_non_null(strstr(why, "fra"));
    /* no key over CURVE; an unknown location (the central's own one is not a probe location) */
    assert_int_equal(confserve_admit(locs, 2, true, "fra", "", why, sizeof why), -1);
    assert_int_equal(confserve_admit(locs, 2, true, "central", KEY_FRA, why, sizeof why), -1);
    assert_non_null(strstr(why, "unknown location \"central\""));
    /* without CURVE no key can be checked: any known location is served, an unknown one still refused */
    assert_int_equal(confserve_admit(locs, 2, false, "fra", "", why, sizeof why), 0);
    assert_int_equal(confserve_admit(locs, 2, false, "sgp", "", why, sizeof why), -1);
}

static void test_refusal_memory(void **state)
{
    (void)state;
    struct confserve_refusal mem[3];
    memset(mem, 0, sizeof mem);
    struct ratelimit lines = { .what = "refused configuration requests" };
    uint64_t unlogged;
    /* the first refusal of a pair is logged, the next ones within 10 minutes are counted; other pairs are news */
    assert_true(confserve_refusal_news(mem, 3, &lines, KEY_NYC, "fra", 1 * S, &unlogged));
    assert_int_equal(unlogged, 0);
    assert_true(confserve_refusal_news(mem, 3, &lines, KEY_NYC, "sgp", 2 * S, &unlogged));
    assert_true(confserve_refusal_news(mem, 3, &lines, KEY_FRA, "nyc", 3 * S, &unlogged));
    for (int i = 0; i < 100; i++)
        assert_false(confserve_refusal_news(mem, 3, &lines, KEY_NYC, "sgp", 4 * S + i * S, &unlogged));
    /* 10 minutes after its line: logged again, with the count of what was not */
    assert_true(confserve_refusal_news(mem, 3, &lines, KEY_NYC, "sgp", 2 * S + CONFSERVE_RELOG_NS, &unlogged));
    assert_int_equal(unlogged, 100);
    assert_false(confserve_refusal_news(mem, 3, &lines, KEY_NYC, "sgp", 3 * S + CONFSERVE_RELOG_NS, &unlogged));
    /* a fourth pair takes the place of the least recently logged one (nyc/fra), which is news again after */
    assert_true(confserve_refusal_news(mem, 3, &lines, "(none)", "fra", 5 * S + CONFSERVE_RELOG_NS, &unlogged));
    assert_false(confserve_refusal_news(mem, 3, &lines, KEY_NYC, "sgp", 6 * S + CONFSERVE_RELOG_NS, &unlogged));
    assert_true(confserve_refusal_news(mem, 3, &lines, KEY_NYC, "fra", 7 * S + CONFSERVE_RELOG_NS, &unlogged));
    assert_int_equal(unlogged, 0);
}

/* A refusal the rate limit across pairs leaves out is counted for its pair's next line, not lost. */
static void test_refusal_rate_limited(void **state)
{
    (void)state;
    struct confserve_refusal mem[CONFSERVE_REFUSALS];
    memset(mem, 0, sizeof mem);
    struct ratelimit lines = { .what = "refused configuration requests" };
    uint64_t unlogged;
    const char *names[RATELIMIT_LINES + 1] = { "l0", "l1", "l2", "l3", "l4", "l5" };
    for (int i = 0; i < RATELIMIT_LINES; i++) /* the window's lines used by other pairs */
        assert_true(confserve_refusal_news(mem, CONFSERVE_REFUSALS, &lines, KEY_NYC, names[i], 1 * S, &unlogged));
    /* the sixth pair's first refusal: news, but no line left in this window */
    assert_false(confserve_refusal_news(mem, CONFSERVE_REFUSALS, &lines, KEY_FRA, names[5], 2 * S, &unlogged));
    assert_false(confserve_refusal_news(mem, CONFSERVE_REFUSALS, &lines, KEY_FRA, names[5], 3 * S, &unlogged));
    /* the next window: its line comes at once, counting the two left out before it */
    assert_true(confserve_refusal_news(mem, CONFSERVE_REFUSALS, &lines, KEY_FRA, names[5], 4 * S + RATELIMIT_WINDOW_NS,
                                       &unlogged));
    assert_int_equal(unlogged, 2);
    assert_false(confserve_refusal_news(mem, CONFSERVE_REFUSALS, &lines, KEY_FRA, names[5], 5 * S + RATELIMIT_WINDOW_NS,
                                        &unlogged));
}

static void test_keys_checked(void **state)
{
    (void)state;
    struct cw_config cfg;
    memset(&cfg, 0, sizeof cfg);
    assert_false(confserve_keys_checked(&cfg, "tcp://127.0.0.1:7000"));
    cfg.curve_key_file = "/etc/clockwerk/central.key";
    assert_true(confserve_keys_checked(&cfg, "tcp://127.0.0.1:7000"));
    assert_false(confserve_keys_checked(&cfg, "ipc:///run/clockwerk/config.sock"));
}

static void test_poll_timing(void **state)
{
    (void)state;
    struct fetch_poll p;
    bool silent;
    fetch_poll_init(&p, 5 * S, 100 * S);
    assert_int_equal(p.next_ns, 100 * S); /* the first request at once */
    assert_int_equal(fetch_poll_send(&p, 100 * S, 1000, &silent), FETCH_SEND_FIRST);
    assert_false(silent);
    assert_int_equal(p.next_ns, 105 * S);
    assert_false(fetch_poll_answered(&p)); /* answered: the next one is a first send again */
    assert_int_equal(fetch_poll_send(&p, 105 * S, 2000, &silent), FETCH_SEND_FIRST);
    /* unanswered: each next send reopens; the third miss in a row is "not answering", told once */
    assert_int_equal(fetch_poll_send(&p, 110 * S, 3000, &silent), FETCH_SEND_AGAIN);
    assert_false(silent);
    assert_int_equal(fetch_poll_send(&p, 115 * S, 4000, &silent), FETCH_SEND_AGAIN);
    assert_false(silent);
    assert_int_equal(fetch_poll_send(&p, 120 * S, 5000, &silent), FETCH_SEND_AGAIN);
    assert_true(silent);
    assert_int_equal(p.silent_since_us, 2000); /* since the first unanswered request */
    assert_int_equal(fetch_poll_send(&p, 125 * S, 6000, &silent), FETCH_SEND_AGAIN);
    assert_false(silent);
    /* it answers: "answering again", once */
    assert_true(fetch_poll_answered(&p));
    assert_false(fetch_poll_answered(&p));
    assert_int_equal(fetch_poll_send(&p, 130 * S, 7000, &silent), FETCH_SEND_FIRST);
    assert_int_equal(p.silent_since_us, 7000);
}

static void test_poll_interval(void **state)
{
    (void)state;
    assert_int_equal(fetch_poll_interval(NULL), FETCH_POLL_DEFAULT_NS);
    assert_int_equal(fetch_poll_interval(""), FETCH_POLL_DEFAULT_NS);
    assert_int_equal(fetch_poll_interval("200"), 200000000LL);
    assert_int_equal(fetch_poll_interval("10"), FETCH_POLL_DEFAULT_NS);   /* below 50 ms */
    assert_int_equal(fetch_poll_interval("200x"), FETCH_POLL_DEFAULT_NS); /* not a number */
    assert_int_equal(fetch_poll_interval("9999999"), FETCH_POLL_DEFAULT_NS);
}

static void test_resolve_address(void **state)
{
    (void)state;
    char out[256], err[300];
    const char *central = "tcp://10.0.0.5:7000";
    assert_int_equal(probe_resolve_address("tcp://*:7001", central, out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "tcp://10.0.0.5:7001");
    assert_int_equal(probe_resolve_address("tcp://0.0.0.0:7002", central, out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "tcp://10.0.0.5:7002");
    assert_int_equal(probe_resolve_address("tcp://[::]:7003", "tcp://[fd00::5]:7000", out, sizeof out, err, sizeof err),
                     0);
    assert_string_equal(out, "tcp://[fd00::5]:7003");
    assert_int_equal(
        probe_resolve_address("tcp://*:7001", "tcp://central.example:7000", out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "tcp://central.example:7001");
    /* a named host stays as it is */
    assert_int_equal(probe_resolve_address("tcp://10.9.9.9:7001", central, out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "tcp://10.9.9.9:7001");
    /* what a probe cannot reach */
    assert_int_equal(probe_resolve_address("ipc:///run/store.sock", central, out, sizeof out, err, sizeof err), -1);
    assert_non_null(strstr(err, "ipc:///run/store.sock"));
    assert_int_equal(probe_resolve_address("tcp://*", central, out, sizeof out, err, sizeof err), -1);
    assert_int_equal(probe_resolve_address(NULL, central, out, sizeof out, err, sizeof err), -1);
    assert_int_equal(probe_resolve_address("tcp://*:7001", central, out, 12, err, sizeof err), -1); /* too long */
}

static void fill_central(struct probe_central *c, const char *bytes)
{
    memset(c, 0, sizeof *c);
    c->snap_len = strlen(bytes);
    c->snap = (unsigned char *)bytes;
    c->received_at_us = 1764900000000000LL;
    c->store_address = (char *)"tcp://*:7001";
    c->alert_address = (char *)"tcp://*:7002";
    c->publish_address = (char *)"tcp://10.0.0.5:7003";
    c->hash = probe_config_hash(c->snap, c->snap_len, c->store_address, c->alert_address, c->publish_address);
}

static void test_cache_codec(void **state)
{
    (void)state;
    struct probe_central c, back;
    fill_central(&c, "snapshot bytes of the central");
    struct cw_buf b = { 0 };
    probe_cache_encode(&c, &b);
    const char *why = NULL;
    assert_int_equal(probe_cache_decode(b.data, b.len, &back, &why), 0);
    assert_int_equal(back.hash, c.hash);
    assert_int_equal(back.received_at_us, c.received_at_us);
    assert_string_equal(back.store_address, "tcp://*:7001");
    assert_string_equal(back.alert_address, "tcp://*:7002");
    assert_string_equal(back.publish_address, "tcp://10.0.0.5:7003");
    assert_int_equal(back.snap_len, c.snap_len);
    assert_memory_equal(back.snap, c.snap, c.snap_len);
    probe_central_free(&back);

    /* every truncation refused; trailing bytes, a flipped snapshot byte (hash), bad magic, another version */
    for (size_t n = 0; n < b.len; n++) assert_int_equal(probe_cache_decode(b.data, n, &back, &why), -1);
    cw_buf_put(&b, "x", 1);
    assert_int_equal(probe_cache_decode(b.data, b.len, &back, &why), -1);
    assert_string_equal(why, "trailing bytes");
    b.len--;
    b.data[b.len - 1] ^= 1;
    assert_int_equal(probe_cache_decode(b.data, b.len, &back, &why), -1);
    assert_non_null(strstr(why, "hash"));
    b.data[b.len - 1] ^= 1;
    b.data[0] = 'X';
    assert_int_equal(probe_cache_decode(b.data, b.len, &back, &why), -1);
    b.data[0] = 'C';
    b.data[8] = 9;
    assert_int_equal(probe_cache_decode(b.data, b.len, &back, &why), -1);
    cw_buf_free(&b);
}

/* A configuration's hash names its addresses too (a central reload changing only one must reach the probes), and a
 * central.snap whose address was changed is refused. */
static void test_hash_covers_addresses(void **state)
{
    (void)state;
    const char *snap = "the same endpoints";
    uint64_t h = probe_config_hash(snap, strlen(snap), "tcp://*:7001", "tcp://*:7002", "tcp://*:7003");
    assert_int_not_equal(h, probe_config_hash(snap, strlen(snap), "tcp://*:7011", "tcp://*:7002", "tcp://*:7003"));
    assert_int_not_equal(h, probe_config_hash(snap, strlen(snap), "tcp://*:7001", "tcp://*:7012", "tcp://*:7003"));
    assert_int_not_equal(h, probe_config_hash(snap, strlen(snap), "tcp://*:7001", "tcp://*:7002", "tcp://*:7013"));
    /* an address's bytes cannot move to its neighbour unnoticed */
    assert_int_not_equal(probe_config_hash(snap, strlen(snap), "ab", "c", ""),
                         probe_config_hash(snap, strlen(snap), "a", "bc", ""));
    assert_int_not_equal(h, probe_config_hash("other endpoints", 15, "tcp://*:7001", "tcp://*:7002", "tcp://*:7003"));

    struct probe_central c, back;
    fill_central(&c, "snapshot bytes of the central");
    struct cw_buf b = { 0 };
    probe_cache_encode(&c, &b);
    const char *why = NULL;
    uint8_t *port = memmem(b.data, b.len, "7001", 4);
    assert_non_null(port);
    port[3] = '9';
    assert_int_equal(probe_cache_decode(b.data, b.len, &back, &why), -1);
    assert_non_null(strstr(why, "hash"));
    cw_buf_free(&b);
}

static void test_cache_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/cw-test-locdist-XXXXXX", err[600], path[300];
    assert_non_null(mkdtemp(dir));
    struct probe_central c, back;
    assert_int_equal(probe_cache_load(dir, &back, err, sizeof err), 0); /* none yet */
    fill_central(&c, "the endpoints of fra");
    assert_int_equal(probe_cache_save(dir, &c, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/%s", dir, PROBE_CACHE_FILE);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600); /* it holds the endpoints' check secrets */
    assert_int_equal(probe_cache_load(dir, &back, err, sizeof err), 1);
    assert_int_equal(back.hash, c.hash);
    probe_central_free(&back);
    /* a damaged file is an error (the caller starts without it), never half read */
    FILE *f = fopen(path, "r+");
    assert_non_null(f);
    assert_int_equal(fseek(f, -1, SEEK_END), 0);
    fputc('!', f);
    fclose(f);
    assert_int_equal(probe_cache_load(dir, &back, err, sizeof err), -1);
    assert_non_null(strstr(err, "hash"));
    unlink(path);
    rmdir(dir);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(path, 0600);
}

/* The central's configuration for fra, through the snapshot bytes, with fra's local file over it: fra's endpoints
 * only, the local supervisor and CURVE settings, the central's addresses with the wildcard host replaced. */
static void test_effective(void **state)
{
    (void)state;
    char dir[] = "/tmp/cw-test-locdist-XXXXXX", path[300], text[4096], err[600];
    char central_pub[BUS_KEY_Z85_LEN + 1], fra_pub[BUS_KEY_Z85_LEN + 1], nyc_pub[BUS_KEY_Z85_LEN + 1];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/central.key", dir);
    assert_int_equal(bus_keygen(path, central_pub, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/fra.key", dir);
    assert_int_equal(bus_keygen(path, fra_pub, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/nyc.key", dir);
    assert_int_equal(bus_keygen(path, nyc_pub, err, sizeof err), 0);
    snprintf(text, sizeof text,
             "supervisor = { location = \"central\"; workers = 0; run_dir = \"run-central\"; };\n"
             "locations = ( { name = \"fra\"; key = \"%s\"; }, { name = \"nyc\"; key = \"%s\"; } );\n"
             "bus = { config_address = \"tcp://127.0.0.1:17000\"; store_address = \"tcp://[::]:17001\";\n"
             "  alert_address = \"tcp://0.0.0.0:17002\"; publish_address = \"tcp://127.0.0.1:17003\";\n"
             "  tap_address = \"tcp://127.0.0.1:17004\"; curve_key_file = \"central.key\"; };\n"
             "monitor = { check_interval = 7; endpoints = (\n"
             "  { url = \"http://fra.example/\"; locations = [\"fra\"]; },\n"
             "  { url = \"http://nyc.example/\"; locations = [\"nyc\"]; },\n"
             "  { url = \"http://both.example/\"; } ); };\n",
             fra_pub, nyc_pub);
    snprintf(path, sizeof path, "%s/central.conf", dir);
    write_text(path, text);
    struct cw_config *central = config_load(path, NULL, NULL);
    assert_non_null(central);
    struct cw_config *sub = config_for_location(central, "fra", err, sizeof err);
    assert_non_null(sub);
    struct probe_central c = { .received_at_us = 1 };
    assert_int_equal(config_snapshot_encode(sub, &c.snap, &c.snap_len, err, sizeof err), 0);
    c.store_address = cw_xstrdup(central->store_address);
    c.alert_address = cw_xstrdup(central->alert_address);
    c.publish_address = cw_xstrdup(central->publish_address);
    c.hash = probe_config_hash(c.snap, c.snap_len, c.store_address, c.alert_address, c.publish_address);
    config_free(sub);
    config_free(central);

    snprintf(text, sizeof text,
             "supervisor = { location = \"fra\"; workers = 3; run_dir = \"run-fra\"; log_level = \"debug\"; };\n"
             "bus = { central_address = \"tcp://127.0.0.1:17000\"; curve_key_file = \"fra.key\";\n"
             "  curve_server_key = \"%s\"; };\n",
             central_pub);
    snprintf(path, sizeof path, "%s/fra.conf", dir);
    write_text(path, text);
    struct cw_config *local = config_load(path, NULL, NULL);
    assert_non_null(local);
    assert_true(config_is_probe_host(local));
    struct cw_config *run = probe_effective(&c, local, err, sizeof err);
    assert_non_null(run);
    assert_int_equal(run->n_endpoints, 2); /* fra's own and the one of every location */
    for (size_t i = 0; i < run->n_endpoints; i++) assert_null(strstr(run->endpoints[i].url, "nyc"));
    assert_int_equal(run->check_interval, 7);
    assert_string_equal(run->location, "fra");
    assert_int_equal(run->workers, 3);
    assert_string_equal(run->run_dir, local->run_dir);
    assert_string_equal(run->path, local->path);
    assert_int_equal(run->log_level, local->log_level);
    assert_string_equal(run->curve_key_file, local->curve_key_file);
    assert_string_equal(run->curve_server_key, central_pub);
    assert_string_equal(run->central_address, "tcp://127.0.0.1:17000");
    assert_null(run->config_address);
    assert_int_equal(run->n_locations, 0);
    assert_string_equal(run->store_address, "tcp://127.0.0.1:17001");
    assert_string_equal(run->alert_address, "tcp://127.0.0.1:17002");
    assert_string_equal(run->publish_address, "tcp://127.0.0.1:17003");
    assert_true(config_is_probe_host(run));
    config_free(run);

    /* damaged bytes: refused with a reason, never half applied */
    c.snap[c.snap_len / 2] ^= 0xff;
    c.snap_len /= 2;
    assert_null(probe_effective(&c, local, err, sizeof err));
    assert_non_null(strstr(err, "not usable"));
    config_free(local);
    probe_central_free(&c);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_admit),
        cmocka_unit_test(test_refusal_memory),
        cmocka_unit_test(test_refusal_rate_limited),
        cmocka_unit_test(test_keys_checked),
        cmocka_unit_test(test_poll_timing),
        cmocka_unit_test(test_poll_interval),
        cmocka_unit_test(test_resolve_address),
        cmocka_unit_test(test_cache_codec),
        cmocka_unit_test(test_hash_covers_addresses),
        cmocka_unit_test(test_cache_file),
        cmocka_unit_test(test_effective),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
