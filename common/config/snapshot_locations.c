/* common/config/snapshot_locations.c — the locations part of the snapshot (issue 16, snapshot version 8; see
 * snapshot.c for the layout): supervisor.location, bus.config_address and bus.central_address, the top-level
 * `locations` (name and public key), alerts.quorum and alerts.location_silent_after after the alerting part; an
 * endpoint's locations and quorum at the end of its record; a group's at the end of its settings.
 *
 * DESIGN
 * A reader checks what the loader guarantees (names of [A-Za-z0-9_.-], keys of 40 characters, quorums >= 1 or
 * "majority"/"all", at most CW_LOCATIONS_MAX locations) and leaves 0 alone: a config built by hand (tests) has
 * quorum 0 (majority) and no location. An endpoint's names point at the configuration's own strings when they are
 * one of its locations: a worker's 100,000 endpoints share them. */
#include "common/config/config_locations.h"
#include "common/config/snapshot_codec.h"
#include "common/wire/protocol.h"

#include <math.h>
#include <string.h>

static bool quorum_plausible(int q)
{
    return q == 0 || q == CW_QUORUM_MAJORITY || q == CW_QUORUM_ALL || (q >= 1 && q <= CW_LOCATIONS_MAX);
}

void snap_put_locations(struct cw_buf *b, const struct cw_config *c)
{
    snap_put_str(b, c->location);
    snap_put_str(b, c->config_address);
    snap_put_str(b, c->central_address);
    le_buf_u32(b, (uint32_t)c->n_locations);
    for (size_t i = 0; i < c->n_locations; i++) {
        snap_put_str(b, c->locations[i].name);
        snap_put_str(b, c->locations[i].key);
    }
    snap_put_i32(b, c->quorum);
    snap_put_f64(b, c->location_silent_after);
}

void snap_get_locations(struct rd *r, struct cw_config *c)
{
    c->location = snap_get_str(r);
    c->config_address = snap_get_str(r);
    c->central_address = snap_get_str(r);
    c->n_locations = snap_get_count(r, 10);
    if (c->n_locations > CW_LOCATIONS_MAX) snap_set_bad(r);
    if (snap_is_bad(r)) c->n_locations = 0;
    if (c->n_locations) c->locations = cw_arena_alloc(r->arena, c->n_locations * sizeof *c->locations);
    for (size_t i = 0; i < c->n_locations && !snap_is_bad(r); i++) {
        struct cw_location *l = &c->locations[i];
        l->name = snap_get_str(r);
        l->key = snap_get_str(r);
        if (!config_location_name_valid(l->name) || !l->key || strlen(l->key) != 40) snap_set_bad(r);
    }
    c->quorum = snap_get_i32(r);
    c->location_silent_after = snap_get_f64(r);
    if ((c->location && !config_location_name_valid(c->location)) || !quorum_plausible(c->quorum) ||
        !isfinite(c->location_silent_after) || c->location_silent_after < 0 ||
        c->location_silent_after > CW_LOCATION_SILENT_MAX)
        snap_set_bad(r);
}

void snap_put_location_list(struct cw_buf *b, char *const *names, size_t n, int quorum)
{
    snap_put_strv(b, names, n);
    snap_put_i32(b, quorum);
}

/* The configuration's own string for name (its location or one of `locations`), or NULL. */
static char *canonical(const struct cw_config *c, const char *name, size_t len)
{
    if (c->location && strlen(c->location) == len && memcmp(c->location, name, len) == 0) return c->location;
    for (size_t i = 0; i < c->n_locations; i++)
        if (strlen(c->locations[i].name) == len && memcmp(c->locations[i].name, name, len) == 0)
            return c->locations[i].name;
    return NULL;
}

void snap_get_location_list(struct rd *r, const struct cw_config *c, char ***out, size_t *n, int *quorum)
{
    *n = snap_get_count(r, 5);
    if (*n > CW_LOCATIONS_MAX) snap_set_bad(r);
    if (snap_is_bad(r)) *n = 0;
    if (*n) *out = cw_arena_alloc(r->arena, *n * sizeof **out);
    for (size_t i = 0; i < *n && !snap_is_bad(r); i++) {
        size_t len = 0;
        const char *name = snap_peek_str(r, &len);
        char *canon = name ? canonical(c, name, len) : NULL;
        (*out)[i] = canon ? canon : name ? cw_arena_strndup(r->arena, name, len) : NULL;
        if (!config_location_name_valid((*out)[i])) snap_set_bad(r);
    }
    *quorum = snap_get_i32(r);
    if (!quorum_plausible(*quorum)) snap_set_bad(r);
}
