/* common/config/config_priv.h — private to the config snapshot (snapshot.c) and the tests that forge snapshots:
 * the arena that owns a read config's strings and arrays, and the snapshot's checksum. Nothing outside
 * common/config/config*.c, common/config/snapshot.c, common/config/locations.c and tests/ includes this file; the loader's own layers have their
 * headers (config_arena.h, config_reader.h, config_check.h, config_secrets.h, one per section). */
#ifndef CW_CONFIG_PRIV_H
#define CW_CONFIG_PRIV_H

#include "common/config/config.h"
#include "common/config/config_arena.h"

#include <stddef.h>
#include <stdint.h>

/* The checksum over a snapshot's payload (bytes 32..end), stored at bytes 24..31; exposed for tests that
 * forge snapshots with a valid checksum but malformed fields. Defined in snapshot.c. */
uint64_t cw_snapshot_checksum(const void *data, size_t n);
/* The same in pieces (a mapped file summed chunk by chunk, snapshot_map.c): every piece but the last a multiple of 8
 * bytes long. */
struct cw_snapshot_sum {
    uint64_t h;
    uint8_t tail[8]; /* the last piece's bytes past its last whole word */
    size_t n_tail;
};
void cw_snapshot_sum_init(struct cw_snapshot_sum *s, size_t n);
void cw_snapshot_sum_add(struct cw_snapshot_sum *s, const void *data, size_t n);
uint64_t cw_snapshot_sum_end(struct cw_snapshot_sum *s);
/* config_snapshot_decode keeping every secret whatever CLOCKWERK_SECRETS says: config_for_location's copy (the
 * probe host's workers check with the endpoints' secrets). Defined in snapshot.c. */
struct cw_config *config_snapshot_decode_all(const unsigned char *data, size_t len, char *err, size_t errlen);

#endif
