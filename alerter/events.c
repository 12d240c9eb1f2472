/* alerter/events.c — the wording table of alert kinds (see events.h). */
#include "alerter/events.h"

#include "common/wire/protocol.h"

struct wording {
    const char *word;
    const char *phrase;
};

static const struct wording table[CW_ALERT_KIND_MAX + 1] = {
    [CW_ALERT_DOWN] = { "DOWN", "is down" },
    [CW_ALERT_UP] = { "UP", "is up again" },
    [CW_ALERT_SLOW] = { "SLOW", "is slow" },
    [CW_ALERT_FAST] = { "FAST", "is fast again" },
    [CW_ALERT_TLS_EXPIRY] = { "TLS EXPIRY", "has a TLS certificate that expires soon" },
    [CW_ALERT_REMINDER] = { "STILL DOWN", "is still down" },
    [CW_ALERT_FLAPPING] = { "FLAPPING", "is flapping" },
    [CW_ALERT_ESCALATION] = { "ESCALATED", "is still down: escalated" },
    [CW_ALERT_LOCATION_SILENT] = { "LOCATION SILENT", "is silent" },
    [CW_ALERT_LOCATION_BACK] = { "LOCATION BACK", "is back" },
};

const char *events_word(unsigned kind)
{
    return (kind <= CW_ALERT_KIND_MAX && table[kind].word) ? table[kind].word : "ALERT";
}

const char *events_phrase(unsigned kind)
{
    return (kind <= CW_ALERT_KIND_MAX && table[kind].phrase) ? table[kind].phrase : "changed state";
}
