/* worker/icmp_sock.h — the icmp check's sockets: one per address family, echo requests out, echo replies in,
 * each reply matched to the probe that asked for it.
 *
 * DESIGN
 * Two kinds of socket (docs/config.md "icmp"): unprivileged datagram ICMP sockets (socket(AF_INET,
 * SOCK_DGRAM, IPPROTO_ICMP), allowed when the process's group is in net.ipv4.ping_group_range, which governs
 * IPv6 too), and raw sockets, which need CAP_NET_RAW: the supervisor opens those for the worker before it
 * drops its privileges and passes them as descriptors (CLOCKWERK_ICMP_FDS="V4,V6", -1 for a missing one;
 * supervisor/icmp_fds.c). Passed descriptors win; otherwise the worker opens datagram sockets itself.
 * One socket per family serves every probe of the worker: a 16-bit sequence number names a probe, and a
 * table of 65,536 entries per family maps it back to (owner, generation, probe index, address, cookie, send
 * time). A reply counts only when its sequence number is in use, its source is the address the probe went
 * to and its payload carries the probe's 8-byte random cookie: stale replies (a sequence number reused
 * after a check ended), replies to other processes (every raw socket sees every echo reply on the host; our
 * identifier filters most) and forged ones are dropped. Entries are freed by the owner when its check ends,
 * and a busy sequence number is skipped, so a slow reply never lands on a newer probe.
 * Raw IPv4 replies start with the IP header (skipped); the kernel fills the checksum except on raw IPv4.
 * Times: SO_TIMESTAMPNS gives each reply's arrival time in CLOCK_REALTIME, so send times are taken with
 * that clock too; a round trip below 0 or above ICMP_RTT_MAX_NS (the clock was stepped) is dropped.
 * Replies are read with recvmmsg, ICMP_BATCH at a time. */
#ifndef CW_WORKER_ICMP_SOCK_H
#define CW_WORKER_ICMP_SOCK_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ICMP_SEQ_SPACE 65536
#define ICMP_BATCH 64
#define ICMP_PAYLOAD 16 /* cookie (8) + "clockwrk" */
#define ICMP_PACKET (8 + ICMP_PAYLOAD)
#define ICMP_RTT_MAX_NS 120000000000LL
#define ICMP_FDS_ENV "CLOCKWERK_ICMP_FDS"

enum icmp_family { ICMP_V4 = 0, ICMP_V6 = 1 };
enum icmp_method { ICMP_NONE = 0, ICMP_DGRAM = 1, ICMP_RAW = 2 };

struct icmp_probe_entry {
    int64_t sent_ns; /* CLOCK_REALTIME */
    uint64_t cookie;
    uint32_t owner, gen;
    uint16_t index;
    bool busy;
    bool answered;    /* a duplicate reply is not counted twice */
    uint8_t addr[16]; /* 4 bytes for IPv4 */
};

struct icmp_family_sock {
    int fd; /* -1: none */
    enum icmp_method method;
    int open_errno; /* why there is none (EACCES: ping_group_range) */
    uint16_t next_seq;
    unsigned busy;
    struct icmp_probe_entry *table; /* ICMP_SEQ_SPACE entries, allocated with the socket */
};

struct icmp_sock {
    struct icmp_family_sock fam[2];
    uint16_t ident;   /* raw sockets: our echo identifier (datagram sockets: the kernel's) */
    uint64_t rng;     /* cookies */
    uint64_t dropped; /* replies read that matched no probe */
};

struct icmp_reply {
    uint32_t owner, gen;
    uint16_t index;
    int64_t rtt_ns;
};

/* Opens the sockets: the descriptors of env (the value of CLOCKWERK_ICMP_FDS, or NULL) as raw sockets, a
 * datagram socket for each family without one. A family that gets no socket has fd -1 and open_errno set;
 * that is not an error here (the checks to that family fail, saying why). -1 with err only for a malformed
 * env value. */
int icmp_sock_open(struct icmp_sock *s, const char *env, char *err, size_t errlen);
void icmp_sock_close(struct icmp_sock *s);

/* Why a family has no socket, for a check's error ("ICMP sockets not permitted: ..."). */
void icmp_sock_unavailable(const struct icmp_sock *s, enum icmp_family f, char *out, size_t outlen);
const char *icmp_method_name(enum icmp_method m); /* "dgram", "raw", "none" */

/* Sends one echo request to addr (a sockaddr_in or sockaddr_in6 of the family) for (owner, gen, index).
 * 0 with *seq set (free it with icmp_sock_release), or -1 with a reason in err (no socket, no free sequence
 * number, sendto's errno). */
int icmp_sock_send(struct icmp_sock *s, enum icmp_family f, const struct sockaddr *addr, uint32_t owner, uint32_t gen,
                   uint16_t index, uint16_t *seq, char *err, size_t errlen);
void icmp_sock_release(struct icmp_sock *s, enum icmp_family f, uint16_t seq);

/* Reads up to max_batches batches of what waits on the family's socket, calling on_reply for each reply that
 * matches a probe (its entry stays busy until released). Returns the replies matched. */
size_t icmp_sock_receive(struct icmp_sock *s, enum icmp_family f, unsigned max_batches,
                         void (*on_reply)(void *ctx, const struct icmp_reply *r), void *ctx);

/* The round trips of one check's probes in sending order (rtt_ns[i] < 0: no reply): min, average, max, and
 * jitter, the mean absolute difference between consecutive answered probes. NAN where there is nothing to
 * compute (no reply; jitter: fewer than two). */
struct icmp_rtt_stats {
    double min_ms, avg_ms, max_ms, jitter_ms;
};
void icmp_rtt_stats(const int64_t *rtt_ns, int n, struct icmp_rtt_stats *s);

/* ---- the pieces, exposed for the unit tests */

/* An echo request: type 8 (v4) or 128 (v6), code 0, ident, seq, the cookie and the marker; the checksum
 * filled for IPv4 (the kernel does it for v6 and for datagram sockets, and ignores ours). */
void icmp_build_echo(uint8_t out[ICMP_PACKET], enum icmp_family f, uint16_t ident, uint16_t seq, uint64_t cookie);
/* The Internet checksum (RFC 1071) of len bytes. */
uint16_t icmp_checksum(const uint8_t *p, size_t len);
/* Reads an echo reply as received on a socket of method m: 0 with ident, seq and cookie, -1 when it is not
 * one of ours in form (another type, too short, an IPv4 header that does not fit, the marker missing). */
int icmp_parse_reply(const uint8_t *p, size_t len, enum icmp_family f, enum icmp_method m, uint16_t *ident,
                     uint16_t *seq, uint64_t *cookie);
/* Matches a parsed reply from src (4 or 16 bytes) arriving at recv_ns (CLOCK_REALTIME) against the table;
 * true with *r filled when it is a probe's reply (the first one: a duplicate is not counted twice). */
bool icmp_match(struct icmp_sock *s, enum icmp_family f, uint16_t seq, uint64_t cookie, const uint8_t *src,
                int64_t recv_ns, struct icmp_reply *r);
/* Takes a free sequence number and fills its entry; -1 when all are busy. */
int icmp_seq_take(struct icmp_sock *s, enum icmp_family f, const uint8_t *addr, uint32_t owner, uint32_t gen,
                  uint16_t index, uint16_t *seq);

#endif
