/* tests/unit/test_config_input.c — the config loader against hostile or mistaken input (issue 11): integers of
 * 2^31 and more read as what they say (never wrapped), files and @include's that are not regular files (a FIFO
 * must not hang the loader), files and string literals too large to parse in reasonable time, the floors of
 * check_interval and timeout, duplicate names and URLs that differ only in the case of scheme and host, the
 * messages that name what libconfig leaves out (the line of an unclosed quote, the duplicated setting, the
 * include file), warnings for a config that does nothing, and the tap's reading of the bus alone. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cfgtest_util.h"
#include "common/config/config.h"

/* Whether any message contains needle. */
static bool any_message(const struct ct *t, const char *needle)
{
    for (int i = 0; i < t->n_msgs && i < CT_MAX_MSGS; i++)
        if (strstr(t->msgs[i], needle)) return true;
    return false;
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static void test_big_integers(void **state)
{
    struct ct *t = *state;
    /* before: 4294967306 wrapped to 10 ("config OK", a check every 10 s) */
    ct_expect_refused(t, "monitor = {\n check_interval = 4294967306; };\n", 2,
                      "monitor.check_interval: must be at most 86400 (got 4294967306)");
    /* before: 4294967297 wrapped to 1 worker */
    ct_expect_refused(t, "supervisor = {\n workers = 4294967297; };\n", 2,
                      "supervisor.workers: must be between 0 and 256 (got 4294967297)");
    /* before: "must be greater than 0 (got -7.27e+08)" */
    ct_expect_refused(t, "monitor = {\n\n check_interval = 999999999999; };\n", 3, "(got 999999999999)");
    ct_expect_refused(t, "supervisor = {\n workers = -4294967295; };\n", 2, "(got -4294967295)");
    ct_expect_refused(t, "supervisor = { workers = 0x100000001; };\n", 1, "(got 4294967297)");
    ct_expect_refused(t, "monitor = { tls_expiry_days = 2147483648; };\n", 1, "(got 2147483648)");
    /* beyond 64 bits: refused by itself, naming the literal */
    ct_expect_refused(t, "# x\nsupervisor = { workers = 99999999999999999999; };\n", 2,
                      "integer 99999999999999999999 does not fit in 64 bits");
    /* a name or a string holding digits is not a number; an L suffix and small values are fine */
    struct cw_config *c = ct_load(t, "supervisor = { workers = 3L; run_dir = \"r4294967306\"; };\n"
                                     "monitor = { check_interval = 2147483647e-5; tls_expiry_days = 0x10; };\n");
    if (!c) ct_dump(t);
    assert_non_null(c);
    assert_int_equal(c->workers, 3);
    assert_int_equal(c->tls_expiry_days, 16);
    assert_true(strstr(c->run_dir, "/r4294967306") != NULL);
    config_free(c);
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "config_load blocked on a FIFO\n";
    if (write(2, msg, sizeof msg - 1) < 0) _exit(3);
    _exit(3);
}

static void test_not_regular_files(void **state)
{
    struct ct *t = *state;
    char fifo[300];
    snprintf(fifo, sizeof fifo, "%s/pipe.conf", t->dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    signal(SIGALRM, on_alarm);
    alarm(10); /* before: fopen of the FIFO blocks for good */
    ct_expect_refused(t, "monitor = {\n  check_interval = 5; };\n@include \"pipe.conf\"\n", 3,
                      "pipe.conf' is not a regular file (a FIFO)");
    assert_true(any_message(t, t->dir));
    /* the config itself */
    t->n_msgs = 0;
    assert_null(config_load(fifo, ct_collect, t));
    assert_true(any_message(t, "is not a regular file (a FIFO)"));
    /* a directory, and a missing include named with its path */
    ct_expect_refused(t, "@include \".\"\n", 1, "is not a regular file (a directory)");
    ct_expect_refused(t, "\n\n  @include \"missing.conf\"\n", 3, "cannot open include file '");
    assert_true(any_message(t, "/missing.conf': No such file or directory"));
    alarm(0);
    signal(SIGALRM, SIG_DFL);
}

static void test_includes_keep_their_lines(void **state)
{
    struct ct *t = *state;
    ct_write(t, "inc/eps.conf", "\n\n{ url = \"http://a.example/\"; timeout = -1; }\n", 0600);
    char text[] = "monitor = {\n endpoints = (\n@include \"inc/eps.conf\"\n , { url = \"http://b.example/\"; "
                  "timeout = -2; }\n ); };\n";
    struct cw_config *c = ct_load(t, text);
    assert_null(c);
    char want[400];
    snprintf(want, sizeof want, "%s/inc/eps.conf:3: monitor.endpoints[0].timeout", t->dir);
    if (!any_message(t, want)) ct_dump(t);
    assert_true(any_message(t, want));
    assert_true(ct_find(t, 4, "monitor.endpoints[1].timeout") >= 0);
    assert_int_equal(t->n_msgs, 2);
}

/* t->dir/name: `bytes` bytes of 64-byte comment lines. */
static void write_comment_lines(struct ct *t, const char *name, size_t bytes)
{
    char path[300], line[64];
    snprintf(path, sizeof path, "%s/%s", t->dir, name);
    memset(line, 'x', sizeof line);
    line[0] = '#';
    line[sizeof line - 1] = '\n';
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (size_t done = 0; done < bytes; done += sizeof line)
        assert_int_equal(fwrite(line, 1, sizeof line, f), sizeof line);
    assert_int_equal(fclose(f), 0);
}

static void test_sizes(void **state)
{
    struct ct *t = *state;
    /* one string literal of 8 MiB: libconfig takes ~30 s on it (quadratic); refused at once */
    size_t n = 8u << 20;
    static const char head[] = "# big\nmonitor = { endpoints = ({ url = \"http://a/\"; body = \"";
    static const char tail[] = "\"; }); };\n";
    char *text = malloc(sizeof head + n + sizeof tail);
    assert_non_null(text);
    memcpy(text, head, sizeof head - 1);
    memset(text + sizeof head - 1, 'x', n);
    memcpy(text + sizeof head - 1 + n, tail, sizeof tail);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    ct_expect_refused(t, text, 2, "a string longer than 1048576 bytes");
    assert_true(seconds_since(&start) < 3.0);
    free(text);

    /* a file over the total bound: refused before reading (a sparse file of 65 MiB) */
    char path[300];
    snprintf(path, sizeof path, "%s/huge.conf", t->dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)65 << 20), 0);
    close(fd);
    t->n_msgs = 0;
    clock_gettime(CLOCK_MONOTONIC, &start);
    assert_null(config_load(path, ct_collect, t));
    assert_true(any_message(t, "more than 67108864 bytes"));
    /* the same through an include */
    ct_expect_refused(t, "# a\n@include \"huge.conf\"\n", 2, "more than 67108864 bytes");
    assert_true(seconds_since(&start) < 3.0);

    /* the bound is on the sum of the files: a 40 MiB file that includes a 30 MiB one on its first line (the
     * rest of the including file counts although it is not spliced in yet) */
    write_comment_lines(t, "part.conf", 30u << 20);
    write_comment_lines(t, "whole.conf", 40u << 20);
    snprintf(path, sizeof path, "%s/whole.conf", t->dir);
    fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    char first[64]; /* over the first comment line: the include, then a comment to the line's end */
    memset(first, 'x', sizeof first);
    memcpy(first, "@include \"part.conf\"\n#", 22);
    first[sizeof first - 1] = '\n';
    assert_int_equal(pwrite(fd, first, sizeof first, 0), (ssize_t)sizeof first);
    close(fd);
    t->n_msgs = 0;
    assert_null(config_load(path, ct_collect, t));
    assert_true(any_message(t, "more than 67108864 bytes"));
}

static void test_floors(void **state)
{
    struct ct *t = *state;
    ct_expect_refused(t, "monitor = { check_interval = 0.0000001; };\n", 1,
                      "monitor.check_interval: must be at least 0.1 (got 1e-07)");
    ct_expect_refused(t, "monitor = { endpoints = ({ url = \"http://a/\";\n check_interval = 0.05; }); };\n", 2,
                      "monitor.endpoints[0].check_interval: must be at least 0.1");
    ct_expect_refused(t, "monitor = { endpoints = ({ url = \"http://a/\";\n timeout = 0.001; }); };\n", 2,
                      "monitor.endpoints[0].timeout: must be at least 0.01 (got 0.001)");
    struct cw_config *c =
        ct_load(t, "monitor = { check_interval = 0.1; endpoints = ({ url = \"http://a/\"; timeout = 0.01; }); };\n");
    assert_non_null(c);
    config_free(c);
}

static void test_duplicates(void **state)
{
    struct ct *t = *state;
    char want[400];
    ct_expect_refused(t,
                      "monitor = { endpoints = (\n { url = \"http://Example.COM/a\"; },\n"
                      " { url = \"HTTP://example.com/a\"; }\n ); };\n",
                      3, "duplicate url 'HTTP://example.com/a'");
    snprintf(want, sizeof want, "first at line 2)");
    assert_true(any_message(t, want));
    ct_expect_refused(t,
                      "monitor = { endpoints = (\n { url = \"http://a/\"; name = \"api\"; },\n"
                      " { url = \"http://b/\"; name = \"api\"; }\n ); };\n",
                      3, "monitor.endpoints[1].name: duplicate name 'api'");
    assert_true(any_message(t, want));
    /* an endpoint refused for its name or its push token leaves nothing behind: a later one with its URL, name or
     * token is not a duplicate of it (only of what was kept); with the web on, nor is its web ID */
    ct_expect_refused(t,
                      "web = { listen = \"127.0.0.1:8080\"; };\n"
                      "monitor = { endpoints = (\n { url = \"http://a/\"; name = \"api\"; },\n"
                      " { url = \"http://b/\"; name = \"api\"; },\n"
                      " { url = \"http://b/\"; name = \"web\"; },\n"
                      " { type = \"push\"; name = \"p1\"; token = \"0123456789abcdef\"; },\n"
                      " { type = \"push\"; name = \"p2\"; token = \"0123456789abcdef\"; },\n"
                      " { type = \"push\"; name = \"p2\"; token = \"fedcba9876543210\"; }\n ); };\n",
                      4, "monitor.endpoints[1].name: duplicate name 'api' (first at line 3)");
    assert_true(ct_find(t, 7, "monitor.endpoints[4]: the same push token as another push check (first at line 6)") >=
                0);
    if (t->n_msgs != 2) ct_dump(t);
    assert_int_equal(t->n_msgs, 2);
    /* the path's case matters: two endpoints */
    struct cw_config *c =
        ct_load(t, "monitor = { endpoints = ({ url = \"http://a/X\"; }, { url = \"http://a/x\"; }); };\n");
    assert_non_null(c);
    assert_int_equal(c->n_endpoints, 2);
    config_free(c);
}

/* Control characters in a name would reach terminals, mail and webhooks verbatim: refused at their line. */
static void test_name_controls(void **state)
{
    struct ct *t = *state;
    /* libconfig escapes: a newline, ESC, DEL (0x7f) and a tab in the name; then a UTF-8 name, accepted */
    static const char *const bad[] = { "line1\\nline2", "x\\x1b[31mred", "a\\x7fb", "a\\tb" };
    char text[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "monitor = { endpoints = (\n { url = \"http://a/\"; name = \"%s\"; }); };\n",
                 bad[i]);
        ct_expect_refused(t, text, 2, "monitor.endpoints[0].name: contains a control character");
    }
    struct cw_config *c =
        ct_load(t, "monitor = { endpoints = ({ url = \"http://a/\"; name = \"caf\xc3\xa9 \xe6\x9c\x8d\"; }); };\n");
    assert_non_null(c);
    assert_string_equal(c->endpoints[0].name, "caf\xc3\xa9 \xe6\x9c\x8d");
    config_free(c);
}

static void test_syntax_messages(void **state)
{
    struct ct *t = *state;
    /* before: "syntax error: syntax error" at a later line */
    ct_expect_refused(t,
                      "monitor = { endpoints = (\n { url = \"http://a/; name = \"x\"; },\n"
                      " { url = \"http://b/\"; }\n ); };\n",
                      2, "unclosed quote");
    ct_expect_refused(t, "monitor = {\n  check_interval = 5;\n  check_interval = 6; };\n", 3,
                      "duplicate setting 'check_interval'");
    ct_expect_refused(t, "a = \"never closed;\nb = 1;\n", 1, "unclosed quote");
}

static void collect_warning(void *ctx, const char *message)
{
    struct ct *t = ctx;
    if (t->n_msgs < CT_MAX_MSGS) snprintf(t->msgs[t->n_msgs], sizeof t->msgs[0], "warning %.1000s", message);
    t->n_msgs++;
}

static void test_warnings(void **state)
{
    struct ct *t = *state;
    struct config_load_options o = { .report = ct_collect, .warn = collect_warning, .ctx = t };
    ct_write(t, "c.conf", "", 0600);
    t->n_msgs = 0;
    struct cw_config *c = config_load_with(t->path, &o);
    assert_non_null(c);
    assert_true(any_message(t, "warning"));
    assert_true(any_message(t, "no endpoints"));
    config_free(c);
    ct_write(t, "c.conf", "monitor = { endpoints = ({ url = \"http://a/\"; }); };\n", 0600);
    t->n_msgs = 0;
    c = config_load_with(t->path, &o);
    assert_non_null(c);
    assert_true(any_message(t, "neither stores nor alerts"));
    config_free(c);
}

/* The tap reads the bus (and supervisor.run_dir) only: problems elsewhere are warnings. */
static void test_bus_only(void **state)
{
    struct ct *t = *state;
    struct config_load_options o = { .report = ct_collect, .warn = collect_warning, .ctx = t, .bus_only = true };
    ct_write(t, "c.conf",
             "supervisor = { workers = 0; run_dir = \"rd\"; };\n"
             "email = { smtp_host = \"h\"; email_from = \"a@b\"; email_to = \"c@d\"; smtp_user = \"u\";\n"
             "  smtp_password_file = \"missing.pw\"; typo = 1; };\n"
             "bogus = 3;\n",
             0600);
    t->n_msgs = 0;
    struct cw_config *c = config_load_with(t->path, &o);
    if (!c) ct_dump(t);
    assert_non_null(c);
    assert_true(strstr(c->tap_address, "/rd/tap.sock") != NULL);
    for (int i = 0; i < t->n_msgs; i++) assert_true(strncmp(t->msgs[i], "warning ", 8) == 0);
    assert_false(any_message(t, "missing.pw")); /* not even looked at: the tap reads no password */
    assert_null(c->smtp_password);
    config_free(c);
    /* a problem in the bus section still refuses */
    ct_write(t, "c.conf", "bus = { tap_address = \"nonsense\"; };\nemail = { typo = 1; };\n", 0600);
    t->n_msgs = 0;
    assert_null(config_load_with(t->path, &o));
    /* and so does a syntax error */
    ct_write(t, "c.conf", "email = { typo = 1 ;\n", 0600);
    t->n_msgs = 0;
    assert_null(config_load_with(t->path, &o));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_big_integers, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_not_regular_files, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_includes_keep_their_lines, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_sizes, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_floors, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_duplicates, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_syntax_messages, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_name_controls, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_warnings, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_bus_only, ct_setup, ct_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
