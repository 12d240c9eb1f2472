/* tests/unit/test_self.c — supervisor/self's program lookup: the directory of the programs clockwerk starts is
 * <dir of the running binary>/../libexec/clockwerk when clockwerk-worker is there (an installed tree), else that
 * directory itself (the build tree's bin/, every program side by side). Trees are built in a temporary directory.
 * The installed lookup end to end: tests/e2e/test_install.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "supervisor/self.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct tree {
    char root[64];
};

static void make_dir(const struct tree *t, const char *rel)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", t->root, rel);
    assert_int_equal(mkdir(path, 0755), 0);
}

static void make_file(const struct tree *t, const char *rel, mode_t mode)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", t->root, rel);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(fchmod(fd, mode), 0); /* whatever the umask */
    close(fd);
}

static int setup(void **state)
{
    struct tree *t = calloc(1, sizeof *t);
    if (!t) return -1;
    snprintf(t->root, sizeof t->root, "/tmp/cw-unit-self-XXXXXX");
    if (!mkdtemp(t->root)) {
        free(t);
        return -1;
    }
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct tree *t = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->root);
    int rc = system(cmd);
    free(t);
    return rc == 0 ? 0 : -1;
}

/* What self_programs_dir_for answers for ROOT/rel_bin, as a path relative to ROOT ("" for ROOT itself). */
static const char *lookup(const struct tree *t, const char *rel_bin, char *out, size_t outlen)
{
    char bin[PATH_MAX], dir[PATH_MAX];
    snprintf(bin, sizeof bin, "%s/%s", t->root, rel_bin);
    assert_int_equal(self_programs_dir_for(bin, dir, sizeof dir), 0);
    char root[PATH_MAX];
    assert_non_null(realpath(t->root, root)); /* /tmp may be a link */
    size_t n = strlen(root);
    if (strncmp(dir, root, n) == 0 && (dir[n] == '/' || dir[n] == '\0'))
        snprintf(out, outlen, "%s", dir[n] ? dir + n + 1 : "");
    else snprintf(out, outlen, "%s", dir); /* outside the tree: shown whole, the assertion fails */
    return out;
}

/* The build tree: every program in bin/, no libexec beside it -> bin/ itself. */
static void test_build_tree(void **state)
{
    struct tree *t = *state;
    char got[PATH_MAX];
    make_dir(t, "bin");
    make_file(t, "bin/clockwerk", 0755);
    make_file(t, "bin/clockwerk-worker", 0755);
    assert_string_equal(lookup(t, "bin", got, sizeof got), "bin");
}

/* An installed tree: PREFIX/bin/clockwerk and PREFIX/libexec/clockwerk/clockwerk-worker -> the libexec directory,
 * given without the "..". */
static void test_installed_tree(void **state)
{
    struct tree *t = *state;
    char got[PATH_MAX];
    make_dir(t, "usr");
    make_dir(t, "usr/bin");
    make_dir(t, "usr/libexec");
    make_dir(t, "usr/libexec/clockwerk");
    make_file(t, "usr/bin/clockwerk", 0755);
    make_file(t, "usr/libexec/clockwerk/clockwerk-worker", 0755);
    assert_string_equal(lookup(t, "usr/bin", got, sizeof got), "usr/libexec/clockwerk");
}

/* A libexec/clockwerk without the worker (an uninstalled leftover, another package's directory) or with a worker
 * that cannot run does not count: the binary's own directory. */
static void test_libexec_without_worker(void **state)
{
    struct tree *t = *state;
    char got[PATH_MAX];
    make_dir(t, "bin");
    make_dir(t, "libexec");
    make_dir(t, "libexec/clockwerk");
    make_file(t, "libexec/clockwerk/clockwerk-storer", 0755);
    assert_string_equal(lookup(t, "bin", got, sizeof got), "bin");
    make_file(t, "libexec/clockwerk/clockwerk-worker", 0644); /* not executable */
    assert_string_equal(lookup(t, "bin", got, sizeof got), "bin");
    make_file(t, "libexec/clockwerk/clockwerk-worker", 0755);
    assert_string_equal(lookup(t, "bin", got, sizeof got), "libexec/clockwerk");
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
        cmocka_unit_test_setup_teardown(test_build_tree, setup, teardown),
        cmocka_unit_test_setup_teardown(test_installed_tree, setup, teardown),
        cmocka_unit_test_setup_teardown(test_libexec_without_worker, setup, teardown),
        cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_running_binary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
