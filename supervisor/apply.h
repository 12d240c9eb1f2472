/* supervisor/apply.h — putting a configuration into effect: the first one at start (which children run),
 * and a new one on SIGHUP: parse, validate, write the next snapshot generation, compare with the running
 * one (supervisor/reload.c) and start, stop or restart only the children that must see the change.
 *
 * DESIGN
 * A reload that fails at any step before the new snapshot is written changes nothing: the supervisor keeps
 * running the previous configuration and says so. A file whose snapshot bytes equal the running one's is
 * "no change". Settings that need a restart (run_dir, supervisor.user) refuse the reload. */
#ifndef CW_SUPERVISOR_APPLY_H
#define CW_SUPERVISOR_APPLY_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config/config.h"
#include "supervisor/supervisor.h"

/* config_load reporter for the running supervisor: each problem becomes an error log line. */
void apply_log_problem(void *ctx, const char *message);
/* Loads and validates the configuration at path for a start or a reload: problems logged as errors (NULL
 * returned), warnings (a file that checks nothing, or neither stores nor alerts) logged as warnings. */
struct cw_config *apply_load(const char *path);

/* Adds the children s->cfg wants (relay, storer, alerter, workers); they start on the loop's next turn. */
void apply_initial(struct supervisor *s, int64_t now);

/* Opens the stats socket for cfg's tap address and keys; on failure warns and goes on without counters. */
void apply_open_counters(struct supervisor *s, const struct cw_config *cfg);

/* SIGHUP: reloads s->cfg->path and applies it (see DESIGN). On a probe host the local file's settings are put
 * over the central host's last configuration (supervisor/confetch.h). */
void apply_reload(struct supervisor *s, int64_t now);

/* Switches the supervisor's own lines to cfg's supervisor.log_target, saying so on the old target first (children
 * follow as they start: a change of target restarts every child, supervisor/reload.c). */
void apply_log_target(const struct cw_config *cfg);

/* Puts next (a validated configuration, owned from now on) into effect like a reload: the next snapshot
 * generation, then only the children that must see it; `what` names it in the log ("reload", "configuration
 * 0123abcd from the central host"). A probe host's configuration from its central host comes this way. Returns
 * false when it could not be applied (its snapshot not written: logged, the previous configuration kept). */
bool apply_next(struct supervisor *s, struct cw_config *next, int64_t now, const char *what);

/* Keeps of s->cfg, a whole configuration just put to work, only its settings (config_settings_copy) and its
 * fingerprints: *print when given (moved), else made here; the snapshot file s->snapshot is held open (snap_fd). The
 * endpoints are freed and the heap trimmed: what the supervisor holds between reloads is a few KB and 8 bytes per
 * endpoint (issue 18). */
void apply_settle(struct supervisor *s, struct reload_print *print);

/* The central's configuration server for s->cfg (bus.config_address): opened, rebuilt or closed to match it
 * (supervisor/confserve.h); old is the configuration it served before (NULL at start). */
void apply_confserve(struct supervisor *s, const struct cw_config *old);

#endif
