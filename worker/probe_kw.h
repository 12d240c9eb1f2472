/* worker/probe_kw.h — a streaming keyword matcher with bounded memory: it keeps only the last keyword-length bytes
 * of what it was fed, so a keyword split across two chunks is still found. Used by the HTTP probe (the body,
 * worker/probe.h) and the tcp check (the reply's `expect`, worker/check_tcp.c). */
#ifndef CW_WORKER_PROBE_KW_H
#define CW_WORKER_PROBE_KW_H

#include <stdbool.h>
#include <stddef.h>

struct probe_kw {
    const char *kw; /* NULL: no keyword wanted (found stays false) */
    size_t klen;
    bool found;
    char *scratch; /* owned: the tail (klen-1 bytes) plus room for as many bytes of the next chunk */
    size_t tlen;   /* bytes of tail held at the start of scratch */
    size_t cap;
};
void probe_kw_init(struct probe_kw *m);
void probe_kw_free(struct probe_kw *m);
/* Starts a new body; kw is borrowed (must outlive the matching). Grows scratch only for a longer keyword. */
void probe_kw_reset(struct probe_kw *m, const char *kw);
void probe_kw_feed(struct probe_kw *m, const char *data, size_t n);

#endif
