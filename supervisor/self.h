/* supervisor/self.h — the supervisor's own process: where the programs it starts live (beside its binary, or in
 * the libexec directory of an installed tree) and how it shows in ps. */
#ifndef CW_SUPERVISOR_SELF_H
#define CW_SUPERVISOR_SELF_H

#include <stddef.h>

/* The directory of the programs clockwerk starts (its children, clockwerk-report, the alerter of --test-alert)
 * when the running binary sits in bin_dir: bin_dir/../libexec/clockwerk (made canonical) when an executable
 * clockwerk-worker is there — an installed tree, docs/install.md —, else bin_dir itself: the build tree's bin/,
 * every program side by side. PATH is never searched. 0, or -1 when the path does not fit in outlen. */
int self_programs_dir_for(const char *bin_dir, char *out, size_t outlen);

/* self_programs_dir_for the directory of our own binary (from /proc/self/exe). 0, or -1 with errno set. */
int self_programs_dir(char *out, size_t outlen);

/* Becomes the program `name` of self_programs_dir (execv with args, args[0] its title): the subcommands that
 * do data work (report, status, --test-alert) run there, so bin/clockwerk links no database or alerter code.
 * Returns only when that failed, after one line on stderr that starts with `who`. */
void self_exec_sibling(const char *who, const char *name, char **args);

/* Rewrites our command line as shown by ps to `title` (overwriting the argv strings, which we copied). */
void self_set_title(int argc, char **argv, const char *title);

#endif
