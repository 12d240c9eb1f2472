/* supervisor/cli.c — bin/clockwerk's options and its modes that do not run the supervisor (see cli.h). */
#include "supervisor/cli.h"

#include "common/bus/bus_keys.h"
#include "common/config/config.h"
#include "common/base/log.h"
#include "common/base/log_target.h"
#include "common/base/util.h"

#include "supervisor/icmp_fds.h"
#include "supervisor/privs.h"
#include "supervisor/self.h"
#include "supervisor/silencecmd.h"
#include "supervisor/reportcmd.h"
#include "supervisor/statuscmd.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The usage: clockwerk(8) documents the same options and commands (tests/e2e/test_manpages.py compares them). */
static void usage(FILE *out)
{
    fprintf(out,
            "usage: clockwerk [-t] -c FILE\n"
            "       clockwerk -c FILE --test-alert\n"
            "       clockwerk -c FILE --list-endpoints\n"
            "       clockwerk keygen FILE\n"
            "       clockwerk report|status|silence|ack ...   (each with its own --help)\n"
            "       clockwerk -V | -h\n"
            "Runs the Clockwerk supervisor in the foreground: it checks FILE, starts the processes that check,\n"
            "store and alert, and keeps them running. A file with bus.central_address is a probe host's: it takes\n"
            "its endpoints from that central host (docs/config.md \"Locations\").\n"
            "  -c, --config FILE     the configuration file (clockwerk.conf(5))\n"
            "  -t, --test            check the configuration and exit (0: valid, 1: invalid)\n"
            "      --test-alert      send a test message on every alert channel, report each, and exit\n"
            "                        (0: every channel worked)\n"
            "      --list-endpoints  print each endpoint's name (an unnamed one: its URL, unless it holds a\n"
            "                        password), one a line, and exit (for the shell's completion)\n"
            "  -V, --version         print the version and exit\n"
            "  -h, --help            print this help and exit\n"
            "commands:\n"
            "  report    uptime, downtime, incidents and latency per endpoint over a window (clockwerk-report(1))\n"
            "  status    what is down or slow now; exit 0 when everything is up (clockwerk-status(1))\n"
            "  silence   add, list or remove silences: no alert is sent for what they cover (clockwerk-silence(1))\n"
            "  ack       acknowledge an incident: no more reminders or escalations (clockwerk-silence(1))\n"
            "  keygen    write a new CURVE key pair for the bus into FILE (mode 0600), print its public key\n"
            "signals: HUP reloads the configuration, TERM or INT stops everything in order (clockwerk(8)).\n");
}

/* config_load reporter for the modes that run on a terminal: plain lines on stderr. */
static void report_plain(void *ctx, const char *message)
{
    (void)ctx;
    fprintf(stderr, "%s\n", message);
}

/* Runs the alerter binary next to ours in --test-alert mode on the snapshot snap. Returns its exit code. */
static int exec_test_alerter(const char *snap)
{
    pid_t pid = fork();
    if (pid == 0) {
        char *args[] = { "clockwerk: test-alert", "--test-alert", (char *)snap, NULL };
        if (setenv("CLOCKWERK_SNAPSHOT", snap, 1) == 0 && setenv("CLOCKWERK_SECRETS", "smtp", 1) == 0)
            self_exec_sibling("clockwerk", "clockwerk-alerter", args);
        else fprintf(stderr, "clockwerk: setenv: %s\n", strerror(errno));
        _exit(1);
    }
    int st = 0, rc = 1;
    if (pid < 0) fprintf(stderr, "clockwerk: fork: %s\n", strerror(errno));
    else if (waitpid(pid, &st, 0) == pid) rc = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
    return rc;
}

/* --test-alert: the alerter's own mode (clockwerk-alerter --test-alert, docs/alerts.md) on a snapshot of the
 * file, written to a private temporary directory (it may hold the SMTP password) and removed afterwards.
 * Returns the alerter's exit code: 0 when every channel worked. */
static int run_test_alert(const char *config_arg)
{
    struct cw_config *cfg = config_load(config_arg, report_plain, NULL);
    if (!cfg) return 1;
    char dir[] = "/tmp/clockwerk-test-alert-XXXXXX", snap[PATH_MAX], err[512];
    int rc = 1;
    if (!mkdtemp(dir)) {
        fprintf(stderr, "clockwerk: cannot create a temporary directory: %s\n", strerror(errno));
        config_free(cfg);
        return 1;
    }
    snprintf(snap, sizeof snap, "%s/config.snap", dir);
    if (config_snapshot_write(cfg, snap, err, sizeof err) != 0) fprintf(stderr, "clockwerk: %s\n", err);
    else rc = exec_test_alerter(snap);
    unlink(snap);
    rmdir(dir);
    config_free(cfg);
    return rc;
}

/* config_load's warnings on a terminal: the file is valid, but probably not what was meant. */
static void report_warning(void *ctx, const char *message)
{
    (void)ctx;
    fprintf(stderr, "warning: %s\n", message);
}

/* -t on a central host with probe hosts (issue 16): its locations and where they fetch their configuration. */
static void print_locations(const struct cw_config *cfg)
{
    const char *names[CW_LOCATIONS_MAX];
    size_t n = config_location_names(cfg, names, CW_LOCATIONS_MAX);
    printf("locations:");
    for (size_t i = 0; i < n && i < CW_LOCATIONS_MAX; i++) printf("%s %s", i ? "," : "", names[i]);
    printf("%s; probe hosts fetch their endpoints from %s\n", cfg->workers == 0 ? " (no workers here)" : "",
           cfg->config_address);
}

/* -t: a run_dir the start could not create or write into. A warning only: -t may run as root for a file that the
 * service's user runs, or as another user; what is checked is what the invoking user can do. */
static void warn_run_dir(const char *run_dir)
{
    struct stat st;
    if (stat(run_dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) fprintf(stderr, "warning: supervisor.run_dir %s: is not a directory\n", run_dir);
        else if (access(run_dir, W_OK | X_OK) != 0)
            fprintf(stderr, "warning: supervisor.run_dir %s: is not writable by uid %u: %s\n", run_dir,
                    (unsigned)getuid(), strerror(errno));
        return;
    }
    char parent[PATH_MAX]; /* the nearest directory that exists: where the start creates what is missing */
    snprintf(parent, sizeof parent, "%s", run_dir);
    for (;;) {
        char *slash = strrchr(parent, '/');
        if (!slash) return;
        if (slash == parent) slash[1] = '\0';
        else *slash = '\0';
        if (stat(parent, &st) == 0) break;
        if (slash == parent) return;
    }
    if (access(parent, W_OK | X_OK) != 0)
        fprintf(stderr, "warning: supervisor.run_dir %s: cannot create it in %s as uid %u: %s\n", run_dir, parent,
                (unsigned)getuid(), strerror(errno));
}

/* -t: a log_target whose socket is not there (or that nobody reads): the processes would log to stderr. */
static void warn_log_target(int target)
{
    char why[256];
    if (target == LOG_TARGET_STDERR) return;
    if (log_target_open((enum log_target)target, why, sizeof why) != 0)
        fprintf(stderr, "warning: supervisor.log_target %s: %s; the processes would log to stderr instead\n",
                log_target_name((enum log_target)target), why);
    else log_target_close((enum log_target)target);
}

/* -t: loads and validates the file, checks the user, the key file and that icmp checks can work. 0 when valid,
 * else 1. */
static int run_check(const char *config_arg)
{
    struct config_load_options o = { .report = report_plain, .warn = report_warning };
    struct cw_config *cfg = config_load_with(config_arg, &o);
    if (!cfg) return 1;
    struct privs privs;
    char perr[600];
    if (privs_resolve(cfg->user, getuid(), &privs, perr, sizeof perr) != 0 ||
        privs_check_readable(&privs, cfg->curve_key_file, "bus.curve_key_file", perr, sizeof perr) != 0) {
        fprintf(stderr, "%s: %s\n", cfg->path, perr);
        config_free(cfg);
        return 1;
    }
    warn_run_dir(cfg->run_dir);
    warn_log_target(cfg->log_target);
    /* icmp checks that cannot work make the file unusable here: an error, and no "config OK" */
    char icmp[700];
    int icmp_rc = icmp_fds_report(cfg, &privs, icmp, sizeof icmp);
    if (icmp_rc < 0) fprintf(stderr, "%s: %s\n", cfg->path, icmp);
    else if (config_is_probe_host(cfg)) /* issue 16: nothing to count here */
        printf("config OK: probe host %s of %s: endpoints come from the central host; %d worker%s\n", cfg->location,
               cfg->central_address, cfg->workers, cw_plural(cfg->workers));
    else
        printf("config OK: %zu endpoint%s, %d worker%s\n%s%s", cfg->n_endpoints, cw_plural(cfg->n_endpoints),
               cfg->workers, cw_plural(cfg->workers), icmp_rc > 0 ? icmp : "", icmp_rc > 0 ? "\n" : "");
    if (icmp_rc >= 0 && cfg->n_locations > 0) print_locations(cfg);
    config_free(cfg);
    return icmp_rc < 0 ? 1 : 0;
}

/* `clockwerk keygen FILE`: a new CURVE key pair for bus.curve_key_file (docs/protocol.md "Security"). */
static int run_keygen(int argc, char **argv)
{
    static const char keygen_usage[] =
        "usage: clockwerk keygen FILE\n"
        "Writes a new CURVE key pair for the bus into FILE (mode 0600; an existing FILE is not replaced) and\n"
        "prints its public key: bus.curve_server_key for the hosts that connect to this one, bus.curve_allowed_keys\n"
        "or a locations entry's key on the host this one connects to (docs/protocol.md \"Security\").\n";
    if (argc == 3 && (!strcmp(argv[2], "-h") || !strcmp(argv[2], "--help"))) {
        fputs(keygen_usage, stdout);
        return 0;
    }
    if (argc != 3 || argv[2][0] == '-') {
        fputs(keygen_usage, stderr);
        return 1;
    }
    char pub[BUS_KEY_Z85_LEN + 1], err[4400];
    if (bus_keygen(argv[2], pub, err, sizeof err) != 0) {
        fprintf(stderr, "clockwerk keygen: %s\n", err);
        return 1;
    }
    printf("%s\n", pub);
    fprintf(stderr,
            "wrote %s (mode 0600); its public key is above: bus.curve_server_key for the hosts that connect "
            "to this one, bus.curve_allowed_keys on a host this one connects to (for a probe host: the `key` of its "
            "entry in the central host's `locations`)\n",
            argv[2]);
    return 0;
}

/* --list-endpoints: what `clockwerk report --endpoint` and `silence add` take, for the shell's completion
 * (etc/bash-completion/clockwerk): each endpoint's name, or the URL of one without a name unless the URL carries
 * credentials (never printed). A probe host's file lists none (its endpoints come from the central host). 0, or 1
 * when the file is invalid (its problems on stderr). */
static int run_list_endpoints(const char *config_arg)
{
    struct cw_config *cfg = config_load(config_arg, report_plain, NULL);
    if (!cfg) return 1;
    for (size_t i = 0; i < cfg->n_endpoints; i++) {
        const struct cw_endpoint *ep = &cfg->endpoints[i];
        char masked[4096];
        cw_mask_url(ep->url, masked, sizeof masked);
        if (ep->name) printf("%s\n", ep->name);
        else if (strcmp(masked, ep->url) == 0) printf("%s\n", ep->url);
    }
    config_free(cfg);
    return fflush(stdout) == 0 ? 0 : 1;
}

static bool is_subcommand(const char *arg)
{
    return !strcmp(arg, "report") || !strcmp(arg, "status") || !strcmp(arg, "silence") || !strcmp(arg, "ack");
}

/* The index of the subcommand (report, status, silence, ack) after any -c F, --config F, --config=F; 0: none. */
static int subcommand_at(int argc, char **argv)
{
    int i = 1;
    while (i < argc) {
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc) i += 2;
        else if (!strncmp(argv[i], "--config=", 9)) i++;
        else break;
    }
    return i < argc && is_subcommand(argv[i]) ? i : 0;
}

/* Runs the subcommand at argv[at] with one argument order for all of them: the command first, then every other
 * argument in its order, --config=F spelled -c F (so -c/--config/--config=F work before and after the command). */
static int run_subcommand(int argc, char **argv, int at)
{
    char **args = cw_xcalloc((size_t)argc * 2 + 1, sizeof *args);
    int n = 0;
    args[n++] = argv[0];
    args[n++] = argv[at];
    for (int i = 1; i < argc; i++) {
        if (i == at) continue;
        if (!strncmp(argv[i], "--config=", 9)) {
            args[n++] = "-c";
            args[n++] = argv[i] + 9;
        } else args[n++] = argv[i];
    }
    int rc = !strcmp(args[1], "report")   ? reportcmd_run(n, args)
             : !strcmp(args[1], "status") ? statuscmd_run(n, args)
                                          : silencecmd_run(n, args);
    free(args);
    return rc;
}

int cli_run(int argc, char **argv, const char **config_arg)
{
    if (argc >= 2 && strcmp(argv[1], "keygen") == 0) return run_keygen(argc, argv);
    int sub = subcommand_at(argc, argv);
    if (sub) return run_subcommand(argc, argv, sub);
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "test", no_argument, NULL, 't' },
        { "test-alert", no_argument, NULL, 'A' },
        { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { "list-endpoints", no_argument, NULL, 'L' },
        { NULL, 0, NULL, 0 },
    };
    bool test_only = false, test_alert = false, list_endpoints = false;
    int opt;
    *config_arg = NULL;
    while ((opt = getopt_long(argc, argv, "c:tVh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            *config_arg = optarg;
            break;
        case 't':
            test_only = true;
            break;
        case 'A':
            test_alert = true;
            break;
        case 'L':
            list_endpoints = true;
            break;
        case 'V':
            printf("clockwerk %s\n", CW_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "clockwerk: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 1;
    }
    if (!*config_arg) {
        fprintf(stderr, "clockwerk: no configuration file given (-c FILE)\n");
        usage(stderr);
        return 1;
    }
    if (list_endpoints && (test_only || test_alert)) {
        fprintf(stderr, "clockwerk: --list-endpoints goes with -c FILE alone\n");
        return 1;
    }
    if (list_endpoints) return run_list_endpoints(*config_arg);
    if (test_alert) return run_test_alert(*config_arg);
    if (test_only) return run_check(*config_arg);
    return -1;
}
