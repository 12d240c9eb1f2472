/* supervisor/icmp_fds.h — how the workers' icmp checks get their sockets, decided by the supervisor.
 *
 * DESIGN
 * An icmp check needs either an unprivileged datagram ICMP socket, which the kernel allows when one of the
 * process's groups is inside net.ipv4.ping_group_range (it governs IPv6 too; per network namespace), or a
 * raw socket, which needs CAP_NET_RAW. A worker runs as supervisor.user without capabilities, so:
 *   - a group of the children's user in the range: the workers open datagram sockets themselves;
 *   - otherwise, when the supervisor can open raw sockets (root): it opens them in the worker's process,
 *     between fork and the privilege drop, moves them to descriptors 3 and 4 (IPv4, IPv6) and sets
 *     CLOCKWERK_ICMP_FDS=3,4 (worker/icmp_sock.h) — only for the workers whose shard has icmp endpoints;
 *   - otherwise no method: the icmp checks fail, saying why, and `clockwerk -t` and the start log say
 *     which sysctl to set.
 * The decision is taken in the parent at start and at each reload (icmp_fds_plan); the child only calls
 * socket, fcntl, dup2 and close (async-signal-safe). */
#ifndef CW_SUPERVISOR_ICMP_FDS_H
#define CW_SUPERVISOR_ICMP_FDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "supervisor/privs.h"

struct cw_config;

enum icmp_access { ICMP_ACCESS_NONE = 0, ICMP_ACCESS_DGRAM = 1, ICMP_ACCESS_RAW = 2 };

#define ICMP_FDS_FIRST 3 /* the IPv4 raw socket; the IPv6 one is ICMP_FDS_FIRST + 1 */
#define ICMP_FDS_ENV_VALUE "CLOCKWERK_ICMP_FDS=3,4"

struct icmp_fds {
    bool raw;       /* workers with icmp endpoints get raw sockets from us */
    unsigned slots; /* the worker count `wants` is for */
    uint8_t *wants; /* per worker slot: its shard has an icmp endpoint */
};

/* What the children's user (privs; inactive: our own credentials) can use here, with a line that says it
 * ("unprivileged ICMP sockets (gid 998 in net.ipv4.ping_group_range 0 2147483647)", or which sysctl to set). */
enum icmp_access icmp_access_check(const struct privs *p, char *line, size_t linelen);

/* (Re)computes the plan for cfg; when icmp endpoints exist, logs the method at start and reload, or an error when
 * no method works. */
void icmp_fds_plan(struct icmp_fds *f, const struct cw_config *cfg, const struct privs *p);
void icmp_fds_free(struct icmp_fds *f);
/* Whether worker slot `index` of `count` gets raw sockets (a count other than the plan's: any icmp
 * endpoint at all). */
bool icmp_fds_wanted(const struct icmp_fds *f, unsigned index, unsigned count);
/* In the child before the privilege drop: opens the raw sockets onto descriptors 3 and 4 (one that cannot be
 * opened is left closed: the worker's checks to that family then say so). Returns the first descriptor the
 * child must close from (5). */
int icmp_fds_child_open(void);

/* `clockwerk -t`: 0 when cfg has no icmp endpoint; else "icmp: METHOD" in line and 1, or, when no method works,
 * "icmp: not permitted: ..." and -1 (those checks could only fail). */
int icmp_fds_report(const struct cw_config *cfg, const struct privs *p, char *line, size_t linelen);

#endif
