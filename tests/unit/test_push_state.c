/* tests/unit/test_push_state.c — a push endpoint's deadline state in run_dir (worker/push_state.c): saved (without
 * an fsync) and loaded back, private modes, another key's file is not taken, a corrupt file is none, stale files are
 * pruned; and the web's urlencoded POST bodies (web/form.c): decoded, bounded, the pool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "web/form.h"
#include "worker/push_state.h"

/* Every fsync of this program, counted (this definition takes the place of libc's): push state is saved on the
 * worker's loop, so it must not wait for the disk. */
static int fsyncs;
int fsync(int fd)
{
    fsyncs++;
    return (int)syscall(SYS_fsync, fd);
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void test_save_load_and_modes(void **state)
{
    (void)state;
    char run[] = "/tmp/cwpush.XXXXXX", dir[256], err[300];
    assert_non_null(mkdtemp(run));
    assert_int_equal(push_state_dir(run, dir, sizeof dir, err, sizeof err), 0);
    assert_int_equal(push_state_dir(run, dir, sizeof dir, err, sizeof err), 0); /* there already */
    struct stat st;
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    struct push_state s = { 0 }, in = { .base_us = 1764900000000000, .last_call_us = 1764900000000000, .silences = 3 };
    assert_false(push_state_load(dir, "push://backup", &s));
    fsyncs = 0;
    assert_int_equal(push_state_save(dir, "push://backup", 0, &in, err, sizeof err), 0);
    assert_int_equal(fsyncs, 0); /* written and renamed, never synced */
    assert_true(push_state_load(dir, "push://backup", &s));
    assert_true(s.base_us == in.base_us && s.last_call_us == in.last_call_us && s.silences == 3);
    assert_false(push_state_load(dir, "push://other", &s));
    assert_int_equal(count_files(dir), 1);
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[600] = "";
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    closedir(d);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* another key's content under this key's name (a collision, a copied file) is not taken */
    assert_int_equal(push_state_save(dir, "push://backup-2", 1, &in, err, sizeof err), 0);
    char other[600];
    d = opendir(dir);
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.' && strcmp(path + strlen(dir) + 1, e->d_name) != 0)
            snprintf(other, sizeof other, "%s/%s", dir, e->d_name);
    closedir(d);
    assert_int_equal(rename(other, path), 0);
    assert_false(push_state_load(dir, "push://backup", &s));
    /* a corrupt file is none */
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("clockwerk push state 1\nkey=push://backup\nbase_us=x\n", f);
    fclose(f);
    assert_false(push_state_load(dir, "push://backup", &s));
    /* a file untouched for longer than PUSH_STATE_STALE_S is pruned, a fresh one kept */
    assert_int_equal(push_state_save(dir, "push://fresh", 0, &in, err, sizeof err), 0);
    struct timespec old[2] = { { .tv_sec = 1000000000 }, { .tv_sec = 1000000000 } };
    assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);
    assert_int_equal(count_files(dir), 2);
    push_state_prune(dir, (int64_t)time(NULL) * 1000000);
    assert_int_equal(count_files(dir), 1);
    assert_true(push_state_load(dir, "push://fresh", &s));
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", run);
    assert_int_equal(system(cmd), 0);
}

static void test_form_bodies(void **state)
{
    (void)state;
    assert_true(web_form_wanted("application/x-www-form-urlencoded"));
    assert_true(web_form_wanted("Application/X-WWW-Form-Urlencoded; charset=utf-8"));
    assert_false(web_form_wanted("application/json"));
    assert_false(web_form_wanted("application/x-www-form-urlencodedx"));
    assert_false(web_form_wanted(NULL));
    static struct web_forms fs;
    struct web_form *f = web_form_take(&fs);
    assert_non_null(f);
    assert_true(web_form_owns(&fs, f));
    assert_false(web_form_owns(&fs, (char *)f + 1));
    assert_false(web_form_owns(&fs, &fs + 1));
    web_form_feed(f, "status=do", 9);
    web_form_feed(f, "wn&msg=disk%20full+now&&flag&=x", 31);
    struct web_arg args[WEB_ARGS_MAX] = { { .key = "status", .value = "up" } };
    size_t n = web_form_args(f, args, 1, WEB_ARGS_MAX);
    assert_int_equal(n, 4);
    assert_string_equal(args[0].value, "up"); /* the query's come first: they win */
    assert_string_equal(args[1].key, "status");
    assert_string_equal(args[1].value, "down");
    assert_string_equal(args[2].key, "msg");
    assert_string_equal(args[2].value, "disk full now");
    assert_string_equal(args[3].key, "flag");
    assert_string_equal(args[3].value, "");
    web_form_give(f);
    /* bounded: one byte over WEB_FORM_MAX */
    f = web_form_take(&fs);
    static char big[WEB_FORM_MAX + 1];
    memset(big, 'a', sizeof big);
    web_form_feed(f, big, WEB_FORM_MAX);
    assert_false(f->too_big);
    web_form_feed(f, "b", 1);
    assert_true(f->too_big);
    web_form_give(f);
    /* the pool */
    for (int i = 0; i < WEB_FORMS_MAX; i++) assert_non_null(web_form_take(&fs));
    assert_null(web_form_take(&fs));
    web_form_give(&fs.slot[5]);
    assert_ptr_equal(web_form_take(&fs), &fs.slot[5]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_save_load_and_modes),
        cmocka_unit_test(test_form_bodies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
