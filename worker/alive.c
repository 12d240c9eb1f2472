/* worker/alive.c — the worker's sign-of-life file (see alive.h). */
#include "worker/alive.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/base/clock.h"
#include "common/base/log.h"

void alive_touch(struct worker_alive *a)
{
    if (a->fd < 0) return;
    char line[64];
    int n = snprintf(line, sizeof line, "%016" PRIx64 " %020" PRId64 "\n", a->boot_id, cw_wall_us());
    if (n > 0 && pwrite(a->fd, line, (size_t)n, 0) != n) log_debug("cannot update %s: %s", a->path, strerror(errno));
}

void alive_open(struct worker_alive *a, const struct cw_config *cfg, unsigned slot, uint64_t boot_id)
{
    a->fd = -1;
    a->boot_id = boot_id;
    a->path[0] = '\0';
    if (!cfg->run_dir) return;
    if ((size_t)snprintf(a->path, sizeof a->path, "%s/worker-%u.alive", cfg->run_dir, slot) >= sizeof a->path) {
        a->path[0] = '\0';
        return;
    }
    FILE *f = fopen(a->path, "r");
    if (f) {
        uint64_t boot = 0;
        int64_t last_us = 0;
        if (fscanf(f, "%" SCNx64 " %" SCNd64, &boot, &last_us) == 2 && last_us > 0) {
            int64_t away_us = cw_wall_us() - last_us;
            if (away_us < 0) away_us = 0;
            uint64_t missed = 0;
            for (size_t i = 0; i < cfg->n_endpoints; i++) {
                double iv = cfg->endpoints[i].interval;
                if (iv > 0) missed += (uint64_t)((double)away_us / 1e6 / iv);
            }
            log_warn("the previous worker of this slot (boot %016" PRIx64 ") ended without a clean stop; its last "
                     "sign of life was %.1f s ago: about %" PRIu64 " checks missed meanwhile",
                     boot, (double)away_us / 1e6, missed);
        }
        fclose(f);
    }
    a->fd = open(a->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (a->fd < 0) log_warn("cannot create %s: %s", a->path, strerror(errno));
    alive_touch(a);
}

void alive_close(struct worker_alive *a)
{
    if (a->fd < 0) return;
    close(a->fd);
    a->fd = -1;
    /* ENOENT: run_dir was deleted under us (the supervisor recreates it and restarts every child) */
    if (unlink(a->path) != 0 && errno != ENOENT) log_warn("cannot remove %s: %s", a->path, strerror(errno));
}
