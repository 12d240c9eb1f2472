/* common/config/snapshot_endpoint.c — one endpoint's record in the snapshot (see snapshot.c for the layout): what
 * identifies and schedules the endpoint, the index of its check spec in the snapshot's spec table
 * (snapshot_spec.c), its alerting and locations, written in a fixed order and read back with each enum, count, index
 * and bound checked, so that a worker may rely on what config_load guarantees. The push token is a secret of the
 * web: a shard's reader (a worker) never keeps it. */
#include "common/config/snapshot_codec.h"

#include <math.h>
#include <string.h>

void snap_put_endpoint(struct cw_buf *b, const struct cw_endpoint *ep, bool web, uint32_t spec_index)
{
    size_t at = b->len;
    le_buf_u32(b, 0); /* record length, patched below */
    snap_put_str(b, ep->url);
    snap_put_str(b, ep->name);
    le_buf_u32(b, spec_index);
    snap_put_f64(b, ep->timeout);
    snap_put_f64(b, ep->interval);
    snap_put_f64(b, ep->latency_threshold);
    snap_put_i32(b, ep->alert_threshold);
    snap_put_i32(b, ep->recovery_threshold);
    snap_put_str(b, web ? ep->group : NULL);
    le_buf_u8(b, (uint8_t)ep->type);
    snap_put_str(b, ep->host);
    snap_put_i32(b, ep->port);
    snap_put_str(b, web ? ep->push_token : NULL);
    snap_put_endpoint_alerting(b, ep);
    snap_put_location_list(b, ep->locations, ep->n_locations, ep->quorum);
    le_put_u32(b->data + at, (uint32_t)(b->len - at - 4));
}

void snap_get_endpoint(struct rd *r, struct cw_endpoint *ep, const char *url, size_t url_len, bool keep_token)
{
    ep->url = cw_arena_strndup(r->arena, url, url_len);
    ep->name = snap_get_str(r);
    ep->spec = snap_spec_at(r, r->specs, le_read_u32(&r->in));
    ep->timeout = snap_get_f64(r);
    ep->interval = snap_get_f64(r);
    ep->latency_threshold = snap_get_f64(r);
    ep->alert_threshold = snap_get_i32(r);
    ep->recovery_threshold = snap_get_i32(r);
    ep->group = snap_get_str(r);
    uint8_t type = le_read_u8(&r->in);
    if (type > CW_CHECK_TYPE_MAX) snap_set_bad(r);
    ep->type = (enum cw_check_type)type;
    ep->host = snap_get_str(r);
    int32_t port = snap_get_i32(r);
    if (port >= 0 && port <= 65535) ep->port = (uint16_t)port;
    else snap_set_bad(r); /* refused, not truncated into the uint16_t */
    ep->push_token = keep_token ? snap_get_str(r) : snap_skip_str(r);
    snap_get_endpoint_alerting(r, ep);
    /* what config_load guarantees, a worker may rely on: refuse a forged or damaged record */
    bool ok = isfinite(ep->interval) && ep->interval > 0 && isfinite(ep->timeout) && ep->timeout > 0 &&
              isfinite(ep->latency_threshold) && ep->latency_threshold >= 0 && ep->alert_threshold >= 1 &&
              ep->recovery_threshold >= 1;
    if (ok && ep->type != CW_CHECK_HTTP && ep->type != CW_CHECK_PUSH) ok = ep->host != NULL;
    if (!ok) snap_set_bad(r);
}
