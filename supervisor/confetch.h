/* supervisor/confetch.h — a probe host's supervisor fetching its configuration from the central host
 * (bus.central_address, docs/protocol.md 2.10, docs/config.md "Locations").
 *
 * DESIGN
 * At start the last configuration received (RUN_DIR/central.snap, supervisor/probe.h) is put to work at once, so
 * a probe host whose central is away keeps checking; without one it waits, saying so every 30 s. Then a
 * CW_MSG_CONFIG_GET goes to the central at once and every poll interval (5 s; CLOCKWERK_CONFIG_POLL_MS for
 * tests), naming the location and the hash of the configuration it runs. The answer:
 *   NEW        decoded and validated (config_snapshot_decode), the local settings put over it, and handed to
 *              the supervisor, which applies it like a reload (supervisor/apply.c: only the workers whose shard
 *              changed restart); only once it is applied is it saved to central.snap and its hash named by the
 *              next requests (an apply that fails gets it again at the next poll);
 *   UNCHANGED  nothing to do;
 *   REFUSED    its reason logged (once per reason, again in the 30 s waiting line), the last configuration kept.
 * One request is out at a time, on a BUS_FETCH_CONFIG socket that queues while disconnected. A request still
 * unanswered when the next is due is a missed poll: the socket is closed and opened again before the next send (as
 * ZeroMQ's "lazy pirate" client does), so that requests never pile up in a queue for a central that is away and
 * then all get an answer at once. Three missed polls in a row: "central host ... not answering since TIME" is
 * logged once, and once again when it answers.
 *
 * The timing (struct fetch_poll) is pure and unit-tested; the socket and the logs are around it.
 *
 * Memory: the fetcher owns the local configuration it is given, its bus and socket, and the central's last
 * configuration; confetch_free releases them. */
#ifndef CW_SUPERVISOR_CONFETCH_H
#define CW_SUPERVISOR_CONFETCH_H

#include <stdbool.h>
#include <stdint.h>

#include "common/base/ratelimit.h"
#include "common/base/util.h"
#include "common/bus/bus.h"
#include "common/config/config.h"
#include "supervisor/probe.h"

#define FETCH_POLL_DEFAULT_NS (5000000000LL)
#define FETCH_MISSED_SILENT 3             /* missed polls in a row that make the central "not answering" */
#define FETCH_WAIT_LOG_NS (30000000000LL) /* "waiting for the configuration" while there is none */

/* ---- the poll's timing, pure */
struct fetch_poll {
    int64_t interval_ns;
    int64_t next_ns;         /* monotonic: the next request is due */
    bool outstanding;        /* a request is out, not yet answered */
    unsigned missed;         /* requests unanswered in a row */
    bool silent;             /* "not answering" was logged */
    int64_t silent_since_us; /* wall clock of the first unanswered request of the run */
};
enum fetch_send { FETCH_SEND_FIRST, FETCH_SEND_AGAIN /* the previous one went unanswered: reopen first */ };
void fetch_poll_init(struct fetch_poll *p, int64_t interval_ns, int64_t now);
/* A request is sent now (now >= p->next_ns): what kind of send it is; *went_silent is set exactly when this missed
 * poll makes FETCH_MISSED_SILENT in a row. */
enum fetch_send fetch_poll_send(struct fetch_poll *p, int64_t now, int64_t wall_us, bool *went_silent);
/* An answer came: returns true when the central had been "not answering" (log that it is back). */
bool fetch_poll_answered(struct fetch_poll *p);
/* The poll interval from CLOCKWERK_CONFIG_POLL_MS (value: 50..600000 ms), else FETCH_POLL_DEFAULT_NS. */
int64_t fetch_poll_interval(const char *env_value);

struct confetch {
    struct cw_config *local; /* the local file (a probe host's) */
    struct bus *bus;
    struct bus_socket *sock;
    struct probe_central central; /* the last configuration received and applied (have_central) */
    bool have_central;
    struct probe_central pending; /* received, returned by confetch_drain, not yet applied (have_pending) */
    bool have_pending;
    struct fetch_poll poll;
    int64_t next_wait_log_ns;
    int64_t sent_at_us; /* the outstanding request's sent_at_us */
    char refused[300];  /* the last refusal's reason ("" when the last answer was not one) */
    uint64_t bad_hash;  /* a NEW configuration that could not be used (logged once) */
    struct ratelimit malformed_log;
    struct cw_buf scratch;
    uint64_t polls, answers, malformed;
};

/* Takes local (a probe host's loaded file; owned from now on, also on failure), opens the bus and the socket to
 * local->central_address, and reads central.snap. *start receives the configuration to start with (the central's
 * last one with the local settings), or NULL when there is none yet (then the supervisor starts no worker). 0, or
 * -1 with err. */
int confetch_open(struct confetch *f, struct cw_config *local, struct cw_config **start, char *err, size_t errlen);
/* The descriptor to poll (-1 when closed). */
int confetch_fd(const struct confetch *f);
/* Sends the request when due, logs waiting / not answering; returns the monotonic time of the next thing due. */
int64_t confetch_tick(struct confetch *f, int64_t now);
/* Takes the answers waiting. Returns a new configuration to apply (the central's NEW one with the local
 * settings; its hash in f->pending.hash), or NULL. The caller applies it and then calls confetch_applied. */
struct cw_config *confetch_drain(struct confetch *f, int64_t now);
/* After the configuration confetch_drain returned was applied (or not): applied, it becomes the one this host runs
 * (saved to central.snap, its hash named by the next requests); not applied, it is forgotten, so that the next
 * request names the configuration still running and the central sends the new one again. */
void confetch_applied(struct confetch *f, bool applied);
/* A local reload (SIGHUP): takes next (owned from now on) as the local file. When its CURVE keys (bus.curve_key_file,
 * curve_server_key, ...) changed, the fetch's bus and socket are made again with them first (a rotated key): when
 * they cannot be, nothing changes. 0 with *run the configuration to run (the central's last one with next's
 * settings), or NULL when there is none yet; -1 with err (next freed or taken, the previous configuration runs). */
int confetch_local_reload(struct confetch *f, struct cw_config *next, struct cw_config **run, char *err, size_t errlen);
/* The "configuration received from the central host at TIME (hash H)" part of the start line into out. */
void confetch_describe(const struct confetch *f, char *out, size_t outlen);
void confetch_free(struct confetch *f);

#endif
