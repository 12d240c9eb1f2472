/* alerter/outbox_mail.c — a mail job's recipients: who is still due, the SMTP options of one attempt (the
 * recipients due, To: rewritten to the configured list, at most OUTBOX_MAIL_PER_CONNECTION messages per
 * connection), and what the server's reply to each RCPT TO makes of each recipient (see outbox.h
 * "Recipients" and "Connections", alerter/smtprcpt.h for how the replies are read). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerter/mail.h"
#include "alerter/outbox_int.h"
#include "common/base/log.h"
#include "common/base/util.h"

static bool listed(const struct outbox_rcpts *r, const char *addr)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->addr[i], addr) == 0) return true;
    return false;
}

static char *bracketed(const char *addr)
{
    size_t n = strlen(addr) + 3;
    char *p = cw_xmalloc(n);
    snprintf(p, n, "<%s>", addr);
    return p;
}

/* The address of a From value: "user@domain", or the part between <> of "Display Name <user@domain>". */
static char *envelope_from(const char *from)
{
    const char *open = from ? strrchr(from, '<') : NULL;
    const char *close = open ? strchr(open, '>') : NULL;
    if (!open || !close) return bracketed(from ? from : "");
    size_t n = (size_t)(close - open) + 2;
    char *p = cw_xmalloc(n);
    snprintf(p, n, "%.*s", (int)(n - 1), open);
    return p;
}

void outbox_smtp_clear(struct smtp_settings *s)
{
    free(s->url);
    free(s->from);
    for (size_t i = 0; i < s->n_to; i++) free(s->to[i]);
    free(s->to);
    free(s->user);
    if (s->password) {
        memset(s->password, 0, strlen(s->password));
        free(s->password);
    }
    free(s->ca_file);
    memset(s, 0, sizeof *s);
}

void outbox_smtp_set(struct smtp_settings *s, const char *host, int port, enum cw_smtp_tls tls, const char *from,
                     char *const *to, size_t n_to, const char *user, const char *password, const char *ca_file)
{
    outbox_smtp_clear(s);
    s->enabled = true;
    s->tls = tls;
    char url[600];
    bool v6 = strchr(host, ':') != NULL;
    snprintf(url, sizeof url, "%s://%s%s%s:%d", tls == CW_SMTP_TLS ? "smtps" : "smtp", v6 ? "[" : "", host,
             v6 ? "]" : "", port);
    s->url = cw_xstrdup(url);
    s->from = envelope_from(from);
    s->to = cw_xcalloc(n_to ? n_to : 1, sizeof *s->to);
    for (size_t i = 0; i < n_to; i++) s->to[i] = cw_xstrdup(to[i]);
    s->n_to = n_to;
    if (user && user[0]) {
        s->user = cw_xstrdup(user);
        s->password = cw_xstrdup(password ? password : "");
    }
    if (ca_file) s->ca_file = cw_xstrdup(ca_file);
}

void outbox_mail_due(const struct outbox *ob, const struct outbox_job *j, struct outbox_rcpts *due)
{
    outbox_rcpts_free(due);
    const struct smtp_settings *smtp = outbox_smtp_of(ob, j);
    for (size_t i = 0; smtp && i < smtp->n_to; i++) {
        const char *a = smtp->to[i];
        if (!listed(&j->sent, a) && !listed(&j->refused, a) && !listed(due, a)) outbox_rcpts_add(due, a);
    }
}

void outbox_mail_complete(struct outbox *ob, struct outbox_job *j)
{
    char where[700];
    outbox_describe(ob, j, where, sizeof where);
    if (j->sent.n) {
        log_info("%s done: every recipient still configured has it or refused it", where);
        outbox_finish_job(ob, j, &(struct outbox_report){ .outcome = OUTBOX_DELIVERED });
    } else {
        log_error("%s failed for good: no configured recipient is left to send it to", where);
        outbox_finish_job(ob, j, &(struct outbox_report){ .outcome = OUTBOX_FAILED, .error = "no recipient left" });
    }
}

/* Another mail for the same server waits for the connection now: then this one need not be the last on it. */
static bool other_mail_due(const struct outbox *ob, const struct outbox_job *j, int64_t now_us)
{
    const struct smtp_settings *mine = outbox_smtp_of(ob, j);
    for (size_t i = 0; i < ob->n; i++) {
        const struct outbox_job *k = ob->jobs[i];
        if (k == j || k->channel != OUTBOX_MAIL || k->xfer || k->next_try_us > now_us) continue;
        const struct smtp_settings *theirs = outbox_smtp_of(ob, k);
        if (mine && theirs && strcmp(mine->url, theirs->url) == 0) return true;
    }
    return false;
}

static int debug_seen(CURL *easy, curl_infotype type, char *data, size_t size, void *userp)
{
    (void)easy;
    struct outbox_transfer *x = userp;
    if (type == CURLINFO_HEADER_OUT) smtp_rcpt_out(&x->rcpt, data, size);
    else if (type == CURLINFO_HEADER_IN) smtp_rcpt_in(&x->rcpt, data, size);
    return 0;
}

/* To: names the configured list, whatever it was when the message was built. */
static void rewrite_to(const struct smtp_settings *smtp, struct outbox_job *j)
{
    struct cw_buf b = { 0 };
    if (mail_rewrite_to(&b, j->payload, j->payload_len, smtp->to, smtp->n_to)) {
        free(j->payload);
        j->payload = cw_xmalloc(b.len + 1);
        memcpy(j->payload, b.data, b.len);
        j->payload[b.len] = '\0';
        j->payload_len = b.len;
    }
    cw_buf_free(&b);
}

CURLcode outbox_mail_options(struct outbox *ob, struct outbox_transfer *x, int64_t now_us)
{
    struct outbox_job *j = x->job;
    const struct smtp_settings *smtp = outbox_smtp_of(ob, j); /* the caller checked it is there */
    rewrite_to(smtp, j);
    outbox_mail_due(ob, j, &x->due);
    for (size_t i = 0; i < x->due.n; i++) {
        char addr[600];
        snprintf(addr, sizeof addr, "<%s>", x->due.addr[i]);
        struct curl_slist *l = curl_slist_append(x->list, addr);
        if (!l) fatal(1, "out of memory (curl list)");
        x->list = l;
    }
    x->last_on_connection = ob->mail_conn_msgs + 1 >= OUTBOX_MAIL_PER_CONNECTION || !other_mail_due(ob, j, now_us);
    CURL *e = x->easy;
    CURLcode rc = CURLE_OK;
    OUTBOX_SETOPT(rc, e, CURLOPT_URL, smtp->url);
    OUTBOX_SETOPT(rc, e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    OUTBOX_SETOPT(rc, e, CURLOPT_MAIL_FROM, smtp->from);
    OUTBOX_SETOPT(rc, e, CURLOPT_MAIL_RCPT, x->list);
    OUTBOX_SETOPT(rc, e, CURLOPT_MAIL_RCPT_ALLLOWFAILS,
                  1L); /* CURLOPT_MAIL_RCPT_ALLOWFAILS since 8.2, this name kept */
    OUTBOX_SETOPT(rc, e, CURLOPT_DEBUGFUNCTION,
                  debug_seen); /* called only with CURLOPT_VERBOSE; prints nothing itself */
    OUTBOX_SETOPT(rc, e, CURLOPT_DEBUGDATA, x);
    OUTBOX_SETOPT(rc, e, CURLOPT_VERBOSE, 1L);
    OUTBOX_SETOPT(rc, e, CURLOPT_FORBID_REUSE, x->last_on_connection ? 1L : 0L);
    OUTBOX_SETOPT(rc, e, CURLOPT_UPLOAD, 1L);
    OUTBOX_SETOPT(rc, e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)j->payload_len);
    OUTBOX_SETOPT(rc, e, CURLOPT_USE_SSL, (long)(smtp->tls == CW_SMTP_STARTTLS ? CURLUSESSL_ALL : CURLUSESSL_NONE));
    if (smtp->ca_file) OUTBOX_SETOPT(rc, e, CURLOPT_CAINFO, smtp->ca_file);
    if (smtp->no_verify) {
        OUTBOX_SETOPT(rc, e, CURLOPT_SSL_VERIFYPEER, 0L);
        OUTBOX_SETOPT(rc, e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (smtp->user) {
        OUTBOX_SETOPT(rc, e, CURLOPT_USERNAME, smtp->user);
        OUTBOX_SETOPT(rc, e, CURLOPT_PASSWORD, smtp->password);
    }
    return rc;
}

/* Counts the messages of the current connection: a new one was made for x, or x reused it. */
static void count_on_connection(struct outbox *ob, const struct outbox_transfer *x, CURLcode result)
{
    long made = 0;
    if (curl_easy_getinfo(x->easy, CURLINFO_NUM_CONNECTS, &made) != CURLE_OK) made = 1;
    ob->mail_conn_msgs = made > 0 ? 1 : ob->mail_conn_msgs + 1;
    if (x->last_on_connection || result != CURLE_OK) ob->mail_conn_msgs = 0; /* closed after it */
}

/* Settles each recipient of attempt x; lists the refusals in `refusals`. Returns how many were refused for
 * good; *sent_now gets how many accepted. */
static size_t settle(struct outbox_job *j, const struct outbox_transfer *x, CURLcode result, struct cw_buf *refusals,
                     size_t *sent_now)
{
    size_t n = x->due.n, refused = 0;
    enum rcpt_fate *fate = cw_xcalloc(n ? n : 1, sizeof *fate);
    smtp_rcpt_settle(&x->rcpt, n, result == CURLE_OK, fate);
    *sent_now = 0;
    for (size_t i = 0; i < n; i++) {
        const char *addr = x->due.addr[i], *reply = smtp_rcpt_text(&x->rcpt, i);
        bool answered = i < x->rcpt.n && x->rcpt.replies[i].code >= 400;
        if (fate[i] == RCPT_SENT) {
            outbox_rcpts_add(&j->sent, addr);
            (*sent_now)++;
        } else if (fate[i] == RCPT_REFUSED) {
            outbox_rcpts_add(&j->refused, addr);
            refused++;
            log_warn("mail %016" PRIx64 ": recipient <%s>: permanent failure (%s): dropped for this mail", j->key, addr,
                     reply);
        } else if (answered) {
            log_warn("mail %016" PRIx64 ": recipient <%s>: temporary failure (%s): retried for that address", j->key,
                     addr, reply);
        }
        if (fate[i] == RCPT_REFUSED || (fate[i] == RCPT_DUE && answered))
            cw_buf_printf(refusals, "%s<%s> %s", refusals->len ? "; " : "", addr, reply);
    }
    free(fate);
    cw_buf_put(refusals, "", 1); /* NUL-terminated, the NUL not counted */
    refusals->len--;
    return refused;
}

void outbox_mail_finished(struct outbox *ob, struct outbox_transfer *x, struct outbox_job *j, CURLcode result,
                          const char *why, int64_t now_us)
{
    count_on_connection(ob, x, result);
    struct cw_buf refusals = { 0 };
    size_t sent_now = 0, refused = settle(j, x, result, &refusals, &sent_now);
    struct outbox_rcpts due = { 0 };
    outbox_mail_due(ob, j, &due);
    size_t still_due = due.n;
    outbox_rcpts_free(&due);
    char where[700], text[2048];
    outbox_describe(ob, j, where, sizeof where);
    const char *refused_text = refusals.len ? (const char *)refusals.data : NULL;
    if (refused_text && result != CURLE_OK && sent_now == 0)
        snprintf(text, sizeof text, "%s; refused: %s", why, refused_text);
    else if (refused_text) snprintf(text, sizeof text, "refused: %s", refused_text);
    else snprintf(text, sizeof text, "%s", why);
    if (sent_now && still_due) log_info("%s delivered to %zu of %zu recipient(s)", where, sent_now, x->due.n);
    if (still_due) {
        outbox_retry_later(ob, j, text, now_us, refused);
    } else if (j->sent.n) {
        log_info("%s delivered%s%s", where, j->attempts ? " after retries" : "",
                 j->refused.n ? " (some recipients refused it: see above)" : "");
        outbox_finish_job(ob, j,
                          &(struct outbox_report){
                              .outcome = OUTBOX_DELIVERED, .error = refused_text ? text : NULL, .refused = refused });
    } else {
        log_error("%s failed for good: every recipient refused it (%s)", where, text);
        outbox_finish_job(ob, j,
                          &(struct outbox_report){ .outcome = OUTBOX_FAILED, .error = text, .refused = refused });
    }
    cw_buf_free(&refusals);
}
