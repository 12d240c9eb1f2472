/* web/html.c — HTML and JSON string escaping, the uptime and latency formats (see web/html.h). */
#include "web/html.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
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

const char *web_fmt_uptime(char *buf, size_t len, int64_t checks, int64_t ok, int decimals)
{
    if (decimals < 0) decimals = 0;
    if (decimals > 6) decimals = 6;
    if (checks <= 0 || ok >= checks) {
        snprintf(buf, len, "%s", checks <= 0 ? "0" : "100");
        return buf;
    }
    uint64_t scale = 1;
    for (int i = 0; i < decimals; i++) scale *= 10;
    unsigned __int128 units = (unsigned __int128)(ok < 0 ? 0 : ok) * 100 * scale / (uint64_t)checks; /* floor */
    uint64_t whole = (uint64_t)(units / scale), frac = (uint64_t)(units % scale);
    if (decimals) snprintf(buf, len, "%" PRIu64 ".%0*" PRIu64, whole, decimals, frac);
    else snprintf(buf, len, "%" PRIu64, whole);
    return buf;
}

const char *web_fmt_latency(char *buf, size_t len, double ms)
{
    if (ms < 0 || !isfinite(ms)) snprintf(buf, len, "\xE2\x80\x93"); /* – */
    else if (ms >= 1000) snprintf(buf, len, "%.2f s", ms / 1000.0);
    else if (ms >= 10) snprintf(buf, len, "%.0f ms", ms);
    else if (ms >= 1) snprintf(buf, len, "%.1f ms", ms);
    else snprintf(buf, len, "%.2f ms", ms);
    return buf;
}
