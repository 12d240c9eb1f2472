/* tests/unit/test_mail.c — alert mails (alerter/mail.c): RFC 5322 shape, deterministic Message-ID, masked
 * credentials, and header sanitising (nothing from an endpoint can inject a header). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

#include "alerter/alert.h"
#include "tests/unit/alert_test_util.h"
#include "alerter/mail.h"
#include "alerter/smtprcpt.h"
#include "common/wire/protocol.h"

#define S 1000000LL

static char *to_list[] = { "ops@example.test", "oncall@example.test" };

static struct mail_params params(void)
{
    struct mail_params mp = { .from = "monitor@example.test",
                              .to = to_list,
                              .n_to = 2,
                              .date_us = 1795579506 * S /* 2026-11-25T04:05:06Z */ };
    return mp;
}

/* The message as a C string (the buffer is not NUL-terminated). */
static char *as_string(const struct cw_buf *b)
{
    char *s = malloc(b->len + 1);
    assert_non_null(s);
    memcpy(s, b->data, b->len);
    s[b->len] = '\0';
    return s;
}

/* Length of the header block (up to and including the blank line). */
static size_t header_len(const char *msg)
{
    const char *end = strstr(msg, "\r\n\r\n");
    assert_non_null(end);
    return (size_t)(end - msg) + 4;
}

/* Counts header lines (not continuations) that start with name. */
static int count_headers(const char *msg, const char *name)
{
    size_t hl = header_len(msg);
    int n = 0;
    for (size_t i = 0; i < hl; i++)
        if ((i == 0 || msg[i - 1] == '\n') && strncasecmp(msg + i, name, strlen(name)) == 0) n++;
    return n;
}

/* Every line ends with CRLF, no bare CR or LF, no line over 998 bytes. */
static void assert_wellformed(const char *msg, size_t len)
{
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        if (msg[i] == '\r') {
            assert_true(i + 1 < len && msg[i + 1] == '\n');
            i++;
            run = 0;
            continue;
        }
        assert_true(msg[i] != '\n');
        run++;
        assert_true(run <= 998);
    }
    assert_int_equal(run, 0);
}

static void sanitize(void **state)
{
    (void)state;
    char out[256];
    mail_sanitize_header("x\r\nBcc: evil@example.test", out, sizeof out);
    assert_string_equal(out, "x Bcc: evil@example.test");
    mail_sanitize_header("  a\tb\x01\x7f c  ", out, sizeof out);
    assert_string_equal(out, "a b c");
    mail_sanitize_header("caf\xc3\xa9", out, sizeof out);
    assert_string_equal(out, "caf??");
    mail_sanitize_header(NULL, out, sizeof out);
    assert_string_equal(out, "");
    char big[1000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    mail_sanitize_header(big, out, sizeof out);
    assert_int_equal(strlen(out), MAIL_HEADER_VALUE_MAX);
    char small[8];
    mail_sanitize_header("abcdefghijk", small, sizeof small);
    assert_string_equal(small, "abcdefg");
}

static void down_mail(void **state)
{
    (void)state;
    struct alert_rec *a = alert_new(CW_ALERT_DOWN, "https://user:hunter2@api.example.test/health", "billing",
                                    "Connection refused", 1795579400 * S, 1795579420 * S, 0, 3, 0, 1795579421 * S);
    a->last_status = 0;
    struct mail_params mp = params();
    struct cw_buf b = { 0 };
    struct alert_rec *list[] = { a };
    mail_build(&b, &mp, list, 1);
    char *msg = as_string(&b);
    assert_wellformed(msg, b.len);
    assert_non_null(strstr(msg, "Date: Wed, 25 Nov 2026 04:05:06 +0000\r\n"));
    char want[64];
    snprintf(want, sizeof want, "Message-ID: <%016llx@clockwerk>\r\n", (unsigned long long)a->id);
    assert_non_null(strstr(msg, want));
    assert_non_null(strstr(msg, "From: monitor@example.test\r\n"));
    assert_non_null(strstr(msg, "To: ops@example.test, oncall@example.test\r\n"));
    assert_non_null(strstr(msg, "Subject: [clockwerk] DOWN: billing (https://***@api.example.test/health)\r\n"));
    assert_null(strstr(msg, "hunter2"));
    assert_non_null(strstr(msg, "Connection refused"));
    assert_non_null(strstr(msg, "DOWN since 2026-11-25 04:03:20 UTC\r\n")); /* since */
    assert_non_null(strstr(msg, "Failed checks: 3"));
    for (const char *h = "Date:\0Message-ID:\0From:\0To:\0Subject:\0"; *h; h += strlen(h) + 1)
        assert_int_equal(count_headers(msg, h), 1);
    /* the same alert built again gives the same message (a resend is the same message) */
    struct cw_buf b2 = { 0 };
    mail_build(&b2, &mp, list, 1);
    assert_int_equal(b.len, b2.len);
    assert_memory_equal(b.data, b2.data, b.len);
    cw_buf_free(&b2);
    free(msg);
    cw_buf_free(&b);
    alert_free(a);
}

static void header_injection(void **state)
{
    (void)state;
    struct alert_rec *a =
        alert_new(CW_ALERT_DOWN, "http://127.0.0.1:1/x", "x\r\nBcc: evil@example.test",
                  "HTTP/1.1 500\r\nX-Evil: 1\r\n\r\n.\r\nMAIL FROM:<evil@example.test>", 1 * S, 2 * S, 0, 3, 0, 3 * S);
    struct mail_params mp = params();
    struct cw_buf b = { 0 };
    struct alert_rec *list[] = { a };
    mail_build(&b, &mp, list, 1);
    char *msg = as_string(&b);
    assert_wellformed(msg, b.len);
    assert_int_equal(count_headers(msg, "Bcc:"), 0);
    assert_int_equal(count_headers(msg, "X-Evil:"), 0);
    /* the name shows up, on one line, in the subject */
    assert_non_null(strstr(msg, "Subject: [clockwerk] DOWN: x Bcc: evil@example.test (http://127.0.0.1:1/x)\r\n"));
    /* no line of the body starts with what the error tried to inject */
    assert_null(strstr(msg, "\r\nX-Evil"));
    assert_null(strstr(msg, "\r\nMAIL FROM"));
    assert_null(strstr(msg, "\r\n.\r\n"));
    free(msg);
    cw_buf_free(&b);
    alert_free(a);
}

static void up_slow_and_long_lines(void **state)
{
    (void)state;
    char url[3000];
    snprintf(url, sizeof url, "http://127.0.0.1:8080/");
    memset(url + strlen(url), 'p', 2500);
    url[2522] = '\0';
    struct alert_rec *up = alert_new(CW_ALERT_UP, url, NULL, NULL, 200 * S, 200 * S, 125 * S, 12, 0, 201 * S);
    struct alert_rec *slow =
        alert_new(CW_ALERT_SLOW, "http://127.0.0.1:8080/slow", "slow one", NULL, 300 * S, 320 * S, 0, 3, 0, 321 * S);
    slow->last_latency_us = 2345600;
    slow->threshold_us = 1000000;
    struct mail_params mp = params();
    struct cw_buf b = { 0 };
    struct alert_rec *l1[] = { up };
    mail_build(&b, &mp, l1, 1);
    char *msg = as_string(&b);
    assert_wellformed(msg, b.len);
    /* a word too long for one line goes on a folded line of its own */
    assert_non_null(strstr(msg, "Subject: [clockwerk] UP:\r\n http://127.0.0.1:8080/ppp"));
    assert_non_null(strstr(msg, "Downtime:      2m 05s"));
    assert_non_null(strstr(msg, "Last result:   ok\r\n")); /* no HTTP status, no latency known: not "no response" */
    free(msg);
    up->last_latency_us = 1234; /* a tcp check's recovery: its connect time */
    mail_build(&b, &mp, l1, 1);
    msg = as_string(&b);
    assert_non_null(strstr(msg, "Last result:   ok, 1.2 ms\r\n"));
    free(msg);
    struct alert_rec *l2[] = { slow };
    mail_build(&b, &mp, l2, 1);
    msg = as_string(&b);
    assert_wellformed(msg, b.len);
    assert_non_null(strstr(msg, "Subject: [clockwerk] SLOW: slow one (http://127.0.0.1:8080/slow)\r\n"));
    assert_non_null(strstr(msg, "2345.6 ms (threshold 1000.0 ms)"));
    free(msg);
    cw_buf_free(&b);
    alert_free(up);
    alert_free(slow);
}

static void summary_mail(void **state)
{
    (void)state;
    struct alert_rec *list[20];
    for (int i = 0; i < 20; i++) {
        char url[64];
        snprintf(url, sizeof url, "http://127.0.0.1:9/ep%d", i);
        list[i] = alert_new(i < 18 ? CW_ALERT_DOWN : CW_ALERT_UP, url, NULL, "Connection refused", (100 + i) * S,
                            (110 + i) * S, 0, 2, 0, 120 * S);
    }
    struct mail_params mp = params();
    struct cw_buf b = { 0 };
    mail_build(&b, &mp, list, 20);
    char *msg = as_string(&b);
    assert_wellformed(msg, b.len);
    assert_non_null(strstr(msg, "Subject: [clockwerk] 20 endpoints changed state: 18 DOWN, 2 UP\r\n"));
    for (int i = 0; i < 20; i++) {
        char url[64];
        snprintf(url, sizeof url, "http://127.0.0.1:9/ep%d\r\n", i);
        assert_non_null(strstr(msg, url));
    }
    char want[64];
    snprintf(want, sizeof want, "Message-ID: <%016llx@clockwerk>", (unsigned long long)mail_message_key(list, 20));
    assert_non_null(strstr(msg, want));
    assert_true(mail_message_key(list, 20) != mail_message_key(list, 19));
    free(msg);
    cw_buf_free(&b);
    for (int i = 0; i < 20; i++) alert_free(list[i]);
}

/* The test mail to twelve recipients (store: their addresses): more than one line of To:. */
static void build_many_recipients(struct cw_buf *b, char store[12][40], uint64_t nonce)
{
    char *many[12];
    for (int i = 0; i < 12; i++) {
        snprintf(store[i], sizeof store[i], "person%02d@example.test", i);
        many[i] = store[i];
    }
    struct mail_params mp = params();
    mp.to = many;
    mp.n_to = 12;
    mail_build_test(b, &mp, nonce);
}

static void many_recipients_fold(void **state)
{
    (void)state;
    char store[12][40];
    struct cw_buf b = { 0 };
    build_many_recipients(&b, store, 42);
    char *msg = as_string(&b);
    assert_wellformed(msg, b.len);
    assert_non_null(strstr(msg, "Message-ID: <test-000000000000002a@clockwerk>"));
    assert_non_null(strstr(msg, ",\r\n person"));
    assert_int_equal(count_headers(msg, "To:"), 1);
    for (int i = 0; i < 12; i++) assert_non_null(strstr(msg, store[i]));
    free(msg);
    cw_buf_free(&b);
}

/* A resent mail's To: names the current list: the field (folded lines too) is replaced, nothing else. */
static void rewrite_to(void **state)
{
    (void)state;
    char store[12][40];
    struct cw_buf old = { 0 }, out = { 0 };
    build_many_recipients(&old, store, 7); /* a folded To: */
    char *new_list[] = { "new@example.test" };
    assert_true(mail_rewrite_to(&out, (const char *)old.data, old.len, new_list, 1));
    char *msg = as_string(&out);
    assert_wellformed(msg, out.len);
    assert_int_equal(count_headers(msg, "To:"), 1);
    assert_non_null(strstr(msg, "\r\nTo: new@example.test\r\nSubject: "));
    assert_null(strstr(msg, "person"));
    char *before = as_string(&old);
    assert_string_equal(strstr(msg, "\r\n\r\n"), strstr(before, "\r\n\r\n")); /* the body is untouched */
    /* the same list again: nothing to change */
    struct cw_buf again = { 0 };
    assert_false(mail_rewrite_to(&again, msg, out.len, new_list, 1));
    /* a "To:" in the body is not a header */
    const char *body_only = "Subject: x\r\n\r\nTo: someone\r\n";
    assert_false(mail_rewrite_to(&again, body_only, strlen(body_only), new_list, 1));
    free(msg);
    free(before);
    cw_buf_free(&old);
    cw_buf_free(&out);
    cw_buf_free(&again);
}

/* A summary of reminders (or certificate expiries) says what it is, not "changed state". */
static void reminder_summary_subject(void **state)
{
    (void)state;
    struct alert_rec *list[3];
    make_alerts(list, 3, CW_ALERT_REMINDER, "r");
    struct mail_params mp = params();
    struct cw_buf b = { 0 };
    mail_build(&b, &mp, list, 3);
    char *msg = as_string(&b);
    assert_null(strstr(msg, "changed state"));
    assert_non_null(strstr(msg, "Subject: [clockwerk] 3 endpoints still down\r\n"));
    free(msg);
    alert_free(list[2]);
    list[2] = alert_new(CW_ALERT_DOWN, "http://127.0.0.1:9/d", NULL, "refused", 100 * S, 110 * S, 0, 3, 0, 120 * S);
    mail_build(&b, &mp, list, 3);
    msg = as_string(&b);
    assert_null(strstr(msg, "changed state"));
    assert_non_null(strstr(msg, "Subject: [clockwerk] 3 alerts: 1 DOWN, 2 STILL DOWN\r\n"));
    free(msg);
    cw_buf_free(&b);
    free_alerts(list, 3);
}

static void feed_out(struct smtp_rcpt_tracker *t, const char *s) { smtp_rcpt_out(t, s, strlen(s)); }
static void feed_in(struct smtp_rcpt_tracker *t, const char *s) { smtp_rcpt_in(t, s, strlen(s)); }

/* The reply to each RCPT TO, read from what libcurl's debug callback sees, in pieces. */
static void rcpt_replies(void **state)
{
    (void)state;
    struct smtp_rcpt_tracker t = { 0 };
    feed_out(&t, "MAIL FROM:<m@x>\r\n");
    feed_in(&t, "250 OK\r\n");
    feed_out(&t, "RCPT TO:<a@x>\r\n");
    feed_in(&t, "250 OK\r\n");
    feed_out(&t, "RCPT T"); /* a command in two pieces */
    feed_out(&t, "O:<b@x>\r\n");
    feed_in(&t, "550-5.1.1 first line\r\n550 5.1.1 <b@x>: no such ");
    feed_in(&t, "user\r\n");
    feed_out(&t, "rcpt to:<c@x>\r\n");
    feed_in(&t, "450 4.2.1 busy\r\n");
    feed_out(&t, "DATA\r\n");
    feed_in(&t, "354 go ahead\r\n");
    assert_int_equal(t.n, 3);
    assert_int_equal(t.replies[0].code, 250);
    assert_int_equal(t.replies[1].code, 550);
    assert_string_equal(smtp_rcpt_text(&t, 1), "550 5.1.1 <b@x>: no such user");
    assert_int_equal(t.replies[2].code, 450);
    assert_string_equal(smtp_rcpt_text(&t, 3), "no reply");
    enum rcpt_fate fate[4];
    smtp_rcpt_settle(&t, 3, true, fate); /* the DATA was taken */
    assert_int_equal(fate[0], RCPT_SENT);
    assert_int_equal(fate[1], RCPT_REFUSED);
    assert_int_equal(fate[2], RCPT_DUE);
    smtp_rcpt_settle(&t, 3, false, fate); /* the mail failed after the RCPTs: nobody has it */
    assert_int_equal(fate[0], RCPT_DUE);
    assert_int_equal(fate[1], RCPT_DUE);
    assert_int_equal(fate[2], RCPT_DUE);
    smtp_rcpt_free(&t);
    /* every RCPT refused: libcurl fails the transfer, each address settles by its own code */
    feed_out(&t, "RCPT TO:<b@x>\r\n");
    feed_in(&t, "553 5.1.3 bad\r\n");
    feed_out(&t, "RCPT TO:<c@x>\r\n");
    feed_in(&t, "421 4.3.0 later\r\n");
    smtp_rcpt_settle(&t, 2, false, fate);
    assert_int_equal(fate[0], RCPT_REFUSED);
    assert_int_equal(fate[1], RCPT_DUE);
    smtp_rcpt_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sanitize),         cmocka_unit_test(down_mail),
        cmocka_unit_test(header_injection), cmocka_unit_test(up_slow_and_long_lines),
        cmocka_unit_test(summary_mail),     cmocka_unit_test(many_recipients_fold),
        cmocka_unit_test(rewrite_to),       cmocka_unit_test(reminder_summary_subject),
        cmocka_unit_test(rcpt_replies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
