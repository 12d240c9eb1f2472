/* tests/unit/test_maintenance_env.c — times in a zone never touch the process environment: the web process
 * evaluates maintenance windows on its main thread while other threads (libpq in the history thread) read the
 * environment, and the alerter formats mail times while libcurl's resolver threads run getaddrinfo, so neither may
 * convert with setenv("TZ")/tzset. One thread computes windows in several zones (each a cache miss), or mail
 * times, while this one watches TZ: it must read the value it set, every time. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alerter/mail.h"
#include "common/config/maintenance.h"

#define S 1000000LL
#define MON_2026_12_07 1796601600LL

static atomic_bool done;

static void *compute_windows(void *arg)
{
    (void)arg;
    static const char *const zones[] = { "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Lord_Howe" };
    for (int i = 0; i < 4000; i++) {
        struct cw_maintenance m = { .name = "w",
                                    .days = 0x7f,
                                    .from_min = i % 1440,
                                    .to_min = (i + 90) % 1440,
                                    .time_zone = (char *)zones[i % 4] };
        (void)maintenance_active(&m, (MON_2026_12_07 + (int64_t)i * 3607) * S); /* a new window: a cache miss */
    }
    atomic_store(&done, true);
    return NULL;
}

static void *format_mail_times(void *arg)
{
    (void)arg;
    static const char *const zones[] = { "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Lord_Howe" };
    char out[128];
    for (int i = 0; i < 4000; i++)
        mail_format_time((MON_2026_12_07 + (int64_t)i * 3607) * S, zones[i % 4], out, sizeof out);
    atomic_store(&done, true);
    return NULL;
}

/* Runs work on a thread while this one reads TZ; none of the reads may see anything but what was set. */
static void watch_tz_while(void *(*work)(void *))
{
    atomic_store(&done, false);
    assert_int_equal(setenv("TZ", "America/Chicago", 1), 0);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, work, NULL), 0);
    long reads = 0, changed = 0;
    while (!atomic_load(&done)) {
        const char *tz = getenv("TZ");
        reads++;
        if (!tz || strcmp(tz, "America/Chicago") != 0) changed++;
    }
    assert_int_equal(pthread_join(thread, NULL), 0);
    print_message("TZ read %ld times, %ld times not as set\n", reads, changed);
    assert_int_equal(changed, 0);
    assert_string_equal(getenv("TZ"), "America/Chicago");
    unsetenv("TZ");
}

static void test_environment_untouched_by_windows(void **state)
{
    (void)state;
    watch_tz_while(compute_windows);
}

static void test_environment_untouched_by_mail_times(void **state)
{
    (void)state;
    watch_tz_while(format_mail_times);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_environment_untouched_by_windows),
        cmocka_unit_test(test_environment_untouched_by_mail_times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
