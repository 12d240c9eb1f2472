/* alerter/mail.h — building alert mails: RFC 5322 messages (Date, Message-ID, threading, From, To, Subject,
 * MIME headers, a plain-text body), with every value that reaches a header sanitised.
 *
 * DESIGN
 * Nothing from an endpoint (URL, name, error text) can add a header: header values are cleaned (control
 * characters, CR and LF become spaces, length capped) and text that is not ASCII goes out as RFC 2047
 * encoded-words (UTF-8; alerter/mail_rfc2047.c), never raw; body values pass through a cleaner that keeps UTF-8
 * but removes control characters; the message uses CRLF line ends and no line is longer than 998 bytes.
 * Credentials in URLs are masked (cw_mask_url).
 * Threading: the Message-ID is `<ID@HOST>` with the alert id in 16 hex digits (for a summary, an id derived
 * from the ids of the alerts it lists) and HOST the monitoring host, so a resend is recognisable as the same
 * message; a follow-up of an incident (REMINDER, ESCALATION, UP) names its DOWN in In-Reply-To and References,
 * and keeps the DOWN's endpoint text in its subject. Times are shown in UTC and, with alerts.time_zone, in
 * that zone too (alerter/mail_text.c). */
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

/* Builds the test message of `--test-alert` (Message-ID `<test-HEX@HOST>` with a random HEX). */
void mail_build_test(struct cw_buf *out, const struct mail_params *mp, uint64_t nonce);

/* RFC 5322 date: "Wed, 25 Nov 2026 04:05:06 +0000" (UTC, locale-independent). Needs 32 bytes. */
void mail_format_date(int64_t wall_us, char *out, size_t len);

/* ---- Headers (alerter/mail_rfc2047.c) */

/* Copies in to out for a header that may hold UTF-8: control characters (C0, C1, DEL; CR and LF included)
 * become a space, runs of spaces collapse, a byte that is not part of valid UTF-8 becomes '?', at most
 * min(len - 1, MAIL_HEADER_VALUE_MAX) bytes, never half a character. */
void mail_clean_utf8(const char *in, char *out, size_t len);

/* Appends the field "NAME: value" (value cleaned by mail_clean_utf8; non-ASCII words as RFC 2047 encoded-words
 * of at most 75 characters), folded before column 76 where it has spaces, CRLF-terminated. */
void mail_put_unstructured(struct cw_buf *b, const char *name, const char *value);

/* Splits an email_from, "user@domain" or "Display Name <user@domain>", into its display name ("" when none)
 * and its address (both unsanitised, cut to fit). */
void mail_split_from(const char *from, char *name, size_t name_len, char *addr, size_t addr_len);

/* The address of an email_from (for SMTP's MAIL FROM), sanitised like a header value. */
void mail_from_address(const char *from, char *out, size_t len);

/* Appends the From: field: `"Display Name" <addr>`, the name as encoded-words when it is not ASCII, or the
 * bare address when there is no name; CRLF-terminated. */
void mail_put_from(struct cw_buf *b, const char *from);

/* ---- Times and names (alerter/mail_text.c) */

/* "2026-11-25 04:03:20 UTC", followed by " (05:03:20 CET)" when zone names an IANA zone under
 * /usr/share/zoneinfo (with the local date when it is another day there). Needs 64 bytes. */
void mail_format_time(int64_t wall_us, const char *zone, char *out, size_t len);

/* How long: "4 days 23 hours", "1 hour 5 minutes", "12 minutes", "less than a minute" (the sign ignored). */
void mail_format_left(int64_t us, char *out, size_t len);

/* The host name as the right side of a Message-ID: letters, digits, '-' and '.' (others become '-'), no empty
 * label, at most 253 bytes; "clockwerk" when nothing is left (or host is NULL). */
void mail_clean_host(const char *host, char *out, size_t len);

/* This machine's host name (gethostname, read once), for mail_params.hostname; NULL when it has none. */
const char *mail_local_host(void);

/* The id of the mail a mail about alert a replies to: its incident's DOWN (a->incident_id, or derived from the
 * deterministic ids when 0 for a REMINDER, ESCALATION or UP); 0 when it starts a thread. */
uint64_t mail_thread_key(const struct alert_rec *a);

#endif
