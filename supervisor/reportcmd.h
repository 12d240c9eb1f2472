/* supervisor/reportcmd.h — `clockwerk report`: bin/clockwerk validates the configuration and then executes
 * clockwerk-report (report/, next to its own binary) with the same arguments; it links no database library and
 * does no data work itself (docs/report.md). */
#ifndef CW_SUPERVISOR_REPORTCMD_H
#define CW_SUPERVISOR_REPORTCMD_H

/* argv[1] is "report". Returns only on failure: 2 for a missing or invalid configuration, 1 when the program
 * cannot be executed (each said in one line on stderr). --help skips the validation. */
int reportcmd_run(int argc, char **argv);

#endif
