/* supervisor/snapshot.h — the snapshot files in run_dir, one per configuration generation.
 *
 * DESIGN
 * Each validated configuration is written to RUN_DIR/config.GEN.snap (config_snapshot_write: temporary
 * file, fsync, rename). A reload writes a new generation instead of replacing the file, so a child started
 * earlier never reads a file that changed under it; a generation's file is removed once no running child
 * was started with it. Files left by an earlier supervisor are removed at start (we hold the lock). */
#ifndef CW_SUPERVISOR_SNAPSHOT_H
#define CW_SUPERVISOR_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>

/* RUN_DIR/config.GEN.snap into out. 0, or -1 when it does not fit. */
int snapshot_path(const char *run_dir, unsigned gen, char *out, size_t outlen);

/* Removes every config.*.snap in run_dir (and their temporaries). Returns how many were removed. */
int snapshot_remove_all(const char *run_dir);

/* True when both files exist and hold the same bytes. */
bool snapshot_same(const char *a, const char *b);

#endif
