/* tests/unit/cfgtest_util.h — helpers shared by the config tests (test_config*.c) and test_snapshot.c: a private
 * temporary directory per test, writing config text or copying a fixture into it (mode 0600), and collecting the
 * loader's `FILE:LINE: message` reports so that tests can assert on the line and the wording (ct_expect_refused).
 * Header-only (static functions) because every tests/unit/test_*.c is linked on its own. */
#ifndef CW_CFGTEST_UTIL_H
#define CW_CFGTEST_UTIL_H

#include <fcntl.h>
#include <ftw.h>
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

#include "common/config/config.h"

#define CT_MAX_MSGS 64

struct ct {
    char dir[64];
    char path[256]; /* dir/c.conf */
    char msgs[CT_MAX_MSGS][1024];
    int n_msgs;
};

static inline void ct_collect(void *ctx, const char *message)
{
    struct ct *t = ctx;
    if (t->n_msgs < CT_MAX_MSGS) snprintf(t->msgs[t->n_msgs], sizeof t->msgs[0], "%s", message);
    t->n_msgs++;
}

static inline int ct_setup(void **state)
{
    struct ct *t = calloc(1, sizeof *t);
    if (!t) return -1;
    snprintf(t->dir, sizeof t->dir, "/tmp/cwcfg.XXXXXX");
    if (!mkdtemp(t->dir)) {
        free(t);
        return -1;
    }
    snprintf(t->path, sizeof t->path, "%s/c.conf", t->dir);
    *state = t;
    return 0;
}

static int ct_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline int ct_teardown(void **state)
{
    struct ct *t = *state;
    nftw(t->dir, ct_rm, 16, FTW_DEPTH | FTW_PHYS);
    free(t);
    return 0;
}

/* Writes text to dir/name with the given mode. */
static inline void ct_write(struct ct *t, const char *name, const char *text, mode_t mode)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", t->dir, name);
    char *slash = strrchr(p, '/');
    if (slash && slash > p + strlen(t->dir)) {
        *slash = '\0';
        mkdir(p, 0700);
        *slash = '/';
    }
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0) {
        perror(p);
        abort();
    }
    size_t len = strlen(text);
    if (write(fd, text, len) != (ssize_t)len) abort();
    if (fchmod(fd, mode) != 0) abort();
    close(fd);
}

/* The files configs/full.conf names next to it: its password file and its CA bundles (-t refuses a CA
 * bundle it cannot read). */
static inline void ct_write_full_side_files(struct ct *t, const char *db_password_line)
{
    ct_write(t, "db.pw", db_password_line, 0600);
    ct_write(t, "ca/private.pem", "x\n", 0600);
    ct_write(t, "ca/smtp.pem", "x\n", 0600);
    ct_write(t, "ca/db.pem", "x\n", 0600);
}

/* Reads a fixture from tests/unit/configs (the tests run there) into a malloc'd string. */
static inline char *ct_fixture(const char *name)
{
    char p[256];
    snprintf(p, sizeof p, "configs/%s", name);
    FILE *f = fopen(p, "r");
    if (!f) {
        perror(p);
        abort();
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (!s || fread(s, 1, (size_t)n, f) != (size_t)n) abort();
    s[n] = '\0';
    fclose(f);
    return s;
}

/* Writes text as dir/c.conf (mode 0600) and loads it. */
static inline struct cw_config *ct_load(struct ct *t, const char *text)
{
    t->n_msgs = 0;
    ct_write(t, "c.conf", text, 0600);
    return config_load(t->path, ct_collect, t);
}

static inline struct cw_config *ct_load_fixture(struct ct *t, const char *name)
{
    char *text = ct_fixture(name);
    struct cw_config *cfg = ct_load(t, text);
    free(text);
    return cfg;
}

/* The index of the first message at `line` that contains `needle`, or -1. */
static inline int ct_find(const struct ct *t, int line, const char *needle)
{
    char tag[64];
    snprintf(tag, sizeof tag, ":%d: ", line);
    for (int i = 0; i < t->n_msgs && i < CT_MAX_MSGS; i++)
        if (strncmp(t->msgs[i], t->path, strlen(t->path)) == 0 && strstr(t->msgs[i], tag) && strstr(t->msgs[i], needle))
            return i;
    return -1;
}

static inline void ct_dump(const struct ct *t)
{
    for (int i = 0; i < t->n_msgs && i < CT_MAX_MSGS; i++) fprintf(stderr, "  reported: %s\n", t->msgs[i]);
}

/* The text is refused with a message at FILE:line containing needle. */
static inline void ct_expect_refused(struct ct *t, const char *text, int line, const char *needle)
{
    struct cw_config *c = ct_load(t, text);
    if (c || ct_find(t, line, needle) < 0) {
        fprintf(stderr, "expected line %d '%s'\n", line, needle);
        ct_dump(t);
    }
    assert_null(c);
    assert_true(ct_find(t, line, needle) >= 0);
}

/* One bad file: its text, the line of the expected message, and words the message must contain. */
struct ct_bad_case {
    const char *text;
    int line;
    const char *needle;
};

/* Every case is refused with its message; the failures are all printed before the test fails. */
static inline void ct_expect_all_refused(struct ct *t, const struct ct_bad_case *cases, size_t n)
{
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        struct cw_config *c = ct_load(t, cases[i].text);
        if (c || ct_find(t, cases[i].line, cases[i].needle) < 0) {
            fprintf(stderr, "case %zu: expected line %d '%s' for:\n%s", i, cases[i].line, cases[i].needle,
                    cases[i].text);
            ct_dump(t);
            failed++;
        }
        config_free(c);
    }
    assert_int_equal(failed, 0);
}

#endif
