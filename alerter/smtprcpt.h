/* alerter/smtprcpt.h — which recipients of a mail the SMTP server accepted, and what becomes of each.
 *
 * DESIGN
 * libcurl gives one result for a whole mail. With CURLOPT_MAIL_RCPT_ALLLOWFAILS (7.69; spelled
 * CURLOPT_MAIL_RCPT_ALLOWFAILS from 8.2, the old name stays an alias) it goes on when some RCPT TO are refused,
 * sends the mail to the accepted ones, and fails only when every RCPT TO was refused ("RCPT failed: CODE", the
 * last code) — but it never says which addresses were refused. So the replies are read from its debug callback
 * (CURLOPT_DEBUGFUNCTION): it sees every command libcurl sends (CURLINFO_HEADER_OUT; in plain text also inside
 * TLS) and every reply line it reads (CURLINFO_HEADER_IN). libcurl's SMTP sends the RCPT TO commands one at a
 * time, in the order of CURLOPT_MAIL_RCPT, and reads each reply before it sends the next command (it does not
 * pipeline), so the final reply line ("NNN text", not a continuation "NNN-text") read after the n-th RCPT TO is
 * the answer to the n-th recipient of the list handed to libcurl. The tracker keeps, in order, each RCPT TO's
 * reply code and text, and nothing else of the conversation (AUTH lines carry credentials).
 *
 * smtp_rcpt_settle then decides per recipient: 2xx: it has the mail (when the whole transfer succeeded, i.e.
 * the server took the DATA); 5xx: refused for good, dropped for this mail; 4xx, or a transfer that failed
 * after the RCPTs (DATA refused, connection lost): still due, retried. A transfer that failed because every
 * RCPT TO was refused settles each address by its own code. */
#ifndef CW_ALERTER_SMTPRCPT_H
#define CW_ALERTER_SMTPRCPT_H

#include <stdbool.h>
#include <stddef.h>

#define SMTP_RCPT_TEXT_MAX 160

struct smtp_rcpt_reply {
    int code;                          /* 0: no reply read */
    char text[SMTP_RCPT_TEXT_MAX + 1]; /* the reply line, printable ASCII only */
};

struct smtp_rcpt_tracker {
    struct smtp_rcpt_reply *replies; /* one per RCPT TO sent, in order */
    size_t n, cap;
    bool awaiting;  /* the last command sent was an RCPT TO whose final reply is not read yet */
    char out[16];   /* start of the command line being sent */
    size_t out_len; /* bytes of it seen (may exceed sizeof out: only the start is kept) */
    char in[SMTP_RCPT_TEXT_MAX + 1];
    size_t in_len;
};

/* Feed what the debug callback gets: CURLINFO_HEADER_OUT to _out, CURLINFO_HEADER_IN to _in. */
void smtp_rcpt_out(struct smtp_rcpt_tracker *t, const char *data, size_t len);
void smtp_rcpt_in(struct smtp_rcpt_tracker *t, const char *data, size_t len);
void smtp_rcpt_free(struct smtp_rcpt_tracker *t);

enum rcpt_fate { RCPT_DUE = 0, RCPT_SENT, RCPT_REFUSED };

/* The fate of each of the n_due recipients handed to libcurl (in that order), after a transfer that
 * succeeded (transfer_ok: CURLE_OK) or not. */
void smtp_rcpt_settle(const struct smtp_rcpt_tracker *t, size_t n_due, bool transfer_ok, enum rcpt_fate *fate);

/* The reply to the i-th recipient ("no reply" when none was read). */
const char *smtp_rcpt_text(const struct smtp_rcpt_tracker *t, size_t i);

#endif
