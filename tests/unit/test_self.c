/* tests/unit/test_self.c — supervisor/self's program lookup: the directory of the programs clockwerk starts is
 * <dir of the running binary>/../libexec/clockwerk when clockwerk-worker is there (an installed tree), else that
 * directory itself (the build tree's bin/, every program side by side). Trees are built in a temporary directory.
 * The installed lookup end to end: tests/e2e/test_install.py. */
#include "cfgtest_util.h" /* a private temporary directory per test (ct_setup), files in it (ct_write) */
#include "supervisor/self.h"

#include <errno.h>
#include <limits.h>

/* mkdir -p ROOT/rel */
static void make_dir(const struct ct *t, const char *rel)
{
    char path[PATH_MAX];
    size_t root_len = strlen(t->dir);
    snprintf(path, sizeof path, "%s/%s", t->dir, rel);
    for (char *slash = path + root_len + 1;; slash++) {
        if (*slash != '/' && *slash != '\0') continue;
        char was = *slash;
        *slash = '\0';
        assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
        *slash = was;
        if (!was) break;
    }
}

/* What self_programs_dir_for answers for ROOT/rel_bin, as a path relative to ROOT ("" for ROOT itself). */
static const char *lookup(const struct ct *t, const char *rel_bin, char *out, size_t outlen)
{
    char bin[PATH_MAX], dir[PATH_MAX];
    snprintf(bin, sizeof bin, "%s/%s", t->dir, rel_bin);
    assert_int_equal(self_programs_dir_for(bin, dir, sizeof dir), 0);
    char canonical[PATH_MAX];
    assert_non_null(realpath(t->dir, canonical)); /* an installed tree's answer is canonical; /tmp may be a link */
    const char *roots[] = { t->dir, canonical };
    snprintf(out, outlen, "%s", dir); /* outside the tree: shown whole, the assertion fails */
    for (size_t i = 0; i < 2; i++) {
        size_t n = strlen(roots[i]);
        if (strncmp(dir, roots[i], n) == 0 && (dir[n] == '/' || dir[n] == '\0')) {
            snprintf(out, outlen, "%s", dir[n] ? dir + n + 1 : "");
            break;
        }
    }
    return out;
}

/* The build tree: every program in bin/, no libexec beside it -> bin/ itself. */
static void test_build_tree(void **state)
{
    struct ct *t = *state;
    char got[PATH_MAX];
    make_dir(t, "bin");
    ct_write(t, "bin/clockwerk", "", 0755);
    ct_write(t, "bin/clockwerk-worker", "", 0755);
    assert_string_equal(lookup(t, "bin", got, sizeof got), "bin");
}

/* An installed tree: PREFIX/bin/clockwerk and PREFIX/libexec/clockwerk/clockwerk-worker -> the libexec directory,
 * given without the "..". A libexec/clockwerk without the worker (an uninstalled leftover) or with a worker that
 * cannot run does not count: the binary's own directory. */
static void test_installed_tree(void **state)
{
    struct ct *t = *state;
    char got[PATH_MAX];
    make_dir(t, "usr/bin");
    make_dir(t, "usr/libexec/clockwerk");
    ct_write(t, "usr/bin/clockwerk", "", 0755);
    ct_write(t, "usr/libexec/clockwerk/clockwerk-storer", "", 0755);
    assert_string_equal(lookup(t, "usr/bin", got, sizeof got), "usr/bin");
    ct_write(t, "usr/libexec/clockwerk/clockwerk-worker", "", 0644); /* not executable */
    assert_string_equal(lookup(t, "usr/bin", got, sizeof got), "usr/bin");
    ct_write(t, "usr/libexec/clockwerk/clockwerk-worker", "", 0755);
    assert_string_equal(lookup(t, "usr/bin", got, sizeof got), "usr/libexec/clockwerk");
}

/* A directory whose path does not fit: -1, nothing guessed. */
static void test_too_long(void **state)
{
    (void)state;
    char dir[32];
    assert_int_equal(self_programs_dir_for("/a/directory/path/longer/than/the/buffer", dir, sizeof dir), -1);
}

/* The running binary's own lookup (this test program sits in build/.../tests/, no libexec beside it): its
 * directory. */
static void test_running_binary(void **state)
{
    (void)state;
    char dir[PATH_MAX], exe[PATH_MAX];
    assert_int_equal(self_programs_dir(dir, sizeof dir), 0);
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    assert_true(n > 0);
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0';
    assert_string_equal(dir, exe);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_build_tree, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_installed_tree, ct_setup, ct_teardown),
        cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_running_binary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
