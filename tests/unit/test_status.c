/* tests/unit/test_status.c — the pure part of `clockwerk status` (alerter/statusfmt.c): durations in words, the
 * state shown for what the state file says, the summary line, the exit code, credentials kept out of error
 * texts, the supervisor's lock found in /proc/locks; and the save policy's heartbeat that keeps the state
 * file's saved_at fresh (alerter/savepolicy.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "alerter/savepolicy.h"
#include "alerter/statefile.h"
#include "alerter/statusfmt.h"

#define S 1000000LL

static void durations_in_words(void **state)
{
    (void)state;
    char b[32];
    assert_string_equal(status_duration(-5 * S, b, sizeof b), "0s");
    assert_string_equal(status_duration(999999, b, sizeof b), "0s");
    assert_string_equal(status_duration(45 * S, b, sizeof b), "45s");
    assert_string_equal(status_duration(60 * S, b, sizeof b), "1m 0s");
    assert_string_equal(status_duration(12 * 60 * S + 5 * S, b, sizeof b), "12m 5s");
    assert_string_equal(status_duration((3 * 3600 + 12 * 60 + 59) * S, b, sizeof b), "3h 12m");
    assert_string_equal(status_duration((2 * 86400 + 4 * 3600 + 1) * S, b, sizeof b), "2d 4h");
    assert_string_equal(status_utc(1796435589646677LL, b, sizeof b), "2026-12-05 01:53:09 UTC");
}

static struct astate st_of(uint8_t avail, uint8_t speed)
{
    struct astate s;
    astate_init(&s);
    s.avail = avail;
    s.speed = speed;
    return s;
}

static void states_from_the_file(void **state)
{
    (void)state;
    bool stale = true;
    int64_t now = 1000 * S, after = 100 * S;
    struct astate down = st_of(ASTATE_DOWN, ASTATE_SLOW), slow = st_of(ASTATE_UP, ASTATE_SLOW),
                  up = st_of(ASTATE_UP, ASTATE_FAST), unknown = st_of(ASTATE_UNKNOWN, ASTATE_SPEED_UNKNOWN);
    assert_int_equal(status_classify(&down, false, now - 10 * S, now, after, &stale), STATUS_DOWN);
    assert_false(stale);
    assert_int_equal(status_classify(&down, false, now - 500 * S, now, after, &stale), STATUS_DOWN); /* stays */
    assert_true(stale); /* ... but its worker stopped sending results: flagged like an up one */
    assert_int_equal(status_classify(&slow, false, now - 10 * S, now, after, &stale), STATUS_SLOW);
    assert_int_equal(status_classify(&up, false, now - 10 * S, now, after, &stale), STATUS_UP);
    assert_int_equal(status_classify(&unknown, false, now - 10 * S, now, after, &stale), STATUS_UNKNOWN);
    assert_false(stale);
    assert_int_equal(status_classify(NULL, true, now - 10 * S, now, after, &stale), STATUS_UP); /* in "up" */
    assert_int_equal(status_classify(NULL, false, 0, now, after, &stale), STATUS_UNKNOWN);      /* not in the file */
    /* up, but not checked for longer than the bound: a stopped worker must not read as up */
    assert_int_equal(status_classify(NULL, true, now - after - 1, now, after, &stale), STATUS_UNKNOWN);
    assert_true(stale);
    assert_int_equal(status_classify(&slow, false, now - after - 1, now, after, &stale), STATUS_UNKNOWN);
    assert_true(stale);
    assert_int_equal(status_classify(&up, false, 0, now, after, &stale), STATUS_UP); /* last check not known */
    assert_false(stale);
    assert_int_equal(status_stale_after_us(30, 10), (3 * 30 + 10 + 60) * S);
}

static void summary_and_exit_code(void **state)
{
    (void)state;
    char b[160];
    struct status_counts c = { 0 };
    assert_string_equal(status_summary(&c, b, sizeof b), "no endpoints configured");
    assert_int_equal(status_exit_code(&c, false), 0);
    for (int i = 0; i < 12; i++) status_count(&c, STATUS_UP);
    assert_string_equal(status_summary(&c, b, sizeof b), "all 12 endpoints up");
    assert_int_equal(status_exit_code(&c, false), STATUS_EXIT_ALL_UP);
    assert_int_equal(status_exit_code(&c, true), STATUS_EXIT_CANNOT_TELL);

    memset(&c, 0, sizeof c);
    for (int i = 0; i < 10; i++) status_count(&c, STATUS_UP);
    status_count(&c, STATUS_DOWN);
    status_count(&c, STATUS_SLOW);
    assert_string_equal(status_summary(&c, b, sizeof b), "12 endpoints: 10 up, 1 down, 1 slow");
    assert_int_equal(status_exit_code(&c, false), STATUS_EXIT_NOT_ALL_UP);

    memset(&c, 0, sizeof c);
    status_count(&c, STATUS_UNKNOWN);
    assert_string_equal(status_summary(&c, b, sizeof b), "1 endpoint: 0 up, 1 unknown");
    assert_int_equal(status_exit_code(&c, false), STATUS_EXIT_NOT_ALL_UP); /* never checked is not "up" */
    memset(&c, 0, sizeof c);
    status_count(&c, STATUS_UP);
    assert_string_equal(status_summary(&c, b, sizeof b), "all 1 endpoint up");
}

static void credentials_never_shown(void **state)
{
    (void)state;
    char b[128];
    const char *url = "https://ops:hunter22@example.com:8443/x?y=1";
    status_scrub("refused by https://ops:hunter22@example.com:8443/x", url, b, sizeof b);
    assert_string_equal(b, "refused by https://***@example.com:8443/x");
    status_scrub("bad password hunter22 for ops", url, b, sizeof b); /* the password alone */
    assert_string_equal(b, "bad password *** for ops");
    status_scrub("line one\nline\ttwo\r", url, b, sizeof b);
    assert_string_equal(b, "line one line two ");
    /* a short password is not hunted alone (it would mask ordinary words), the whole userinfo still is */
    status_scrub("a b:c user", "http://b:c@h/", b, sizeof b);
    assert_string_equal(b, "a *** user");
    status_scrub("unexpected status 500", "http://h/", b, sizeof b);
    assert_string_equal(b, "unexpected status 500");
    status_scrub("0123456789", NULL, b, 5); /* cut to fit */
    assert_string_equal(b, "0123");
    status_scrub("x ops:hunter22", url, b, 5); /* "***" never cut into pieces */
    assert_string_equal(b, "x ");
}

static void lock_holder_from_proc_locks(void **state)
{
    (void)state;
    const char *locks = "1: POSIX  ADVISORY  READ 13978 fe:00:10971618 128 128\n"
                        "2: FLOCK  ADVISORY  WRITE 14473 fe:00:10970964 0 EOF\n"
                        "2: -> FLOCK  ADVISORY  WRITE 15000 fe:00:555 0 EOF\n"
                        "3: FLOCK  ADVISORY  WRITE -1 08:01:777 0 EOF\n"
                        "4: POSIX  ADVISORY  WRITE 99 08:01:888 0 EOF";
    assert_int_equal(status_lock_holder(locks, 0xfe, 0, 10970964), 14473);
    assert_int_equal(status_lock_holder(locks, 0xfe, 0, 10971618), 0); /* a POSIX lock is not the supervisor's */
    assert_int_equal(status_lock_holder(locks, 0xfe, 0, 555), 0);      /* a waiter holds nothing */
    assert_int_equal(status_lock_holder(locks, 8, 1, 777), -1);        /* held, pid not shown */
    assert_int_equal(status_lock_holder(locks, 8, 1, 888), 0);
    assert_int_equal(status_lock_holder(locks, 0xfe, 1, 10970964), 0); /* another device */
    assert_int_equal(status_lock_holder("", 0xfe, 0, 1), 0);
}

/* saved_at stays fresh: with nothing changed, a save is noted once SAVE_HEARTBEAT_US passed since the last. */
static void heartbeat_keeps_the_file_fresh(void **state)
{
    (void)state;
    struct savepolicy sp = { 0 };
    savepolicy_heartbeat(&sp, 500 * S); /* the start (monotonic time: since boot): the first pass saves */
    assert_true(savepolicy_due(&sp, 500 * S, false));
    savepolicy_saved(&sp, 100 * S);
    savepolicy_heartbeat(&sp, 100 * S + SAVE_HEARTBEAT_US - 1);
    assert_int_equal(sp.need, SAVE_NONE);
    savepolicy_heartbeat(&sp, 100 * S + SAVE_HEARTBEAT_US);
    assert_int_equal(sp.need, SAVE_LIGHT);
    assert_true(savepolicy_due(&sp, 100 * S + SAVE_HEARTBEAT_US, false));
    savepolicy_note(&sp, SAVE_NOW); /* a heartbeat never lowers what was noted */
    savepolicy_heartbeat(&sp, 200 * S);
    assert_int_equal(sp.need, SAVE_NOW);
}

/* Writes text as a state file and loads it: the loader's return, with d filled. */
static int load_text(const char *text, struct statefile_data *d, char *err, size_t errlen)
{
    char path[] = "/tmp/cw-status-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    int rc = statefile_load(path, d, err, errlen);
    unlink(path);
    return rc;
}

/* "plain" and "saved_at" are read defensively: missing is fine (older files), malformed refuses the file. */
static void plain_read_defensively(void **state)
{
    (void)state;
    struct statefile_data d;
    char err[512];
    const char *head = "{\"version\":1,\"saved_at\":\"2026-12-05T01:53:09.688Z\",\"endpoints\":[],\"alerts\":[],"
                       "\"jobs\":[]";
    char text[512];
    snprintf(text, sizeof text, "%s}", head);
    assert_int_equal(load_text(text, &d, err, sizeof err), 1);
    assert_false(d.plain.present);
    assert_int_equal(d.saved_at_us, 1796435589688000LL);
    statefile_data_free(&d);

    snprintf(text, sizeof text,
             "%s,\"plain\":{\"fingerprint\":\"00000000000000ff\",\"n\":5,\"up\":\"d1\","
             "\"workers\":[7,0]}}",
             head);
    assert_int_equal(load_text(text, &d, err, sizeof err), 1);
    assert_true(d.plain.present);
    assert_int_equal(d.plain.fingerprint, 0xff);
    const uint8_t want[5] = { 1, 0, 1, 1, 1 }; /* 0xd: bits 0, 2, 3; 0x1: bit 0 */
    assert_memory_equal(d.plain.up, want, 5);
    assert_int_equal(d.plain.n_workers, 2);
    assert_int_equal(d.plain.worker_last_us[0], 7);
    statefile_data_free(&d);

    const char *bad[] = { "\"plain\":[]",
                          "\"plain\":{\"fingerprint\":\"ff\",\"n\":5,\"up\":\"d\",\"workers\":[]}",
                          "\"plain\":{\"fingerprint\":\"ff\",\"n\":4,\"up\":\"g\",\"workers\":[]}",
                          "\"plain\":{\"fingerprint\":\"ff\",\"n\":-1,\"up\":\"\",\"workers\":[]}",
                          "\"plain\":{\"fingerprint\":\"ff\",\"n\":0,\"up\":\"\",\"workers\":[\"x\"]}",
                          "\"plain\":{\"fingerprint\":\"zz\",\"n\":0,\"up\":\"\",\"workers\":[]}" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(text, sizeof text, "%s,%s}", head, bad[i]);
        assert_int_equal(load_text(text, &d, err, sizeof err), -1);
        assert_non_null(strstr(err, "malformed state file"));
    }

    snprintf(text, sizeof text,
             "{\"version\":1,\"saved_at\":\"yesterday\",\"endpoints\":[],\"alerts\":[],"
             "\"jobs\":[]}");
    assert_int_equal(load_text(text, &d, err, sizeof err), 1);
    assert_int_equal(d.saved_at_us, 0); /* status then says it cannot tell when it was saved */
    statefile_data_free(&d);
}

/* A state file that is not JSON: one line that says what is wrong, no raw json-c text over several lines. */
static void malformed_file_is_one_clear_line(void **state)
{
    (void)state;
    struct statefile_data d;
    char err[1024];
    const char *texts[] = { "{\"version\":1,\"saved_at\":", "{\"version\":1,]", "" };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        assert_int_equal(load_text(texts[i], &d, err, sizeof err), -1);
        assert_null(strchr(err, '\n'));
        assert_null(strstr(err, "json_tokener"));
        assert_non_null(strstr(err, "not readable JSON"));
    }
    assert_int_equal(load_text("{\"version\":1,\"saved_at\":", &d, err, sizeof err), -1);
    assert_non_null(strstr(err, "truncated"));
}

/* When the file was saved: current, too old, or from the future (a wrong clock or a wrong file). */
static void saved_at_judged(void **state)
{
    (void)state;
    int64_t now = 1796435589 * S;
    assert_int_equal(status_saved_at_check(0, now), STATUS_SAVED_UNKNOWN);
    assert_int_equal(status_saved_at_check(now - 5 * S, now), STATUS_SAVED_CURRENT);
    assert_int_equal(status_saved_at_check(now - STATUS_STALE_US - 1, now), STATUS_SAVED_STALE);
    assert_int_equal(status_saved_at_check(now + STATUS_FUTURE_TOLERANCE_US, now), STATUS_SAVED_CURRENT);
    assert_int_equal(status_saved_at_check(now + STATUS_FUTURE_TOLERANCE_US + 1, now), STATUS_SAVED_FUTURE);
    assert_int_equal(status_saved_at_check(now + 300 * S, now), STATUS_SAVED_FUTURE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(durations_in_words),
        cmocka_unit_test(states_from_the_file),
        cmocka_unit_test(summary_and_exit_code),
        cmocka_unit_test(credentials_never_shown),
        cmocka_unit_test(lock_holder_from_proc_locks),
        cmocka_unit_test(heartbeat_keeps_the_file_fresh),
        cmocka_unit_test(plain_read_defensively),
        cmocka_unit_test(malformed_file_is_one_clear_line),
        cmocka_unit_test(saved_at_judged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
