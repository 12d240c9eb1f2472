/* supervisor/snapshot.h — the snapshot files in run_dir, one per configuration generation.
 *
 * DESIGN
 * Each validated configuration is written to RUN_DIR/config.GEN.snap (temporary file, rename; not fsynced: the
 * files are made again at every start, and the children read them through the page cache). A reload writes a new generation instead of replacing the file, so a child started
 * earlier never reads a file that changed under it; a generation's file is removed once no running child
 * was started with it (or that was last told to reload in place with it: children.h `gen`). RUN_DIR/config.snap
 * links to the current generation for the children that reload in place. Files left by an earlier supervisor are
 * removed at start (we hold the lock). */
#ifndef CW_SUPERVISOR_SNAPSHOT_H
#define CW_SUPERVISOR_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/config/config.h"
#include "supervisor/children.h"
#include "supervisor/privs.h"

/* RUN_DIR/config.GEN.snap into out. 0, or -1 when it does not fit. */
int snapshot_path(const char *run_dir, unsigned gen, char *out, size_t outlen);

/* Removes every config.*.snap in run_dir (and their temporaries). Returns how many were removed. */
int snapshot_remove_all(const char *run_dir);

/* True when both files exist and hold the same bytes. */
bool snapshot_same(const char *a, const char *b);

/* Writes cfg as generation gen into path (RUN_DIR/config.GEN.snap), owned by the children's user (mode
 * 0600). 0, or -1 after logging why (a file that could not be handed over is removed). */
int snapshot_write(const struct cw_config *cfg, const struct privs *privs, unsigned gen, char *path, size_t pathlen);
/* The same for a reload: cfg is encoded in memory and compared with the file `current` (the running generation's,
 * or NULL); when they hold the same bytes nothing is written and *same is true (a reload that changes nothing
 * writes nothing: 150 MB at 500,000 endpoints). */
int snapshot_write_if_changed(const struct cw_config *cfg, const struct privs *privs, unsigned gen, const char *current,
                              char *path, size_t pathlen, bool *same);

/* Removes the files of generations *gen_lo .. gen-1 that no running child of ch was started with (the
 * current generation gen always stays), and moves *gen_lo up to the oldest one still in use. */
void snapshot_gc(const struct children *ch, const char *run_dir, unsigned gen, unsigned *gen_lo);

/* Points RUN_DIR/config.snap (a symbolic link, replaced atomically) at generation gen's file: what the storer, the
 * alerter and the web read again when a reload sends them SIGHUP (docs/protocol.md, "Reload in place"). 0, or -1
 * after logging why (the reload then restarts them instead). */
int snapshot_link(const char *run_dir, unsigned gen);

/* Opens path (the running generation's file) into *fd, closing the one *fd held: what snapshot_write_again copies
 * when run_dir was deleted. 0, or -1 after logging why (*fd is then -1). */
int snapshot_hold(int *fd, const char *path);
/* Writes the file held open by fd (snapshot_hold; unlinked with run_dir, still readable through it) again as path,
 * handed to the children's user. 0, or -1 after logging why. */
int snapshot_write_again(int fd, const struct privs *privs, const char *path);

/* Removes the files of generations lo .. hi and the link config.snap (at exit). */
void snapshot_remove_generations(const char *run_dir, unsigned lo, unsigned hi);

#endif
