/* tests/unit/test_bus_keys.c — CURVE keys of the bus (common/bus/bus_keys.c): Z85 key checks, the key file that
 * `clockwerk keygen` writes (mode 0600, never overwritten) and its reader's refusals (readable by others,
 * malformed, a public key that is not the secret's), and which addresses count as local. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/bus/bus_keys.h"

static char dir[] = "/tmp/cw-test-keys-XXXXXX";

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void path_of(char *out, size_t len, const char *name) { snprintf(out, len, "%s/%s", dir, name); }

static void write_text(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_key_valid(void **state)
{
    (void)state;
    assert_true(bus_key_valid("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"));
    assert_false(bus_key_valid(NULL));
    assert_false(bus_key_valid(""));
    assert_false(bus_key_valid("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf"));   /* 39 characters */
    assert_false(bus_key_valid("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf77")); /* 41 */
    assert_false(bus_key_valid("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf\"")); /* not Z85 */
    assert_false(bus_key_valid("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]y f"));
}

static void test_keygen_then_read(void **state)
{
    (void)state;
    char path[256], pub[41], pub2[41], sec[41], err[512];
    path_of(path, sizeof path, "a.key");
    assert_int_equal(bus_keygen(path, pub, err, sizeof err), 0);
    assert_true(bus_key_valid(pub));
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(bus_key_file_read(path, pub2, sec, err, sizeof err), 0);
    assert_string_equal(pub, pub2);
    assert_true(bus_key_valid(sec));
    /* never overwritten */
    assert_int_equal(bus_keygen(path, pub2, err, sizeof err), -1);
    assert_non_null(strstr(err, "never overwritten"));
}

static void test_read_refusals(void **state)
{
    (void)state;
    char path[256], pub[41], sec[41], err[512], text[256];
    path_of(path, sizeof path, "b.key");
    assert_int_equal(bus_keygen(path, pub, err, sizeof err), 0);
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(bus_key_file_read(path, pub, sec, err, sizeof err), -1);
    assert_non_null(strstr(err, "chmod 600"));

    path_of(path, sizeof path, "missing.key");
    assert_int_equal(bus_key_file_read(path, pub, sec, err, sizeof err), -1);
    assert_non_null(strstr(err, "No such file"));

    path_of(path, sizeof path, "garbage.key");
    write_text(path, "this is { not libconfig", 0600);
    assert_int_equal(bus_key_file_read(path, pub, sec, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a CURVE key file"));

    path_of(path, sizeof path, "half.key");
    write_text(path, "public = \"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\";\n", 0600);
    assert_int_equal(bus_key_file_read(path, pub, sec, err, sizeof err), -1);
    assert_non_null(strstr(err, "needs public and secret"));

    /* two valid keys that are not a pair: the public key of one, the secret key of another */
    char p1[41], p2[41], s2[41], other[256];
    path_of(other, sizeof other, "c.key");
    assert_int_equal(bus_keygen(other, p2, err, sizeof err), 0);
    assert_int_equal(bus_key_file_read(other, p2, s2, err, sizeof err), 0);
    path_of(path, sizeof path, "d.key");
    assert_int_equal(bus_keygen(path, p1, err, sizeof err), 0);
    snprintf(text, sizeof text, "public = \"%s\";\nsecret = \"%s\";\n", p1, s2);
    path_of(path, sizeof path, "mismatch.key");
    write_text(path, text, 0600);
    assert_int_equal(bus_key_file_read(path, pub, sec, err, sizeof err), -1);
    assert_non_null(strstr(err, "not the secret key's"));
    assert_null(strstr(err, s2)); /* an error never shows a key */
}

static void test_address_local(void **state)
{
    (void)state;
    assert_true(bus_address_local("ipc:///run/x.sock"));
    assert_true(bus_address_local("tcp://127.0.0.1:7001"));
    assert_true(bus_address_local("tcp://127.1.2.3:7001"));
    assert_true(bus_address_local("tcp://localhost:7001"));
    assert_true(bus_address_local("tcp://[::1]:7001"));
    assert_false(bus_address_local("tcp://0.0.0.0:7001"));
    assert_false(bus_address_local("tcp://*:7001"));
    assert_false(bus_address_local("tcp://10.0.0.5:7001"));
    assert_false(bus_address_local("tcp://127.example.com:7001"));
    assert_false(bus_address_local("tcp://eth0:7001"));
    assert_false(bus_address_local("tcp://[::]:7001"));
    assert_false(bus_address_local(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_valid),
        cmocka_unit_test(test_keygen_then_read),
        cmocka_unit_test(test_read_refusals),
        cmocka_unit_test(test_address_local),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
