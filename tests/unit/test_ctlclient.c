/* tests/unit/test_ctlclient.c — the control socket's client (common/wire/ctlclient.h) keeps its time bound when
 * the alerter does not accept: a listener whose backlog is full (an alerter stopped with SIGSTOP, or hung) made
 * connect() block for good, and the web's loop with it. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/base/clock.h"
#include "common/wire/ctlclient.h"

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "ctlclient_ask did not return within 10 s\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(1);
}

static void test_connect_bounded_when_backlog_full(void **state)
{
    (void)state;
    char dir[] = "/tmp/cw-test-ctlclient-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s/alerter.ctl", dir);
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(lfd >= 0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(listen(lfd, 0), 0); /* never accepted */
    int fill[64], n_fill = 0;
    while (n_fill < 64) { /* fill the backlog: connects that would block */
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
        assert_true(fd >= 0);
        if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
            close(fd);
            break;
        }
        fill[n_fill++] = fd;
    }
    signal(SIGALRM, on_alarm);
    alarm(10);
    struct cw_buf answer = { 0 };
    char err[256];
    int64_t t0 = cw_mono_us();
    enum ctlclient_rc rc = ctlclient_ask(dir, "{\"v\":1,\"op\":\"silence_list\"}\n", &answer, 300, err, sizeof err);
    int64_t took = cw_mono_us() - t0;
    alarm(0);
    assert_int_equal(rc, CTLCLIENT_FAILED);
    assert_true(took < 3000000);
    cw_buf_free(&answer);
    for (int i = 0; i < n_fill; i++) close(fill[i]);
    close(lfd);
    unlink(addr.sun_path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_connect_bounded_when_backlog_full) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
