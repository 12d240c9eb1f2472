/* supervisor/cli.h — bin/clockwerk's command line: the options, and the modes that do their job and exit
 * without starting the supervisor (-t, --test-alert, keygen, --version, --help). */
#ifndef CW_SUPERVISOR_CLI_H
#define CW_SUPERVISOR_CLI_H

/* Parses the command line and runs any mode that exits at once. Returns the exit code when the process
 * should exit now, or -1 when the supervisor should run with the configuration file *config_arg. */
int cli_run(int argc, char **argv, const char **config_arg);

#endif
