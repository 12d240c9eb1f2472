/* tests/unit/test_control.c — the alerter's control socket (alerter/control.c, ctlreq.c, silenceops.c): requests
 * decoded defensively (not JSON, no or another version, unknown op, wrong types), silence ops against a
 * configuration (unknown endpoint/group refused, the author from the peer and "by"), ack through its pointer or
 * "not available"; and the socket itself: mode 0600, one line in and one out, a request too long, a silent client
 * cut at its deadline, a ninth client told "busy". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "alerter/control.h"
#include "alerter/silenceops.h"
#include "common/base/clock.h"

struct fixture {
    char dir[64];
    struct cw_endpoint eps[2];
    struct cw_config cfg;
    struct cw_config *cfgp;
    struct silences silences;
    struct silenceops so;
    struct control_ops ops;
    struct cw_buf answer;
    uint64_t acked;
    char acked_by[128];
};

static int fake_ack(void *ctx, uint64_t id, const char *who, char *msg, size_t len)
{
    struct fixture *f = ctx;
    if (id != 0xabcdefULL) {
        snprintf(msg, len, "no open incident has alert id %016llx", (unsigned long long)id);
        return -1;
    }
    f->acked = id;
    snprintf(f->acked_by, sizeof f->acked_by, "%s", who);
    snprintf(msg, len, "acknowledged");
    return 0;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/cw-test-control-XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    f->eps[0] = (struct cw_endpoint){ .url = "http://127.0.0.1:9/billing", .name = "billing", .group = "payments" };
    f->eps[1] = (struct cw_endpoint){ .url = "http://user:secret@127.0.0.1:9/shop" };
    f->cfg.endpoints = f->eps;
    f->cfg.n_endpoints = 2;
    f->cfgp = &f->cfg;
    silences_init(&f->silences, f->dir);
    f->so = (struct silenceops){ .silences = &f->silences, .cfg = &f->cfgp };
    silenceops_bind(&f->ops, &f->so);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char path[128];
    snprintf(path, sizeof path, "%s/silences.json", f->dir);
    unlink(path);
    rmdir(f->dir);
    silences_free(&f->silences);
    cw_buf_free(&f->answer);
    free(f);
    return 0;
}

/* The answer to req from peer "alice", NUL-terminated. */
static const char *ask(struct fixture *f, const char *req)
{
    cw_buf_reset(&f->answer);
    control_handle(&f->ops, req, strlen(req), "alice", 1800000000LL * 1000000, &f->answer);
    cw_buf_put(&f->answer, "", 1);
    const char *a = (const char *)f->answer.data;
    assert_true(f->answer.len >= 2 && a[f->answer.len - 2] == '\n' && !memchr(a, '\n', f->answer.len - 2));
    return a;
}

static void expect_error(struct fixture *f, const char *req, const char *part)
{
    const char *a = ask(f, req);
    if (!strstr(a, "\"ok\":false") || !strstr(a, part)) fail_msg("%s -> %s (wanted an error with '%s')", req, a, part);
}

static void test_bad_requests(void **state)
{
    struct fixture *f = *state;
    expect_error(f, "nonsense", "not one JSON object");
    expect_error(f, "[1]", "not one JSON object");
    expect_error(f, "{\"v\":1,\"op\":\"silence_list\"} {}", "not one JSON object");
    expect_error(f, "{\"op\":\"silence_list\"}", "no version");
    expect_error(f, "{\"v\":2,\"op\":\"silence_list\"}", "version 1");
    expect_error(f, "{\"v\":1}", "no op");
    expect_error(f, "{\"v\":1,\"op\":\"reboot\"}", "unknown op");
    expect_error(f, "{\"v\":1,\"op\":\"ack\",\"alert_id\":\"abcdef\"}", "not available");
    expect_error(f, "{\"v\":1,\"op\":\"silence_add\",\"endpoint\":\"billing\",\"reason\":\"r\"}", "duration_s");
    expect_error(f, "{\"v\":1,\"op\":\"silence_add\",\"endpoint\":\"billing\",\"duration_s\":\"60\",\"reason\":\"r\"}",
                 "wrong type");
    expect_error(f, "{\"v\":1,\"op\":\"silence_add\",\"endpoint\":\"billing\",\"duration_s\":0,\"reason\":\"r\"}",
                 "more than 0");
    expect_error(f, "{\"v\":1,\"op\":\"silence_add\",\"endpoint\":\"billing\",\"duration_s\":60}", "reason");
    expect_error(f, "{\"v\":1,\"op\":\"silence_add\",\"endpoint\":\"nope\",\"duration_s\":60,\"reason\":\"r\"}",
                 "unknown endpoint 'nope'");
    expect_error(f, "{\"v\":1,\"op\":\"silence_add\",\"group\":\"nope\",\"duration_s\":60,\"reason\":\"r\"}",
                 "unknown group 'nope'");
    expect_error(f,
                 "{\"v\":1,\"op\":\"silence_add\",\"all\":true,\"group\":\"payments\",\"duration_s\":60,"
                 "\"reason\":\"r\"}",
                 "exactly one");
    expect_error(f, "{\"v\":1,\"op\":\"silence_remove\",\"id\":\"0123456789abcdef\"}", "no silence has id");
    expect_error(f, "{\"v\":1,\"op\":\"silence_list\",\"by\":\"a\\nb\"}", "by must be");
    assert_int_equal(f->silences.n, 0);
}

static void test_silence_ops(void **state)
{
    struct fixture *f = *state;
    const char *a = ask(f, "{\"v\":1,\"op\":\"silence_add\",\"endpoint\":\"billing\",\"duration_s\":3600,"
                           "\"reason\":\"db upgrade\",\"by\":\"bob\",\"future\":1}");
    assert_non_null(strstr(a, "\"ok\":true"));
    assert_int_equal(f->silences.n, 1);
    assert_string_equal(f->silences.v[0].author, "bob (as alice)");
    assert_true(f->silences.v[0].end_us - f->silences.v[0].start_us == 3600 * 1000000LL);
    assert_non_null(strstr(a, f->silences.v[0].id));
    struct stat st;
    assert_int_equal(stat(f->silences.path, &st), 0); /* saved at once */

    a = ask(f, "{\"v\":1,\"op\":\"silence_add\",\"endpoint\":\"http://user:secret@127.0.0.1:9/shop\","
               "\"duration_s\":60,\"reason\":\"r\",\"by\":\"alice\"}");
    assert_non_null(strstr(a, "\"ok\":true"));
    assert_null(strstr(a, "secret")); /* shown masked */
    assert_string_equal(f->silences.v[1].author, "alice");
    assert_non_null(strstr(ask(f, "{\"v\":1,\"op\":\"silence_add\",\"group\":\"payments\",\"duration_s\":60,"
                                  "\"reason\":\"r\"}"),
                           "\"ok\":true"));
    a = ask(f, "{\"v\":1,\"op\":\"silence_list\"}");
    assert_non_null(strstr(a, "\"silences\":["));
    assert_null(strstr(a, "secret"));
    char req[200];
    snprintf(req, sizeof req, "{\"v\":1,\"op\":\"silence_remove\",\"id\":\"%s\"}", f->silences.v[0].id);
    assert_non_null(strstr(ask(f, req), "db upgrade"));
    assert_int_equal(f->silences.n, 2);
    struct silences back;
    silences_init(&back, f->dir);
    assert_int_equal(silences_load(&back, 1800000000LL * 1000000), 2);
    silences_free(&back);
}

static void test_ack(void **state)
{
    struct fixture *f = *state;
    f->ops.ack = fake_ack;
    f->ops.ack_ctx = f;
    expect_error(f, "{\"v\":1,\"op\":\"ack\"}", "alert_id");
    expect_error(f, "{\"v\":1,\"op\":\"ack\",\"alert_id\":\"xyz\"}", "hex digits");
    expect_error(f, "{\"v\":1,\"op\":\"ack\",\"alert_id\":\"12345678901234567\"}", "hex digits");
    expect_error(f, "{\"v\":1,\"op\":\"ack\",\"alert_id\":\"12\"}", "no open incident has alert id 0000000000000012");
    assert_non_null(
        strstr(ask(f, "{\"v\":1,\"op\":\"ack\",\"alert_id\":\"ABCDEF\",\"by\":\"carol\"}"), "acknowledged"));
    assert_true(f->acked == 0xabcdefULL);
    assert_string_equal(f->acked_by, "carol (as alice)");
}

/* ---- the socket */

static int dial(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
    assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    return fd;
}

/* Runs the control loop until fd's answer is complete (the alerter closed); returns it. */
static char *answer_of(struct control *c, int fd, int64_t now)
{
    static char buf[8192];
    size_t len = 0;
    for (int round = 0; round < 2000; round++) {
        control_run(c, now);
        ssize_t got = recv(fd, buf + len, sizeof buf - 1 - len, MSG_DONTWAIT);
        if (got == 0) break;
        if (got > 0) len += (size_t)got;
        usleep(1000);
    }
    buf[len] = '\0';
    close(fd);
    return buf;
}

static void test_socket(void **state)
{
    struct fixture *f = *state;
    struct control c;
    control_open(&c, f->dir, &f->ops);
    assert_true(c.fd >= 0);
    struct stat st;
    assert_int_equal(stat(c.path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);
    int64_t now = cw_mono_us();

    int fd = dial(c.path);
    const char req[] = "{\"v\":1,\"op\":\"silence_list\"}\n";
    assert_int_equal(send(fd, req, sizeof req - 1, 0), (ssize_t)sizeof req - 1);
    const char *a = answer_of(&c, fd, now);
    assert_string_equal(a, "{\"v\":1,\"ok\":true,\"silences\":[]}\n");

    fd = dial(c.path); /* too long: answered and closed, nothing kept */
    char *big = malloc(CONTROL_REQUEST_MAX + 10);
    memset(big, ' ', CONTROL_REQUEST_MAX + 10);
    ssize_t sent = 0;
    while (sent < CONTROL_REQUEST_MAX + 10) {
        ssize_t w = send(fd, big + sent, (size_t)(CONTROL_REQUEST_MAX + 10 - sent), MSG_DONTWAIT);
        if (w > 0) sent += w;
        control_run(&c, now);
    }
    free(big);
    assert_non_null(strstr(answer_of(&c, fd, now), "longer than 65536"));

    int silent[CONTROL_CONNS_MAX];
    for (int i = 0; i < CONTROL_CONNS_MAX; i++) silent[i] = dial(c.path);
    control_run(&c, now);
    assert_int_equal(c.n_conns, CONTROL_CONNS_MAX);
    fd = dial(c.path);
    assert_non_null(strstr(answer_of(&c, fd, now), "busy"));
    control_run(&c, now + CONTROL_CLIENT_TIMEOUT_US - 1);
    assert_int_equal(c.n_conns, CONTROL_CONNS_MAX);
    assert_true(control_deadline(&c) == now + CONTROL_CLIENT_TIMEOUT_US);
    control_run(&c, now + CONTROL_CLIENT_TIMEOUT_US); /* every silent client is cut */
    assert_int_equal(c.n_conns, 0);
    assert_int_equal(c.timeouts, CONTROL_CONNS_MAX);
    for (int i = 0; i < CONTROL_CONNS_MAX; i++) {
        char b;
        assert_int_equal(recv(silent[i], &b, 1, 0), 0);
        close(silent[i]);
    }
    assert_int_equal(c.name_lookups, 1); /* one user name lookup per uid for the process's life */
    char path[128];
    snprintf(path, sizeof path, "%s", c.path);
    control_close(&c);
    assert_int_not_equal(access(path, F_OK), 0); /* removed */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silence_ops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_socket, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
