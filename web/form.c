/* web/form.c — urlencoded POST bodies in a bounded pool (see web/form.h). */
#include "web/form.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>

bool web_form_wanted(const char *content_type)
{
    static const char type[] = "application/x-www-form-urlencoded";
    if (!content_type || strncasecmp(content_type, type, sizeof type - 1) != 0) return false;
    char next = content_type[sizeof type - 1];
    return next == '\0' || next == ';' || next == ' ' || next == '\t';
}

struct web_form *web_form_take(struct web_forms *fs)
{
    for (size_t i = 0; i < WEB_FORMS_MAX; i++) {
        struct web_form *f = &fs->slot[i];
        if (f->used) continue;
        f->used = true;
        f->too_big = false;
        f->len = 0;
        f->data[0] = '\0';
        return f;
    }
    return NULL;
}

bool web_form_owns(const struct web_forms *fs, const void *p)
{
    if (!fs || !p) return false;
    uintptr_t at = (uintptr_t)p, first = (uintptr_t)&fs->slot[0], end = (uintptr_t)&fs->slot[WEB_FORMS_MAX];
    return at >= first && at < end && (at - first) % sizeof fs->slot[0] == 0;
}

void web_form_feed(struct web_form *f, const char *data, size_t n)
{
    if (f->too_big || n > WEB_FORM_MAX - f->len) {
        f->too_big = true;
        return;
    }
    memcpy(f->data + f->len, data, n);
    f->len += n;
    f->data[f->len] = '\0';
}

/* '+' as a space, then %XX decoded (libmicrohttpd's unescape), in place. */
static void decode(char *s)
{
    for (char *p = s; *p; p++)
        if (*p == '+') *p = ' ';
    MHD_http_unescape(s);
}

size_t web_form_args(struct web_form *f, struct web_arg *args, size_t n, size_t room)
{
    char *p = f->data;
    while (*p && n < room) {
        char *end = p + strcspn(p, "&");
        bool last = *end == '\0';
        *end = '\0';
        char *eq = strchr(p, '=');
        if (eq) *eq = '\0';
        if (*p) {
            decode(p);
            if (eq) decode(eq + 1);
            args[n++] = (struct web_arg){ .key = p, .value = eq ? eq + 1 : "" };
        }
        if (last) break;
        p = end + 1;
    }
    return n;
}

void web_form_give(struct web_form *f) { f->used = false; }
