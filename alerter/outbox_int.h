/* alerter/outbox_int.h — what alerter/outbox.c (the queue, the transfers, the sockets) and
 * alerter/outbox_mail.c (a mail's recipients and its SMTP options) share; nobody else includes it. */
#ifndef CW_ALERTER_OUTBOX_INT_H
#define CW_ALERTER_OUTBOX_INT_H

#include <curl/curl.h>

#include "alerter/outbox.h"
#include "alerter/smtprcpt.h"

struct outbox_transfer {
    CURL *easy;
    struct curl_slist *list; /* recipients (mail) or headers (webhook) */
    size_t sent;             /* bytes of the payload handed to libcurl (mail) */
    char errbuf[CURL_ERROR_SIZE];
    char resp[160]; /* start of the webhook's response body, for logs */
    size_t resp_len;
    struct outbox_job *job;
    struct outbox_rcpts due;       /* mail: the recipients of this attempt, in the order given to libcurl */
    struct smtp_rcpt_tracker rcpt; /* mail: the server's reply to each of them */
    bool last_on_connection;       /* mail: CURLOPT_FORBID_REUSE was set */
};

struct smtp_settings {
    bool enabled;
    char *url;
    char *from; /* "<addr>" */
    char **to;  /* bare addresses, as configured */
    size_t n_to;
    char *user;
    char *password;
    char *ca_file;
    enum cw_smtp_tls tls;
    bool no_verify; /* the channel's verify_tls = false */
};

/* A channel as the outbox knows it (from cfg->channels at outbox_configure). */
struct outbox_chan {
    char *name;
    enum cw_channel_type type;
    uint64_t dest; /* outbox_chan_dest */
    bool verify_tls;
    struct smtp_settings smtp; /* email channels */
};

struct outbox {
    CURLM *multi;
    struct outbox_chan *chans;
    size_t n_chans;
    struct outbox_job **jobs;
    size_t n, cap;
    unsigned in_flight[2];
    struct smtp_settings smtp;
    char **hooks; /* the configured webhook URLs, in order (for names in logs) */
    size_t n_hooks;
    unsigned mail_conn_msgs; /* messages on the current SMTP connection, this one included once started */
    int *socks;              /* every socket libcurl opened for this outbox and has not closed */
    size_t n_socks, cap_socks;
    outbox_done_fn done;
    void *ctx;
};

/* Sets one libcurl option unless an earlier one failed (rc: a CURLcode variable). */
#define OUTBOX_SETOPT(rc, easy, opt, val) ((rc) = (rc) == CURLE_OK ? curl_easy_setopt((easy), (opt), (val)) : (rc))

/* outbox.c */
/* Frees a job that is not (or no longer) in the queue. */
void outbox_job_free(struct outbox_job *j);
/* Queues j (made by the caller); NULL when the outbox is full (j untouched). */
struct outbox_job *outbox_push(struct outbox *ob, struct outbox_job *j);

/* outbox_chan.c */
/* Where a job goes, safe to log. */
void outbox_describe(const struct outbox *ob, const struct outbox_job *j, char *out, size_t len);
/* Drops (OUTBOX_FAILED) the idle jobs whose channel is gone or points elsewhere now. */
void outbox_drop_stale(struct outbox *ob);
void outbox_chans_clear(struct outbox *ob);
void outbox_chans_set(struct outbox *ob, const struct cw_config *cfg);
/* The channel named name, or NULL. */
const struct outbox_chan *outbox_chan_find(const struct outbox *ob, const char *name);
/* The SMTP settings a mail job goes out with: its channel's, or the `email` group's for a job without one;
 * NULL when there are none (the channel is gone or is not email, or email is off). */
const struct smtp_settings *outbox_smtp_of(const struct outbox *ob, const struct outbox_job *j);
/* The place of a legacy webhook URL in the configuration (1-based), 0 when it is no longer configured. */
size_t outbox_hook_number(const struct outbox *ob, const char *url);

/* outbox.c */
void outbox_retry_later(struct outbox *ob, struct outbox_job *j, const char *why, int64_t now_us, size_t refused);
void outbox_finish_job(struct outbox *ob, struct outbox_job *j, const struct outbox_report *r);

/* outbox_mail.c */
/* Fills s from the SMTP keys given (the `email` group or an email channel). */
void outbox_smtp_set(struct smtp_settings *s, const char *host, int port, enum cw_smtp_tls tls, const char *from,
                     char *const *to, size_t n_to, const char *user, const char *password, const char *ca_file);
void outbox_smtp_clear(struct smtp_settings *s);
/* The configured recipients that have neither accepted nor refused job j for good, into due (reset first). */
void outbox_mail_due(const struct outbox *ob, const struct outbox_job *j, struct outbox_rcpts *due);
/* A mail job with nobody left to send to: delivered when someone has it, failed otherwise. */
void outbox_mail_complete(struct outbox *ob, struct outbox_job *j);
/* Sets the SMTP options of x (x->due filled): returns the first libcurl error. */
CURLcode outbox_mail_options(struct outbox *ob, struct outbox_transfer *x, int64_t now_us);
/* The attempt x of job j (detached from x) ended with result: settles each recipient, logs, reports (j may be
 * freed on return). The caller frees x afterwards. */
void outbox_mail_finished(struct outbox *ob, struct outbox_transfer *x, struct outbox_job *j, CURLcode result,
                          const char *why, int64_t now_us);

#endif
