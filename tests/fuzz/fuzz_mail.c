/* tests/fuzz/fuzz_mail.c — libFuzzer harness for the mail builder (alerter/mail.c): endpoint names, URLs,
 * error texts and addresses from the input (fuzz_alerts.h) go into one-alert mails, a two-alert summary and
 * the test mail, with the host name from the input too. Asserted on every message: the header block holds the
 * expected headers once each (In-Reply-To and References at most once; continuation lines only inside To, From
 * and Subject), every header value is printable ASCII (UTF-8 only as RFC 2047 encoded-words), CR and LF appear only as
 * CRLF line ends, no line is longer than 998 bytes, and the URL's password never appears. */
#include <stdint.h>
#include <string.h>

#include "alerter/mail.h"
#include "common/base/log.h"
#include "tests/fuzz/fuzz_alerts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    log_init("fuzz", LOG_LVL_ERROR + 1);
    return 0;
}

static const char *const expected[] = { "Date",           "Message-ID",   "From",         "To",
                                        "Subject",        "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
                                        "Auto-Submitted", "X-Mailer",     "In-Reply-To",  "References" };
#define N_EXPECTED (sizeof expected / sizeof expected[0])
#define N_REQUIRED 10 /* the rest: at most once */

static bool may_fold(const char *name)
{
    return !strcmp(name, "To") || !strcmp(name, "From") || !strcmp(name, "Subject");
}

static void check_mail(const struct cw_buf *m, bool check_secret)
{
    const char *s = (const char *)m->data;
    size_t len = m->len;
    FUZZ_ASSERT(len > 4);
    FUZZ_ASSERT(!memchr(s, '\0', len));
    /* CR and LF only as CRLF; lines of at most 998 bytes */
    size_t line_start = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\r') FUZZ_ASSERT(i + 1 < len && s[i + 1] == '\n');
        if (s[i] == '\n') {
            FUZZ_ASSERT(i > 0 && s[i - 1] == '\r');
            FUZZ_ASSERT(i - 1 - line_start <= 998);
            line_start = i + 1;
        }
    }
    FUZZ_ASSERT(len - line_start <= 998);
    FUZZ_ASSERT(len >= 2 && s[len - 2] == '\r' && s[len - 1] == '\n');
    /* the header block */
    const char *end = memmem(s, len, "\r\n\r\n", 4);
    FUZZ_ASSERT(end);
    unsigned seen[N_EXPECTED] = { 0 };
    size_t last = N_EXPECTED;
    for (const char *p = s; p < end + 2;) {
        const char *eol = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
        FUZZ_ASSERT(eol);
        size_t n = (size_t)(eol - p);
        FUZZ_ASSERT(n > 0);
        for (size_t i = 0; i < n; i++) FUZZ_ASSERT((unsigned char)p[i] >= 0x20 && (unsigned char)p[i] < 0x7f);
        if (p[0] == ' ' || p[0] == '\t') {
            FUZZ_ASSERT(last < N_EXPECTED && may_fold(expected[last]));
        } else {
            const char *colon = memchr(p, ':', n);
            FUZZ_ASSERT(colon && colon + 1 < eol && colon[1] == ' ');
            size_t k = 0;
            for (; k < N_EXPECTED; k++)
                if (strlen(expected[k]) == (size_t)(colon - p) && !memcmp(expected[k], p, (size_t)(colon - p))) break;
            FUZZ_ASSERT(k < N_EXPECTED);
            seen[k]++;
            last = k;
        }
        p = eol + 2;
    }
    for (size_t k = 0; k < N_EXPECTED; k++) FUZZ_ASSERT(k < N_REQUIRED ? seen[k] == 1 : seen[k] <= 1);
    if (check_secret) FUZZ_ASSERT(!memmem(s, len, FUZZ_SECRET, strlen(FUZZ_SECRET)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_alerts fa;
    fuzz_alerts_make(&fa, data, size);
    struct mail_params mp = {
        .from = fa.from, .to = fa.to, .n_to = 2, .date_us = fa.a[1]->since_us, .hostname = fa.ff.f[3]
    };
    struct cw_buf m = { 0 };
    fa.a[1]->incident_id = fa.a[0]->id; /* a follow-up: In-Reply-To and References */
    mail_build(&m, &mp, &fa.a[0], 1);
    check_mail(&m, !fa.secret_in_input);
    mail_build(&m, &mp, &fa.a[1], 1);
    check_mail(&m, !fa.secret_in_input);
    mp.n_to = 1;
    mp.date_us = INT64_MIN;
    mp.time_zone = "Europe/Berlin";
    mail_build(&m, &mp, fa.a, 2);
    check_mail(&m, !fa.secret_in_input);
    mail_build_test(&m, &mp, (uint64_t)size * 0x9e3779b97f4a7c15ULL);
    check_mail(&m, !fa.secret_in_input); /* the addresses come from the input too */
    cw_buf_free(&m);

    /* the sanitiser alone, into small buffers */
    char small[8], big[MAIL_HEADER_VALUE_MAX + 1];
    for (size_t l = 0; l <= sizeof small; l++) {
        memset(small, 'Z', sizeof small);
        mail_sanitize_header(fa.ff.f[0], small, l);
        if (l) FUZZ_ASSERT(strlen(small) < l);
    }
    mail_sanitize_header(fa.ff.f[2], big, sizeof big);
    for (const char *p = big; *p; p++) FUZZ_ASSERT((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
    fuzz_alerts_free(&fa);
    return 0;
}
