/* tests/fuzz/fuzz_tap.c — libFuzzer harness for the tap's formatters (tap/format.c): the input is a payload
 * frame as heard on the bus; whatever the decoders accept is formatted as text and as JSON. Asserted: a text
 * line is one line (a single final newline, no other control character), a JSON line parses back with json-c
 * into an object, is valid UTF-8, and shows the URL masked as tap_shown_url does. */
#include <stdint.h>
#include <string.h>

#include <json-c/json.h>

#include "common/wire/protocol.h"
#include "tap/format.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t k;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) k = 1, cp = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF) k = 2, cp = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4) k = 3, cp = c & 0x07;
        else return false;
        for (size_t j = 1; j <= k; j++) {
            if (i + j >= n || (s[i + j] & 0xC0) != 0x80) return false;
            cp = cp << 6 | (s[i + j] & 0x3F);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += k + 1;
    }
    return true;
}

static void check_text(const struct cw_buf *b, int n)
{
    FUZZ_ASSERT(n > 0 && (size_t)n == b->len);
    for (size_t i = 0; i + 1 < b->len; i++) FUZZ_ASSERT(b->data[i] >= 0x20 && b->data[i] != 0x7f);
    FUZZ_ASSERT(b->data[b->len - 1] == '\n');
}

static json_object *check_json(const struct cw_buf *b, int n)
{
    FUZZ_ASSERT(n > 0 && (size_t)n == b->len && b->data[b->len - 1] == '\n');
    FUZZ_ASSERT(!memchr(b->data, '\n', b->len - 1));
    FUZZ_ASSERT(valid_utf8(b->data, b->len));
    json_tokener *tok = json_tokener_new();
    if (!tok) abort();
    json_object *o = json_tokener_parse_ex(tok, (const char *)b->data, (int)b->len - 1);
    FUZZ_ASSERT(o && json_tokener_get_error(tok) == json_tokener_success);
    FUZZ_ASSERT(json_object_is_type(o, json_type_object));
    json_tokener_free(tok);
    return o;
}

static void check_url(json_object *o, const char *url)
{
    static char shown[CW_URL_MAX + 64]; /* harness scratch */
    json_object *v = NULL;
    tap_shown_url(url, shown, sizeof shown);
    FUZZ_ASSERT(json_object_object_get_ex(o, "url", &v) && json_object_is_type(v, json_type_string));
    /* equal, unless the shown URL had invalid UTF-8 (replaced by U+FFFD in JSON) */
    if (valid_utf8((const unsigned char *)shown, strlen(shown))) FUZZ_ASSERT(!strcmp(json_object_get_string(v), shown));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct cw_result res[CW_RESULT_BATCH_MAX]; /* harness scratch */
    static struct cw_stats st;
    struct cw_alert al;
    struct cw_buf b = { 0 };
    const char *why = NULL;
    int n = proto_results_decode(data, size, res, CW_RESULT_BATCH_MAX, &why);
    for (int i = 0; i < n; i++) {
        check_text(&b, tap_format_result(&b, &res[i], false));
        json_object *o = check_json(&b, tap_format_result(&b, &res[i], true));
        check_url(o, res[i].url);
        json_object_put(o);
    }
    if (proto_alert_decode(data, size, &al, &why) == 0) {
        check_text(&b, tap_format_alert(&b, &al, false));
        json_object *o = check_json(&b, tap_format_alert(&b, &al, true));
        check_url(o, al.url);
        json_object_put(o);
    }
    if (proto_stats_decode(data, size, &st, &why) == 0) {
        check_text(&b, tap_format_stats(&b, &st, false));
        json_object_put(check_json(&b, tap_format_stats(&b, &st, true)));
    }
    static struct cw_locations_msg loc; /* issue 16: the alerter's LOCATIONS */
    if (proto_locations_decode(data, size, &loc, &why) == 0) {
        check_text(&b, tap_format_locations(&b, &loc, false));
        json_object_put(check_json(&b, tap_format_locations(&b, &loc, true)));
    }
    cw_buf_free(&b);
    return 0;
}
