/* supervisor/signals.c — the supervisor's signal plumbing (see signals.h): handlers that set flags, a ppoll
 * that unblocks them while it sleeps, and the reset a forked child does before exec.
 *
 * WHY NOT THE CHILDREN'S SIGNALFD (common/proc/proc.h)
 * Every child takes its signals as events on one signalfd; the supervisor alone does not, and the reason is
 * not that a signalfd could not carry its signals. It could: SIGCHLD would come through one like SIGTERM,
 * and the signalfd itself would not reach the children (it is close-on-exec, and exec_child closes every
 * descriptor above 2 anyway). What a child does inherit is the same in both designs: fork copies the
 * blocked mask and execve keeps it (and keeps SIG_IGN), so whichever way the supervisor waits, a child must
 * unblock SIGCHLD/SIGTERM/SIGINT/SIGHUP and restore SIGPIPE between fork and exec — sig_reset_for_child,
 * which has to name exactly what the supervisor changed, and so lives next to the code that changed it.
 * The supervisor keeps its own plumbing because its signals are not a child's:
 *  - SIGCHLD is its main event (reap, then restart with backoff); proc_signals_open has no SIGCHLD;
 *  - SIGINT is an order to stop in order (Ctrl-C at a supervisor in the foreground), where a child ignores
 *    it (it reaches the whole process group; the supervisor then stops the children one kind at a time);
 *  - it is not started from a snapshot (it writes them), so nothing else of proc_init applies.
 * Moving it to a signalfd would change how it sleeps (one more pollfd instead of ppoll's mask), not the
 * reset before exec, and would add a variant of proc_signals_open for one user. */
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
    int rc = ppoll(fds, nfds, tsp, wait_mask);
    /* 514 is the kernel's ERESTARTNOHAND, which is not meant to reach a program but does when a debugger attaches
     * during the call (seen with gdb -p): an interrupted wait like EINTR, not a reason to stop monitoring. */
    if (rc < 0 && errno == 514) errno = EINTR;
    return rc;
}

bool sig_pending(int sig)
{
    sigset_t pending;
    return sigemptyset(&pending) == 0 && sigpending(&pending) == 0 && sigismember(&pending, sig) == 1;
}

void sig_reset_for_child(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_DFL;
    for (size_t i = 0; i < N_HANDLED; i++) sigaction(handled[i], &sa, NULL);
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGINT, &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}
