/* worker/check_tcp.c — the tcp check: connect to host:port within the timeout, optionally send `send`, and
 * when `expect` is set read until it appears in the reply.
 *
 * DESIGN
 * - The connection: worker/engine_conn.h (every address of the host in turn, SO_LINGER 0 on close). The
 *   latency is the connect time (connect_us as well; dns_us is the lookup).
 * - `send` is written whole (EPOLLOUT while the socket buffer is full); ttfb_us is from then to the first
 *   reply byte.
 * - `expect` is searched across reads with the HTTP checks' streaming matcher (probe_kw of worker/probe.h: it
 *   keeps only the last bytes that may start a match), in the first TCP_REPLY_MAX bytes. The reply ends at
 *   the match (success), at EOF, at TCP_REPLY_MAX or at the deadline (failure: `reply did not contain "X"
 *   (got "...")`). Without `expect` the check succeeds as soon as it connected and sent.
 * - Figures: {"reply": the first TCP_REPLY_SHOWN bytes of the reply, escaped} when the check read one (with
 *   `expect`); a plain connect has none (nothing to encode or store per check). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/base/clock.h"
#include "worker/check.h"
#include "worker/engine_conn.h"
#include "worker/probe_kw.h"

#define TCP_REPLY_MAX (64 * 1024) /* bytes of reply searched for `expect` */
#define TCP_REPLY_SHOWN 128       /* bytes of reply in the figures and in the error */

enum tcp_phase { TCP_CONNECT = 0, TCP_SEND, TCP_READ };

struct tcp_state {
    struct engine_conn conn; /* first: engine_conn.h */
    enum tcp_phase phase;
    size_t sent;
    int64_t sent_ns;
    struct probe_kw kw;
    bool kw_ready;
    size_t got; /* bytes of reply read */
    char shown[TCP_REPLY_SHOWN];
    size_t shown_len;
};

static void fail_no_match(struct check *c, struct tcp_state *s, const char *when)
{
    char want[160], got[400];
    const char *expect = c->ep->spec->expect;
    conn_quote(expect, strlen(expect), 64, want, sizeof want);
    if (s->got == 0) {
        check_fail(c, "reply did not contain %s (%s, nothing received)", want, when);
        return;
    }
    conn_quote(s->shown, s->shown_len, 64, got, sizeof got);
    check_fail(c, "reply did not contain %s (%s; got %s)", want, when, got);
}

static void start_reading(struct check *c, struct tcp_state *s)
{
    s->phase = TCP_READ;
    if (!c->ep->spec->expect) {
        check_succeed(c);
        return;
    }
    probe_kw_init(&s->kw);
    s->kw_ready = true;
    probe_kw_reset(&s->kw, c->ep->spec->expect);
    if (check_watch(c, s->conn.fd, EPOLLIN) != 0) check_fail(c, "cannot watch the connection: %s", strerror(errno));
}

static void send_more(struct check *c, struct tcp_state *s)
{
    const struct cw_endpoint *ep = c->ep;
    while (s->sent < ep->spec->send_len) {
        ssize_t n = send(s->conn.fd, ep->spec->send + s->sent, ep->spec->send_len - s->sent, MSG_NOSIGNAL);
        if (n > 0) {
            s->sent += (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (check_watch(c, s->conn.fd, EPOLLOUT) != 0)
                check_fail(c, "cannot watch the connection: %s", strerror(errno));
            return;
        }
        char why[128];
        check_fail(c, "sending failed after %zu of %zu bytes: %s", s->sent, (size_t)ep->spec->send_len,
                   conn_errno_text(errno, why, sizeof why));
        return;
    }
    s->sent_ns = cw_mono_ns();
    start_reading(c, s);
}

static void on_connected(struct check *c)
{
    struct tcp_state *s = c->state;
    c->r.latency_us = c->r.connect_us;
    s->phase = TCP_SEND;
    s->sent_ns = cw_mono_ns();
    if (c->ep->spec->send && c->ep->spec->send_len) send_more(c, s);
    else start_reading(c, s);
}

static void read_reply(struct check *c, struct tcp_state *s)
{
    char buf[16384];
    for (;;) {
        size_t room = TCP_REPLY_MAX - s->got;
        ssize_t n = recv(s->conn.fd, buf, room < sizeof buf ? room : sizeof buf, 0);
        if (n > 0) {
            if (s->got == 0) c->r.ttfb_us = (cw_mono_ns() - s->sent_ns) / 1000;
            if (s->shown_len < TCP_REPLY_SHOWN) {
                size_t k = TCP_REPLY_SHOWN - s->shown_len < (size_t)n ? TCP_REPLY_SHOWN - s->shown_len : (size_t)n;
                memcpy(s->shown + s->shown_len, buf, k);
                s->shown_len += k;
            }
            s->got += (size_t)n;
            probe_kw_feed(&s->kw, buf, (size_t)n);
            if (s->kw.found) {
                check_succeed(c);
                return;
            }
            if (s->got >= TCP_REPLY_MAX) {
                fail_no_match(c, s, "in the first 64 KiB");
                return;
            }
            continue;
        }
        if (n == 0) {
            fail_no_match(c, s, "the server closed the connection");
            return;
        }
        if (errno == EAGAIN || errno == EINTR) return;
        char why[128], when[160];
        snprintf(when, sizeof when, "the connection failed: %s", conn_errno_text(errno, why, sizeof why));
        fail_no_match(c, s, when);
        return;
    }
}

static void tcp_start(struct check *c)
{
    struct tcp_state *s = c->state;
    conn_start(c, &s->conn, on_connected);
}

static void tcp_on_fd(struct check *c, uint32_t epoll_events)
{
    struct tcp_state *s = c->state;
    switch (s->phase) {
    case TCP_CONNECT:
        conn_on_fd(c, &s->conn, epoll_events);
        break;
    case TCP_SEND:
        send_more(c, s);
        break;
    case TCP_READ:
        read_reply(c, s);
        break;
    }
}

static void tcp_on_timeout(struct check *c)
{
    struct tcp_state *s = c->state;
    char t[32], doing[160];
    check_timeout_text(c, t, sizeof t);
    if (s->phase == TCP_READ) {
        char when[64];
        snprintf(when, sizeof when, "within %s", t);
        fail_no_match(c, s, when);
        return;
    }
    if (s->phase == TCP_SEND) {
        check_fail(c, "timed out after %s sending (%zu of %zu bytes sent)", t, s->sent, (size_t)c->ep->spec->send_len);
        return;
    }
    conn_doing(c, &s->conn, doing, sizeof doing);
    check_fail(c, "timed out after %s %s", t, doing);
}

static void tcp_finish(struct check *c)
{
    struct tcp_state *s = c->state;
    if (s->phase == TCP_READ && c->ep->spec->expect) figures_strn(&c->fig, "reply", s->shown, s->shown_len);
}

static void tcp_release(struct check *c)
{
    struct tcp_state *s = c->state;
    conn_close(c, &s->conn);
    if (s->kw_ready) probe_kw_free(&s->kw);
    s->kw_ready = false;
}

const struct check_ops check_tcp_ops = {
    .name = "tcp",
    .state_size = sizeof(struct tcp_state),
    .start = tcp_start,
    .on_fd = tcp_on_fd,
    .on_timeout = tcp_on_timeout,
    .finish = tcp_finish,
    .release = tcp_release,
};
