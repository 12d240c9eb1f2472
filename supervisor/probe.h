/* supervisor/probe.h — a probe host's configuration as the central host sent it: kept on disk
 * (RUN_DIR/central.snap), and turned into the configuration this host runs by putting the local file's own
 * settings over it (docs/config.md "Locations").
 *
 * DESIGN
 * What the central sends (CW_MSG_CONFIG NEW, docs/protocol.md 2.10) is kept exactly: the snapshot bytes, their
 * hash, the three addresses as the central wrote them, and when it came. The file is that, in one container
 * (docs/protocol.md "central.snap"): written atomically (temporary file, fsync, rename), mode 0600 (it holds the
 * endpoints' check secrets), read back whole and checked (magic, version, sizes, the hash over the bytes and the addresses). So a
 * probe that restarts while the central is away starts checking at once with the last configuration it had, and
 * a local change (workers, log level) applies to it at once too: the local settings are put over it each time.
 *
 * The local settings (probe_effective): supervisor.location, workers, run_dir, log_level, user, the file's path,
 * the CURVE keys, bus.central_address and the local tap address; store/alert/publish come from the central, a
 * wildcard host (`*`, 0.0.0.0, [::]) replaced by the host of bus.central_address (probe_resolve_address). Nothing
 * else of the local file matters on a probe host (config_load refuses it).
 *
 * Memory: struct probe_central owns its strings and bytes (probe_central_free). */
#ifndef CW_SUPERVISOR_PROBE_H
#define CW_SUPERVISOR_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "common/base/util.h"
#include "common/config/config.h"

#define PROBE_CACHE_FILE "central.snap"

/* The last configuration the central host sent. */
struct probe_central {
    uint64_t hash;          /* probe_config_hash of snap and the addresses: what CONFIG_GET's have_hash names */
    int64_t received_at_us; /* wall clock when it came */
    char *store_address, *alert_address, *publish_address; /* as sent: a wildcard host not yet replaced */
    unsigned char *snap;                                   /* config_snapshot_encode's bytes */
    size_t snap_len;
};
void probe_central_free(struct probe_central *c);

/* What names a configuration the central host sends (CW_MSG_CONFIG's hash, CONFIG_GET's have_hash, central.snap's
 * hash): FNV-1a 64 over the FNV-1a 64 of the snapshot bytes (8 bytes, little-endian) followed by the store, alert
 * and publish addresses as the central's file has them, each as a 2-byte little-endian length and its bytes (NULL:
 * empty). A reload of the central that changes only an address changes it too, so the probes get it. */
uint64_t probe_config_hash(const void *snap, size_t len, const char *store, const char *alert, const char *publish);

/* The container's bytes (appended to out) and back. decode: 0, or -1 with a static reason in *why (bad magic,
 * version, truncated, trailing bytes, a hash that does not match the bytes); out owns copies. */
void probe_cache_encode(const struct probe_central *c, struct cw_buf *out);
int probe_cache_decode(const void *data, size_t len, struct probe_central *out, const char **why);
/* RUN_DIR/central.snap: save atomically (0600, fsynced); load: 1 with *out filled, 0 when there is none, -1 with
 * err when it cannot be read or is damaged. */
int probe_cache_save(const char *run_dir, const struct probe_central *c, char *err, size_t errlen);
int probe_cache_load(const char *run_dir, struct probe_central *out, char *err, size_t errlen);

/* A store/alert/publish address from the central, as this host reaches it: tcp://HOST:PORT with a wildcard HOST
 * (`*`, 0.0.0.0, [::]) becomes tcp://CENTRALHOST:PORT, CENTRALHOST the host of central_address; any other tcp://
 * address stays as it is. 0, or -1 with err (not tcp://, no port, too long). */
int probe_resolve_address(const char *address, const char *central_address, char *out, size_t outlen, char *err,
                          size_t errlen);

/* The configuration this host runs: c's snapshot decoded (and so validated), with local's settings over it (see
 * DESIGN). NULL with err. Free with config_free. */
struct cw_config *probe_effective(const struct probe_central *c, const struct cw_config *local, char *err,
                                  size_t errlen);

#endif
