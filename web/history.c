/* web/history.c — clockwerk-web's reader thread (web/history_thread.h). One thread, one mutex:
 *     wait (condition, until the next refresh, a detail request or stop)
 *     -> take the configuration, the configurations to free and the detail requests
 *     -> details: open the read backend, read each, close -> post
 *     -> refresh when due: open, read the snapshot in chunks (web/history_read.c), close -> post
 *        (between two chunks, the detail requests that came meanwhile are read with the refresh's connection)
 * Posting puts the result under the mutex and writes the eventfd; the loop takes it. The read connection lives
 * only during a read (a long SQLite read snapshot stops checkpoints, a PostgreSQL one holds back vacuum). A failed
 * refresh keeps nothing: the loop keeps its last snapshot; the failure is logged when the state changes (and
 * then rate limited), and the next period retries. A database the storer has not created yet (no file, an old
 * schema) is such a failure: no history yet. Until a read finds one of the configured endpoints (a read between
 * the storer creating the schema and registering the endpoints succeeds with none) the reads come sooner (after
 * 1, 2, 4, ... s, up to the period), so a fresh installation shows its history seconds after the storer's first
 * write. */
#include "web/history_thread.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/base/clock.h"
#include "common/base/log.h"
#include "common/base/ratelimit.h"
#include "common/base/util.h"
#include "storer/reader.h"
#include "web/history_read.h"

struct web_history_thread {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond; /* on CLOCK_MONOTONIC */
    int efd;
    /* under mu */
    bool stop, refresh_asked;
    const struct cw_config *cfg;
    uint64_t cfg_gen; /* counts the configurations handed (web_history_reconfigure) */
    struct cw_config **retired;
    size_t n_retired, cap_retired;
    char *asked[WEB_DETAIL_QUEUE];
    size_t n_asked;
    struct web_history_results out;
    size_t cap_answers;
    /* the thread's own */
    struct web_history_ids ids;
    bool failing;
    bool found; /* a read found one of the configured endpoints: the storer has registered them */
    char last_error[512];
    struct ratelimit rl;
    struct ratelimit detail_rl;
    struct ratelimit slow_rl;
};

static void lock(struct web_history_thread *t) { pthread_mutex_lock(&t->mu); }
static void unlock(struct web_history_thread *t) { pthread_mutex_unlock(&t->mu); }

static void wake_loop(struct web_history_thread *t)
{
    uint64_t one = 1;
    while (write(t->efd, &one, sizeof one) < 0 && errno == EINTR) {
    }
}

static int64_t wall_ms(void) { return cw_wall_us() / 1000; }

/* The result of a refresh to the loop, and the log line its state change deserves. */
static void post_refresh(struct web_history_thread *t, struct web_history *snap, const char *error, double period)
{
    bool new_error = !snap && (!t->failing || strcmp(error, t->last_error) != 0);
    bool not_created = !snap && store_read_not_created(error); /* a first start: not a problem */
    if (new_error && not_created) log_info("history: %s; trying again in %.0f s", error, period);
    else if (new_error && ratelimit_allow(&t->rl, cw_mono_ns()))
        log_warn("history: %s; keeping the last one read, trying again in %.0f s", error, period);
    if (snap && (t->failing || !t->found))
        log_info("history: read %s(%zu endpoint%s in %.2f s)%s", t->failing ? "again " : "", snap->n,
                 cw_plural((long long)snap->n), snap->read_seconds,
                 snap->n ? "" : "; none registered by the storer yet, reading again soon");
    t->found |= snap != NULL && snap->n > 0;
    t->failing = !snap;
    snprintf(t->last_error, sizeof t->last_error, "%s", snap ? "" : error);
    lock(t);
    if (snap) {
        web_history_free(t->out.snapshot); /* one the loop did not take yet */
        t->out.snapshot = snap;
    }
    t->out.status_changed = true;
    t->out.failed = !snap;
    snprintf(t->out.error, sizeof t->out.error, "%s", snap ? "" : error);
    unlock(t);
    wake_loop(t);
}

static void post_answer(struct web_history_thread *t, char *url, struct web_detail *d)
{
    lock(t);
    if (t->out.n_answers == t->cap_answers) {
        t->cap_answers = t->cap_answers ? 2 * t->cap_answers : 8;
        t->out.answers = cw_xrealloc(t->out.answers, t->cap_answers * sizeof *t->out.answers);
    }
    t->out.answers[t->out.n_answers++] = (struct web_detail_answer){ url, d };
    unlock(t);
    wake_loop(t);
}

static struct web_detail *failed_detail(const char *why)
{
    struct web_detail *d = cw_xcalloc(1, sizeof *d);
    d->read_at_ms = wall_ms();
    d->error = d->error_owned = cw_xstrdup(why[0] ? why : "the history could not be read");
    return d;
}

/* A detail that failed says only WEB_DETAIL_FAILED: the database's error (a path, a user@host:port/db) goes to the
 * web's log, rate limited, never to a page or an answer. */
static struct web_detail *without_db_error(struct web_history_thread *t, struct web_detail *d)
{
    if (!d->error_owned) return d; /* none, or already a sentence of ours */
    if (ratelimit_allow(&t->detail_rl, cw_mono_ns())) log_warn("history: an endpoint's detail: %s", d->error);
    free(d->error_owned);
    d->error_owned = NULL;
    d->error = WEB_DETAIL_FAILED;
    return d;
}

/* The configured endpoint of url (for its exact days), NULL when none. */
static const struct cw_endpoint *endpoint_of(const struct cw_config *cfg, const char *url)
{
    for (size_t i = 0; cfg && i < cfg->n_endpoints; i++)
        if (strcmp(cfg->endpoints[i].url, url) == 0) return &cfg->endpoints[i];
    return NULL;
}

/* The details of urls (owned: they go back with the answers) through r; r NULL: it could not be opened (why). */
static void answer_urls(struct web_history_thread *t, const struct cw_config *cfg, const struct store_read_backend *b,
                        struct store_reader *r, char **urls, size_t n, const char *why)
{
    for (size_t i = 0; i < n; i++) {
        char err[512] = "";
        int rc;
        int64_t id = r ? web_history_find_id(b, r, &t->ids, urls[i], &rc, err, sizeof err) : -2;
        struct web_detail *d = id == -2 ? failed_detail(r ? err : why)
                                        : web_detail_read(b, r, id, endpoint_of(cfg, urls[i]), wall_ms());
        post_answer(t, urls[i], without_db_error(t, d));
    }
}

/* The detail requests waiting now (taken from the queue) into urls; how many. */
static size_t take_asked(struct web_history_thread *t, char **urls)
{
    lock(t);
    size_t n = t->n_asked;
    memcpy(urls, t->asked, n * sizeof *urls);
    t->n_asked = 0;
    unlock(t);
    return n;
}

/* Between two chunks of a refresh: the requests that came meanwhile, with the refresh's reader. */
struct refresh_ctx {
    struct web_history_thread *t;
    const struct cw_config *cfg;
};
static void answer_during_refresh(void *ctx, const struct store_read_backend *b, struct store_reader *r)
{
    struct refresh_ctx *x = ctx;
    char *urls[WEB_DETAIL_QUEUE];
    answer_urls(x->t, x->cfg, b, r, urls, take_asked(x->t, urls), "");
}

/* A refresh; retry_s: when the next one comes if this one fails (for the log line). */
static void refresh(struct web_history_thread *t, const struct cw_config *cfg, uint64_t gen, double retry_s)
{
    const struct store_read_backend *b = store_read_backend_for(cfg->db_driver);
    char err[512] = "";
    int rc;
    int64_t t0 = cw_mono_ns();
    struct refresh_ctx x = { t, cfg };
    struct web_history_pause pause = { answer_during_refresh, &x };
    struct store_reader *r = b->open(cfg, &rc, err, sizeof err);
    struct web_history *snap = r ? web_history_read(b, r, cfg, wall_ms(), &t->ids, &pause, &rc, err, sizeof err) : NULL;
    b->close(r);
    if (snap) snap->read_seconds = (double)(cw_mono_ns() - t0) / 1e9;
    if (snap) snap->cfg_gen = gen;
    double took = (double)(cw_mono_ns() - t0) / 1e9;
    if (took > 2 * cfg->web_history_refresh && ratelimit_allow(&t->slow_rl, cw_mono_ns()))
        log_warn("history: a read took %.1f s, more than twice web.history_refresh (%.0f s): the next one starts "
                 "%.0f s after it began (a read takes at most 1/%d of a core), the page shows older figures meanwhile "
                 "(many endpoints, or a slow or busy database?)",
                 took, cfg->web_history_refresh, web_history_period(cfg->web_history_refresh, took), WEB_HISTORY_DUTY);
    post_refresh(t, snap, err[0] ? err : "the history could not be read", retry_s);
}

/* The details asked for, with a connection of their own. */
static void read_details(struct web_history_thread *t, const struct cw_config *cfg, char **urls, size_t n)
{
    const struct store_read_backend *b = store_read_backend_for(cfg->db_driver);
    char err[512] = "";
    int rc;
    struct store_reader *r = b->open(cfg, &rc, err, sizeof err);
    answer_urls(t, cfg, b, r, urls, n, err);
    b->close(r);
}

static void free_configs(struct cw_config **v, size_t n)
{
    for (size_t i = 0; i < n; i++) config_free(v[i]);
    free(v);
}

static void *thread_main(void *arg)
{
    struct web_history_thread *t = arg;
    int64_t next_ns = 0;        /* the first refresh at once */
    double first_retry_s = 1.0; /* until a read succeeds (the storer creating the database), sooner than the period */
    for (;;) {
        lock(t);
        while (!t->stop && !t->refresh_asked && t->n_asked == 0 && cw_mono_ns() < next_ns) {
            struct timespec until = { .tv_sec = next_ns / 1000000000, .tv_nsec = next_ns % 1000000000 };
            pthread_cond_timedwait(&t->cond, &t->mu, &until);
        }
        if (t->stop) {
            unlock(t);
            return NULL;
        }
        const struct cw_config *cfg = t->cfg;
        uint64_t gen = t->cfg_gen;
        struct cw_config **retired = t->retired;
        size_t n_retired = t->n_retired;
        t->retired = NULL;
        t->n_retired = t->cap_retired = 0;
        bool due = t->refresh_asked || cw_mono_ns() >= next_ns;
        t->refresh_asked = false;
        unlock(t);
        if (t->ids.cfg != cfg) web_history_ids_free(&t->ids); /* they point into a configuration retired now */
        free_configs(retired, n_retired); /* the loop no longer uses them, and this thread has cfg now */
        char *urls[WEB_DETAIL_QUEUE];
        size_t n_urls = take_asked(t, urls);
        if (n_urls) read_details(t, cfg, urls, n_urls);
        if (due) {
            double period = cfg->web_history_refresh;
            double retry_s = t->found ? period : (first_retry_s < period ? first_retry_s : period);
            int64_t start_ns = cw_mono_ns();
            refresh(t, cfg, gen, retry_s);
            double took = (double)(cw_mono_ns() - start_ns) / 1e9; /* a long read: the next waits in proportion */
            bool soon = t->failing || !t->found;
            next_ns = start_ns + (int64_t)((soon ? retry_s : web_history_period(period, took)) * 1e9);
            if (soon && !t->found) first_retry_s *= 2; /* 1, 2, 4, ... s up to the period */
        }
    }
}

struct web_history_thread *web_history_start(const struct cw_config *cfg, char *err, size_t errlen)
{
    struct web_history_thread *t = cw_xcalloc(1, sizeof *t);
    t->cfg = cfg;
    t->rl.what = "history read failures";
    t->detail_rl.what = "detail read failures";
    t->slow_rl.what = "slow history reads";
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&t->mu, NULL);
    t->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    int e = t->efd < 0 ? errno : pthread_create(&t->thread, NULL, thread_main, t);
    if (e == 0) return t;
    snprintf(err, errlen, "cannot start the history reader: %s", strerror(e));
    if (t->efd >= 0) close(t->efd);
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->mu);
    free(t);
    return NULL;
}

int web_history_fd(const struct web_history_thread *t) { return t->efd; }

void web_history_reconfigure(struct web_history_thread *t, const struct cw_config *cfg, struct cw_config *old)
{
    lock(t);
    if (old) {
        if (t->n_retired == t->cap_retired) {
            t->cap_retired = t->cap_retired ? 2 * t->cap_retired : 4;
            t->retired = cw_xrealloc(t->retired, t->cap_retired * sizeof *t->retired);
        }
        t->retired[t->n_retired++] = old;
    }
    t->cfg = cfg;
    t->cfg_gen++;
    t->refresh_asked = true;
    pthread_cond_signal(&t->cond);
    unlock(t);
}

uint64_t web_history_config_gen(struct web_history_thread *t)
{
    lock(t);
    uint64_t gen = t->cfg_gen;
    unlock(t);
    return gen;
}

bool web_history_ask_detail(struct web_history_thread *t, const char *url)
{
    lock(t);
    bool room = t->n_asked < WEB_DETAIL_QUEUE;
    if (room) {
        t->asked[t->n_asked++] = cw_xstrdup(url);
        pthread_cond_signal(&t->cond);
    }
    unlock(t);
    return room;
}

void web_history_take(struct web_history_thread *t, struct web_history_results *out)
{
    uint64_t v;
    while (read(t->efd, &v, sizeof v) < 0 && errno == EINTR) {
    }
    lock(t);
    *out = t->out;
    t->out = (struct web_history_results){ 0 };
    t->cap_answers = 0;
    unlock(t);
}

void web_history_results_free(struct web_history_results *r)
{
    web_history_free(r->snapshot);
    for (size_t i = 0; i < r->n_answers; i++) {
        free(r->answers[i].url);
        web_detail_free(r->answers[i].detail);
    }
    free(r->answers);
    *r = (struct web_history_results){ 0 };
}

void web_history_stop(struct web_history_thread *t)
{
    if (!t) return;
    lock(t);
    t->stop = true;
    pthread_cond_signal(&t->cond);
    unlock(t);
    pthread_join(t->thread, NULL);
    free_configs(t->retired, t->n_retired);
    for (size_t i = 0; i < t->n_asked; i++) free(t->asked[i]);
    web_history_results_free(&t->out);
    web_history_ids_free(&t->ids);
    close(t->efd);
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->mu);
    free(t);
}
