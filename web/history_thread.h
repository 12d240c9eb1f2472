/* web/history_thread.h — clockwerk-web's reader thread (web/history.c): reads the history snapshot at start and
 * every web.history_refresh, and endpoint details on request, through the storer's read side with a connection
 * opened for each read and closed after it; hands the results to the loop through an eventfd. The loop never
 * waits on it: it posts, and takes what is finished when the eventfd is readable. */
#ifndef CW_WEB_HISTORY_THREAD_H
#define CW_WEB_HISTORY_THREAD_H

#include <stdbool.h>
#include <stddef.h>

#include "common/config/config.h"
#include "web/history.h"

#define WEB_DETAIL_QUEUE 64 /* detail requests waiting at most (beyond: 503 with Retry-After) */

struct web_history_thread;

struct web_detail_answer {
    char *url; /* owned */
    struct web_detail *detail;
};

/* What the thread finished since the last take (all owned by the caller now). */
struct web_history_results {
    struct web_history *snapshot; /* the newest snapshot; NULL when none came */
    bool status_changed;          /* a refresh ended: failed and error say how */
    bool failed;
    char error[512]; /* why the last refresh failed */
    struct web_detail_answer *answers;
    size_t n_answers;
};

/* Starts the thread (its first refresh at once). NULL with a reason in err when it cannot (no thread, no
 * eventfd). cfg must stay valid until web_history_reconfigure hands a newer one. */
struct web_history_thread *web_history_start(const struct cw_config *cfg, char *err, size_t errlen);
/* The eventfd that is readable when results wait. */
int web_history_fd(const struct web_history_thread *t);
/* A reload: the thread reads with cfg from now on and frees old (the configuration cfg replaces) once it no
 * longer uses it; a refresh is asked for. */
void web_history_reconfigure(struct web_history_thread *t, const struct cw_config *cfg, struct cw_config *old);
/* Asks for the detail of the endpoint with this URL; false when WEB_DETAIL_QUEUE requests already wait. */
bool web_history_ask_detail(struct web_history_thread *t, const char *url);
/* Takes what is finished (clears the eventfd). */
/* The configuration's generation: web_history_reconfigure adds one. A snapshot read with an older one (its
 * cfg_gen) indexes a configuration that is no longer the model's: the loop drops it (a new read is under way). */
uint64_t web_history_config_gen(struct web_history_thread *t);
void web_history_take(struct web_history_thread *t, struct web_history_results *out);
void web_history_results_free(struct web_history_results *r);
/* Stops and joins the thread; frees what it held (not the current configuration). NULL is fine. */
void web_history_stop(struct web_history_thread *t);

#endif
