/* tests/unit/test_config.c — the config loader (common/config/config*.c): the example configuration, defaults,
 * integers and decimals, every validation error with its FILE:LINE, many errors in one run, passwords
 * from the file / a password file / the environment (and never in a message), relative paths and the
 * small accessors. Bounds, mutated files and 100,000 endpoints: test_config_limits.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "cfgtest_util.h"
#include "common/config/config.h"
#include "common/base/log.h"

static const char *MIN_EP = "monitor = { endpoints = ( { url = \"http://127.0.0.1/\"; } ); };\n";

static void test_issue2_example(void **state)
{
    struct ct *t = *state;
    struct cw_config *c = ct_load_fixture(t, "issue2.conf");
    if (!c) ct_dump(t);
    assert_non_null(c);
    char p[512];
    snprintf(p, sizeof p, "%s/c.conf", t->dir);
    char *real = realpath(p, NULL);
    assert_string_equal(c->path, real);
    free(real);
    assert_int_equal(c->workers, 4);
    snprintf(p, sizeof p, "%s/run", c->dir);
    assert_string_equal(c->run_dir, p);
    assert_int_equal(c->log_level, LOG_LVL_INFO);
    assert_null(c->user);
    assert_true(c->check_interval == 60);
    assert_true(c->latency_threshold == 1.5);
    assert_int_equal(c->n_endpoints, 2);

    const struct cw_endpoint *a = &c->endpoints[0], *b = &c->endpoints[1];
    assert_string_equal(a->url, "https://example.com/health");
    assert_null(a->name);
    assert_true(a->timeout == 2);
    assert_int_equal(a->alert_threshold, 3);
    assert_int_equal(a->recovery_threshold, 1);
    assert_true(a->interval == 60);
    assert_true(a->latency_threshold == 1.5);
    assert_int_equal(a->method, CW_METHOD_GET);
    assert_int_equal(a->n_expect_status, 0);
    assert_true(a->verify_tls);
    assert_false(a->follow_redirects);
    assert_null(a->keyword);
    assert_int_equal(a->n_headers, 0);

    assert_string_equal(b->url, "http://10.0.0.7:8080/");
    assert_string_equal(b->name, "billing");
    assert_true(b->timeout == 2.5);
    assert_int_equal(b->alert_threshold, 2);
    assert_int_equal(b->method, CW_METHOD_GET);
    assert_int_equal(b->n_expect_status, 2);
    assert_int_equal(b->expect_status[0], 200);
    assert_int_equal(b->expect_status[1], 204);
    assert_true(b->interval == 10);
    assert_true(b->latency_threshold == 0.5);
    assert_true(b->verify_tls);
    assert_true(b->follow_redirects);
    assert_string_equal(b->keyword, "ok");
    assert_int_equal(b->n_headers, 1);
    assert_string_equal(b->headers[0], "Authorization: Bearer …");

    assert_true(c->email_enabled);
    assert_string_equal(c->smtp_host, "smtp.example.com");
    assert_int_equal(c->smtp_port, 587);
    assert_string_equal(c->email_from, "a@b");
    assert_int_equal(c->n_email_to, 1);
    assert_string_equal(c->email_to[0], "c@d");
    assert_int_equal(c->smtp_tls, CW_SMTP_STARTTLS);

    assert_true(c->db_activation);
    assert_int_equal(c->db_driver, CW_DB_SQLITE);
    snprintf(p, sizeof p, "%s/clockwerk.db", c->dir);
    assert_string_equal(c->db_name, p);
    assert_string_equal(c->db_user, "root");
    assert_string_equal(c->db_password, "…");
    assert_string_equal(c->db_host, "localhost");
    assert_int_equal(c->db_port, 3306);

    snprintf(p, sizeof p, "ipc://%s/run/store.sock", c->dir);
    assert_string_equal(c->store_address, p);
    snprintf(p, sizeof p, "ipc://%s/run/alert.sock", c->dir);
    assert_string_equal(c->alert_address, p);
    snprintf(p, sizeof p, "ipc://%s/run/publish.sock", c->dir);
    assert_string_equal(c->publish_address, p);
    snprintf(p, sizeof p, "ipc://%s/run/tap.sock", c->dir);
    assert_string_equal(c->tap_address, p);

    assert_true(config_wants_storer(c));
    assert_true(config_wants_alerter(c));
    assert_int_equal(t->n_msgs, 0);
    config_free(c);
}

static void test_defaults(void **state)
{
    struct ct *t = *state;
    struct cw_config *c = ct_load(t, MIN_EP);
    assert_non_null(c);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    assert_int_equal(c->workers, cpus < 1 ? 1 : cpus > 256 ? 256 : cpus);
    char p[512];
    snprintf(p, sizeof p, "%s/run", c->dir);
    assert_string_equal(c->run_dir, p);
    assert_int_equal(c->log_level, LOG_LVL_INFO);
    assert_true(c->check_interval == 60);
    assert_true(c->latency_threshold == 1.0);
    assert_int_equal(c->tls_expiry_days, 14);
    const struct cw_endpoint *e = &c->endpoints[0];
    assert_true(e->timeout == 10);
    assert_true(e->interval == 60);
    assert_true(e->latency_threshold == 1.0);
    assert_int_equal(e->alert_threshold, 3);
    assert_int_equal(e->recovery_threshold, 1);
    assert_int_equal(e->method, CW_METHOD_GET);
    assert_int_equal(e->n_expect_status, 0);
    assert_true(e->verify_tls);
    assert_false(e->follow_redirects);
    assert_null(e->name);
    assert_null(e->body);
    assert_null(e->ca_file);
    assert_false(c->email_enabled);
    assert_int_equal(c->n_webhooks, 0);
    assert_true(c->renotify == 0);
    assert_int_equal(c->recovery_threshold, 1);
    assert_int_equal(c->group_threshold, 5);
    assert_false(c->db_activation);
    assert_int_equal(c->db_driver, CW_DB_SQLITE);
    snprintf(p, sizeof p, "%s/clockwerk.db", c->dir);
    assert_string_equal(c->db_name, p);
    assert_int_equal(c->db_port, 0);
    assert_null(c->db_sslmode);
    assert_false(config_wants_storer(c));
    assert_false(config_wants_alerter(c));
    config_free(c);

    /* an empty file is a valid config with no endpoints */
    c = ct_load(t, "# nothing\n");
    assert_non_null(c);
    assert_int_equal(c->n_endpoints, 0);
    config_free(c);

    /* the default timeout never exceeds the interval; recovery_threshold comes from alerts */
    c = ct_load(t,
                "monitor = { check_interval = 4; endpoints = ( { url = \"http://a/\"; },\n"
                "{ url = \"http://b/\"; check_interval = 30; }, { url = \"http://c/\"; check_interval = 0.5; } ); };\n"
                "alerts = { recovery_threshold = 3; };\n");
    assert_non_null(c);
    assert_true(c->endpoints[0].timeout == 4);
    assert_true(c->endpoints[1].timeout == 10);
    assert_true(c->endpoints[2].timeout == 0.5);
    assert_int_equal(c->endpoints[0].recovery_threshold, 3);
    config_free(c);

    /* smtp_port by smtp_tls, db_port and db_name by driver, driver names in any case */
    static const struct {
        const char *tls;
        int port;
    } tls[] = { { "starttls", 587 }, { "TLS", 465 }, { "none", 25 } };
    for (size_t i = 0; i < 3; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "email = { smtp_host = \"h\"; email_from = \"a@b\"; email_to = \"c@d\"; "
                 "smtp_tls = \"%s\"; };\n",
                 tls[i].tls);
        c = ct_load(t, text);
        assert_non_null(c);
        assert_int_equal(c->smtp_port, tls[i].port);
        assert_true(config_wants_alerter(c));
        config_free(c);
    }
    static const struct {
        const char *name;
        int driver, port;
    } drv[] = { { "SQLite", CW_DB_SQLITE, 0 },
                { "PostgreSQL", CW_DB_POSTGRES, 5432 },
                { "postgres", CW_DB_POSTGRES, 5432 },
                { "MySQL", CW_DB_MYSQL, 3306 },
                { "mariadb", CW_DB_MYSQL, 3306 } };
    for (size_t i = 0; i < sizeof drv / sizeof drv[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "database = { db_activation = true; db_driver = \"%s\"; };\n", drv[i].name);
        c = ct_load(t, text);
        assert_non_null(c);
        assert_int_equal(c->db_driver, drv[i].driver);
        assert_int_equal(c->db_port, drv[i].port);
        if (drv[i].driver != CW_DB_SQLITE) assert_string_equal(c->db_name, "clockwerk");
        assert_true(config_wants_storer(c));
        config_free(c);
    }
    c = ct_load(t, "alerts = { webhooks = ( { url = \"http://127.0.0.1:9/h\"; } ); };\n");
    assert_non_null(c);
    assert_true(config_wants_alerter(c));
    config_free(c);
}

static void test_ints_and_floats(void **state)
{
    struct ct *t = *state;
    struct cw_config *c =
        ct_load(t, "monitor = { check_interval = 2; latency_threshold = 1;\n"
                   "endpoints = ( { url = \"http://a/\"; timeout = 1; check_interval = 2.5; },\n"
                   "{ url = \"http://b/\"; timeout = 1.25; alert_threshold = 4.0; latency_threshold = 0.75; } ); };\n"
                   "alerts = { renotify = 90.5; group_threshold = 2; };\n");
    if (!c) ct_dump(t);
    assert_non_null(c);
    assert_true(c->check_interval == 2);
    assert_true(c->latency_threshold == 1);
    assert_true(c->endpoints[0].interval == 2.5);
    assert_true(c->endpoints[0].timeout == 1);
    assert_true(c->endpoints[1].interval == 2);
    assert_true(c->endpoints[1].timeout == 1.25);
    assert_int_equal(c->endpoints[1].alert_threshold, 4);
    assert_true(c->endpoints[1].latency_threshold == 0.75);
    assert_true(c->renotify == 90.5);
    config_free(c);

    c = ct_load(t, "monitor = { endpoints = ( { url = \"http://a/\";\n alert_threshold = 2.5; } ); };\n");
    assert_null(c);
    assert_true(ct_find(t, 2, "whole number") >= 0);
}

/* One bad value each: the text, the line of the expected message, and words it must contain. */
struct bad_case {
    const char *text;
    int line;
    const char *needle;
};

#define EP(x) "monitor = { endpoints = (\n{ url = \"http://127.0.0.1/\";\n" x " }\n); };\n" /* x on line 3 */
static const struct bad_case bad_cases[] = {
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
    { "supervisor = {\n workers = 0; };\n", 2, "supervisor.workers: must be between 1 and 256 (got 0)" },
    { "supervisor = {\n workers = 257; };\n", 2, "supervisor.workers: must be between 1 and 256" },
    { "supervisor = {\n workers = \"4\"; };\n", 2, "supervisor.workers: expected an integer, got a string" },
    { "supervisor = {\n run_dir = \"\"; };\n", 2, "supervisor.run_dir: must not be empty" },
    { "supervisor = {\n log_level = \"loud\"; };\n", 2, "supervisor.log_level: unknown level 'loud'" },
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
    { EP("method = \"PUT\";"), 3, "monitor.endpoints[0].method: 'PUT' is not GET, HEAD or POST" },
    { EP("body = \"x\";"), 3, "monitor.endpoints[0].body: a body is only sent with method POST" },
    { EP("method = \"GET\"; body = \"x\";"), 3, "a body is only sent with method POST" },
    { EP("keyword = \"ok\"; method = \"HEAD\";"), 3, "monitor.endpoints[0].keyword: method HEAD has no body" },
    { EP("keyword = \"\";"), 3, "monitor.endpoints[0].keyword: must not be empty" },
    { EP("expect_status = 99;"), 3, "status code 99 is not between 100 and 599" },
    { EP("expect_status = [200, 600];"), 3, "status code 600 is not between 100 and 599" },
    { EP("expect_status = [];"), 3, "expected 1 to 64 status codes" },
    { EP("expect_status = [\"200\"];"), 3, "expected a status code" },
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
    { "bus = { store_address = \"tcp://127.0.0.1:5000\";\n alert_address = \"tcp://127.0.0.1:5000\"; };\n", 2,
      "bus.alert_address: the same address as bus.store_address" },
    /* syntax */
    { "monitor = {\n check_interval = ;\n};\n", 2, "syntax error" },
};

static void test_validation_errors(void **state)
{
    struct ct *t = *state;
    int failed = 0;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        struct cw_config *c = ct_load(t, bad_cases[i].text);
        if (c || ct_find(t, bad_cases[i].line, bad_cases[i].needle) < 0) {
            fprintf(stderr, "case %zu: expected line %d '%s' for:\n%s", i, bad_cases[i].line, bad_cases[i].needle,
                    bad_cases[i].text);
            ct_dump(t);
            failed++;
        }
        config_free(c);
    }
    assert_int_equal(failed, 0);
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
    assert_int_equal(c->endpoints[3].method, CW_METHOD_POST);
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
        { 2, "supervisor.workers: must be between 1 and 256" },
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
    assert_non_null(strstr(t->msgs[0], "missing.conf:0: cannot read the file"));
    /* no callback: still NULL, no crash */
    assert_null(config_load(p, NULL, NULL));
    /* @include is relative to the config's directory, and an included file's problems name that file */
    ct_write(t, "inc.conf", "supervisor = {\n\n workers = 999; };\n", 0600);
    struct cw_config *c = ct_load(t, "@include \"inc.conf\"\n");
    assert_null(c);
    char real[512], want[600];
    assert_non_null(realpath(t->dir, real));
    snprintf(want, sizeof want, "%s/inc.conf:3: supervisor.workers: must be between 1 and 256", real);
    assert_int_equal(t->n_msgs, 1);
    assert_non_null(strstr(t->msgs[0], want));
}

static void test_passwords(void **state)
{
    struct ct *t = *state;
    const char *email = "email = { smtp_host = \"h\"; email_from = \"a@b\"; email_to = \"c@d\";";
    char text[1024];
    unsetenv("CLOCKWERK_DB_PASSWORD");
    unsetenv("CLOCKWERK_SMTP_PASSWORD");

    /* from password files, relative to the config's directory, one trailing newline stripped */
    ct_write(t, "secrets/db.pw", "db-pass-1\n", 0600);
    ct_write(t, "smtp.pw", "smtp-pass-1\r\n", 0600);
    snprintf(text, sizeof text,
             "database = { db_password_file = \"secrets/db.pw\"; };\n%s smtp_password_file = "
             "\"smtp.pw\"; };\n",
             email);
    struct cw_config *c = ct_load(t, text);
    if (!c) ct_dump(t);
    assert_non_null(c);
    assert_string_equal(c->db_password, "db-pass-1");
    assert_string_equal(c->smtp_password, "smtp-pass-1");
    config_free(c);

    /* from the environment when the file names none; the file wins over the environment */
    setenv("CLOCKWERK_DB_PASSWORD", "env-db", 1);
    setenv("CLOCKWERK_SMTP_PASSWORD", "env-smtp", 1);
    snprintf(text, sizeof text, "database = { db_driver = \"postgresql\"; };\n%s };\n", email);
    c = ct_load(t, text);
    assert_non_null(c);
    assert_string_equal(c->db_password, "env-db");
    assert_string_equal(c->smtp_password, "env-smtp");
    config_free(c);
    snprintf(text, sizeof text, "database = { db_password = \"file-db\"; };\n%s smtp_password_file = \"smtp.pw\"; };\n",
             email);
    c = ct_load(t, text);
    assert_non_null(c);
    assert_string_equal(c->db_password, "file-db");
    assert_string_equal(c->smtp_password, "smtp-pass-1");
    config_free(c);
    unsetenv("CLOCKWERK_DB_PASSWORD");
    unsetenv("CLOCKWERK_SMTP_PASSWORD");
    c = ct_load(t, MIN_EP);
    assert_non_null(c);
    assert_null(c->db_password);
    assert_null(c->smtp_password);
    config_free(c);

    /* an empty password file is refused */
    ct_write(t, "empty.pw", "\n", 0600);
    c = ct_load(t, "database = {\n db_password_file = \"empty.pw\"; };\n");
    assert_null(c);
    assert_true(ct_find(t, 2, "must hold the password on one line") >= 0);

    /* a password file that opens but cannot be read (a directory, private so that only the read fails) */
    char pwdir[512], needle[700];
    snprintf(pwdir, sizeof pwdir, "%s/pw.d", t->dir);
    assert_int_equal(mkdir(pwdir, 0700), 0);
    assert_int_equal(chmod(pwdir, 0700), 0);
    char real_dir[512];
    assert_non_null(realpath(t->dir, real_dir));
    c = ct_load(t, "database = {\n db_password_file = \"pw.d\"; };\n");
    assert_null(c);
    snprintf(needle, sizeof needle, "database.db_password_file: cannot read '%s/pw.d': Is a directory", real_dir);
    if (ct_find(t, 2, needle) < 0) ct_dump(t);
    assert_true(ct_find(t, 2, needle) >= 0);
    assert_int_equal(t->n_msgs, 1);
    snprintf(text, sizeof text, "%s\n smtp_password_file = \"pw.d\"; };\n", email);
    c = ct_load(t, text);
    assert_null(c);
    snprintf(needle, sizeof needle, "email.smtp_password_file: cannot read '%s/pw.d': Is a directory", real_dir);
    if (ct_find(t, 2, needle) < 0) ct_dump(t);
    assert_true(ct_find(t, 2, needle) >= 0);
    assert_int_equal(t->n_msgs, 1);

    /* a file with a password that others may read is refused, and no message shows the password */
    ct_write(t, "c.conf",
             "database = {\n db_password = \"hunter2-secret\"; db_port = 0; };\n"
             "email = { smtp_host = \"h\"; email_from = \"a@b\"; email_to = \"c@d\";\n"
             " smtp_password = \"smtp-hunter2\"; smtp_port = -1; };\n",
             0644);
    t->n_msgs = 0;
    c = config_load(t->path, ct_collect, t);
    assert_null(c);
    assert_true(ct_find(t, 2, "database.db_password: the file holds a password but others may read it") >= 0);
    assert_true(ct_find(t, 2, "chmod o-r") >= 0);
    assert_true(ct_find(t, 4, "email.smtp_password: the file holds a password") >= 0);
    assert_true(ct_find(t, 2, "db_port") >= 0);
    for (int i = 0; i < t->n_msgs; i++) {
        assert_null(strstr(t->msgs[i], "hunter2"));
    }
    /* wrong types never echo the value either */
    c = ct_load(t, "database = {\n db_password = 12345678; };\n");
    assert_null(c);
    assert_null(strstr(t->msgs[0], "12345678"));
}

static void test_relative_paths(void **state)
{
    struct ct *t = *state;
    /* the CA files must exist (-t reports one it cannot read) */
    char sub[128];
    snprintf(sub, sizeof sub, "%s/sub", t->dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    ct_write(t, "ca.pem", "x\n", 0600);
    ct_write(t, "up.pem", "x\n", 0600);
    ct_write(t, "db-ca.pem", "x\n", 0600);
    struct cw_config *c =
        ct_load(t, "supervisor = { run_dir = \"var/run\"; };\n"
                   "bus = { alert_address = \"ipc://socks/a.sock\"; };\n"
                   "monitor = { endpoints = ( { url = \"https://a/\"; ca_file = \"ca.pem\"; },\n"
                   " { url = \"https://b/\"; ca_file = \"/etc/ssl/certs/ca-certificates.crt\"; } ); };\n"
                   "email = { smtp_host = \"h\"; email_from = \"a@b\"; email_to = \"c@d\"; "
                   "smtp_ca_file = \"sub/../up.pem\"; };\n"
                   "database = { db_name = \"data/cw.db\"; db_ca_file = \"db-ca.pem\"; };\n");
    if (!c) ct_dump(t);
    assert_non_null(c);
    char real[512], p[600];
    assert_non_null(realpath(t->dir, real));
    assert_string_equal(c->dir, real);
    snprintf(p, sizeof p, "%s/c.conf", real);
    assert_string_equal(c->path, p);
    snprintf(p, sizeof p, "%s/var/run", real);
    assert_string_equal(c->run_dir, p);
    snprintf(p, sizeof p, "ipc://%s/var/run/store.sock", real);
    assert_string_equal(c->store_address, p);
    snprintf(p, sizeof p, "ipc://%s/socks/a.sock", real);
    assert_string_equal(c->alert_address, p);
    snprintf(p, sizeof p, "%s/ca.pem", real);
    assert_string_equal(c->endpoints[0].ca_file, p);
    assert_string_equal(c->endpoints[1].ca_file, "/etc/ssl/certs/ca-certificates.crt");
    snprintf(p, sizeof p, "%s/sub/../up.pem", real);
    assert_string_equal(c->smtp_ca_file, p);
    snprintf(p, sizeof p, "%s/data/cw.db", real);
    assert_string_equal(c->db_name, p);
    snprintf(p, sizeof p, "%s/db-ca.pem", real);
    assert_string_equal(c->db_ca_file, p);
    config_free(c);

    /* loaded through a relative path from another directory: path and dir still absolute */
    char cwd[512];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(t->dir), 0);
    t->n_msgs = 0;
    c = config_load("./c.conf", ct_collect, t);
    assert_int_equal(chdir(cwd), 0);
    assert_non_null(c);
    snprintf(p, sizeof p, "%s/c.conf", real);
    assert_string_equal(c->path, p);
    assert_string_equal(c->dir, real);
    config_free(c);

    /* a run_dir so long that the default ipc:// paths do not fit is reported */
    char text[1024];
    char longdir[300];
    memset(longdir, 'd', 200);
    longdir[200] = '\0';
    snprintf(text, sizeof text, "supervisor = {\n run_dir = \"%s\"; };\n", longdir);
    c = ct_load(t, text);
    assert_null(c);
    assert_true(ct_find(t, 2, "bus.store_address: the default store.sock under run_dir does not work") >= 0);
}

static void test_accessors(void **state)
{
    (void)state;
    assert_string_equal(config_driver_name(CW_DB_SQLITE), "sqlite");
    assert_string_equal(config_driver_name(CW_DB_POSTGRES), "postgresql");
    assert_string_equal(config_driver_name(CW_DB_MYSQL), "mysql");
    assert_string_equal(config_method_name(CW_METHOD_GET), "GET");
    assert_string_equal(config_method_name(CW_METHOD_HEAD), "HEAD");
    assert_string_equal(config_method_name(CW_METHOD_POST), "POST");
    assert_string_equal(config_smtp_tls_name(CW_SMTP_STARTTLS), "starttls");
    assert_string_equal(config_smtp_tls_name(CW_SMTP_TLS), "tls");
    assert_string_equal(config_smtp_tls_name(CW_SMTP_NONE), "none");

    struct cw_endpoint ep = { 0 };
    assert_true(config_status_expected(&ep, 200));
    assert_true(config_status_expected(&ep, 399));
    assert_false(config_status_expected(&ep, 199));
    assert_false(config_status_expected(&ep, 400));
    assert_false(config_status_expected(&ep, 0));
    int codes[] = { 204, 500 };
    ep.expect_status = codes;
    ep.n_expect_status = 2;
    assert_true(config_status_expected(&ep, 500));
    assert_true(config_status_expected(&ep, 204));
    assert_false(config_status_expected(&ep, 200));
    assert_false(config_wants_storer(NULL));
    assert_false(config_wants_alerter(NULL));
    config_free(NULL);

    /* a config built by hand is freed field by field */
    struct cw_config *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->run_dir = strdup("/tmp/x");
    c->db_password = strdup("pw");
    c->endpoints = calloc(1, sizeof *c->endpoints);
    c->n_endpoints = 1;
    c->endpoints[0].url = strdup("http://a/");
    c->endpoints[0].headers = calloc(1, sizeof(char *));
    c->endpoints[0].headers[0] = strdup("A: b");
    c->endpoints[0].n_headers = 1;
    config_free(c);
}

/* Random damage to a complete file: the loader reports or accepts, and never crashes (ASan/UBSan watch). */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_issue2_example, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_defaults, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_ints_and_floats, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_validation_errors, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_url_checks, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_many_errors, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_read_errors, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_passwords, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_relative_paths, ct_setup, ct_teardown),
        cmocka_unit_test(test_accessors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
