/* web/html.h — escaping writers (HTML and JSON) for what clockwerk-web renders: every text that comes from the
 * configuration, the bus or the database (names, URLs, errors, the title) goes into a page or an answer through
 * one of these, never raw. */
#ifndef CW_WEB_HTML_H
#define CW_WEB_HTML_H

#include "common/base/util.h"

/* s with & < > " ' as entities (good for text and for quoted attribute values); control characters other than
 * tab and newline become U+FFFD; invalid UTF-8 bytes too. NULL writes nothing. */
void web_html_text(struct cw_buf *b, const char *s);
/* s as a JSON string with its quotes (" \ and control characters escaped; invalid UTF-8 bytes become U+FFFD, so
 * the answer is always valid JSON); NULL writes null. */
void web_json_string(struct cw_buf *b, const char *s);

#endif
