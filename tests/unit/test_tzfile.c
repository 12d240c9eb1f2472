/* tests/unit/test_tzfile.c — the TZif reader (common/base/tzfile.h) against glibc: the UTC offset at every half
 * hour (and the second before it) of 2000-2040 and the abbreviations, in zones with ordinary DST, 30-minute DST
 * (Lord Howe), none (Kolkata), DST abolished (Sao Paulo 2019), a skipped day (Apia 2011) and UTC — past 2037 the
 * offset comes from the file's footer rule; local times to instants (first/last of a repeated time, the jump for a
 * skipped one) checked with glibc's offsets; footer rules beyond the listed transitions; names and files refused;
 * the cache shared by threads. glibc is switched with setenv("TZ") here: this test is single-threaded where it does
 * so. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common/base/tzfile.h"

#define Y2000 946684800LL
#define Y2041 2240611200LL
#define HALF_HOUR 1800LL

static const char *const zones[] = {
    "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "America/Sao_Paulo", "Pacific/Apia",
    "UTC",           "Etc/UTC"
};
#define N_ZONES (sizeof zones / sizeof zones[0])

static void use_glibc_zone(const char *zone)
{
    assert_int_equal(setenv("TZ", zone, 1), 0);
    tzset();
}

static long glibc_offset(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    assert_non_null(localtime_r(&tt, &tm));
    return tm.tm_gmtoff;
}

/* glibc's abbreviation at t (TZ as use_glibc_zone set it). */
static void glibc_abbr(int64_t t, char *out, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    assert_non_null(localtime_r(&tt, &tm));
    snprintf(out, len, "%s", tm.tm_zone);
}

static const struct tz_zone *zone_or_fail(const char *name)
{
    char err[256] = "";
    const struct tz_zone *z = tz_get(name, err, sizeof err);
    if (!z) fail_msg("%s: %s", name, err);
    return z;
}

static void test_offsets_match_glibc(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ZONES; i++) {
        const struct tz_zone *z = zone_or_fail(zones[i]);
        use_glibc_zone(zones[i]);
        long mismatches = 0;
        for (int64_t t = Y2000; t < Y2041; t += HALF_HOUR)
            for (int64_t s = t - 1; s <= t; s++)
                if (tz_offset_at_utc(z, s) != glibc_offset(s) && mismatches++ < 5)
                    print_error("%s at %lld: %d, glibc %ld\n", zones[i], (long long)s, tz_offset_at_utc(z, s),
                                glibc_offset(s));
        assert_int_equal(mismatches, 0);
        char abbr[32];
        for (int64_t t = Y2000; t < Y2041; t += 6 * HALF_HOUR) {
            glibc_abbr(t, abbr, sizeof abbr);
            if (strcmp(tz_abbr_at_utc(z, t), abbr) != 0)
                fail_msg("%s at %lld: '%s', glibc '%s'", zones[i], (long long)t, tz_abbr_at_utc(z, t), abbr);
        }
    }
    unsetenv("TZ");
}

/* local_s's instants by glibc's offsets: *first, *last (0 when none), *n of them. */
static void glibc_instants(int64_t local_s, const long *offs, size_t n_offs, int64_t *first, int64_t *last, int *n)
{
    *n = 0;
    *first = *last = 0;
    for (size_t k = 0; k < n_offs; k++) {
        int64_t t = local_s - offs[k];
        if (glibc_offset(t) != offs[k]) continue;
        if (!*n || t < *first) *first = t;
        if (!*n || t > *last) *last = t;
        ++*n;
    }
}

static void check_local_times(const char *name)
{
    const struct tz_zone *z = zone_or_fail(name);
    use_glibc_zone(name);
    long offs[16];
    size_t n_offs = 0;
    for (int64_t t = Y2000 - 86400; t < Y2041 + 86400; t += HALF_HOUR) {
        long o = glibc_offset(t);
        size_t k = 0;
        while (k < n_offs && offs[k] != o) k++;
        if (k == n_offs && n_offs < 16) offs[n_offs++] = o;
    }
    long gaps = 0, doubles = 0;
    for (int64_t local = Y2000; local < Y2041; local += HALF_HOUR) {
        int64_t first, last, got_first = tz_local_to_utc(z, local, TZ_FIRST),
                             got_last = tz_local_to_utc(z, local, TZ_LAST);
        int n;
        glibc_instants(local, offs, n_offs, &first, &last, &n);
        if (n) {
            doubles += n > 1;
            if (got_first != first || got_last != last)
                fail_msg("%s local %lld: %lld/%lld, glibc %lld/%lld", name, (long long)local, (long long)got_first,
                         (long long)got_last, (long long)first, (long long)last);
            continue;
        }
        /* skipped: the answer is the instant the clocks jumped over local */
        gaps++;
        assert_true(got_first == got_last);
        int64_t j = got_first;
        if (!(j - 1 + glibc_offset(j - 1) < local && j + glibc_offset(j) > local))
            fail_msg("%s local %lld (skipped): %lld is not the jump over it", name, (long long)local, (long long)j);
    }
    if (strcmp(name, "Europe/Berlin") == 0)
        assert_true(gaps == 2 * 41 && doubles == 2 * 41); /* one hour twice a year */
    unsetenv("TZ");
}

static void test_local_to_utc_matches_glibc(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ZONES; i++) check_local_times(zones[i]);
}

/* Known answers: Berlin spring/autumn 2026 and after the listed transitions; Apia's skipped 2011-12-30. */
static void test_known_instants(void **state)
{
    (void)state;
    const struct tz_zone *berlin = zone_or_fail("Europe/Berlin"), *apia = zone_or_fail("Pacific/Apia");
    int64_t spring = 1774742400; /* 2026-03-29 00:00 UTC; 02:00-03:00 local skipped at 01:00 UTC */
    assert_true(tz_local_to_utc(berlin, spring + 2 * 3600 + 1800, TZ_FIRST) == spring + 3600);
    assert_true(tz_local_to_utc(berlin, spring + 3 * 3600, TZ_FIRST) == spring + 3600);
    int64_t fall = 1792886400; /* 2026-10-25 00:00 UTC; 02:00-03:00 local twice, from 00:00 UTC */
    assert_true(tz_local_to_utc(berlin, fall + 2 * 3600 + 1800, TZ_FIRST) == fall + 1800);
    assert_true(tz_local_to_utc(berlin, fall + 2 * 3600 + 1800, TZ_LAST) == fall + 3600 + 1800);
    int64_t fall_2099 = 4096573200; /* 2099-10-25 01:00 UTC (the last Sunday of October): from the footer rule */
    assert_int_equal(tz_offset_at_utc(berlin, fall_2099 - 1), 7200);
    assert_int_equal(tz_offset_at_utc(berlin, fall_2099), 3600);
    int64_t dec30 = 1325203200; /* 2011-12-30 00:00 UTC as local: a day Samoa never had */
    assert_true(tz_local_to_utc(apia, dec30 + 12 * 3600, TZ_FIRST) == 1325239200); /* jump: 2011-12-30 10:00 UTC */
    int64_t cycle = 12622780800LL; /* 400 years: the footer's rule gives the same offsets again */
    for (int64_t t = fall_2099 - 86400; t < fall_2099 + 86400; t += 1800)
        assert_int_equal(tz_offset_at_utc(berlin, t + 1000 * cycle), tz_offset_at_utc(berlin, t));
    const int64_t extremes[] = { INT64_MIN, INT64_MIN / 2, -1, INT64_MAX / 2, INT64_MAX };
    for (size_t i = 0; i < sizeof extremes / sizeof extremes[0]; i++) { /* answers, never a crash or overflow */
        int off = tz_offset_at_utc(berlin, extremes[i]);
        assert_true(off >= -89999 && off <= 93599);
        (void)tz_local_to_utc(berlin, extremes[i], TZ_FIRST);
        (void)tz_local_to_utc(apia, extremes[i], TZ_LAST);
    }
    const struct tz_zone *utc = zone_or_fail(NULL);
    assert_ptr_equal(utc, zone_or_fail("UTC"));
    assert_int_equal(tz_offset_at_utc(utc, fall), 0);
    assert_true(tz_local_to_utc(utc, fall, TZ_LAST) == fall);
}

/* A version 2 file with no transitions: everything from the footer TZ string. */
static struct tz_zone *footer_only(const char *tz, char *err, size_t err_len)
{
    unsigned char buf[512] = { 0 };
    size_t len = 0;
    for (int block = 0; block < 2; block++) {
        memcpy(buf + len, "TZif2", 5);
        buf[len + 20 + 4 * 4 + 3] = 1; /* typecnt */
        buf[len + 20 + 4 * 5 + 3] = 4; /* charcnt */
        len += 44;
        len += 6; /* type 0: offset 0, not DST, abbreviation 0 */
        memcpy(buf + len, "UTC", 4);
        len += 4;
    }
    len += (size_t)snprintf((char *)buf + len, sizeof buf - len, "\n%s\n", tz);
    return tz_parse(buf, len, err, err_len);
}

static void test_footer_rules(void **state)
{
    (void)state;
    char err[256];
    /* Nuuk's rule: times before midnight (-1) and at midnight (0); compared with glibc over 2030-2110 */
    struct tz_zone *z = footer_only("<-02>2<-01>,M3.5.0/-1,M10.5.0/0", err, sizeof err);
    if (!z) fail_msg("%s", err);
    use_glibc_zone("<-02>2<-01>,M3.5.0/-1,M10.5.0/0");
    for (int64_t t = 1893456000; t < 1893456000 + 80 * 31556952LL; t += 3600)
        if (tz_offset_at_utc(z, t) != glibc_offset(t)) fail_msg("at %lld: %d", (long long)t, tz_offset_at_utc(z, t));
    tz_free(z);
    /* southern hemisphere, half-hour DST, explicit DST offset */
    z = footer_only("<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", err, sizeof err);
    assert_non_null(z);
    use_glibc_zone("<+1030>-10:30<+11>-11,M10.1.0,M4.1.0");
    for (int64_t t = 2240611200; t < 2240611200 + 20 * 31556952LL; t += 1800)
        assert_int_equal(tz_offset_at_utc(z, t), glibc_offset(t));
    unsetenv("TZ");
    tz_free(z);
    z = footer_only("EST5EDT,J60,J300", err, sizeof err);
    assert_null(z);
    assert_non_null(strstr(err, "Jn and n rules are not supported"));
    assert_null(footer_only("EST5EDT", err, sizeof err));
    assert_non_null(strstr(err, "without a rule"));
    assert_null(footer_only("E5", err, sizeof err));
    assert_non_null(strstr(err, "bad TZ string"));
}

static void test_refused(void **state)
{
    (void)state;
    assert_true(tz_name_valid("Europe/Berlin"));
    assert_true(tz_name_valid("Etc/GMT+5"));
    const char *bad[] = { "",        "/etc/passwd",    "../../etc/passwd", "Europe/../../etc/passwd", "Europe//Berlin",
                          "Europe/", "Europe/Ber lin", "Europe/Berlin\n" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) assert_false(tz_name_valid(bad[i]));
    char err[256];
    assert_null(tz_get("../../etc/passwd", err, sizeof err));
    assert_non_null(strstr(err, "is not a time zone name"));
    assert_null(tz_get("Mars/Olympus", err, sizeof err));
    assert_non_null(strstr(err, "/usr/share/zoneinfo/Mars/Olympus"));
    assert_null(tz_get("Mars/Olympus", err, sizeof err)); /* cached failure, same message */
    assert_non_null(strstr(err, "No such file"));
    assert_null(tz_get("leapseconds", err, sizeof err)); /* a file under zoneinfo that is no zone */
    assert_non_null(strstr(err, "not a TZif zone file"));
    /* every truncation of a real file is refused, never read past */
    FILE *f = fopen("/usr/share/zoneinfo/Europe/Berlin", "rb");
    assert_non_null(f);
    unsigned char buf[8192];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    for (size_t cut = 0; cut < len; cut++) assert_null(tz_parse(buf, cut, err, sizeof err));
    struct tz_zone *whole = tz_parse(buf, len, err, sizeof err);
    assert_non_null(whole);
    tz_free(whole);
}

static void *get_berlin(void *arg)
{
    (void)arg;
    const struct tz_zone *z = NULL;
    for (int i = 0; i < 2000; i++) {
        z = tz_get(i % 2 ? "Asia/Tokyo" : "Europe/Berlin", NULL, 0);
        if (!z || tz_offset_at_utc(z, 1796601600) != (i % 2 ? 9 * 3600 : 3600)) return NULL;
    }
    return (void *)tz_get("Europe/Berlin", NULL, 0);
}

static void test_threads_share_the_cache(void **state)
{
    (void)state;
    pthread_t th[4];
    void *got[4];
    for (int i = 0; i < 4; i++) assert_int_equal(pthread_create(&th[i], NULL, get_berlin, NULL), 0);
    for (int i = 0; i < 4; i++) assert_int_equal(pthread_join(th[i], &got[i]), 0);
    for (int i = 0; i < 4; i++) assert_ptr_equal(got[i], zone_or_fail("Europe/Berlin"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offsets_match_glibc),
        cmocka_unit_test(test_local_to_utc_matches_glibc),
        cmocka_unit_test(test_known_instants),
        cmocka_unit_test(test_footer_rules),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_threads_share_the_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
