/* supervisor/self.c — the supervisor's own binary directory and process title (see self.h). */
#include "supervisor/self.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
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

int self_bin_dir(char *out, size_t outlen)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return -1;
    exe[n] = '\0';
    snprintf(out, outlen, "%s", dirname(exe));
    return 0;
}

void self_exec_sibling(const char *who, const char *name, char **args)
{
    char dir[PATH_MAX], bin[PATH_MAX];
    if (self_bin_dir(dir, sizeof dir) != 0) {
        fprintf(stderr, "%s: cannot find our own binary (/proc/self/exe): %s\n", who, strerror(errno));
        return;
    }
    if (snprintf(bin, sizeof bin, "%s/%s", dir, name) >= (int)sizeof bin) {
        fprintf(stderr, "%s: the path of %s in %s is too long\n", who, name, dir);
        return;
    }
    execv(bin, args);
    fprintf(stderr, "%s: cannot run %s: %s\n", who, bin, strerror(errno));
}
