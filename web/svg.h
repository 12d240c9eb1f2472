/* web/svg.h — the response-time chart of an endpoint's page, drawn by the server as inline SVG (no script, no
 * image from anywhere): per hour the mean of each phase (dns, connect, tls, ttfb) stacked from the bottom, the
 * band from p50 to p95, and the p50 and p95 lines; hours without checks leave a gap. */
#ifndef CW_WEB_SVG_H
#define CW_WEB_SVG_H

#include <stddef.h>
#include <stdint.h>

#include "common/base/util.h"
#include "web/history.h"

/* The chart of hours[0..n) (oldest first, one hour apart, the first starting at first_hour_ms) into b: an <svg>
 * element with a <title>; a sentence instead when no hour of them has a latency. */
void web_svg_latency(struct cw_buf *b, const struct web_detail_hour *hours, size_t n, int64_t first_hour_ms);

#endif
