/* alerter/statefile_loc.c — the "locations", "votes" and "voters" parts of the alerter's state file (issue 16, see
 * statefile.h). */
#include <stdlib.h>
#include <string.h>

#include "alerter/locations.h"
#include "alerter/statefile.h"
#include "alerter/statefile_int.h"
#include "common/base/quorum.h"
#include "common/base/util.h"

json_object *sf_locations_json(const struct statefile_location *locs, size_t n)
{
    json_object *arr = cw_jnew(json_object_new_array());
    for (size_t i = 0; i < n; i++) {
        json_object *o = cw_jnew(json_object_new_object());
        sf_put_str(o, "name", locs[i].name);
        sf_put_str(o, "state", proto_location_state_name(locs[i].state));
        sf_put_i64(o, "heard", locs[i].heard_wall_us);
        sf_put_i64(o, "silent_since", locs[i].silent_since_us);
        sf_put_i64(o, "back_at", locs[i].back_at_us);
        if (locs[i].offset_us == CW_OFFSET_UNKNOWN) json_object_object_add(o, "offset", NULL);
        else sf_put_i64(o, "offset", locs[i].offset_us);
        json_object_array_add(arr, o);
    }
    return arr;
}

static uint8_t state_of(struct sf_loader *l, const char *name)
{
    for (uint8_t s = CW_LOCATION_UNKNOWN; s <= CW_LOCATION_SILENT; s++)
        if (strcmp(name, proto_location_state_name(s)) == 0) return s;
    if (!l->why) l->why = "a location's state is not unknown, live or silent";
    return CW_LOCATION_UNKNOWN;
}

static void load_one(struct sf_loader *l, json_object *o, struct statefile_location *loc)
{
    loc->name = sf_get_strdup(l, o, "name", false);
    char *state = sf_get_strdup(l, o, "state", false);
    if (state) loc->state = state_of(l, state);
    free(state);
    loc->heard_wall_us = sf_get_i64(l, o, "heard", I64);
    loc->silent_since_us = sf_get_i64(l, o, "silent_since", I64);
    loc->back_at_us = sf_get_i64(l, o, "back_at", I64);
    json_object *off = NULL;
    json_object_object_get_ex(o, "offset", &off);
    loc->offset_us = off ? sf_get_i64(l, o, "offset", I64) : CW_OFFSET_UNKNOWN;
    if (loc->name && (!loc->name[0] || strlen(loc->name) > CW_PROTO_LOCATION_MAX) && !l->why)
        l->why = "a location's name is empty or too long";
}

/* An optional top-level array of objects: its length (0 when missing; the loader fails when it is not an array of
 * objects). */
static size_t optional_objects(struct sf_loader *l, json_object *root, const char *key, json_object **arr)
{
    *arr = NULL;
    if (!json_object_object_get_ex(root, key, arr)) return 0;
    if (!json_object_is_type(*arr, json_type_array)) {
        if (!l->why) l->why = "\"locations\", \"votes\" or \"voters\" is not an array";
        return 0;
    }
    size_t count = json_object_array_length(*arr);
    for (size_t i = 0; i < count && !l->why; i++)
        if (!json_object_is_type(json_object_array_get_idx(*arr, i), json_type_object))
            l->why = "a location, a vote or a voter is not an object";
    return l->why ? 0 : count;
}

void sf_locations_load(struct sf_loader *l, json_object *root, struct statefile_location **locs, size_t *n)
{
    json_object *arr;
    size_t count = optional_objects(l, root, "locations", &arr);
    if (!count) return;
    *locs = cw_xcalloc(count, sizeof **locs);
    for (size_t i = 0; i < count && !l->why; i++) load_one(l, json_object_array_get_idx(arr, i), &(*locs)[(*n)++]);
}

void sf_locations_free(struct statefile_location *locs, size_t n)
{
    for (size_t i = 0; i < n; i++) free(locs[i].name);
    free(locs);
}

json_object *sf_votes_json(const struct statefile_vote *votes, size_t n)
{
    json_object *arr = cw_jnew(json_object_new_array());
    for (size_t i = 0; i < n; i++) {
        json_object *o = cw_jnew(json_object_new_object());
        sf_put_str(o, "url", votes[i].url);
        sf_put_str(o, "verdict", quorum_vote_name(votes[i].verdict));
        sf_put_str(o, "summary", votes[i].summary);
        json_object_array_add(arr, o);
    }
    return arr;
}

void sf_votes_load(struct sf_loader *l, json_object *root, struct statefile_vote **votes, size_t *n)
{
    json_object *arr;
    size_t count = optional_objects(l, root, "votes", &arr);
    if (!count) return;
    *votes = cw_xcalloc(count, sizeof **votes);
    for (size_t i = 0; i < count && !l->why; i++) {
        json_object *o = json_object_array_get_idx(arr, i);
        struct statefile_vote *v = &(*votes)[(*n)++];
        v->url = sf_get_strdup(l, o, "url", false);
        v->summary = sf_get_strdup(l, o, "summary", false);
        char *verdict = sf_get_strdup(l, o, "verdict", false);
        v->verdict = verdict && !strcmp(verdict, "up")     ? QUORUM_UP
                     : verdict && !strcmp(verdict, "down") ? QUORUM_DOWN
                                                           : QUORUM_UNKNOWN;
        free(verdict);
    }
}

void sf_votes_free(struct statefile_vote *votes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(votes[i].url);
        free(votes[i].summary);
    }
    free(votes);
}

static json_object *i64_array(const int64_t *v, size_t n)
{
    json_object *arr = cw_jnew(json_object_new_array());
    for (size_t i = 0; i < n; i++) json_object_array_add(arr, cw_jnew(json_object_new_int64(v[i])));
    return arr;
}

json_object *sf_voters_json(const struct statefile_voter *voters, size_t n)
{
    json_object *arr = cw_jnew(json_object_new_array());
    for (size_t i = 0; i < n; i++) {
        const struct quorum_voter *v = &voters[i].v;
        json_object *o = cw_jnew(json_object_new_object());
        sf_put_str(o, "url", voters[i].url);
        sf_put_str(o, "location", voters[i].location);
        sf_put_str(o, "vote", quorum_vote_name(v->vote));
        sf_put_str(o, "speed", quorum_speed_name(v->speed));
        const int64_t runs[] = { v->fail_run, v->ok_run, v->slow_run, v->fast_run };
        const int64_t sinces[] = { v->fail_since_us, v->ok_since_us,    v->slow_since_us, v->fast_since_us,
                                   v->since_us,      v->speed_since_us, v->last_at_us };
        json_object_object_add(o, "runs", i64_array(runs, 4));
        json_object_object_add(o, "sinces", i64_array(sinces, 7));
        sf_put_hex(o, "boot", voters[i].boot_id);
        sf_put_i64(o, "checked", voters[i].checked_us);
        json_object_array_add(arr, o);
    }
    return arr;
}

/* Exactly n integers within [lo, hi] from o's array k into out. */
static void load_i64s(struct sf_loader *l, json_object *o, const char *k, int64_t *out, size_t n, int64_t lo,
                      int64_t hi)
{
    json_object *arr = sf_get(l, o, k, json_type_array);
    if (!arr) return;
    if (json_object_array_length(arr) != n) {
        if (!l->why) l->why = "a voter's runs or sinces have the wrong length";
        return;
    }
    for (size_t i = 0; i < n; i++) {
        json_object *x = json_object_array_get_idx(arr, i);
        int64_t v = json_object_is_type(x, json_type_int) ? json_object_get_int64(x) : 0;
        if (!json_object_is_type(x, json_type_int) || v < lo || v > hi) {
            if (!l->why) l->why = "a voter's run or since is not a number in range";
            return;
        }
        out[i] = v;
    }
}

static uint8_t named(const char *name, const char *(*name_of)(unsigned))
{
    for (unsigned k = 1; k <= 2; k++)
        if (name && strcmp(name, name_of(k)) == 0) return (uint8_t)k;
    return 0;
}

static void load_voter(struct sf_loader *l, json_object *o, struct statefile_voter *out)
{
    struct quorum_voter *v = &out->v;
    out->url = sf_get_strdup(l, o, "url", false);
    out->location = sf_get_strdup(l, o, "location", false);
    char *vote = sf_get_strdup(l, o, "vote", false), *speed = sf_get_strdup(l, o, "speed", false);
    v->vote = named(vote, quorum_vote_name);
    v->speed = named(speed, quorum_speed_name);
    free(vote);
    free(speed);
    int64_t runs[4] = { 0 }, sinces[7] = { 0 };
    load_i64s(l, o, "runs", runs, 4, 0, UINT32_MAX);
    load_i64s(l, o, "sinces", sinces, 7, INT64_MIN, INT64_MAX);
    v->fail_run = (uint32_t)runs[0], v->ok_run = (uint32_t)runs[1];
    v->slow_run = (uint32_t)runs[2], v->fast_run = (uint32_t)runs[3];
    v->fail_since_us = sinces[0], v->ok_since_us = sinces[1], v->slow_since_us = sinces[2];
    v->fast_since_us = sinces[3], v->since_us = sinces[4], v->speed_since_us = sinces[5], v->last_at_us = sinces[6];
    out->boot_id = sf_get_hex(l, o, "boot");
    out->checked_us = sf_get_i64(l, o, "checked", I64);
}

void sf_voters_load(struct sf_loader *l, json_object *root, struct statefile_voter **voters, size_t *n)
{
    json_object *arr;
    size_t count = optional_objects(l, root, "voters", &arr);
    if (!count) return;
    *voters = cw_xcalloc(count, sizeof **voters);
    for (size_t i = 0; i < count && !l->why; i++) load_voter(l, json_object_array_get_idx(arr, i), &(*voters)[(*n)++]);
}

void sf_voters_free(struct statefile_voter *voters, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(voters[i].url);
        free(voters[i].location);
    }
    free(voters);
}
