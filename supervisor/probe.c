/* supervisor/probe.c — a probe host's copy of the central's configuration: central.snap, the addresses, the local
 * settings put over it (see probe.h). */
#include "supervisor/probe.h"

#include "common/base/le.h"
#include "common/wire/protocol.h"
#include "common/config/config_arena.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CACHE_MAGIC "CWCENTRL"
#define CACHE_VERSION 2u                             /* 1: the hash covered the snapshot bytes only */
#define CACHE_MAX ((size_t)CW_CONFIG_MSG_MAX + 4096) /* a snapshot as large as a CONFIG may carry, and the header */

void probe_central_free(struct probe_central *c)
{
    free(c->store_address);
    free(c->alert_address);
    free(c->publish_address);
    if (c->snap) explicit_bzero(c->snap, c->snap_len); /* the endpoints' check secrets */
    free(c->snap);
    memset(c, 0, sizeof *c);
}

uint64_t probe_config_hash(const void *snap, size_t len, const char *store, const char *alert, const char *publish)
{
    struct cw_buf b = { 0 };
    le_buf_u64(&b, cw_hash64_mem(snap, len));
    const char *addresses[3] = { store, alert, publish };
    for (int i = 0; i < 3; i++) {
        size_t n = addresses[i] ? strlen(addresses[i]) : 0;
        le_buf_u16(&b, (uint16_t)(n > CW_ADDRESS_MAX ? CW_ADDRESS_MAX : n));
        cw_buf_put(&b, addresses[i], n > CW_ADDRESS_MAX ? CW_ADDRESS_MAX : n);
    }
    uint64_t h = cw_hash64_mem(b.data, b.len);
    cw_buf_free(&b);
    return h;
}

static void put_str(struct cw_buf *out, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n > CW_ADDRESS_MAX) n = CW_ADDRESS_MAX; /* never: addresses are validated far shorter */
    le_buf_u16(out, (uint16_t)n);
    cw_buf_put(out, s, n);
}

void probe_cache_encode(const struct probe_central *c, struct cw_buf *out)
{
    cw_buf_put(out, CACHE_MAGIC, 8);
    le_buf_u32(out, CACHE_VERSION);
    le_buf_u64(out, c->hash);
    le_buf_u64(out, (uint64_t)c->received_at_us);
    put_str(out, c->store_address);
    put_str(out, c->alert_address);
    put_str(out, c->publish_address);
    le_buf_u32(out, (uint32_t)c->snap_len);
    cw_buf_put(out, c->snap, c->snap_len);
}

/* A string of the container: u16 length, bytes without NUL; NULL (with r failed) when too long or cut. */
static char *read_str(struct le_reader *r)
{
    uint16_t n = le_read_u16(r);
    if (n > CW_ADDRESS_MAX) {
        le_reader_fail(r, "an address longer than 1024 bytes");
        return NULL;
    }
    const uint8_t *p = le_read_bytes(r, n);
    if (!p) return NULL;
    if (memchr(p, 0, n)) {
        le_reader_fail(r, "a NUL byte in an address");
        return NULL;
    }
    char *s = cw_xmalloc((size_t)n + 1);
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

int probe_cache_decode(const void *data, size_t len, struct probe_central *out, const char **why)
{
    memset(out, 0, sizeof *out);
    struct le_reader r = le_reader_of(data, len);
    const uint8_t *magic = le_read_bytes(&r, 8);
    if (magic && memcmp(magic, CACHE_MAGIC, 8) != 0) le_reader_fail(&r, "not a central.snap file (bad magic)");
    if (le_read_u32(&r) != CACHE_VERSION) le_reader_fail(&r, "unknown central.snap version");
    out->hash = le_read_u64(&r);
    out->received_at_us = (int64_t)le_read_u64(&r);
    if (!r.why) out->store_address = read_str(&r);
    if (!r.why) out->alert_address = read_str(&r);
    if (!r.why) out->publish_address = read_str(&r);
    uint32_t n = le_read_u32(&r);
    const uint8_t *snap = r.why ? NULL : le_read_bytes(&r, n);
    if (snap && r.left != 0) le_reader_fail(&r, "trailing bytes");
    if (snap && !r.why &&
        probe_config_hash(snap, n, out->store_address, out->alert_address, out->publish_address) != out->hash)
        le_reader_fail(&r, "damaged: the hash does not match");
    if (snap && !r.why && n == 0) le_reader_fail(&r, "no configuration in it");
    if (r.why) {
        *why = r.why;
        probe_central_free(out);
        return -1;
    }
    out->snap = cw_xmalloc(n);
    memcpy(out->snap, snap, n);
    out->snap_len = n;
    return 0;
}

static int cache_path(const char *run_dir, const char *suffix, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%s/%s%s", run_dir, PROBE_CACHE_FILE, suffix);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int probe_cache_save(const char *run_dir, const struct probe_central *c, char *err, size_t errlen)
{
    char path[4200], tmp[4200];
    if (cache_path(run_dir, "", path, sizeof path) != 0 || cache_path(run_dir, ".tmp", tmp, sizeof tmp) != 0) {
        snprintf(err, errlen, "%s/%s: path too long", run_dir, PROBE_CACHE_FILE);
        return -1;
    }
    struct cw_buf b = { 0 };
    probe_cache_encode(c, &b);
    const char *step = "write";
    int rc = cw_write_file_atomic(path, tmp, b.data, b.len, true, &step);
    if (rc != 0) snprintf(err, errlen, "cannot save %s: %s: %s", path, step, strerror(errno));
    explicit_bzero(b.data, b.len);
    cw_buf_free(&b);
    return rc;
}

int probe_cache_load(const char *run_dir, struct probe_central *out, char *err, size_t errlen)
{
    char path[4200];
    if (cache_path(run_dir, "", path, sizeof path) != 0) {
        snprintf(err, errlen, "%s/%s: path too long", run_dir, PROBE_CACHE_FILE);
        return -1;
    }
    unsigned char *data = NULL;
    size_t len = 0;
    int rc = cw_read_file(path, path, CACHE_MAX, &data, &len, err, errlen);
    if (rc <= 0) return rc;
    const char *why = NULL;
    rc = probe_cache_decode(data, len, out, &why) == 0 ? 1 : -1;
    if (rc < 0) snprintf(err, errlen, "%s: %s", path, why);
    explicit_bzero(data, len); /* the endpoints' check secrets */
    free(data);
    return rc;
}

/* The host part of a tcp:// address (after a "source;" part) into [*host, *host + *len), and where its ":PORT"
 * starts. -1 when it is not tcp://HOST:PORT. */
static int split_tcp(const char *address, const char **host, size_t *len, const char **port)
{
    if (strncmp(address, "tcp://", 6) != 0) return -1;
    const char *h = address + 6;
    const char *semi = strchr(h, ';');
    if (semi) h = semi + 1;
    const char *colon = strrchr(h, ':');
    if (!colon || colon == h || colon[1] == '\0') return -1;
    if (h[0] == '[' && colon[-1] != ']') return -1; /* "[::1" without its bracket */
    *host = h;
    *len = (size_t)(colon - h);
    *port = colon;
    return 0;
}

static bool is_wildcard(const char *host, size_t len)
{
    static const char *const wild[] = { "*", "0.0.0.0", "[::]" };
    for (size_t i = 0; i < sizeof wild / sizeof wild[0]; i++)
        if (strlen(wild[i]) == len && memcmp(host, wild[i], len) == 0) return true;
    return false;
}

int probe_resolve_address(const char *address, const char *central_address, char *out, size_t outlen, char *err,
                          size_t errlen)
{
    const char *host, *port, *chost, *cport;
    size_t len, clen;
    if (!address || split_tcp(address, &host, &len, &port) != 0) {
        snprintf(err, errlen, "the central host's address %s is not tcp://HOST:PORT: a probe host cannot reach it",
                 address ? address : "(none)");
        return -1;
    }
    int n;
    if (!is_wildcard(host, len)) n = snprintf(out, outlen, "%s", address);
    else if (!central_address || split_tcp(central_address, &chost, &clen, &cport) != 0) n = -1;
    else n = snprintf(out, outlen, "tcp://%.*s%s", (int)clen, chost, port);
    if (n < 0 || (size_t)n >= outlen) {
        snprintf(err, errlen, "cannot make a reachable address of %s with %s", address,
                 central_address ? central_address : "(no bus.central_address)");
        return -1;
    }
    return 0;
}

/* The local file's settings over cfg (allocated in cfg's arena); store/alert/publish from c, resolved. */
static int overlay(struct cw_config *cfg, const struct probe_central *c, const struct cw_config *local, char *err,
                   size_t errlen)
{
    struct cw_arena *a = cfg->arena;
    char addr[3][CW_ADDRESS_MAX + 64];
    const char *sent[3] = { c->store_address, c->alert_address, c->publish_address };
    for (int i = 0; i < 3; i++)
        if (probe_resolve_address(sent[i], local->central_address, addr[i], sizeof addr[i], err, errlen) != 0)
            return -1;
    cfg->store_address = cw_arena_strdup(a, addr[0]);
    cfg->alert_address = cw_arena_strdup(a, addr[1]);
    cfg->publish_address = cw_arena_strdup(a, addr[2]);
    cfg->path = cw_arena_strdup(a, local->path);
    cfg->dir = cw_arena_strdup(a, local->dir);
    cfg->workers = local->workers;
    cfg->run_dir = cw_arena_strdup(a, local->run_dir);
    cfg->log_level = local->log_level;
    cfg->log_target = local->log_target;
    cfg->user = cw_arena_strdup(a, local->user);
    cfg->location = cw_arena_strdup(a, local->location);
    cfg->tap_address = cw_arena_strdup(a, local->tap_address);
    cfg->curve_key_file = cw_arena_strdup(a, local->curve_key_file);
    cfg->curve_public_key = cw_arena_strdup(a, local->curve_public_key);
    cfg->curve_server_key = cw_arena_strdup(a, local->curve_server_key);
    cfg->n_curve_allowed_keys = local->n_curve_allowed_keys;
    cfg->curve_allowed_keys = NULL;
    if (local->n_curve_allowed_keys) {
        cfg->curve_allowed_keys = cw_arena_alloc(a, local->n_curve_allowed_keys * sizeof *cfg->curve_allowed_keys);
        for (size_t i = 0; i < local->n_curve_allowed_keys; i++)
            cfg->curve_allowed_keys[i] = cw_arena_strdup(a, local->curve_allowed_keys[i]);
    }
    cfg->config_address = NULL;
    cfg->central_address = cw_arena_strdup(a, local->central_address);
    cfg->locations = NULL;
    cfg->n_locations = 0;
    return 0;
}

struct cw_config *probe_effective(const struct probe_central *c, const struct cw_config *local, char *err,
                                  size_t errlen)
{
    char e[400];
    struct cw_config *cfg = config_snapshot_decode(c->snap, c->snap_len, e, sizeof e);
    if (!cfg) {
        snprintf(err, errlen, "the central host's configuration is not usable: %s", e);
        return NULL;
    }
    if (!cfg->arena) {
        snprintf(err, errlen, "the central host's configuration is not usable: decoded without its arena");
        config_free(cfg);
        return NULL;
    }
    if (overlay(cfg, c, local, err, errlen) != 0) {
        config_free(cfg);
        return NULL;
    }
    return cfg;
}
