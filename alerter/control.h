/* alerter/control.h — the alerter's control socket RUN_DIR/alerter.ctl: how `clockwerk silence`, `clockwerk ack`
 * and the web's silence API talk to the running alerter (docs/protocol.md "The alerter's control socket").
 *
 * DESIGN
 * An AF_UNIX stream socket, mode 0600 in run_dir (0700): only the daemon's user and root reach it, and the
 * peer's uid (SO_PEERCRED) names the author of what it does. One request per connection: one JSON line in,
 * one JSON line out, then the alerter closes. Everything is non-blocking and runs in the alerter's one loop:
 * the listening socket and each connection are polled with the loop's other fds (control_waitfds), and
 * control_run does whatever is ready — accept, read, answer, write — without ever waiting. Bounds keep a
 * client from holding the loop or its memory: at most CONTROL_CONNS_MAX connections (more are told "busy"),
 * CONTROL_REQUEST_MAX bytes per request, CONTROL_CLIENT_TIMEOUT_US from accept to the last byte of the answer.
 * What a request does is not known here: the conductor fills struct control_ops (the silences through
 * alerter/silenceops.h, the acknowledgement through incident_ack); requests are decoded and answered by
 * control_handle (alerter/ctlreq.c). */
#ifndef CW_ALERTER_CONTROL_H
#define CW_ALERTER_CONTROL_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alerter/silences.h"
#include "common/base/ratelimit.h"
#include "common/base/util.h"

#define CONTROL_VERSION 1
#define CONTROL_CONNS_MAX 8
#define CONTROL_REQUEST_MAX (64 * 1024)
#define CONTROL_CLIENT_TIMEOUT_US (5 * 1000000LL)
#define CONTROL_SOCKET_NAME "alerter.ctl"

/* What requests do. Each returns 0, or -1 with a message for the caller in err. who: the request's author
 * ("alice", or "alice (as root)"). A NULL member answers "not available in this alerter". */
struct control_ops {
    void *ctx;
    /* Checks want's scope against the configuration, adds it (a new id) and saves the file; *added: the stored
     * silence, valid until the next change. */
    int (*silence_add)(void *ctx, const struct silence *want, const struct silence **added, char *err, size_t errlen);
    /* Removes the silence with this id (into *removed, which the caller clears) and saves the file. */
    int (*silence_remove)(void *ctx, const char *id, const char *who, struct silence *removed, char *err,
                          size_t errlen);
    /* The silences now. */
    const struct silences *(*silence_list)(void *ctx);
    /* Acknowledges the open incident of alert_id (the incident's id or any of its alerts'); msg says what was
     * done (0) or why not (-1). */
    void *ack_ctx;
    int (*ack)(void *ack_ctx, uint64_t alert_id, const char *who, char *msg, size_t msglen);
};

struct control_conn {
    int fd;
    int64_t deadline_us; /* monotonic: cut when still open then */
    char who[64];        /* the peer's user name (SO_PEERCRED), or "uid N" */
    struct cw_buf in;    /* the request as read so far */
    struct cw_buf out;   /* the answer (empty until the request is complete) */
    size_t written;      /* bytes of out sent */
};

struct control {
    int fd;     /* the listening socket; -1: none (the alerter runs without, logged) */
    char *path; /* RUN_DIR/alerter.ctl */
    struct control_ops ops;
    struct control_conn conns[CONTROL_CONNS_MAX];
    size_t n_conns;
    uint64_t requests, refused, timeouts; /* counters */
    struct ratelimit cut_log;             /* the "cut" warnings */
    struct control_uid_name {             /* the peers' user names, each uid looked up once (NSS may block) */
        uint32_t uid;
        char name[64]; /* as control_conn.who */
    } * names;
    size_t n_names;
    uint64_t name_lookups; /* getpwuid_r calls made */
};

/* Creates the socket (a stale one from a previous run replaced) with ops. On failure logs why and leaves
 * c->fd at -1: the alerter goes on, alerting matters more than being told about silences. */
void control_open(struct control *c, const char *run_dir, const struct control_ops *ops);
/* Closes every connection and the socket, and removes it. */
void control_close(struct control *c);

/* Does what is ready without blocking: accepts, reads requests, answers them, writes answers, cuts clients past
 * their deadline. now_us: monotonic. */
void control_run(struct control *c, int64_t now_us);
/* The fds to poll (at most 1 + CONTROL_CONNS_MAX) into out; returns how many. */
size_t control_waitfds(const struct control *c, struct curl_waitfd *out, size_t max);
/* The earliest client deadline (monotonic µs), INT64_MAX when none. */
int64_t control_deadline(const struct control *c);

/* Decodes one request (line[0..len), not necessarily NUL-terminated) from peer who and appends the one-line
 * answer (with its newline) to answer. now_wall_us: the wall clock (a silence starts then). */
void control_handle(const struct control_ops *ops, const char *line, size_t len, const char *who, int64_t now_wall_us,
                    struct cw_buf *answer);

#endif
