/* tests/unit/alert_test_util.h — alerts to build mails and webhook bodies from, shared by test_mail.c and
 * test_webhook.c. */
#ifndef CW_TESTS_ALERT_TEST_UTIL_H
#define CW_TESTS_ALERT_TEST_UTIL_H

#include <stdio.h>

#include "alerter/alert.h"

/* n alerts of one kind on http://127.0.0.1:9/PREFIX0.., failing with "refused", since 100 s + i. */
static inline void make_alerts(struct alert_rec **list, int n, uint8_t kind, const char *prefix)
{
    for (int i = 0; i < n; i++) {
        char url[64];
        snprintf(url, sizeof url, "http://127.0.0.1:9/%s%d", prefix, i);
        list[i] = alert_new(kind, url, NULL, "refused", (100 + i) * 1000000LL, (110 + i) * 1000000LL,
                            kind == CW_ALERT_REMINDER ? 60 * 1000000LL : 0, kind == CW_ALERT_REMINDER ? 9 : 2,
                            kind == CW_ALERT_REMINDER ? 1 : 0, 120 * 1000000LL);
    }
}

static inline void free_alerts(struct alert_rec **list, int n)
{
    for (int i = 0; i < n; i++) alert_free(list[i]);
}

#endif
