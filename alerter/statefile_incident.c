/* alerter/statefile_incident.c — the state file's incident, flapping and per-channel delivery parts (see
 * statefile.h for the file, docs/alerts.md "The state file" for the format). */
#include <stdlib.h>
#include <string.h>

#include "alerter/state.h"
#include "alerter/statefile_int.h"
#include "common/base/util.h"
#include "common/config/config.h"

json_object *sf_incident_json(const struct statefile_endpoint *e)
{
    const struct incident *inc = &e->inc;
    const struct flap_hist *flap = &e->flap;
    json_object *o = cw_jnew(json_object_new_object());
    sf_put_hex(o, "id", inc->id);
    json_object_object_add(o, "open", cw_jnew(json_object_new_boolean(inc->open)));
    sf_put_i64(o, "since", inc->since_us);
    sf_put_i64(o, "opened_at", inc->opened_wall_us);
    sf_put_i64(o, "steps", inc->steps);
    sf_put_i64(o, "resends", e->resends);
    sf_put_i64(o, "notified", e->notified);
    sf_put_str(o, "acked_by", inc->acked ? (inc->acked_by ? inc->acked_by : "") : NULL);
    sf_put_i64(o, "acked_at", inc->acked_at_us);
    json_object *children = cw_jnew(json_object_new_array());
    for (size_t i = 0; i < inc->n_children; i++)
        json_object_array_add(children, cw_jnew(json_object_new_string(inc->children[i])));
    json_object_object_add(o, "children", children);
    sf_put_hex(o, "flap_history", flap->failed);
    sf_put_i64(o, "flap_checks", flap->n);
    json_object_object_add(o, "flapping", cw_jnew(json_object_new_boolean(flap->flapping)));
    return o;
}

static bool get_bool(struct sf_loader *l, json_object *o, const char *k)
{
    json_object *v = sf_get(l, o, k, json_type_boolean);
    return v && json_object_get_boolean(v);
}

/* A list of strings, appended to (*list, *n). */
static void get_strings(struct sf_loader *l, json_object *o, const char *k, char ***list, size_t *n)
{
    json_object *arr = sf_get(l, o, k, json_type_array);
    size_t len = arr ? json_object_array_length(arr) : 0;
    for (size_t i = 0; i < len && !l->why; i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(v, json_type_string)) {
            l->why = "list entry is not a string";
            return;
        }
        *list = cw_xrealloc(*list, (*n + 1) * sizeof **list);
        (*list)[(*n)++] = cw_xstrdup(json_object_get_string(v));
    }
}

void sf_incident_load(struct sf_loader *l, json_object *endpoint, struct statefile_endpoint *e)
{
    struct incident *inc = &e->inc;
    struct flap_hist *flap = &e->flap;
    json_object *o = NULL;
    if (!json_object_object_get_ex(endpoint, "incident", &o)) {
        e->notified = INCIDENT_NOTIFIED_UNSET; /* a file of before incidents: the caller assumes it was told */
        return;
    }
    if (!json_object_is_type(o, json_type_object)) {
        if (!l->why) l->why = "incident is not an object";
        return;
    }
    inc->id = sf_get_hex(l, o, "id");
    inc->open = get_bool(l, o, "open");
    inc->since_us = sf_get_i64(l, o, "since", I64);
    inc->opened_wall_us = sf_get_i64(l, o, "opened_at", I64);
    inc->steps = (uint32_t)sf_get_i64(l, o, "steps", U32);
    e->resends = (uint32_t)sf_get_i64(l, o, "resends", U32);
    e->notified = (uint8_t)sf_get_i64(l, o, "notified", 0, ASTATE_DOWN);
    inc->acked_by = sf_get_strdup(l, o, "acked_by", true);
    inc->acked = inc->acked_by != NULL;
    inc->acked_at_us = sf_get_i64(l, o, "acked_at", I64);
    get_strings(l, o, "children", &inc->children, &inc->n_children);
    flap->failed = sf_get_hex(l, o, "flap_history");
    flap->n = (uint8_t)sf_get_i64(l, o, "flap_checks", 0, FLAP_WINDOW_MAX);
    flap->flapping = get_bool(l, o, "flapping");
}

void sf_alert_extra_json(json_object *o, const struct alert_rec *a)
{
    sf_put_hex(o, "incident_id", a->incident_id);
    sf_put_i64(o, "severity", a->severity);
    sf_put_i64(o, "muted", a->muted);
    sf_put_i64(o, "escalation", a->escalation);
    sf_put_i64(o, "steps_reached", a->steps_reached);
    sf_put_str(o, "detail", a->detail ? a->detail : "");
    json_object *children = cw_jnew(json_object_new_array());
    for (size_t i = 0; i < a->n_children; i++) {
        json_object *c = cw_jnew(json_object_new_object());
        sf_put_str(c, "name", a->children[i].name);
        sf_put_str(c, "url", a->children[i].url);
        sf_put_i64(c, "avail", a->children[i].avail);
        json_object_array_add(children, c);
    }
    json_object_object_add(o, "children", children);
    json_object *dl = cw_jnew(json_object_new_array());
    for (size_t i = 0; i < a->n_dl; i++) {
        json_object *c = cw_jnew(json_object_new_object());
        sf_put_str(c, "chan", a->dl[i].chan);
        json_object_object_add(c, "email", cw_jnew(json_object_new_boolean(a->dl[i].email)));
        sf_put_i64(c, "state", a->dl[i].state);
        sf_put_i64(c, "failed", a->dl[i].failed);
        json_object_array_add(dl, c);
    }
    json_object_object_add(o, "deliveries", dl);
}

static void load_children(struct sf_loader *l, json_object *arr, struct alert_rec *a)
{
    size_t n = json_object_array_length(arr);
    a->children = cw_xcalloc(n ? n : 1, sizeof *a->children);
    for (size_t i = 0; i < n && !l->why; i++) {
        json_object *c = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(c, json_type_object)) {
            l->why = "child is not an object";
            return;
        }
        struct alert_child *ch = &a->children[a->n_children++];
        ch->name = sf_get_strdup(l, c, "name", false);
        ch->url = sf_get_strdup(l, c, "url", false);
        ch->avail = (uint8_t)sf_get_i64(l, c, "avail", 0, ASTATE_DOWN);
        if (!ch->name) ch->name = cw_xstrdup("");
        if (!ch->url) ch->url = cw_xstrdup("");
    }
}

static void load_deliveries(struct sf_loader *l, json_object *arr, struct alert_rec *a)
{
    for (size_t i = 0; i < json_object_array_length(arr) && !l->why; i++) {
        json_object *c = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(c, json_type_object)) {
            l->why = "delivery is not an object";
            return;
        }
        char *chan = sf_get_strdup(l, c, "chan", false);
        bool email = get_bool(l, c, "email");
        uint8_t state = (uint8_t)sf_get_i64(l, c, "state", 0, CW_DELIVERY_MAX);
        uint32_t failed = (uint32_t)sf_get_i64(l, c, "failed", U32);
        if (chan) alert_add_delivery(a, chan, email, state)->failed = failed;
        free(chan);
    }
}

void sf_alert_extra_load(struct sf_loader *l, json_object *o, struct alert_rec *a)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, "incident_id", &v)) return; /* written before issue 15 */
    a->incident_id = sf_get_hex(l, o, "incident_id");
    a->severity = (uint8_t)sf_get_i64(l, o, "severity", 0, CW_SEV_CRITICAL);
    a->muted = (uint8_t)sf_get_i64(l, o, "muted", 0, CW_MUTE_MAX);
    a->escalation = (uint32_t)sf_get_i64(l, o, "escalation", U32);
    a->steps_reached = (uint32_t)sf_get_i64(l, o, "steps_reached", U32);
    free(a->detail);
    a->detail = sf_get_strdup(l, o, "detail", false);
    json_object *children = sf_get(l, o, "children", json_type_array);
    if (children) load_children(l, children, a);
    json_object *dl = sf_get(l, o, "deliveries", json_type_array);
    if (dl) load_deliveries(l, dl, a);
    alert_update_deliveries(a);
}
