/* relay/main.c — bin/clockwerk-relay: the best-effort forwarder behind the tap. Binds an XSUB on
 * publish_address (every worker and the alerter PUB into it) and an XPUB on tap_address (clockwerk-tap
 * subscribes there), and passes messages through without decoding (bus_relay_run). It runs from the start,
 * before any alerter exists, so the tap can attach at any time with one address.
 *
 * Started by the supervisor with CLOCKWERK_SNAPSHOT in the environment. SIGINT is ignored (the supervisor
 * orders shutdowns). SIGTERM ends the relay at once with exit code 0, from the handler (_exit is
 * async-signal-safe): the relay holds nothing to flush, and counting on the signal to interrupt
 * zmq_proxy's poll would race — a signal that lands while the proxy is forwarding a message, not waiting,
 * would be lost and the relay would hang until SIGKILL. Exit 1 when the proxy fails, 2 when the snapshot
 * cannot be read (fatal configuration: not restarted). */
#include "common/bus.h"
#include "common/bus_keys.h"
#include "common/config.h"
#include "common/log.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void on_term(int sig)
{
    (void)sig;
    _exit(0);
}

int main(void)
{
    log_init("relay", LOG_LVL_INFO);
    const char *snap = getenv("CLOCKWERK_SNAPSHOT");
    if (!snap || !*snap) fatal(2, "CLOCKWERK_SNAPSHOT is not set: the relay is started by the supervisor");

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGINT, &sa, NULL) != 0) fatal(1, "sigaction: %s", strerror(errno));
    sa.sa_handler = on_term;
    if (sigaction(SIGTERM, &sa, NULL) != 0) fatal(1, "sigaction: %s", strerror(errno));

    char err[512];
    struct cw_config *cfg = config_snapshot_read(snap, 0, 0, err, sizeof err);
    if (!cfg) fatal(2, "cannot read snapshot %s: %s", snap, err);
    log_set_level((enum log_level)cfg->log_level);

    struct bus *bus = bus_new_for(cfg, err, sizeof err);
    if (!bus) {
        int code = cfg->curve_key_file ? 2 : 1;
        config_free(cfg);
        fatal(code, "%s", err);
    }
    log_info("relaying %s -> %s", cfg->publish_address, cfg->tap_address);
    if (bus_relay_run(bus, cfg->publish_address, cfg->tap_address, err, sizeof err) != 0) { /* always */ }
    log_error("%s", err);
    bus_free(bus);
    config_free(cfg);
    return 1;
}
