/* worker/probe_kw.c — the streaming keyword matcher (see probe_kw.h): it keeps only the last keyword-length bytes
 * of the body, so a keyword split across two chunks is still found. */
#include "worker/probe_kw.h"

#include <stdlib.h>
#include <string.h>

#include "common/base/util.h"

void probe_kw_init(struct probe_kw *m) { memset(m, 0, sizeof *m); }

void probe_kw_free(struct probe_kw *m)
{
    free(m->scratch);
    memset(m, 0, sizeof *m);
}

void probe_kw_reset(struct probe_kw *m, const char *kw)
{
    m->kw = kw;
    m->klen = kw ? strlen(kw) : 0;
    m->found = kw && m->klen == 0;
    m->tlen = 0;
    size_t need = m->klen ? 2 * (m->klen - 1) + 1 : 1;
    if (kw && need > m->cap) {
        free(m->scratch);
        m->scratch = cw_xmalloc(need);
        m->cap = need;
    }
}

void probe_kw_feed(struct probe_kw *m, const char *data, size_t n)
{
    if (!m->kw || m->found || n == 0) return;
    size_t keep = m->klen - 1; /* bytes of tail that may start a match */
    /* A match that starts in the tail ends within the first `keep` bytes of this chunk. */
    size_t head = n < keep ? n : keep;
    if (m->tlen && head) {
        memcpy(m->scratch + m->tlen, data, head);
        if (memmem(m->scratch, m->tlen + head, m->kw, m->klen)) {
            m->found = true;
            return;
        }
    }
    if (memmem(data, n, m->kw, m->klen)) {
        m->found = true;
        return;
    }
    if (keep == 0) return;
    /* New tail: the last `keep` bytes of tail + chunk. */
    if (n >= keep) {
        memcpy(m->scratch, data + n - keep, keep);
        m->tlen = keep;
    } else {
        /* scratch holds tail (tlen) followed by the whole chunk (head == n) when tlen > 0 */
        if (m->tlen == 0) memcpy(m->scratch, data, n);
        size_t total = m->tlen + n;
        if (total > keep) {
            memmove(m->scratch, m->scratch + total - keep, keep);
            total = keep;
        }
        m->tlen = total;
    }
}
