/* supervisor/self.h — the supervisor's own process: where its binary lives (the children are its siblings)
 * and how it shows in ps. */
#ifndef CW_SUPERVISOR_SELF_H
#define CW_SUPERVISOR_SELF_H

#include <stddef.h>

/* The directory holding our own binary (from /proc/self/exe). 0, or -1 with errno set. */
int self_bin_dir(char *out, size_t outlen);

/* Becomes the program `name` next to our own binary (execv with args, args[0] its title): the subcommands that
 * do data work (report, status, --test-alert) run there, so bin/clockwerk links no database or alerter code.
 * Returns only when that failed, after one line on stderr that starts with `who`. */
void self_exec_sibling(const char *who, const char *name, char **args);

/* Rewrites our command line as shown by ps to `title` (overwriting the argv strings, which we copied). */
void self_set_title(int argc, char **argv, const char *title);

#endif
