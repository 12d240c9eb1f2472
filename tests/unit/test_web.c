/* tests/unit/test_web.c — clockwerk-web's pure pieces: the route table (exact and 404/405, auth paths), endpoint
 * IDs (slugs and their collisions), the live model fed with fabricated bus messages (results, alerts, stats,
 * malformed and unknown ones), HTML escaping, the listen-address parser and the constant-time compare. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/config/config.h"
#include "common/config/config_web.h"
#include "common/wire/protocol.h"
#include "web/html.h"
#include "web/http.h"
#include "web/model.h"
#include "web/route.h"

#define AT_US 1795579506123000LL

static void test_routes(void **state)
{
    (void)state;
    const struct web_route *r;
    const char *rest;
    assert_int_equal(web_route_find("GET", "/", &r, &rest), WEB_ROUTE_FOUND);
    assert_string_equal(r->path, "/");
    assert_int_equal(web_route_find("HEAD", "/healthz", &r, &rest), WEB_ROUTE_FOUND);
    assert_int_equal(web_route_find("GET", "/favicon.ico", &r, &rest), WEB_ROUTE_FOUND);
    assert_int_equal(web_route_find("POST", "/", &r, &rest), WEB_ROUTE_BAD_METHOD);
    assert_int_equal(web_route_find("DELETE", "/healthz", &r, &rest), WEB_ROUTE_BAD_METHOD);
    assert_int_equal(web_route_find("get", "/", &r, &rest), WEB_ROUTE_BAD_METHOD); /* methods are case-sensitive */
    const char *unknown[] = { "",           "/x", "/healthz/",       "//", "/../../etc/passwd", "/HEALTHZ",
                              "/healthz?x", "/ ", "/favicon.ico/../" };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        assert_int_equal(web_route_find("GET", unknown[i], &r, &rest), WEB_ROUTE_NOT_FOUND);
        assert_null(r);
        assert_int_equal(web_route_find("POST", unknown[i], &r, &rest), WEB_ROUTE_NOT_FOUND);
    }
    assert_true(web_route_needs_auth("/api"));
    assert_true(web_route_needs_auth("/api/v1/endpoints"));
    assert_true(web_route_needs_auth("/metrics"));
    assert_false(web_route_needs_auth("/apis"));
    assert_false(web_route_needs_auth("/"));
    assert_false(web_route_needs_auth("/healthz"));
    assert_false(web_route_needs_auth("/metricsx"));
}

static void slug_is(const char *name, const char *url, const char *want)
{
    char out[CW_SLUG_MAX + 1];
    size_t n = cw_endpoint_slug(name, url, out, sizeof out);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void test_slugs(void **state)
{
    (void)state;
    slug_is("My API", "http://x/", "my-api");
    slug_is("  --My  API!! ", "http://x/", "my-api");
    slug_is("Ünïcode name", "http://x/", "n-code-name");
    slug_is("a_b.c/d,e", "http://x/", "a-b-c-d-e");
    slug_is(NULL, "https://user:pa@ss@Example.COM:8443/Health?token=secret#frag", "example-com-8443-health");
    slug_is("***", "http://10.0.0.1/", "10-0-0-1"); /* no letter or digit in the name: the URL */
    slug_is(NULL, "http://u:p@h/", "h");
    char out[CW_SLUG_MAX + 1];
    assert_int_equal(cw_endpoint_slug(NULL, "http://@/?", out, sizeof out), 0);
    char longname[300];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(cw_endpoint_slug(longname, NULL, out, sizeof out), CW_SLUG_MAX);
    char small[5];
    assert_int_equal(cw_endpoint_slug("abcdefgh", NULL, small, sizeof small), 4);
    assert_string_equal(small, "abcd");
}

static struct cw_endpoint eps[3] = {
    { .url = "http://127.0.0.1:1/a", .name = "Alpha", .group = "G" },
    { .url = "http://user:pw@127.0.0.1:1/b?key=1" },
    { .url = "http://127.0.0.1:1/c", .name = "Gamma <c>" },
};

static void build(struct web_model *m, size_t n)
{
    static struct cw_config cfg;
    cfg.endpoints = eps;
    cfg.n_endpoints = n;
    char err[256];
    assert_int_equal(web_ids_build(m, &cfg, err, sizeof err), 0);
}

/* The label of each kind of key: an http(s) URL's query and fragment are masked (a token may be there), the keys
 * of the other check types are shown whole (the record type, starttls, sni and #NAME tell two checks apart). */
static void test_url_labels(void **state)
{
    (void)state;
    char b[256];
    assert_string_equal(web_url_label("https://u:p@h.example/x?token=s3cret", b, sizeof b),
                        "https://***@h.example/x?***");
    assert_string_equal(web_url_label("http://h.example/x#frag", b, sizeof b), "http://h.example/x?***");
    assert_string_equal(web_url_label("http://h.example/x", b, sizeof b), "http://h.example/x");
    assert_string_equal(web_url_label("dns://127.0.0.1:47103/www.op14.test?type=AAAA", b, sizeof b),
                        "dns://127.0.0.1:47103/www.op14.test?type=AAAA");
    assert_string_equal(web_url_label("tls://127.0.0.1:47104?starttls=smtp", b, sizeof b),
                        "tls://127.0.0.1:47104?starttls=smtp");
    assert_string_equal(web_url_label("tls://127.0.0.1:47104?sni=b.example", b, sizeof b),
                        "tls://127.0.0.1:47104?sni=b.example");
    assert_string_equal(web_url_label("tcp://127.0.0.1:25#banner", b, sizeof b), "tcp://127.0.0.1:25#banner");
    assert_string_equal(web_url_label("icmp://192.0.2.1#big", b, sizeof b), "icmp://192.0.2.1#big");
    assert_string_equal(web_url_label("push://nightly", b, sizeof b), "push://nightly");
}

static void test_ids(void **state)
{
    (void)state;
    struct web_model m;
    build(&m, 3);
    assert_int_equal(m.n, 3);
    assert_ptr_equal(web_model_by_id(&m, "alpha"), &m.endpoints[0]);
    assert_ptr_equal(web_model_by_id(&m, "127-0-0-1-1-b"), &m.endpoints[1]);
    assert_ptr_equal(web_model_by_id(&m, "gamma-c"), &m.endpoints[2]);
    assert_null(web_model_by_id(&m, "Alpha"));
    assert_null(web_model_by_id(&m, ""));
    assert_ptr_equal(web_model_by_url(&m, "http://127.0.0.1:1/c"), &m.endpoints[2]);
    assert_null(web_model_by_url(&m, "http://127.0.0.1:1/d"));
    char label[256];
    assert_string_equal(web_endpoint_label(&m.endpoints[1], label, sizeof label), "http://***@127.0.0.1:1/b?***");
    web_ids_free(&m);

    struct cw_endpoint dup[2] = { { .url = "http://a/1", .name = "My API" },
                                  { .url = "http://a/2", .name = "my-api" } };
    struct cw_config cfg = { .endpoints = dup, .n_endpoints = 2 };
    char err[256];
    assert_int_equal(web_ids_build(&m, &cfg, err, sizeof err), -1);
    assert_non_null(strstr(err, "'my-api'"));
    web_ids_free(&m);
}

static struct cw_result result(const char *url, bool ok, uint64_t seq, int64_t at)
{
    struct cw_result r = { .worker = 1,
                           .boot_id = 77,
                           .seq = seq,
                           .checked_at_us = at,
                           .latency_us = 1500,
                           .dns_us = 10,
                           .connect_us = 20,
                           .tls_us = -1,
                           .ttfb_us = 1000,
                           .status_code = (uint16_t)(ok ? 200 : 500),
                           .ok = ok,
                           .url = url,
                           .error = ok ? "" : "HTTP 500",
                           .tls_expires_at_us = ok ? AT_US + 86400000000LL : 0 };
    return r;
}

static void send_results(struct web_model *m, const struct cw_result *r, size_t n)
{
    struct cw_buf b = { 0 };
    proto_results_begin(&b);
    for (size_t i = 0; i < n; i++) assert_int_equal(proto_results_add(&b, &r[i]), 0);
    web_live_apply(m, CW_MSG_RESULT, b.data, b.len, 1000);
    cw_buf_free(&b);
}

static void send_alert(struct web_model *m, const char *url, uint8_t kind)
{
    struct cw_alert a = {
        .alert_id = 9, .raised_at_us = AT_US + 5, .kind = kind, .url = url, .name = "", .message = "m"
    };
    struct cw_buf b = { 0 };
    assert_int_equal(proto_alert_encode(&b, &a), 0);
    web_live_apply(m, CW_MSG_ALERT, b.data, b.len, 2000);
    cw_buf_free(&b);
}

static void test_live_results_and_alerts(void **state)
{
    (void)state;
    struct web_model m;
    build(&m, 3);
    struct web_endpoint *a = &m.endpoints[0], *c = &m.endpoints[2];
    assert_int_equal(a->live.state, WEB_STATE_UNKNOWN);
    struct cw_result rs[3] = { result(eps[0].url, true, 1, AT_US), result(eps[2].url, false, 2, AT_US),
                               result("http://not/configured", true, 3, AT_US) };
    send_results(&m, rs, 3);
    assert_int_equal(m.bus.results, 3);
    assert_int_equal(m.bus.unknown_urls, 1);
    assert_int_equal(m.bus.last_message_mono_ns, 1000);
    assert_true(a->live.has_check);
    assert_true(a->live.last.ok);
    assert_int_equal(a->live.last.status_code, 200);
    assert_int_equal(web_us(a->live.last.latency), 1500);
    assert_int_equal(web_us(a->live.last.phase[2]), -1);   /* tls */
    assert_int_equal(web_us(a->live.last.phase[0]), 10);   /* dns */
    assert_int_equal(web_us(a->live.last.phase[3]), 1000); /* ttfb */
    assert_int_equal(a->live.last.tls_expires_at_us, AT_US + 86400000000LL);
    assert_null(a->live.last.error);
    assert_int_equal(a->live.state, WEB_STATE_UP);
    assert_int_equal(c->live.state, WEB_STATE_FAILING);
    assert_string_equal(c->live.last.error, "HTTP 500");

    send_alert(&m, eps[2].url, CW_ALERT_DOWN);
    assert_int_equal(c->live.state, WEB_STATE_DOWN);
    assert_int_equal(c->live.state_since_us, AT_US + 5);
    struct cw_result ok_again = result(eps[2].url, true, 4, AT_US + 10);
    send_results(&m, &ok_again, 1);
    assert_int_equal(c->live.state, WEB_STATE_DOWN); /* until the alerter says up */
    assert_null(c->live.last.error);
    send_alert(&m, eps[2].url, CW_ALERT_UP);
    assert_int_equal(c->live.state, WEB_STATE_UP);
    send_alert(&m, eps[0].url, CW_ALERT_SLOW);
    assert_true(a->live.slow);
    send_alert(&m, eps[0].url, CW_ALERT_FAST);
    assert_false(a->live.slow);
    send_alert(&m, "http://nowhere/", CW_ALERT_DOWN);
    assert_int_equal(m.bus.unknown_urls, 2);
    assert_int_equal(m.bus.alerts, 5);

    /* an older check (reordered) does not replace a newer one; a gap in seqs is counted */
    struct cw_result old = result(eps[0].url, false, 9, AT_US - 1000);
    send_results(&m, &old, 1);
    assert_true(a->live.last.ok);
    assert_int_equal(m.gaps.missing, 4); /* seq 5..8 of worker 1 */
    assert_int_equal(a->live.locs[0].checks_ok, 1);

    /* a reload keeps what is known of the endpoints that stay (here: the last two of three) */
    struct web_model next;
    struct cw_config cfg = { .endpoints = &eps[1], .n_endpoints = 2 };
    char err[256];
    assert_int_equal(web_ids_build(&next, &cfg, err, sizeof err), 0);
    struct cw_result failing = result(eps[2].url, false, 10, AT_US + 20);
    send_results(&m, &failing, 1);
    web_ids_carry(&next, &m);
    web_ids_free(&m);
    assert_false(next.endpoints[0].live.has_check);
    assert_int_equal(next.endpoints[1].live.state, WEB_STATE_FAILING);
    assert_string_equal(next.endpoints[1].live.last.error, "HTTP 500");
    assert_int_equal(next.gaps.missing, 4);
    assert_int_equal(next.bus.results, 6);
    web_ids_free(&next);
}

static void test_live_malformed(void **state)
{
    (void)state;
    struct web_model m;
    build(&m, 1);
    struct cw_result r = result(eps[0].url, true, 1, AT_US);
    struct cw_buf b = { 0 };
    proto_results_begin(&b);
    assert_int_equal(proto_results_add(&b, &r), 0);
    for (size_t cut = 0; cut < b.len; cut++) { /* every truncation: dropped, counted, nothing applied */
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, b.data, cut);
        web_live_apply(&m, CW_MSG_RESULT, copy, cut, 1);
        free(copy);
    }
    assert_int_equal(m.bus.malformed, b.len);
    assert_false(m.endpoints[0].live.has_check);
    web_live_apply(&m, CW_MSG_ALERT, b.data, b.len, 1); /* a result payload under the alert topic */
    web_live_apply(&m, CW_MSG_STATS, b.data, b.len, 1);
    web_live_apply(&m, CW_MSG_INVALID, b.data, b.len, 1);
    web_live_apply(&m, CW_MSG_ACK, b.data, b.len, 1);
    assert_int_equal(m.bus.malformed, b.len + 4);
    assert_non_null(m.bus.last_malformed);
    assert_false(m.endpoints[0].live.has_check);
    cw_buf_free(&b);

    struct cw_stats st = { .role = "worker", .id = 0, .boot_id = 1, .at_us = AT_US, .count = 1 };
    st.items[0] = (struct cw_stat){ "checks", 5 };
    assert_int_equal(proto_stats_encode(&b, &st), 0);
    web_live_apply(&m, CW_MSG_STATS, b.data, b.len, 7);
    assert_int_equal(m.bus.stats, 1);
    assert_int_equal(m.bus.last_message_mono_ns, 7);
    cw_buf_free(&b);
    web_ids_free(&m);
}

static void test_html_escape(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    web_html_text(&b, "<a href=\"x\">'&'</a>\x01\xff é\n");
    cw_buf_put(&b, "", 1);
    assert_string_equal((char *)b.data,
                        "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;\xEF\xBF\xBD\xEF\xBF\xBD é\n");
    cw_buf_free(&b);
}

static void listen_ok(const char *v, bool loopback, int family)
{
    struct sockaddr_storage sa;
    socklen_t len;
    bool lo = !loopback;
    assert_null(cw_web_listen_parse(v, &sa, &len, &lo));
    assert_int_equal(lo, loopback);
    assert_int_equal(sa.ss_family, family);
}

static void test_listen_and_secrets(void **state)
{
    (void)state;
    listen_ok("127.0.0.1:8080", true, AF_INET);
    listen_ok("127.1.2.3:1", true, AF_INET);
    listen_ok("localhost:80", true, AF_INET);
    listen_ok("0.0.0.0:8080", false, AF_INET);
    listen_ok("*:8080", false, AF_INET);
    listen_ok("[::1]:8080", true, AF_INET6);
    listen_ok("[::]:8080", false, AF_INET6);
    const char *bad[] = { "",
                          "8080",
                          "127.0.0.1",
                          "127.0.0.1:",
                          "127.0.0.1:0",
                          "127.0.0.1:65536",
                          "127.0.0.1:80x",
                          "example.com:80",
                          "::1:80",
                          "[::1]80",
                          "[x]:80",
                          "[::1]:",
                          "1.2.3:80" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sockaddr_storage sa;
        socklen_t len;
        bool lo;
        assert_non_null(cw_web_listen_parse(bad[i], &sa, &len, &lo));
    }
    /* given, expected, equal; a repetition of the secret is not the secret */
    const struct {
        const char *given, *expected;
        bool equal;
    } pairs[] = { { "pw", "pw", true }, { "pw", "pW", false }, { "pw", "pwx", false }, { "pwx", "pw", false },
                  { "", "pw", false },  { "pw", "", false },   { "", "", true },       { "pwpw", "pw", false } };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        assert_int_equal(web_secret_equal(pairs[i].given, pairs[i].expected), pairs[i].equal);
}

/* The web's settings and the endpoints' groups survive the snapshot; its password only for the web's reader. */
static void test_snapshot_web(void **state)
{
    (void)state;
    struct cw_endpoint ep[1] = { { .url = "http://a/",
                                   .name = "A",
                                   .group = "Front",
                                   .timeout = 1,
                                   .interval = 1,
                                   .alert_threshold = 1,
                                   .recovery_threshold = 1 } };
    struct cw_config c = { .path = "/x.conf",
                           .dir = "/",
                           .run_dir = "/run",
                           .endpoints = ep,
                           .n_endpoints = 1,
                           .web_enabled = true,
                           .web_listen = "[::1]:8443",
                           .web_title = "T",
                           .web_tls_cert_file = "/c",
                           .web_tls_key_file = "/k",
                           .web_auth_user = "ops",
                           .web_auth_password = "pw",
                           .web_max_connections = 7,
                           .web_max_connections_per_ip = 3,
                           .web_connection_timeout = 4,
                           .web_history_refresh = 60 };
    char path[] = "/tmp/cw-test-web-snap-XXXXXX", err[512];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(config_snapshot_write(&c, path, err, sizeof err), 0);
    setenv("CLOCKWERK_SECRETS", "web", 1);
    struct cw_config *r = config_snapshot_read(path, 0, 0, err, sizeof err);
    assert_non_null(r);
    assert_true(r->web_enabled);
    assert_string_equal(r->web_listen, "[::1]:8443");
    assert_string_equal(r->web_auth_password, "pw");
    assert_string_equal(r->endpoints[0].group, "Front");
    assert_int_equal(r->web_max_connections_per_ip, 3);
    assert_true(r->web_connection_timeout == 4);
    config_free(r);
    setenv("CLOCKWERK_SECRETS", "db", 1);
    assert_non_null(r = config_snapshot_read(path, 0, 0, err, sizeof err));
    assert_null(r->web_auth_password);
    config_free(r);
    unsetenv("CLOCKWERK_SECRETS");
    unlink(path);

    /* what only the web reads: other children are not restarted for it */
    struct cw_config d = c;
    d.web_title = "Other";
    struct cw_endpoint ep2[1] = { ep[0] };
    ep2[0].group = NULL;
    d.endpoints = ep2;
    assert_true(config_same_beyond_web(&c, &d));
    ep2[0].name = "B";
    assert_false(config_same_beyond_web(&c, &d));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_slugs),
        cmocka_unit_test(test_url_labels),
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_live_results_and_alerts),
        cmocka_unit_test(test_live_malformed),
        cmocka_unit_test(test_html_escape),
        cmocka_unit_test(test_listen_and_secrets),
        cmocka_unit_test(test_snapshot_web),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
