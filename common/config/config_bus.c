/* common/config/config_bus.c — the `bus` section of the config file (see config_bus.h and docs/config.md): the
 * only config file that includes the bus's headers, for its rules on addresses and CURVE keys. */
#include "common/bus/bus.h"
#include "common/bus/bus_keys.h"
#include "common/config/config_bus.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const bus_keys[] = {
    "store_address",    "alert_address",      "publish_address", "tap_address",     "curve_key_file",
    "curve_server_key", "curve_allowed_keys", "config_address",  "central_address", NULL
};
enum {
    BUS_N_ADDRESSES = 4,
    BUS_CURVE_KEY_FILE = 4,
    BUS_CURVE_SERVER_KEY,
    BUS_CURVE_ALLOWED_KEYS,
    BUS_CONFIG_ADDRESS,
    BUS_CENTRAL_ADDRESS
};
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
            cfgp_problem(p, e,
                         "bus.curve_allowed_keys[%d]: expected a public key (40 characters of Z85, as "
                         "`clockwerk keygen` prints it)",
                         j);
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
            cfgp_problem(p, s,
                         "bus.curve_server_key: expected a public key (40 characters of Z85, as "
                         "`clockwerk keygen` prints it)");
        else cfg->curve_server_key = cw_arena_strdup(p->arena, v);
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

/* The addresses the file does not set: ipc://<run_dir>/NAME.sock, reported when too long for a socket. */
static void default_addresses(struct cfg_parser *p, const config_setting_t *g, char **fields[BUS_N_ADDRESSES],
                              const config_setting_t *at[BUS_N_ADDRESSES])
{
    struct cw_config *cfg = p->cfg;
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
}

/* bus.config_address (central: tcp:// or ipc://, not one of the other four) or bus.central_address (probe host:
 * tcp://). */
static void location_address(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, int k,
                             char **fields[BUS_N_ADDRESSES])
{
    struct cw_config *cfg = p->cfg;
    const char *v = cfgp_string(p, w, s, true);
    if (!v) return;
    char *address = bus_address(p, v);
    const char *why = bus_address_problem(address);
    if (!why && k == BUS_CENTRAL_ADDRESS && strncmp(address, "tcp://", 6) != 0)
        why = "the central host is reached over tcp:// (its bus.config_address)";
    /* a probe host connects to it: an address that means "every address here" reaches no central host */
    if (!why && k == BUS_CENTRAL_ADDRESS &&
        (strncmp(address, "tcp://*:", 8) == 0 || strncmp(address, "tcp://0.0.0.0:", 14) == 0 ||
         strncmp(address, "tcp://[::]:", 11) == 0))
        why = "a wildcard host is where a server listens, not where a probe host can connect: give the central "
              "host's name or address";
    if (!why && k == BUS_CONFIG_ADDRESS && strncmp(address, "tcp://*:", 8) == 0)
        why = "tcp://*:PORT can be listened on but not connected to: use tcp://0.0.0.0:PORT to listen on every address";
    if (why) {
        cfgp_problem(p, s, "bus.%s: %s", s->name, why);
        return;
    }
    if (k == BUS_CENTRAL_ADDRESS) {
        cfg->central_address = address;
        return;
    }
    for (int a = 0; a < BUS_N_ADDRESSES; a++)
        if (*fields[a] && strcmp(*fields[a], address) == 0) {
            cfgp_problem(p, s, "bus.config_address: the same address as bus.%s (%s)", bus_keys[a], address);
            return;
        }
    cfg->config_address = address;
}

/* A probe host (bus.central_address) serves nothing and takes its addresses from the central host: the four
 * addresses, config_address and curve_allowed_keys are refused; its key pair and the central's key required. */
static void probe_host_bus(struct cfg_parser *p, const config_setting_t *g, const config_setting_t *central)
{
    struct cw_config *cfg = p->cfg;
    int n = config_setting_length(g);
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        int k = cfgp_key(bus_keys, s->name);
        if (k >= 0 && (k < BUS_N_ADDRESSES || k == BUS_CONFIG_ADDRESS || k == BUS_CURVE_ALLOWED_KEYS))
            cfgp_problem(p, s,
                         "bus.%s: a probe host takes its endpoints and bus addresses from the central host "
                         "(bus.central_address) and serves nothing: remove `bus.%s`",
                         s->name, s->name);
    }
    if (!config_setting_get_member(g, "curve_key_file"))
        cfgp_problem(p, central,
                     "bus.central_address: a probe host needs bus.curve_key_file (its own key pair: `clockwerk keygen "
                     "FILE`, its public key in the central's `locations`)");
    if (!config_setting_get_member(g, "curve_server_key"))
        cfgp_problem(p, central,
                     "bus.central_address: a probe host needs bus.curve_server_key (the public key of the central "
                     "host's bus.curve_key_file)");
    const config_setting_t *server_key = config_setting_get_member(g, "curve_server_key");
    if (server_key && cfg->curve_server_key && cfg->curve_public_key &&
        strcmp(cfg->curve_server_key, cfg->curve_public_key) == 0)
        cfgp_problem(p, server_key,
                     "bus.curve_server_key: this is the probe host's own public key (of bus.curve_key_file); it must "
                     "be the central host's (the public key of the central's bus.curve_key_file)");
    /* they come with the configuration from the central host */
    cfg->store_address = cfg->alert_address = cfg->publish_address = cfg->tap_address = cfg->config_address = NULL;
}

void cfgp_bus(struct cfg_parser *p, const config_setting_t *g)
{
    struct cw_config *cfg = p->cfg;
    struct cfg_where w = { "bus", -1 };
    char **fields[BUS_N_ADDRESSES] = { &cfg->store_address, &cfg->alert_address, &cfg->publish_address,
                                       &cfg->tap_address };
    const config_setting_t *at[BUS_N_ADDRESSES] = { 0 };
    const config_setting_t *key_file_at = NULL, *config_at = NULL;
    const config_setting_t *central = g ? config_setting_get_member(g, "central_address") : NULL;
    int n = g ? config_setting_length(g) : 0;
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        int k = cfgp_key(bus_keys, s->name);
        if (k < 0) {
            cfgp_unknown(p, w, s);
            continue;
        }
        if (central && (k < BUS_N_ADDRESSES || k == BUS_CONFIG_ADDRESS || k == BUS_CURVE_ALLOWED_KEYS))
            continue; /* refused by probe_host_bus */
        if (k == BUS_CONFIG_ADDRESS) config_at = s;
        if (k == BUS_CONFIG_ADDRESS || k == BUS_CENTRAL_ADDRESS) continue; /* once the others are known */
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
        /* each of the four is bound by one process and connected to by others of this host: "*" can only be bound */
        if (!why && strncmp(*fields[k], "tcp://*:", 8) == 0)
            why = "tcp://*:PORT can be listened on but not connected to (this host's own processes connect to it): "
                  "use tcp://0.0.0.0:PORT to listen on every address";
        if (why) {
            cfgp_problem(p, s, "bus.%s: %s", s->name, why);
            *fields[k] = NULL;
            at[k] = NULL;
        }
    }
    if (central) {
        location_address(p, w, central, BUS_CENTRAL_ADDRESS, fields);
        probe_host_bus(p, g, central);
        return;
    }
    default_addresses(p, g, fields, at);
    for (int a = 0; a < BUS_N_ADDRESSES; a++)
        for (int b = a + 1; b < BUS_N_ADDRESSES; b++)
            if (*fields[a] && *fields[b] && strcmp(*fields[a], *fields[b]) == 0)
                cfgp_problem(p,
                             at[b]   ? at[b]
                             : at[a] ? at[a]
                                     : g,
                             "bus.%s: the same address as bus.%s (%s)", bus_keys[b], bus_keys[a], *fields[a]);
    if (config_at) location_address(p, w, config_at, BUS_CONFIG_ADDRESS, fields);
    /* Anything can connect to a tcp port off loopback: there, only CURVE (and its allow-list) keeps strangers
     * off the bus. A key file that did not read was reported already. */
    if (!key_file_at && (cfg->curve_server_key || cfg->n_curve_allowed_keys))
        cfgp_problem(p, g, "bus: curve_server_key and curve_allowed_keys need curve_key_file (this host's key pair)");
    if (!cfg->curve_key_file && !key_file_at) {
        for (int k = 0; k < BUS_N_ADDRESSES; k++)
            if (*fields[k] && !bus_address_local(*fields[k]))
                cfgp_problem(p, at[k] ? at[k] : g,
                             "bus.%s: %s is reachable from other hosts, which needs CURVE: set bus.curve_key_file "
                             "(make one with `clockwerk keygen FILE`)",
                             bus_keys[k], *fields[k]);
        if (cfg->config_address && !bus_address_local(cfg->config_address))
            cfgp_problem(p, config_at,
                         "bus.config_address: %s is reachable from other hosts, which needs CURVE: set "
                         "bus.curve_key_file (make one with `clockwerk keygen FILE`)",
                         cfg->config_address);
    }
}
