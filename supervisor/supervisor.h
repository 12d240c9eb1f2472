/* supervisor/supervisor.h — the supervisor's state: what main.c's loop and apply.c's reload share.
 *
 * DESIGN
 * One struct, owned by main(): the running configuration's settings and fingerprints, the children, the snapshot generations, the
 * stop in progress and the counters logged at exit. Only the main loop touches it (one thread); the signal
 * flags live in main.c, apart from it. */
#ifndef CW_SUPERVISOR_SUPERVISOR_H
#define CW_SUPERVISOR_SUPERVISOR_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/config/config.h"
#include "supervisor/children.h"
#include "supervisor/counters.h"
#include "supervisor/notify.h"
#include "supervisor/pidfile.h"
#include "supervisor/readiness.h"
#include "supervisor/reload.h"
#include "supervisor/shutdown.h"

struct confserve;
struct confetch;

struct supervisor {
    /* The running generation: its settings (config_settings_copy: no endpoint, n_endpoints 0) and its endpoints'
     * fingerprints, what the next reload is compared with (issue 18: supervisor/reload.h "Fingerprints"). Between
     * apply_load and apply_settle, and in apply_next, cfg is a whole configuration for a moment. */
    struct cw_config *cfg;
    struct reload_print print;
    struct children ch;
    struct counters counters; /* last stats of each process, logged at shutdown */
    struct pidfile pf;
    sigset_t wait_mask;
    unsigned gen;        /* current snapshot generation */
    unsigned gen_lo;     /* oldest generation whose file may still exist */
    char snapshot[4200]; /* current snapshot's path */
    int snap_fd;         /* that file, open: what a deleted run_dir gets again (rundir.c); -1 when it cannot be */
    bool alerter_missing_warned;
    bool web_missing_warned;
    bool run_dir_lost;    /* run_dir could not be recreated or its lock retaken: stopping, its files not ours */
    struct shutdown stop; /* phase STOP_NONE while running */
    int64_t started_ns;
    unsigned long reloads, reloads_failed;
    /* issue 16 (docs/config.md "Locations"): a central host serves its probe hosts' configuration (NULL when
     * bus.config_address is not set); a probe host fetches its own and runs workers only. */
    struct confserve *serve;
    struct confetch *fetch; /* probe host only */
    bool probe_waiting;     /* probe host without a configuration from the central yet: no workers */
    struct readiness ready; /* the children's "I am up" messages (issue 17) */
    struct notify notify;   /* what systemd is told (sd_notify) */
};

#endif
