/* tests/unit/test_worker_remap.c — a worker's reload in place (worker/remap.c): the old shard's endpoints paired with
 * the new one's by URL (in place, moved, removed, added), and the schedule carried over: an endpoint kept with its
 * interval keeps its due time exactly (no burst, no gap), one whose interval changed and one added are placed as at
 * start, a removed one and one that became a push endpoint leave it, and the heap order holds afterwards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "worker/remap.h"

#define SEC 1000000000LL
#define NOW_MONO (1000 * SEC)
#define NOW_WALL (1765000000LL * SEC)

static struct cw_endpoint ep(const char *url, double interval, enum cw_check_type type)
{
    struct cw_endpoint e;
    memset(&e, 0, sizeof e);
    e.url = (char *)url;
    e.interval = interval;
    e.type = type;
    return e;
}

static void test_pairs_by_url(void **state)
{
    (void)state;
    struct cw_endpoint old[] = { ep("http://a/", 10, CW_CHECK_HTTP), ep("http://b/", 10, CW_CHECK_HTTP),
                                 ep("http://c/", 10, CW_CHECK_HTTP), ep("http://d/", 10, CW_CHECK_HTTP) };
    /* a stays at 0, b is removed, d moves to 1, c moves to 3, e is added at 2 */
    struct cw_endpoint eps[] = { ep("http://a/", 10, CW_CHECK_HTTP), ep("http://d/", 10, CW_CHECK_HTTP),
                                 ep("http://e/", 10, CW_CHECK_HTTP), ep("http://c/", 10, CW_CHECK_HTTP) };
    uint32_t map[4];
    remap_build(old, 4, eps, 4, map);
    assert_int_equal(map[0], 0);
    assert_int_equal(map[1], REMAP_GONE);
    assert_int_equal(map[2], 3);
    assert_int_equal(map[3], 1);
    /* everything removed, and an empty old shard */
    remap_build(old, 4, eps, 0, map);
    for (int i = 0; i < 4; i++) assert_int_equal(map[i], REMAP_GONE);
    remap_build(old, 0, eps, 4, map); /* writes nothing */
}

/* The schedule as it is after running a while: each endpoint's due time somewhere in its interval. */
static void fill(struct sched *s, const struct cw_endpoint *eps, size_t n)
{
    sched_init(s, n);
    for (size_t i = 0; i < n; i++)
        if (eps[i].type != CW_CHECK_PUSH)
            sched_add(s, (uint32_t)i, sched_seconds_to_ns(eps[i].interval), NOW_MONO + (int64_t)(i * 7 + 1) * SEC / 10);
}

static const struct sched_entry *find(const struct sched *s, uint32_t id)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->heap[i].id == id) return &s->heap[i];
    return NULL;
}

static void test_schedule_carried_over(void **state)
{
    (void)state;
    struct cw_endpoint old[] = { ep("http://keep/", 10, CW_CHECK_HTTP), ep("http://gone/", 10, CW_CHECK_HTTP),
                                 ep("http://slower/", 10, CW_CHECK_HTTP), ep("http://moved/", 30, CW_CHECK_TCP),
                                 ep("http://topush/", 10, CW_CHECK_HTTP), ep("http://push/", 60, CW_CHECK_PUSH) };
    struct cw_endpoint eps[] = { ep("http://moved/", 30, CW_CHECK_TCP), ep("http://keep/", 10, CW_CHECK_HTTP),
                                 ep("http://slower/", 20, CW_CHECK_HTTP), ep("http://new/", 5, CW_CHECK_HTTP),
                                 ep("http://topush/", 10, CW_CHECK_PUSH), ep("http://push/", 60, CW_CHECK_PUSH) };
    struct sched s;
    fill(&s, old, 6);
    int64_t due_keep = find(&s, 0)->due_ns, due_moved = find(&s, 3)->due_ns;
    uint32_t map[6];
    remap_build(old, 6, eps, 6, map);
    struct remap_counts c;
    remap_schedule(&s, map, old, 6, eps, 6, NOW_MONO, NOW_WALL, &c);
    assert_int_equal(c.kept, 2);     /* keep, moved */
    assert_int_equal(c.rephased, 1); /* slower */
    assert_int_equal(c.added, 1);    /* new */
    assert_int_equal(c.removed, 2);  /* gone, topush */
    assert_int_equal(s.n, 4);
    /* kept: the same due time, under the new id */
    assert_int_equal(find(&s, 1)->due_ns, due_keep);
    assert_int_equal(find(&s, 0)->due_ns, due_moved);
    assert_int_equal(find(&s, 0)->interval_ns, 30 * SEC);
    /* rephased and added: as at start, at their URL's phase of the new interval */
    assert_int_equal(find(&s, 2)->interval_ns, 20 * SEC);
    assert_int_equal(find(&s, 2)->due_ns, sched_first_due("http://slower/", 20 * SEC, NOW_MONO, NOW_WALL));
    assert_int_equal(find(&s, 3)->due_ns, sched_first_due("http://new/", 5 * SEC, NOW_MONO, NOW_WALL));
    assert_null(find(&s, 4)); /* now a push endpoint */
    assert_null(find(&s, 5));
    /* the heap yields them in due order */
    int64_t last = INT64_MIN;
    for (int k = 0; k < 4; k++) {
        const struct sched_entry *top = sched_peek(&s);
        assert_true(top->due_ns >= last);
        last = top->due_ns;
        s.heap[0].due_ns += 1000 * SEC; /* out of the way */
        sched_heapify(&s);
    }
    sched_free(&s);
}

/* Many endpoints, one URL changed: every other entry keeps its due time; the heap stays a heap. */
static void test_one_change_in_many(void **state)
{
    (void)state;
    enum { N = 5000 };
    static struct cw_endpoint old[N], eps[N];
    static char urls[N + 1][32];
    for (int i = 0; i < N; i++) {
        snprintf(urls[i], sizeof urls[i], "http://h/%d", i);
        old[i] = eps[i] = ep(urls[i], 1 + i % 60, CW_CHECK_HTTP);
    }
    snprintf(urls[N], sizeof urls[N], "http://h/changed");
    eps[1234].url = urls[N];
    struct sched s;
    fill(&s, old, N);
    int64_t *due = calloc(N, sizeof *due);
    for (size_t i = 0; i < s.n; i++) due[s.heap[i].id] = s.heap[i].due_ns;
    uint32_t *map = calloc(N, sizeof *map);
    remap_build(old, N, eps, N, map);
    struct remap_counts c;
    remap_schedule(&s, map, old, N, eps, N, NOW_MONO, NOW_WALL, &c);
    assert_int_equal(c.kept, N - 1);
    assert_int_equal(c.added, 1);
    assert_int_equal(c.removed, 1);
    for (size_t i = 0; i < s.n; i++)
        if (s.heap[i].id != 1234) assert_int_equal(s.heap[i].due_ns, due[s.heap[i].id]);
    for (size_t i = 1; i < s.n; i++) assert_true(s.heap[(i - 1) / 2].due_ns <= s.heap[i].due_ns);
    free(due);
    free(map);
    sched_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pairs_by_url),
        cmocka_unit_test(test_schedule_carried_over),
        cmocka_unit_test(test_one_change_in_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
