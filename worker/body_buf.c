/* worker/body_buf.c — an HTTP check's body in memory under the worker's budget (see body_buf.h). */
#include "worker/body_buf.h"

#include <stdlib.h>
#include <string.h>

#define BODY_BUF_FIRST (16 * 1024)

int body_buf_append(struct body_buf *b, struct body_budget *budget, size_t limit, const char *data, size_t n)
{
    size_t need = b->len + n + 1;
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : BODY_BUF_FIRST;
        while (cap < need) cap *= 2;
        size_t most = limit + 1 > need ? limit + 1 : need; /* a full body and its NUL, never twice that */
        if (cap > most) cap = most;
        size_t more = cap - b->cap;
        if (budget->used + more > budget->max) {
            /* a last try with exactly what is needed */
            cap = need;
            more = cap - b->cap;
            if (budget->used + more > budget->max) return -1;
        }
        char *p = realloc(b->data, cap);
        if (!p) return -1;
        b->data = p;
        b->cap = cap;
        budget->used += more;
    }
    memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

void body_buf_clear(struct body_buf *b)
{
    b->len = 0;
    if (b->data) b->data[0] = '\0';
}

void body_buf_release(struct body_buf *b, struct body_budget *budget)
{
    budget->used -= b->cap <= budget->used ? b->cap : budget->used;
    free(b->data);
    memset(b, 0, sizeof *b);
}
