/* alerter/silenceops.c — the control socket's silence operations (see silenceops.h). */
#include "alerter/silenceops.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/base/clock.h"
#include "common/base/log.h"

/* 0 when the silence's endpoint (by name or URL) or group is in the configuration, else -1 with err. */
static int scope_known(const struct cw_config *cfg, const struct silence *want, char *err, size_t errlen)
{
    if (want->all) return 0;
    for (size_t i = 0; i < cfg->n_endpoints; i++) {
        const struct cw_endpoint *ep = &cfg->endpoints[i];
        if (want->group && ep->group && strcmp(ep->group, want->group) == 0) return 0;
        if (want->endpoint &&
            ((ep->name && strcmp(ep->name, want->endpoint) == 0) || (ep->url && strcmp(ep->url, want->endpoint) == 0)))
            return 0;
    }
    if (want->group) {
        snprintf(err, errlen, "unknown group '%.200s': no endpoint has this group", want->group);
    } else {
        char masked[600];
        cw_mask_url(want->endpoint ? want->endpoint : "", masked, sizeof masked);
        snprintf(err, errlen, "unknown endpoint '%.400s': no endpoint has this name or URL", masked);
    }
    return -1;
}

/* The name of the endpoint whose URL is url, NULL when none has it or it has no name. */
static const char *name_of_url(const struct cw_config *cfg, const char *url)
{
    for (size_t i = 0; url && i < cfg->n_endpoints; i++)
        if (cfg->endpoints[i].url && strcmp(cfg->endpoints[i].url, url) == 0) return cfg->endpoints[i].name;
    return NULL;
}

static int op_add(void *ctx, const struct silence *want, const struct silence **added, char *err, size_t errlen)
{
    struct silenceops *so = ctx;
    if (scope_known(*so->cfg, want, err, errlen) != 0) return -1;
    struct silence named = *want; /* by URL: the endpoint's name now, listed and logged beside it */
    named.endpoint_name = (char *)name_of_url(*so->cfg, want->endpoint);
    const struct silence *x = silences_add(so->silences, &named, err, errlen);
    if (!x) return -1;
    char id[17];
    memcpy(id, x->id, sizeof id);
    if (silences_save(so->silences, err, errlen) != 0) {
        log_error("silence refused: %s", err);
        (void)silences_remove(so->silences, id, NULL);
        return -1;
    }
    x = &so->silences->v[so->silences->n - 1];
    char scope[4300], end[32];
    log_info("silence %s of %s added by %s until %s (reason: %s)", x->id, silence_scope(x, scope, sizeof scope),
             x->author, cw_format_iso8601(x->end_us, end, sizeof end), x->reason);
    *added = x;
    so->changed = true;
    return 0;
}

static int op_remove(void *ctx, const char *id, const char *who, struct silence *removed, char *err, size_t errlen)
{
    struct silenceops *so = ctx;
    if (silences_remove(so->silences, id, removed) != 0) {
        snprintf(err, errlen, "no silence has id '%.40s'", id);
        return -1;
    }
    so->changed = true;
    char scope[4300];
    log_info("silence %s of %s removed by %s (reason was: %s; added by %s)", removed->id,
             silence_scope(removed, scope, sizeof scope), who, removed->reason, removed->author);
    if (silences_save(so->silences, err, errlen) != 0) {
        /* removed in memory (it no longer mutes), but the file still has it: the next start brings it back */
        log_error("%s: the removed silence comes back at the next start unless a later save succeeds", err);
        snprintf(err + strlen(err), errlen - strlen(err), " (removed until the alerter restarts)");
        silence_clear(removed);
        return -1;
    }
    return 0;
}

static const struct silences *op_list(void *ctx)
{
    struct silenceops *so = ctx;
    return so->silences;
}

void silenceops_bind(struct control_ops *ops, struct silenceops *so)
{
    ops->ctx = so;
    ops->silence_add = op_add;
    ops->silence_remove = op_remove;
    ops->silence_list = op_list;
}

void silencectl_open(struct silencectl *sc, const char *run_dir, struct cw_config *const *cfg)
{
    memset(sc, 0, sizeof *sc);
    silences_init(&sc->silences, run_dir);
    (void)silences_load(&sc->silences, cw_wall_us()); /* logs what it found, or moves a bad file aside */
    sc->so = (struct silenceops){ .silences = &sc->silences, .cfg = cfg };
    struct control_ops ops = { 0 };
    silenceops_bind(&ops, &sc->so);
    control_open(&sc->ctl, run_dir, &ops);
}

void silencectl_close(struct silencectl *sc)
{
    control_close(&sc->ctl);
    silences_free(&sc->silences);
}

bool silencectl_run(struct silencectl *sc, int64_t now_us)
{
    size_t ended = silences_expire(&sc->silences, cw_wall_us());
    char err[600];
    if (ended && silences_save(&sc->silences, err, sizeof err) != 0) log_error("%s", err);
    control_run(&sc->ctl, now_us);
    bool changed = ended > 0 || sc->so.changed;
    sc->so.changed = false;
    return changed;
}

int64_t silencectl_deadline(const struct silencectl *sc, int64_t now_us)
{
    int64_t next = control_deadline(&sc->ctl), end = silences_next_end(&sc->silences);
    if (end != INT64_MAX) {
        int64_t wall = cw_wall_us(), at = end <= wall ? now_us : now_us + (end - wall);
        if (at < next) next = at;
    }
    return next;
}
