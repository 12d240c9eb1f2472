/* worker/output.c — the worker's acknowledged queues and publisher (see output.h). */
#include "worker/output.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/base/clock.h"
#include "common/base/log.h"
#include "common/proc/proc.h"
#include "common/wire/protocol.h"

/* At most this many batches in flight per destination; what is not acknowledged within OUTPUT_RESEND_MS (then
 * twice as long per copy, up to ACKQ_RESEND_MAX_FACTOR times; common/bus/ackq.h) is sent again.
 * CLOCKWERK_RESEND_MS in the environment changes the first timeout (tests). */
#define OUTPUT_WINDOW 1024
#define OUTPUT_RESEND_MS 5000
#define OUTPUT_RESEND_MIN_MS 10
#define OUTPUT_ACK_GRACE_NS 1000000000LL /* output_drain waits this long for the last acknowledgements */
#define OUTPUT_ORPHAN_AGE_S 5            /* a later adoption takes spools untouched for this long */
#define OUTPUT_SERVICE_ROUNDS 8          /* passes over one socket in one output_service */

void output_open(struct worker_output *o, struct bus *bus, const struct cw_config *cfg, unsigned slot,
                 size_t outbox_bytes, uint64_t spool_max_bytes)
{
    char err[512];
    memset(o, 0, sizeof *o);
    o->due = true; /* a spool to replay, acknowledgements for a predecessor: look once */
    o->bus = bus;
    int64_t resend_ns = (int64_t)proc_env_u64("CLOCKWERK_RESEND_MS", OUTPUT_RESEND_MIN_MS, OUTPUT_RESEND_MS) * 1000000;
    struct {
        bool wanted;
        const char *address;
        const char *name;
    } dest[OUTPUT_MAX] = {
        { config_wants_storer(cfg), cfg->store_address, "storer" },
        { config_wants_alerter(cfg), cfg->alert_address, "alerter" },
    };
    for (unsigned i = 0; i < OUTPUT_MAX; i++) {
        if (!dest[i].wanted) continue;
        struct bus_socket *s = bus_open(o->bus, BUS_SEND_RELIABLE, dest[i].address, err, sizeof err);
        if (!s) fatal(2, "%s: %s", dest[i].name, err);
        char path[4096];
        if ((size_t)snprintf(path, sizeof path, "%s/worker-%u-%s.spool", cfg->run_dir, slot, dest[i].name) >=
            sizeof path)
            fatal(2, "run_dir is too long");
        if (ackq_init(&o->q[o->n], s, dest[i].name, outbox_bytes, OUTPUT_WINDOW, resend_ns, path, err, sizeof err) != 0)
            fatal(1, "%s spool: %s", dest[i].name, err);
        ackq_set_spool_max(&o->q[o->n], spool_max_bytes);
        o->n++;
    }
    if (cfg->publish_address) {
        o->pub = bus_open(o->bus, BUS_PUBLISH, cfg->publish_address, err, sizeof err);
        if (!o->pub) fatal(2, "publisher: %s", err);
    }
}

void output_push(struct worker_output *o, const void *data, size_t len, uint32_t worker, uint64_t boot_id,
                 uint64_t first, uint64_t last, unsigned n)
{
    for (unsigned i = 0; i < o->n; i++) ackq_push(&o->q[i], data, len, worker, boot_id, first, last, n);
    o->due = true; /* the push sent: it may have consumed ZMQ_FD's edge */
    if (o->pub && bus_send(o->pub, CW_MSG_RESULT, data, len) == BUS_ERROR)
        log_debug("cannot publish results: %s", strerror(errno));
}

void output_publish_stats(struct worker_output *o, const void *data, size_t len)
{
    if (o->pub) (void)bus_send(o->pub, CW_MSG_STATS, data, len);
}

bool output_pending(const struct worker_output *o)
{
    for (unsigned i = 0; i < o->n; i++) {
        const struct ackq *q = &o->q[i];
        if ((q->nsent < q->count && q->inflight < q->window) || ackq_spool_bytes(q)) return true;
    }
    return false;
}

int64_t output_next_deadline(const struct worker_output *o)
{
    int64_t until = INT64_MAX;
    for (unsigned i = 0; i < o->n; i++) {
        int64_t d = ackq_next_deadline(&o->q[i]);
        if (d < until) until = d;
    }
    return until;
}

bool output_due(const struct worker_output *o, int64_t now_ns)
{
    return o->due || output_pending(o) || output_next_deadline(o) <= now_ns;
}

/* Each socket again while it says it has input (a send may have consumed the edge of ZMQ_FD); input left
 * after OUTPUT_SERVICE_ROUNDS keeps `due` raised for the next pass. */
void output_service(struct worker_output *o)
{
    int64_t now = cw_mono_ns();
    o->due = false;
    for (unsigned i = 0; i < o->n; i++) {
        int rounds = 0;
        do ackq_service(&o->q[i], now);
        while (bus_readable(o->q[i].sock) && ++rounds < OUTPUT_SERVICE_ROUNDS);
        if (rounds == OUTPUT_SERVICE_ROUNDS) o->due = true;
    }
}

/* Files worker-<k>-<destination>.spool with k >= slots. */
void output_adopt_orphans(struct worker_output *o, const char *run_dir, unsigned slots, bool at_start)
{
    DIR *d = opendir(run_dir);
    if (!d) {
        log_warn("cannot look for orphan spools in %s: %s", run_dir, strerror(errno));
        return;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        unsigned k;
        char dest[16];
        int used = 0;
        if (sscanf(de->d_name, "worker-%u-%15[a-z].spool%n", &k, dest, &used) != 2 || de->d_name[used] != '\0' ||
            k < slots)
            continue;
        for (unsigned i = 0; i < o->n; i++) {
            struct ackq *q = &o->q[i];
            if (strcmp(q->name, dest) != 0) continue;
            char path[4096], err[4400];
            if ((size_t)snprintf(path, sizeof path, "%s/%s", run_dir, de->d_name) >= sizeof path) continue;
            struct stat st;
            if (!at_start && (stat(path, &st) != 0 || time(NULL) - st.st_mtime < OUTPUT_ORPHAN_AGE_S)) continue;
            long n = ackq_adopt_spool(q, path, err, sizeof err);
            if (n < 0) log_error("orphan spool of worker slot %u (only %u slots now): %s", k, slots, err);
            else if (n > 0)
                log_warn("adopted %ld batches for the %s from %s (worker slot %u no longer exists: %u slots now)", n,
                         q->name, path, k, slots);
        }
    }
    closedir(d);
    o->due = true; /* what was adopted waits to be sent */
}

static bool all_acked(const struct worker_output *o)
{
    for (unsigned i = 0; i < o->n; i++)
        if (o->q[i].count) return false;
    return true;
}

void output_drain(struct worker_output *o)
{
    int64_t deadline = cw_mono_ns() + OUTPUT_ACK_GRACE_NS;
    while (!all_acked(o) && cw_mono_ns() < deadline) {
        struct pollfd pfd[OUTPUT_MAX];
        nfds_t n = 0;
        for (unsigned i = 0; i < o->n; i++)
            if (o->q[i].count) pfd[n++] = (struct pollfd){ .fd = bus_fd(o->q[i].sock), .events = POLLIN };
        if (poll(pfd, n, 20) < 0 && errno != EINTR) break;
        output_service(o);
    }
    for (unsigned i = 0; i < o->n; i++) {
        struct ackq *q = &o->q[i];
        uint64_t waiting = ackq_pending_results(q);
        if (ackq_idle(q)) continue;
        uint64_t lost = ackq_spill(q); /* also syncs what the spool held already */
        if (!waiting) continue;
        log_warn("stopping with %" PRIu64 " results not acknowledged by the %s: kept in %s for the next start%s",
                 waiting, q->name, q->spool_path ? q->spool_path : "(no spool)",
                 lost ? " (some could not be written)" : "");
        if (lost) log_error("%" PRIu64 " results for the %s are lost", lost, q->name);
    }
}

void output_totals(const struct worker_output *o, struct output_totals *t)
{
    memset(t, 0, sizeof *t);
    for (unsigned i = 0; i < o->n; i++) {
        const struct ackq *q = &o->q[i];
        t->pending_batches += q->count;
        t->dropped += q->dropped;
        t->spool_full_dropped += q->spool_full_dropped;
        t->resent += q->resent;
        t->spooled += q->spooled;
        t->spool_bytes += ackq_spool_bytes(q);
        t->acks_malformed += q->acks_malformed;
        t->refused += q->refused;
    }
}

struct ackq *output_queue(struct worker_output *o, const char *name)
{
    for (unsigned i = 0; i < o->n; i++)
        if (strcmp(o->q[i].name, name) == 0) return &o->q[i];
    return NULL;
}

void output_close(struct worker_output *o)
{
    for (unsigned i = 0; i < o->n; i++) {
        struct bus_socket *s = o->q[i].sock;
        ackq_free(&o->q[i]);
        bus_close(s); /* linger 0: what was not acknowledged is in the spool */
    }
    o->n = 0;
    bus_close(o->pub);
    o->bus = NULL;
    o->pub = NULL;
}
