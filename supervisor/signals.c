/* supervisor/signals.c — see signals.h. */
#include "supervisor/signals.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

static const int handled[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };
#define N_HANDLED (sizeof handled / sizeof handled[0])

int sig_setup(void (*handler)(int), sigset_t *wait_mask)
{
    sigset_t block, old;
    if (sigemptyset(&block) != 0) return -1;
    for (size_t i = 0; i < N_HANDLED; i++)
        if (sigaddset(&block, handled[i]) != 0) return -1;
    if (sigprocmask(SIG_BLOCK, &block, &old) != 0) return -1;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART; /* SIGCHLD also for stopped children is harmless: waitpid tells */
    if (sigfillset(&sa.sa_mask) != 0) return -1;
    for (size_t i = 0; i < N_HANDLED; i++)
        if (sigaction(handled[i], &sa, NULL) != 0) return -1;

    struct sigaction ign;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    if (sigemptyset(&ign.sa_mask) != 0 || sigaction(SIGPIPE, &ign, NULL) != 0) return -1;

    *wait_mask = old;
    for (size_t i = 0; i < N_HANDLED; i++)
        if (sigdelset(wait_mask, handled[i]) != 0) return -1;
    return 0;
}

int sig_wait(struct pollfd *fds, nfds_t nfds, int64_t timeout_ns, const sigset_t *wait_mask)
{
    struct timespec ts, *tsp = NULL;
    if (timeout_ns >= 0) {
        ts.tv_sec = (time_t)(timeout_ns / 1000000000);
        ts.tv_nsec = (long)(timeout_ns % 1000000000);
        tsp = &ts;
    }
    return ppoll(fds, nfds, tsp, wait_mask);
}

void sig_reset_for_child(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_DFL;
    for (size_t i = 0; i < N_HANDLED; i++)
        sigaction(handled[i], &sa, NULL);
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGINT, &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}
