/* web/history_wait.c — the loop's side of the history (web/history_wait.h): the snapshot swap, the `hist`
 * pointers, and the requests that wait suspended for an endpoint's detail.
 *
 * A detail is shared: a reference-counted holder (struct web_detail_ref) that the cache and every request
 * answered with it hold; it is freed when the last lets go. A request's wait (its con_cls) lives until
 * libmicrohttpd's completion callback, so a client that went away while suspended costs nothing but that wait:
 * on resume libmicrohttpd finds the socket closed and completes the request, which frees it. */
#include "web/history_wait.h"

#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/clock.h"
#include "common/base/util.h"

struct web_detail_ref {
    struct web_detail *d;
    char *url;
    unsigned refs;
    int64_t at_mono_ns;
};

struct web_wait {
    struct MHD_Connection *c;
    char *url;                  /* the endpoint's */
    struct web_detail_ref *ref; /* the answer; NULL while waiting */
    bool stopping;              /* resumed by the stop: answered with stopping_detail */
    struct web_wait *next;      /* in hl->waiting while waiting */
};

static const struct web_detail stopping_detail = { .error = "clockwerk-web is stopping" };

static void ref_release(struct web_detail_ref *r)
{
    if (!r || --r->refs > 0) return;
    web_detail_free(r->d);
    free(r->url);
    free(r);
}

static struct web_detail_ref *cache_find(struct web_history_loop *hl, const char *url, int64_t now)
{
    for (int i = 0; i < WEB_DETAIL_CACHE; i++) {
        struct web_detail_ref *r = hl->cache[i];
        int64_t keep = r && r->d->error ? WEB_DETAIL_FAILED_CACHE_NS : WEB_DETAIL_CACHE_NS;
        if (r && now - r->at_mono_ns < keep && strcmp(r->url, url) == 0) return r;
    }
    return NULL;
}

/* Keeps r (a detail, or a failure for a shorter time: cache_find) in the slot of the oldest or expired one. */
static void cache_put(struct web_history_loop *hl, struct web_detail_ref *r)
{
    int slot = 0;
    for (int i = 0; i < WEB_DETAIL_CACHE; i++) {
        if (!hl->cache[i] || strcmp(hl->cache[i]->url, r->url) == 0) {
            slot = i;
            break;
        }
        if (hl->cache[i]->at_mono_ns < hl->cache[slot]->at_mono_ns) slot = i;
    }
    ref_release(hl->cache[slot]);
    hl->cache[slot] = r;
    r->refs++;
}

static bool url_waited_for(const struct web_history_loop *hl, const char *url)
{
    for (const struct web_wait *w = hl->waiting; w; w = w->next)
        if (strcmp(w->url, url) == 0) return true;
    return false;
}

enum web_detail_step web_history_detail_step(struct web_history_loop *hl, const struct web_model *m,
                                             struct MHD_Connection *c, const char *rest, void **con_cls,
                                             const struct web_detail **detail)
{
    struct web_wait *w = *con_cls;
    if (w) { /* resumed with its answer */
        *detail = w->ref ? w->ref->d : &stopping_detail;
        return WEB_DETAIL_READY;
    }
    const struct web_endpoint *e = web_model_by_path(m, rest, NULL);
    if (!e) { /* no detail to read: the handler answers its own 404 (JSON on the API, the HTML page) */
        *detail = NULL;
        return WEB_DETAIL_READY;
    }
    if (!hl || !hl->thread) { /* no database: the handler shows what it has without history (not an error) */
        *detail = NULL;
        return WEB_DETAIL_READY;
    }
    struct web_detail_ref *hit = cache_find(hl, e->cfg->url, cw_mono_ns());
    if (!hit && hl->n_waiting >= WEB_DETAIL_QUEUE) return WEB_DETAIL_BUSY;
    if (!hit && !url_waited_for(hl, e->cfg->url) && !web_history_ask_detail(hl->thread, e->cfg->url))
        return WEB_DETAIL_BUSY;
    w = cw_xcalloc(1, sizeof *w);
    w->c = c;
    w->url = cw_xstrdup(e->cfg->url);
    *con_cls = w;
    if (hit) {
        hl->details_cached++;
        hit->refs++;
        w->ref = hit;
        *detail = hit->d;
        return WEB_DETAIL_READY;
    }
    w->next = hl->waiting;
    hl->waiting = w;
    hl->n_waiting++;
    MHD_suspend_connection(c);
    return WEB_DETAIL_SUSPENDED;
}

void web_history_detail_release(void **con_cls)
{
    struct web_wait *w = *con_cls;
    if (!w) return;
    ref_release(w->ref);
    w->ref = NULL;
}

static void unlink_wait(struct web_history_loop *hl, struct web_wait *w)
{
    for (struct web_wait **p = &hl->waiting; *p; p = &(*p)->next)
        if (*p == w) {
            *p = w->next;
            hl->n_waiting--;
            return;
        }
}

void web_history_detail_completed(struct web_history_loop *hl, void **con_cls)
{
    struct web_wait *w = *con_cls;
    if (!w) return;
    if (hl) unlink_wait(hl, w);
    ref_release(w->ref);
    free(w->url);
    free(w);
    *con_cls = NULL;
}

/* An answer from the thread: every request waiting for that URL is resumed with it. */
static void answer(struct web_history_loop *hl, struct web_detail_answer *a)
{
    struct web_detail_ref *r = cw_xcalloc(1, sizeof *r);
    *r = (struct web_detail_ref){ .d = a->detail, .url = a->url, .refs = 1, .at_mono_ns = cw_mono_ns() };
    a->detail = NULL;
    a->url = NULL;
    hl->details_read++;
    cache_put(hl, r);
    for (struct web_wait **p = &hl->waiting; *p;) {
        struct web_wait *w = *p;
        if (strcmp(w->url, r->url) != 0) {
            p = &w->next;
            continue;
        }
        *p = w->next;
        hl->n_waiting--;
        w->ref = r;
        r->refs++;
        MHD_resume_connection(w->c);
    }
    ref_release(r); /* the answer's own reference */
}

void web_history_attach(struct web_model *m)
{
    for (size_t i = 0; i < m->n; i++) m->endpoints[i].hist = NULL;
    const struct web_history *h = m->history;
    for (size_t i = 0; h && i < h->n; i++) {
        if (h->cfg_index[i] >= m->n) continue;
        struct web_endpoint *e = &m->endpoints[h->cfg_index[i]]; /* the model is in the configuration's order */
        e->hist = &h->ep[i];
        web_live_seed(&e->live, e->hist);
    }
}

void web_history_poll(struct web_history_loop *hl, struct web_model *m)
{
    if (!hl->thread) return;
    struct web_history_results res;
    web_history_take(hl->thread, &res);
    if (res.snapshot && res.snapshot->cfg_gen != web_history_config_gen(hl->thread)) {
        web_history_free(res.snapshot); /* read with a configuration before a reload: the next read is under way */
        res.snapshot = NULL;
    }
    if (res.snapshot) {
        struct web_history *old = (struct web_history *)m->history;
        m->history = res.snapshot;
        res.snapshot = NULL;
        web_history_attach(m);
        web_history_free(old);
    }
    if (res.status_changed) {
        hl->failed = res.failed;
        memcpy(hl->error, res.error, sizeof hl->error);
        m->history_error = hl->failed ? hl->error : NULL;
    }
    for (size_t i = 0; i < res.n_answers; i++) answer(hl, &res.answers[i]);
    web_history_results_free(&res);
}

void web_history_resume_all(struct web_history_loop *hl)
{
    while (hl->waiting) {
        struct web_wait *w = hl->waiting;
        hl->waiting = w->next;
        hl->n_waiting--;
        w->stopping = true;
        MHD_resume_connection(w->c);
    }
}

void web_history_loop_free(struct web_history_loop *hl, struct web_model *m)
{
    for (int i = 0; i < WEB_DETAIL_CACHE; i++) {
        ref_release(hl->cache[i]);
        hl->cache[i] = NULL;
    }
    web_history_free((struct web_history *)m->history);
    m->history = NULL;
    web_history_attach(m);
}
