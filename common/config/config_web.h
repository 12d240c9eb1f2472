/* common/config/config_web.h — the `web` section of the config file (clockwerk-web: docs/web.md): the listen
 * address and its safety rules, TLS files, basic auth, connection limits; and the endpoint IDs the web shows
 * (a slug of the name, or of the URL without credentials), which must be unique when the web is on.
 *
 * The listen-address parser and the slug are pure functions shared with web/ (the child applies exactly
 * what the loader validated). */
#ifndef CW_CONFIG_WEB_H
#define CW_CONFIG_WEB_H

#include "common/config/config_reader.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define CW_WEB_DEFAULT_LISTEN "127.0.0.1:8080"
#define CW_WEB_DEFAULT_TITLE "Clockwerk status"
#define CW_WEB_DEFAULT_MAX_CONNECTIONS 1024
#define CW_WEB_DEFAULT_MAX_PER_IP 256
#define CW_WEB_DEFAULT_TIMEOUT 10.0
#define CW_WEB_DEFAULT_HISTORY_REFRESH 60.0
#define CW_WEB_MIN_HISTORY_REFRESH 5.0 /* web.history_refresh's least (a snapshot with less is refused) */
#define CW_WEB_TITLE_MAX 200
#define CW_SLUG_MAX 64 /* bytes of an endpoint ID, without the NUL */

/* web.metrics_per_endpoint (issue 18): /metrics' per-endpoint series; the aggregates are always there. */
enum cw_web_metrics_mode { CW_WEB_METRICS_AUTO = 0, CW_WEB_METRICS_ON = 1, CW_WEB_METRICS_OFF = 2 };
#define CW_WEB_METRICS_AUTO_MAX 10000 /* "auto": per-endpoint series up to this many endpoints */
/* Whether /metrics has the per-endpoint series: on, or auto with at most CW_WEB_METRICS_AUTO_MAX endpoints. */
bool cw_web_metrics_per_endpoint(int mode, size_t n_endpoints);
/* The value's name: "auto", "on", "off". */
const char *cw_web_metrics_mode_name(int mode);

/* "host:port" (an IPv4 literal, "localhost", or "*" for every IPv4 address) or "[v6]:port" ("[::]" for
 * every address). Fills *sa / *salen and *loopback (127.0.0.0/8, ::1). NULL when fine, else a static reason. */
const char *cw_web_listen_parse(const char *v, struct sockaddr_storage *sa, socklen_t *salen, bool *loopback);

/* The endpoint's ID into out (at least CW_SLUG_MAX + 1 bytes): lower-case ASCII letters and digits, every run
 * of anything else one '-', none at either end, cut at CW_SLUG_MAX. From the name, or when there is none (or
 * it has no letter or digit) from the URL without scheme, credentials, query and fragment. Returns the
 * length; 0 only for a URL without any letter or digit. */
size_t cw_endpoint_slug(const char *name, const char *url, char *out, size_t outlen);

/* Reads the `web` group g (NULL: absent, the web is off). Runs before `monitor`, which then refuses two
 * endpoints with one ID when the web is on (config_endpoints.c). */
void cfgp_web(struct cfg_parser *p, const config_setting_t *g);
/* After `monitor` (the endpoints counted): the warning that "auto" leaves the per-endpoint series out. */
void cfgp_web_after(struct cfg_parser *p, const config_setting_t *g);

#endif
