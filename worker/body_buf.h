/* worker/body_buf.h — the body of an HTTP check held in memory, for the assertions that need it whole (a body
 * regex, a JSON condition: worker/http_assert.h), under a budget shared by every check of the worker.
 *
 * DESIGN
 * A check without such an assertion never has one (its keywords are matched as the body streams by). A buffer
 * grows geometrically up to the endpoint's body_limit (at most 64 MiB) plus its NUL, never beyond; each growth is charged to the worker's
 * budget (PROBE_BODY_BUDGET, CLOCKWERK_BODY_BUDGET_BYTES), and given back when the check is released. When the
 * budget has no room the check fails with a clear error instead of the worker growing without bound: 1,024 checks
 * in flight with a 64 MiB limit would otherwise be 64 GiB. */
#ifndef CW_WORKER_BODY_BUF_H
#define CW_WORKER_BODY_BUF_H

#include <stddef.h>

struct body_budget {
    size_t used, max; /* bytes of buffer held by the worker's checks, and the bound */
};

struct body_buf {
    char *data; /* NUL-terminated after len (for the matchers' convenience) */
    size_t len, cap;
};

/* Appends n bytes to a body of at most limit bytes (the buffer never holds more than limit + 1); 0, or -1 when the budget cannot give the room (nothing appended, the buffer kept). */
int body_buf_append(struct body_buf *b, struct body_budget *budget, size_t limit, const char *data, size_t n);
/* Empties the buffer but keeps its memory (the next hop of the same check). */
void body_buf_clear(struct body_buf *b);
/* Frees the memory and gives it back to the budget. */
void body_buf_release(struct body_buf *b, struct body_budget *budget);

#endif
