/* relay/main.c — bin/clockwerk-relay: the best-effort forwarder behind the tap. Binds an XSUB on
 * publish_address (every worker, the storer and the alerter PUB into it, and the probe hosts' workers) and an XPUB
 * on tap_address (clockwerk-tap and the web subscribe there), and passes messages through (bus_relay_run): those
 * without a CURVE key undecoded, those with one through relay/filter.h, which lets a probe host's key publish
 * only its own location's results and stats (the rest is dropped, counted, logged rate-limited). It runs from the
 * start, before any alerter exists, so the tap can attach at any time with one address.
 *
 * Started by the supervisor, on the skeleton of every child (common/proc/proc.h). The forwarding loop waits on
 * both sockets and the signalfd, so SIGTERM ends it at once, whatever it was doing, and the relay exits 0:
 * it holds nothing to flush (the count of dropped messages is logged). SIGINT is ignored (the supervisor orders
 * shutdowns); SIGHUP changes nothing (the relay's addresses are fixed for the supervisor's life; a change of
 * `locations` restarts it). Exit 1 when forwarding fails, 2 when the snapshot cannot be read (fatal
 * configuration: not restarted). */
#include "common/base/log.h"
#include "common/bus/bus.h"
#include "common/config/config.h"
#include "common/proc/proc.h"
#include "relay/filter.h"

struct relay {
    int sigfd;
    struct relay_filter filter;
    const struct proc *p;
};

/* bus_relay_run's stop test: the signalfd is readable. */
static bool term_came(void *arg) { return proc_signals(((struct relay *)arg)->sigfd) & PROC_SIG_TERM; }

/* Both sockets bound: the relay is up (common/proc/ready.h). */
static void bound(void *arg) { proc_ready(((struct relay *)arg)->p); }

static bool admit(void *arg, const char *peer_key, const void *topic, size_t topic_len, const void *payload, size_t len)
{
    return relay_filter_admit(&((struct relay *)arg)->filter, peer_key, topic, topic_len, payload, len);
}

int main(void)
{
    struct proc p;
    proc_init(&p, &(struct proc_opts){ .name = "relay", .open_bus = true, .no_endpoints = true });
    struct relay r = { .sigfd = p.sigfd, .p = &p };
    if (relay_filter_init(&r.filter, p.cfg) != 0) {
        log_error("out of memory");
        proc_close(&p);
        return 1;
    }
    char err[512];
    log_info("relaying %s -> %s", p.cfg->publish_address, p.cfg->tap_address);
    int rc = bus_relay_run(p.bus, p.cfg->publish_address, p.cfg->tap_address, p.sigfd, term_came, admit, bound, &r, err,
                           sizeof err);
    if (rc != 0) log_error("%s", err);
    else log_debug("SIGTERM: stopping");
    uint64_t dropped = relay_filter_dropped(&r.filter);
    if (dropped)
        log_info("dropped %llu messages from probe hosts' keys (%llu of another kind than results and stats, %llu of "
                 "another location, %llu malformed)",
                 (unsigned long long)dropped, (unsigned long long)r.filter.dropped[RELAY_DROP_KIND],
                 (unsigned long long)r.filter.dropped[RELAY_DROP_LOCATION],
                 (unsigned long long)r.filter.dropped[RELAY_DROP_MALFORMED]);
    relay_filter_free(&r.filter);
    proc_close(&p);
    return rc == 0 ? 0 : 1;
}
