/* common/config/config_depends.c — endpoints' depends_on (docs/config.md "Routing"): the parent's name into its
 * index, refusing an unknown name, the endpoint itself, and a cycle, named by its chain ("a -> b -> a").
 *
 * DESIGN
 * Each endpoint has at most one parent, so the graph is a set of chains that may end in a loop: one walk from each
 * endpoint not yet seen, marking what it passes with the walk's number, finds every cycle in O(n) — a walk that
 * meets its own mark closed a cycle, one that meets an older mark joined a chain already checked. */
#include "common/config/config_alerting.h"
#include "common/base/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/hash.h"

#define CHAIN_MAX 600

struct name_entry {
    UT_hash_handle hh;
    size_t idx;
};

/* The setting to report a problem of endpoint i's depends_on at. */
static const config_setting_t *depends_at(const config_setting_t *const *ep_groups, size_t i)
{
    const config_setting_t *s = ep_groups ? config_setting_get_member(ep_groups[i], "depends_on") : NULL;
    return s ? s : ep_groups ? ep_groups[i] : NULL;
}

/* Reports the cycle through endpoint `first`: "a -> b -> a". */
static void report_cycle(struct cfg_parser *p, const config_setting_t *const *ep_groups, size_t first)
{
    const struct cw_endpoint *eps = p->cfg->endpoints;
    char chain[CHAIN_MAX + 8];
    size_t at = (size_t)snprintf(chain, sizeof chain, "%s", eps[first].name);
    long j = eps[first].depends_on_idx;
    for (size_t steps = 0; j >= 0 && steps < p->cfg->n_endpoints; steps++) {
        if (at < CHAIN_MAX) at += (size_t)snprintf(chain + at, sizeof chain - at, " -> %s", eps[j].name);
        if ((size_t)j == first) break;
        j = eps[j].depends_on_idx;
    }
    if (at >= CHAIN_MAX) snprintf(chain + CHAIN_MAX - 4, 8, " ...");
    const config_setting_t *s = depends_at(ep_groups, first);
    cfgp_problem(p, s, "monitor.endpoints[%d].depends_on: a cycle of dependencies: %s",
                 config_setting_index(ep_groups[first]), chain);
}

/* Every cycle among the resolved depends_on_idx, once each. */
static void find_cycles(struct cfg_parser *p, const config_setting_t *const *ep_groups)
{
    struct cw_endpoint *eps = p->cfg->endpoints;
    size_t n = p->cfg->n_endpoints;
    size_t *mark = cw_xcalloc(n ? n : 1, sizeof *mark);
    for (size_t i = 0; i < n; i++) {
        if (mark[i]) continue;
        long j = (long)i;
        while (j >= 0 && !mark[j]) {
            mark[j] = i + 1;
            j = eps[j].depends_on_idx;
        }
        if (j >= 0 && mark[j] == i + 1) {
            report_cycle(p, ep_groups, (size_t)j);
            eps[j].depends_on_idx = -1; /* broken, for a tolerant reading (the tap's) that goes on */
        }
    }
    free(mark);
}

struct cfgp_names {
    struct name_entry *table, *entries;
};

struct cfgp_names *cfgp_names_new(const struct cw_config *cfg)
{
    struct cfgp_names *t = cw_xcalloc(1, sizeof *t);
    t->entries = cw_xcalloc(cfg->n_endpoints ? cfg->n_endpoints : 1, sizeof *t->entries);
    for (size_t i = 0; i < cfg->n_endpoints; i++) {
        const char *name = cfg->endpoints[i].name;
        if (!name) continue;
        struct name_entry *dup;
        HASH_FIND_STR(t->table, name, dup);
        if (dup) continue; /* names are unique in a config that loads */
        t->entries[i].idx = i;
        HASH_ADD_KEYPTR(hh, t->table, name, strlen(name), &t->entries[i]);
    }
    return t;
}

long cfgp_names_find(const struct cfgp_names *t, const char *name)
{
    struct name_entry *e;
    HASH_FIND_STR(t->table, name, e);
    return e ? (long)e->idx : -1;
}

void cfgp_names_free(struct cfgp_names *t)
{
    if (!t) return;
    HASH_CLEAR(hh, t->table);
    free(t->entries);
    free(t);
}

void cfgp_depends_on(struct cfg_parser *p, const config_setting_t *const *ep_groups)
{
    struct cw_endpoint *eps = p->cfg->endpoints;
    size_t n = p->cfg->n_endpoints;
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        eps[i].depends_on_idx = -1;
        any |= eps[i].depends_on != NULL;
    }
    if (!any) return;
    struct cfgp_names *names = cfgp_names_new(p->cfg);
    for (size_t i = 0; i < n; i++) {
        if (!eps[i].depends_on) continue;
        int at = ep_groups && p->ep_index ? (int)p->ep_index[i] : ep_groups ? config_setting_index(ep_groups[i]) : (int)i;
        long parent = cfgp_names_find(names, eps[i].depends_on);
        if (parent < 0)
            cfgp_problem(p, depends_at(ep_groups, i), "monitor.endpoints[%d].depends_on: no endpoint is named '%.80s'",
                         at, eps[i].depends_on);
        else if ((size_t)parent == i)
            cfgp_problem(p, depends_at(ep_groups, i),
                         "monitor.endpoints[%d].depends_on: '%.80s' is the endpoint itself", at, eps[i].depends_on);
        else eps[i].depends_on_idx = parent;
    }
    cfgp_names_free(names);
    find_cycles(p, ep_groups);
}
