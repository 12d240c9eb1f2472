/* worker/starttls.c — the plain-text exchanges of STARTTLS for smtp, imap and postgres (see starttls.h). */
#include "worker/starttls.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "worker/engine_conn.h"

/* The steps of each exchange, in order (their tables are below). */
enum { SMTP_GREETING = 0, SMTP_EHLO, SMTP_EHLO_REPLY, SMTP_STARTTLS, SMTP_STARTTLS_REPLY };
enum { IMAP_GREETING = 0, IMAP_STARTTLS, IMAP_STARTTLS_REPLY };
enum { PG_REQUEST = 0, PG_REPLY, STEP_DONE = 100 };

const char *starttls_name(enum cw_starttls proto)
{
    return proto == CW_STARTTLS_SMTP       ? "smtp"
           : proto == CW_STARTTLS_IMAP     ? "imap"
           : proto == CW_STARTTLS_POSTGRES ? "postgres"
                                           : "none";
}

void starttls_init(struct starttls *st, enum cw_starttls proto)
{
    memset(st, 0, sizeof *st);
    st->proto = proto;
}

const char *starttls_waiting_for(const struct starttls *st)
{
    switch (st->proto) {
    case CW_STARTTLS_SMTP:
        return st->step == SMTP_GREETING     ? "waiting for the SMTP greeting"
               : st->step <= SMTP_EHLO_REPLY ? "waiting for the SMTP EHLO reply"
                                             : "waiting for the SMTP STARTTLS reply";
    case CW_STARTTLS_IMAP:
        return st->step == IMAP_GREETING ? "waiting for the IMAP greeting" : "waiting for the IMAP STARTTLS reply";
    case CW_STARTTLS_POSTGRES:
        return "waiting for the PostgreSQL SSLRequest reply";
    default:
        return "";
    }
}

static void queue(struct starttls *st, const void *bytes, size_t n)
{
    memcpy(st->out, bytes, n);
    st->out_len = n;
    st->out_sent = 0;
}

/* Writes the queued command. DONE when all of it is out. */
static enum starttls_status flush(struct starttls *st, int fd, char *err, size_t errlen)
{
    while (st->out_sent < st->out_len) {
        ssize_t n = send(fd, st->out + st->out_sent, st->out_len - st->out_sent, MSG_NOSIGNAL);
        if (n > 0) {
            st->out_sent += (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return STARTTLS_WANT_WRITE;
        char why[128];
        snprintf(err, errlen, "STARTTLS (%s): sending failed: %s", starttls_name(st->proto),
                 conn_errno_text(errno, why, sizeof why));
        return STARTTLS_FAILED;
    }
    st->out_len = st->out_sent = 0;
    return STARTTLS_DONE;
}

/* Takes one complete line out of the input (without CR LF) into line. 1: a line; 0: need more; -1: failed. */
static int next_line(struct starttls *st, int fd, char *line, size_t linelen, char *err, size_t errlen)
{
    for (;;) {
        char *nl = memchr(st->in, '\n', st->in_len);
        if (nl) {
            size_t n = (size_t)(nl - st->in);
            size_t k = n && st->in[n - 1] == '\r' ? n - 1 : n;
            if (k >= linelen) k = linelen - 1;
            memcpy(line, st->in, k);
            line[k] = '\0';
            memmove(st->in, nl + 1, st->in_len - n - 1);
            st->in_len -= n + 1;
            return 1;
        }
        if (st->in_len >= sizeof st->in) {
            snprintf(err, errlen, "STARTTLS (%s): a reply line longer than %d bytes", starttls_name(st->proto),
                     STARTTLS_LINE_MAX);
            return -1;
        }
        ssize_t n = recv(fd, st->in + st->in_len, sizeof st->in - st->in_len, 0);
        if (n > 0) {
            st->in_len += (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
        char why[128];
        snprintf(err, errlen, "STARTTLS (%s): the server closed the connection %s%s%s", starttls_name(st->proto),
                 starttls_waiting_for(st), n < 0 ? ": " : "", n < 0 ? conn_errno_text(errno, why, sizeof why) : "");
        return -1;
    }
}

/* One SMTP reply line: its code, and whether it is the last of the reply ("250 " vs "250-"). */
static int smtp_code(const char *line, bool *last)
{
    if (strlen(line) < 3 || line[0] < '1' || line[0] > '5' || line[1] < '0' || line[1] > '9' || line[2] < '0' ||
        line[2] > '9')
        return -1;
    *last = line[3] != '-';
    return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

/* A step of a line-based exchange: a command to send, or (send NULL) a reply read a line at a time by on_line,
 * which returns 1 when the reply is complete and good, 0 when more lines belong to it, -1 when it refuses (err). */
struct step {
    const char *send;
    int (*on_line)(struct starttls *st, const char *line, char *err, size_t errlen);
};

static int refused(const char *what, const char *line, char *err, size_t errlen)
{
    char q[512];
    conn_quote(line, strlen(line), 120, q, sizeof q);
    snprintf(err, errlen, "%s refused: %s", what, q);
    return -1;
}

static int smtp_reply(struct starttls *st, const char *line, char *err, size_t errlen)
{
    bool last = true;
    int code = smtp_code(line, &last);
    bool ehlo = st->step == SMTP_EHLO_REPLY;
    if (code != (ehlo ? 250 : 220))
        return refused(st->step == SMTP_GREETING ? "SMTP greeting"
                       : ehlo                    ? "SMTP EHLO"
                                                 : "SMTP STARTTLS",
                       line, err, errlen);
    if (ehlo && strlen(line) >= 4 && strncasecmp(line + 4, "STARTTLS", 8) == 0) st->offered = true;
    if (!last) return 0;
    if (ehlo && !st->offered) {
        snprintf(err, errlen, "SMTP server does not offer STARTTLS");
        return -1;
    }
    return 1;
}

static int imap_greeting(struct starttls *st, const char *line, char *err, size_t errlen)
{
    (void)st;
    if (strncasecmp(line, "* OK", 4) == 0 || strncasecmp(line, "* PREAUTH", 9) == 0) return 1;
    return refused("IMAP greeting", line, err, errlen);
}

static int imap_tagged(struct starttls *st, const char *line, char *err, size_t errlen)
{
    (void)st;
    if (strncmp(line, "* ", 2) == 0) return 0; /* untagged: CAPABILITY, ... */
    if (strncasecmp(line, "a1 OK", 5) == 0) return 1;
    return refused("IMAP STARTTLS", line, err, errlen);
}

static const struct step smtp_steps[] = {
    [SMTP_GREETING] = { NULL, smtp_reply },       [SMTP_EHLO] = { "EHLO clockwerk\r\n", NULL },
    [SMTP_EHLO_REPLY] = { NULL, smtp_reply },     [SMTP_STARTTLS] = { "STARTTLS\r\n", NULL },
    [SMTP_STARTTLS_REPLY] = { NULL, smtp_reply },
};
static const struct step imap_steps[] = {
    [IMAP_GREETING] = { NULL, imap_greeting },
    [IMAP_STARTTLS] = { "a1 STARTTLS\r\n", NULL },
    [IMAP_STARTTLS_REPLY] = { NULL, imap_tagged },
};

/* Runs the steps as far as the socket allows. */
static enum starttls_status run_steps(struct starttls *st, const struct step *steps, int n, int fd, char *err,
                                      size_t errlen)
{
    char line[STARTTLS_LINE_MAX];
    while (st->step < n) {
        const struct step *s = &steps[st->step];
        if (s->send) {
            if (!st->out_len) queue(st, s->send, strlen(s->send));
            enum starttls_status r = flush(st, fd, err, errlen);
            if (r != STARTTLS_DONE) return r;
            st->step++;
            continue;
        }
        int got = next_line(st, fd, line, sizeof line, err, errlen);
        if (got <= 0) return got == 0 ? STARTTLS_WANT_READ : STARTTLS_FAILED;
        int r = s->on_line(st, line, err, errlen);
        if (r < 0) return STARTTLS_FAILED;
        if (r > 0) st->step++;
    }
    return STARTTLS_DONE;
}

static enum starttls_status postgres(struct starttls *st, int fd, char *err, size_t errlen)
{
    static const unsigned char ssl_request[8] = { 0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f }; /* 8, 80877103 */
    if (st->step == PG_REQUEST && !st->out_len) queue(st, ssl_request, sizeof ssl_request);
    if (st->out_len) {
        enum starttls_status s = flush(st, fd, err, errlen);
        if (s != STARTTLS_DONE) return s;
        st->step = PG_REPLY;
    }
    if (st->step == STEP_DONE) return STARTTLS_DONE;
    unsigned char answer;
    ssize_t n = recv(fd, &answer, 1, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return STARTTLS_WANT_READ;
    if (n <= 0) {
        char why[128];
        snprintf(err, errlen, "STARTTLS (postgres): the server closed the connection %s%s%s", starttls_waiting_for(st),
                 n < 0 ? ": " : "", n < 0 ? conn_errno_text(errno, why, sizeof why) : "");
        return STARTTLS_FAILED;
    }
    if (answer == 'S') {
        st->step = STEP_DONE;
        return STARTTLS_DONE;
    }
    if (answer == 'N') snprintf(err, errlen, "PostgreSQL server refuses TLS (SSLRequest answered N)");
    else snprintf(err, errlen, "not a PostgreSQL server (SSLRequest answered 0x%02x)", answer);
    return STARTTLS_FAILED;
}

/* Bytes after the server's STARTTLS reply (read already, or waiting on the socket) would be taken for the start of
 * the TLS handshake, or dropped: the STARTTLS command-injection pattern. A server sends nothing before the client's
 * hello, so any such byte fails the check. */
static enum starttls_status nothing_after_reply(struct starttls *st, int fd, char *err, size_t errlen)
{
    char peek[512];
    ssize_t n = recv(fd, peek, sizeof peek, MSG_PEEK | MSG_DONTWAIT);
    size_t extra = st->in_len + (n > 0 ? (size_t)n : 0);
    if (!extra) return STARTTLS_DONE;
    snprintf(err, errlen, "data after the STARTTLS reply (%zu%s bytes)", extra, n == (ssize_t)sizeof peek ? "+" : "");
    return STARTTLS_FAILED;
}

enum starttls_status starttls_advance(struct starttls *st, int fd, char *err, size_t errlen)
{
    enum starttls_status s;
    switch (st->proto) {
    case CW_STARTTLS_SMTP:
        s = run_steps(st, smtp_steps, (int)(sizeof smtp_steps / sizeof smtp_steps[0]), fd, err, errlen);
        break;
    case CW_STARTTLS_IMAP:
        s = run_steps(st, imap_steps, (int)(sizeof imap_steps / sizeof imap_steps[0]), fd, err, errlen);
        break;
    case CW_STARTTLS_POSTGRES:
        s = postgres(st, fd, err, errlen);
        break;
    default:
        return STARTTLS_DONE;
    }
    return s == STARTTLS_DONE ? nothing_after_reply(st, fd, err, errlen) : s;
}
