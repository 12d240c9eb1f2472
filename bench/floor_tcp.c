/* bench/floor_tcp.c — the reference the tcp checks are measured against (as bench/floor.c is for HTTP): the
 * smallest non-blocking connect loop that does what a tcp check must — K connects in flight on an epoll set,
 * the result read with SO_ERROR, the socket closed with a reset (SO_LINGER 0, no TIME_WAIT) — with nothing
 * else. Its CPU per connect is the floor no C prober can go far below.
 *
 *   floor_tcp HOST PORTS [--inflight K] [--checks N] [--seconds S]
 * HOST: an IPv4 or IPv6 address; PORTS: a port, or @FILE with one port a line (the connects go round them, as the
 * worker's checks of one endpoint per port do: bench/tcp_bench.py).
 * Prints one line: `floor_tcp checks=N seconds=S cpu_user=U cpu_sys=S checks_per_s=R cpu_us_per_check=C errors=E`.
 * Bounded in count and time: it stops after N connects or S seconds, whichever first. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double tv_s(struct timeval tv) { return (double)tv.tv_sec + (double)tv.tv_usec / 1e6; }

#define MAX_PORTS 65536

/* Reads PORTS (a number, or @FILE of numbers) into ports; returns how many, 0 when none is valid. */
static size_t read_ports(const char *arg, uint16_t *ports)
{
    if (arg[0] != '@') {
        int p = atoi(arg);
        if (p <= 0 || p > 65535) return 0;
        ports[0] = (uint16_t)p;
        return 1;
    }
    FILE *f = fopen(arg + 1, "r");
    if (!f) return 0;
    size_t n = 0;
    int p;
    while (n < MAX_PORTS && fscanf(f, "%d", &p) == 1)
        if (p > 0 && p <= 65535) ports[n++] = (uint16_t)p;
    fclose(f);
    return n;
}

static void set_port(struct sockaddr_storage *sa, uint16_t port)
{
    if (sa->ss_family == AF_INET6) ((struct sockaddr_in6 *)sa)->sin6_port = htons(port);
    else ((struct sockaddr_in *)sa)->sin_port = htons(port);
}

/* Starts one connect; returns 1 when in flight, 0 when it finished at once (ok or not: *failed). */
static int start_one(int ep, const struct sockaddr_storage *sa, socklen_t len, int *failed)
{
    int fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *failed = 1;
        return 0;
    }
    struct linger l = { .l_onoff = 1, .l_linger = 0 };
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    if (connect(fd, (const struct sockaddr *)sa, len) == 0) {
        close(fd);
        *failed = 0;
        return 0;
    }
    struct epoll_event ev = { .events = EPOLLOUT, .data.fd = fd };
    if (errno != EINPROGRESS || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        close(fd);
        *failed = 1;
        return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: floor_tcp HOST PORT [--inflight K] [--checks N] [--seconds S]\n");
        return 2;
    }
    struct sockaddr_storage sa = { 0 };
    socklen_t len;
    static uint16_t ports[MAX_PORTS];
    size_t n_ports = read_ports(argv[2], ports), next_port = 0;
    if (!n_ports) {
        fprintf(stderr, "floor_tcp: no port in %s\n", argv[2]);
        return 2;
    }
    struct sockaddr_in *in = (struct sockaddr_in *)&sa;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&sa;
    if (inet_pton(AF_INET, argv[1], &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        len = sizeof *in;
    } else if (inet_pton(AF_INET6, argv[1], &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        len = sizeof *in6;
    } else {
        fprintf(stderr, "floor_tcp: %s is not an IP address\n", argv[1]);
        return 2;
    }
    long inflight = 32, checks = 100000;
    double seconds = 10;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--inflight") == 0) inflight = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--checks") == 0) checks = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--seconds") == 0) seconds = atof(argv[i + 1]);
        else {
            fprintf(stderr, "floor_tcp: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (inflight < 1 || inflight > 4096 || checks < 1 || seconds <= 0) {
        fprintf(stderr, "floor_tcp: bad numbers\n");
        return 2;
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) return 1;
    long started = 0, done = 0, errors = 0, running = 0;
    double t0 = now_s(), deadline = t0 + seconds;
    struct epoll_event evs[256];
    for (;;) {
        while (running < inflight && started < checks && now_s() < deadline) {
            int failed = 0;
            started++;
            set_port(&sa, ports[next_port]);
            next_port = (next_port + 1) % n_ports;
            if (start_one(ep, &sa, len, &failed)) {
                running++;
            } else {
                done++;
                errors += failed;
            }
        }
        if (running == 0) break;
        int n = epoll_wait(ep, evs, 256, 1000);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd, err = 0;
            socklen_t elen = sizeof err;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0) errors++;
            close(fd); /* a reset: SO_LINGER 0; the close takes it out of the epoll set */
            running--;
            done++;
        }
    }
    double elapsed = now_s() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double user = tv_s(ru.ru_utime), sys = tv_s(ru.ru_stime);
    printf("floor_tcp checks=%ld seconds=%.3f cpu_user=%.3f cpu_sys=%.3f checks_per_s=%.0f cpu_us_per_check=%.1f "
           "errors=%ld\n",
           done, elapsed, user, sys, (double)done / elapsed, (user + sys) * 1e6 / (double)(done ? done : 1), errors);
    close(ep);
    return errors == done ? 1 : 0;
}
