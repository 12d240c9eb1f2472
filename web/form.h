/* web/form.h — the small application/x-www-form-urlencoded bodies of POSTs to /push (a job's `curl -d
 * status=down&msg=...`), read into a fixed pool so that their memory is bounded.
 *
 * DESIGN
 * - A POST with that content type gets a form from the pool when its headers are in (web/http.c); its body is
 *   gathered, at most WEB_FORM_MAX bytes (beyond: 413), and decoded into the request's arguments after those of
 *   the query, so the query wins when both name one. Other content types: the query string only.
 * - At most WEB_FORMS_MAX such bodies are read at once (WEB_FORMS_MAX x WEB_FORM_MAX of memory); beyond, 503.
 * - The pool is also how a request's con_cls is known to be a form (web_form_owns): an address inside it. */
#ifndef CW_WEB_FORM_H
#define CW_WEB_FORM_H

#include <stdbool.h>
#include <stddef.h>

#include "web/route.h"

#define WEB_FORM_MAX 4096
#define WEB_FORMS_MAX 64

struct web_form {
    bool used, too_big;
    size_t len;
    char data[WEB_FORM_MAX + 1];
};

struct web_forms {
    struct web_form slot[WEB_FORMS_MAX];
};

/* Whether a request's Content-Type (may be NULL) is application/x-www-form-urlencoded. */
bool web_form_wanted(const char *content_type);
/* A free form of the pool (emptied), or NULL when all are in use. */
struct web_form *web_form_take(struct web_forms *fs);
/* Whether p is a form of the pool. */
bool web_form_owns(const struct web_forms *fs, const void *p);
/* Appends a piece of the body (too_big once it passes WEB_FORM_MAX; the rest is dropped). */
void web_form_feed(struct web_form *f, const char *data, size_t n);
/* Decodes the body in place into args[n..room) ('+' a space, %XX a byte); the new count. */
size_t web_form_args(struct web_form *f, struct web_arg *args, size_t n, size_t room);
/* Gives the form back to the pool. */
void web_form_give(struct web_form *f);

#endif
