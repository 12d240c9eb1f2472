/* supervisor/confetch.c — a probe host's supervisor fetching its configuration from the central host (see
 * confetch.h). */
#include "supervisor/confetch.h"

#include "common/base/clock.h"
#include "common/base/log.h"
#include "common/proc/bus_config.h"
#include "supervisor/reload.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DRAIN_BUDGET 16

void fetch_poll_init(struct fetch_poll *p, int64_t interval_ns, int64_t now)
{
    memset(p, 0, sizeof *p);
    p->interval_ns = interval_ns;
    p->next_ns = now;
}

enum fetch_send fetch_poll_send(struct fetch_poll *p, int64_t now, int64_t wall_us, bool *went_silent)
{
    *went_silent = false;
    enum fetch_send kind = FETCH_SEND_FIRST;
    if (p->outstanding) {
        kind = FETCH_SEND_AGAIN;
        p->missed++;
        if (p->missed == FETCH_MISSED_SILENT && !p->silent) {
            p->silent = true;
            *went_silent = true;
        }
    } else {
        p->silent_since_us = wall_us; /* a run of unanswered requests would start with this one */
    }
    p->outstanding = true;
    p->next_ns = now + p->interval_ns;
    return kind;
}

bool fetch_poll_answered(struct fetch_poll *p)
{
    bool was_silent = p->silent;
    p->outstanding = false;
    p->missed = 0;
    p->silent = false;
    return was_silent;
}

int64_t fetch_poll_interval(const char *env_value)
{
    if (!env_value || !*env_value) return FETCH_POLL_DEFAULT_NS;
    char *end;
    errno = 0;
    long ms = strtol(env_value, &end, 10);
    if (errno || *end || ms < 50 || ms > 600000) return FETCH_POLL_DEFAULT_NS;
    return (int64_t)ms * 1000000LL;
}

static const char *when(int64_t wall_us, char *buf, size_t len) { return cw_format_iso8601(wall_us, buf, len); }

void confetch_describe(const struct confetch *f, char *out, size_t outlen)
{
    char t[40];
    if (!f->have_central) snprintf(out, outlen, "no configuration received yet");
    else
        snprintf(out, outlen, "the configuration received from the central host at %s (hash %016llx)",
                 when(f->central.received_at_us, t, sizeof t), (unsigned long long)f->central.hash);
}

static int open_socket(struct confetch *f, char *err, size_t errlen)
{
    if (f->sock) bus_close(f->sock);
    f->sock = bus_open(f->bus, BUS_FETCH_CONFIG, f->local->central_address, err, errlen);
    return f->sock ? 0 : -1;
}

int confetch_open(struct confetch *f, struct cw_config *local, struct cw_config **start, char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    f->local = local;
    f->malformed_log.what = "malformed configuration replies";
    *start = NULL;
    int64_t now = cw_mono_ns();
    fetch_poll_init(&f->poll, fetch_poll_interval(getenv("CLOCKWERK_CONFIG_POLL_MS")), now);
    f->next_wait_log_ns = now;
    f->bus = bus_new_for(local, err, errlen);
    if (!f->bus || open_socket(f, err, errlen) != 0) return -1;

    char e[600];
    int rc = probe_cache_load(local->run_dir, &f->central, e, sizeof e);
    if (rc < 0) log_warn("%s: starting without it, waiting for the central host", e);
    if (rc <= 0) return 0;
    *start = probe_effective(&f->central, local, e, sizeof e);
    if (!*start) {
        log_warn("%s/%s: %s: starting without it, waiting for the central host", local->run_dir, PROBE_CACHE_FILE, e);
        probe_central_free(&f->central);
        return 0;
    }
    f->have_central = true;
    char d[200];
    confetch_describe(f, d, sizeof d);
    log_info("checking with %s; central not reached yet", d);
    return 0;
}

int confetch_fd(const struct confetch *f) { return f->sock ? bus_fd(f->sock) : -1; }

static void send_request(struct confetch *f, int64_t now)
{
    char t[40], err[600];
    bool went_silent;
    int64_t wall = cw_wall_us();
    enum fetch_send kind = fetch_poll_send(&f->poll, now, wall, &went_silent);
    if (went_silent) {
        char d[200];
        confetch_describe(f, d, sizeof d);
        log_warn("central host %s not answering since %s: %s %s (is it the central's bus.config_address? is this "
                 "host's key in the central's `locations`? the central's log says which)",
                 f->local->central_address, when(f->poll.silent_since_us, t, sizeof t),
                 f->have_central ? "checking with" : "nothing to check:", d);
    }
    if (kind == FETCH_SEND_AGAIN && open_socket(f, err, sizeof err) != 0) {
        log_error("cannot reopen the socket to the central host: %s", err);
        return;
    }
    struct cw_config_get g = { .location = f->local->location,
                               .have_hash = f->have_central ? f->central.hash : 0,
                               .sent_at_us = wall };
    cw_buf_reset(&f->scratch);
    if (proto_config_get_encode(&f->scratch, &g) != 0) {
        log_error("cannot encode the configuration request of location %s", f->local->location);
        return;
    }
    f->sent_at_us = wall;
    f->polls++;
    if (bus_send(f->sock, CW_MSG_CONFIG_GET, f->scratch.data, f->scratch.len) == BUS_ERROR)
        log_warn("cannot send the configuration request to %s: %s", f->local->central_address, strerror(errno));
}

int64_t confetch_tick(struct confetch *f, int64_t now)
{
    if (now >= f->poll.next_ns) send_request(f, now);
    int64_t next = f->poll.next_ns;
    if (!f->have_central) {
        if (now >= f->next_wait_log_ns) {
            log_info("waiting for the configuration from %s%s%s%s", f->local->central_address,
                     f->refused[0] ? " (refused: " : "", f->refused, f->refused[0] ? ")" : "");
            f->next_wait_log_ns = now + FETCH_WAIT_LOG_NS;
        }
        if (f->next_wait_log_ns < next) next = f->next_wait_log_ns;
    }
    return next;
}

static void on_refused(struct confetch *f, const struct cw_config_reply *r)
{
    if (strcmp(f->refused, r->reason) == 0) return; /* said already */
    snprintf(f->refused, sizeof f->refused, "%s", r->reason);
    char d[200];
    confetch_describe(f, d, sizeof d);
    log_warn("the central host %s refused the configuration of location %s: %s; %s %s", f->local->central_address,
             f->local->location, r->reason, f->have_central ? "still checking with" : "nothing to check:", d);
}

/* A NEW configuration: checked and turned into what this host runs, kept as pending until it is applied
 * (confetch_applied). NULL when it cannot be used. */
static struct cw_config *on_new(struct confetch *f, const struct cw_config_reply *r)
{
    if (r->snapshot_len == 0 || probe_config_hash(r->snapshot, r->snapshot_len, r->store_address, r->alert_address,
                                                  r->publish_address) != r->hash) {
        f->malformed++;
        log_warn("a configuration from %s whose hash does not match its bytes and addresses: ignored",
                 f->local->central_address);
        return NULL;
    }
    if (f->have_central && r->hash == f->central.hash) return NULL; /* a late copy of what we run */
    struct probe_central c = { .hash = r->hash, .received_at_us = cw_wall_us() };
    c.store_address = cw_xstrdup(r->store_address);
    c.alert_address = cw_xstrdup(r->alert_address);
    c.publish_address = cw_xstrdup(r->publish_address);
    c.snap = cw_xmalloc(r->snapshot_len);
    memcpy(c.snap, r->snapshot, r->snapshot_len);
    c.snap_len = r->snapshot_len;
    char err[600];
    struct cw_config *next = probe_effective(&c, f->local, err, sizeof err);
    if (!next) {
        if (f->bad_hash != r->hash)
            log_error("configuration %016llx from %s: %s; keeping %s", (unsigned long long)r->hash,
                      f->local->central_address, err, f->have_central ? "the previous one" : "waiting");
        f->bad_hash = r->hash;
        probe_central_free(&c);
        return NULL;
    }
    probe_central_free(&f->pending); /* only the newest counts */
    f->pending = c;
    f->have_pending = true;
    log_info("configuration %016llx received from the central host %s: %zu endpoint%s for location %s",
             (unsigned long long)r->hash, f->local->central_address, next->n_endpoints,
             cw_plural((long long)next->n_endpoints), f->local->location);
    return next;
}

/* One reply. Returns a configuration to apply, or NULL. */
static struct cw_config *take_reply(struct confetch *f, const struct bus_msg *m, int64_t now)
{
    struct cw_config_reply r;
    const char *why = NULL;
    if (m->type != CW_MSG_CONFIG || proto_config_reply_decode(m->data, m->len, &r, &why) != 0) {
        f->malformed++;
        if (ratelimit_allow(&f->malformed_log, now))
            log_warn("malformed configuration reply from %s: %s", f->local->central_address,
                     why ? why : "not a CONFIG message");
        return NULL;
    }
    if (r.echo_sent_at_us != f->sent_at_us) return NULL; /* the answer to an earlier request */
    f->answers++;
    if (fetch_poll_answered(&f->poll)) log_info("central host %s answering again", f->local->central_address);
    if (r.status == CW_CONFIG_REFUSED) {
        on_refused(f, &r);
        return NULL;
    }
    if (f->refused[0])
        log_info("the central host %s accepts location %s again", f->local->central_address, f->local->location);
    f->refused[0] = '\0';
    return r.status == CW_CONFIG_NEW ? on_new(f, &r) : NULL;
}

struct cw_config *confetch_drain(struct confetch *f, int64_t now)
{
    struct cw_config *next = NULL;
    for (int i = 0; f->sock && i < DRAIN_BUDGET; i++) {
        struct bus_msg m;
        if (bus_recv(f->sock, &m, 0) <= 0) break;
        struct cw_config *c = take_reply(f, &m, now);
        bus_msg_release(&m);
        if (c) {
            config_free(next); /* only the newest counts */
            next = c;
        }
    }
    return next;
}

void confetch_applied(struct confetch *f, bool applied)
{
    if (!f->have_pending) return;
    f->have_pending = false;
    if (!applied) { /* the next request names what still runs: the central sends this one again */
        probe_central_free(&f->pending);
        return;
    }
    char err[600];
    if (probe_cache_save(f->local->run_dir, &f->pending, err, sizeof err) != 0)
        log_warn("%s: a restart before the central answers again will wait for it", err);
    probe_central_free(&f->central);
    f->central = f->pending;
    memset(&f->pending, 0, sizeof f->pending);
    f->have_central = true;
}

/* The fetch's bus and socket made again with next's CURVE keys (a key rotated by a reload). 0, or -1 with err: then
 * the old ones are kept. */
static int rekey(struct confetch *f, const struct cw_config *next, char *err, size_t errlen)
{
    char e[600];
    struct bus *bus = bus_new_for(next, e, sizeof e);
    struct bus_socket *sock = bus ? bus_open(bus, BUS_FETCH_CONFIG, next->central_address, e, sizeof e) : NULL;
    if (!sock) {
        bus_free(bus);
        snprintf(err, errlen, "the new CURVE keys cannot be used to reach the central host: %s", e);
        return -1;
    }
    if (f->sock) bus_close(f->sock);
    bus_free(f->bus);
    f->bus = bus;
    f->sock = sock;
    /* the request out on the old socket is never answered: ask again at once, as if it had been */
    f->poll.outstanding = false;
    f->poll.next_ns = cw_mono_ns();
    log_info("asking the central host %s with the new CURVE keys", next->central_address);
    return 0;
}

int confetch_local_reload(struct confetch *f, struct cw_config *next, struct cw_config **run, char *err, size_t errlen)
{
    *run = NULL;
    if (reload_curve_changed(f->local, next) && rekey(f, next, err, errlen) != 0) {
        config_free(next);
        return -1;
    }
    config_free(f->local);
    f->local = next;
    if (!f->have_central) return 0;
    *run = probe_effective(&f->central, next, err, errlen);
    return *run ? 0 : -1;
}

void confetch_free(struct confetch *f)
{
    if (f->sock) bus_close(f->sock);
    bus_free(f->bus);
    probe_central_free(&f->central);
    probe_central_free(&f->pending);
    config_free(f->local);
    cw_buf_free(&f->scratch);
    memset(f, 0, sizeof *f);
}
