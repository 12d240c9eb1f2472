/* common/config_groups.c — the small groups of the config file: `supervisor`, `bus` and `alerts`
 * (see docs/config.md for every key, default and bound). */
#include "common/bus.h"
#include "common/bus_keys.h"
#include "common/config_priv.h"
#include "common/log.h"
#include "common/protocol.h"
#include "common/util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MAX_THRESHOLD 1000000
#define MAX_RENOTIFY (30.0 * 86400)

static const char *const supervisor_keys[] = { "workers", "run_dir", "log_level", "user", NULL };

void cfgp_supervisor(struct cfg_parser *p, const config_setting_t *g)
{
    struct cw_config *cfg = p->cfg;
    struct cfg_where w = { "supervisor", -1 };
    const char *run_dir = "run";
    int n = g ? config_setting_length(g) : 0;
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        const char *v;
        switch (cfgp_key(supervisor_keys, s->name)) {
        case 0: cfgp_int(p, w, s, 1, 256, &cfg->workers); break;
        case 1:
            if ((v = cfgp_string(p, w, s, true))) {
                run_dir = v;
                p->run_dir_at = s;
            }
            break;
        case 2:
            if ((v = cfgp_string(p, w, s, true))) {
                int lvl = log_level_parse(v);
                if (lvl < 0)
                    cfgp_problem(p, s, "supervisor.log_level: unknown level '%s' (debug, info, warn, error)", v);
                else
                    cfg->log_level = lvl;
            }
            break;
        case 3:
            if ((v = cfgp_string(p, w, s, true))) {
                const char *colon = strchr(v, ':'); /* "user" or "user:group" */
                if (strcspn(v, " \t\r\n/") != strlen(v) || v[0] == '\0' || v[0] == ':' ||
                    (colon && (colon[1] == '\0' || strchr(colon + 1, ':'))))
                    cfgp_problem(p, s, "supervisor.user: '%s' is not a user name (\"user\" or \"user:group\")", v);
                else
                    cfg->user = cw_arena_strdup(p->arena, v);
            }
            break;
        default: cfgp_unknown(p, w, s);
        }
    }
    cfg->run_dir = cfgp_path(p, run_dir);
}

static const char *const bus_keys[] = { "store_address", "alert_address", "publish_address", "tap_address",
                                        "curve_key_file", "curve_server_key", "curve_allowed_keys", NULL };
enum { BUS_N_ADDRESSES = 4, BUS_CURVE_KEY_FILE = 4, BUS_CURVE_SERVER_KEY, BUS_CURVE_ALLOWED_KEYS };
#define MAX_ALLOWED_KEYS 10000
static const char *const bus_socks[] = { "store.sock", "alert.sock", "publish.sock", "tap.sock" };

/* "ipc://relative/path" is resolved against the config's directory like every other path. */
static char *bus_address(struct cfg_parser *p, const char *v)
{
    if (strncmp(v, "ipc://", 6) != 0 || v[6] == '/' || v[6] == '\0') return cw_arena_strdup(p->arena, v);
    char *path = cfgp_path(p, v + 6);
    size_t len = strlen(path) + 7;
    char *out = cw_arena_alloc(p->arena, len);
    snprintf(out, len, "ipc://%s", path);
    return out;
}

/* bus.curve_allowed_keys: a list of Z85 public keys. */
static void allowed_keys(struct cfg_parser *p, const config_setting_t *s)
{
    struct cw_config *cfg = p->cfg;
    if (s->type != CONFIG_TYPE_ARRAY && s->type != CONFIG_TYPE_LIST) {
        cfgp_problem(p, s, "bus.curve_allowed_keys: expected a list of public keys [\"...\", ...]");
        return;
    }
    int len = config_setting_length(s);
    if (len > MAX_ALLOWED_KEYS) {
        cfgp_problem(p, s, "bus.curve_allowed_keys: at most %d keys (got %d)", MAX_ALLOWED_KEYS, len);
        return;
    }
    char **keys = cw_arena_alloc(p->arena, (size_t)(len ? len : 1) * sizeof *keys);
    size_t kept = 0;
    for (int j = 0; j < len; j++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)j);
        const char *v = e->type == CONFIG_TYPE_STRING ? config_setting_get_string(e) : NULL;
        if (!bus_key_valid(v)) {
            cfgp_problem(p, e, "bus.curve_allowed_keys[%d]: expected a public key (40 characters of Z85, as "
                         "`clockwerk keygen` prints it)", j);
            continue;
        }
        keys[kept++] = cw_arena_strdup(p->arena, v);
    }
    cfg->curve_allowed_keys = keys;
    cfg->n_curve_allowed_keys = kept;
}

/* CURVE settings: a key file that reads (mode 0600, a valid pair), a server key that is a key. */
static void curve_setting(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, int k)
{
    struct cw_config *cfg = p->cfg;
    if (k == BUS_CURVE_ALLOWED_KEYS) {
        allowed_keys(p, s);
        return;
    }
    const char *v = cfgp_string(p, w, s, true);
    if (!v) return;
    if (k == BUS_CURVE_SERVER_KEY) {
        if (!bus_key_valid(v))
            cfgp_problem(p, s, "bus.curve_server_key: expected a public key (40 characters of Z85, as "
                         "`clockwerk keygen` prints it)");
        else
            cfg->curve_server_key = cw_arena_strdup(p->arena, v);
        return;
    }
    char *path = cfgp_path(p, v);
    /* Whoever parses the file (an operator's -t, clockwerk-tap) may not be who reads the key (root, or
     * supervisor.user: the supervisor checks that one can, privs_check_readable): a key this user may not
     * open is left to the processes that use it, which say so and exit 2. */
    if (access(path, R_OK) != 0 && errno == EACCES) {
        cfg->curve_key_file = path;
        return;
    }
    char pub[BUS_KEY_Z85_LEN + 1], sec[BUS_KEY_Z85_LEN + 1], why[4400];
    if (bus_key_file_read(path, pub, sec, why, sizeof why) != 0) {
        cfgp_problem(p, s, "bus.curve_key_file: %s", why);
        return;
    }
    explicit_bzero(sec, sizeof sec);
    cfg->curve_key_file = path;
    cfg->curve_public_key = cw_arena_strdup(p->arena, pub);
}

void cfgp_bus(struct cfg_parser *p, const config_setting_t *g)
{
    struct cw_config *cfg = p->cfg;
    struct cfg_where w = { "bus", -1 };
    char **fields[BUS_N_ADDRESSES] = { &cfg->store_address, &cfg->alert_address, &cfg->publish_address,
                                       &cfg->tap_address };
    const config_setting_t *at[BUS_N_ADDRESSES] = { 0 };
    const config_setting_t *key_file_at = NULL;
    int n = g ? config_setting_length(g) : 0;
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        int k = cfgp_key(bus_keys, s->name);
        if (k < 0) {
            cfgp_unknown(p, w, s);
            continue;
        }
        if (k >= BUS_N_ADDRESSES) {
            if (k == BUS_CURVE_KEY_FILE) key_file_at = s;
            curve_setting(p, w, s, k);
            continue;
        }
        const char *v = cfgp_string(p, w, s, true);
        if (!v) continue;
        at[k] = s;
        *fields[k] = bus_address(p, v);
        const char *why = bus_address_problem(*fields[k]);
        if (why) {
            cfgp_problem(p, s, "bus.%s: %s", s->name, why);
            *fields[k] = NULL;
            at[k] = NULL;
        }
    }
    for (int k = 0; k < BUS_N_ADDRESSES; k++) {
        if (*fields[k] || !cfg->run_dir) continue;
        size_t len = strlen(cfg->run_dir) + strlen(bus_socks[k]) + 8;
        *fields[k] = cw_arena_alloc(p->arena, len);
        snprintf(*fields[k], len, "ipc://%s/%s", cfg->run_dir, bus_socks[k]);
        const char *why = bus_address_problem(*fields[k]);
        if (why && !at[k])
            cfgp_problem(p, p->run_dir_at ? p->run_dir_at : g,
                         "bus.%s: the default %s under run_dir does not work (%s); set bus.%s or a shorter run_dir",
                         bus_keys[k], bus_socks[k], why, bus_keys[k]);
    }
    for (int a = 0; a < BUS_N_ADDRESSES; a++)
        for (int b = a + 1; b < BUS_N_ADDRESSES; b++)
            if (*fields[a] && *fields[b] && strcmp(*fields[a], *fields[b]) == 0)
                cfgp_problem(p, at[b] ? at[b] : at[a] ? at[a] : g, "bus.%s: the same address as bus.%s (%s)",
                             bus_keys[b], bus_keys[a], *fields[a]);
    /* Anything can connect to a tcp port off loopback: there, only CURVE (and its allow-list) keeps strangers
     * off the bus. A key file that did not read was reported already. */
    if (!key_file_at && (cfg->curve_server_key || cfg->n_curve_allowed_keys))
        cfgp_problem(p, g, "bus: curve_server_key and curve_allowed_keys need curve_key_file (this host's key pair)");
    if (!cfg->curve_key_file && !key_file_at)
        for (int k = 0; k < BUS_N_ADDRESSES; k++)
            if (*fields[k] && !bus_address_local(*fields[k]))
                cfgp_problem(p, at[k] ? at[k] : g,
                             "bus.%s: %s is reachable from other hosts, which needs CURVE: set bus.curve_key_file "
                             "(make one with `clockwerk keygen FILE`)", bus_keys[k], *fields[k]);
}

static const char *const alerts_keys[] = { "webhooks", "renotify", "recovery_threshold", "group_threshold", NULL };
static const char *const webhook_keys[] = { "url", NULL };

static void webhooks(struct cfg_parser *p, const config_setting_t *s)
{
    struct cw_config *cfg = p->cfg;
    if (s->type != CONFIG_TYPE_LIST) {
        cfgp_problem(p, s, "alerts.webhooks: expected a list of groups ( { url = \"...\"; }, ... )");
        return;
    }
    int n = config_setting_length(s);
    cfg->webhooks = cw_arena_alloc(p->arena, (size_t)(n ? n : 1) * sizeof *cfg->webhooks);
    for (int i = 0; i < n; i++) {
        const config_setting_t *h = config_setting_get_elem(s, (unsigned)i);
        struct cfg_where w = { "alerts.webhooks", i };
        if (h->type != CONFIG_TYPE_GROUP) {
            cfgp_problem(p, h, "alerts.webhooks[%d]: expected a group { url = \"...\"; }", i);
            continue;
        }
        const char *url = NULL;
        int m = config_setting_length(h);
        for (int j = 0; j < m; j++) {
            const config_setting_t *k = config_setting_get_elem(h, (unsigned)j);
            if (cfgp_key(webhook_keys, k->name) != 0) {
                cfgp_unknown(p, w, k);
                continue;
            }
            const char *v = cfgp_string(p, w, k, true);
            if (!v) continue;
            const char *why = cw_check_http_url(v);
            if (why) {
                char masked[CW_URL_MAX + 1];
                cw_mask_url(v, masked, sizeof masked);
                cfgp_problem(p, k, "alerts.webhooks[%d].url: '%s' %s", i, masked, why);
                continue;
            }
            if (cw_url_has_password(v)) {
                char key[48];
                snprintf(key, sizeof key, "alerts.webhooks[%d].url", i);
                cfgp_check_private(p, k, key);
            }
            url = v;
        }
        if (!url) {
            if (!config_setting_get_member(h, "url")) cfgp_problem(p, h, "alerts.webhooks[%d]: missing url", i);
            continue;
        }
        cfg->webhooks[cfg->n_webhooks++].url = cw_arena_strdup(p->arena, url);
    }
}

void cfgp_alerts(struct cfg_parser *p, const config_setting_t *g)
{
    struct cw_config *cfg = p->cfg;
    struct cfg_where w = { "alerts", -1 };
    int n = g ? config_setting_length(g) : 0;
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        switch (cfgp_key(alerts_keys, s->name)) {
        case 0: webhooks(p, s); break;
        case 1: cfgp_nonneg_seconds(p, w, s, MAX_RENOTIFY, &cfg->renotify); break;
        case 2: cfgp_int(p, w, s, 1, MAX_THRESHOLD, &cfg->recovery_threshold); break;
        case 3: cfgp_int(p, w, s, 1, MAX_THRESHOLD, &cfg->group_threshold); break;
        default: cfgp_unknown(p, w, s);
        }
    }
}
