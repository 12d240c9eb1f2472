/* worker/alive.h — the worker's sign of life, run_dir/worker-<slot>.alive: its boot id and the wall time of
 * the last stats tick, rewritten once a second and removed at a clean stop. A successor that finds the file
 * knows its predecessor died, and logs about how many checks the slot missed while no worker ran it. */
#ifndef CW_WORKER_ALIVE_H
#define CW_WORKER_ALIVE_H

#include <stdint.h>

#include "common/config/config.h"

struct worker_alive {
    char path[4096];
    int fd; /* -1: no file (no run_dir, or it could not be created: logged) */
    uint64_t boot_id;
};

/* Reads a predecessor's file (logging what the slot missed, over cfg's endpoints), then takes the file
 * for this worker. Never fails: without the file the worker runs, it only cannot tell a successor. */
void alive_open(struct worker_alive *a, const struct cw_config *cfg, unsigned slot, uint64_t boot_id);

/* Records now as the last sign of life. */
void alive_touch(struct worker_alive *a);

/* A clean stop: closes and removes the file. */
void alive_close(struct worker_alive *a);

#endif
