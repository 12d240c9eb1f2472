/* supervisor/statuscmd.c — `clockwerk status`: hands over to `clockwerk-alerter --status` (see statuscmd.h). */
#include "supervisor/statuscmd.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/base/util.h"
#include "supervisor/self.h"

#define STATUS_CANNOT_TELL 2 /* alerter/statusfmt.h's STATUS_EXIT_CANNOT_TELL */

int statuscmd_run(int argc, char **argv)
{
    char bin[PATH_MAX];
    if (self_bin_dir(bin, sizeof bin) != 0 || strlen(bin) + sizeof "/clockwerk-alerter" > sizeof bin) {
        fprintf(stderr, "clockwerk status: cannot find our own binary (/proc/self/exe)\n");
        return STATUS_CANNOT_TELL;
    }
    strcat(bin, "/clockwerk-alerter");
    char **args = cw_xcalloc((size_t)argc + 2, sizeof *args);
    args[0] = "clockwerk: status";
    args[1] = "--status";
    for (int i = 2; i < argc; i++) args[i] = argv[i];
    execv(bin, args);
    fprintf(stderr, "clockwerk status: cannot run %s: %s\n", bin, strerror(errno));
    free(args);
    return STATUS_CANNOT_TELL;
}
