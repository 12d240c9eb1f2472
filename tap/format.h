/* tap/format.h — how clockwerk-tap shows what it hears on the bus: one plain-text line or one JSON object
 * (json-c) per result, alert or stats message. Every URL is shown masked (cw_mask_url) and control
 * characters from the wire never reach the terminal. docs/protocol.md lists the JSON keys.
 *
 * Each function writes one complete line (with its newline) into out and returns its length, or -1 when
 * memory ran out. out is reset first and owned by the caller. */
#ifndef CW_TAP_FORMAT_H
#define CW_TAP_FORMAT_H

#include <stdbool.h>

#include "common/wire/protocol.h"
#include "common/base/util.h"

/* `2026-11-25T04:05:06.123Z http://127.0.0.1:8089/ 200 12.3ms OK`, or `... 0 1.2ms FAIL <error>`; a result of a
 * named location (not the default "local") shows ` location=NAME` after the latency. */
int tap_format_result(struct cw_buf *out, const struct cw_result *r, bool json);

/* `2026-11-25T04:05:06.123Z ALERT down http://... (name) email=pending webhook=none: message`. */
int tap_format_alert(struct cw_buf *out, const struct cw_alert *a, bool json);

/* `stats worker 0 boot ab12cd34ef560789: checks=123 in_flight=3 ...`. */
int tap_format_stats(struct cw_buf *out, const struct cw_stats *s, bool json);

/* `2026-11-25T04:05:06.123Z LOCATIONS central live (2 workers, offset +0.1ms, rtt 0.4ms); fra silent (...); ...`:
 * each location's state as the alerter sees it (issue 16). */
int tap_format_locations(struct cw_buf *out, const struct cw_locations_msg *m, bool json);

/* The masked URL, as shown (and as --filter matches it). out must hold CW_URL_MAX + 1 bytes. */
void tap_shown_url(const char *url, char *out, size_t outlen);

#endif
