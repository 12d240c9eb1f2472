/* tests/unit/test_config.c — the config loader (common/config/config*.c): the example configuration, defaults,
 * integers and decimals, passwords from the file / a password file / the environment (and never in a message),
 * relative paths and the small accessors. Every validation error with its FILE:LINE, URL checks, many errors in
 * one run and read errors: test_config_errors.c. Bounds, mutated files and 100,000 endpoints: test_config_limits.c.
 * Hostile input (FIFOs, sizes, 64-bit integers, duplicates): test_config_input.c. */
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

/* the spec of a hand-built endpoint, written by the test (a loaded one is immutable) */
#define MUT(spec) ((struct cw_check_spec *)(spec))

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
    assert_int_equal(a->spec->method, CW_METHOD_GET);
    assert_int_equal(a->spec->n_expect_status, 0);
    assert_true(a->spec->verify_tls);
    assert_false(a->spec->follow_redirects);
    assert_null(a->spec->keyword);
    assert_int_equal(a->spec->n_headers, 0);

    assert_string_equal(b->url, "http://10.0.0.7:8080/");
    assert_string_equal(b->name, "billing");
    assert_true(b->timeout == 2.5);
    assert_int_equal(b->alert_threshold, 2);
    assert_int_equal(b->spec->method, CW_METHOD_GET);
    assert_int_equal(b->spec->n_expect_status, 2);
    assert_int_equal(b->spec->expect_status[0], 200);
    assert_int_equal(b->spec->expect_status[1], 204);
    assert_true(b->interval == 10);
    assert_true(b->latency_threshold == 0.5);
    assert_true(b->spec->verify_tls);
    assert_true(b->spec->follow_redirects);
    assert_string_equal(b->spec->keyword, "ok");
    assert_int_equal(b->spec->n_headers, 1);
    assert_string_equal(b->spec->headers[0], "Authorization: Bearer …");

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
    assert_int_equal(e->spec->method, CW_METHOD_GET);
    assert_int_equal(e->spec->n_expect_status, 0);
    assert_true(e->spec->verify_tls);
    assert_false(e->spec->follow_redirects);
    assert_null(e->name);
    assert_null(e->spec->body);
    assert_null(e->spec->ca_file);
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
    assert_true(config_wants_alerter(c)); /* the alerter runs without a channel too: it sends nothing */
    assert_false(config_has_alert_channel(c));
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
    char pwdir[512], needle[PATH_MAX + 100];
    snprintf(pwdir, sizeof pwdir, "%s/pw.d", t->dir);
    assert_int_equal(mkdir(pwdir, 0700), 0);
    assert_int_equal(chmod(pwdir, 0700), 0);
    char real_dir[PATH_MAX]; /* realpath writes up to PATH_MAX bytes (_FORTIFY_SOURCE aborts on less) */
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
    char real[PATH_MAX], p[PATH_MAX + 64]; /* realpath: PATH_MAX bytes */
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
    assert_string_equal(c->endpoints[0].spec->ca_file, p);
    assert_string_equal(c->endpoints[1].spec->ca_file, "/etc/ssl/certs/ca-certificates.crt");
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

    struct cw_check_spec spec = { 0 };
    struct cw_endpoint ep = { .spec = &spec };
    assert_true(config_status_expected(&ep, 200));
    assert_true(config_status_expected(&ep, 399));
    assert_false(config_status_expected(&ep, 199));
    assert_false(config_status_expected(&ep, 400));
    assert_false(config_status_expected(&ep, 0));
    int codes[] = { 204, 500 };
    MUT(ep.spec)->expect_status = codes;
    MUT(ep.spec)->n_expect_status = 2;
    assert_true(config_status_expected(&ep, 500));
    assert_true(config_status_expected(&ep, 204));
    assert_false(config_status_expected(&ep, 200));
    assert_false(config_wants_storer(NULL));
    assert_false(config_wants_alerter(NULL));
    assert_false(config_has_alert_channel(NULL));
    config_free(NULL);

    /* a config built by hand is freed field by field */
    struct cw_config *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->run_dir = strdup("/tmp/x");
    c->db_password = strdup("pw");
    c->endpoints = calloc(1, sizeof *c->endpoints);
    c->n_endpoints = 1;
    c->endpoints[0].url = strdup("http://a/");
    c->endpoints[0].name = strdup("a");
    c->endpoints[0].spec = &cw_check_spec_none; /* a hand-built endpoint's spec is its builder's */
    config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_issue2_example, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_defaults, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_ints_and_floats, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_passwords, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_relative_paths, ct_setup, ct_teardown),
        cmocka_unit_test(test_accessors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
