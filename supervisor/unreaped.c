/* supervisor/unreaped.c — what the kernel says of a child the ordered stop could not reap (see children.h,
 * children_log_unreaped): each of its threads with its state and, for a thread in uninterruptible sleep, where it
 * waits. A zombie whose other threads are still stuck (state D) cannot be reaped and sends no SIGCHLD yet; this
 * line says which it was. Read from /proc by hand: no library reads a task's threads' states. */
#include "supervisor/children.h"

#include "common/base/log.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads a small /proc file into buf (NUL-terminated); "" when unreadable. */
static void read_small(const char *path, char *buf, size_t len)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f) return;
    size_t n = fread(buf, 1, len - 1, f);
    fclose(f);
    buf[n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
}

/* The state letter of a stat line (the field after the parenthesised command name), '?' when unreadable. */
static char stat_state(const char *stat_line)
{
    const char *paren = strrchr(stat_line, ')');
    return paren && paren[1] == ' ' && paren[2] ? paren[2] : '?';
}

/* "TID STATE[ (WCHAN)], ..." for every thread of pid into out. */
static void describe_threads(pid_t pid, char *out, size_t outlen)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/task", (int)pid);
    out[0] = '\0';
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(out, outlen, "no /proc entry (%s)", strerror(errno));
        return;
    }
    size_t used = 0;
    struct dirent *e;
    while ((e = readdir(d)) && used + 64 < outlen) {
        if (e->d_name[0] == '.') continue;
        char path[384], stat_line[512], wchan[64];
        snprintf(path, sizeof path, "%s/%s/stat", dir, e->d_name);
        read_small(path, stat_line, sizeof stat_line);
        snprintf(path, sizeof path, "%s/%s/wchan", dir, e->d_name);
        read_small(path, wchan, sizeof wchan);
        bool waits = wchan[0] && strcmp(wchan, "0") != 0; /* "0": running, or no wait channel to name */
        int n = snprintf(out + used, outlen - used, "%s%s %c%s%s%s", used ? ", " : "", e->d_name, stat_state(stat_line),
                         waits ? " (" : "", waits ? wchan : "", waits ? ")" : "");
        if (n < 0 || (size_t)n >= outlen - used) break;
        used += (size_t)n;
    }
    closedir(d);
}

void children_log_unreaped(const struct children *ch)
{
    for (size_t i = 0; i < ch->n; i++) {
        const struct child *c = &ch->v[i];
        if (c->pid <= 0) continue;
        if (kill(c->pid, 0) != 0 && errno == ESRCH) {
            log_error("not reaped: %s (pid %d): no such process (reaped elsewhere?)", c->name, (int)c->pid);
            continue;
        }
        char threads[1024];
        describe_threads(c->pid, threads, sizeof threads);
        log_error("not reaped: %s (pid %d): threads %s", c->name, (int)c->pid, threads);
    }
}
