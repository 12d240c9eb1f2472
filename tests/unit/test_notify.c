/* tests/unit/test_notify.c — the pure parts of the systemd integration (issue 17): the health rule and the status
 * line (supervisor/health.c), the children's readiness message (common/proc/ready.c: encoded, and decoded
 * defensively) and the supervisor's readiness socket taking a message by the sender's pid
 * (supervisor/readiness.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/base/log.h"
#include "common/proc/proc.h"
#include "common/proc/ready.h"
#include "supervisor/children.h"
#include "supervisor/health.h"
#include "supervisor/readiness.h"

#define S (1000000000LL)

/* A slot as children_add makes it, running since `started` and ready or not. */
static struct child slot(enum child_kind kind, unsigned index, pid_t pid, bool ready)
{
    struct child c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.index = index;
    if (kind == CHILD_WORKER) snprintf(c.name, sizeof c.name, "worker %u/2", index);
    else snprintf(c.name, sizeof c.name, "%s", child_kind_name(kind));
    c.pid = pid;
    c.respawn = true;
    c.ready = ready;
    c.started_ns = pid > 0 ? 0 : -1;
    c.down_since_ns = c.kill_seen_ns = -1;
    return c;
}

/* ---- the health rule */

static void test_up_and_wanted(void **state)
{
    (void)state;
    struct child c = slot(CHILD_STORER, 0, 10, true);
    assert_true(health_child_wanted(&c) && health_child_up(&c));
    c.stopping = true; /* asked to stop for a restart: not up any more */
    assert_false(health_child_up(&c));
    c = slot(CHILD_STORER, 0, 10, false); /* running, not ready yet */
    assert_false(health_child_up(&c));
    c.fatal = true; /* exit 2: not wanted until a reload */
    c.pid = 0;
    assert_false(health_child_wanted(&c));
    c = slot(CHILD_WEB, 0, 0, false);
    c.respawn = false; /* being retired */
    assert_false(health_child_wanted(&c));
}

static void test_healthy_until_down_longer_than_the_limit(void **state)
{
    (void)state;
    struct child v[3] = { slot(CHILD_RELAY, 0, 10, true), slot(CHILD_STORER, 0, 11, false),
                          slot(CHILD_WORKER, 0, 12, true) };
    struct health h;
    health_observe(v, 3, 100 * S); /* the storer is down from now on */
    assert_int_equal(v[1].down_since_ns, 100 * S);
    assert_int_equal(v[0].down_since_ns, -1);
    health_assess(v, 3, 100 * S, 30 * S, &h);
    assert_true(h.healthy);
    assert_false(h.all_up);
    assert_int_equal(h.wanted, 3);
    assert_int_equal(h.up, 2);

    health_observe(v, 3, 130 * S); /* exactly the limit: still healthy */
    health_assess(v, 3, 130 * S, 30 * S, &h);
    assert_true(h.healthy);
    health_observe(v, 3, 131 * S);
    health_assess(v, 3, 131 * S, 30 * S, &h);
    assert_false(h.healthy);
    assert_non_null(strstr(h.why, "storer down for 31 s"));

    /* it comes up: healthy at once, and a new outage counts from its own start */
    v[1].ready = true;
    health_observe(v, 3, 132 * S);
    health_assess(v, 3, 132 * S, 30 * S, &h);
    assert_true(h.healthy && h.all_up);
    v[1].ready = false; /* restarted: the new process is not ready yet */
    health_observe(v, 3, 140 * S);
    health_assess(v, 3, 160 * S, 30 * S, &h);
    assert_true(h.healthy);
}

/* The table observed at from and at now, then assessed at now with a 30 s limit. */
static void observed_from_to(struct child *v, size_t n, int64_t from, int64_t now, struct health *h)
{
    health_observe(v, n, from);
    health_observe(v, n, now);
    health_assess(v, n, now, 30 * S, h);
}

static void test_fatal_exit_does_not_make_unhealthy(void **state)
{
    (void)state;
    struct child v[2] = { slot(CHILD_RELAY, 0, 10, true), slot(CHILD_STORER, 0, 0, false) };
    v[1].fatal = true;
    v[1].started_ns = 0;
    struct health h;
    observed_from_to(v, 2, 0, 100 * S, &h);
    assert_true(h.healthy && h.all_up);
    assert_int_equal(h.wanted, 1);
    assert_int_equal(h.fatal, 1);
    /* a reload clears the mark: from then on it counts as down */
    v[1].fatal = false;
    health_observe(v, 2, 101 * S);
    health_assess(v, 2, 131 * S, 30 * S, &h);
    assert_true(h.healthy);
    health_assess(v, 2, 132 * S, 30 * S, &h);
    assert_false(h.healthy);
}

static void test_web_down_keeps_ready_and_healthy(void **state)
{
    (void)state;
    /* a web that cannot listen (its port taken, or < 1024 without the capability) is restarted with backoff; the
     * checks, the storing and the alerting go on, so the service is ready and pings the watchdog */
    struct child v[3] = { slot(CHILD_RELAY, 0, 10, true), slot(CHILD_WORKER, 0, 12, true),
                          slot(CHILD_WEB, 0, 0, false) };
    v[2].started_ns = 0;
    v[2].restarts = 3;
    struct health h;
    observed_from_to(v, 3, 0, 100 * S, &h);
    assert_true(h.ready && h.healthy);
    assert_false(h.all_up);
    assert_int_equal(h.wanted, 3);
    assert_int_equal(h.up, 2);
    char line[HEALTH_STATUS_MAX];
    struct health_facts f = { .endpoints = 1, .workers = 1 };
    health_status(line, sizeof line, v, 3, &f);
    assert_string_equal(line, "1 endpoint, 1 worker; 2 of 3 children up: web restarting (3 restarts so far)");
    /* an essential child down is neither */
    v[1].ready = false;
    health_observe(v, 3, 101 * S);
    health_assess(v, 3, 132 * S, 30 * S, &h);
    assert_false(h.ready || h.healthy);
    assert_non_null(strstr(h.why, "worker 0/2 down for 31 s"));
}

static void test_process_stuck_after_sigkill(void **state)
{
    (void)state;
    struct child v[1] = { slot(CHILD_WORKER, 1, 12, true) };
    v[0].stopping = true;
    v[0].respawn = false; /* retired: not wanted, yet its process must go */
    v[0].killed = true;
    struct health h;
    health_observe(v, 1, 10 * S);
    health_assess(v, 1, 10 * S + HEALTH_KILL_STUCK_NS, 30 * S, &h);
    assert_true(h.healthy);
    health_assess(v, 1, 11 * S + HEALTH_KILL_STUCK_NS, 30 * S, &h);
    assert_false(h.healthy);
    assert_non_null(strstr(h.why, "worker 1/2 (pid 12) still alive 6 s after SIGKILL"));
    v[0].pid = 0; /* reaped */
    health_observe(v, 1, 20 * S);
    assert_int_equal(v[0].kill_seen_ns, -1);
}

/* ---- the status line */

static void test_status_lines(void **state)
{
    (void)state;
    char line[HEALTH_STATUS_MAX];
    struct child v[5] = { slot(CHILD_RELAY, 0, 10, true), slot(CHILD_STORER, 0, 11, true),
                          slot(CHILD_ALERTER, 0, 12, true), slot(CHILD_WORKER, 0, 13, true),
                          slot(CHILD_WORKER, 1, 14, true) };
    struct health_facts f = { .endpoints = 12, .workers = 2 };
    assert_string_equal(health_status(line, sizeof line, v, 5, &f), "12 endpoints, 2 workers; all 5 children up");

    v[1].ready = false; /* started, not ready */
    v[4].pid = 0;       /* crashed, waiting for its restart */
    v[4].restarts = 3;
    assert_string_equal(health_status(line, sizeof line, v, 5, &f),
                        "12 endpoints, 2 workers; 3 of 5 children up: waiting for storer, worker 1/2 restarting (3 "
                        "restarts so far)");
    v[4].pid = 14;
    v[4].stopping = true; /* asked to stop by a reload */
    v[1].ready = true;
    f.reloading = true;
    assert_string_equal(health_status(line, sizeof line, v, 5, &f),
                        "reloading: 12 endpoints, 2 workers; 4 of 5 children up: worker 1/2 restarting");

    v[4].stopping = false;
    v[2].fatal = true;
    v[2].pid = 0;
    f.reloading = false;
    f.reload_refused = true;
    f.endpoints = 1;
    assert_string_equal(health_status(line, sizeof line, v, 5, &f),
                        "1 endpoint, 2 workers; all 4 children up; stopped by a fatal configuration error (exit 2, "
                        "fix and reload): alerter; the last reload was refused (see the log)");

    f = (struct health_facts){ .stopping = true };
    v[0].pid = 0;
    assert_string_equal(health_status(line, sizeof line, v, 5, &f), "stopping: 3 children left");

    f = (struct health_facts){ .probe_waiting = "fra", .workers = 1 };
    assert_string_equal(health_status(line, sizeof line, v, 0, &f),
                        "probe host fra: waiting for its configuration from the central host");
}

static void test_status_line_is_bounded(void **state)
{
    (void)state;
    struct child v[40];
    for (unsigned i = 0; i < 40; i++) v[i] = slot(CHILD_WORKER, i, (pid_t)(100 + i), false);
    struct health_facts f = { .endpoints = 100000, .workers = 40 };
    char line[HEALTH_STATUS_MAX];
    health_status(line, sizeof line, v, 40, &f);
    assert_true(strlen(line) < sizeof line);
    assert_non_null(strstr(line, "0 of 40 children up: waiting for worker 0/2, waiting for worker 1/2"));
    assert_non_null(strstr(line, " and 36 more"));
    char tiny[16];
    health_status(tiny, sizeof tiny, v, 40, &f);
    assert_string_equal(tiny, "100000 endpoint");
}

/* ---- the readiness message */

static void test_ready_message_round_trip(void **state)
{
    (void)state;
    uint8_t buf[PROC_READY_MSG_MAX];
    size_t n = proc_ready_encode("worker", 3, buf, sizeof buf);
    assert_int_equal(n, PROC_READY_FIXED + 6);
    static const uint8_t want[] = { 'C', 'W', 'R', 'Y', 1, 6, 'w', 'o', 'r', 'k', 'e', 'r', 3, 0, 0, 0 };
    assert_memory_equal(buf, want, sizeof want);
    struct proc_ready_msg m;
    const char *why = NULL;
    assert_int_equal(proc_ready_decode(buf, n, &m, &why), 0);
    assert_string_equal(m.role, "worker");
    assert_int_equal(m.slot, 3);
    assert_int_equal(proc_ready_encode("", 0, buf, sizeof buf), 0);
    assert_int_equal(proc_ready_encode("Worker", 0, buf, sizeof buf), 0);
    assert_int_equal(proc_ready_encode("averyveryverylongrole", 0, buf, sizeof buf), 0);
    assert_int_equal(proc_ready_encode("relay", 0, buf, 10), 0); /* does not fit */
}

static void expect_refused(const uint8_t *buf, size_t len, const char *reason)
{
    struct proc_ready_msg m;
    const char *why = NULL;
    assert_int_equal(proc_ready_decode(buf, len, &m, &why), -1);
    assert_non_null(why);
    assert_string_equal(why, reason);
}

static void test_ready_message_refused(void **state)
{
    (void)state;
    uint8_t buf[PROC_READY_MSG_MAX + 4];
    size_t n = proc_ready_encode("storer", 0, buf, sizeof buf);
    for (size_t len = 0; len < n; len++) expect_refused(buf, len, "truncated"); /* every truncation */
    buf[n] = 0;
    expect_refused(buf, n + 1, "trailing bytes");
    buf[0] = 'X';
    expect_refused(buf, n, "bad magic");
    buf[0] = 'C';
    buf[4] = 2;
    expect_refused(buf, n, "unsupported version");
    buf[4] = 1;
    buf[6] = 'S';
    expect_refused(buf, n, "bad role");
    buf[6] = 's';
    buf[5] = 0; /* an empty role */
    expect_refused(buf, PROC_READY_FIXED, "bad role");
    buf[5] = 200; /* a role longer than the datagram */
    expect_refused(buf, n, "truncated");
    expect_refused(NULL, 0, "truncated");
}

/* ---- the supervisor's socket: a message is taken by the sender's pid */

static void send_raw(const char *path, const uint8_t *buf, size_t len)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(sendto(fd, buf, len, 0, (struct sockaddr *)&sa, sizeof sa), (ssize_t)len);
    close(fd);
}

static void test_readiness_socket(void **state)
{
    (void)state;
    char dir[] = "/tmp/cw-notify-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct readiness r;
    readiness_init(&r);
    struct privs none = { .active = false };
    char err[256];
    assert_int_equal(readiness_open(&r, dir, &none, err, sizeof err), 0);
    assert_non_null(strstr(r.env, "CLOCKWERK_READY_SOCKET="));

    /* this process plays the storer: its pid is in the table */
    struct child v[2] = { slot(CHILD_RELAY, 0, getpid() + 100000, false), slot(CHILD_STORER, 0, getpid(), false) };
    struct children ch = { .v = v, .n = 2, .cap = 2 };
    uint8_t buf[PROC_READY_MSG_MAX];
    size_t n = proc_ready_encode("relay", 0, buf, sizeof buf); /* our pid is the storer's, not the relay's */
    send_raw(r.path, buf, n);
    send_raw(r.path, (const uint8_t *)"READY=1", 7);
    readiness_drain(&r, &ch, 0);
    assert_false(v[0].ready || v[1].ready);
    assert_int_equal(r.dropped, 2);

    struct proc p = { .name = "storer" };
    setenv(PROC_READY_ENV, r.path, 1);
    proc_ready(&p);
    unsetenv(PROC_READY_ENV);
    readiness_drain(&r, &ch, 0);
    assert_true(v[1].ready);
    assert_false(v[0].ready);
    assert_int_equal(r.taken, 1);

    char path[200];
    snprintf(path, sizeof path, "%s", r.path);
    readiness_close(&r);
    assert_int_not_equal(access(path, F_OK), 0); /* removed */
    rmdir(dir);
}

int main(void)
{
    log_init("test", LOG_LVL_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_up_and_wanted),
        cmocka_unit_test(test_healthy_until_down_longer_than_the_limit),
        cmocka_unit_test(test_fatal_exit_does_not_make_unhealthy),
        cmocka_unit_test(test_web_down_keeps_ready_and_healthy),
        cmocka_unit_test(test_process_stuck_after_sigkill),
        cmocka_unit_test(test_status_lines),
        cmocka_unit_test(test_status_line_is_bounded),
        cmocka_unit_test(test_ready_message_round_trip),
        cmocka_unit_test(test_ready_message_refused),
        cmocka_unit_test(test_readiness_socket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
