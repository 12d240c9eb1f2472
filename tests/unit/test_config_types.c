/* tests/unit/test_config_types.c — the check types of issue 14 and the HTTP assertion keys in the config loader
 * (common/config/config_types.c, config_http_keys.c, config_conditions.c): a valid endpoint of each type with its
 * defaults, the synthesized identity keys, every refusal with its FILE:LINE and wording, the JSON path
 * translation, conditions, status ranges, escapes and DNS server addresses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cfgtest_util.h"
#include "common/config/config.h"
#include "common/config/config_types.h"
#include "supervisor/reload.h"

#define EPS(x) "monitor = { endpoints = (\n" x "\n); };\n" /* the first endpoint on line 2 */
#define WEB "web = { listen = \"127.0.0.1:8080\"; allow_plain_http = true; };\n"
#define TOKEN "0123456789abcdef_-XY"

static struct cw_config *load_ok(struct ct *t, const char *text)
{
    struct cw_config *c = ct_load(t, text);
    if (!c) ct_dump(t);
    assert_non_null(c);
    return c;
}

static void test_tcp(void **state)
{
    struct ct *t = *state;
    struct cw_config *c = load_ok(t, EPS("{ type = \"tcp\"; name = \"redis\"; host = \"127.0.0.1\"; port = 6379;\n"
                                         "  send = \"PING\\r\\n\"; expect = \"+PONG\"; }"));
    assert_int_equal(c->n_endpoints, 1);
    const struct cw_endpoint *ep = &c->endpoints[0];
    assert_int_equal(ep->type, CW_CHECK_TCP);
    assert_string_equal(ep->url, "tcp://127.0.0.1:6379");
    assert_string_equal(ep->host, "127.0.0.1");
    assert_int_equal(ep->port, 6379);
    assert_int_equal(ep->spec->send_len, 6);
    assert_memory_equal(ep->spec->send, "PING\r\n", 6);
    assert_string_equal(ep->spec->expect, "+PONG");
    assert_int_equal(ep->spec->body_limit, 0);
    assert_true(ep->timeout == 10);
    config_free(c);
}

static void test_tls_and_icmp(void **state)
{
    struct ct *t = *state;
    struct cw_config *c = load_ok(
        t,
        EPS("{ type = \"tls\"; name = \"smtp\"; host = \"Mail.Example\"; port = 587; starttls = \"smtp\";\n"
            "  min_cert_days = 14; ca_file = \"c.conf\"; verify_tls = false; },\n"
            "{ type = \"tls\"; name = \"web\"; host = \"::1\"; port = 443; server_name = \"a.example\"; },\n"
            "{ type = \"icmp\"; name = \"gw\"; host = \"[::1]\"; },\n"
            "{ type = \"icmp\"; name = \"gw4\"; host = \"10.0.0.1\"; count = 10; packet_interval = 0.5; max_loss = 0; }"));
    assert_int_equal(c->n_endpoints, 4);
    assert_string_equal(c->endpoints[0].url, "tls://Mail.Example:587?starttls=smtp");
    assert_int_equal(c->endpoints[0].spec->starttls, CW_STARTTLS_SMTP);
    assert_int_equal(c->endpoints[0].spec->min_cert_days, 14);
    assert_false(c->endpoints[0].spec->verify_tls);
    assert_null(c->endpoints[0].spec->server_name);
    assert_string_equal(c->endpoints[1].url, "tls://[::1]:443?sni=a.example");
    assert_string_equal(c->endpoints[1].spec->server_name, "a.example");
    assert_true(c->endpoints[1].spec->verify_tls);
    assert_string_equal(c->endpoints[2].url, "icmp://[::1]");
    assert_string_equal(c->endpoints[2].host, "::1");
    assert_int_equal(c->endpoints[2].spec->icmp_count, 3);
    assert_true(c->endpoints[2].spec->packet_interval == 0.2);
    assert_true(c->endpoints[2].spec->max_loss == 99);
    assert_int_equal(c->endpoints[3].spec->icmp_count, 10);
    assert_true(c->endpoints[3].spec->packet_interval == 0.5);
    assert_true(c->endpoints[3].spec->max_loss == 0);
    config_free(c);
}

static void test_dns(void **state)
{
    struct ct *t = *state;
    struct cw_config *c = load_ok(
        t,
        EPS("{ type = \"dns\"; name = \"d\"; host = \"example.org\"; },\n"
            "{ type = \"dns\"; name = \"mx\"; host = \"example.org\"; record_type = \"mx\"; dns_server = \"127.0.0.1:5353\";\n"
            "  expect_rcode = \"NXDOMAIN\"; expect_answers = [\"10 mx.example.org\"]; },\n"
            "{ type = \"dns\"; name = \"v6\"; host = \"example.org\"; record_type = \"CAA\"; dns_server = \"::1\"; },\n"
            "{ type = \"dns\"; name = \"v6p\"; host = \"example.org\"; dns_server = \"[::1]:53\"; }"));
    assert_int_equal(c->n_endpoints, 4);
    const struct cw_endpoint *ep = c->endpoints;
    assert_int_equal(ep[0].spec->record_type, 1);
    assert_int_equal(ep[0].spec->expect_rcode, 0);
    assert_null(ep[0].spec->dns_server);
    assert_string_equal(ep[0].url, "dns:example.org?type=A");
    assert_string_equal(ep[1].url, "dns://127.0.0.1:5353/example.org?type=MX");
    assert_int_equal(ep[1].spec->record_type, 15);
    assert_int_equal(ep[1].spec->expect_rcode, 3);
    assert_int_equal(ep[1].spec->n_expect_answers, 1);
    assert_string_equal(ep[1].spec->expect_answers[0], "10 mx.example.org");
    assert_string_equal(ep[2].url, "dns://[::1]/example.org?type=CAA");
    assert_int_equal(ep[2].spec->record_type, 257);
    assert_string_equal(ep[3].url, "dns://[::1]:53/example.org?type=A");
    config_free(c);
}

static void test_push(void **state)
{
    struct ct *t = *state;
    ct_write(t, "token", "abcdefghijklmnopq\n", 0600);
    struct cw_config *c = load_ok(t, WEB EPS("{ type = \"push\"; name = \"backup\"; token = \"" TOKEN "\"; },\n"
                                             "{ type = \"push\"; name = \"cron\"; token_file = \"token\"; grace = 30;\n"
                                             "  check_interval = 3600; }"));
    assert_int_equal(c->n_endpoints, 2);
    const struct cw_endpoint *ep = c->endpoints;
    assert_int_equal(ep[0].type, CW_CHECK_PUSH);
    assert_string_equal(ep[0].url, "push://backup");
    assert_string_equal(ep[0].push_token, TOKEN);
    assert_true(ep[0].spec->grace == 6); /* 10% of the default 60 s */
    assert_true(ep[0].latency_threshold == 0);
    assert_string_equal(ep[1].push_token, "abcdefghijklmnopq");
    assert_true(ep[1].spec->grace == 30);
    assert_null(strstr(ep[1].url, "abcdefgh"));
    config_free(c);
}

static void test_http_assertions(void **state)
{
    struct ct *t = *state;
    struct cw_config *c = load_ok(
        t,
        EPS("{ url = \"http://127.0.0.1/\"; },\n"
            "{ url = \"https://127.0.0.1/x\"; method = \"delete\"; body = \"q\"; expect_status = (\"2xx\", 404, \"500-502\");\n"
            "  keywords = [\"a\", \"b\"]; keywords_absent = \"error\"; body_regex = \"^\\\\{\";\n"
            "  json = [\"$.status == \\\"UP\\\"\", \"$.queue.depth < 100\", \"$['odd.key'][2] exists\"];\n"
            "  header_conditions = [\"Content-Type ~ ^application/json\", \"X-Debug !exists\"];\n"
            "  max_response_time = 2; http_version = \"1.1\"; fail_if_not_tls = true; compressed = true;\n"
            "  body_limit = 67108864; proxy = \"http://u:p@127.0.0.1:3128\"; address = \"127.0.0.2\"; cookies = true;\n"
            "  min_cert_days = 5; }"));
    const struct cw_endpoint *ep = c->endpoints;
    assert_int_equal(ep[0].type, CW_CHECK_HTTP);
    assert_int_equal(ep[0].spec->body_limit, 1048576);
    assert_int_equal(ep[1].spec->method, CW_METHOD_DELETE);
    assert_int_equal(ep[1].spec->body_len, 1);
    assert_int_equal(ep[1].spec->n_expect_status, 1);
    assert_int_equal(ep[1].spec->expect_status[0], 404);
    assert_int_equal(ep[1].spec->n_status_ranges, 2);
    assert_int_equal(ep[1].spec->status_ranges[0].lo, 200);
    assert_int_equal(ep[1].spec->status_ranges[0].hi, 299);
    assert_int_equal(ep[1].spec->status_ranges[1].hi, 502);
    assert_true(config_status_expected(&ep[1], 204));
    assert_true(config_status_expected(&ep[1], 404));
    assert_true(config_status_expected(&ep[1], 501));
    assert_false(config_status_expected(&ep[1], 302));
    assert_false(config_status_expected(&ep[1], 503));
    assert_int_equal(ep[1].spec->n_keywords, 2);
    assert_int_equal(ep[1].spec->n_keywords_absent, 1);
    assert_string_equal(ep[1].spec->body_regex[0], "^\\{");
    assert_int_equal(ep[1].spec->n_json_conditions, 3);
    assert_string_equal(ep[1].spec->json_conditions[1].subject, "/queue/depth");
    assert_int_equal(ep[1].spec->json_conditions[1].op, CW_OP_LT);
    assert_int_equal(ep[1].spec->json_conditions[1].value_kind, CW_VALUE_NUMBER);
    assert_string_equal(ep[1].spec->json_conditions[2].subject, "/odd.key/2");
    assert_int_equal(ep[1].spec->n_header_conditions, 2);
    assert_string_equal(ep[1].spec->header_conditions[0].subject, "Content-Type");
    assert_string_equal(ep[1].spec->header_conditions[0].value, "^application/json");
    assert_int_equal(ep[1].spec->header_conditions[1].op, CW_OP_NOT_EXISTS);
    assert_true(ep[1].spec->max_response_time == 2);
    assert_int_equal(ep[1].spec->http_version, CW_HTTP_1_1);
    assert_true(ep[1].spec->fail_if_not_tls && ep[1].spec->compressed && ep[1].spec->cookies);
    assert_int_equal(ep[1].spec->body_limit, 64 * 1024 * 1024);
    assert_string_equal(ep[1].spec->address, "127.0.0.2");
    assert_int_equal(ep[1].spec->min_cert_days, 5);
    config_free(c);
}

/* The fuzzing seed configs/types.conf loads: every type and every assertion key in one file. */
static void test_types_fixture(void **state)
{
    struct ct *t = *state;
    struct cw_config *c = ct_load_fixture(t, "types.conf");
    if (!c) ct_dump(t);
    assert_non_null(c);
    assert_int_equal(c->n_endpoints, 8);
    assert_string_equal(c->endpoints[0].url, "tcp://127.0.0.1:6379");
    assert_int_equal(c->endpoints[0].spec->send_len, 7);
    assert_string_equal(c->endpoints[1].url, "tcp://127.0.0.1:6379#redis bare");
    assert_int_equal(c->endpoints[7].spec->n_json_conditions, 7);
    config_free(c);
}

/* Two tcp checks of one port: other send/expect gives the later one "#NAME"; the same is a duplicate. */
static void test_tcp_keys(void **state)
{
    struct ct *t = *state;
    struct cw_config *c =
        load_ok(t, EPS("{ type = \"tcp\"; name = \"a\"; host = \"h\"; port = 6379; },\n"
                       "{ type = \"tcp\"; name = \"b\"; host = \"h\"; port = 6379; send = \"PING\\r\\n\"; }"));
    assert_int_equal(c->n_endpoints, 2);
    assert_string_equal(c->endpoints[0].url, "tcp://h:6379");
    assert_string_equal(c->endpoints[1].url, "tcp://h:6379#b");
    config_free(c);
    ct_expect_refused(t,
                      EPS("{ type = \"tcp\"; name = \"a\"; host = \"h\"; port = 1; },\n"
                          "{ type = \"tcp\"; name = \"b\";\n host = \"H\"; port = 1; }"),
                      4, "monitor.endpoints[1]: the same tcp check as another (its key 'tcp://H:1') (first at line 2)");
    ct_expect_refused(t,
                      EPS("{ type = \"icmp\"; name = \"a\"; host = \"h\"; },\n"
                          "{ type = \"icmp\"; name = \"b\";\n host = \"h\"; }"),
                      4, "the same icmp check as another");
}

/* Two certificates behind one address (SNI) are two tls checks: the key names the server_name when it is not the
 * host; two dns, tls or icmp checks of one key that expect other things are two checks, the later one's key with
 * "#NAME" as for tcp; the same check twice is still refused. */
static void test_keys_beyond_tcp(void **state)
{
    struct ct *t = *state;
    struct cw_config *c = load_ok(
        t,
        EPS("{ type = \"tls\"; name = \"a\"; host = \"127.0.0.1\"; port = 443; server_name = \"a.example\"; },\n"
            "{ type = \"tls\"; name = \"b\"; host = \"127.0.0.1\"; port = 443; server_name = \"b.example\"; },\n"
            "{ type = \"tls\"; name = \"c\"; host = \"h.example\"; port = 25; server_name = \"H.example\"; "
            "starttls = \"smtp\"; },\n"
            "{ type = \"tls\"; name = \"d\"; host = \"h.example\"; port = 25; server_name = \"mx.example\"; "
            "starttls = \"smtp\"; },\n"
            "{ type = \"dns\"; name = \"e\"; host = \"www.example\"; dns_server = \"127.0.0.1\"; },\n"
            "{ type = \"dns\"; name = \"f\"; host = \"www.example\"; dns_server = \"127.0.0.1\"; "
            "expect_answers = [ \"192.0.2.1\" ]; },\n"
            "{ type = \"dns\"; name = \"g\"; host = \"www.example\"; dns_server = \"127.0.0.1\"; expect_rcode = \"NXDOMAIN\"; },\n"
            "{ type = \"tls\"; name = \"h\"; host = \"127.0.0.1\"; port = 443; server_name = \"a.example\"; "
            "min_cert_days = 30; },\n"
            "{ type = \"icmp\"; name = \"i\"; host = \"192.0.2.7\"; },\n"
            "{ type = \"icmp\"; name = \"j\"; host = \"192.0.2.7\"; count = 10; }"));
    assert_int_equal(c->n_endpoints, 10);
    assert_string_equal(c->endpoints[0].url, "tls://127.0.0.1:443?sni=a.example");
    assert_string_equal(c->endpoints[1].url, "tls://127.0.0.1:443?sni=b.example");
    assert_string_equal(c->endpoints[2].url, "tls://h.example:25?starttls=smtp");
    assert_string_equal(c->endpoints[3].url, "tls://h.example:25?starttls=smtp&sni=mx.example");
    assert_string_equal(c->endpoints[4].url, "dns://127.0.0.1/www.example?type=A");
    assert_string_equal(c->endpoints[5].url, "dns://127.0.0.1/www.example?type=A#f");
    assert_string_equal(c->endpoints[6].url, "dns://127.0.0.1/www.example?type=A#g");
    assert_string_equal(c->endpoints[7].url, "tls://127.0.0.1:443?sni=a.example#h");
    assert_string_equal(c->endpoints[8].url, "icmp://192.0.2.7");
    assert_string_equal(c->endpoints[9].url, "icmp://192.0.2.7#j");
    config_free(c);
    ct_expect_refused(t,
                      EPS("{ type = \"dns\"; name = \"a\"; host = \"w.example\"; expect_rcode = \"NXDOMAIN\"; },\n"
                          "{ type = \"dns\"; name = \"b\";\n host = \"w.example\"; expect_rcode = \"NXDOMAIN\"; }"),
                      4, "the same dns check as another (its key 'dns:w.example?type=A')");
    ct_expect_refused(t,
                      EPS("{ type = \"tls\"; name = \"a\"; host = \"h\"; port = 1; server_name = \"s\"; },\n"
                          "{ type = \"tls\"; name = \"b\";\n host = \"h\"; port = 1; server_name = \"s\"; }"),
                      4, "the same tls check as another (its key 'tls://h:1?sni=s')");
}

#define T3(x) EPS("{ name = \"n\";\n" x " }") /* x on line 3 */
static const struct ct_bad_case bad_cases[] = {
    { T3("type = \"ftp\";"), 3, "monitor.endpoints[0].type: 'ftp' is not one of http, tcp, tls, dns, icmp, push" },
    { T3("type = \"dns\"; host = \"example.org\"; port = 53;"), 3,
      "monitor.endpoints[0]: 'port' is not a key of a dns check" },
    { T3("type = \"tcp\"; host = \"h\"; port = 1; url = \"http://a/\";"), 3, "'url' is not a key of a tcp check" },
    { T3("type = \"icmp\"; host = \"h\"; keyword = \"x\";"), 3, "'keyword' is not a key of an icmp check" },
    { T3("type = \"tcp\"; host = \"h\"; port = 1; verify_tls = true;"), 3, "'verify_tls' is not a key of a tcp check" },
    { T3("url = \"http://a/\"; host = \"h\";"), 3, "'host' is not a key of an http check" },
    { T3("url = \"http://a/\"; starttls = \"smtp\";"), 3, "'starttls' is not a key of an http check" },
    { WEB T3("type = \"push\"; token = \"" TOKEN "\"; timeout = 5;"), 4, "'timeout' is not a key of a push check" },
    { WEB T3("type = \"push\"; token = \"" TOKEN "\"; latency_threshold = 5;"), 4,
      "'latency_threshold' is not a key of a push check" },
    { EPS("{ type = \"tcp\";\n host = \"h\"; port = 1; }"), 2, "monitor.endpoints[0]: a tcp check needs a 'name'" },
    { T3("type = \"tcp\"; host = \"h\";"), 2, "monitor.endpoints[0]: a tcp check needs 'port'" },
    { T3("type = \"tls\"; port = 1;"), 2, "a tls check needs 'host'" },
    { T3("type = \"dns\";"), 2, "a dns check needs 'host'" },
    { T3("type = \"tcp\"; host = \"h\"; port = 0;"), 3, "monitor.endpoints[0].port: must be between 1 and 65535" },
    { T3("type = \"tcp\"; host = \"h\"; port = 65536;"), 3, "port: must be between 1 and 65535" },
    { T3("type = \"tcp\"; host = \"a b\"; port = 1;"), 3, "host: 'a b' is not a host name or an address" },
    { T3("type = \"tcp\"; host = \"[foo bar]\"; port = 1;"), 3,
      "host: '[foo bar]' has brackets around something that is not an IPv6 address" },
    { T3("type = \"icmp\"; host = \"[10.0.0.1]\";"), 3, "host: '[10.0.0.1]' has brackets around something" },
    { T3("type = \"tcp\"; host = \"1.2.3.4:80\"; port = 1;"), 3,
      "host: '1.2.3.4:80' is not a host name or an address (a host has no port: write the port in `port`)" },
    { T3("type = \"tls\"; host = \"h\"; port = 1; server_name = \"a.example:443\";"), 3,
      "server_name: 'a.example:443' is not a host name or an address" },
    { T3("type = \"dns\"; host = \"[::1\";"), 3, "host: '[::1' is not a host name or an address" },
    /* expect_answers in the form of record_type (docs/operations.md section 12) */
    { T3("type = \"dns\"; host = \"h\";\n expect_answers = [\"192.0.2.1\", \"not-an-ip\"];"), 4,
      "expect_answers[1]: 'not-an-ip' is not an IPv4 address (record_type A)" },
    { T3("type = \"dns\"; host = \"h\"; expect_answers = [\n \"192.0.2.1\",\n \"192.0.2\"\n ];"), 3,
      "expect_answers[1]: '192.0.2' is not an IPv4 address" }, /* at the key's line */
    { T3("type = \"dns\"; host = \"h\"; record_type = \"A\";\n expect_answers = \"::1\";"), 4,
      "expect_answers[0]: '::1' is not an IPv4 address" },
    { T3("expect_answers = \"192.0.2.1\";\n type = \"dns\"; host = \"h\"; record_type = \"AAAA\";"), 3,
      "expect_answers[0]: '192.0.2.1' is not an IPv6 address (record_type AAAA)" },
    { T3("type = \"dns\"; host = \"h\"; record_type = \"MX\"; expect_answers = \"mx.example.org\";"), 3,
      "expect_answers[0]: 'mx.example.org' is not \"PREFERENCE NAME\" (record_type MX)" },
    { T3("type = \"dns\"; host = \"h\"; record_type = \"MX\"; expect_answers = \"70000 mx.example.org\";"), 3,
      "is not \"PREFERENCE NAME\"" },
    { T3("type = \"dns\"; host = \"h\"; record_type = \"MX\"; expect_answers = \"010 mx.example.org\";"), 3,
      "is not \"PREFERENCE NAME\"" },
    { T3("type = \"dns\"; host = \"h\"; record_type = \"SRV\"; expect_answers = \"0 5 www.example.org\";"), 3,
      "'0 5 www.example.org' is not \"PRIORITY WEIGHT PORT TARGET\" (record_type SRV)" },
    { T3("type = \"dns\"; host = \"h\"; record_type = \"CAA\"; expect_answers = \"0 issue letsencrypt.org\";"), 3,
      "is not FLAGS TAG \"VALUE\" (record_type CAA)" },
    { T3("type = \"dns\"; host = \"h\"; record_type = \"CAA\"; expect_answers = \"256 issue \\\"x\\\"\";"), 3,
      "is not FLAGS TAG \"VALUE\"" },
    { T3("type = \"dns\"; host = \"h\"; record_type = \"CNAME\"; expect_answers = \"a b\";"), 3,
      "expect_answers[0]: 'a b' is not a domain name (record_type CNAME)" },
    { T3("type = \"dns\"; host = \"h\"; record_type = \"NS\"; expect_answers = \"a..b\";"), 3,
      "'a..b' is not a domain name (record_type NS)" },
    { T3("type = \"dns\"; host = \"h\"; record_type = \"SOA\"; expect_answers = \"ns1.example.org 1 2 3\";"), 3,
      "is not \"MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM\" (record_type SOA)" },
    { T3("type = \"tcp\"; host = \"h\"; port = 1; send = \"a\\\\q\";"), 3,
      "send: a backslash at byte 2 starts no escape" },
    { T3("type = \"tcp\"; host = \"h\"; port = 1; send = \"a\\\\x4\";"), 3, "starts no escape" },
    { T3("type = \"tls\"; host = \"h\"; port = 1; starttls = \"ftp\";"), 3,
      "starttls: 'ftp' is not one of smtp, imap, postgres" },
    { T3("type = \"tls\"; host = \"h\"; port = 1; min_cert_days = -1;"), 3, "min_cert_days: must be between 0 and" },
    { T3("type = \"dns\"; host = \"h\"; record_type = \"PTR\";"), 3,
      "record_type: 'PTR' is not one of A, AAAA, CNAME, MX, TXT, NS, SOA, SRV, CAA" },
    { T3("type = \"dns\"; host = \"h\"; expect_rcode = \"OK\";"), 3,
      "expect_rcode: 'OK' is not one of NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED" },
    { T3("type = \"dns\"; host = \"h\"; dns_server = \"dns.example\";"), 3,
      "dns_server: 'dns.example' is not \"IP\", \"IP:PORT\" or \"[IPv6]:PORT\"" },
    { T3("type = \"dns\"; host = \"h\"; dns_server = \"1.2.3.4:0\";"), 3, "is not \"IP\", \"IP:PORT\"" },
    { T3("type = \"dns\"; host = \"h\"; dns_server = \"[1.2.3.4]:53\";"), 3, "is not \"IP\", \"IP:PORT\"" },
    { T3("type = \"dns\"; host = \"h\"; expect_answers = 5;"), 3, "expect_answers: expected a list of strings" },
    { T3("type = \"icmp\"; host = \"h\"; count = 0;"), 3, "count: must be between 1 and 100" },
    { T3("type = \"icmp\"; host = \"h\"; count = 101;"), 3, "count: must be between 1 and 100" },
    { T3("type = \"icmp\"; host = \"h\"; packet_interval = 0.001;"), 3, "packet_interval: must be at least 0.01" },
    { T3("type = \"icmp\"; host = \"h\"; max_loss = 101;"), 3, "max_loss: must be between 0 and 100" },
    { T3("type = \"icmp\"; host = \"h\"; timeout = 5;\n count = 100;"), 4,
      "100 echo requests 0.2 s apart take 19.8 s: no time left for the last reply inside the timeout (5 s)" },
    /* push */
    { T3("type = \"push\"; token = \"" TOKEN "\";"), 3, "a push check needs the `web` group" },
    { WEB T3("type = \"push\";"), 3, "monitor.endpoints[0]: a push check needs 'token' or 'token_file'" },
    { WEB T3("type = \"push\"; token = \"short\";"), 4,
      "token: a token is 16 to 256 characters of A-Z a-z 0-9 _ - (the one given is not)" },
    { WEB T3("type = \"push\"; token = \"0123456789abcdef!\";"), 4, "a token is 16 to 256 characters" },
    { WEB T3("type = \"push\"; token = \"" TOKEN "\";\n token_file = \"x\";"), 5, "both token and token_file are set" },
    { WEB T3("type = \"push\"; token_file = \"nonexistent\";"), 4, "token_file: cannot open" },
    { WEB EPS("{ type = \"push\"; name = \"a\"; token = \"" TOKEN
              "\"; },\n{ type = \"push\"; name = \"b\";\n token = \"" TOKEN "\"; }"),
      5, "monitor.endpoints[1]: the same push token as another push check (first at line 3)" },
    /* HTTP assertions */
    { T3("url = \"http://a/\"; method = \"TRACE\";"), 3,
      "method: 'TRACE' is not one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS" },
    { T3("url = \"http://a/\"; method = \"HEAD\"; body_file = \"c.conf\";"), 3,
      "body_file: a body is not sent with method GET or HEAD" },
    { T3("url = \"http://a/\"; method = \"POST\"; body = \"x\";\n body_file = \"c.conf\";"), 4,
      "both body and body_file are set; keep one" },
    { T3("url = \"http://a/\"; method = \"POST\"; body_file = \"missing\";"), 3, "body_file: cannot read" },
    { T3("url = \"http://a/\"; method = \"POST\"; body_file = \"/\";"), 3, "is not a file" },
    { T3("url = \"http://a/\"; method = \"HEAD\"; keywords = [\"a\"];"), 3,
      "keywords: method HEAD has no body to search" },
    { T3("url = \"http://a/\"; method = \"HEAD\"; json = [\"$ exists\"];"), 3, "json: method HEAD has no body" },
    { T3("url = \"http://a/\"; body_regex = [\"ok\", \"a(b\"];"), 3,
      "body_regex[1]: 'a(b' is not a regular expression: missing closing parenthesis at offset 3" },
    { T3("url = \"http://a/\"; body_regex_absent = \"[\";"), 3,
      "body_regex_absent[0]: '[' is not a regular expression" },
    { T3("url = \"http://a/\"; json = \"$..a exists\";"), 3, "json[0]: '$..a exists' has an empty key after a dot" },
    { T3("url = \"http://a/\"; json = \"$.a[*] exists\";"), 3, "has an index that is not [N]" },
    { T3("url = \"http://a/\"; json = \"status == 1\";"), 3, "does not start with a path" },
    { T3("url = \"http://a/\"; json = \"$.a < \\\"x\\\"\";"), 3,
      "compares with <, <=, > or >= but its value is not a number" },
    { T3("url = \"http://a/\"; json = \"$.a == UP\";"), 3, "has a value that is not a \"quoted string\", a number" },
    { T3("url = \"http://a/\"; json = \"$.a\";"), 3, "has no operator" },
    { T3("url = \"http://a/\"; json = \"$.a exists 1\";"), 3, "has a value after exists" },
    { T3("url = \"http://a/\"; json = \"$.a ~ \\\"(\\\"\";"), 3, "the pattern is not a regular expression" },
    { T3("url = \"http://a/\"; header_conditions = \"X-A\";"), 3, "header_conditions[0]: 'X-A' has no operator" },
    { T3("url = \"http://a/\"; header_conditions = \"X-A > b\";"), 3, "its value is not a number" },
    { T3("url = \"http://a/\"; timeout = 2;\n max_response_time = 3;"), 4,
      "max_response_time: 3 s is longer than the timeout (2 s)" },
    { T3("url = \"http://a/\"; http_version = \"3\";"), 3, "http_version: '3' is not one of \"1.0\", \"1.1\", \"2\"" },
    { T3("url = \"http://a/\"; body_limit = 100;"), 3, "body_limit: must be between 1024 and 67108864" },
    { T3("url = \"http://a/\"; body_limit = 67108865;"), 3, "body_limit: must be between 1024 and 67108864" },
    { T3("url = \"https://a/\"; client_cert = \"c.pem\";"), 3, "client_cert: 'c.pem' is not an absolute path" },
    { T3("url = \"https://a/\"; client_cert = \"/nonexistent.pem\";"), 3,
      "client_cert: cannot read '/nonexistent.pem'" },
    { T3("url = \"https://a/\"; client_key = \"/etc/hostname\";"), 3, "client_key: a client key without client_cert" },
    { T3("url = \"http://a/\"; proxy = \"ftp://p:21\";"), 3,
      "proxy: 'ftp://p:21' is not an http://, https:// or socks5://" },
    { T3("url = \"http://a/\"; proxy = \"socks5://\";"), 3, "proxy: 'socks5://' has no host" },
    { T3("url = \"http://a/\"; address = \"localhost\";"), 3, "address: 'localhost' is not an IPv4 or IPv6 address" },
    { T3("url = \"http://a/\"; min_cert_days = 3;"), 3, "min_cert_days: only an https:// URL has a certificate" },
    { T3("url = \"http://a/\"; expect_status = \"6xx\";"), 3, "'6xx' is not a status class" },
    { T3("url = \"http://a/\"; expect_status = \"300-200\";"), 3, "'300-200' is not a status class" },
};

/* A proxy whose password holds a '/' (curl reads the authority up to it: "port is not a number"): the message
 * masks the credentials like every other URL in a message. */
static void test_proxy_password_masked(void **state)
{
    struct ct *t = *state;
    ct_expect_refused(t, T3("url = \"http://a/\"; proxy = \"http://user:pa/ss@proxy:3128\";"), 3,
                      "proxy: 'http://***@proxy:3128'");
    for (int i = 0; i < t->n_msgs && i < CT_MAX_MSGS; i++) assert_null(strstr(t->msgs[i], "pa/ss"));
    ct_expect_refused(t, T3("url = \"http://a/\"; proxy = \"socks5://u:a/b@c/d@p:1080\";"), 3,
                      "proxy: 'socks5://***@p:1080'");
    for (int i = 0; i < t->n_msgs && i < CT_MAX_MSGS; i++) assert_null(strstr(t->msgs[i], "a/b@c"));
    /* a '?' in the password: masked as well */
    ct_expect_refused(t, T3("url = \"http://a/\"; proxy = \"http://user:pa?ss@proxy:3128\";"), 3,
                      "proxy: 'http://***@proxy:3128'");
    for (int i = 0; i < t->n_msgs && i < CT_MAX_MSGS; i++) assert_null(strstr(t->msgs[i], "pa?ss"));
    /* "user:12" reads as a host and a port, the rest as a path: curl would connect to "user", and the password
     * would not count as one (the file readable by others) */
    ct_expect_refused(t, T3("url = \"http://a/\"; proxy = \"http://user:12/34@proxy:3128\";"), 3,
                      "proxy: 'http://***@proxy:3128' has an '@' after its host: write a '/', '?' or '#' of the user "
                      "name or password as %2F, %3F or %23");
    for (int i = 0; i < t->n_msgs && i < CT_MAX_MSGS; i++) assert_null(strstr(t->msgs[i], "12/34"));
    ct_expect_refused(t, T3("url = \"http://a/\"; proxy = \"socks5://to/ken@proxy:1080\";"), 3,
                      "proxy: 'socks5://***@proxy:1080' has an '@' after its host");
}

/* The forms the checks accept: IPv6 in brackets or bare, and each record type's answers as the worker writes
 * them. */
static void test_hosts_and_answers_accepted(void **state)
{
    struct ct *t = *state;
    struct cw_config *c = load_ok(
        t, EPS("{ type = \"tcp\"; name = \"a\"; host = \"[2001:db8::1]\"; port = 1; },\n"
               "{ type = \"tcp\"; name = \"b\"; host = \"fe80::1\"; port = 1; },\n"
               "{ type = \"dns\"; name = \"c\"; host = \"h\"; dns_server = \"[::1]\";\n"
               "  expect_answers = [\"192.0.2.1\"]; },\n"
               "{ type = \"dns\"; name = \"d\"; host = \"h\"; record_type = \"aaaa\";\n"
               "  expect_answers = [\"2001:DB8:0::1\"]; },\n"
               "{ type = \"dns\"; name = \"e\"; host = \"h\"; record_type = \"MX\";\n"
               "  expect_answers = [\"0 .\", \"10  Mx.Example.org.\"]; },\n"
               "{ type = \"dns\"; name = \"f\"; host = \"h\"; record_type = \"SRV\";\n"
               "  expect_answers = [\"0 5 80 www.example.org\"]; },\n"
               "{ type = \"dns\"; name = \"g\"; host = \"h\"; record_type = \"CAA\";\n"
               "  expect_answers = [\"0 issue \\\"letsencrypt.org\\\"\", \"128 iodef \\\"mailto:a b\\\"\"]; },\n"
               "{ type = \"dns\"; name = \"h\"; host = \"h\"; record_type = \"SOA\";\n"
               "  expect_answers = [\"ns1.example.org admin.example.org 2026120501 3600 900 604800 300\"]; },\n"
               "{ type = \"dns\"; name = \"i\"; host = \"h\"; record_type = \"TXT\";\n"
               "  expect_answers = [\"v=spf1 -all\", \"\"]; },\n"
               "{ type = \"dns\"; name = \"j\"; host = \"h\"; record_type = \"CNAME\";\n"
               "  expect_answers = [\"www.example.org.\"]; }"));
    assert_int_equal(c->n_endpoints, 10);
    assert_string_equal(c->endpoints[0].host, "2001:db8::1");
    assert_string_equal(c->endpoints[0].url, "tcp://[2001:db8::1]:1");
    assert_string_equal(c->endpoints[1].url, "tcp://[fe80::1]:1");
    assert_string_equal(c->endpoints[2].spec->dns_server, "[::1]");
    assert_string_equal(c->endpoints[2].url, "dns://[::1]/h?type=A");
    config_free(c);
}

static void test_refusals(void **state)
{
    struct ct *t = *state;
    ct_expect_all_refused(t, bad_cases, sizeof bad_cases / sizeof bad_cases[0]);
}

/* A token written in a file others may read is refused, like a password; no message holds the token. */
static void test_token_secret(void **state)
{
    struct ct *t = *state;
    ct_write(t, "c.conf", WEB EPS("{ type = \"push\"; name = \"p\";\n token = \"" TOKEN "\"; }"), 0644);
    t->n_msgs = 0;
    struct cw_config *c = config_load(t->path, ct_collect, t);
    if (c || ct_find(t, 4, "others may read it") < 0) ct_dump(t);
    assert_null(c);
    assert_true(ct_find(t, 4, "monitor.endpoints[0].token: the file holds a push token but others may read it") >= 0);
    for (int i = 0; i < t->n_msgs && i < CT_MAX_MSGS; i++) assert_null(strstr(t->msgs[i], TOKEN));
    /* a token_file that is a FIFO is refused at once, never waited on */
    char fifo[512];
    snprintf(fifo, sizeof fifo, "%s/token.fifo", t->dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    ct_expect_refused(t, WEB EPS("{ type = \"push\"; name = \"p\";\n token_file = \"token.fifo\"; }"), 4,
                      "token.fifo' is not a regular file");
    /* nor a bad token in a message */
    ct_expect_refused(t, WEB EPS("{ type = \"push\"; name = \"p\";\n token = \"secret secret secret\"; }"), 4,
                      "a token is");
    for (int i = 0; i < t->n_msgs && i < CT_MAX_MSGS; i++) assert_null(strstr(t->msgs[i], "secret secret"));
}

/* A reload that changes any field of issue 14 changes the endpoint (its worker restarts); the push token is the
 * web's alone. */
static void test_reload_sees_new_fields(void **state)
{
    struct ct *t = *state;
    static const char *const variants[] = {
        "type = \"tcp\"; host = \"h\"; port = 1;",
        "type = \"tcp\"; host = \"h\"; port = 1; send = \"a\";",
        "type = \"tcp\"; host = \"h\"; port = 1; send = \"b\";",
        "type = \"tcp\"; host = \"h\"; port = 1; expect = \"b\";",
        "type = \"icmp\"; host = \"h\"; count = 4;",
        "type = \"icmp\"; host = \"h\"; max_loss = 4;",
        "type = \"dns\"; host = \"h\"; expect_answers = [\"1.2.3.4\"];",
        "type = \"dns\"; host = \"h\"; expect_rcode = \"REFUSED\";",
        "url = \"http://h/\"; json = [\"$.a exists\"];",
        "url = \"http://h/\"; json = [\"$.b exists\"];",
        "url = \"http://h/\"; header_conditions = [\"X-A exists\"];",
        "url = \"http://h/\"; expect_status = \"2xx\";",
        "url = \"http://h/\"; expect_status = \"3xx\";",
        "url = \"http://h/\"; body_limit = 2048;",
        "url = \"http://h/\"; cookies = true;",
        "url = \"http://h/\"; address = \"127.0.0.1\";",
        "url = \"http://h/\"; method = \"PUT\"; body = \"a\";",
        "url = \"http://h/\"; keywords_absent = [\"x\"];",
    };
    char text[512];
    size_t n = sizeof variants / sizeof variants[0];
    struct cw_config *c[sizeof variants / sizeof variants[0]];
    for (size_t i = 0; i < n; i++) {
        snprintf(text, sizeof text, EPS("{ name = \"n\"; %s }"), variants[i]);
        c[i] = load_ok(t, text);
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (reload_endpoint_equal(&c[i]->endpoints[0], &c[j]->endpoints[0]) != (i == j)) {
                fprintf(stderr, "%s\n%s\n", variants[i], variants[j]);
                fail();
            }
    for (size_t i = 0; i < n; i++) config_free(c[i]);
    struct cw_config *a = load_ok(t, WEB EPS("{ type = \"push\"; name = \"p\"; token = \"" TOKEN "\"; }"));
    struct cw_config *b = load_ok(t, WEB EPS("{ type = \"push\"; name = \"p\"; token = \"" TOKEN "Z\"; }"));
    assert_true(reload_endpoint_equal(&a->endpoints[0], &b->endpoints[0]));
    assert_true(config_same_beyond_web(a, b));
    config_free(a);
    config_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tcp, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_tls_and_icmp, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_dns, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_push, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_http_assertions, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_tcp_keys, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_keys_beyond_tcp, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_types_fixture, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_refusals, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_proxy_password_masked, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_hosts_and_answers_accepted, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_token_secret, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_reload_sees_new_fields, ct_setup, ct_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
