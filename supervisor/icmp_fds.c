/* supervisor/icmp_fds.c — which ICMP sockets the workers' icmp checks use, and the raw ones the supervisor
 * opens for them before the privilege drop (see icmp_fds.h). */
#include "supervisor/icmp_fds.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/base/log.h"
#include "common/base/util.h"
#include "common/config/config.h"

#define PING_GROUP_RANGE "/proc/sys/net/ipv4/ping_group_range"
#define ICMP_FDS_SPARE 16 /* sockets are moved above this before landing on 3 and 4 */

/* net.ipv4.ping_group_range of our network namespace; "1 0" (nobody) when it cannot be read. */
static void read_range(unsigned long *lo, unsigned long *hi)
{
    *lo = 1;
    *hi = 0;
    FILE *f = fopen(PING_GROUP_RANGE, "re");
    if (!f) return;
    unsigned long a, b;
    if (fscanf(f, "%lu %lu", &a, &b) == 2) {
        *lo = a;
        *hi = b;
    }
    fclose(f);
}

/* The children's groups: the primary one first. */
static int child_groups(const struct privs *p, gid_t *out, int max)
{
    if (p->active) {
        int n = 0;
        out[n++] = p->gid;
        for (int i = 0; i < p->n_groups && n < max; i++) out[n++] = p->groups[i];
        return n;
    }
    out[0] = getegid();
    int n = getgroups(max - 1, out + 1);
    return n < 0 ? 1 : n + 1;
}

enum icmp_access icmp_access_check(const struct privs *p, char *line, size_t linelen)
{
    unsigned long lo, hi;
    read_range(&lo, &hi);
    gid_t groups[PRIVS_MAX_GROUPS + 1];
    int n = child_groups(p, groups, PRIVS_MAX_GROUPS + 1);
    for (int i = 0; i < n; i++) {
        if (groups[i] >= lo && groups[i] <= hi) {
            snprintf(line, linelen, "unprivileged ICMP sockets (gid %u in net.ipv4.ping_group_range %lu %lu)",
                     (unsigned)groups[i], lo, hi);
            return ICMP_ACCESS_DGRAM;
        }
    }
    int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
    if (fd >= 0) {
        close(fd);
        snprintf(line, linelen,
                 "raw sockets opened by the supervisor for the workers (gid %u not in net.ipv4.ping_group_range "
                 "%lu %lu)",
                 (unsigned)groups[0], lo, hi);
        return ICMP_ACCESS_RAW;
    }
    snprintf(line, linelen,
             "not permitted: gid %u is not in net.ipv4.ping_group_range (%lu %lu) and the supervisor cannot open raw "
             "sockets (%s): run `sysctl -w net.ipv4.ping_group_range=\"%u %u\"` (and keep it in /etc/sysctl.d/), "
             "or start clockwerk as root",
             (unsigned)groups[0], lo, hi, strerror(errno), (unsigned)groups[0], (unsigned)groups[0]);
    return ICMP_ACCESS_NONE;
}

void icmp_fds_free(struct icmp_fds *f)
{
    free(f->wants);
    memset(f, 0, sizeof *f);
}

void icmp_fds_plan(struct icmp_fds *f, const struct cw_config *cfg, const struct privs *p)
{
    icmp_fds_free(f);
    unsigned slots = cfg->workers > 0 ? (unsigned)cfg->workers : 1;
    size_t n_icmp = 0;
    for (size_t i = 0; i < cfg->n_endpoints; i++) {
        /* only this host's: an icmp check that only another location runs needs nothing here (issue 16) */
        if (cfg->endpoints[i].type != CW_CHECK_ICMP || !config_endpoint_at(&cfg->endpoints[i], cfg->location)) continue;
        if (!f->wants) f->wants = cw_xcalloc(slots, 1);
        f->wants[cw_shard_of(cfg->endpoints[i].url, slots)] = 1;
        n_icmp++;
    }
    f->slots = slots;
    if (!n_icmp) return;
    char line[512];
    enum icmp_access a = icmp_access_check(p, line, sizeof line);
    f->raw = a == ICMP_ACCESS_RAW;
    if (a == ICMP_ACCESS_NONE) /* an error, not a warning: these checks can only fail (worker/check_icmp.c) */
        log_error("icmp: %s; until then the %zu icmp check%s cannot work: each fails with 'ICMP sockets not "
                  "permitted'",
                  line, n_icmp, cw_plural((long long)n_icmp));
    else log_info("icmp: %s", line);
}

bool icmp_fds_wanted(const struct icmp_fds *f, unsigned index, unsigned count)
{
    if (!f->raw || !f->wants) return false;
    if (count != f->slots || index >= f->slots) return true;
    return f->wants[index] != 0;
}

/* Puts the socket s (or nothing, when s < 0) on descriptor `at`. */
static void land(int s, int at)
{
    if (s < 0) {
        close(at);
        return;
    }
    if (dup2(s, at) < 0) close(at);
    close(s);
}

/* Moves s above the descriptors it will land on, so that landing one never closes the other. */
static int lift(int s)
{
    if (s < 0 || s >= ICMP_FDS_SPARE) return s;
    int up = fcntl(s, F_DUPFD, ICMP_FDS_SPARE);
    close(s);
    return up;
}

int icmp_fds_child_open(void)
{
    int v4 = lift(socket(AF_INET, SOCK_RAW, IPPROTO_ICMP));
    int v6 = lift(socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6));
    land(v4, ICMP_FDS_FIRST);
    land(v6, ICMP_FDS_FIRST + 1);
    return ICMP_FDS_FIRST + 2;
}

int icmp_fds_report(const struct cw_config *cfg, const struct privs *p, char *line, size_t linelen)
{
    size_t n_icmp = 0;
    for (size_t i = 0; i < cfg->n_endpoints; i++)
        if (cfg->endpoints[i].type == CW_CHECK_ICMP && config_endpoint_at(&cfg->endpoints[i], cfg->location)) n_icmp++;
    if (!n_icmp) return 0;
    char how[512];
    if (icmp_access_check(p, how, sizeof how) != ICMP_ACCESS_NONE) {
        snprintf(line, linelen, "icmp: %s", how);
        return 1;
    }
    snprintf(line, linelen, "icmp: %s (%zu icmp check%s could only fail)", how, n_icmp, cw_plural((long long)n_icmp));
    return -1;
}
