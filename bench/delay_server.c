/* bench/delay_server.c — an HTTP target that answers every request `200 ok` after a fixed delay, for
 * measuring how exactly a prober records latency. One thread, epoll; because the delay is the same for
 * every request, replies fall due in arrival order, so a FIFO queue is the whole timer.
 *
 *   delay_server PORT DELAY_MS [--seconds S]
 * Listens on 127.0.0.1 only; prints `ready` once listening; stops by itself after S seconds (default 600)
 * or on SIGTERM (SIGINT, SIGHUP), then prints `served N`. Signals arrive as events on a signalfd
 * (proc_signals_open, common/proc/proc.h) that the epoll loop waits on with the sockets. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/proc/proc.h"

#define MAX_CONN 65536

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct pending {
    int fd;
    long long due;
};

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: delay_server PORT DELAY_MS [--seconds S]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    long long delay = atoll(argv[2]);
    double seconds = (argc >= 5 && strcmp(argv[3], "--seconds") == 0) ? atof(argv[4]) : 600;
    int sigfd = proc_signals_open(true); /* SIGTERM, SIGINT, SIGHUP as events; SIGPIPE ignored */
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_port = htons((unsigned short)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(ls, 4096) != 0) {
        perror("delay_server: listen");
        return 1;
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = ls };
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    struct epoll_event sev = { .events = EPOLLIN, .data.fd = sigfd };
    epoll_ctl(ep, EPOLL_CTL_ADD, sigfd, &sev);
    struct pending *queue = calloc(MAX_CONN, sizeof *queue);
    size_t head = 0, tail = 0; /* ring buffer */
    bool stop = false;
    long long served = 0, end = now_ms() + (long long)(seconds * 1000);
    static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    printf("ready\n");
    fflush(stdout);
    while (!stop && now_ms() < end) {
        int timeout = 100;
        if (head != tail) {
            long long wait = queue[head % MAX_CONN].due - now_ms();
            timeout = wait < 0 ? 0 : (int)wait;
        }
        struct epoll_event events[256];
        int n = epoll_wait(ep, events, 256, timeout);
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd == sigfd) {
                if (proc_signals(sigfd)) stop = true;
                continue;
            }
            if (fd == ls) {
                int c;
                while ((c = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    struct epoll_event cev = { .events = EPOLLIN | EPOLLRDHUP, .data.fd = c };
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                }
                continue;
            }
            char buf[4096];
            ssize_t r = read(fd, buf, sizeof buf);
            if (r <= 0) {
                close(fd);
                continue;
            }
            /* A request's headers fit one read on loopback; answer once, after the delay. */
            epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
            if (tail - head >= MAX_CONN) {
                close(fd);
                continue;
            }
            queue[tail % MAX_CONN] = (struct pending){ fd, now_ms() + delay };
            tail++;
        }
        long long t = now_ms();
        while (head != tail && queue[head % MAX_CONN].due <= t) {
            int fd = queue[head % MAX_CONN].fd;
            head++;
            if (write(fd, reply, sizeof reply - 1) > 0) served++;
            close(fd);
        }
    }
    printf("served %lld\n", served);
    return 0;
}
