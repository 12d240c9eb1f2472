/* tests/unit/test_statejournal.c — the state journal's writing side (alerter/statejournal.c) and the hash that
 * tells it which endpoints changed (statefile_unit_hash): every field written changes the hash; appends cut off a
 * torn line and refuse a journal or base that is not theirs; a compaction keeps the lines written while it ran. */
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

#include <json-c/json.h>

#include "alerter/statefile.h"
#include "alerter/statejournal.h"
#include "common/base/util.h"

/* ---- the hash */

static char *children[] = { "http://child/1", "http://child/2" };

static struct statefile_endpoint sample(void)
{
    struct statefile_endpoint e = { .url = "http://a/", .last_error = "refused", .last_status = 500 };
    e.st = (struct astate){ .avail = 2, .speed = 1, .fail_run = 3, .ok_run = 4, .slow_run = 5, .fast_run = 6,
                            .failed_count = 7, .reminders = 8, .fail_since_us = 9, .ok_since_us = 10,
                            .slow_since_us = 11, .fast_since_us = 12, .state_since_us = 13, .speed_since_us = 14,
                            .last_notify_us = 15, .tls_notified_us = 16 };
    e.last_latency_us = 17, e.last_checked_us = 18, e.notified = 2, e.resends = 19;
    e.inc = (struct incident){ .id = 20, .since_us = 21, .opened_wall_us = 22, .acked_by = "ann", .acked_at_us = 23,
                               .children = children, .n_children = 2, .steps = 24, .open = true, .acked = true };
    e.flap = (struct flap_hist){ .failed = 25, .n = 26, .flapping = true };
    return e;
}

typedef void (*mutate_fn)(struct statefile_endpoint *e);
#define MUT(name, stmt) static void name(struct statefile_endpoint *e) { stmt; }
MUT(m_url, e->url = "http://b/") MUT(m_avail, e->st.avail = 1) MUT(m_speed, e->st.speed = 2)
MUT(m_fail_run, e->st.fail_run++) MUT(m_ok_run, e->st.ok_run++) MUT(m_slow_run, e->st.slow_run++)
MUT(m_fast_run, e->st.fast_run++) MUT(m_failed_count, e->st.failed_count++) MUT(m_reminders, e->st.reminders++)
MUT(m_fail_since, e->st.fail_since_us++) MUT(m_ok_since, e->st.ok_since_us++) MUT(m_slow_since, e->st.slow_since_us++)
MUT(m_fast_since, e->st.fast_since_us++) MUT(m_state_since, e->st.state_since_us++)
MUT(m_speed_since, e->st.speed_since_us++) MUT(m_last_notify, e->st.last_notify_us++)
MUT(m_tls_notified, e->st.tls_notified_us++) MUT(m_last_status, e->last_status = 502)
MUT(m_last_latency, e->last_latency_us++) MUT(m_last_error, e->last_error = "timeout")
MUT(m_no_error, e->last_error = NULL) MUT(m_last_checked, e->last_checked_us++) MUT(m_notified, e->notified = 1)
MUT(m_resends, e->resends++) MUT(m_inc_id, e->inc.id++) MUT(m_inc_since, e->inc.since_us++)
MUT(m_inc_opened, e->inc.opened_wall_us++) MUT(m_acked_by, e->inc.acked_by = "bob")
MUT(m_acked_at, e->inc.acked_at_us++) MUT(m_children, e->inc.n_children = 1) MUT(m_steps, e->inc.steps++)
MUT(m_open, e->inc.open = false) MUT(m_acked, e->inc.acked = false) MUT(m_flap_failed, e->flap.failed++)
MUT(m_flap_n, e->flap.n++) MUT(m_flapping, e->flap.flapping = false)

static void child_renamed(struct statefile_endpoint *e)
{
    static char *other[] = { "http://child/1", "http://child/3" };
    e->inc.children = other;
}

static void test_every_field_changes_the_hash(void **state)
{
    (void)state;
    static const mutate_fn muts[] = { m_url, m_avail, m_speed, m_fail_run, m_ok_run, m_slow_run, m_fast_run,
                                      m_failed_count, m_reminders, m_fail_since, m_ok_since, m_slow_since,
                                      m_fast_since, m_state_since, m_speed_since, m_last_notify, m_tls_notified,
                                      m_last_status, m_last_latency, m_last_error, m_no_error, m_last_checked,
                                      m_notified, m_resends, m_inc_id, m_inc_since, m_inc_opened, m_acked_by,
                                      m_acked_at, m_children, m_steps, m_open, m_acked, m_flap_failed, m_flap_n,
                                      m_flapping, child_renamed };
    struct statefile_endpoint base = sample();
    uint64_t h0 = statefile_unit_hash(&base, NULL, 0, NULL);
    assert_int_not_equal(h0, 0);
    assert_int_equal(h0, statefile_unit_hash(&base, NULL, 0, NULL)); /* the same state, the same hash */
    for (size_t i = 0; i < sizeof muts / sizeof *muts; i++) {
        struct statefile_endpoint e = sample();
        muts[i](&e);
        if (statefile_unit_hash(&e, NULL, 0, NULL) == h0) fail_msg("mutation %zu does not change the hash", i);
    }
    assert_int_equal(statefile_unit_hash(NULL, NULL, 0, NULL), 0); /* nothing to save */
}

static void test_voters_and_vote_change_the_hash(void **state)
{
    (void)state;
    struct statefile_voter v[2] = { { .url = "http://a/", .location = "fra", .boot_id = 1, .checked_us = 2 },
                                    { .url = "http://a/", .location = "nyc", .boot_id = 3, .checked_us = 4 } };
    v[0].v = (struct quorum_voter){ .vote = 2, .speed = 1, .fail_run = 1, .ok_run = 2, .slow_run = 3, .fast_run = 4,
                                    .fail_since_us = 5, .ok_since_us = 6, .slow_since_us = 7, .fast_since_us = 8,
                                    .since_us = 9, .speed_since_us = 10, .last_at_us = 11 };
    struct statefile_vote vote = { .url = "http://a/", .verdict = 2, .summary = "DOWN from fra; up from nyc" };
    uint64_t h0 = statefile_unit_hash(NULL, v, 2, &vote);
    assert_int_not_equal(h0, 0);
    assert_int_not_equal(statefile_unit_hash(NULL, v, 1, &vote), h0);
    assert_int_not_equal(statefile_unit_hash(NULL, v, 2, NULL), h0);
    int64_t *fields[] = { &v[1].v.fail_since_us, &v[1].v.ok_since_us,   &v[1].v.slow_since_us, &v[1].v.fast_since_us,
                          &v[1].v.since_us,      &v[1].v.speed_since_us, &v[1].v.last_at_us,    &v[1].checked_us };
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
        (*fields[i])++;
        assert_int_not_equal(statefile_unit_hash(NULL, v, 2, &vote), h0);
        (*fields[i])--;
    }
    assert_int_equal(statefile_unit_hash(NULL, v, 2, &vote), h0);
    v[1].v.vote = 1, v[1].v.speed = 2;
    assert_int_not_equal(statefile_unit_hash(NULL, v, 2, &vote), h0);
    v[1].v.vote = 0, v[1].v.speed = 0;
    v[1].v.ok_run = 9;
    assert_int_not_equal(statefile_unit_hash(NULL, v, 2, &vote), h0);
    v[1].v.ok_run = 0;
    v[1].boot_id = 4;
    assert_int_not_equal(statefile_unit_hash(NULL, v, 2, &vote), h0);
    v[1].boot_id = 3, v[1].location = "sgp";
    assert_int_not_equal(statefile_unit_hash(NULL, v, 2, &vote), h0);
    v[1].location = "nyc";
    vote.summary = "DOWN from fra, nyc";
    assert_int_not_equal(statefile_unit_hash(NULL, v, 2, &vote), h0);
    vote.summary = "DOWN from fra; up from nyc", vote.verdict = 0;
    assert_int_not_equal(statefile_unit_hash(NULL, v, 2, &vote), h0);
}

/* ---- the files */

struct files {
    char dir[64], base[128];
    struct statejournal j;
};

static int setup(void **state)
{
    struct files *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/cw-sj-XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    snprintf(f->base, sizeof f->base, "%s/alerter.state", f->dir);
    statejournal_init(&f->j, f->base, 0, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct files *f = *state;
    statejournal_compact_abort(&f->j);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0) return -1;
    free(f);
    return 0;
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp) return NULL;
    struct cw_buf b = { 0 };
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0) cw_buf_put(&b, chunk, n);
    fclose(fp);
    cw_buf_put(&b, "", 1);
    return (char *)b.data;
}

static size_t count_lines(const char *text)
{
    size_t n = 0;
    for (const char *p = text; p && *p; p++) n += *p == '\n';
    return n;
}

/* One line that changes endpoint url to a record with fail_run runs. */
static int append_one(struct statejournal *j, const char *url, uint32_t runs)
{
    struct statefile_endpoint e = { .url = (char *)url, .last_error = "" };
    e.st.fail_run = runs;
    struct statefile_data d = { .eps = &e, .n_eps = 1 };
    const char *changed[] = { url };
    struct statejournal_line line = { .changed = changed, .n_changed = 1, .d = &d };
    struct cw_buf text = { 0 };
    statejournal_line_text(j, &line, &text);
    char err[256];
    int rc = statejournal_append(j, &text, err, sizeof err);
    cw_buf_free(&text);
    return rc;
}

static void write_empty_base(struct files *f)
{
    struct statefile_data d = { 0 };
    char err[256];
    assert_int_equal(statejournal_write_base(&f->j, &d, true, err, sizeof err), 0);
    assert_true(f->j.next_seq >= 1);
    assert_int_equal(f->j.bytes, 0);
}

static void test_append_cuts_a_torn_line(void **state)
{
    struct files *f = *state;
    write_empty_base(f);
    assert_int_equal(append_one(&f->j, "http://a/", 1), 0);
    assert_int_equal(append_one(&f->j, "http://a/", 2), 0);
    assert_int_equal(f->j.next_seq, 3);
    FILE *fp = fopen(f->j.path, "a"); /* a failed append's part line */
    assert_non_null(fp);
    fputs("{\"journal\":1,\"seq\":3,\"saved", fp);
    fclose(fp);
    assert_int_equal(append_one(&f->j, "http://a/", 3), 0);
    char *text = slurp(f->j.path);
    assert_int_equal(count_lines(text), 3);
    assert_int_equal((int64_t)strlen(text), f->j.bytes);
    assert_non_null(strstr(text, "\"seq\":3,"));
    assert_null(strstr(text, "\"saved{"));
    json_object *last = json_tokener_parse(strstr(text, "{\"journal\":1,\"seq\":3,"));
    assert_non_null(last); /* the third line whole */
    json_object_put(last);
    free(text);
}

static void test_a_journal_or_base_not_ours_is_refused(void **state)
{
    struct files *f = *state;
    write_empty_base(f);
    assert_int_equal(append_one(&f->j, "http://a/", 1), 0);
    assert_int_equal(truncate(f->j.path, 3), 0); /* shorter than what was written */
    assert_int_equal(append_one(&f->j, "http://a/", 2), -2);
    write_empty_base(f);
    assert_int_equal(append_one(&f->j, "http://a/", 2), 0);
    FILE *fp = fopen(f->base, "w"); /* the base replaced by hand */
    fputs("{}", fp);
    fclose(fp);
    assert_int_equal(append_one(&f->j, "http://a/", 3), -2);
    assert_int_equal(unlink(f->base), 0); /* or removed */
    assert_int_equal(append_one(&f->j, "http://a/", 3), -2);
}

static void test_fresh_base_removes_an_old_journal(void **state)
{
    struct files *f = *state;
    FILE *fp = fopen(f->j.path, "w");
    fputs("{\"journal\":1,\"seq\":1,\"saved_at\":\"x\",\"changed\":[]}\n", fp);
    fclose(fp);
    write_empty_base(f);
    struct stat st;
    assert_int_not_equal(stat(f->j.path, &st), 0); /* no old line can follow the new base */
    char *base = slurp(f->base);
    assert_non_null(strstr(base, "\"journal_from\":1"));
    free(base);
}

static void test_compaction_keeps_the_lines_written_meanwhile(void **state)
{
    struct files *f = *state;
    write_empty_base(f);
    for (uint32_t i = 1; i <= 3; i++) assert_int_equal(append_one(&f->j, "http://a/", i), 0);
    char err[256];
    assert_int_equal(statejournal_compact_begin(&f->j, err, sizeof err), 0);
    assert_true(statejournal_compacting(&f->j));
    struct statefile_endpoint eps[2] = { { .url = "http://a/", .last_error = "" },
                                         { .url = "http://b/", .last_error = "x" } };
    struct statefile_data chunk = { .eps = eps, .n_eps = 1 };
    assert_int_equal(statejournal_compact_items(&f->j, STATEFILE_ENDPOINTS, &chunk, err, sizeof err), 0);
    assert_int_equal(append_one(&f->j, "http://b/", 7), 0); /* seq 4, during the compaction */
    chunk.eps = eps + 1;
    assert_int_equal(statejournal_compact_items(&f->j, STATEFILE_ENDPOINTS, &chunk, err, sizeof err), 0);
    struct statefile_data none = { 0 };
    assert_int_equal(statejournal_compact_items(&f->j, STATEFILE_VOTES, &none, err, sizeof err), 0);
    assert_int_equal(statejournal_compact_items(&f->j, STATEFILE_VOTERS, &none, err, sizeof err), -1); /* order */
    assert_true(statejournal_compacting(&f->j));
    uint8_t up[1] = { 0 };
    struct statefile_data tail = { .plain = { .n = 1, .up = up } };
    assert_int_equal(statejournal_compact_finish(&f->j, &tail, err, sizeof err), 0);
    assert_false(statejournal_compacting(&f->j));
    assert_true(statejournal_shortening(&f->j));
    char *before = slurp(f->j.path);
    assert_int_equal(count_lines(before), 4); /* the journal as it was: still right with the new base */
    free(before);
    assert_int_equal(statejournal_shorten_step(&f->j, 10, err, sizeof err), 0); /* 10 bytes at a time */
    assert_int_equal(append_one(&f->j, "http://b/", 8), 0);                      /* seq 5, while shortening */
    int rc, steps = 1;
    while ((rc = statejournal_shorten_step(&f->j, 10, err, sizeof err)) == 0) steps++;
    assert_int_equal(rc, 1);
    assert_true(steps > 10);
    assert_false(statejournal_shortening(&f->j));
    char *base = slurp(f->base), *journal = slurp(f->j.path);
    json_object *root = json_tokener_parse(base);
    assert_non_null(root);
    json_object *v;
    assert_true(json_object_object_get_ex(root, "journal_from", &v));
    assert_int_equal(json_object_get_int64(v), 4);
    assert_true(json_object_object_get_ex(root, "endpoints", &v));
    assert_int_equal(json_object_array_length(v), 2);
    assert_true(json_object_object_get_ex(root, "voters", &v));
    assert_true(json_object_object_get_ex(root, "plain", &v));
    json_object_put(root);
    assert_int_equal(count_lines(journal), 2); /* only seq 4 and 5 */
    assert_non_null(strstr(journal, "\"seq\":4,"));
    assert_non_null(strstr(journal, "\"seq\":5,"));
    assert_null(strstr(journal, "\"seq\":3,"));
    assert_int_equal((int64_t)strlen(journal), f->j.bytes);
    assert_int_equal(f->j.base_bytes, (int64_t)strlen(base));
    free(base);
    free(journal);
    assert_int_equal(append_one(&f->j, "http://b/", 9), 0); /* the base is this process's: appends go on */
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.compact", f->base);
    assert_int_not_equal(access(tmp, F_OK), 0);
}

static void test_abort_removes_the_partial_base(void **state)
{
    struct files *f = *state;
    write_empty_base(f);
    char err[256], tmp[160];
    assert_int_equal(statejournal_compact_begin(&f->j, err, sizeof err), 0);
    snprintf(tmp, sizeof tmp, "%s.compact", f->base);
    assert_int_equal(access(tmp, F_OK), 0);
    statejournal_compact_abort(&f->j);
    assert_int_not_equal(access(tmp, F_OK), 0);
    assert_int_equal(append_one(&f->j, "http://a/", 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_field_changes_the_hash),
        cmocka_unit_test(test_voters_and_vote_change_the_hash),
        cmocka_unit_test_setup_teardown(test_append_cuts_a_torn_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_journal_or_base_not_ours_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fresh_base_removes_an_old_journal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compaction_keeps_the_lines_written_meanwhile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_removes_the_partial_base, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
