/* supervisor/reportcmd.c — `clockwerk report` (docs/report.md): bin/clockwerk's side of it (see reportcmd.h). */
#include "supervisor/reportcmd.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/config/config.h"
#include "supervisor/self.h"

/* config_load's problems, one line each on stderr. */
static void print_problem(void *ctx, const char *message)
{
    (void)ctx;
    fprintf(stderr, "%s\n", message);
}

/* `clockwerk report ...`: validates the configuration, then becomes clockwerk-report (report/, next to our
 * binary), which reads the database; we link no database library and do no data work. */
int reportcmd_run(int argc, char **argv)
{
    const char *config = NULL;
    bool help = false;
    for (int i = 2; i < argc; i++) {
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc) config = argv[i + 1];
        else if (!strncmp(argv[i], "--config=", 9)) config = argv[i] + 9;
        help |= !strcmp(argv[i], "-h") || !strcmp(argv[i], "--help");
    }
    FILE *probe = config && !help ? fopen(config, "r") : NULL; /* unreadable: one line, not FILE:0 */
    if (config && !help && !probe) {
        fprintf(stderr, "clockwerk report: cannot read %s: %s\n", config, strerror(errno));
        return 2;
    }
    if (probe) fclose(probe);
    struct cw_config *cfg = config && !help ? config_load(config, print_problem, NULL) : NULL;
    if (!cfg && !help) {
        if (!config) fprintf(stderr, "clockwerk report: no configuration file given (-c FILE)\n");
        return 2;
    }
    config_free(cfg);
    argv[1] = "clockwerk-report";
    self_exec_sibling("clockwerk report", "clockwerk-report", argv + 1);
    return 1;
}
