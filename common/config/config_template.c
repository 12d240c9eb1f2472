/* common/config/config_template.c — the placeholders of a webhook channel's body_template: the list, the scanner
 * and config_template_check, which `clockwerk -t` runs at load (see config_template.h). */
#include "common/config/config_template.h"

#include "common/config/config.h"

#include <stdio.h>
#include <string.h>

const char *const config_template_fields[CONFIG_TEMPLATE_N_FIELDS] = { "kind",     "name",  "url",      "message",
                                                                       "since",    "at",    "alert_id", "incident_id",
                                                                       "severity", "error", "status",   "text",
                                                                       "hostname" };

int config_template_field(const char *name, size_t len, bool *json)
{
    *json = len > 5 && strncmp(name, "json.", 5) == 0;
    if (*json) name += 5, len -= 5;
    for (size_t i = 0; i < CONFIG_TEMPLATE_N_FIELDS; i++)
        if (strlen(config_template_fields[i]) == len && strncmp(config_template_fields[i], name, len) == 0)
            return (int)i;
    return -1;
}

int config_template_next(const char *p, const char **open, const char **name, size_t *len, const char **close)
{
    const char *o = strstr(p, "{{");
    if (!o) return 0;
    *open = o;
    const char *c = strstr(o + 2, "}}");
    if (!c) return -1;
    const char *s = o + 2, *e = c;
    while (s < e && *s == ' ') s++;
    while (e > s && e[-1] == ' ') e--;
    *name = s;
    *len = (size_t)(e - s);
    *close = c + 2;
    return 1;
}

int config_template_check(const char *tpl, char *err, size_t len)
{
    const char *p = tpl, *open, *name, *close;
    size_t n;
    int found;
    bool json;
    while ((found = config_template_next(p, &open, &name, &n, &close)) == 1) {
        if (config_template_field(name, n, &json) < 0) {
            char known[256];
            size_t at = 0;
            for (size_t i = 0; i < CONFIG_TEMPLATE_N_FIELDS && at < sizeof known; i++)
                at += (size_t)snprintf(known + at, sizeof known - at, "%s, ", config_template_fields[i]);
            snprintf(err, len, "unknown placeholder '{{%.*s}}' (known: %seach also as json.NAME)",
                     (int)(n > 64 ? 64 : n), name, known);
            return -1;
        }
        p = close;
    }
    if (found < 0) {
        snprintf(err, len, "a '{{' at byte %zu is not closed by '}}'", (size_t)(open - tpl));
        return -1;
    }
    return 0;
}
