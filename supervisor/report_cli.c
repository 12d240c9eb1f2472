/* supervisor/report_cli.c — `clockwerk report` (docs/report.md): bin/clockwerk's side of it (see report_cli.h). */
#include "supervisor/report_cli.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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
int cli_report(int argc, char **argv)
{
    const char *config = NULL;
    bool help = false;
    for (int i = 2; i < argc; i++) {
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc) config = argv[i + 1];
        else if (!strncmp(argv[i], "--config=", 9)) config = argv[i] + 9;
        help |= !strcmp(argv[i], "-h") || !strcmp(argv[i], "--help");
    }
    struct cw_config *cfg = config && !help ? config_load(config, print_problem, NULL) : NULL;
    if (!cfg && !help) {
        if (!config) fprintf(stderr, "clockwerk report: no configuration file given (-c FILE)\n");
        return 2;
    }
    config_free(cfg);
    char bin[PATH_MAX];
    if (self_bin_dir(bin, sizeof bin) != 0 || strlen(bin) + 20 > sizeof bin) {
        fprintf(stderr, "clockwerk: cannot find our own binary (/proc/self/exe)\n");
        return 1;
    }
    strcat(bin, "/clockwerk-report");
    argv[1] = bin;
    execv(bin, argv + 1);
    fprintf(stderr, "clockwerk: cannot run %s: %s\n", bin, strerror(errno));
    return 1;
}
