/* alerter/silenceops.h — the control socket's silence operations (struct control_ops, alerter/control.h) over
 * the alerter's silences and its current configuration: a new silence's endpoint or group must exist in the
 * configuration, every change is saved to the file at once and logged with its author. */
#ifndef CW_ALERTER_SILENCEOPS_H
#define CW_ALERTER_SILENCEOPS_H

#include "alerter/control.h"
#include "alerter/silences.h"
#include "common/config/config.h"

struct silenceops {
    struct silences *silences;
    struct cw_config *const *cfg; /* where the current configuration is (it changes at a reload) */
    bool changed;                 /* a silence added or removed since silencectl_run last said so */
};

/* Points ops' silence members and ctx at so (which must outlive them); ack stays as it is. */
void silenceops_bind(struct control_ops *ops, struct silenceops *so);

/* The silences and the control socket as the alerter's loop sees them (alerter/main.c): the muting reads
 * `silences` (silences_match), the conductor sets ctl.ops.ack. */
struct silencectl {
    struct silences silences;
    struct silenceops so;
    struct control ctl;
};

/* Loads the silences (expiring those over), opens the socket. cfg: where the current configuration is. The
 * conductor then sets ctl.ops.ack (incident_ack, alerter/incident.h). */
void silencectl_open(struct silencectl *sc, const char *run_dir, struct cw_config *const *cfg);
void silencectl_close(struct silencectl *sc);
/* One pass: expires the silences that ended (logged, file saved), serves the socket. now: monotonic µs.
 * True when a silence ended, was removed or added: a mute may have ended or begun (the conductor reconciles). */
bool silencectl_run(struct silencectl *sc, int64_t now_us);
/* When the loop must look again (monotonic µs): a client's deadline or the next end of a silence; INT64_MAX
 * when none. */
int64_t silencectl_deadline(const struct silencectl *sc, int64_t now_us);

#endif
