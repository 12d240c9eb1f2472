/* supervisor/signals.h — signal plumbing for the supervisor: which signals it handles, how it waits for
 * them, and what a freshly forked child resets before exec.
 *
 * DESIGN
 * The handler itself lives in supervisor/main.c and only sets flags. The handled signals stay blocked all
 * the time except inside sig_wait(), which unblocks them atomically while it sleeps (ppoll with a signal
 * mask, the timed form of nginx's sigsuspend): a signal can never slip in between checking the flags and
 * going to sleep, and no work is ever done in a handler. */
#ifndef CW_SUPERVISOR_SIGNALS_H
#define CW_SUPERVISOR_SIGNALS_H

#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdint.h>

/* Installs handler for SIGCHLD, SIGTERM, SIGINT and SIGHUP, ignores SIGPIPE, and blocks the handled
 * signals. *wait_mask receives the mask to sleep with (the old mask without the handled signals).
 * 0, or -1 with errno set. */
int sig_setup(void (*handler)(int), sigset_t *wait_mask);

/* Sleeps until a handled signal arrives, one of fds is ready, or timeout_ns passes (-1: no timeout).
 * Returns ppoll's result (-1 with EINTR when a signal arrived). */
int sig_wait(struct pollfd *fds, nfds_t nfds, int64_t timeout_ns, const sigset_t *wait_mask);

/* Whether sig is pending for this process or thread (blocked, not yet delivered). */
bool sig_pending(int sig);

/* In a forked child, before exec: default dispositions for what the supervisor handled or ignored,
 * SIGINT ignored (the supervisor orders shutdowns), every signal unblocked. Async-signal-safe. */
void sig_reset_for_child(void);

#endif
