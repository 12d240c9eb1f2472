/* tests/unit/test_supervisor.c — the supervisor's building blocks (the .c files of supervisor/): the
 * restart backoff policy, the pid-file lock, snapshot comparison, what a reload changes (endpoint counts,
 * which shards), and the child table end to end with real fork+exec of small scripts (environment, exit
 * codes, backoff, fatal exit 2, retire), and reloads that come while processes still stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/base/clock.h"
#include "common/config/config.h"
#include "common/base/log.h"
#include "common/base/util.h"
#include "supervisor/children.h"
#include "supervisor/pidfile.h"
#include "supervisor/reload.h"
#include "supervisor/snapshot.h"

#define S (1000000000LL)

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup_dir(void **state)
{
    char *dir = strdup("/tmp/cw-test-supervisor-XXXXXX");
    if (!dir || !mkdtemp(dir)) return -1;
    *state = dir;
    return 0;
}

static int teardown_dir(void **state)
{
    char *dir = *state;
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
    return 0;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_backoff_sequence(void **state)
{
    (void)state;
    int64_t b = CHILD_BACKOFF_MIN_NS;
    const int64_t want[] = { 1, 2, 4, 8, 16, 30, 30, 30 };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) assert_int_equal(children_backoff(&b, 0), want[i] * S);
    /* A run of a minute resets it; a run just short of it does not. */
    assert_int_equal(children_backoff(&b, 59 * S), 30 * S);
    assert_int_equal(children_backoff(&b, 60 * S), 1 * S);
    assert_int_equal(children_backoff(&b, 5 * S), 2 * S);
    /* A zeroed state behaves as a new slot. */
    b = 0;
    assert_int_equal(children_backoff(&b, 0), 1 * S);
}

static void test_pidfile_lock(void **state)
{
    const char *dir = *state;
    char run[512], err[512];
    snprintf(run, sizeof run, "%s/a/run", dir);
    assert_int_equal(pidfile_make_dir(run, err, sizeof err), 0);
    struct stat st;
    assert_int_equal(stat(run, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);

    struct pidfile one, two;
    assert_int_equal(pidfile_acquire(&one, run, err, sizeof err), 0);
    /* flock belongs to the open file: a second acquisition, even by the same process, is refused. */
    assert_int_equal(pidfile_acquire(&two, run, err, sizeof err), -1);
    char want[64];
    snprintf(want, sizeof want, "(pid %d)", (int)getpid());
    assert_non_null(strstr(err, want));
    assert_non_null(strstr(err, "another supervisor"));
    pidfile_release(&one);
    assert_int_equal(access(one.path, F_OK), -1);
    assert_int_equal(pidfile_acquire(&two, run, err, sizeof err), 0);
    pidfile_release(&two);
    pidfile_release(&two); /* idempotent */

    /* run_dir deleted under the holder: the lock is no longer intact and keeps nobody out; the file a
     * second holder then creates is not removed by the first one's release. */
    assert_int_equal(pidfile_acquire(&one, run, err, sizeof err), 0);
    assert_true(pidfile_intact(&one));
    assert_int_equal(unlink(one.path), 0);
    assert_int_equal(rmdir(run), 0);
    assert_false(pidfile_intact(&one));
    assert_int_equal(pidfile_make_dir(run, err, sizeof err), 0);
    assert_int_equal(pidfile_acquire(&two, run, err, sizeof err), 0);
    assert_false(pidfile_intact(&one));
    pidfile_release(&one);
    assert_int_equal(access(two.path, F_OK), 0);
    assert_true(pidfile_intact(&two));
    pidfile_release(&two);
    assert_int_equal(access(two.path, F_OK), -1);

    /* A file where run_dir should be is a clear error. */
    char file[512];
    snprintf(file, sizeof file, "%s/plain", dir);
    write_file(file, "x", 0600);
    assert_int_equal(pidfile_make_dir(file, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a directory"));
}

static void test_snapshot_same(void **state)
{
    const char *dir = *state;
    char a[512], b[512], c[512];
    assert_int_equal(snapshot_path(dir, 7, a, sizeof a), 0);
    assert_non_null(strstr(a, "/config.7.snap"));
    snprintf(b, sizeof b, "%s/config.8.snap", dir);
    snprintf(c, sizeof c, "%s/config.9.snap", dir);
    write_file(a, "same bytes", 0600);
    write_file(b, "same bytes", 0600);
    write_file(c, "same byte", 0600);
    assert_true(snapshot_same(a, b));
    assert_false(snapshot_same(a, c));
    assert_false(snapshot_same(c, a));
    assert_false(snapshot_same(a, "/nonexistent/x"));
    assert_int_equal(snapshot_remove_all(dir), 3);
    assert_int_equal(access(a, F_OK), -1);
    char small[8];
    assert_int_equal(snapshot_path("/a/long/run/dir", 1, small, sizeof small), -1);
}

static void report_ignore(void *ctx, const char *message)
{
    (void)ctx;
    fprintf(stderr, "config: %s\n", message);
}

static struct cw_config *load_text(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    write_file(path, text, 0600);
    struct cw_config *cfg = config_load(path, report_ignore, NULL);
    assert_non_null(cfg);
    return cfg;
}

static void test_reload_diff(void **state)
{
    const char *dir = *state;
    struct cw_config *a = load_text(
        dir, "a.conf",
        "supervisor = { workers = 4; };\n"
        "monitor = { endpoints = ( { url = \"http://127.0.0.1:1/a\"; }, { url = \"http://127.0.0.1:1/b\"; },\n"
        "  { url = \"http://127.0.0.1:1/c\"; } ); };\n");
    /* +d, -c, b changed (timeout): only the shards of b, c and d change. */
    struct cw_config *b = load_text(
        dir, "b.conf",
        "supervisor = { workers = 4; };\n"
        "monitor = { endpoints = ( { url = \"http://127.0.0.1:1/a\"; }, { url = \"http://127.0.0.1:1/b\"; timeout = 3; },\n"
        "  { url = \"http://127.0.0.1:1/d\"; } ); };\n");
    size_t added, removed;
    reload_count_endpoints(a, b, &added, &removed);
    assert_int_equal(added, 1);
    assert_int_equal(removed, 1);
    reload_count_endpoints(a, a, &added, &removed);
    assert_int_equal(added + removed, 0);

    assert_false(reload_worker_globals_changed(a, b));
    assert_false(reload_relay_changed(a, b));
    bool changed[4];
    reload_changed_shards(a, b, 4, changed);
    bool want[4] = { false, false, false, false };
    want[cw_shard_of("http://127.0.0.1:1/b", 4)] = true;
    want[cw_shard_of("http://127.0.0.1:1/c", 4)] = true;
    want[cw_shard_of("http://127.0.0.1:1/d", 4)] = true;
    for (int i = 0; i < 4; i++) assert_int_equal(changed[i], want[i]);
    reload_changed_shards(a, a, 4, changed);
    for (int i = 0; i < 4; i++) assert_false(changed[i]);

    assert_true(reload_endpoint_equal(&a->endpoints[0], &b->endpoints[0]));
    assert_false(reload_endpoint_equal(&a->endpoints[1], &b->endpoints[1]));

    /* The worker count, or turning the database on, concerns every worker. */
    struct cw_config *c = load_text(dir, "c.conf",
                                    "supervisor = { workers = 2; };\n"
                                    "monitor = { endpoints = ( { url = \"http://127.0.0.1:1/a\"; } ); };\n");
    struct cw_config *d =
        load_text(dir, "d.conf",
                  "supervisor = { workers = 2; };\n"
                  "monitor = { endpoints = ( { url = \"http://127.0.0.1:1/a\"; } ); };\n"
                  "database = { db_activation = true; db_driver = \"sqlite\"; db_name = \"x.db\"; };\n");
    assert_true(reload_worker_globals_changed(a, c));
    assert_true(reload_worker_globals_changed(c, d));
    assert_true(reload_pipeline_changed(c, d));
    assert_true(reload_web_changed(c, d)); /* the history reads the database */
    config_free(a);
    config_free(b);
    config_free(c);
    config_free(d);
}

/* Which singletons a reload restarts: a setting only the workers use restarts neither the storer, the alerter nor
 * the web; a threshold restarts the alerter's pair, not the web; a group the web and the alerter; a push token only the
 * web. */
static void test_reload_readers(void **state)
{
    const char *dir = *state;
    const char *fmt = "supervisor = { workers = 2; };\n"
                      "monitor = { endpoints = ( { type = \"tcp\"; name = \"t\"; host = \"127.0.0.1\"; port = 25; "
                      "expect = \"%s\"; alert_threshold = %d; group = \"%s\"; },\n"
                      "  { type = \"push\"; name = \"p\"; token = \"%s\"; } ); };\n"
                      "web = { listen = \"127.0.0.1:1\"; };\n";
    char text[1024];
    struct cw_config *v[5];
    const char *expects[] = { "ready", "other", "ready", "ready", "ready" };
    const int thresholds[] = { 3, 3, 5, 3, 3 };
    const char *groups[] = { "G", "G", "G", "H", "G" };
    const char *tokens[] = { "Token-aaaaaaaaaaaaaaaa", "Token-aaaaaaaaaaaaaaaa", "Token-aaaaaaaaaaaaaaaa",
                             "Token-aaaaaaaaaaaaaaaa", "Token-bbbbbbbbbbbbbbbb" };
    for (int i = 0; i < 5; i++) {
        snprintf(text, sizeof text, fmt, expects[i], thresholds[i], groups[i], tokens[i]);
        v[i] = load_text(dir, "r.conf", text); /* one path, as a reload reads */
    }
    assert_false(reload_pipeline_changed(v[0], v[0]));
    assert_false(reload_web_changed(v[0], v[0]));
    assert_false(reload_pipeline_changed(v[0], v[1])); /* expect: the worker's only */
    assert_false(reload_web_changed(v[0], v[1]));
    assert_true(reload_pipeline_changed(v[0], v[2])); /* alert_threshold: the alerter's */
    assert_false(reload_web_changed(v[0], v[2]));
    assert_false(reload_storer_changed(v[0], v[3])); /* group: the web's, and the alerter's (silences, windows) */
    assert_true(reload_alerter_changed(v[0], v[3]));
    assert_true(reload_web_changed(v[0], v[3]));
    assert_false(reload_pipeline_changed(v[0], v[4])); /* push token: the web's */
    assert_true(reload_web_changed(v[0], v[4]));
    /* reload_readers_diff agrees with the three above, and every one of these is a change of endpoints only: the
     * readers reload in place */
    for (int i = 0; i < 5; i++) {
        struct reload_readers d;
        reload_readers_diff(v[0], v[i], &d);
        assert_false(d.storer.globals || d.alerter.globals || d.web.globals);
        assert_int_equal(d.storer.endpoints, reload_storer_changed(v[0], v[i]));
        assert_int_equal(d.alerter.endpoints, reload_alerter_changed(v[0], v[i]));
        assert_int_equal(d.web.endpoints, reload_web_changed(v[0], v[i]));
    }
    for (int i = 0; i < 5; i++) config_free(v[i]);
}

/* reload_readers_diff: a global setting is `globals` (a restart), an endpoint added or the order changed is
 * `endpoints` for all three (a reload in place); reload_count_endpoints counts a reorder as no change. */
static void test_reload_readers_globals_apart(void **state)
{
    const char *dir = *state;
    const char *fmt = "supervisor = { workers = 2; };\n"
                      "monitor = { check_interval = %d; endpoints = ( %s ); };\n"
                      "web = { listen = \"127.0.0.1:1\"; };\n";
    const char *ab = "{ url = \"http://127.0.0.1:1/a\"; }, { url = \"http://127.0.0.1:1/b\"; }";
    const char *ba = "{ url = \"http://127.0.0.1:1/b\"; }, { url = \"http://127.0.0.1:1/a\"; }";
    const char *abc = "{ url = \"http://127.0.0.1:1/a\"; }, { url = \"http://127.0.0.1:1/b\"; }, "
                      "{ url = \"http://127.0.0.1:1/c\"; }";
    char text[1024];
    struct cw_config *v[4];
    const char *lists[] = { ab, ab, ba, abc };
    const int intervals[] = { 60, 30, 60, 60 };
    for (int i = 0; i < 4; i++) {
        snprintf(text, sizeof text, fmt, intervals[i], lists[i]);
        v[i] = load_text(dir, "g.conf", text);
    }
    struct reload_readers d;
    reload_readers_diff(v[0], v[1], &d); /* check_interval: the storer's and the alerter's, not the web's */
    assert_true(d.storer.globals && d.alerter.globals);
    assert_false(d.web.globals);
    for (int i = 2; i < 4; i++) { /* reordered; one added */
        reload_readers_diff(v[0], v[i], &d);
        assert_false(d.storer.globals || d.alerter.globals || d.web.globals);
        assert_true(d.storer.endpoints && d.alerter.endpoints && d.web.endpoints);
    }
    size_t added, removed;
    reload_count_endpoints(v[0], v[2], &added, &removed);
    assert_int_equal(added + removed, 0);
    reload_count_endpoints(v[2], v[3], &added, &removed);
    assert_int_equal(added, 1);
    assert_int_equal(removed, 0);
    for (int i = 0; i < 4; i++) config_free(v[i]);
}

/* Reaps until `want` slots of the table have no process, or 10 s pass. */
static void reap_until_stopped(struct children *ch, size_t want_running)
{
    int64_t deadline = cw_mono_ns() + 10 * S;
    while (children_running(ch, CHILD_KINDS) > want_running && cw_mono_ns() < deadline) {
        children_reap(ch, cw_mono_ns());
        struct timespec ts = { 0, 10000000 };
        nanosleep(&ts, NULL);
    }
    assert_int_equal(children_running(ch, CHILD_KINDS), want_running);
}

static void test_children_spawn(void **state)
{
    const char *dir = *state;
    char path[512], out[512], err[256];
    /* The "worker" records its environment and exits with the code in its slot's file; the "storer"
     * exits 2 (fatal configuration); the "relay" waits for SIGTERM. */
    snprintf(path, sizeof path, "%s/clockwerk-worker", dir);
    write_file(
        path,
        "#!/bin/sh\necho \"$CLOCKWERK_SLOT $CLOCKWERK_SLOTS $CLOCKWERK_SNAPSHOT${CLOCKWERK_DB_PASSWORD}\" >> \"${0%/*}/env.$CLOCKWERK_SLOT\"\nexit 3\n",
        0755);
    snprintf(path, sizeof path, "%s/clockwerk-storer", dir);
    write_file(path, "#!/bin/sh\nexit 2\n", 0755);
    snprintf(path, sizeof path, "%s/clockwerk-relay", dir);
    write_file(path, "#!/bin/sh\ntrap 'exit 0' TERM\nwhile :; do sleep 0.05; done\n", 0755);

    /* SIGCHLD is left at its default: the test reaps by polling. The password must not reach children. */
    assert_int_equal(setenv("CLOCKWERK_DB_PASSWORD", "-secret", 1), 0);
    struct children ch;
    assert_int_equal(children_init(&ch, dir, err, sizeof err), 0);
    assert_int_equal(unsetenv("CLOCKWERK_DB_PASSWORD"), 0);
    int64_t now = cw_mono_ns();
    children_add(&ch, CHILD_RELAY, 0, 0, now);
    children_add(&ch, CHILD_STORER, 0, 0, now);
    children_add(&ch, CHILD_WORKER, 0, 2, now);
    children_add(&ch, CHILD_WORKER, 1, 2, now);
    int64_t next = children_start_due(&ch, "/snap/config.1.snap", 1, now);
    assert_int_equal(next, INT64_MAX);
    assert_int_equal(children_running(&ch, CHILD_KINDS), 4);
    assert_true(children_uses_gen(&ch, 1));
    assert_false(children_uses_gen(&ch, 2));

    /* Everything but the relay exits; workers come back after 1 s, the storer (exit 2) never. */
    reap_until_stopped(&ch, 1);
    int64_t after = cw_mono_ns();
    struct child *w0 = children_find(&ch, CHILD_WORKER, 0);
    struct child *st = children_find(&ch, CHILD_STORER, 0);
    assert_non_null(w0);
    assert_non_null(st);
    assert_true(st->fatal);
    assert_int_equal(ch.fatal_exits, 1);
    assert_true(w0->next_start_ns > now && w0->next_start_ns <= after + CHILD_BACKOFF_MIN_NS);
    next = children_start_due(&ch, "/snap/config.1.snap", 1, after);
    assert_true(next != INT64_MAX && next >= after);
    assert_int_equal(children_running(&ch, CHILD_KINDS), 1); /* nothing restarted before the backoff */

    /* Past the backoff the workers start again (not the fatal storer); the next delay is 2 s. */
    children_start_due(&ch, "/snap/config.2.snap", 2, after + 2 * S);
    assert_int_equal(children_running(&ch, CHILD_WORKER), 2);
    assert_int_equal(children_running(&ch, CHILD_STORER), 0);
    assert_int_equal(ch.restarts[CHILD_WORKER], 2);
    reap_until_stopped(&ch, 1);
    w0 = children_find(&ch, CHILD_WORKER, 0);
    assert_int_equal(w0->backoff_ns, 4 * S);

    /* The environment: slot, slot count, snapshot of the generation started with. */
    snprintf(out, sizeof out, "%s/env.1", dir);
    FILE *f = fopen(out, "r");
    assert_non_null(f);
    char line1[256], line2[256];
    assert_non_null(fgets(line1, sizeof line1, f));
    assert_non_null(fgets(line2, sizeof line2, f));
    fclose(f);
    assert_string_equal(line1, "1 2 /snap/config.1.snap\n");
    assert_string_equal(line2, "1 2 /snap/config.2.snap\n");

    /* A restart asked by a reload: SIGTERM, then a start at once — but not within 1 s of the last one —
     * that does not count as a restart. */
    struct child *relay = children_find(&ch, CHILD_RELAY, 0);
    assert_non_null(relay);
    int64_t relay_started = relay->started_ns;
    children_restart(&ch, relay, cw_mono_ns());
    reap_until_stopped(&ch, 0);
    relay = children_find(&ch, CHILD_RELAY, 0);
    assert_non_null(relay);
    assert_true(relay->next_start_ns >= relay_started + CHILD_BACKOFF_MIN_NS);
    assert_true(relay->next_start_ns <= cw_mono_ns() + CHILD_BACKOFF_MIN_NS);
    children_start_due(&ch, "/snap/config.2.snap", 2, relay->next_start_ns);
    assert_int_equal(children_running(&ch, CHILD_RELAY), 1);
    assert_int_equal(ch.restarts[CHILD_RELAY], 0);
    assert_int_equal(ch.crashes, 5); /* the storer's exit 2, and two exits of each worker */

    /* A reload clears the fatal mark. Retiring removes the slot once its process is gone. */
    children_clear_fatal(&ch, cw_mono_ns());
    assert_false(children_find(&ch, CHILD_STORER, 0)->fatal);
    children_stop_kind(&ch, CHILD_KINDS, cw_mono_ns());
    reap_until_stopped(&ch, 0);
    children_reap(&ch, cw_mono_ns());
    assert_int_equal(ch.n, 0);
    children_free(&ch);
}

/* Whether the slot of kind and index has a process. */
static bool slot_running(struct children *ch, enum child_kind kind, unsigned index)
{
    struct child *c = children_find(ch, kind, index);
    return c && c->pid > 0;
}

/* Polls until the slot's process is gone (reaping; a retired slot then leaves the table), or 10 s pass. */
static void reap_slot(struct children *ch, enum child_kind kind, unsigned index)
{
    int64_t deadline = cw_mono_ns() + 10 * S;
    while (slot_running(ch, kind, index) && cw_mono_ns() < deadline) {
        children_reap(ch, cw_mono_ns());
        struct timespec ts = { 0, 10000000 };
        nanosleep(&ts, NULL);
    }
    assert_false(slot_running(ch, kind, index));
}

/* Waits until every running process of the table has written its pid to DIR/ready, or 10 s pass. */
static void wait_ready_file(const char *dir, struct children *ch)
{
    char path[512];
    snprintf(path, sizeof path, "%s/ready", dir);
    int64_t deadline = cw_mono_ns() + 10 * S;
    for (;;) {
        size_t missing = 0;
        for (size_t i = 0; i < ch->n; i++) {
            if (ch->v[i].pid <= 0) continue;
            char want[32], line[32];
            snprintf(want, sizeof want, "%d\n", (int)ch->v[i].pid);
            bool found = false;
            FILE *f = fopen(path, "r");
            while (f && !found && fgets(line, sizeof line, f)) found = strcmp(line, want) == 0;
            if (f) fclose(f);
            if (!found) missing++;
        }
        if (missing == 0) return;
        assert_true(cw_mono_ns() < deadline);
        struct timespec ts = { 0, 10000000 };
        nanosleep(&ts, NULL);
    }
}

/* Reloads that come while a process is still stopping: one slot per kind and index, a replacement only
 * after the old process has exited, one replacement for any number of reloads, and workers of a new count
 * only once every worker of the old count is gone. */
static void test_children_reload_while_stopping(void **state)
{
    const char *dir = *state;
    char path[512], err[256];
    /* Both take their time to stop (worker 0 0.1 s, worker 1 and the storer 0.6 s) and say when their trap
     * is set (a SIGTERM before it would end them at once). */
    snprintf(path, sizeof path, "%s/clockwerk-storer", dir);
    write_file(path,
               "#!/bin/sh\ntrap 'sleep 0.6; exit 0' TERM\necho $$ >> \"${0%/*}/ready\"\n"
               "while :; do sleep 0.05; done\n",
               0755);
    snprintf(path, sizeof path, "%s/clockwerk-worker", dir);
    write_file(path,
               "#!/bin/sh\ntrap 'sleep 0.$((CLOCKWERK_SLOT * 5 + 1)); exit 0' TERM\necho $$ >> \"${0%/*}/ready\"\n"
               "while :; do sleep 0.05; done\n",
               0755);
    struct children ch;
    assert_int_equal(children_init(&ch, dir, err, sizeof err), 0);
    int64_t now = cw_mono_ns();
    children_add(&ch, CHILD_STORER, 0, 0, now);
    children_start_due(&ch, "/snap/config.1.snap", 1, now);
    pid_t first = children_find(&ch, CHILD_STORER, 0)->pid;
    assert_true(first > 0);
    wait_ready_file(dir, &ch);

    /* Reload 1 restarts the storer; reload 2 comes while it stops: the same slot, nothing new starts. */
    struct child *st = children_want(&ch, CHILD_STORER, 0, 0, cw_mono_ns());
    assert_true(st->stopping && st->restart_now);
    assert_ptr_equal(children_find(&ch, CHILD_STORER, 0), st);
    assert_ptr_equal(children_want(&ch, CHILD_STORER, 0, 0, cw_mono_ns()), st);
    assert_int_equal(ch.n, 1);
    assert_int_equal(children_start_due(&ch, "/snap/config.3.snap", 3, cw_mono_ns() + 2 * S), INT64_MAX);
    assert_int_equal(children_running(&ch, CHILD_STORER), 1);
    assert_int_equal(children_find(&ch, CHILD_STORER, 0)->pid, first);
    /* Once it has exited, one replacement with the last snapshot, not counted as a restart. */
    reap_slot(&ch, CHILD_STORER, 0);
    children_start_due(&ch, "/snap/config.3.snap", 3, cw_mono_ns() + 2 * S);
    st = children_find(&ch, CHILD_STORER, 0);
    assert_true(st->pid > 0 && st->pid != first);
    wait_ready_file(dir, &ch);
    assert_int_equal(st->gen, 3);
    assert_int_equal(ch.restarts[CHILD_STORER], 0);
    assert_int_equal(ch.crashes, 0);

    /* A reload stops it for good, the next wants it again while it stops: it restarts, in the same slot. */
    pid_t second = st->pid;
    children_retire(&ch, st, cw_mono_ns());
    assert_ptr_equal(children_want(&ch, CHILD_STORER, 0, 0, cw_mono_ns()), st);
    assert_true(st->respawn);
    children_reap(&ch, cw_mono_ns());
    assert_int_equal(ch.n, 1);
    reap_slot(&ch, CHILD_STORER, 0);
    children_start_due(&ch, "/snap/config.4.snap", 4, st->next_start_ns);
    st = children_find(&ch, CHILD_STORER, 0);
    assert_true(st->pid > 0 && st->pid != second);

    /* Workers 2 -> 1: worker 1 goes, worker 0 restarts as 0/1 only once worker 1/2 is gone too. */
    now = cw_mono_ns();
    children_add(&ch, CHILD_WORKER, 0, 2, now);
    children_add(&ch, CHILD_WORKER, 1, 2, now);
    children_start_due(&ch, "/snap/config.4.snap", 4, now);
    assert_int_equal(children_running(&ch, CHILD_WORKER), 2);
    wait_ready_file(dir, &ch);
    children_retire(&ch, children_find(&ch, CHILD_WORKER, 1), cw_mono_ns());
    children_want(&ch, CHILD_WORKER, 0, 1, cw_mono_ns());
    reap_slot(&ch, CHILD_WORKER, 0); /* 0.1 s: worker 1/2 still stops for 0.5 s */
    assert_true(slot_running(&ch, CHILD_WORKER, 1));
    children_start_due(&ch, "/snap/config.5.snap", 5, cw_mono_ns() + 2 * S);
    assert_int_equal(children_find(&ch, CHILD_WORKER, 0)->pid, 0);
    reap_slot(&ch, CHILD_WORKER, 1);
    children_reap(&ch, cw_mono_ns());
    assert_null(children_find(&ch, CHILD_WORKER, 1));
    children_start_due(&ch, "/snap/config.5.snap", 5, cw_mono_ns() + 2 * S);
    struct child *w0 = children_find(&ch, CHILD_WORKER, 0);
    assert_true(w0->pid > 0);
    assert_string_equal(w0->name, "worker 0/1");
    assert_int_equal(w0->run_count, 1);
    assert_int_equal(ch.crashes, 0);

    children_stop_kind(&ch, CHILD_KINDS, cw_mono_ns());
    reap_until_stopped(&ch, 0);
    children_free(&ch);
}

int main(void)
{
    log_init("test", LOG_LVL_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_sequence),
        cmocka_unit_test_setup_teardown(test_pidfile_lock, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_snapshot_same, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_reload_readers, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_reload_readers_globals_apart, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_reload_diff, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_children_spawn, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_children_reload_while_stopping, setup_dir, teardown_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
