/* web/html.c — HTML and JSON string escaping (see web/html.h). */
#include "web/html.h"

#include <string.h>

#define REPLACEMENT "\xEF\xBF\xBD" /* U+FFFD */

/* The valid UTF-8 sequence at p, or U+FFFD for an invalid byte; returns the bytes consumed. */
static size_t put_utf8(struct cw_buf *b, const unsigned char *p)
{
    size_t n = cw_utf8_seq_len(p);
    if (n == 0) {
        cw_buf_put(b, REPLACEMENT, 3);
        return 1;
    }
    cw_buf_put(b, p, n);
    return n;
}

void web_html_text(struct cw_buf *b, const char *s)
{
    if (!s) return;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        const char *entity = NULL;
        switch (*p) {
        case '&':
            entity = "&amp;";
            break;
        case '<':
            entity = "&lt;";
            break;
        case '>':
            entity = "&gt;";
            break;
        case '"':
            entity = "&quot;";
            break;
        case '\'':
            entity = "&#39;";
            break;
        default:
            break;
        }
        if (entity) {
            cw_buf_put(b, entity, strlen(entity));
            p++;
            continue;
        }
        if ((*p < 0x20 && *p != '\t' && *p != '\n') || *p == 0x7f) {
            cw_buf_put(b, REPLACEMENT, 3);
            p++;
            continue;
        }
        p += put_utf8(b, p);
    }
}

void web_json_string(struct cw_buf *b, const char *s)
{
    if (!s) {
        cw_buf_put(b, "null", 4);
        return;
    }
    cw_buf_put(b, "\"", 1);
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (*p == '"' || *p == '\\') {
            char esc[2] = { '\\', (char)*p };
            cw_buf_put(b, esc, 2);
            p++;
            continue;
        }
        if (*p < 0x20 || *p == 0x7f) {
            cw_buf_printf(b, "\\u%04x", (unsigned)*p);
            p++;
            continue;
        }
        p += put_utf8(b, p);
    }
    cw_buf_put(b, "\"", 1);
}
