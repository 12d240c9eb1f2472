/* worker/check_icmp.c — the icmp check: `count` echo requests to `host` (an IPv4 or IPv6 address, or a name
 * resolved through the engine's resolver), `packet_interval` apart; loss, min/avg/max round trip and jitter.
 * Failed when the loss exceeds max_loss, or the average round trip exceeds latency_threshold. Latency: the
 * average round trip. Figures: {"sent", "received", "loss_pct", "rtt_min_ms", "rtt_avg_ms", "rtt_max_ms",
 * "jitter_ms", "method", "addr"}.
 *
 * DESIGN
 * The sockets are the module's (worker/icmp_sock.h: one per family for every probe of the worker, opened at
 * the worker's start only when its shard has icmp endpoints, watched with engine_watch). A probe is named by
 * (slot, generation, index) in the sequence table; the check's timer sends the next probe (probe k is due
 * k * packet_interval after the first one went out, whatever the name lookup took); a reply finds its
 * check with engine_check and records its round trip. The check ends when every probe was answered, or at
 * its deadline (then the missing replies are lost: the deadline is not a failure by itself). Jitter is the
 * mean absolute difference of consecutive round trips, in probe order (docs/config.md "icmp"). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "common/base/clock.h"
#include "common/base/log.h"
#include "worker/check.h"
#include "worker/icmp_sock.h"

#define ICMP_COUNT_MAX 100   /* the configuration's bound of `count` */
#define ICMP_RECV_BATCHES 16 /* recvmmsg calls per wake-up and family (more waits for the next pass) */

struct icmp_state {
    enum icmp_family fam;
    struct sockaddr_storage addr;
    int count;
    int sent;     /* echo requests that went out */
    int attempts; /* sends tried (a failed send is a lost probe) */
    int received;
    int64_t first_send_ns; /* when the first probe went out: probe k is due k * packet_interval later */
    bool seq_held[ICMP_COUNT_MAX];
    uint16_t seq[ICMP_COUNT_MAX];
    int64_t rtt_ns[ICMP_COUNT_MAX]; /* -1: no reply */
    char send_error[128];           /* the last send's failure */
};

static struct {
    struct engine *eng;
    struct icmp_sock sock;
    bool open;
    int watch[2];
} icmp;

static bool shard_has_icmp(const struct cw_config *cfg)
{
    if (!cfg) return false; /* an engine without a configuration (unit tests) */
    for (size_t i = 0; i < cfg->n_endpoints; i++)
        if (cfg->endpoints[i].type == CW_CHECK_ICMP) return true;
    return false;
}

static void on_reply(void *ctx, const struct icmp_reply *r);

static void on_readable(struct engine *e, void *arg, int fd, uint32_t events)
{
    (void)e;
    (void)fd;
    (void)events;
    icmp_sock_receive(&icmp.sock, (enum icmp_family)(uintptr_t)arg, ICMP_RECV_BATCHES, on_reply, NULL);
}

static int icmp_open(struct engine *e, char *err, size_t errlen)
{
    icmp.eng = e;
    icmp.watch[0] = icmp.watch[1] = -1;
    if (!shard_has_icmp(engine_config(e))) return 0;
    if (icmp_sock_open(&icmp.sock, getenv(ICMP_FDS_ENV), err, errlen) != 0) return -1;
    icmp.open = true;
    for (int f = 0; f < 2; f++) {
        const struct icmp_family_sock *fs = &icmp.sock.fam[f];
        if (fs->fd < 0) {
            char why[256];
            icmp_sock_unavailable(&icmp.sock, (enum icmp_family)f, why, sizeof why);
            log_warn("icmp checks over %s: %s", f == ICMP_V4 ? "IPv4" : "IPv6", why);
            continue;
        }
        icmp.watch[f] = engine_watch(e, fs->fd, EPOLLIN, on_readable, (void *)(uintptr_t)f);
        if (icmp.watch[f] < 0) {
            snprintf(err, errlen, "cannot watch the ICMP socket: %s", strerror(errno));
            return -1;
        }
        log_info("icmp checks over %s: %s sockets", f == ICMP_V4 ? "IPv4" : "IPv6", icmp_method_name(fs->method));
    }
    return 0;
}

static void icmp_close(struct engine *e)
{
    for (int f = 0; f < 2; f++)
        if (icmp.watch[f] >= 0) engine_unwatch(e, icmp.watch[f]);
    if (icmp.open) icmp_sock_close(&icmp.sock);
    icmp.open = false;
    icmp.eng = NULL;
}

/* ---- the figures and the verdict */

static double loss_pct(const struct icmp_state *st)
{
    return st->attempts ? 100.0 * (double)(st->attempts - st->received) / (double)st->attempts : 100.0;
}

static void icmp_finish(struct check *c)
{
    struct icmp_state *st = c->state;
    if (st->attempts == 0) return; /* failed before any probe: the error says why */
    struct icmp_rtt_stats s;
    icmp_rtt_stats(st->rtt_ns, st->attempts, &s);
    char addr[64];
    resolve_addr_text((const struct sockaddr *)&st->addr, addr, sizeof addr);
    figures_int(&c->fig, "sent", st->attempts);
    figures_int(&c->fig, "received", st->received);
    figures_num(&c->fig, "loss_pct", loss_pct(st), 1);
    figures_num(&c->fig, "rtt_min_ms", s.min_ms, 3);
    figures_num(&c->fig, "rtt_avg_ms", s.avg_ms, 3);
    figures_num(&c->fig, "rtt_max_ms", s.max_ms, 3);
    figures_num(&c->fig, "jitter_ms", s.jitter_ms, 3);
    figures_str(&c->fig, "method", icmp_method_name(icmp.sock.fam[st->fam].method));
    figures_str(&c->fig, "addr", addr);
}

/* The verdict once the probes are over: loss against max_loss, then the average against latency_threshold. */
static void judge(struct check *c)
{
    struct icmp_state *st = c->state;
    struct icmp_rtt_stats s;
    icmp_rtt_stats(st->rtt_ns, st->attempts, &s);
    if (st->received) c->r.latency_us = llround(s.avg_ms * 1000.0);
    double loss = loss_pct(st);
    char addr[64];
    resolve_addr_text((const struct sockaddr *)&st->addr, addr, sizeof addr);
    if (st->received == 0) {
        if (st->sent == 0) check_fail(c, "%s", st->send_error[0] ? st->send_error : "no echo request sent");
        else check_fail(c, "no reply to %d echo request%s to %s", st->attempts, st->attempts == 1 ? "" : "s", addr);
    } else if (loss > c->ep->spec->max_loss) {
        check_fail(c, "packet loss %.1f%% (%d of %d lost) > max_loss %g%%", loss, st->attempts - st->received,
                   st->attempts, c->ep->spec->max_loss);
    } else if (c->ep->latency_threshold > 0 && s.avg_ms > c->ep->latency_threshold * 1000.0) {
        check_fail(c, "average round trip %.3f ms > latency_threshold %g ms", s.avg_ms,
                   c->ep->latency_threshold * 1000.0);
    } else {
        check_succeed(c);
    }
}

/* ---- probes */

/* Sends probe st->attempts, and sets the timer for the next one (or none: the replies are awaited). */
static void send_probe(struct check *c, int64_t now)
{
    struct icmp_state *st = c->state;
    int i = st->attempts++;
    st->rtt_ns[i] = -1;
    if (icmp_sock_send(&icmp.sock, st->fam, (const struct sockaddr *)&st->addr, c->slot, c->gen, (uint16_t)i,
                       &st->seq[i], st->send_error, sizeof st->send_error) == 0) {
        st->seq_held[i] = true;
        st->sent++;
    }
    if (st->attempts < st->count) {
        int64_t step = (int64_t)llround(c->ep->spec->packet_interval * 1e9);
        int64_t due = st->first_send_ns + step * st->attempts;
        check_set_timer(c, due > now ? due : now);
    } else if (st->received == st->sent) {
        judge(c); /* every probe that went out was answered already (or none went out) */
    }
}

static void on_reply(void *ctx, const struct icmp_reply *r)
{
    (void)ctx;
    struct check *c = icmp.eng ? engine_check(icmp.eng, r->owner, r->gen) : NULL;
    if (!c) return;
    struct icmp_state *st = c->state;
    if (r->index >= st->attempts || st->rtt_ns[r->index] >= 0) return;
    st->rtt_ns[r->index] = r->rtt_ns;
    st->received++;
    if (st->attempts == st->count && st->received == st->sent) judge(c);
}

static void icmp_on_timer(struct check *c, int64_t now)
{
    struct icmp_state *st = c->state;
    if (st->attempts < st->count) send_probe(c, now);
}

static void on_resolved(struct check *c, const struct resolve_result *res)
{
    struct icmp_state *st = c->state;
    if (res->status != 0 || res->n == 0) {
        check_fail(c, "cannot resolve %s: %s", c->ep->host, res->status ? res->error : "no address");
        return;
    }
    /* the first address of a family we have a socket for (the resolver's order otherwise) */
    size_t pick = 0;
    for (size_t i = 0; i < res->n; i++) {
        enum icmp_family f = res->addr[i].ss_family == AF_INET6 ? ICMP_V6 : ICMP_V4;
        if (icmp.sock.fam[f].fd >= 0) {
            pick = i;
            break;
        }
    }
    memcpy(&st->addr, &res->addr[pick], sizeof st->addr);
    st->fam = st->addr.ss_family == AF_INET6 ? ICMP_V6 : ICMP_V4;
    if (icmp.sock.fam[st->fam].fd < 0) {
        char why[256];
        icmp_sock_unavailable(&icmp.sock, st->fam, why, sizeof why);
        check_fail(c, "%s", why);
        return;
    }
    /* from the first probe, not the check's start: a slow lookup must not eat the spacing */
    st->first_send_ns = cw_mono_ns();
    send_probe(c, st->first_send_ns);
}

static void icmp_start(struct check *c)
{
    struct icmp_state *st = c->state;
    st->count = c->ep->spec->icmp_count;
    if (st->count < 1) st->count = 1;
    if (st->count > ICMP_COUNT_MAX) st->count = ICMP_COUNT_MAX;
    if (!icmp.open) {
        check_fail(c, "the ICMP sockets are not open");
        return;
    }
    check_resolve(c, c->ep->host, 0, AF_UNSPEC, on_resolved);
}

/* The deadline: what was sent and not answered is lost; the verdict as usual. */
static void icmp_on_timeout(struct check *c)
{
    struct icmp_state *st = c->state;
    if (st->attempts == 0) {
        char t[32];
        check_fail(c, "timed out after %s resolving %s", check_timeout_text(c, t, sizeof t), c->ep->host);
        return;
    }
    judge(c);
}

static void icmp_release(struct check *c)
{
    struct icmp_state *st = c->state;
    for (int i = 0; i < st->attempts && i < ICMP_COUNT_MAX; i++)
        if (st->seq_held[i]) icmp_sock_release(&icmp.sock, st->fam, st->seq[i]);
    memset(st->seq_held, 0, sizeof st->seq_held);
}

const struct check_ops check_icmp_ops = {
    .name = "icmp",
    .state_size = sizeof(struct icmp_state),
    .open = icmp_open,
    .close = icmp_close,
    .start = icmp_start,
    .on_timer = icmp_on_timer,
    .on_timeout = icmp_on_timeout,
    .finish = icmp_finish,
    .release = icmp_release,
};
