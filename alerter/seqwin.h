/* alerter/seqwin.h — which results the alerter has already applied: per (location, worker, boot_id) the highest
 * contiguous applied seq plus a window of WINDOW seqs beyond it, so that a resent result (acknowledged
 * delivery resends what was not acked in time) is acked but not applied a second time. Persisted in its own
 * file next to the state file (run_dir/alerter.seqs), written atomically after each state save, so the
 * rule also holds across an alerter restart.
 *
 * DESIGN
 * seqwin_accept(seq): seq <= hi -> duplicate; hi < seq <= hi + SEQWIN_BITS -> a bit in the window says
 * whether it came (a seq below the highest one seen that did not come yet is SEQWIN_LATE: the caller
 * applies results in order only); beyond the window the window slides (the seqs it passes over count as never coming:
 * arriving later they are treated as duplicates). hi then advances over every contiguous bit. The first seq
 * seen of a (location, worker, boot_id) is its starting point (hi = seq - 1). Every location has its own worker
 * slots (issue 16): at most SEQWIN_BOOTS_PER_WORKER boot ids are kept per (location, worker slot) (the least
 * recently used goes): a worker's older boots only ever come back through a replayed spool, in order. A worker
 * number from the wire at or above SEQWIN_WORKERS_MAX (the configuration's bound on workers) is refused
 * (SEQWIN_REFUSED: the caller counts it), and the table holds at most SEQWIN_ENTRIES_MAX entries (the least
 * recently used goes), so that no sender can grow it, or alerter.seqs, without limit.
 * File format (text, version 2): a line "clockwerk-alerter-seqs 2", then one line per entry "@location worker
 * boot_id_hex hi bits_hex(SEQWIN_BITS/64 words, low word first)" ("@" alone: the location ""). Version 1 (no
 * location) still loads: its entries are the location "", taken over by the first result of the same worker and
 * boot whatever its location. */
#ifndef CW_ALERTER_SEQWIN_H
#define CW_ALERTER_SEQWIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config/config.h"

#define SEQWIN_BITS 1024
#define SEQWIN_WORDS (SEQWIN_BITS / 64)
#define SEQWIN_BOOTS_PER_WORKER 8 /* per (location, worker slot) */
#define SEQWIN_WORKERS_MAX 256    /* worker slots 0..255: supervisor.workers is at most 256 */
#define SEQWIN_ENTRIES_MAX 65536  /* (location, worker, boot) entries kept, at most */
#define SEQWIN_FILE "alerter.seqs"

struct seqwin_entry {
    char location[CW_LOCATION_NAME_MAX + 1];
    uint32_t worker;
    uint64_t boot_id;
    uint64_t hi;                 /* every seq <= hi was applied (or passed over) */
    uint64_t bits[SEQWIN_WORDS]; /* bit i: seq hi + 1 + i was applied */
    uint64_t used;               /* the table's clock at the last accept: for eviction */
    bool legacy;                 /* loaded from a version-1 file (no location): the first location seen takes it */
};

struct seqwin {
    struct seqwin_entry *e;
    size_t n, cap;
    uint64_t clock;
    bool dirty; /* changed since the last save */
};

void seqwin_init(struct seqwin *w);
void seqwin_free(struct seqwin *w);
enum seqwin_verdict {
    SEQWIN_NEW,     /* never seen, and above every seq seen of its boot: apply it */
    SEQWIN_DUP,     /* seen before (a resend): do not apply it again */
    SEQWIN_LATE,    /* never seen, but a later seq of its boot was (a resend that overtook it): applying it
                   * now would feed the state machine an older check after a newer one; do not apply it */
    SEQWIN_REFUSED, /* a worker number >= SEQWIN_WORKERS_MAX, or a location name too long: not recorded */
};
/* Records seq as seen for (location, worker, boot_id) and says what it is (location NULL is ""). seq 0 is
 * SEQWIN_DUP. */
enum seqwin_verdict seqwin_accept(struct seqwin *w, const char *location, uint32_t worker, uint64_t boot_id,
                                  uint64_t seq);
/* Atomic write (temporary file, fsync, rename). 0, or -1 with a one-line reason in err. */
int seqwin_save(struct seqwin *w, const char *path, char *err, size_t errlen);
/* 1 loaded, 0 no file (w empty), -1 unreadable or malformed (w empty, err says why). */
int seqwin_load(struct seqwin *w, const char *path, char *err, size_t errlen);

#endif
