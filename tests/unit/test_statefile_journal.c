/* tests/unit/test_statefile_journal.c — statefile_load with a journal (issue 18; alerter/statefile_replay.c): a base
 * and its journal written by hand into a temporary directory, and what statefile_load gives back — the lines
 * applied in order, what "changed" drops, the whole sections, "workers", the lines before the base, a torn tail,
 * malformed lines, a journal that does not follow, old bases (no "journal_from"). */
#include <setjmp.h>
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

#include "alerter/alert.h"
#include "alerter/statefile.h"
#include "common/base/util.h"

struct files {
    char dir[64], base[128], journal[160];
    char err[512]; /* statefile_load's last reason */
};

/* The pieces of a base or a line are texts (each call: a new string, freed by teardown). */
static char *pool[256];
static size_t n_pool;

static const char *fmt(const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    char *s = NULL;
    assert_true(vasprintf(&s, format, ap) >= 0);
    va_end(ap);
    assert_true(n_pool < sizeof pool / sizeof *pool);
    return pool[n_pool++] = s;
}

static void pool_free(void)
{
    while (n_pool) free(pool[--n_pool]);
}

static int setup(void **state)
{
    struct files *f = calloc(1, sizeof *f);
    if (!f) return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/cw-journal-XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->base, sizeof f->base, "%s/%s", f->dir, STATEFILE_NAME);
    snprintf(f->journal, sizeof f->journal, "%s%s", f->base, STATEJOURNAL_SUFFIX);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct files *f = *state;
    unlink(f->base);
    unlink(f->journal);
    rmdir(f->dir);
    free(f);
    pool_free();
    return 0;
}

static int load(struct files *f, struct statefile_data *d)
{
    f->err[0] = '\0';
    return statefile_load(f->base, d, f->err, sizeof f->err);
}

/* ---- the pieces of a base or a line */

static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
}

/* An endpoint record of url whose fail_run is `mark` (what the tests look at), with an open incident that has a
 * child and an ack (allocations for the drop to free). */
static const char *ep(const char *url, int mark)
{
    return fmt("{\"url\":\"%s\",\"avail\":2,\"speed\":0,\"fail_run\":%d,\"ok_run\":0,\"slow_run\":0,\"fast_run\":0,"
               "\"failed_count\":1,\"reminders\":0,\"fail_since\":1,\"ok_since\":0,\"slow_since\":0,\"fast_since\":0,"
               "\"state_since\":1,\"speed_since\":0,\"last_notify\":0,\"last_status\":500,\"last_latency\":10,"
               "\"last_error\":\"boom %d\",\"last_checked\":5,\"incident\":{\"id\":\"00000000000000ab\",\"open\":true,"
               "\"since\":1,\"opened_at\":2,\"steps\":0,\"resends\":0,\"notified\":2,\"acked_by\":\"ann\","
               "\"acked_at\":3,\"children\":[\"http://child/%d\"],\"flap_history\":\"0\",\"flap_checks\":0,"
               "\"flapping\":false}}",
               url, mark, mark, mark);
}

static const char *voter(const char *url, const char *loc, int mark)
{
    return fmt("{\"url\":\"%s\",\"location\":\"%s\",\"vote\":\"down\",\"speed\":\"fast\",\"runs\":[%d,0,0,0],"
               "\"sinces\":[1,2,3,4,5,6,7],\"boot\":\"0000000000000001\",\"checked\":9}",
               url, loc, mark);
}

static const char *vote(const char *url, const char *summary)
{
    return fmt("{\"url\":\"%s\",\"verdict\":\"down\",\"summary\":\"%s\"}", url, summary);
}

static const char *alert(unsigned id)
{
    return fmt("{\"id\":\"%016x\",\"kind\":1,\"email_state\":1,\"webhook_state\":0,\"raised_at\":1,\"since\":1,"
               "\"at\":1,\"duration\":0,\"count\":1,\"seq\":0,\"last_status\":500,\"last_latency\":0,\"threshold\":0,"
               "\"url\":\"http://a/\",\"name\":\"a\",\"error\":\"boom\",\"held\":false}",
               id);
}

static const char *job(unsigned key)
{
    return fmt("{\"key\":\"%016x\",\"channel\":0,\"target\":null,\"ids\":[\"%016x\"],\"payload\":\"Subject: x\","
               "\"attempts\":%u}",
               key, key, key);
}

static const char *location(const char *name)
{
    return fmt("{\"name\":\"%s\",\"state\":\"live\",\"heard\":1,\"silent_since\":0,\"back_at\":0,\"offset\":null}",
               name);
}

static const char *plain(const char *up, const char *workers)
{
    return fmt("{\"fingerprint\":\"00000000000000ff\",\"n\":8,\"up\":\"%s\",\"workers\":[%s]}", up, workers);
}

/* A base of journal_from `from` (0: none): rest holds the sections after "jobs". */
static const char *base(long from, const char *eps, const char *alerts, const char *jobs, const char *rest)
{
    return fmt("{\"version\":1,\"saved_at\":\"2026-12-01T00:00:00.000Z\",%s\"endpoints\":[%s],\"alerts\":[%s],"
               "\"jobs\":[%s]%s}\n",
               from ? fmt("\"journal_from\":%ld,", from) : "", eps, alerts, jobs, rest);
}

/* A journal line (with its "\n") of seq, saved at second `sec` of the day, changing `changed` (a JSON list's
 * inside); rest: its other keys, each with a leading ",". */
static const char *line(long seq, int sec, const char *changed, const char *rest)
{
    return fmt("{\"journal\":1,\"seq\":%ld,\"saved_at\":\"2026-12-01T00:00:%02d.000Z\",\"changed\":[%s]%s}\n", seq, sec,
               changed, rest);
}

static const char *cat(const char *a, const char *b) { return fmt("%s%s", a, b); }

#define SAVED(sec) (1796083200000000LL + (sec)*1000000LL) /* 2026-12-01T00:00:<sec>Z */

static const struct statefile_endpoint *find_ep(const struct statefile_data *d, const char *url)
{
    const struct statefile_endpoint *found = NULL;
    for (size_t i = 0; i < d->n_eps; i++)
        if (!strcmp(d->eps[i].url, url)) {
            assert_null(found); /* one record a URL */
            found = &d->eps[i];
        }
    return found;
}

static size_t count_voters(const struct statefile_data *d, const char *url)
{
    size_t n = 0;
    for (size_t i = 0; i < d->n_voters; i++) n += !strcmp(d->voters[i].url, url);
    return n;
}

static const struct statefile_vote *find_vote(const struct statefile_data *d, const char *url)
{
    for (size_t i = 0; i < d->n_votes; i++)
        if (!strcmp(d->votes[i].url, url)) return &d->votes[i];
    return NULL;
}

static off_t size_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

/* ---- the tests */

static void lines_apply_in_order(void **state)
{
    struct files *f = *state;
    write_text(f->base, base(5, cat(ep("http://a/", 1), cat(",", ep("http://b/", 2))), "", "", ""));
    const char *l5 = line(5, 5, "\"http://a/\"", fmt(",\"endpoints\":[%s]", ep("http://a/", 10)));
    const char *l6 = line(6, 6, "\"http://a/\",\"http://c/\"",
                          fmt(",\"endpoints\":[%s,%s]", ep("http://c/", 30), ep("http://a/", 11)));
    write_text(f->journal, cat(l5, l6));
    struct statefile_data d;
    assert_int_equal(load(f, &d), 1);
    assert_int_equal(d.n_eps, 3);
    assert_int_equal(find_ep(&d, "http://a/")->st.fail_run, 11); /* the later line wins */
    assert_string_equal(find_ep(&d, "http://a/")->last_error, "boom 11");
    assert_string_equal(find_ep(&d, "http://a/")->inc.children[0], "http://child/11");
    assert_int_equal(find_ep(&d, "http://b/")->st.fail_run, 2);  /* untouched */
    assert_int_equal(find_ep(&d, "http://c/")->st.fail_run, 30); /* new */
    assert_int_equal(d.journal_from, 5);
    assert_int_equal(d.journal_lines, 2);
    assert_int_equal(d.next_seq, 7);
    assert_int_equal(d.journal_good, size_of(f->journal));
    assert_false(d.journal_torn);
    assert_true(d.saved_at_us == SAVED(6));
    statefile_data_free(&d);
}

/* "changed" drops a unit's endpoint record, vote and every voter (even two records of one URL in the base); the
 * line's entries are all that is left of it. */
static void changed_drops_records_voters_votes(void **state)
{
    struct files *f = *state;
    const char *eps = fmt("%s,%s,%s", ep("http://a/", 1), ep("http://b/", 2), ep("http://a/", 3));
    const char *rest =
        fmt(",\"voters\":[%s,%s,%s],\"votes\":[%s,%s]", voter("http://a/", "fra", 1), voter("http://a/", "nyc", 1),
            voter("http://b/", "fra", 2), vote("http://a/", "old a"), vote("http://b/", "old b"));
    write_text(f->base, base(1, eps, "", "", rest));
    write_text(f->journal, line(1, 1, "\"http://a/\"", fmt(",\"voters\":[%s]", voter("http://a/", "sfo", 7))));
    struct statefile_data d;
    assert_int_equal(load(f, &d), 1);
    assert_int_equal(d.n_eps, 1); /* both records of a gone, the line gives none */
    assert_null(find_ep(&d, "http://a/"));
    assert_int_equal(find_ep(&d, "http://b/")->st.fail_run, 2);
    assert_int_equal(count_voters(&d, "http://a/"), 1);
    assert_int_equal(count_voters(&d, "http://b/"), 1);
    for (size_t i = 0; i < d.n_voters; i++)
        if (!strcmp(d.voters[i].url, "http://a/")) {
            assert_string_equal(d.voters[i].location, "sfo");
            assert_int_equal(d.voters[i].v.fail_run, 7);
        }
    assert_null(find_vote(&d, "http://a/"));
    assert_string_equal(find_vote(&d, "http://b/")->summary, "old b");
    statefile_data_free(&d);

    /* a unit changed and given back in a later line; one changed to nothing and never given back */
    write_text(f->journal,
               cat(line(1, 1, "\"http://a/\",\"http://b/\"", ""),
                   line(2, 2, "\"http://a/\"",
                        fmt(",\"endpoints\":[%s],\"votes\":[%s]", ep("http://a/", 9), vote("http://a/", "new a")))));
    assert_int_equal(load(f, &d), 1);
    assert_int_equal(d.n_eps, 1);
    assert_int_equal(find_ep(&d, "http://a/")->st.fail_run, 9);
    assert_int_equal(d.n_voters, 0);
    assert_int_equal(d.n_votes, 1);
    assert_string_equal(find_vote(&d, "http://a/")->summary, "new a");
    assert_int_equal(d.next_seq, 3);
    statefile_data_free(&d);
}

/* "plain", "alerts", "jobs" and "locations" in a line replace the base's whole; a line without them leaves
 * them. */
static void whole_sections_replaced(void **state)
{
    struct files *f = *state;
    const char *rest = fmt(",\"plain\":%s,\"locations\":[%s,%s]", plain("ff", "1,2"), location("fra"), location("nyc"));
    write_text(f->base, base(1, "", cat(alert(1), cat(",", alert(2))), job(1), rest));
    const char *l1 = line(1, 1, "", ""); /* nothing but its time */
    const char *l2 =
        line(2, 2, "", fmt(",\"alerts\":[%s],\"jobs\":[],\"locations\":[],\"plain\":%s", alert(3), plain("f0", "4")));
    write_text(f->journal, l1);
    struct statefile_data d;
    assert_int_equal(load(f, &d), 1);
    assert_int_equal(d.n_alerts, 2);
    assert_int_equal(d.n_jobs, 1);
    assert_int_equal(d.n_locs, 2);
    assert_true(d.plain.present);
    assert_int_equal(d.plain.up[7], 1);
    assert_true(d.saved_at_us == SAVED(1));
    statefile_data_free(&d);

    write_text(f->journal, cat(l1, l2));
    assert_int_equal(load(f, &d), 1);
    assert_int_equal(d.n_alerts, 1);
    assert_true(d.alerts[0]->id == 3);
    assert_int_equal(d.n_jobs, 0);
    assert_int_equal(d.n_locs, 0); /* "locations": [] means none */
    assert_int_equal(d.plain.up[0], 1);
    assert_int_equal(d.plain.up[7], 0);
    assert_int_equal(d.plain.n_workers, 1);
    assert_true(d.plain.worker_last_us[0] == 4);
    statefile_data_free(&d);
}

/* "workers" alone replaces plain's workers only; without a plain it is ignored (but still checked). */
static void workers_alone(void **state)
{
    struct files *f = *state;
    write_text(f->base, base(1, "", "", "", fmt(",\"plain\":%s", plain("f0", "1,2"))));
    write_text(f->journal, line(1, 1, "", ",\"workers\":[7,8,9]"));
    struct statefile_data d;
    assert_int_equal(load(f, &d), 1);
    assert_true(d.plain.present);
    assert_int_equal(d.plain.n, 8);
    assert_int_equal(d.plain.up[0], 1);
    assert_int_equal(d.plain.up[4], 0);
    assert_int_equal(d.plain.n_workers, 3);
    assert_true(d.plain.worker_last_us[0] == 7 && d.plain.worker_last_us[2] == 9);
    statefile_data_free(&d);

    write_text(f->base, base(1, "", "", "", ""));
    assert_int_equal(load(f, &d), 1);
    assert_false(d.plain.present);
    assert_int_equal(d.plain.n_workers, 0);
    assert_int_equal(d.journal_lines, 1);
    statefile_data_free(&d);

    write_text(f->journal, cat(line(1, 1, "", ",\"workers\":[7,\"x\"]"), line(2, 2, "", "")));
    assert_int_equal(load(f, &d), -1);
}

/* Lines with seq < journal_from were written before the base (a compaction's leftovers): skipped. */
static void lines_before_the_base_skipped(void **state)
{
    struct files *f = *state;
    write_text(f->base, base(3, ep("http://a/", 1), "", "", ""));
    const char *stale = cat(line(1, 1, "\"http://a/\"", fmt(",\"endpoints\":[%s]", ep("http://a/", 100))),
                            line(2, 2, "\"http://a/\"", ",\"jobs\":[]"));
    write_text(f->journal, stale);
    struct statefile_data d;
    assert_int_equal(load(f, &d), 1);
    assert_int_equal(find_ep(&d, "http://a/")->st.fail_run, 1);
    assert_int_equal(d.journal_lines, 0);
    assert_int_equal(d.next_seq, 3); /* none applied: journal_from */
    assert_int_equal(d.journal_good, size_of(f->journal));
    statefile_data_free(&d);

    write_text(f->journal, cat(stale, line(3, 3, "\"http://a/\"", fmt(",\"endpoints\":[%s]", ep("http://a/", 3)))));
    assert_int_equal(load(f, &d), 1);
    assert_int_equal(find_ep(&d, "http://a/")->st.fail_run, 3);
    assert_int_equal(d.journal_lines, 1);
    assert_int_equal(d.next_seq, 4);
    statefile_data_free(&d);
}

/* The bytes after the last "\n" (a crash mid-append) are ignored, whatever they hold. */
static void torn_tail_ignored(void **state)
{
    struct files *f = *state;
    write_text(f->base, base(5, ep("http://a/", 1), "", "", ""));
    const char *l5 = line(5, 5, "\"http://a/\"", fmt(",\"endpoints\":[%s]", ep("http://a/", 5)));
    const char *l6 = line(6, 6, "\"http://a/\"", fmt(",\"endpoints\":[%s]", ep("http://a/", 6)));
    const char *tails[] = { fmt("%.*s", (int)strlen(l6) - 1, l6), fmt("%.*s", 20, l6), "{", "garbage", "\"" };
    for (size_t i = 0; i < sizeof tails / sizeof *tails; i++) {
        write_text(f->journal, cat(l5, tails[i]));
        struct statefile_data d;
        assert_int_equal(load(f, &d), 1);
        assert_int_equal(find_ep(&d, "http://a/")->st.fail_run, 5);
        assert_true(d.journal_torn);
        assert_int_equal(d.journal_good, (int64_t)strlen(l5));
        assert_int_equal(d.journal_lines, 1);
        assert_int_equal(d.next_seq, 6);
        statefile_data_free(&d);
    }
    /* torn as the first line: nothing applied */
    write_text(f->journal, tails[1]);
    struct statefile_data d;
    assert_int_equal(load(f, &d), 1);
    assert_true(d.journal_torn);
    assert_int_equal(d.journal_good, 0);
    assert_int_equal(d.next_seq, 5);
    statefile_data_free(&d);
}

/* A complete line that is not valid, with a line after it: -1, the journal file and the line's number in the
 * one-line reason. The same line last in the file is a save a power loss cut (never acknowledged): left out. */
static void bad_complete_line(void **state)
{
    struct files *f = *state;
    write_text(f->base, base(5, ep("http://a/", 1), "", "", ""));
    const char *good = line(5, 5, "\"http://a/\"", "");
    const char *bad[] = {
        "\n",                                          /* empty */
        "not json\n",                                  /* not JSON */
        "[1,2]\n",                                     /* not an object */
        fmt("%.*s {}\n", (int)strlen(good) - 1, good), /* something after the object */
        "{\"journal\":2,\"seq\":6,\"saved_at\":\"2026-12-01T00:00:06.000Z\",\"changed\":[]}\n", /* version */
        "{\"seq\":6,\"saved_at\":\"2026-12-01T00:00:06.000Z\",\"changed\":[]}\n",               /* no version */
        "{\"journal\":1,\"saved_at\":\"2026-12-01T00:00:06.000Z\",\"changed\":[]}\n",           /* no seq */
        "{\"journal\":1,\"seq\":0,\"saved_at\":\"2026-12-01T00:00:06.000Z\",\"changed\":[]}\n", /* seq 0 */
        "{\"journal\":1,\"seq\":6,\"changed\":[]}\n",                                           /* no saved_at */
        "{\"journal\":1,\"seq\":6,\"saved_at\":\"yesterday\",\"changed\":[]}\n",                /* bad saved_at */
        "{\"journal\":1,\"seq\":6,\"saved_at\":\"2026-12-01T00:00:06.000Z\"}\n",                /* no changed */
        line(6, 6, "3", ""),                                                                    /* a URL not a string */
        line(6, 6, "\"http://a/\"", ",\"endpoints\":[{\"url\":\"http://a/\"}]"), /* an endpoint's fields */
        line(6, 6, "\"http://a/\"", ",\"endpoints\":{}"),                        /* not an array */
        line(6, 6, "", ",\"alerts\":[1]"),                                       /* an alert not an object */
        line(6, 6, "", ",\"plain\":{\"n\":1}"),                                  /* plain's fields */
        line(6, 6, "", ",\"locations\":[{\"name\":\"\"}]"),                      /* a location's fields */
    };
    const char *after = line(7, 7, "", "");
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        write_text(f->journal, cat(cat(good, bad[i]), after));
        struct statefile_data d;
        assert_int_equal(load(f, &d), -1);
        assert_int_equal(d.n_eps, 0); /* d empty */
        assert_non_null(strstr(f->err, f->journal));
        assert_non_null(strstr(f->err, ": line 2: malformed journal line: "));
        assert_null(strchr(f->err, '\n'));
        write_text(f->journal, cat(good, bad[i])); /* last: left out, as a torn line */
        assert_int_equal(load(f, &d), 1);
        assert_true(d.journal_torn);
        assert_int_equal(d.journal_lines, 1);
        assert_int_equal(d.journal_good, (int64_t)strlen(good));
        assert_int_equal(d.next_seq, 6);
        statefile_data_free(&d);
    }
    /* ... even a line that would be skipped */
    write_text(f->journal, cat(cat("not json\n", good), after));
    struct statefile_data d;
    assert_int_equal(load(f, &d), -1);
    assert_non_null(strstr(f->err, ": line 1: "));
}

/* Every entry of a line belongs to a URL the line lists in "changed". */
static void entry_not_in_changed(void **state)
{
    struct files *f = *state;
    write_text(f->base, base(1, cat(ep("http://a/", 1), cat(",", ep("http://b/", 2))), "", "", ""));
    const char *bad[] = {
        line(1, 1, "\"http://a/\"", fmt(",\"endpoints\":[%s]", ep("http://b/", 3))),
        line(1, 1, "\"http://a/\"", fmt(",\"voters\":[%s]", voter("http://b/", "fra", 3))),
        line(1, 1, "\"http://a/\"", fmt(",\"votes\":[%s]", vote("http://b/", "x"))),
        line(1, 1, "", fmt(",\"endpoints\":[%s]", ep("http://a/", 3))),
        /* listed in an earlier line is not enough */
        cat(line(1, 1, "\"http://b/\"", ""),
            line(2, 2, "\"http://a/\"", fmt(",\"endpoints\":[%s]", ep("http://b/", 3)))),
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        write_text(f->journal, cat(bad[i], "{}\n")); /* a line after it: not the last, cut by a power loss */
        struct statefile_data d;
        assert_int_equal(load(f, &d), -1);
        assert_non_null(strstr(f->err, "is not in \"changed\""));
    }
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A journal whose seqs do not follow from journal_from: both files are read again, then -1. */
static void gap_fails_after_retries(void **state)
{
    struct files *f = *state;
    write_text(f->base, base(5, ep("http://a/", 1), "", "", ""));
    const char *gaps[] = {
        line(6, 6, "", ""),                          /* the first line after the base is not 5 */
        cat(line(5, 5, "", ""), line(7, 7, "", "")), /* a seq missing */
        cat(line(5, 5, "", ""), line(5, 5, "", "")), /* a seq twice */
        cat(line(5, 5, "", ""), line(4, 4, "", "")), /* back before the base, once applying */
        cat(line(4, 4, "", ""), line(9, 9, "", "")), /* past the base's */
    };
    for (size_t i = 0; i < sizeof gaps / sizeof *gaps; i++) {
        write_text(f->journal, gaps[i]);
        struct statefile_data d;
        int64_t t0 = mono_ms();
        assert_int_equal(load(f, &d), -1);
        assert_true(mono_ms() - t0 >= 40); /* 3 reads, 20 ms apart */
        assert_non_null(strstr(f->err, "the journal does not follow the state file"));
        assert_non_null(strstr(f->err, f->journal));
        assert_int_equal(d.n_eps, 0);
    }
}

/* A base without "journal_from" (an alerter of before the journal) ignores the journal: not even read. */
static void old_base_ignores_journal(void **state)
{
    struct files *f = *state;
    write_text(f->base, base(0, ep("http://a/", 1), "", "", ""));
    write_text(f->journal, "not json\n{");
    struct statefile_data d;
    assert_int_equal(load(f, &d), 1);
    assert_int_equal(find_ep(&d, "http://a/")->st.fail_run, 1);
    assert_int_equal(d.journal_from, 0);
    assert_int_equal(d.next_seq, 0);
    assert_int_equal(d.journal_good, 0);
    assert_int_equal(d.journal_lines, 0);
    assert_false(d.journal_torn);
    statefile_data_free(&d);

    /* journal_from must be an integer >= 1 */
    const char *bad[] = { "0", "-3", "\"5\"", "null", "1.5" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        write_text(f->base,
                   fmt("{\"version\":1,\"journal_from\":%s,\"endpoints\":[],\"alerts\":[],\"jobs\":[]}", bad[i]));
        assert_int_equal(load(f, &d), -1);
        assert_non_null(strstr(f->err, "malformed state file"));
    }
}

/* next_seq and journal_good without lines: no journal file, an empty one. */
static void no_lines(void **state)
{
    struct files *f = *state;
    write_text(f->base, base(42, ep("http://a/", 1), "", "", ""));
    struct statefile_data d;
    for (int pass = 0; pass < 2; pass++) {
        if (pass) write_text(f->journal, "");
        assert_int_equal(load(f, &d), 1);
        assert_int_equal(d.n_eps, 1);
        assert_int_equal(d.journal_from, 42);
        assert_int_equal(d.next_seq, 42);
        assert_int_equal(d.journal_good, 0);
        assert_int_equal(d.journal_lines, 0);
        assert_false(d.journal_torn);
        assert_true(d.saved_at_us == SAVED(0));
        statefile_data_free(&d);
    }
}

/* No base: 0 (no state), whatever the journal holds. */
static void no_base(void **state)
{
    struct files *f = *state;
    write_text(f->journal, line(1, 1, "\"http://a/\"", fmt(",\"endpoints\":[%s]", ep("http://a/", 1))));
    struct statefile_data d;
    assert_int_equal(load(f, &d), 0);
    assert_int_equal(d.n_eps, 0);
    write_text(f->journal, "garbage\n");
    assert_int_equal(load(f, &d), 0);
}

/* A base written by today's statefile_save (no "journal_from") loads as before, a journal beside it unread. */
static void current_save_loads(void **state)
{
    struct files *f = *state;
    struct statefile_endpoint e = { .url = "http://a/", .last_status = 503, .last_error = "down" };
    e.st.fail_run = 4;
    struct alert_rec *a = alert_new(CW_ALERT_DOWN, e.url, "a", "down", 1, 2, 0, 2, 0, 3);
    bool held = true;
    uint8_t up[3] = { 1, 0, 1 };
    int64_t workers[2] = { 11, 12 };
    struct statefile_voter v = { .url = "http://a/", .location = "fra", .v = { .fail_run = 2 } };
    struct statefile_data out = {
        .eps = &e,
        .n_eps = 1,
        .plain = { .fingerprint = 7, .n = 3, .up = up, .worker_last_us = workers, .n_workers = 2 },
        .alerts = &a,
        .alert_held = &held,
        .n_alerts = 1,
        .voters = &v,
        .n_voters = 1
    };
    assert_int_equal(statefile_save(f->base, &out, f->err, sizeof f->err), 0);
    write_text(f->journal, "not json\n");
    struct statefile_data d;
    assert_int_equal(load(f, &d), 1);
    assert_int_equal(d.n_eps, 1);
    assert_string_equal(d.eps[0].url, "http://a/");
    assert_int_equal(d.eps[0].st.fail_run, 4);
    assert_int_equal(d.eps[0].last_status, 503);
    assert_true(d.plain.present);
    assert_int_equal(d.plain.n, 3);
    assert_memory_equal(d.plain.up, up, 3);
    assert_int_equal(d.plain.n_workers, 2);
    assert_int_equal(d.n_alerts, 1);
    assert_true(d.alerts[0]->id == a->id);
    assert_true(d.alert_held[0]);
    assert_int_equal(d.n_voters, 1);
    assert_int_equal(d.voters[0].v.fail_run, 2);
    assert_int_equal(d.journal_from, 0);
    assert_int_equal(d.next_seq, 0);
    assert_int_equal(d.journal_good, 0);
    statefile_data_free(&d);
    alert_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(lines_apply_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(changed_drops_records_voters_votes, setup, teardown),
        cmocka_unit_test_setup_teardown(whole_sections_replaced, setup, teardown),
        cmocka_unit_test_setup_teardown(workers_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(lines_before_the_base_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(torn_tail_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_complete_line, setup, teardown),
        cmocka_unit_test_setup_teardown(entry_not_in_changed, setup, teardown),
        cmocka_unit_test_setup_teardown(gap_fails_after_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(old_base_ignores_journal, setup, teardown),
        cmocka_unit_test_setup_teardown(no_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(no_base, setup, teardown),
        cmocka_unit_test_setup_teardown(current_save_loads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
