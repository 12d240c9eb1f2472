/* supervisor/statuscmd.c — `clockwerk status`: hands over to `clockwerk-alerter --status` (see statuscmd.h). */
#include "supervisor/statuscmd.h"

#include <stdlib.h>

#include "common/base/util.h"
#include "supervisor/self.h"

int statuscmd_run(int argc, char **argv)
{
    char **args = cw_xcalloc((size_t)argc + 2, sizeof *args);
    args[0] = "clockwerk: status";
    args[1] = "--status";
    for (int i = 2; i < argc; i++) args[i] = argv[i];
    self_exec_sibling("clockwerk status", "clockwerk-alerter", args);
    free(args);
    return 1; /* not "all up": alerter/statusfmt.h's STATUS_EXIT_CANNOT_TELL */
}
