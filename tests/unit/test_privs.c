/* tests/unit/test_privs.c — supervisor/privs (resolving supervisor.user, the not-root rule) and the per-child
 * passwords of a snapshot (CLOCKWERK_SECRETS). The credential switch itself needs root and a fork: it is
 * tested end to end (tests/e2e/test_security.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cfgtest_util.h"
#include "common/config/config.h"
#include "supervisor/privs.h"

#include <stdlib.h>
#include <string.h>

static void test_resolve(void **state)
{
    (void)state;
    struct privs p;
    char err[600];
    assert_int_equal(privs_resolve(NULL, 0, &p, err, sizeof err), 0);
    assert_false(p.active);

    assert_int_equal(privs_resolve("root", 0, &p, err, sizeof err), 0);
    assert_true(p.active);
    assert_int_equal(p.uid, 0);
    assert_int_equal(p.gid, 0);
    assert_true(p.n_groups >= 1);

    assert_int_equal(privs_resolve("root:daemon", 0, &p, err, sizeof err), 0);
    assert_int_not_equal(p.gid, 0); /* the named group, not root's */

    assert_int_equal(privs_resolve("cw-no-such-user-x", 0, &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "no such user 'cw-no-such-user-x'"));
    assert_int_equal(privs_resolve("root:cw-no-such-group-x", 0, &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "no such group 'cw-no-such-group-x'"));

    /* not root: another user is refused, saying why */
    assert_int_equal(privs_resolve("root", 4242, &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "changing user needs root (running as uid 4242)"));

    /* chown with an inactive set changes nothing and succeeds */
    memset(&p, 0, sizeof p);
    assert_int_equal(privs_chown(&p, "/nonexistent/x", err, sizeof err), 0);
}

static void test_snapshot_secrets_per_child(void **state)
{
    struct ct *t = *state;
    struct cw_config *c = ct_load(t, "database = { db_activation = true; db_driver = \"postgresql\"; db_name = \"x\"; "
                                     "db_password = \"db-pw\"; };\n"
                                     "email = { smtp_host = \"h\"; email_from = \"a@b.c\"; email_to = [\"d@e.f\"]; "
                                     "smtp_password = \"smtp-pw\"; };\n"
                                     "monitor = { endpoints = ( { url = \"http://127.0.0.1/\"; } ); };\n");
    if (!c) ct_dump(t);
    assert_non_null(c);
    char path[4200], err[512];
    snprintf(path, sizeof path, "%s/c.snap", t->dir);
    assert_int_equal(config_snapshot_write(c, path, err, sizeof err), 0);
    config_free(c);

    static const struct {
        const char *env;
        bool db, smtp;
    } cases[] = {
        { NULL, true, true },     { "db", true, false },     { "smtp", false, true },
        { "none", false, false }, { "db,smtp", true, true }, { "smtpx,d", false, false },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cases[i].env) assert_int_equal(setenv("CLOCKWERK_SECRETS", cases[i].env, 1), 0);
        else assert_int_equal(unsetenv("CLOCKWERK_SECRETS"), 0);
        struct cw_config *r = config_snapshot_read(path, 0, 0, err, sizeof err);
        assert_non_null(r);
        if (cases[i].db) assert_string_equal(r->db_password, "db-pw");
        else assert_null(r->db_password);
        if (cases[i].smtp) assert_string_equal(r->smtp_password, "smtp-pw");
        else assert_null(r->smtp_password);
        config_free(r);
        /* a worker never gets either, whatever the variable says */
        r = config_snapshot_read(path, 0, 1, err, sizeof err);
        assert_non_null(r);
        assert_null(r->db_password);
        assert_null(r->smtp_password);
        config_free(r);
    }
    assert_int_equal(unsetenv("CLOCKWERK_SECRETS"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolve),
        cmocka_unit_test_setup_teardown(test_snapshot_secrets_per_child, ct_setup, ct_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
