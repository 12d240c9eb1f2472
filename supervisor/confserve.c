/* supervisor/confserve.c — the central host's configuration server (see confserve.h). */
#include "supervisor/confserve.h"

#include "common/base/clock.h"
#include "common/base/log.h"
#include "common/proc/bus_config.h"
#include "supervisor/probe.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DRAIN_BUDGET 256 /* requests answered per turn of the loop */

bool confserve_keys_checked(const struct cw_config *cfg, const char *address)
{
    return cfg->curve_key_file && address && strncmp(address, "tcp://", 6) == 0;
}

long confserve_admit(const struct confserve_loc *locs, size_t n, bool keys_checked, const char *location,
                     const char *peer_key, char *why, size_t whylen)
{
    long found = -1;
    for (size_t i = 0; i < n && found < 0; i++)
        if (strcmp(locs[i].name, location) == 0) found = (long)i;
    if (found < 0) {
        snprintf(why, whylen, "unknown location \"%s\": the central host's `locations` do not name it", location);
        return -1;
    }
    if (!keys_checked) return found;
    if (!peer_key || !peer_key[0]) {
        snprintf(why, whylen, "no CURVE key: location %s must connect with its own key", location);
        return -1;
    }
    if (strcmp(peer_key, locs[found].key) != 0) {
        snprintf(why, whylen, "key %s is not location %s's key", peer_key, location);
        return -1;
    }
    return found;
}

bool confserve_refusal_news(struct confserve_refusal *mem, size_t n, struct ratelimit *lines, const char *key,
                            const char *location, int64_t now, uint64_t *unlogged)
{
    struct confserve_refusal *e = NULL, *oldest = &mem[0];
    for (size_t i = 0; i < n && !e; i++) {
        if (mem[i].logged_ns && !strcmp(mem[i].key, key) && !strcmp(mem[i].location, location)) e = &mem[i];
        else if (mem[i].logged_ns < oldest->logged_ns) oldest = &mem[i];
    }
    *unlogged = 0;
    if (e && !e->due && now - e->logged_ns < CONFSERVE_RELOG_NS) {
        e->unlogged++;
        return false;
    }
    if (!e) {
        e = oldest;
        memset(e, 0, sizeof *e);
        snprintf(e->key, sizeof e->key, "%s", key);
        snprintf(e->location, sizeof e->location, "%s", location);
        e->logged_ns = 1; /* in use; due at once (now - 1 >= CONFSERVE_RELOG_NS for any now that is a line's) */
        e->due = true;
    }
    if (!ratelimit_allow(lines, now)) { /* no line left across pairs: counted for this pair's next line */
        e->unlogged++;
        return false;
    }
    *unlogged = e->unlogged;
    e->unlogged = 0;
    e->due = false;
    e->logged_ns = now > 0 ? now : 1;
    return true;
}

static void locs_free(struct confserve_loc *locs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(locs[i].name);
        if (locs[i].snap) explicit_bzero(locs[i].snap, locs[i].snap_len); /* the endpoints' check secrets */
        free(locs[i].snap);
    }
    free(locs);
}

/* Every location's answer for cfg into *out. 0, or -1 with err (nothing allocated). */
static int build_locs(const struct cw_config *cfg, struct confserve_loc **out, size_t *n_out, char *err, size_t errlen)
{
    struct confserve_loc *locs = cw_xcalloc(cfg->n_locations + 1, sizeof *locs);
    size_t n = 0;
    for (size_t i = 0; i < cfg->n_locations; i++, n++) {
        const struct cw_location *l = &cfg->locations[i];
        char e[400];
        struct cw_config *sub = config_for_location(cfg, l->name, e, sizeof e);
        /* Whether the central stores (not how): the probe's workers then deliver to its storer (worker/output.c
         * sends to a storer only when db_activation is on); no database setting goes with it. */
        if (sub) sub->db_activation = cfg->db_activation;
        int rc = sub ? config_snapshot_encode(sub, &locs[n].snap, &locs[n].snap_len, e, sizeof e) : -1;
        config_free(sub);
        if (rc != 0) {
            snprintf(err, errlen, "configuration of location %s: %s", l->name, e);
            locs_free(locs, n + 1);
            return -1;
        }
        locs[n].name = cw_xstrdup(l->name);
        snprintf(locs[n].key, sizeof locs[n].key, "%s", l->key ? l->key : "");
        locs[n].hash = probe_config_hash(locs[n].snap, locs[n].snap_len, cfg->store_address, cfg->alert_address,
                                         cfg->publish_address);
    }
    *out = locs;
    *n_out = n;
    return 0;
}

static void replace_str(char **dst, const char *src)
{
    free(*dst);
    *dst = src ? cw_xstrdup(src) : NULL;
}

/* Takes the answers of cfg; a location already served keeps its "connected" mark. */
static void take_locs(struct confserve *cs, const struct cw_config *cfg, struct confserve_loc *locs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < cs->n_locs; j++)
            if (strcmp(locs[i].name, cs->locs[j].name) == 0) locs[i].hash_logged = cs->locs[j].hash_logged;
    locs_free(cs->locs, cs->n_locs);
    cs->locs = locs;
    cs->n_locs = n;
    replace_str(&cs->store_address, cfg->store_address);
    replace_str(&cs->alert_address, cfg->alert_address);
    replace_str(&cs->publish_address, cfg->publish_address);
}

static void close_socket(struct confserve *cs)
{
    if (cs->sock) bus_close(cs->sock);
    cs->sock = NULL;
    bus_free(cs->bus);
    cs->bus = NULL;
    free(cs->address);
    cs->address = NULL;
}

/* A bus and a socket bound for cfg into `into` (its bus, sock, address, keys_checked). 0, or -1 with err (nothing
 * left open). */
static int open_socket(struct confserve *into, const struct cw_config *cfg, char *err, size_t errlen)
{
    into->bus = bus_new_for(cfg, err, errlen);
    if (!into->bus) return -1;
    into->sock = bus_open(into->bus, BUS_SERVE_CONFIG, cfg->config_address, err, errlen);
    if (!into->sock) {
        close_socket(into);
        return -1;
    }
    into->address = cw_xstrdup(cfg->config_address);
    into->keys_checked = confserve_keys_checked(cfg, cfg->config_address);
    return 0;
}

/* The socket cfg wants: the new one is bound before the old one closes, so a bind that fails leaves the old
 * address served (with the new answers); the same address (new keys) must be closed before it is bound again.
 * A failure is retried by confserve_tick; `quiet`: a retry, whose failures were said already. */
static void rebind(struct confserve *cs, const struct cw_config *cfg, bool quiet)
{
    cs->stale = false;
    if (!cfg->config_address) {
        if (cs->sock) log_info("no longer serving the locations' configuration (bus.config_address removed)");
        close_socket(cs);
        return;
    }
    if (cs->address && strcmp(cs->address, cfg->config_address) == 0) close_socket(cs);
    struct confserve fresh = { 0 };
    char err[600];
    if (open_socket(&fresh, cfg, err, sizeof err) != 0) {
        cs->stale = true;
        cs->retry_ns = cw_mono_ns() + CONFSERVE_RETRY_NS;
        if (quiet) return;
        if (cs->sock)
            log_error("cannot serve the locations' configuration on %s: %s; still serving it on %s; trying %s again "
                      "every %d s",
                      cfg->config_address, err, cs->address, cfg->config_address,
                      (int)(CONFSERVE_RETRY_NS / 1000000000));
        else
            log_error("cannot serve the locations' configuration on %s: %s; NOT serving it now (the probe hosts keep "
                      "checking with what they have); trying again every %d s",
                      cfg->config_address, err, (int)(CONFSERVE_RETRY_NS / 1000000000));
        return;
    }
    close_socket(cs);
    cs->bus = fresh.bus;
    cs->sock = fresh.sock;
    cs->address = fresh.address;
    cs->keys_checked = fresh.keys_checked;
    log_info("serving the configuration of the locations on %s", cs->address);
}

int confserve_open(struct confserve *cs, const struct cw_config *cfg, char *err, size_t errlen)
{
    memset(cs, 0, sizeof *cs);
    cs->refused_log.what = "refused configuration requests";
    cs->malformed_log.what = "malformed configuration requests";
    struct confserve_loc *locs;
    size_t n;
    if (build_locs(cfg, &locs, &n, err, errlen) != 0) return -1;
    if (open_socket(cs, cfg, err, errlen) != 0) {
        locs_free(locs, n);
        return -1;
    }
    take_locs(cs, cfg, locs, n);
    log_info("serving the configuration of %zu location%s on %s%s", n, cw_plural((long long)n), cs->address,
             cs->keys_checked ? "" : " (no CURVE: the locations' keys are not checked)");
    return 0;
}

/* Whether the keys the bus admits for the locations differ (its allow-list is fixed when it opens). */
static bool admitted_changed(const struct confserve_loc *a, size_t na, const struct confserve_loc *b, size_t nb)
{
    if (na != nb) return true;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i].key, b[i].key) != 0) return true;
    return false;
}

int confserve_reload(struct confserve *cs, const struct cw_config *cfg, bool curve_changed, char *err, size_t errlen)
{
    struct confserve_loc *locs;
    size_t n;
    if (build_locs(cfg, &locs, &n, err, errlen) != 0) return -1;
    bool moved = !cfg->config_address || !cs->address || strcmp(cfg->config_address, cs->address) != 0;
    bool again = moved || curve_changed || cs->stale || admitted_changed(cs->locs, cs->n_locs, locs, n);
    take_locs(cs, cfg, locs, n);
    if (again) rebind(cs, cfg, false);
    return 0;
}

int64_t confserve_tick(struct confserve *cs, const struct cw_config *cfg, int64_t now)
{
    if (!cs->stale) return INT64_MAX;
    if (now < cs->retry_ns) return cs->retry_ns;
    rebind(cs, cfg, true);
    return cs->stale ? cs->retry_ns : INT64_MAX;
}

int confserve_fd(const struct confserve *cs) { return cs->sock ? bus_fd(cs->sock) : -1; }

static void reply(struct confserve *cs, const struct bus_msg *m, const struct cw_config_reply *r)
{
    cw_buf_reset(&cs->scratch);
    if (proto_config_reply_encode(&cs->scratch, r) != 0) {
        log_error("cannot encode the configuration reply (%zu bytes of snapshot)", r->snapshot_len);
        return;
    }
    if (bus_send_to(cs->sock, &m->peer, CW_MSG_CONFIG, cs->scratch.data, cs->scratch.len) == BUS_ERROR)
        log_warn("cannot answer a configuration request on %s", cs->address);
}

/* One request: admitted, answered NEW or UNCHANGED, or refused. */
static void answer(struct confserve *cs, const struct bus_msg *m, int64_t now)
{
    struct cw_config_get g;
    const char *bad = NULL;
    if (m->type != CW_MSG_CONFIG_GET || proto_config_get_decode(m->data, m->len, &g, &bad) != 0) {
        cs->malformed++;
        if (ratelimit_allow(&cs->malformed_log, now))
            log_warn("malformed configuration request on %s (type %d): %s", cs->address, (int)m->type,
                     bad ? bad : "not a CONFIG_GET");
        return;
    }
    cs->requests++;
    struct cw_config_reply r = { .echo_sent_at_us = g.sent_at_us, .central_at_us = cw_wall_us(), .reason = "" };
    char why[300];
    long at = confserve_admit(cs->locs, cs->n_locs, cs->keys_checked, g.location, m->peer_key, why, sizeof why);
    if (at < 0) {
        cs->refused++;
        const char *key = m->peer_key[0] ? m->peer_key : "(none)";
        uint64_t unlogged;
        char more[64] = "";
        if (confserve_refusal_news(cs->refusals, CONFSERVE_REFUSALS, &cs->refused_log, key, g.location, now,
                                   &unlogged)) {
            if (unlogged) snprintf(more, sizeof more, " (%llu more since its last line)", (unsigned long long)unlogged);
            log_warn("configuration refused to key %s claiming location \"%s\": %s%s", key, g.location, why, more);
        }
        r.status = CW_CONFIG_REFUSED;
        r.reason = why;
        reply(cs, m, &r);
        return;
    }
    struct confserve_loc *loc = &cs->locs[at];
    r.hash = loc->hash;
    if (g.have_hash == loc->hash) {
        r.status = CW_CONFIG_UNCHANGED;
        cs->sent_unchanged++;
    } else {
        r.status = CW_CONFIG_NEW;
        r.store_address = cs->store_address;
        r.alert_address = cs->alert_address;
        r.publish_address = cs->publish_address;
        r.snapshot = loc->snap;
        r.snapshot_len = loc->snap_len;
        cs->sent_new++;
    }
    if (loc->hash_logged != loc->hash) {
        log_info("location %s connected (config %016llx)%s", loc->name, (unsigned long long)loc->hash,
                 r.status == CW_CONFIG_NEW ? ": sending it" : "");
        loc->hash_logged = loc->hash;
    }
    reply(cs, m, &r);
}

bool confserve_drain(struct confserve *cs)
{
    if (!cs->sock) return false;
    int64_t now = cw_mono_ns();
    for (int i = 0; i < DRAIN_BUDGET; i++) {
        struct bus_msg m;
        int rc = bus_recv(cs->sock, &m, 0);
        if (rc <= 0) return false;
        answer(cs, &m, now);
        bus_msg_release(&m);
    }
    return true;
}

void confserve_free(struct confserve *cs)
{
    close_socket(cs);
    locs_free(cs->locs, cs->n_locs);
    free(cs->store_address);
    free(cs->alert_address);
    free(cs->publish_address);
    if (cs->scratch.data) explicit_bzero(cs->scratch.data, cs->scratch.cap); /* the last reply's snapshot */
    cw_buf_free(&cs->scratch);
    memset(cs, 0, sizeof *cs);
}
