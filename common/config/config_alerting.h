/* common/config/config_alerting.h — private to the loader: the alerting keys of issue 15 (docs/config.md
 * "Channels", "Routing", "Maintenance"): alerts.channels of every type with their secrets, the legacy channels
 * made of `email` and alerts.webhooks, alerts.notify/escalate/flap_window/high/low, time_zone, the top-level `groups` and
 * `maintenance`, and each endpoint's notify/severity/depends_on/escalate/flap_window/high/low resolved (own -> its group's ->
 * alerts') into the fields of config.h.
 *
 * DESIGN
 * Channel names are resolved only once every channel is known, and the legacy "email" channel is known only after
 * the `email` section (read after monitor): so the named channels, the routing and the endpoints' alerting keys are
 * read in one pass after every section (cfgp_alerting), from the libconfig tree still alive then. cfgp_alerts reads
 * the plain values of `alerts` (flap_*, time_zone) in its own pass. */
#ifndef CW_CONFIG_ALERTING_H
#define CW_CONFIG_ALERTING_H

#include "common/config/config_reader.h"

#define CW_FLAP_WINDOW_MIN 5
#define CW_FLAP_WINDOW_MAX 64
#define CW_CHANNELS_MAX 256
#define CW_CHANNEL_NAME_MAX 64

/* The pass after every section: channels (named, then legacy), alerts.notify and alerts.escalate, `groups`, the
 * endpoints' alerting keys (endpoint i's group setting in ep_groups[i]), depends_on, `maintenance`. */
void cfgp_alerting(struct cfg_parser *p, const config_setting_t *alerts, const config_setting_t *groups,
                   const config_setting_t *maintenance, const config_setting_t *const *ep_groups);

/* config_channels.c: alerts.channels (NULL: none) and the legacy channels into cfg->channels. */
void cfgp_channels(struct cfg_parser *p, const config_setting_t *list);
/* The name of a channel's environment variable: CLOCKWERK_CHANNEL_<NAME>_<what> (NAME upper-cased, every
 * character other than A-Z and 0-9 as '_'). */
void cfgp_channel_env_name(const char *channel, const char *what, char *out, size_t len);

/* config_routing.c: a list of channel names (or one name) into indices (duplicates dropped); false after
 * reporting. */
bool cfgp_channel_list(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, size_t **out, size_t *n);
/* A list of names s into indices, each found by find(ctx, name) (-1: "KEY: no WHAT is named 'NAME'HINT" reported),
 * each index kept once; *out and *n the known ones. false when s is not a list of strings or a name is unknown. */
/* A list of names s into a bit set: bit k for names[k] (any case; NULL entries skipped), star's bits for "*" (star 0:
 * no "*"). The number of names given, or -1 after reporting "KEY: 'V' is not WHAT (the names)". */
int cfgp_name_bits(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, const char *const *names,
                   unsigned n_names, uint32_t star, const char *what, uint32_t *bits);
bool cfgp_name_indices(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s,
                       long (*find)(const void *ctx, const char *name), const void *ctx, const char *what,
                       const char *hint, size_t **out, size_t *n);
/* A list of escalation steps ( { after = 900; notify = [...]; }, ... ); false after reporting. */
bool cfgp_escalation(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, struct cw_escalation **out,
                     size_t *n);
/* A severity name into *out; false after reporting. */
bool cfgp_severity(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, int *out);
/* An IANA time zone that exists under /usr/share/zoneinfo, in the arena; NULL after reporting. */
char *cfgp_time_zone(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s);
/* One of flap_window (0 or 5..64), flap_high, flap_low (percent 0..100) into its out; false when s is none of
 * them (nothing reported), true otherwise (a bad value reported). */
bool cfgp_flap_key(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, int *window, double *high,
                   double *low);

/* config_depends.c: each endpoint's depends_on (read into ep->depends_on by cfgp_alerting) into depends_on_idx; an
 * unknown name, the endpoint itself or a cycle ("a -> b -> a") reported at the key. */
void cfgp_depends_on(struct cfg_parser *p, const config_setting_t *const *ep_groups);

/* The endpoints by name (uthash): built once for depends_on and maintenance. */
struct cfgp_names;
struct cfgp_names *cfgp_names_new(const struct cw_config *cfg);
long cfgp_names_find(const struct cfgp_names *t, const char *name); /* the index, or -1 */
void cfgp_names_free(struct cfgp_names *t);

/* config_maintenance.c: the top-level `maintenance` list (NULL: none) into cfg->maintenance. */
void cfgp_maintenance(struct cfg_parser *p, const config_setting_t *list);
/* "YYYY-MM-DDTHH:MM[:SS]" with "Z" or "+hh:mm"/"-hh:mm" into µs since the epoch; false when it is not one (or not
 * after 1970). */
bool cw_parse_iso8601(const char *v, int64_t *out_us);
/* "HH:MM" into minutes after midnight (0 .. 1439); -1 when it is not one. */
int cw_parse_hhmm(const char *v);

#endif
