/* common/config/snapshot_alerting.c — the alerting part of the snapshot (issue 15, snapshot version 7; see
 * snapshot.c for the layout): the channels, alerts.notify and alerts.escalate, flap_*, alerts.time_zone, the
 * `groups` settings and the `maintenance` windows after the web's settings, and each endpoint's resolved notify,
 * severity, depends_on, escalate and flap_* at the end of its record.
 *
 * DESIGN
 * Channel secrets (a token, an email channel's SMTP password, a webhook's headers, every channel's url: a chat
 * service's is the secret, another may hold a password or a token in its path) are the alerter's: a reader keeps
 * them only when it keeps the SMTP password (CLOCKWERK_SECRETS "smtp", never a worker); the others read them as
 * NULL. Every index (a channel's, an endpoint's) is checked against what the snapshot holds, so that the alerter
 * may index with it. A shard's reader (a worker) holds only some endpoints: indices into the whole list would
 * lie there, so it gets no maintenance windows and no depends_on_idx (it reads neither). */
#include "common/config/snapshot_codec.h"

#include <math.h>
#include <string.h>

#define MAX_STEPS 16

/* ---- writing ---- */

static void put_indices(struct cw_buf *b, const size_t *v, size_t n)
{
    le_buf_u32(b, (uint32_t)n);
    for (size_t i = 0; i < n; i++) le_buf_u32(b, (uint32_t)v[i]);
}

static void put_escalation(struct cw_buf *b, const struct cw_escalation *e, size_t n)
{
    le_buf_u32(b, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        snap_put_f64(b, e[i].after);
        put_indices(b, e[i].channels, e[i].n_channels);
    }
}

static void put_channel(struct cw_buf *b, const struct cw_channel *ch)
{
    snap_put_str(b, ch->name);
    le_buf_u8(b, (uint8_t)ch->type);
    le_buf_u8(b, ch->legacy);
    le_buf_u32(b, ch->kinds);
    le_buf_u8(b, (uint8_t)ch->min_severity);
    snap_put_str(b, ch->smtp_host);
    snap_put_i32(b, ch->smtp_port);
    le_buf_u8(b, (uint8_t)ch->smtp_tls);
    snap_put_str(b, ch->smtp_user);
    snap_put_str(b, ch->smtp_password);
    snap_put_str(b, ch->smtp_ca_file);
    snap_put_str(b, ch->email_from);
    snap_put_strv(b, ch->email_to, ch->n_email_to);
    snap_put_str(b, ch->url);
    snap_put_strv(b, ch->headers, ch->n_headers);
    snap_put_str(b, ch->body_template);
    snap_put_str(b, ch->token);
    snap_put_str(b, ch->chat_id);
    le_buf_u8(b, ch->verify_tls);
}

static void put_maintenance(struct cw_buf *b, const struct cw_maintenance *m)
{
    snap_put_str(b, m->name);
    put_indices(b, m->endpoints, m->n_endpoints);
    snap_put_strv(b, m->groups, m->n_groups);
    le_buf_u64(b, (uint64_t)m->start_us);
    snap_put_f64(b, m->duration);
    le_buf_u8(b, m->days);
    snap_put_i32(b, m->from_min);
    snap_put_i32(b, m->to_min);
    snap_put_str(b, m->time_zone);
}

void snap_put_alerting(struct cw_buf *b, const struct cw_config *c)
{
    le_buf_u32(b, (uint32_t)c->n_channels);
    for (size_t i = 0; i < c->n_channels; i++) put_channel(b, &c->channels[i]);
    put_indices(b, c->default_notify, c->n_default_notify);
    put_escalation(b, c->escalate, c->n_escalate);
    snap_put_i32(b, c->flap_window);
    snap_put_f64(b, c->flap_high);
    snap_put_f64(b, c->flap_low);
    snap_put_str(b, c->alert_time_zone);
    le_buf_u32(b, (uint32_t)c->n_group_settings);
    for (size_t i = 0; i < c->n_group_settings; i++) {
        const struct cw_group_settings *g = &c->group_settings[i];
        snap_put_str(b, g->name);
        le_buf_u8(b, g->notify_set);
        put_indices(b, g->notify, g->n_notify);
        snap_put_i32(b, g->severity);
        le_buf_u8(b, g->escalate_set);
        put_escalation(b, g->escalate, g->n_escalate);
        snap_put_location_list(b, g->locations, g->n_locations, g->quorum);
    }
    le_buf_u32(b, (uint32_t)c->n_maintenance);
    for (size_t i = 0; i < c->n_maintenance; i++) put_maintenance(b, &c->maintenance[i]);
}

void snap_put_endpoint_alerting(struct cw_buf *b, const struct cw_endpoint *ep)
{
    put_indices(b, ep->notify, ep->n_notify);
    snap_put_i32(b, ep->severity);
    snap_put_str(b, ep->depends_on);
    snap_put_i32(b, ep->depends_on ? (int)ep->depends_on_idx : -1); /* a hand-built endpoint leaves it 0 */
    put_escalation(b, ep->escalate, ep->n_escalate);
    snap_put_i32(b, ep->flap_window);
    snap_put_f64(b, ep->flap_high);
    snap_put_f64(b, ep->flap_low);
}

/* ---- reading ---- */

static void get_indices(struct rd *r, size_t **out, size_t *n)
{
    *n = snap_get_count(r, 4);
    if (!*n) return;
    *out = cw_arena_alloc(r->arena, *n * sizeof **out);
    for (size_t i = 0; i < *n; i++) (*out)[i] = le_read_u32(&r->in);
}

static void get_escalation(struct rd *r, struct cw_escalation **out, size_t *n)
{
    *n = snap_get_count(r, 12);
    if (*n > MAX_STEPS) snap_set_bad(r);
    if (snap_is_bad(r)) *n = 0;
    if (!*n) return;
    struct cw_escalation *e = cw_arena_alloc(r->arena, *n * sizeof *e);
    for (size_t i = 0; i < *n; i++) {
        e[i].after = snap_get_f64(r);
        get_indices(r, &e[i].channels, &e[i].n_channels);
        if (!isfinite(e[i].after) || e[i].after <= 0 || (i > 0 && e[i].after <= e[i - 1].after)) snap_set_bad(r);
    }
    *out = e;
}

static unsigned get_u8_max(struct rd *r, unsigned max)
{
    uint8_t v = le_read_u8(&r->in);
    if (v > max) snap_set_bad(r);
    return v;
}

/* A list of strings read past (a secret this reader may not hold). */
static void skip_strv(struct rd *r)
{
    size_t n = snap_get_count(r, 5);
    for (size_t i = 0; i < n; i++) snap_skip_str(r);
}

static void get_channel(struct rd *r, struct cw_channel *ch, bool keep_secrets)
{
    ch->name = snap_get_str(r);
    ch->type = (enum cw_channel_type)get_u8_max(r, CW_CHAN_TYPE_MAX);
    ch->legacy = snap_get_bool(r);
    ch->kinds = le_read_u32(&r->in);
    ch->min_severity = (enum cw_severity)get_u8_max(r, CW_SEV_CRITICAL);
    ch->smtp_host = snap_get_str(r);
    ch->smtp_port = snap_get_i32(r);
    ch->smtp_tls = (enum cw_smtp_tls)get_u8_max(r, CW_SMTP_NONE);
    ch->smtp_user = snap_get_str(r);
    ch->smtp_password = keep_secrets ? snap_get_str(r) : snap_skip_str(r);
    ch->smtp_ca_file = snap_get_str(r);
    ch->email_from = snap_get_str(r);
    snap_get_strv(r, &ch->email_to, &ch->n_email_to);
    ch->url = keep_secrets ? snap_get_str(r) : snap_skip_str(r);
    if (keep_secrets) snap_get_strv(r, &ch->headers, &ch->n_headers);
    else skip_strv(r);
    ch->body_template = snap_get_str(r);
    ch->token = keep_secrets ? snap_get_str(r) : snap_skip_str(r);
    ch->chat_id = snap_get_str(r);
    ch->verify_tls = snap_get_bool(r);
    if (!ch->name || ch->smtp_port < 0 || ch->smtp_port > 65535) snap_set_bad(r);
}

static void get_maintenance(struct rd *r, struct cw_maintenance *m)
{
    m->name = snap_get_str(r);
    get_indices(r, &m->endpoints, &m->n_endpoints);
    snap_get_strv(r, &m->groups, &m->n_groups);
    m->start_us = (int64_t)le_read_u64(&r->in);
    m->duration = snap_get_f64(r);
    m->days = (uint8_t)get_u8_max(r, 0x7f);
    m->from_min = snap_get_i32(r);
    m->to_min = snap_get_i32(r);
    m->time_zone = snap_get_str(r);
    if (!m->name || m->start_us < 0 || !isfinite(m->duration) || m->duration < 0 || m->from_min < 0 ||
        m->from_min > 1439 || m->to_min < 0 || m->to_min > 1439 || (m->start_us > 0) == (m->days != 0))
        snap_set_bad(r);
}

static void get_group_settings(struct rd *r, const struct cw_config *c, struct cw_group_settings *g)
{
    g->name = snap_get_str(r);
    g->notify_set = snap_get_bool(r);
    get_indices(r, &g->notify, &g->n_notify);
    g->severity = snap_get_i32(r);
    g->escalate_set = snap_get_bool(r);
    get_escalation(r, &g->escalate, &g->n_escalate);
    snap_get_location_list(r, c, &g->locations, &g->n_locations, &g->quorum);
    if (!g->name || g->severity < -1 || g->severity > CW_SEV_CRITICAL) snap_set_bad(r);
}

void snap_get_alerting(struct rd *r, struct cw_config *c, bool keep_secrets)
{
    c->n_channels = snap_get_count(r, 40);
    if (c->n_channels) c->channels = cw_arena_alloc(r->arena, c->n_channels * sizeof *c->channels);
    for (size_t i = 0; i < c->n_channels && !snap_is_bad(r); i++) get_channel(r, &c->channels[i], keep_secrets);
    get_indices(r, &c->default_notify, &c->n_default_notify);
    get_escalation(r, &c->escalate, &c->n_escalate);
    c->flap_window = snap_get_i32(r);
    c->flap_high = snap_get_f64(r);
    c->flap_low = snap_get_f64(r);
    c->alert_time_zone = snap_get_str(r);
    c->n_group_settings = snap_get_count(r, 14);
    if (c->n_group_settings)
        c->group_settings = cw_arena_alloc(r->arena, c->n_group_settings * sizeof *c->group_settings);
    for (size_t i = 0; i < c->n_group_settings && !snap_is_bad(r); i++) get_group_settings(r, c, &c->group_settings[i]);
    c->n_maintenance = snap_get_count(r, 40);
    if (c->n_maintenance) c->maintenance = cw_arena_alloc(r->arena, c->n_maintenance * sizeof *c->maintenance);
    for (size_t i = 0; i < c->n_maintenance && !snap_is_bad(r); i++) get_maintenance(r, &c->maintenance[i]);
}

/* flap_window 0 or 5..64; the percentages finite and within 0..100 (high > low is the loader's rule, not one an
 * index or a loop depends on: a hand-built config may leave them 0). */
static bool flap_plausible(int window, double high, double low)
{
    bool percents = isfinite(high) && isfinite(low) && low >= 0 && low <= 100 && high >= 0 && high <= 100;
    return percents && (window == 0 || (window >= 5 && window <= 64));
}

void snap_get_endpoint_alerting(struct rd *r, struct cw_endpoint *ep)
{
    /* each value is range-checked before it goes into the endpoint's narrow field: a bad record is refused, never
     * truncated */
    size_t n_notify = 0, n_escalate = 0;
    get_indices(r, &ep->notify, &n_notify);
    int32_t severity = snap_get_i32(r);
    ep->depends_on = snap_get_str(r);
    ep->depends_on_idx = snap_get_i32(r);
    get_escalation(r, &ep->escalate, &n_escalate); /* at most MAX_STEPS */
    int32_t flap_window = snap_get_i32(r);
    ep->flap_high = snap_get_f64(r);
    ep->flap_low = snap_get_f64(r);
    if (n_notify > UINT32_MAX || severity < 0 || severity > CW_SEV_CRITICAL || ep->depends_on_idx < -1 ||
        (ep->depends_on_idx >= 0 && !ep->depends_on) || !flap_plausible(flap_window, ep->flap_high, ep->flap_low)) {
        snap_set_bad(r);
        return;
    }
    ep->n_notify = (uint32_t)n_notify;
    ep->n_escalate = (uint8_t)n_escalate;
    ep->severity = (uint8_t)severity;
    ep->flap_window = (uint8_t)flap_window;
}

static bool indices_below(const size_t *v, size_t n, size_t bound)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] >= bound) return false;
    return true;
}

static bool escalation_below(const struct cw_escalation *e, size_t n, size_t bound)
{
    for (size_t i = 0; i < n; i++)
        if (!indices_below(e[i].channels, e[i].n_channels, bound)) return false;
    return true;
}

bool snap_alerting_plausible(struct cw_config *c, uint32_t total_endpoints, bool shard)
{
    size_t nc = c->n_channels;
    bool ok = indices_below(c->default_notify, c->n_default_notify, nc) &&
              escalation_below(c->escalate, c->n_escalate, nc) &&
              flap_plausible(c->flap_window, c->flap_high, c->flap_low);
    for (size_t i = 0; ok && i < c->n_group_settings; i++)
        ok = indices_below(c->group_settings[i].notify, c->group_settings[i].n_notify, nc) &&
             escalation_below(c->group_settings[i].escalate, c->group_settings[i].n_escalate, nc);
    for (size_t i = 0; ok && i < c->n_maintenance; i++)
        ok = indices_below(c->maintenance[i].endpoints, c->maintenance[i].n_endpoints, total_endpoints);
    for (size_t i = 0; ok && i < c->n_endpoints; i++) {
        struct cw_endpoint *ep = &c->endpoints[i];
        ok = indices_below(ep->notify, ep->n_notify, nc) && escalation_below(ep->escalate, ep->n_escalate, nc) &&
             (ep->depends_on_idx < 0 ||
              ((uint32_t)ep->depends_on_idx < total_endpoints && (shard || (size_t)ep->depends_on_idx != i)));
        if (shard) ep->depends_on_idx = -1;
    }
    if (shard) c->n_maintenance = 0;
    return ok;
}
