/* relay/main.c — bin/clockwerk-relay: the best-effort forwarder behind the tap. Binds an XSUB on
 * publish_address (every worker, the storer and the alerter PUB into it) and an XPUB on tap_address
 * (clockwerk-tap subscribes there), and passes messages through without decoding (bus_relay_run). It runs
 * from the start, before any alerter exists, so the tap can attach at any time with one address.
 *
 * Started by the supervisor, on the skeleton of every child (common/proc/proc.h). The forwarding loop waits on
 * both sockets and the signalfd, so SIGTERM ends it at once, whatever it was doing, and the relay exits 0:
 * it holds nothing to flush. SIGINT is ignored (the supervisor orders shutdowns); SIGHUP changes nothing
 * (the relay's addresses are fixed for the supervisor's life). Exit 1 when forwarding fails, 2 when the
 * snapshot cannot be read (fatal configuration: not restarted). */
#include "common/bus/bus.h"
#include "common/config/config.h"
#include "common/base/log.h"
#include "common/proc/proc.h"

/* bus_relay_run's stop test: the signalfd is readable. */
static bool term_came(void *sigfd) { return proc_signals(*(int *)sigfd) & PROC_SIG_TERM; }

int main(void)
{
    struct proc p;
    proc_init(&p, &(struct proc_opts){ .name = "relay", .open_bus = true });
    char err[512];
    log_info("relaying %s -> %s", p.cfg->publish_address, p.cfg->tap_address);
    int rc =
        bus_relay_run(p.bus, p.cfg->publish_address, p.cfg->tap_address, p.sigfd, term_came, &p.sigfd, err, sizeof err);
    if (rc != 0) log_error("%s", err);
    else log_debug("SIGTERM: stopping");
    proc_close(&p);
    return rc == 0 ? 0 : 1;
}
