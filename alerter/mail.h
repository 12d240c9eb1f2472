/* alerter/mail.h — building alert mails: RFC 5322 messages (Date, Message-ID, From, To, Subject, MIME
 * headers, a plain-text body), with every value that reaches a header sanitised.
 *
 * DESIGN
 * Nothing from an endpoint (URL, name, error text) can add a header: header values pass through
 * mail_sanitize_header (control characters, CR and LF become spaces, non-ASCII bytes become '?', length
 * capped), body values through a cleaner that keeps UTF-8 but removes control characters; the message uses
 * CRLF line ends and no line is longer than 998 bytes. Credentials in URLs are masked (cw_mask_url).
 * The Message-ID is `<ID@clockwerk>` with the alert id in 16 hex digits (for a summary, an id derived from
 * the ids of the alerts it lists), so a resend is recognisable as the same message. */
#ifndef CW_ALERTER_MAIL_H
#define CW_ALERTER_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alerter/alert.h"
#include "common/base/util.h"

struct mail_params {
    const char *from;
    char *const *to;
    size_t n_to;
    int64_t date_us; /* wall clock for the Date header */
    /* issue 15 (all optional: NULL/0 keeps the behaviour before them) */
    const char *hostname;  /* the monitoring host: in the Message-ID's domain and the body; NULL: "clockwerk" */
    const char *time_zone; /* alerts.time_zone: times also shown in this IANA zone; NULL: UTC only */
};

#define MAIL_HEADER_VALUE_MAX 200 /* bytes kept of a sanitised free-text header value */

/* Copies in to out for use in a header: CR, LF, TAB and other control characters become a space, bytes
 * >= 0x80 become '?', runs of spaces collapse, at most min(len - 1, MAIL_HEADER_VALUE_MAX) bytes. */
void mail_sanitize_header(const char *in, char *out, size_t len);

/* The id a mail about alerts[0..n) is known by: the alert's id when n == 1, else one derived from all. */
uint64_t mail_message_key(struct alert_rec *const *alerts, size_t n);

/* What a summary of alerts[0..n) is, without the "[clockwerk] " prefix: "20 endpoints changed state: 18 DOWN,
 * 2 UP" when every alert is a state change, "3 endpoints still down" for reminders only, "2 TLS certificates
 * expire soon" for expiries only, else "5 alerts: 1 DOWN, 4 STILL DOWN". */
void mail_summary_title(struct alert_rec *const *alerts, size_t n, char *out, size_t len);

/* Builds the message about alerts[0..n) into out (reset first): one alert when n == 1, a summary listing
 * them all when n > 1. */
void mail_build(struct cw_buf *out, const struct mail_params *mp, struct alert_rec *const *alerts, size_t n);

/* Copies the message msg[0..len) into out (reset first) with its To: field (folded lines included) replaced by
 * one naming to[0..n_to). Returns true when that changed the message; false (out unspecified) when it did
 * not or when the header block has no To: field. */
bool mail_rewrite_to(struct cw_buf *out, const char *msg, size_t len, char *const *to, size_t n_to);

/* Builds the test message of `--test-alert` (Message-ID `<test-HEX@clockwerk>` with a random HEX). */
void mail_build_test(struct cw_buf *out, const struct mail_params *mp, uint64_t nonce);

/* RFC 5322 date: "Wed, 25 Nov 2026 04:05:06 +0000" (UTC, locale-independent). Needs 32 bytes. */
void mail_format_date(int64_t wall_us, char *out, size_t len);

#endif
