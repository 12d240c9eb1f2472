/* tests/unit/test_config_errors.c — the config loader's refusals (common/config/config*.c): every validation
 * error with the FILE:LINE of its message and the words it must contain, URL checks, many errors reported in one
 * run (not just the first), and files that cannot be read. */
#include <setjmp.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "cfgtest_util.h"
#include "common/config/config.h"
#include "common/base/log.h"

#define EP(x) "monitor = { endpoints = (\n{ url = \"http://127.0.0.1/\";\n" x " }\n); };\n" /* x on line 3 */
/* One bad value each: the text, the line of the expected message, and words it must contain. */
static const struct ct_bad_case bad_cases[] = {
    /* unknown keys at every level */
    { "colour = 1;\n", 1, "unknown key 'colour' in the top level" },
    { "supervisor = {\n  wrkers = 2;\n};\n", 2, "unknown key 'wrkers' in supervisor" },
    { "bus = {\n store = \"tcp://a:1\";\n};\n", 2, "unknown key 'store' in bus" },
    { "monitor = {\n interval = 5;\n};\n", 2, "unknown key 'interval' in monitor" },
    { EP("colour = \"blue\";"), 3, "unknown key 'colour' in monitor.endpoints[0]" },
    { "email = { smtp_host = \"h\"; email_from = \"a@b\"; email_to = \"c@d\";\n smtp_pass = \"x\"; };\n", 2,
      "unknown key 'smtp_pass' in email" },
    { "alerts = {\n renotfy = 1;\n};\n", 2, "unknown key 'renotfy' in alerts" },
    { "alerts = { webhooks = ( { url = \"http://a/\";\n secret = \"x\"; } ); };\n", 2,
      "unknown key 'secret' in alerts.webhooks[0]" },
    { "database = {\n db_type = \"sqlite\";\n};\n", 2, "unknown key 'db_type' in database" },
    /* groups of the wrong type */
    { "supervisor = 5;\n", 1, "supervisor: expected a group" },
    { "monitor = { endpoints =\n [ \"http://a/\" ]; };\n", 1, "monitor.endpoints: expected a list of groups" },
    { "monitor = { endpoints = (\n \"http://a/\" ); };\n", 2, "monitor.endpoints[0]: expected a group" },
    /* supervisor */
    { "supervisor = {\n workers = 0; };\n", 2, "supervisor.workers: 0 only on a central host with probe hosts" },
    { "supervisor = {\n workers = 257; };\n", 2, "supervisor.workers: must be between 0 and 256" },
    { "supervisor = {\n workers = \"4\"; };\n", 2, "supervisor.workers: expected an integer, got a string" },
    { "supervisor = {\n run_dir = \"\"; };\n", 2, "supervisor.run_dir: must not be empty" },
    { "supervisor = {\n log_level = \"loud\"; };\n", 2, "supervisor.log_level: unknown level 'loud'" },
    { "supervisor = {\n log_target = \"journald\"; };\n", 2,
      "supervisor.log_target: unknown target 'journald' (stderr, syslog, journal)" },
    { "supervisor = {\n log_target = 1; };\n", 2, "supervisor.log_target: expected a string" },
    { "supervisor = {\n user = \"a b\"; };\n", 2, "supervisor.user" },
    /* monitor */
    { "monitor = {\n check_interval = 0; };\n", 2, "monitor.check_interval: must be at least 0.1" },
    { "monitor = {\n check_interval = -1.5; };\n", 2, "monitor.check_interval: must be at least 0.1" },
    { "monitor = {\n check_interval = 100000; };\n", 2, "monitor.check_interval: must be at most 86400" },
    { "monitor = {\n check_interval = \"60\"; };\n", 2, "monitor.check_interval: expected a number" },
    { "monitor = {\n latency_threshold = 0; };\n", 2, "monitor.latency_threshold: must be greater than 0" },
    { "monitor = {\n tls_expiry_days = -1; };\n", 2, "monitor.tls_expiry_days: must be between 0 and 3650" },
    /* endpoints */
    { "monitor = { endpoints = (\n{ name = \"x\"; }\n); };\n", 2, "monitor.endpoints[0]: missing url" },
    { "monitor = { endpoints = (\n{ url = \"ftp://a/\"; }\n); };\n", 2, "is not an http:// or https:// URL" },
    { "monitor = { endpoints = (\n{ url = \"http://\"; }\n); };\n", 2, "has no host" },
    { "monitor = { endpoints = (\n{ url = \"http://:80/\"; }\n); };\n", 2, "has no host" },
    { "monitor = { endpoints = (\n{ url = \"http://a b/\"; }\n); };\n", 2, "contains a space or a control character" },
    { "monitor = { endpoints = (\n{ url = \"http://a/\\x01\"; }\n); };\n", 2, "control character" },
    { "monitor = { endpoints = (\n{ url = \"http://a:99999/\"; }\n); };\n", 2, "port outside 1..65535" },
    { "monitor = { endpoints = (\n{ url = \"http://a:8o/\"; }\n); };\n", 2, "port that is not a number" },
    { "monitor = { endpoints = (\n{ url = \"\"; }\n); };\n", 2, "monitor.endpoints[0].url: must not be empty" },
    { "monitor = { endpoints = (\n{ url = 5; }\n); };\n", 2, "monitor.endpoints[0].url: expected a string" },
    { "monitor = { endpoints = (\n{ url = \"http://a/\"; },\n{ url = \"http://b/\"; },\n{ url = \"http://a/\"; }\n); };\n",
      4, "monitor.endpoints[2].url: duplicate url 'http://a/' (first at line 2)" },
    { EP("timeout = 0;"), 3, "monitor.endpoints[0].timeout: must be at least 0.01" },
    { EP("timeout = 90;"), 3, "monitor.endpoints[0].timeout: 90 s is longer than the check interval (60 s)" },
    { EP("check_interval = 5; timeout = 6;"), 3, "timeout: 6 s is longer than the check interval (5 s)" },
    { EP("alert_threshold = 0;"), 3, "monitor.endpoints[0].alert_threshold: must be between 1 and" },
    { EP("recovery_threshold = 0;"), 3, "monitor.endpoints[0].recovery_threshold: must be between 1 and" },
    { EP("check_interval = 0;"), 3, "monitor.endpoints[0].check_interval: must be at least 0.1" },
    { EP("latency_threshold = -1;"), 3, "monitor.endpoints[0].latency_threshold: must be greater than 0" },
    /* at most an hour (3600 s): timeout (under a day-long interval, so the interval is not the reason) and
     * latency_threshold, at both levels; 3600 itself is accepted in test_limits */
    { EP("check_interval = 86400; timeout = 3601;"), 3,
      "monitor.endpoints[0].timeout: must be at most 3600 (got 3601)" },
    { EP("check_interval = 86400; timeout = 3600.5;"), 3,
      "monitor.endpoints[0].timeout: must be at most 3600 (got 3600.5)" },
    { EP("latency_threshold = 3601;"), 3, "monitor.endpoints[0].latency_threshold: must be at most 3600 (got 3601)" },
    { "monitor = {\n latency_threshold = 3601; };\n", 2, "monitor.latency_threshold: must be at most 3600 (got 3601)" },
    { EP("method = \"TRACE\";"), 3,
      "monitor.endpoints[0].method: 'TRACE' is not one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS" },
    { EP("body = \"x\";"), 3, "monitor.endpoints[0].body: a body is not sent with method GET or HEAD" },
    { EP("method = \"GET\"; body = \"x\";"), 3, "a body is not sent with method GET or HEAD" },
    { EP("keyword = \"ok\"; method = \"HEAD\";"), 3, "monitor.endpoints[0].keyword: method HEAD has no body" },
    { EP("keyword = \"\";"), 3, "monitor.endpoints[0].keyword: must not be empty" },
    { EP("expect_status = 99;"), 3, "status code 99 is not between 100 and 599" },
    { EP("expect_status = [200, 600];"), 3, "status code 600 is not between 100 and 599" },
    { EP("expect_status = [];"), 3, "expected 1 to 64 status codes" },
    { EP("expect_status = [\"200\"];"), 3, "'200' is not a status class (\"2xx\") or range (\"200-299\")" },
    { EP("expect_status = [2.5];"), 3, "expected a status code" },
    { EP("verify_tls = \"yes\";"), 3, "monitor.endpoints[0].verify_tls: expected a boolean" },
    { EP("follow_redirects = 1;"), 3, "monitor.endpoints[0].follow_redirects: expected a boolean" },
    { EP("headers = [\"NoColon\"];"), 3, "header line 'NoColon...' has no ':'" },
    { EP("headers = [\"X-A: b\\r\\nX-B: c\"];"), 3, "contains CR or LF" },
    { EP("headers = [\"X-A: b\\nX-B: c\"];"), 3, "contains CR or LF" },
    { EP("headers = [\": v\"];"), 3, "has an empty name" },
    { EP("headers = [\"X A: v\"];"), 3, "name that is not a token" },
    { EP("headers = 5;"), 3, "monitor.endpoints[0].headers: expected a list of strings" },
    { EP("name = \"\";"), 3, "monitor.endpoints[0].name: must not be empty" },
    { EP("ca_file = 1;"), 3, "monitor.endpoints[0].ca_file: expected a string" },
    /* email */
    { "email = { smtp_host = \"h\"; email_to = \"c@d\";\n email_from = \"not an address\"; };\n", 2,
      "email.email_from: 'not an address'" },
    { "email = { smtp_host = \"h\"; email_from = \"a@b\";\n email_to = [\"c@d\", \"bad\"]; };\n", 2,
      "email.email_to: 'bad' does not look like a mail address" },
    { "email = { smtp_host = \"h\"; email_from = \"a@b\";\n email_to = \"x@y@z\"; };\n", 2, "more than one '@'" },
    { "email = { smtp_host = \"h\"; email_from = \"a@b\";\n email_to = 5; };\n", 2,
      "email.email_to: expected an address" },
    { "email = { smtp_host = \"h\"; email_from = \"a@b\"; email_to = \"c@d\";\n smtp_port = 0; };\n", 2,
      "email.smtp_port: must be between 1 and 65535" },
    { "email = { smtp_host = \"h\"; email_from = \"a@b\"; email_to = \"c@d\";\n smtp_port = 70000; };\n", 2,
      "email.smtp_port: must be between 1 and 65535" },
    { "email = { smtp_host = \"h\"; email_from = \"a@b\"; email_to = \"c@d\";\n smtp_tls = \"ssl\"; };\n", 2,
      "email.smtp_tls: 'ssl' is not starttls, tls or none" },
    { "email = {\n email_from = \"a@b\"; email_to = \"c@d\"; };\n", 1, "email: smtp_host is required" },
    { "email = {\n smtp_host = \"h\"; email_from = \"a@b\"; };\n", 1, "email: email_to is required" },
    { "email = {\n smtp_host = \"h\"; email_to = \"c@d\"; };\n", 1, "email: email_from is required" },
    { "email = { email_from = \"a@b\"; email_to = \"c@d\";\n smtp_host = \"mail host\"; };\n", 2,
      "email.smtp_host: 'mail host' is not a host name" },
    { "email = { email_from = \"a@b\"; email_to = \"c@d\";\n smtp_host = \"bob@mail.example\"; };\n", 2,
      "email.smtp_host: 'bob@mail.example' is not a host name" },
    { "email = { email_from = \"a@b\"; email_to = \"c@d\";\n smtp_host = \"mail.example/x\"; };\n", 2,
      "email.smtp_host: 'mail.example/x' is not a host name" },
    { "email = { smtp_host = \"h\"; email_from = \"a@b\";\n email_to = []; };\n", 2,
      "email.email_to: expected 1 to 1000 addresses (got 0)" },
    /* alerts */
    { "alerts = { webhooks = (\n { url = \"ftp://a/\"; } ); };\n", 2,
      "alerts.webhooks[0].url: 'ftp://a/' is not an http" },
    { "alerts = { webhooks = (\n { } ); };\n", 2, "alerts.webhooks[0]: missing url" },
    { "alerts = {\n webhooks = \"http://a/\"; };\n", 2, "alerts.webhooks: expected a list of groups" },
    { "alerts = {\n renotify = -1; };\n", 2, "alerts.renotify: must be between 0 and" },
    { "alerts = {\n group_threshold = 0; };\n", 2, "alerts.group_threshold: must be between 1 and" },
    { "alerts = {\n recovery_threshold = 0; };\n", 2, "alerts.recovery_threshold: must be between 1 and" },
    /* web: the auth user is the author of silences made through the web (alerter/ctlreq.c's rules) */
    { "web = {\n auth_user = \"ops(admin)\"; };\n", 2, "web.auth_user: a user name of at most 64 bytes" },
    /* database */
    { "database = {\n db_driver = \"oracle\"; };\n", 2,
      "database.db_driver: 'oracle' is not sqlite, postgresql or mysql" },
    { "database = {\n db_port = 0; };\n", 2, "database.db_port: must be between 1 and 65535" },
    { "database = {\n db_host = \"db host\"; };\n", 2, "database.db_host: 'db host' is not a host name" },
    { "database = {\n db_host = \"user@db.example\"; };\n", 2,
      "database.db_host: 'user@db.example' is not a host name" },
    { "database = {\n db_host = \"db.example/5432\"; };\n", 2,
      "database.db_host: 'db.example/5432' is not a host name" },
    { "database = {\n db_activation = \"yes\"; };\n", 2, "database.db_activation: expected a boolean" },
    { "database = {\n db_sslmode = \"sometimes\"; };\n", 2, "database.db_sslmode: 'sometimes' is not" },
    { "database = { db_password = \"x\";\n db_password_file = \"pw\"; };\n", 2,
      "database.db_password_file: both db_password and db_password_file are set" },
    { "database = {\n db_password_file = \"no-such-file\"; };\n", 2, "database.db_password_file: cannot open" },
    { "email = { smtp_host = \"h\"; email_from = \"a@b\"; email_to = \"c@d\"; smtp_password = \"x\";\n"
      " smtp_password_file = \"pw\"; };\n",
      2, "email.smtp_password_file: both smtp_password and smtp_password_file" },
    /* bus */
    { "bus = {\n store_address = \"udp://a:1\"; };\n", 2,
      "bus.store_address: address must start with ipc:// or tcp://" },
    { "bus = {\n tap_address = \"tcp://a\"; };\n", 2, "bus.tap_address: tcp:// address needs host:port" },
    /* "*" is bound fine but the host's own processes cannot connect to it (the central's alerter to its storer) */
    { "bus = {\n store_address = \"tcp://*:7001\"; };\n", 2,
      "bus.store_address: tcp://*:PORT can be listened on but not connected to" },
    { "bus = { store_address = \"tcp://127.0.0.1:5000\";\n alert_address = \"tcp://127.0.0.1:5000\"; };\n", 2,
      "bus.alert_address: the same address as bus.store_address" },
    /* syntax */
    { "monitor = {\n check_interval = ;\n};\n", 2, "syntax error" },
};

static void test_validation_errors(void **state)
{
    struct ct *t = *state;
    ct_expect_all_refused(t, bad_cases, sizeof bad_cases / sizeof bad_cases[0]);
}

static void test_url_checks(void **state)
{
    struct ct *t = *state;
    /* accepted shapes */
    struct cw_config *c = ct_load(t, "monitor = { endpoints = (\n"
                                     "{ url = \"HTTPS://Example.test\"; },\n"
                                     "{ url = \"http://user:pw@127.0.0.1:8080/x?y=1#z\"; },\n"
                                     "{ url = \"http://[::1]:8080/\"; },\n"
                                     "{ url = \"https://example.test/a/b\"; method = \"post\"; body = \"\"; } ); };\n");
    if (!c) ct_dump(t);
    assert_non_null(c);
    assert_int_equal(c->endpoints[3].spec->method, CW_METHOD_POST);
    config_free(c);
    /* too long */
    size_t n = 4200;
    char *text = malloc(n + 200);
    assert_non_null(text);
    int at = snprintf(text, 200, "monitor = { endpoints = (\n{ url = \"http://a/");
    memset(text + at, 'x', n - (size_t)at);
    snprintf(text + n, 200, "\"; } ); };\n");
    c = ct_load(t, text);
    free(text);
    assert_null(c);
    assert_true(ct_find(t, 2, "is longer than 4096 bytes") >= 0);
    /* credentials in a bad URL are masked in the message */
    c = ct_load(t, "monitor = { endpoints = (\n{ url = \"ftp://bob:hunter2@a/\"; } ); };\n");
    assert_null(c);
    assert_int_equal(t->n_msgs, 1);
    assert_null(strstr(t->msgs[0], "hunter2"));
    assert_true(ct_find(t, 2, "***@a/") >= 0);
}

static void test_many_errors(void **state)
{
    struct ct *t = *state;
    struct cw_config *c = ct_load_fixture(t, "errors.conf");
    assert_null(c);
    static const struct {
        int line;
        const char *needle;
    } want[] = {
        { 2, "supervisor.workers: 0 only on a central host with probe hosts" },
        { 4, "monitor.check_interval: must be at least 0.1" },
        { 6, "monitor.endpoints[0].url: 'ftp://example.test/' is not an http" },
        { 7, "monitor.endpoints[1]: missing url" },
        { 8, "monitor.endpoints[2].keyword: method HEAD" },
        { 9, "unknown key 'colour' in monitor.endpoints[3]" },
        { 9, "duplicate url 'http://127.0.0.1/' (first at line 8)" },
        { 12, "database.db_driver: 'oracle'" },
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        if (ct_find(t, want[i].line, want[i].needle) < 0) {
            fprintf(stderr, "missing: line %d %s\n", want[i].line, want[i].needle);
            ct_dump(t);
            fail();
        }
    }
    assert_int_equal(t->n_msgs, (int)(sizeof want / sizeof want[0]));
}

static void test_read_errors(void **state)
{
    struct ct *t = *state;
    t->n_msgs = 0;
    char p[512];
    snprintf(p, sizeof p, "%s/missing.conf", t->dir);
    assert_null(config_load(p, ct_collect, t));
    assert_int_equal(t->n_msgs, 1);
    char exact[PATH_MAX + 80];
    snprintf(exact, sizeof exact, "%s: cannot read the configuration: No such file or directory", p);
    assert_string_equal(t->msgs[0], exact); /* a file-level problem: no ":0:" */
    /* libconfig's "syntax error" said once, with its line */
    t->n_msgs = 0;
    assert_null(ct_load(t, "monitor = {\n check_interval = ;\n};\n"));
    assert_int_equal(t->n_msgs, 1);
    char real_dir[PATH_MAX];
    assert_non_null(realpath(t->dir, real_dir));
    snprintf(exact, sizeof exact, "%s/c.conf:2: syntax error", real_dir);
    assert_string_equal(t->msgs[0], exact);
    /* no callback: still NULL, no crash */
    assert_null(config_load(p, NULL, NULL));
    /* @include is relative to the config's directory, and an included file's problems name that file */
    ct_write(t, "inc.conf", "supervisor = {\n\n workers = 999; };\n", 0600);
    struct cw_config *c = ct_load(t, "@include \"inc.conf\"\n");
    assert_null(c);
    char real[PATH_MAX], want[PATH_MAX + 80]; /* realpath: PATH_MAX bytes */
    assert_non_null(realpath(t->dir, real));
    snprintf(want, sizeof want, "%s/inc.conf:3: supervisor.workers: must be between 0 and 256", real);
    assert_int_equal(t->n_msgs, 1);
    assert_non_null(strstr(t->msgs[0], want));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_validation_errors, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_url_checks, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_many_errors, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_read_errors, ct_setup, ct_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
