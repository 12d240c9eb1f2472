/* worker/starttls.h — the plain-text exchange before a STARTTLS handshake (tls checks with `starttls`), on a
 * connected non-blocking socket, driven by the socket's readiness.
 *
 * DESIGN
 * - smtp: the greeting (220, multi-line `220-` ... `220 `), `EHLO clockwerk`, its 250 reply must advertise
 *   STARTTLS, `STARTTLS`, and `220`.
 * - imap: the greeting (`* OK`; `* PREAUTH` too), `a1 STARTTLS`, untagged lines skipped, `a1 OK`.
 * - postgres: the 8-byte SSLRequest (length 8, code 80877103), one byte back: `S` (go on) or `N` (no TLS).
 * - Replies are read into a bounded buffer and handled a line at a time (STARTTLS_LINE_MAX); the server may
 *   send nothing of the TLS stream before our ClientHello, so nothing beyond the last reply is read.
 * - A refusal says which step failed and quotes the server's line: `SMTP server does not offer STARTTLS`,
 *   `SMTP STARTTLS refused: "454 TLS not available"`, `PostgreSQL server refuses TLS (SSLRequest answered N)`. */
#ifndef CW_WORKER_STARTTLS_H
#define CW_WORKER_STARTTLS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/config/config.h"

#define STARTTLS_LINE_MAX 1024

struct starttls {
    enum cw_starttls proto;
    int step;
    char in[STARTTLS_LINE_MAX];
    size_t in_len;
    char out[32]; /* a command being written */
    size_t out_len, out_sent;
    bool offered; /* smtp: STARTTLS was in the EHLO reply */
};

enum starttls_status { STARTTLS_DONE = 0, STARTTLS_WANT_READ, STARTTLS_WANT_WRITE, STARTTLS_FAILED };

void starttls_init(struct starttls *st, enum cw_starttls proto);
/* Goes as far as the socket allows. FAILED: why in err (also when the server sent bytes after its STARTTLS reply). */
enum starttls_status starttls_advance(struct starttls *st, int fd, char *err, size_t errlen);
/* What the exchange waits for ("the SMTP greeting", ...): for a timeout's text. */
const char *starttls_waiting_for(const struct starttls *st);
/* "smtp", "imap", "postgres". */
const char *starttls_name(enum cw_starttls proto);

#endif
