/* alerter/intake.h — the workers' results as the alerter takes them in: received on the bus (reliable),
 * decoded, each (location, worker, boot_id, seq) applied at most once and in order (alerter/seqwin.h, its file saved
 * after the state file), gaps in a worker's sequence counted and logged (common/wire/seqgap.h), and every result
 * acked to its sender (common/bus/ackgather.h) once the state it changed is saved. Malformed messages are counted
 * and dropped.
 * What a new result does to the alerter's state is the caller's: intake calls its apply function (the
 * endpoint table, alerter/endpoints.h). Issue 16: a HELLO arriving on the same socket goes to on_hello, and each
 * decoded batch first to admit (alerter/locwatch.h: the sender's key must speak for the locations claimed); a
 * refused batch is counted (refused_batches), never applied, and refused back to its sender (an ack of kind refused,
 * docs/protocol.md 2.6: the sender sets it aside), as a malformed one is. */
#ifndef CW_ALERTER_INTAKE_H
#define CW_ALERTER_INTAKE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alerter/seqwin.h"
#include "common/bus/ackgather.h"
#include "common/bus/bus.h"
#include "common/wire/protocol.h"
#include "common/wire/seqgap.h"
#include "common/base/util.h"

/* What the caller's apply function did with one new result: applied to a state; ignored (of no endpoint the
 * caller knows); or late after all (counted with the late ones, not applied). */
enum intake_verdict { INTAKE_APPLIED, INTAKE_IGNORED, INTAKE_LATE };

/* Applies one new result (in its boot's order) to the caller's state. */
typedef enum intake_verdict (*intake_apply_fn)(void *ctx, const struct cw_result *r, int64_t now_mono);

/* Issue 16 (alerter/locwatch.h): a HELLO received on the results' socket; and whether a decoded batch's sender may
 * send it (false: never applied, refused back). */
typedef void (*intake_hello_fn)(void *ctx, const struct bus_msg *m, int64_t now_mono);
typedef bool (*intake_admit_fn)(void *ctx, const struct bus_msg *m, const struct cw_result *r, int n, int64_t now_mono);

struct intake {
    struct bus_socket *sock; /* the results' socket (BUS_RECV_RELIABLE) */
    intake_apply_fn apply;
    void *ctx;
    intake_hello_fn on_hello; /* NULL: HELLOs are unexpected messages */
    intake_admit_fn admit;    /* NULL: every batch admitted */
    void *loc_ctx;

    struct seqwin seen; /* results already applied: a resend is acked, not applied again */
    char seen_path[PATH_MAX];
    struct seqgap gaps;    /* per (worker, boot_id): the last seq applied, for counting gaps */
    struct ackgather acks; /* results applied, acked once the state file and the seqs are saved */
    size_t n_acks;         /* ackgather_pending(&acks), kept up to date for the conductor (alerter/main.c) */
    struct cw_result results[CW_RESULT_BATCH_MAX];

    struct {
        int64_t results, malformed;
        int64_t duplicates, late, acked, ack_messages;
        int64_t refused_batches; /* refused by admit (a key sending for another location) */
        int64_t config_gets;     /* probe hosts' configuration requests sent here by mistake (dropped) */
        int64_t refused_workers; /* results with a worker number >= SEQWIN_WORKERS_MAX: neither applied nor acked */
    } c;
};

/* Sets the tables up and opens the results' socket at address on bus (fatal, exit 1, when it cannot); new
 * results go to apply. */
void intake_open(struct intake *in, struct bus *bus, const char *address, intake_apply_fn apply, void *ctx);

/* Loads the record of applied results from run_dir/SEQWIN_FILE (a run_dir too long is fatal, exit 2; an
 * unreadable file is logged and the intake starts with no record). */
void intake_load(struct intake *in, const char *run_dir);

/* Receives, checks and applies what waits on the socket, up to a bound per call (then the loop goes on).
 * Returns how many results were applied to a state (INTAKE_APPLIED): what the state file does not hold yet. */
size_t intake_drain(struct intake *in);

/* The state file was just saved: saves the applied seqs if they changed, then sends the acks waiting.
 * 0, or -1 with err set (the seqs could not be saved: the acks wait). */
int intake_commit(struct intake *in, char *err, size_t errlen);

/* Sends every waiting ack (the state they depend on is recorded), one message per sender. */
void intake_flush_acks(struct intake *in);

void intake_free(struct intake *in);

#endif
