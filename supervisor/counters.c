/* supervisor/counters.c — latest stats per process, logged at shutdown (see counters.h). */
#include "supervisor/counters.h"

#include "common/proc/bus_config.h"
#include "common/base/log.h"
#include "common/base/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void entry_clear(struct counters_entry *e)
{
    for (unsigned i = 0; i < e->count; i++) free(e->names[i]);
    e->count = 0;
}

int counters_open(struct counters *c, const struct cw_config *cfg, char *err, size_t errlen)
{
    const char *tap_address = cfg->tap_address;
    if (c->sub) {
        bus_close(c->sub);
        c->sub = NULL;
    }
    if (c->pub) {
        bus_close(c->pub);
        c->pub = NULL;
    }
    bus_free(c->bus); /* a new bus: the CURVE keys may have changed too */
    c->bus = bus_new_for(cfg, err, errlen);
    if (!c->bus) return -1;
    c->sub = bus_open(c->bus, BUS_SUBSCRIBE, tap_address, err, errlen);
    if (!c->sub) return -1;
    if (bus_subscribe_only(c->sub, CW_MSG_STATS) != 0) {
        snprintf(err, errlen, "cannot subscribe to stats on %s", tap_address);
        bus_close(c->sub);
        c->sub = NULL;
        return -1;
    }
    if (!c->boot_id) c->boot_id = cw_boot_id();
    if (cfg->publish_address && !(c->pub = bus_open(c->bus, BUS_PUBLISH, cfg->publish_address, err, errlen))) return -1;
    return 0;
}

bool counters_publish_due(const struct counters *c, int64_t now) { return c->pub && now >= c->next_publish_ns; }

void counters_publish(struct counters *c, struct proc_stats *st, int64_t now)
{
    c->next_publish_ns = now + 1000000000LL;
    cw_buf_reset(&c->scratch);
    if (proc_stats_encode(st, &c->scratch) == 0) (void)bus_send(c->pub, CW_MSG_STATS, c->scratch.data, c->scratch.len);
}

int counters_fd(const struct counters *c) { return c->sub ? bus_fd(c->sub) : -1; }

static struct counters_entry *entry_for(struct counters *c, const char *role, uint32_t id)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->v[i].id == id && strcmp(c->v[i].role, role) == 0) return &c->v[i];
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 8;
        c->v = cw_xrealloc(c->v, c->cap * sizeof *c->v);
    }
    struct counters_entry *e = &c->v[c->n++];
    memset(e, 0, sizeof *e);
    e->role = cw_xstrdup(role);
    e->id = id;
    return e;
}

void counters_keep(struct counters *c, const struct cw_stats *st)
{
    struct counters_entry *e = entry_for(c, st->role ? st->role : "?", st->id);
    entry_clear(e);
    e->boot_id = st->boot_id;
    e->at_us = st->at_us;
    for (unsigned i = 0; i < st->count && i < CW_STATS_MAX; i++) {
        e->names[i] = cw_xstrdup(st->items[i].name ? st->items[i].name : "?");
        e->values[i] = st->items[i].value;
        e->count = i + 1;
    }
}

static void take(struct counters *c, const struct bus_msg *m)
{
    struct cw_stats st;
    const char *why = NULL;
    if (m->type != CW_MSG_STATS || proto_stats_decode(m->data, m->len, &st, &why) != 0) {
        c->malformed++;
        return;
    }
    counters_keep(c, &st);
}

void counters_drain(struct counters *c)
{
    if (!c->sub) return;
    for (int budget = 0; budget < 10000; budget++) {
        struct bus_msg m;
        int rc = bus_recv(c->sub, &m, 0);
        if (rc <= 0) break;
        take(c, &m);
        bus_msg_release(&m);
    }
}

static int cmp_entry(const void *x, const void *y)
{
    const struct counters_entry *a = x, *b = y;
    int r = strcmp(a->role, b->role);
    if (r) return r;
    return a->id < b->id ? -1 : a->id > b->id;
}

void counters_log(const struct counters *c, unsigned workers)
{
    if (c->n == 0) {
        log_info("final counters: no process reported any");
        return;
    }
    struct counters_entry *sorted = cw_xcalloc(c->n, sizeof *sorted);
    memcpy(sorted, c->v, c->n * sizeof *sorted);
    qsort(sorted, c->n, sizeof *sorted, cmp_entry);
    for (size_t i = 0; i < c->n; i++) {
        const struct counters_entry *e = &sorted[i];
        if (strcmp(e->role, "worker") == 0 && e->id >= workers) continue;
        char line[1800];
        size_t used = 0;
        line[0] = '\0';
        for (unsigned k = 0; k < e->count && used < sizeof line; k++) {
            int w = snprintf(line + used, sizeof line - used, "%s%s=%lld", k ? " " : "", e->names[k],
                             (long long)e->values[k]);
            if (w < 0) break;
            used += (size_t)w;
        }
        if (strcmp(e->role, "worker") == 0) log_info("final counters of %s %u: %s", e->role, e->id, line);
        else log_info("final counters of %s: %s", e->role, line);
    }
    free(sorted);
    if (c->malformed) log_warn("%lu malformed stats messages dropped", c->malformed);
}

void counters_free(struct counters *c)
{
    for (size_t i = 0; i < c->n; i++) {
        entry_clear(&c->v[i]);
        free(c->v[i].role);
    }
    free(c->v);
    if (c->sub) bus_close(c->sub);
    if (c->pub) bus_close(c->pub);
    bus_free(c->bus);
    cw_buf_free(&c->scratch);
    memset(c, 0, sizeof *c);
}
