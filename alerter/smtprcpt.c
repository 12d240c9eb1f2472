/* alerter/smtprcpt.c — per-recipient SMTP replies read from libcurl's debug callback (see smtprcpt.h). */
#include "alerter/smtprcpt.h"

#include <stdlib.h>
#include <strings.h>

#include "common/base/util.h"

static void reply_line(struct smtp_rcpt_tracker *t);

static void command_sent(struct smtp_rcpt_tracker *t)
{
    t->awaiting = t->out_len >= 8 && strncasecmp(t->out, "RCPT TO:", 8) == 0;
    if (!t->awaiting) return;
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 8;
        t->replies = cw_xrealloc(t->replies, t->cap * sizeof *t->replies);
    }
    t->replies[t->n++] = (struct smtp_rcpt_reply){ 0 };
}

/* Collects data into lines (the first cap bytes of each kept in buf); calls done at the end of each line. */
static void take_lines(struct smtp_rcpt_tracker *t, char *buf, size_t cap, size_t *len, const char *data, size_t n,
                       void (*done)(struct smtp_rcpt_tracker *))
{
    for (size_t i = 0; i < n; i++) {
        if (data[i] != '\n') {
            if (*len < cap) buf[(*len)++] = data[i];
            continue;
        }
        done(t);
        *len = 0;
    }
}

void smtp_rcpt_out(struct smtp_rcpt_tracker *t, const char *data, size_t len)
{
    take_lines(t, t->out, sizeof t->out, &t->out_len, data, len, command_sent);
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static void reply_line(struct smtp_rcpt_tracker *t)
{
    const char *l = t->in;
    size_t n = t->in_len;
    while (n > 0 && (l[n - 1] == '\r' || l[n - 1] == ' ')) n--;
    if (!t->awaiting || t->n == 0 || n < 3 || !is_digit(l[0]) || !is_digit(l[1]) || !is_digit(l[2])) return;
    if (n > 3 && l[3] == '-') return; /* a continuation line: the final one follows */
    struct smtp_rcpt_reply *r = &t->replies[t->n - 1];
    r->code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
    size_t o = 0;
    for (size_t i = 0; i < n && o < SMTP_RCPT_TEXT_MAX; i++) r->text[o++] = (l[i] >= 0x20 && l[i] < 0x7f) ? l[i] : ' ';
    r->text[o] = '\0';
    t->awaiting = false;
}

void smtp_rcpt_in(struct smtp_rcpt_tracker *t, const char *data, size_t len)
{
    take_lines(t, t->in, SMTP_RCPT_TEXT_MAX, &t->in_len, data, len, reply_line);
}

void smtp_rcpt_free(struct smtp_rcpt_tracker *t)
{
    free(t->replies);
    *t = (struct smtp_rcpt_tracker){ 0 };
}

static int code_of(const struct smtp_rcpt_tracker *t, size_t i) { return i < t->n ? t->replies[i].code : 0; }

void smtp_rcpt_settle(const struct smtp_rcpt_tracker *t, size_t n_due, bool transfer_ok, enum rcpt_fate *fate)
{
    bool all_refused = n_due > 0;
    for (size_t i = 0; i < n_due; i++) {
        int c = code_of(t, i);
        if (c < 400 || c > 599) all_refused = false;
    }
    for (size_t i = 0; i < n_due; i++) {
        int c = code_of(t, i);
        if (transfer_ok) /* the server took the DATA: whoever was not refused has it */
            fate[i] = c >= 500 && c <= 599 ? RCPT_REFUSED : c >= 400 && c <= 499 ? RCPT_DUE : RCPT_SENT;
        else if (all_refused) fate[i] = c >= 500 ? RCPT_REFUSED : RCPT_DUE;
        else fate[i] = RCPT_DUE; /* the mail itself failed: nobody has it */
    }
}

const char *smtp_rcpt_text(const struct smtp_rcpt_tracker *t, size_t i)
{
    return i < t->n && t->replies[i].code ? t->replies[i].text : "no reply";
}
