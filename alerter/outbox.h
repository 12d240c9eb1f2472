/* alerter/outbox.h — delivery of alert mails and webhook calls: a bounded queue of jobs driven by its own
 * curl multi handle, in the caller's thread, with retry and exponential backoff.
 *
 * DESIGN
 * A job is one message to one channel: a whole RFC 5322 mail (to every recipient) or one JSON POST to one
 * webhook URL, and the ids of the alerts it carries. Its bytes are built once, when it is queued, so that a
 * retry (or a resend after a restart, from the state file) is the very same message with the same
 * Message-ID. The caller polls the multi handle (curl_multi_poll, with its own fds as extra fds) and calls
 * outbox_run() after each wake-up: nothing here ever blocks. A failed attempt is logged with the SMTP/HTTP
 * error and retried after 1 s, 2 s, 4 s ... at most OUTBOX_BACKOFF_MAX_US: a job is never dropped while the
 * process lives. The queue is bounded (OUTBOX_MAX_JOBS): outbox_add refuses a job beyond it and the caller
 * logs that loudly. Passwords are handed to libcurl and never logged.
 *
 * Recipients (alerter/outbox_mail.c, alerter/smtprcpt.h): a mail job remembers who has it (`sent`) and who
 * refused it for good (`refused`, SMTP 5xx at RCPT TO); each attempt goes to the configured recipients that
 * are in neither list, so an accepted recipient never gets it twice and a 4xx is retried for that address
 * alone. Its To: header is rewritten to the configured list before each attempt, so envelope and header agree
 * after a change of email_to. A mail that every recipient refused for good fails for good (OUTBOX_FAILED).
 *
 * Connections: mail goes one message at a time (OUTBOX_MAIL_PARALLEL); an SMTP connection carries at most
 * OUTBOX_MAIL_PER_CONNECTION messages (exim, by default, queues instead of delivering the eleventh message of
 * one connection), and is closed after the message that leaves no other mail due: no SMTP connection is ever
 * left idle. On stop (outbox_free) every socket of the outbox is shut down first, so that libcurl's goodbyes
 * to a server that hangs (the end of DATA, QUIT) fail at once instead of waiting for its answer.
 *
 * Channels (issue 15, alerter/channel.h): a job names its channel (`chan`, cfg->channels[].name); at each
 * attempt the outbox looks the channel up in the configuration it was last given (outbox_configure), so a
 * reload's new SMTP password, server or recipients apply to mail already queued. An HTTP job carries its whole
 * request (method, URL, headers, body: the URL and headers may hold the channel's secret) and the fingerprint
 * of the channel's destination when it was built (outbox_chan_dest): a job whose channel is gone, or whose
 * channel now points elsewhere or with other credentials, is dropped with a log line. Jobs are named in logs
 * as "channel NAME (TYPE, scheme://host)": never a path, a header value or a token. Jobs without a channel
 * (queued by code that predates channels, or read from an older state file) keep the behaviour before: mail
 * through the `email` settings, webhooks by URL, named "webhook 2 http://host/..." and dropped when that URL is
 * no longer configured. */
#ifndef CW_ALERTER_OUTBOX_H
#define CW_ALERTER_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config/config.h"

#define OUTBOX_MAX_JOBS 4096
#define OUTBOX_BACKOFF_MIN_US 1000000LL
#define OUTBOX_BACKOFF_MAX_US (300 * 1000000LL)
#define OUTBOX_MAIL_PARALLEL 1
#define OUTBOX_MAIL_PER_CONNECTION 10
#define OUTBOX_HOOK_PARALLEL 8

enum outbox_channel { OUTBOX_MAIL = 0, OUTBOX_WEBHOOK = 1 }; /* OUTBOX_WEBHOOK: any HTTP request */

struct outbox_rcpts {
    char **addr; /* bare addresses, malloc'ed */
    size_t n;
};

/* An HTTP request as a channel formatter builds it (alerter/channel.h). */
struct outbox_request {
    const char *method; /* a static string: "POST", "PUT", ... */
    char *url;          /* may hold a secret (a Telegram bot token) */
    char **headers;     /* "Name: value" (values may be secrets) */
    size_t n_headers;
    char *body; /* NUL-terminated */
    size_t body_len;
};
void outbox_request_free(struct outbox_request *r);
/* Appends the header "name: value" to r. */
void outbox_request_header(struct outbox_request *r, const char *name, const char *value);

struct outbox_job {
    uint64_t key;    /* message key: the Message-ID's id, or the webhook body's alert id */
    uint8_t channel; /* enum outbox_channel */
    char *chan;      /* the channel's name (cfg->channels[].name); NULL: a job of before channels */
    char *method;    /* HTTP: "POST", "PUT", ... (NULL: POST) */
    char *target;    /* HTTP: the URL; NULL for mail */
    char **headers;  /* HTTP: extra "Name: value" lines; none: "Content-Type: application/json" */
    size_t n_headers;
    uint64_t dest;       /* HTTP with chan: outbox_chan_dest of the channel when the request was built */
    uint64_t *alert_ids; /* the alerts it carries */
    size_t n_ids;
    char *payload; /* the mail or the JSON body, NUL-terminated */
    size_t payload_len;
    uint32_t attempts;            /* failed attempts so far */
    int64_t next_try_us;          /* monotonic; 0: as soon as possible */
    struct outbox_transfer *xfer; /* non-NULL while in flight */
    struct outbox_rcpts sent;     /* mail: recipients that accepted it */
    struct outbox_rcpts refused;  /* mail: recipients that refused it for good */
};

struct outbox;

enum outbox_outcome {
    OUTBOX_RETRY,     /* failed (or due again for some recipients): the job stays queued and is retried */
    OUTBOX_DELIVERED, /* done: delivered (to every recipient that did not refuse it for good) */
    OUTBOX_FAILED     /* done without delivery: every recipient refused it, or its webhook was removed */
};

struct outbox_report {
    enum outbox_outcome outcome;
    const char *error; /* why it failed, or the recipients refused; NULL when none (already logged) */
    size_t refused;    /* recipients refused for good by this attempt */
};

/* Called when an attempt of a job ends; after OUTBOX_DELIVERED and OUTBOX_FAILED the job is freed right after
 * the call. */
typedef void (*outbox_done_fn)(void *ctx, const struct outbox_job *job, const struct outbox_report *r);

/* The SMTP settings are copied from cfg (outbox_configure again after a reload). */
struct outbox *outbox_new(const struct cw_config *cfg, outbox_done_fn done, void *ctx);
void outbox_configure(struct outbox *ob, const struct cw_config *cfg);
/* Aborts transfers in flight and frees every job. NULL is fine. */
void outbox_free(struct outbox *ob);

/* Queues a job; the outbox takes ownership of payload and alert_ids (malloc'ed), copies target.
 * Returns the job (the caller may fill its sent/refused lists), or NULL when the outbox is full (nothing taken:
 * the caller still owns them). */
struct outbox_job *outbox_add(struct outbox *ob, uint8_t channel, const char *target, uint64_t key, char *payload,
                              size_t payload_len, uint64_t *alert_ids, size_t n_ids, uint32_t attempts);

/* Queues a mail of channel chan (cfg->channels[].name; its SMTP settings are looked up at each attempt). Takes
 * payload and alert_ids as outbox_add does. */
struct outbox_job *outbox_add_mail(struct outbox *ob, const char *chan, uint64_t key, char *payload, size_t payload_len,
                                   uint64_t *alert_ids, size_t n_ids);
/* Queues the HTTP request req of channel chan, built when the channel's destination had the fingerprint dest.
 * Takes req's contents (req is emptied) and alert_ids; NULL when the outbox is full (nothing taken). */
struct outbox_job *outbox_add_http(struct outbox *ob, const char *chan, uint64_t dest, uint64_t key,
                                   struct outbox_request *req, uint64_t *alert_ids, size_t n_ids);
/* Gives a job restored from the state file its channel, method and headers (taken: the pointers are set to
 * NULL) and its destination fingerprint. A job of channel NULL keeps the behaviour of before channels. */
void outbox_job_restore_chan(struct outbox_job *j, char **chan, char **method, char ***headers, size_t *n_headers,
                             uint64_t dest);
/* Room for how many more jobs. */
size_t outbox_room(const struct outbox *ob);
/* The fingerprint of where channel c sends and with which credentials (type, URL, token, chat_id, headers,
 * body_template): a queued HTTP job built for another fingerprint is dropped. */
uint64_t outbox_chan_dest(const struct cw_channel *c);

/* Starts due jobs, advances transfers, reports finished attempts. now_us: monotonic. */
void outbox_run(struct outbox *ob, int64_t now_us);

/* The multi handle to poll (curl_multi_poll), and how long the caller may sleep (ms, >= 0; -1 when there is
 * nothing to wait for). */
void *outbox_multi(struct outbox *ob);
long outbox_timeout_ms(struct outbox *ob, int64_t now_us);

size_t outbox_count(const struct outbox *ob);
const struct outbox_job *outbox_job_at(const struct outbox *ob, size_t i);

/* The backoff before attempt n+1 after n failed attempts (n >= 1). */
int64_t outbox_backoff_us(uint32_t failed_attempts);

void outbox_rcpts_add(struct outbox_rcpts *r, const char *addr);
void outbox_rcpts_free(struct outbox_rcpts *r);

/* Sends one message synchronously (for --test-alert): waits at most timeout_ms. Returns 0, or -1 with the
 * reason in err (a recipient refused counts as a failure: err names it). */
int outbox_send_now(const struct cw_config *cfg, uint8_t channel, const char *target, const char *payload,
                    size_t payload_len, long timeout_ms, char *err, size_t errlen);
/* The same for a message of channel chan of cfg: a mail (req NULL: payload) or the HTTP request req (taken). */
int outbox_send_chan_now(const struct cw_config *cfg, const char *chan, const char *payload, size_t payload_len,
                         struct outbox_request *req, long timeout_ms, char *err, size_t errlen);

#endif
