/* common/config/config_template.h — the placeholders of a webhook channel's body_template (docs/config.md
 * "Channels"): the one list that the configuration's check (config_template_check, config.h) and the alerter's
 * renderer (alerter/channel_webhook.c) share, and the scanner both read templates with. */
#ifndef CW_CONFIG_TEMPLATE_H
#define CW_CONFIG_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#define CONFIG_TEMPLATE_N_FIELDS 13

/* "kind", "name", "url", "message", "since", "at", "alert_id", "incident_id", "severity", "error", "status", "text",
 * "hostname"; each also usable as {{json.NAME}} (the value JSON-escaped). */
extern const char *const config_template_fields[CONFIG_TEMPLATE_N_FIELDS];

/* The index in config_template_fields of the placeholder name[0..len) ("NAME" or "json.NAME": *json says which),
 * or -1. */
int config_template_field(const char *name, size_t len, bool *json);

/* Finds the next "{{...}}" at or after p: *open at its "{{", the name between the braces trimmed of spaces in
 * [*name, *name + *len), *close just past its "}}". 1 found, 0 none, -1 a "{{" not closed (*open set). */
int config_template_next(const char *p, const char **open, const char **name, size_t *len, const char **close);

#endif
