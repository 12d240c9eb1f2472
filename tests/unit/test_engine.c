/* tests/unit/test_engine.c — the engine's services for modules (worker/check.h): a module watch calls its
 * callback for each event of its descriptor and no more once unwatched; a module timer fires once at its instant
 * (not before), can be moved and cancelled, and feeds engine_next_wakeup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/base/clock.h"
#include "worker/check.h"
#include "worker/events.h"
#include "engine_test_util.h"

struct seen {
    int calls;
    int fd;
    uint32_t events;
    int64_t at;
};

static void on_fd(struct engine *e, void *arg, int fd, uint32_t epoll_events)
{
    (void)e;
    struct seen *s = arg;
    s->calls++;
    s->fd = fd;
    s->events = epoll_events;
    uint64_t v;
    (void)!read(fd, &v, sizeof v); /* level-triggered: drain it */
}

static void on_timer(struct engine *e, void *arg, int64_t now)
{
    (void)e;
    struct seen *s = arg;
    s->calls++;
    s->at = now;
}

static void test_module_watch(void **state)
{
    (void)state;
    struct rig g;
    rig_open(&g);
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct seen s = { 0 };
    int w = engine_watch(g.e, fd, EPOLLIN, on_fd, &s);
    assert_true(w >= 0);
    rig_pass(&g, 20000000);
    assert_int_equal(s.calls, 0); /* nothing to read yet */
    uint64_t one = 1;
    assert_int_equal(write(fd, &one, sizeof one), sizeof one);
    rig_pass(&g, 1000000000);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.fd, fd);
    assert_true(s.events & EPOLLIN);
    engine_unwatch(g.e, w);
    assert_int_equal(write(fd, &one, sizeof one), sizeof one);
    rig_pass(&g, 20000000);
    assert_int_equal(s.calls, 1); /* unwatched: no more calls */
    int w2 = engine_watch(g.e, fd, EPOLLIN, on_fd, &s);
    assert_int_equal(w2, w); /* the free entry is reused */
    rig_pass(&g, 1000000000);
    assert_int_equal(s.calls, 2);
    engine_unwatch(g.e, w2);
    close(fd);
    rig_close(&g);
}

static void test_module_timer(void **state)
{
    (void)state;
    struct rig g;
    rig_open(&g);
    struct seen a = { 0 }, b = { 0 };
    int ta = engine_timer_new(g.e, on_timer, &a), tb = engine_timer_new(g.e, on_timer, &b);
    assert_true(ta >= 0 && tb >= 0 && ta != tb);
    assert_int_equal(engine_next_wakeup(g.e, cw_mono_ns()), -1);
    int64_t t0 = cw_mono_ns();
    engine_timer_set(g.e, ta, t0 + 300000000);
    engine_timer_set(g.e, tb, t0 + 50000000);
    engine_timer_set(g.e, tb, t0 + 100000000); /* moved: fires once, at the new instant */
    assert_int_equal(engine_next_wakeup(g.e, t0), t0 + 100000000);
    while (b.calls == 0 && cw_mono_ns() < t0 + 2000000000LL) rig_pass(&g, 1000000000);
    assert_int_equal(b.calls, 1);
    assert_true(b.at >= t0 + 100000000);
    assert_int_equal(a.calls, 0);
    engine_timer_set(g.e, ta, -1); /* cancelled */
    assert_int_equal(engine_next_wakeup(g.e, cw_mono_ns()), -1);
    rig_pass(&g, 400000000);
    assert_int_equal(a.calls, 0);
    for (int i = 2; i < ENGINE_MODULE_TIMERS; i++) assert_true(engine_timer_new(g.e, on_timer, &a) >= 0);
    assert_int_equal(engine_timer_new(g.e, on_timer, &a), -1); /* the bound */
    rig_close(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_module_watch),
        cmocka_unit_test(test_module_timer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
