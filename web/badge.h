/* web/badge.h — the badges of clockwerk-web (docs/web.md, "Badges"): /badge/ID/status.svg, uptime-30d.svg and
 * latency.svg, drawn in the layout of shields.io's "flat" style (web/badge.c) with text widths from Verdana's
 * metrics (web/textwidth.c). */
#ifndef CW_WEB_BADGE_H
#define CW_WEB_BADGE_H

#include "common/base/util.h"
#include "web/route.h"

#define WEB_BADGE_CACHE "no-cache, no-store, must-revalidate"

/* The advance width of s (UTF-8) in Verdana at 11 px, in pixels. */
double web_text_width_verdana11(const char *s);
/* The width a badge gives a text: the advance width rounded up to an odd number of pixels (centred text then
 * sits on whole pixels). */
unsigned web_badge_text_width(const char *s);
/* One flat badge: label on grey, message on color ("#rgb" or "#rrggbb"), every text escaped. */
void web_badge_svg(struct cw_buf *b, const char *label, const char *message, const char *color);
/* The route "/badge/": rest is "ID/NAME.svg"; an unknown ID or name is 404. */
void web_badge_page(const struct web_request *rq, struct web_reply *rp);

#endif
