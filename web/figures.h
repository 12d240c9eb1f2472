/* web/figures.h — the figures of the check types beyond HTTP as clockwerk-web shows them: parsed once from a
 * result's JSON figures (docs/protocol.md 2.3) into struct web_figures (web/model.h), the one-line headline of an
 * endpoint's type on the pages (DNS rcode and answers, ICMP loss and average round trip, TLS version and days left,
 * TCP connect time, push "last call N s ago"), and the figures as a JSON value for the API. */
#ifndef CW_WEB_FIGURES_H
#define CW_WEB_FIGURES_H

#include <stddef.h>
#include <stdint.h>

#include "common/base/util.h"
#include "web/model.h"

#define WEB_HEADLINE_MAX 96

/* Fills f from figures (NULL or one JSON object); what it does not say stays unknown (-1, ""). */
void web_figures_parse(const char *figures, struct web_figures *f);

/* A push check's last call from its figures: checked_at_us for a call (status up or down), checked_at_us - gap_s
 * for a silence that names one (status missing), 0 when they tell none. */
int64_t web_push_last_call_us(const struct web_figures *f, int64_t checked_at_us);

/* The headline of e's type from its last check, "" for http (and for a type whose check said nothing yet). now_ms:
 * wall clock, UTC milliseconds. Returns buf. */
const char *web_headline(const struct web_endpoint *e, int64_t now_ms, char *buf, size_t len);

/* figures as a JSON value: the object itself when it is one well-formed JSON object (the database's copy is
 * checked again), else null. */
void web_put_details(struct cw_buf *b, const char *figures);

#endif
