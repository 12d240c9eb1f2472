/* web/history_wait.h — the loop's side of the history (web/history_wait.c): taking the reader thread's results
 * (the snapshot swapped into the model, the endpoints' `hist` pointers set by their index in the configuration) and the requests of routes
 * marked needs_detail, which wait for their endpoint's detail suspended (libmicrohttpd's suspend/resume) and are
 * answered when it arrives. Recent details are kept WEB_DETAIL_CACHE_NS (a failed one WEB_DETAIL_FAILED_CACHE_NS),
 * so a reload of a page costs no read; requests for one endpoint that wait together share one read. */
#ifndef CW_WEB_HISTORY_WAIT_H
#define CW_WEB_HISTORY_WAIT_H

#include <stdbool.h>
#include <stdint.h>

#include "web/history_thread.h"
#include "web/model.h"

#define WEB_DETAIL_CACHE 8                      /* details kept */
#define WEB_DETAIL_CACHE_NS (10LL * 1000000000) /* for this long */
#define WEB_DETAIL_FAILED_CACHE_NS \
    (2LL * 1000000000)             /* a failed one (database down) for this long: views of
                                                          pages in the meantime try no new connection */
#define WEB_DETAIL_RETRY_AFTER "5" /* seconds, on a 503 for a full queue */

struct MHD_Connection;
struct web_detail_ref;
struct web_wait;

/* The loop's state of the history: owned by web/main.c, used by web/http.c. */
struct web_history_loop {
    struct web_history_thread *thread; /* NULL: no database (the history is off) */
    struct web_wait *waiting;          /* suspended requests without their detail yet */
    unsigned n_waiting;
    struct web_detail_ref *cache[WEB_DETAIL_CACHE];
    bool failed;                           /* the last refresh failed */
    char error[512];                       /* and why */
    uint64_t details_read, details_cached; /* answers from the thread, from the cache */
};

enum web_detail_step {
    WEB_DETAIL_READY,     /* *detail is set (NULL for an unknown ID: the handler answers its own 404): call the
                             handler, then web_history_detail_release */
    WEB_DETAIL_SUSPENDED, /* the connection waits: return MHD_YES */
    WEB_DETAIL_BUSY,      /* too many waiting: 503 with Retry-After */
};

/* A request of a needs_detail route: rest starts with the endpoint's ID. con_cls is libmicrohttpd's per-request
 * pointer (a suspended request keeps its wait there). */
enum web_detail_step web_history_detail_step(struct web_history_loop *hl, const struct web_model *m,
                                             struct MHD_Connection *c, const char *rest, void **con_cls,
                                             const struct web_detail **detail);
/* After the handler ran: lets go of the detail the request held. */
void web_history_detail_release(void **con_cls);
/* libmicrohttpd's completion callback for con_cls (a request that ended, answered or not). */
void web_history_detail_completed(struct web_history_loop *hl, void **con_cls);

/* The eventfd was readable (or may be): takes the thread's results into the model and answers waiting
 * requests. */
void web_history_poll(struct web_history_loop *hl, struct web_model *m);
/* Sets every endpoint's hist from m->history (by its index in the configuration, which must be the one the
 * snapshot was read with): after a swap. (A reload carries each endpoint's hist by URL, web_ids_carry.) An endpoint whose down/up
 * alerts the web has not seen on the bus takes the state the stored alerts left (DOWN until an `up`). */
void web_history_attach(struct web_model *m);
/* Before libmicrohttpd stops: every suspended request is resumed (with a detail that says the web stops). */
void web_history_resume_all(struct web_history_loop *hl);
/* Frees the cache and the snapshot (m->history). */
void web_history_loop_free(struct web_history_loop *hl, struct web_model *m);

#endif
