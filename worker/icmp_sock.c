/* worker/icmp_sock.c — ICMP echo sockets, the sequence table and reply matching (see icmp_sock.h). */
#include "worker/icmp_sock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/icmp.h>
#include <math.h>
#include <netinet/icmp6.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/base/util.h"

#define ICMP_MARKER "clockwrk"
#define ICMP_RCVBUF (1 << 20)
#define ICMP_RECV_SIZE 256 /* an IPv4 header with options (60) + our reply (24), with room */

static const int family_af[2] = { AF_INET, AF_INET6 };
static const size_t family_addr_len[2] = { 4, 16 };

const char *icmp_method_name(enum icmp_method m) { return m == ICMP_DGRAM ? "dgram" : m == ICMP_RAW ? "raw" : "none"; }

uint16_t icmp_checksum(const uint8_t *p, size_t len)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2) sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (len & 1) sum += (uint32_t)p[len - 1] << 8;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

void icmp_build_echo(uint8_t out[ICMP_PACKET], enum icmp_family f, uint16_t ident, uint16_t seq, uint64_t cookie)
{
    out[0] = f == ICMP_V4 ? 8 : 128;
    out[1] = 0;
    out[2] = out[3] = 0;
    out[4] = (uint8_t)(ident >> 8);
    out[5] = (uint8_t)ident;
    out[6] = (uint8_t)(seq >> 8);
    out[7] = (uint8_t)seq;
    memcpy(out + 8, &cookie, 8);
    memcpy(out + 16, ICMP_MARKER, 8);
    if (f == ICMP_V4) {
        uint16_t sum = icmp_checksum(out, ICMP_PACKET);
        out[2] = (uint8_t)(sum >> 8);
        out[3] = (uint8_t)sum;
    }
}

int icmp_parse_reply(const uint8_t *p, size_t len, enum icmp_family f, enum icmp_method m, uint16_t *ident,
                     uint16_t *seq, uint64_t *cookie)
{
    if (f == ICMP_V4 && m == ICMP_RAW) {
        if (len < 20 || (p[0] >> 4) != 4) return -1;
        size_t ihl = (size_t)(p[0] & 0x0f) * 4;
        if (ihl < 20 || ihl > len) return -1;
        p += ihl;
        len -= ihl;
    }
    if (len < ICMP_PACKET) return -1;
    if (p[0] != (f == ICMP_V4 ? 0 : 129) || p[1] != 0) return -1;
    if (memcmp(p + 16, ICMP_MARKER, 8) != 0) return -1;
    *ident = (uint16_t)(p[4] << 8 | p[5]);
    *seq = (uint16_t)(p[6] << 8 | p[7]);
    memcpy(cookie, p + 8, 8);
    return 0;
}

static uint64_t next_random(struct icmp_sock *s)
{
    /* xorshift64*: cookies need to be unguessable from outside the host, not cryptographic */
    uint64_t x = s->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rng = x;
    return x * 2685821657736338717ULL;
}

int icmp_seq_take(struct icmp_sock *s, enum icmp_family f, const uint8_t *addr, uint32_t owner, uint32_t gen,
                  uint16_t index, uint16_t *seq)
{
    struct icmp_family_sock *fs = &s->fam[f];
    if (!fs->table) fs->table = cw_xcalloc(ICMP_SEQ_SPACE, sizeof *fs->table);
    if (fs->busy >= ICMP_SEQ_SPACE) return -1;
    while (fs->table[fs->next_seq].busy) fs->next_seq++;
    uint16_t n = fs->next_seq++;
    struct icmp_probe_entry *e = &fs->table[n];
    memset(e, 0, sizeof *e);
    e->busy = true;
    e->owner = owner;
    e->gen = gen;
    e->index = index;
    e->cookie = next_random(s);
    memcpy(e->addr, addr, family_addr_len[f]);
    fs->busy++;
    *seq = n;
    return 0;
}

void icmp_sock_release(struct icmp_sock *s, enum icmp_family f, uint16_t seq)
{
    struct icmp_family_sock *fs = &s->fam[f];
    if (!fs->table || !fs->table[seq].busy) return;
    fs->table[seq].busy = false;
    fs->busy--;
}

bool icmp_match(struct icmp_sock *s, enum icmp_family f, uint16_t seq, uint64_t cookie, const uint8_t *src,
                int64_t recv_ns, struct icmp_reply *r)
{
    struct icmp_family_sock *fs = &s->fam[f];
    struct icmp_probe_entry *e = fs->table ? &fs->table[seq] : NULL;
    if (!e || !e->busy || e->answered || e->cookie != cookie || memcmp(e->addr, src, family_addr_len[f]) != 0)
        return false;
    int64_t rtt = recv_ns - e->sent_ns;
    if (rtt < 0 || rtt > ICMP_RTT_MAX_NS) return false;
    e->answered = true;
    r->owner = e->owner;
    r->gen = e->gen;
    r->index = e->index;
    r->rtt_ns = rtt;
    return true;
}

/* Socket options of either kind: non-blocking, close-on-exec, arrival times, a receive buffer for bursts,
 * and for raw sockets a filter that lets only echo replies through. */
static void set_options(int fd, enum icmp_family f, enum icmp_method m)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) (void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    int one = 1, rcvbuf = ICMP_RCVBUF;
    (void)setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (m != ICMP_RAW) return;
    if (f == ICMP_V4) {
        struct icmp_filter filt = { .data = ~(1u << ICMP_ECHOREPLY) };
        (void)setsockopt(fd, SOL_RAW, ICMP_FILTER, &filt, sizeof filt);
    } else {
        struct icmp6_filter filt;
        ICMP6_FILTER_SETBLOCKALL(&filt);
        ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filt);
        (void)setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filt, sizeof filt);
    }
}

/* Whether fd is a raw ICMP socket of the family (what the supervisor passes). */
static bool is_raw_icmp(int fd, enum icmp_family f)
{
    int type = 0, domain = 0, proto = 0;
    socklen_t tl = sizeof type, dl = sizeof domain, pl = sizeof proto;
    return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_RAW &&
           getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &dl) == 0 && domain == family_af[f] &&
           getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &pl) == 0 &&
           proto == (f == ICMP_V4 ? IPPROTO_ICMP : IPPROTO_ICMPV6);
}

/* "V4,V6": two descriptor numbers, -1 for none. */
static int parse_env(const char *env, int fds[2])
{
    char *end;
    long a = strtol(env, &end, 10);
    if (end == env || *end != ',') return -1;
    const char *second = end + 1;
    long b = strtol(second, &end, 10);
    if (end == second || *end) return -1;
    if (a < -1 || a > 1 << 20 || b < -1 || b > 1 << 20) return -1;
    fds[0] = (int)a;
    fds[1] = (int)b;
    return 0;
}

int icmp_sock_open(struct icmp_sock *s, const char *env, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    int passed[2] = { -1, -1 };
    if (env && *env && parse_env(env, passed) != 0) {
        snprintf(err, errlen, "%s: \"%s\" is not two descriptor numbers (\"3,4\")", ICMP_FDS_ENV, env);
        return -1;
    }
    if (getrandom(&s->rng, sizeof s->rng, 0) != sizeof s->rng) s->rng = (uint64_t)time(NULL) ^ (uint64_t)getpid();
    s->rng |= 1;
    s->ident = (uint16_t)(next_random(s) >> 48);
    for (int f = 0; f < 2; f++) {
        struct icmp_family_sock *fs = &s->fam[f];
        fs->fd = -1;
        if (passed[f] >= 0 && is_raw_icmp(passed[f], (enum icmp_family)f)) {
            fs->fd = passed[f];
            fs->method = ICMP_RAW;
        } else {
            fs->fd = socket(family_af[f], SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                            f == ICMP_V4 ? IPPROTO_ICMP : IPPROTO_ICMPV6);
            fs->method = fs->fd >= 0 ? ICMP_DGRAM : ICMP_NONE;
            fs->open_errno = fs->fd >= 0 ? 0 : errno;
        }
        if (fs->fd >= 0) set_options(fs->fd, (enum icmp_family)f, fs->method);
    }
    return 0;
}

void icmp_sock_close(struct icmp_sock *s)
{
    for (int f = 0; f < 2; f++) {
        if (s->fam[f].fd >= 0) close(s->fam[f].fd);
        s->fam[f].fd = -1;
        free(s->fam[f].table);
        s->fam[f].table = NULL;
    }
}

void icmp_sock_unavailable(const struct icmp_sock *s, enum icmp_family f, char *out, size_t outlen)
{
    int e = s->fam[f].open_errno;
    if (e == EACCES || e == EPERM)
        snprintf(out, outlen,
                 "ICMP sockets not permitted (gid %u not in net.ipv4.ping_group_range, and no raw socket from the "
                 "supervisor: `clockwerk -t` says which sysctl to set)",
                 (unsigned)getegid());
    else if (e == EAFNOSUPPORT) snprintf(out, outlen, "no %s on this host", f == ICMP_V4 ? "IPv4" : "IPv6");
    else snprintf(out, outlen, "cannot open an ICMP socket: %s", strerror(e ? e : EBADF));
}

int icmp_sock_send(struct icmp_sock *s, enum icmp_family f, const struct sockaddr *addr, uint32_t owner, uint32_t gen,
                   uint16_t index, uint16_t *seq, char *err, size_t errlen)
{
    struct icmp_family_sock *fs = &s->fam[f];
    if (fs->fd < 0) {
        icmp_sock_unavailable(s, f, err, errlen);
        return -1;
    }
    const uint8_t *a = f == ICMP_V4 ? (const uint8_t *)&((const struct sockaddr_in *)addr)->sin_addr
                                    : (const uint8_t *)&((const struct sockaddr_in6 *)addr)->sin6_addr;
    if (icmp_seq_take(s, f, a, owner, gen, index, seq) != 0) {
        snprintf(err, errlen, "no free ICMP sequence number (65,536 probes in flight)");
        return -1;
    }
    struct icmp_probe_entry *e = &fs->table[*seq];
    uint8_t pkt[ICMP_PACKET];
    icmp_build_echo(pkt, f, s->ident, *seq, e->cookie);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    e->sent_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    socklen_t alen = f == ICMP_V4 ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    if (sendto(fs->fd, pkt, sizeof pkt, 0, addr, alen) < 0) {
        snprintf(err, errlen, "cannot send an echo request: %s", strerror(errno));
        icmp_sock_release(s, f, *seq);
        return -1;
    }
    return 0;
}

/* The arrival time of a received message (SCM_TIMESTAMPNS), or now when the kernel gave none. */
static int64_t arrival_ns(struct msghdr *mh)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            struct timespec ts;
            memcpy(&ts, CMSG_DATA(c), sizeof ts);
            return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
        }
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

size_t icmp_sock_receive(struct icmp_sock *s, enum icmp_family f, unsigned max_batches,
                         void (*on_reply)(void *ctx, const struct icmp_reply *r), void *ctx)
{
    struct icmp_family_sock *fs = &s->fam[f];
    if (fs->fd < 0) return 0;
    static uint8_t bufs[ICMP_BATCH][ICMP_RECV_SIZE];
    static union {
        struct cmsghdr align;
        uint8_t b[CMSG_SPACE(sizeof(struct timespec)) + 64];
    } ctl[ICMP_BATCH];
    struct sockaddr_storage from[ICMP_BATCH];
    struct iovec iov[ICMP_BATCH];
    struct mmsghdr msgs[ICMP_BATCH];
    size_t matched = 0;
    for (unsigned round = 0; round < max_batches; round++) {
        for (int i = 0; i < ICMP_BATCH; i++) {
            iov[i] = (struct iovec){ .iov_base = bufs[i], .iov_len = sizeof bufs[i] };
            msgs[i].msg_hdr = (struct msghdr){ .msg_name = &from[i],
                                               .msg_namelen = sizeof from[i],
                                               .msg_iov = &iov[i],
                                               .msg_iovlen = 1,
                                               .msg_control = ctl[i].b,
                                               .msg_controllen = sizeof ctl[i].b };
        }
        int n = recvmmsg(fs->fd, msgs, ICMP_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0) break; /* EAGAIN: all read; an error (ICMP error queue) ends this pass too */
        for (int i = 0; i < n; i++) {
            uint16_t ident, seq;
            uint64_t cookie;
            struct icmp_reply r;
            const uint8_t *src = f == ICMP_V4 ? (const uint8_t *)&((struct sockaddr_in *)&from[i])->sin_addr
                                              : (const uint8_t *)&((struct sockaddr_in6 *)&from[i])->sin6_addr;
            if (icmp_parse_reply(bufs[i], msgs[i].msg_len, f, fs->method, &ident, &seq, &cookie) == 0 &&
                (fs->method != ICMP_RAW || ident == s->ident) &&
                icmp_match(s, f, seq, cookie, src, arrival_ns(&msgs[i].msg_hdr), &r)) {
                on_reply(ctx, &r);
                matched++;
            } else {
                s->dropped++;
            }
        }
        if (n < ICMP_BATCH) break;
    }
    return matched;
}

void icmp_rtt_stats(const int64_t *rtt_ns, int n, struct icmp_rtt_stats *s)
{
    s->min_ms = s->avg_ms = s->max_ms = s->jitter_ms = NAN;
    double sum = 0, jsum = 0, prev = NAN;
    int got = 0, pairs = 0;
    for (int i = 0; i < n; i++) {
        if (rtt_ns[i] < 0) continue;
        double ms = (double)rtt_ns[i] / 1e6;
        if (got == 0 || ms < s->min_ms) s->min_ms = ms;
        if (got == 0 || ms > s->max_ms) s->max_ms = ms;
        sum += ms;
        got++;
        if (!isnan(prev)) {
            jsum += fabs(ms - prev);
            pairs++;
        }
        prev = ms;
    }
    if (got) s->avg_ms = sum / got;
    if (pairs) s->jitter_ms = jsum / pairs;
}
