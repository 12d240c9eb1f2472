/* supervisor/self.c — where the programs the supervisor starts live, and its process title (see self.h). */
#include "supervisor/self.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

void self_set_title(int argc, char **argv, const char *title)
{
    if (prctl(PR_SET_NAME, "clockwerk", 0, 0, 0) != 0) { /* the comm name is cosmetic */
    }
    if (argc < 1 || !argv[0]) return;
    char *start = argv[0];
    char *end = argv[0] + strlen(argv[0]) + 1;
    for (int i = 1; i < argc; i++) {
        if (argv[i] != end) break; /* not contiguous: stop at what is */
        end = argv[i] + strlen(argv[i]) + 1;
    }
    size_t room = (size_t)(end - start);
    memset(start, 0, room);
    snprintf(start, room, "%s", title);
}

int self_programs_dir_for(const char *bin_dir, char *out, size_t outlen)
{
    char libexec[PATH_MAX], worker[PATH_MAX], canonical[PATH_MAX];
    const char *dir = bin_dir;
    struct stat st;
    if (snprintf(libexec, sizeof libexec, "%s/../libexec/clockwerk", bin_dir) < (int)sizeof libexec &&
        snprintf(worker, sizeof worker, "%s/clockwerk-worker", libexec) < (int)sizeof worker &&
        stat(worker, &st) == 0 && S_ISREG(st.st_mode) && access(worker, X_OK) == 0 && realpath(libexec, canonical))
        dir = canonical; /* an installed tree */
    if (snprintf(out, outlen, "%s", dir) >= (int)outlen) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

int self_programs_dir(char *out, size_t outlen)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return -1;
    exe[n] = '\0';
    return self_programs_dir_for(dirname(exe), out, outlen);
}

void self_exec_sibling(const char *who, const char *name, char **args)
{
    char dir[PATH_MAX], bin[PATH_MAX];
    if (self_programs_dir(dir, sizeof dir) != 0) {
        fprintf(stderr, "%s: cannot find the directory of our programs (from /proc/self/exe): %s\n", who,
                strerror(errno));
        return;
    }
    if (snprintf(bin, sizeof bin, "%s/%s", dir, name) >= (int)sizeof bin) {
        fprintf(stderr, "%s: the path of %s in %s is too long\n", who, name, dir);
        return;
    }
    execv(bin, args);
    fprintf(stderr, "%s: cannot run %s: %s\n", who, bin, strerror(errno));
}
