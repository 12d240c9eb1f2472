/* worker/push_state.h — what a push endpoint's silence deadline is made of, kept in run_dir so that a worker
 * restart (a reload that touches the shard, a crash) does not move the deadline (worker/check_push.c).
 *
 * DESIGN
 * - One small text file per push endpoint: <run_dir>/push/<16 hex digits of cw_hash64(key)>.state (directory
 *   0700, files 0600, written with cw_write_file_atomic without fsync: saves run on the worker's loop, and an
 *   fsync there would stall every check of the shard on a slow disk; the rename keeps a crash of the process from
 *   leaving half a file, a crash of the machine may lose the saves not yet written back, docs/web.md). It holds
 *   the key itself (a hash collision or a stale file is never taken for another endpoint), base_us (the wall
 *   clock of the last call, or of the first start that watched the endpoint when it never called), last_call_us
 *   (0: none) and silences (failures reported since base). The deadline is base + interval + grace + silences x
 *   interval, computed with the endpoint's current interval and grace, so a reload that changes them applies at
 *   once.
 * - A file per key, not per worker: a reload that changes the number of workers moves keys to other slots, and the
 *   new owner finds the state whichever slot wrote it.
 * - Bounded: a file is at most PUSH_STATE_MAX bytes; one per push endpoint; a file no worker wrote for
 *   PUSH_STATE_STALE_S (a week: a watched endpoint's file is written at least every interval + grace, at most two
 *   days) belongs to a removed endpoint and is deleted when a worker starts. */
#ifndef CW_WORKER_PUSH_STATE_H
#define CW_WORKER_PUSH_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PUSH_STATE_MAX 4096
#define PUSH_STATE_STALE_S (7 * 86400)

struct push_state {
    int64_t base_us;      /* wall clock the silence deadlines count from */
    int64_t last_call_us; /* 0: no call yet */
    uint32_t silences;    /* silence failures reported since base */
};

/* <run_dir>/push, created (0700) when missing; 0, or -1 with why in err. */
int push_state_dir(const char *run_dir, char *dir, size_t dirlen, char *err, size_t errlen);
/* The state of key; false when there is none (no file, another key's, or unreadable). */
bool push_state_load(const char *dir, const char *key, struct push_state *out);
/* Saves the state of key (slot: the writer's, for its temporary file); 0, or -1 with why in err. */
int push_state_save(const char *dir, const char *key, unsigned slot, const struct push_state *st, char *err,
                    size_t errlen);
/* Deletes the state files no worker wrote for PUSH_STATE_STALE_S, and temporary files as old. */
void push_state_prune(const char *dir, int64_t now_wall_us);

#endif
