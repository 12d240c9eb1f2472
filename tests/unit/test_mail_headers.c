/* tests/unit/test_mail_headers.c — alert mails as people read them (issue 15, alerter/mail*.c): one thread per
 * incident (Message-ID <ALERT@HOST>, In-Reply-To/References to the DOWN), UTF-8 names in subjects as RFC 2047
 * encoded-words (decoded here as a mail reader does: whole characters, at most 75 characters each, folded),
 * From with a display name, "Monitored from", times in UTC and alerts.time_zone, how long a certificate has
 * left, the children of a dependency and the detail line, the kinds FLAPPING and ESCALATION. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "alerter/alert.h"
#include "alerter/mail.h"
#include "alerter/state.h"
#include "common/base/util.h"
#include "common/wire/protocol.h"
#include "tests/unit/mail_test_util.h"

#define S 1000000LL
#define DOWN_SINCE (1795579400 * S) /* 2026-11-25T04:03:20Z */

static char *to_list[] = { "ops@example.test" };

static struct mail_params params(const char *from, const char *host, const char *zone)
{
    struct mail_params mp = {
        .from = from, .to = to_list, .n_to = 1, .date_us = 1795579506 * S, .hostname = host, .time_zone = zone
    };
    return mp;
}

/* The mail about alert a, as a string (free it). */
static char *build_one(const struct mail_params *mp, struct alert_rec *a)
{
    struct cw_buf b = { 0 };
    struct alert_rec *list[] = { a };
    mail_build(&b, mp, list, 1);
    char *msg = mt_string(&b);
    cw_buf_free(&b);
    assert_true(mt_header_lines_ok(msg));
    return msg;
}

/* The decoded value of header name (asserts it is there and well encoded). */
static void decoded(const char *msg, const char *name, char *out, size_t len)
{
    char raw[2048];
    assert_true(mt_header_raw(msg, name, raw, sizeof raw));
    bool bad = false;
    mt_decode(raw, out, len, &bad);
    assert_false(bad);
}

static struct alert_rec *down_alert(const char *name)
{
    struct alert_rec *a = alert_new(CW_ALERT_DOWN, "https://api.example.test/health", name, "Connection refused",
                                    DOWN_SINCE, DOWN_SINCE + 20 * S, 0, 3, 0, DOWN_SINCE + 21 * S);
    a->incident_id = a->id; /* a DOWN opens its incident */
    return a;
}

/* DOWN, REMINDER, ESCALATION and UP of one incident: one thread, the same endpoint text in each subject. */
static void one_thread(void **state)
{
    (void)state;
    struct mail_params mp = params("monitor@example.test", "mon1.example.test", NULL);
    struct alert_rec *down = down_alert("billing");
    struct alert_rec *rem = alert_new(CW_ALERT_REMINDER, down->url, "billing", "Connection refused", DOWN_SINCE,
                                      DOWN_SINCE + 3600 * S, 3600 * S, 60, 1, DOWN_SINCE + 3601 * S);
    struct alert_rec *esc = alert_new(CW_ALERT_ESCALATION, down->url, "billing", "Connection refused", DOWN_SINCE,
                                      DOWN_SINCE + 900 * S, 900 * S, 15, 1, DOWN_SINCE + 901 * S);
    struct alert_rec *up = alert_new(CW_ALERT_UP, down->url, "billing", NULL, DOWN_SINCE + 4000 * S,
                                     DOWN_SINCE + 4000 * S, 4000 * S, 66, 0, DOWN_SINCE + 4001 * S);
    esc->escalation = 1;
    rem->incident_id = esc->incident_id = up->incident_id = down->id;
    char want[128], got[512];
    char *msg = build_one(&mp, down);
    snprintf(want, sizeof want, "<%016llx@mon1.example.test>", (unsigned long long)down->id);
    assert_true(mt_header_raw(msg, "Message-ID", got, sizeof got));
    assert_string_equal(got, want);
    assert_false(mt_header_raw(msg, "In-Reply-To", got, sizeof got)); /* the DOWN starts the thread */
    assert_false(mt_header_raw(msg, "References", got, sizeof got));
    decoded(msg, "Subject", got, sizeof got);
    assert_string_equal(got, "[clockwerk] DOWN: billing (https://api.example.test/health)");
    free(msg);
    const char *words[] = { "STILL DOWN", "ESCALATED", "UP" };
    struct alert_rec *follow[] = { rem, esc, up };
    for (int i = 0; i < 3; i++) {
        msg = build_one(&mp, follow[i]);
        assert_true(mt_header_raw(msg, "In-Reply-To", got, sizeof got));
        assert_string_equal(got, want);
        assert_true(mt_header_raw(msg, "References", got, sizeof got));
        assert_string_equal(got, want);
        char own[128];
        snprintf(own, sizeof own, "<%016llx@mon1.example.test>", (unsigned long long)follow[i]->id);
        assert_true(mt_header_raw(msg, "Message-ID", got, sizeof got));
        assert_string_equal(got, own);
        decoded(msg, "Subject", got, sizeof got);
        char subject[160];
        snprintf(subject, sizeof subject, "[clockwerk] %s: billing (https://api.example.test/health)", words[i]);
        assert_string_equal(got, subject);
        snprintf(subject, sizeof subject, "Incident id:   %016llx\r\n", (unsigned long long)down->id);
        assert_non_null(strstr(msg, subject));
        free(msg);
    }
    msg = build_one(&mp, esc);
    assert_non_null(strstr(msg, "billing is still down: escalated.\r\n"));
    assert_non_null(strstr(msg, "Escalation:    step 1\r\n"));
    free(msg);
    /* without a recorded incident the follow-ups still find their DOWN (the ids are deterministic) */
    rem->incident_id = up->incident_id = 0;
    for (int i = 0; i < 3; i += 2) {
        msg = build_one(&mp, follow[i]);
        assert_true(mt_header_raw(msg, "In-Reply-To", got, sizeof got));
        assert_string_equal(got, want);
        free(msg);
    }
    alert_free(down);
    alert_free(rem);
    alert_free(esc);
    alert_free(up);
}

/* The host names the Message-ID's domain and the body's "Monitored from"; none: "clockwerk". */
static void host_in_id_and_body(void **state)
{
    (void)state;
    struct alert_rec *a = down_alert("billing");
    struct mail_params mp = params("monitor@example.test", NULL, NULL);
    char want[128], got[256];
    char *msg = build_one(&mp, a);
    snprintf(want, sizeof want, "<%016llx@clockwerk>", (unsigned long long)a->id);
    assert_true(mt_header_raw(msg, "Message-ID", got, sizeof got));
    assert_string_equal(got, want);
    assert_non_null(strstr(msg, "\r\nMonitored from: clockwerk\r\n"));
    free(msg);
    mp.hostname = "probe 7_eu..example.test.";
    msg = build_one(&mp, a);
    snprintf(want, sizeof want, "<%016llx@probe-7-eu.example.test>", (unsigned long long)a->id);
    assert_true(mt_header_raw(msg, "Message-ID", got, sizeof got));
    assert_string_equal(got, want);
    assert_non_null(strstr(msg, "\r\nMonitored from: probe 7_eu..example.test.\r\n"));
    free(msg);
    alert_free(a);
}

/* A UTF-8 name reaches the subject as encoded-words that decode to it, never as '?'. */
static void utf8_subject(void **state)
{
    (void)state;
    struct mail_params mp = params("monitor@example.test", "mon1", NULL);
    const char *name = "Z\xc3\xbcrich \xe6\x9d\xb1\xe4\xba\xac API"; /* Zürich 東京 API */
    struct alert_rec *a = down_alert(name);
    char got[1024], want[512];
    char *msg = build_one(&mp, a);
    decoded(msg, "Subject", got, sizeof got);
    snprintf(want, sizeof want, "[clockwerk] DOWN: %s (https://api.example.test/health)", name);
    assert_string_equal(got, want);
    assert_non_null(strstr(msg, "=?UTF-8?"));
    free(msg);
    /* a long name of multi-byte characters: several encoded-words on folded lines, each whole characters */
    char long_name[400] = "";
    for (int i = 0; i < 50; i++) strcat(long_name, i % 2 ? "\xc3\xa9t\xc3\xa9 " : "\xe6\x9d\xb1\xe4\xba\xac");
    alert_free(a);
    a = down_alert(long_name);
    msg = build_one(&mp, a);
    decoded(msg, "Subject", got, sizeof got);
    assert_memory_equal(got, "[clockwerk] DOWN: ", 18);
    /* cut at 200 bytes of the clean value, on a character boundary: a prefix of the name */
    assert_true(strlen(got) > 100);
    assert_memory_equal(got + 18, long_name, strlen(got) - 18);
    assert_true(mt_utf8_whole((const unsigned char *)got, strlen(got)));
    assert_non_null(strstr(msg, "\r\n =?UTF-8?")); /* folded */
    free(msg);
    /* invalid UTF-8 and a look-alike of an encoded-word: '?' and encoded, not decoded by a reader */
    alert_free(a);
    a = down_alert("bad\xff\xfe =?UTF-8?Q?evil?= x");
    msg = build_one(&mp, a);
    decoded(msg, "Subject", got, sizeof got);
    assert_string_equal(got, "[clockwerk] DOWN: bad?? =?UTF-8?Q?evil?= x (https://api.example.test/health)");
    free(msg);
    alert_free(a);
}

/* From: "Display Name" <addr>; a name that is not ASCII as encoded-words. */
static void display_name(void **state)
{
    (void)state;
    struct alert_rec *a = down_alert("billing");
    struct mail_params mp = params("Clockwerk Monitor <monitor@example.test>", "mon1", NULL);
    char *msg = build_one(&mp, a);
    assert_non_null(strstr(msg, "\r\nFrom: \"Clockwerk Monitor\" <monitor@example.test>\r\n"));
    free(msg);
    mp.from = "\xc3\x9c"
              "berwachung Z\xc3\xbcrich <monitor@example.test>"; /* Überwachung Zürich */
    msg = build_one(&mp, a);
    char raw[512], got[512];
    assert_true(mt_header_raw(msg, "From", raw, sizeof raw));
    char *lt = strrchr(raw, '<');
    assert_non_null(lt);
    assert_string_equal(lt, "<monitor@example.test>");
    lt[-1] = '\0';
    bool bad = false;
    mt_decode(raw, got, sizeof got, &bad);
    assert_false(bad);
    assert_string_equal(got, "\xc3\x9c"
                             "berwachung Z\xc3\xbcrich");
    free(msg);
    mp.from = "monitor@example.test";
    msg = build_one(&mp, a);
    assert_non_null(strstr(msg, "\r\nFrom: monitor@example.test\r\n"));
    free(msg);
    alert_free(a);
}

/* Times in UTC, and in alerts.time_zone when set (with the local date when it is another day there). */
static void times_in_zone(void **state)
{
    (void)state;
    struct alert_rec *a = down_alert("billing");
    struct mail_params mp = params("monitor@example.test", "mon1", NULL);
    char *msg = build_one(&mp, a);
    assert_non_null(strstr(msg, "State:         DOWN since 2026-11-25 04:03:20 UTC\r\n"));
    assert_non_null(strstr(msg, "Detected at:   2026-11-25 04:03:40 UTC\r\n"));
    free(msg);
    mp.time_zone = "Europe/Berlin";
    msg = build_one(&mp, a);
    assert_non_null(strstr(msg, "State:         DOWN since 2026-11-25 04:03:20 UTC (05:03:20 CET)\r\n"));
    assert_non_null(strstr(msg, "Detected at:   2026-11-25 04:03:40 UTC (05:03:40 CET)\r\n"));
    free(msg);
    mp.time_zone = "America/Los_Angeles"; /* the day before there */
    msg = build_one(&mp, a);
    assert_non_null(strstr(msg, "DOWN since 2026-11-25 04:03:20 UTC (2026-11-24 20:03:20 PST)\r\n"));
    free(msg);
    mp.time_zone = "No/Such_Zone";
    msg = build_one(&mp, a);
    assert_non_null(strstr(msg, "DOWN since 2026-11-25 04:03:20 UTC\r\n"));
    free(msg);
    alert_free(a);
}

/* A certificate's mail says how long is left, in the subject and the body. */
static void tls_expiry_left(void **state)
{
    (void)state;
    int64_t left = (4 * 86400 + 23 * 3600 + 120) * S;
    struct alert_rec *a = alert_new(CW_ALERT_TLS_EXPIRY, "https://shop.example.test/", "shop", NULL, DOWN_SINCE + left,
                                    DOWN_SINCE, left, 0, 0, DOWN_SINCE);
    struct mail_params mp = params("monitor@example.test", "mon1", NULL);
    char got[512];
    char *msg = build_one(&mp, a);
    decoded(msg, "Subject", got, sizeof got);
    assert_string_equal(got, "[clockwerk] TLS EXPIRY in 4 days 23 hours: shop (https://shop.example.test/)");
    assert_non_null(strstr(msg, "TLS certificate expires in 4 days 23 hours, at 2026-11-30 03:05:20 UTC\r\n"));
    free(msg);
    a->duration_us = -(3600 + 300) * S;
    msg = build_one(&mp, a);
    decoded(msg, "Subject", got, sizeof got);
    assert_string_equal(got, "[clockwerk] TLS EXPIRED 1 hour 5 minutes ago: shop (https://shop.example.test/)");
    free(msg);
    alert_free(a);
}

/* A parent's DOWN lists the children folded into its incident; the detail line; FLAPPING. */
static void children_detail_flapping(void **state)
{
    (void)state;
    struct mail_params mp = params("monitor@example.test", "mon1", NULL);
    struct alert_rec *a = down_alert("gateway");
    a->n_children = 2;
    a->children = calloc(2, sizeof *a->children);
    assert_non_null(a->children);
    a->children[0] = (struct alert_child){ .name = strdup("billing"),
                                           .url = strdup("https://u:pw@b.example.test/"),
                                           .avail = ASTATE_DOWN };
    a->children[1] =
        (struct alert_child){ .name = strdup(""), .url = strdup("tcp://db.example.test:5432"), .avail = ASTATE_UP };
    char *msg = build_one(&mp, a);
    assert_non_null(strstr(msg, "\r\nAlso affected (2, depending on it):\r\n"
                                "  - billing (https://***@b.example.test/): DOWN\r\n"
                                "  - tcp://db.example.test:5432: UP\r\n"));
    assert_null(strstr(msg, ":pw@"));
    free(msg);
    alert_free(a);
    a = alert_new(CW_ALERT_FLAPPING, "https://api.example.test/health", "api", "HTTP 502", DOWN_SINCE, DOWN_SINCE, 0, 0,
                  0, DOWN_SINCE);
    free(a->detail); /* alert_new's empty detail */
    a->detail = strdup("flapping: 62% state changes over the last 21 checks");
    msg = build_one(&mp, a);
    char got[512];
    decoded(msg, "Subject", got, sizeof got);
    assert_string_equal(got, "[clockwerk] FLAPPING: api (https://api.example.test/health)");
    assert_non_null(strstr(msg, "api is flapping.\r\n"));
    assert_non_null(strstr(msg, "Detail:        flapping: 62% state changes over the last 21 checks\r\n"));
    free(msg);
    alert_free(a);
}

/* A summary lists several incidents: it starts no thread of its own and replies to none. */
static void summary_not_threaded(void **state)
{
    (void)state;
    struct mail_params mp = params("monitor@example.test", "mon1", NULL);
    struct alert_rec *list[2];
    list[0] = alert_new(CW_ALERT_REMINDER, "http://127.0.0.1:9/a", NULL, "x", 100 * S, 200 * S, 100 * S, 5, 1, 300 * S);
    list[1] = alert_new(CW_ALERT_REMINDER, "http://127.0.0.1:9/b", NULL, "x", 100 * S, 200 * S, 100 * S, 5, 1, 300 * S);
    list[0]->incident_id = 7;
    struct cw_buf b = { 0 };
    mail_build(&b, &mp, list, 2);
    char *msg = mt_string(&b);
    char got[256];
    assert_false(mt_header_raw(msg, "In-Reply-To", got, sizeof got));
    assert_non_null(strstr(msg, "\r\nMonitored from: mon1\r\n"));
    free(msg);
    cw_buf_free(&b);
    alert_free(list[0]);
    alert_free(list[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_thread),
        cmocka_unit_test(host_in_id_and_body),
        cmocka_unit_test(utf8_subject),
        cmocka_unit_test(display_name),
        cmocka_unit_test(times_in_zone),
        cmocka_unit_test(tls_expiry_left),
        cmocka_unit_test(children_detail_flapping),
        cmocka_unit_test(summary_not_threaded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
