/* alerter/incident.c — incidents: opening, the ids of their alerts, folded children, acknowledgement (see
 * incident.h). */
#include "alerter/incident.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerter/alert.h"
#include "alerter/endpoints.h"
#include "common/base/clock.h"
#include "common/base/log.h"
#include "common/base/util.h"

void incident_open(struct incident *inc, uint64_t id, int64_t since_us)
{
    inc->id = id;
    inc->open = true;
    inc->since_us = since_us;
    inc->opened_wall_us = 0;
    inc->steps = 0;
    inc->acked = false;
    free(inc->acked_by);
    inc->acked_by = NULL;
    inc->acked_at_us = 0;
    incident_clear_children(inc);
}

bool incident_has_alert(const struct incident *inc, const char *url, uint32_t reminders, uint64_t alert_id)
{
    if (inc->id == 0) return false;
    if (alert_id == inc->id) return true;
    for (uint32_t seq = 1; seq <= reminders; seq++)
        if (alert_make_id(url, CW_ALERT_REMINDER, inc->since_us, seq) == alert_id) return true;
    for (uint32_t step = 1; step <= inc->steps; step++)
        if (alert_make_id(url, CW_ALERT_ESCALATION, inc->since_us, step) == alert_id) return true;
    return false;
}

void incident_add_child(struct incident *inc, const char *url)
{
    for (size_t i = 0; i < inc->n_children; i++)
        if (strcmp(inc->children[i], url) == 0) return;
    inc->children = cw_xrealloc(inc->children, (inc->n_children + 1) * sizeof *inc->children);
    inc->children[inc->n_children++] = cw_xstrdup(url);
}

void incident_clear_children(struct incident *inc)
{
    for (size_t i = 0; i < inc->n_children; i++) free(inc->children[i]);
    free(inc->children);
    inc->children = NULL;
    inc->n_children = 0;
}

int incident_ack(struct endpoints *t, uint64_t alert_id, const char *who, char *msg, size_t len)
{
    if (!who || !who[0]) who = "unknown";
    for (size_t i = 0; i < t->n; i++) {
        struct endpoint *e = &t->all[i];
        struct incident *inc = e->inc; /* allocated while open (alerter/endpoints.h) */
        if (!inc || !inc->open || !incident_has_alert(inc, e->ep->url, e->st.reminders, alert_id)) continue;
        char name[CW_URL_MAX + 1];
        if (e->ep->name && e->ep->name[0]) snprintf(name, sizeof name, "%s", e->ep->name);
        else cw_mask_url(e->ep->url, name, sizeof name);
        if (inc->acked) {
            snprintf(msg, len, "incident %016" PRIx64 " of %s was already acknowledged by %s", inc->id, name,
                     inc->acked_by ? inc->acked_by : "unknown");
            return 0;
        }
        inc->acked = true;
        size_t n = strnlen(who, INCIDENT_WHO_MAX);
        inc->acked_by = cw_xmalloc(n + 1);
        memcpy(inc->acked_by, who, n);
        inc->acked_by[n] = '\0';
        inc->acked_at_us = cw_wall_us();
        snprintf(msg, len, "incident %016" PRIx64 " of %s acknowledged by %s: no more reminders or escalations",
                 inc->id, name, inc->acked_by);
        log_info("%s", msg);
        if (t->d) t->d->unsaved = save_need_max(t->d->unsaved, SAVE_NOW); /* kept across a restart */
        return 0;
    }
    snprintf(msg, len, "no open incident has alert id %016" PRIx64, alert_id);
    return -1;
}

void incident_free(struct incident *inc)
{
    incident_clear_children(inc);
    free(inc->acked_by);
    inc->acked_by = NULL;
}
