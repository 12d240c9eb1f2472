/* tests/unit/test_channel_summary.c — the alerter's start line names its channels by type (channel_summary):
 * "N channels (email: a, b; slack: c)", one line, names only (no URL, no token). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "alerter/channel.h"

static void names_by_type(void **state)
{
    (void)state;
    struct cw_channel ch[4] = {
        { .name = "ops-mail", .type = CW_CHAN_EMAIL },
        { .name = "chat", .type = CW_CHAN_SLACK, .url = "https://hooks.slack.test/SECRET" },
        { .name = "dev-mail", .type = CW_CHAN_EMAIL },
        { .name = "pd", .type = CW_CHAN_PAGERDUTY, .token = "routing-key-secret" },
    };
    struct cw_config cfg = { .channels = ch, .n_channels = 4 };
    char out[256];
    channel_summary(&cfg, out, sizeof out);
    assert_string_equal(out, "4 channels (email: ops-mail, dev-mail; slack: chat; pagerduty: pd)");
    cfg.n_channels = 1;
    channel_summary(&cfg, out, sizeof out);
    assert_string_equal(out, "1 channel (email: ops-mail)");
    cfg.n_channels = 0;
    channel_summary(&cfg, out, sizeof out);
    assert_string_equal(out, "no channel");
    cfg.n_channels = 4; /* too small a buffer: cut, still terminated */
    channel_summary(&cfg, out, 20);
    assert_int_equal(strlen(out), 19);
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(names_by_type) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
