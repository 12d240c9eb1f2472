/* web/html.h — escaping writers (HTML and JSON) for what clockwerk-web renders: every text that comes from the
 * configuration, the bus or the database (names, URLs, errors, the title) goes into a page or an answer through
 * one of these, never raw; and the one format of an uptime and of a latency (the pages, the badges, the API). */
#ifndef CW_WEB_HTML_H
#define CW_WEB_HTML_H

#include <stdint.h>
#include <string.h>

#include "common/base/util.h"

/* s (NUL-terminated, trusted: markup or a text already escaped) appended as is: the web's one such helper. */
static inline void put_cstr(struct cw_buf *b, const char *s) { cw_buf_put(b, s, strlen(s)); }

#define WEB_NUM_MAX 32 /* a buffer for web_fmt_uptime / web_fmt_latency */

/* s with & < > " ' as entities (good for text and for quoted attribute values); control characters other than
 * tab and newline become U+FFFD; invalid UTF-8 bytes too. NULL writes nothing. */
void web_html_text(struct cw_buf *b, const char *s);
/* s as a JSON string with its quotes (" \ and control characters escaped; invalid UTF-8 bytes become U+FFFD, so
 * the answer is always valid JSON); NULL writes null. */
void web_json_string(struct cw_buf *b, const char *s);

/* ok / checks (checks > 0) in percent with `decimals` (0 to 6) decimals, rounded DOWN exactly (integers: 99.99999%
 * is never shown as 100, 41/125 is 32.80), "100" when every check was ok. No "%". Into buf; returns buf. */
const char *web_fmt_uptime(char *buf, size_t len, int64_t checks, int64_t ok, int decimals);
/* A latency for people: "0.25 ms", "3.4 ms", "123 ms", "1.23 s"; "–" when unknown (ms < 0). Into buf. */
const char *web_fmt_latency(char *buf, size_t len, double ms);

#endif
