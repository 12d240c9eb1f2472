/* report/main.c — bin/clockwerk-report, run by `clockwerk report` (supervisor/cli.c): the history of the
 * configured endpoints over a window, from the roll-ups, through the read side of the storer's backends
 * (storer/reader.h). It only reads. Usage and definitions: docs/report.md.
 * Exit codes: 0 printed; 2 a bad argument, configuration or endpoint; 1 the database could not be read. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/clock.h"
#include "common/base/log.h"
#include "common/base/util.h"
#include "common/config/config.h"
#include "common/wire/protocol.h"
#include "report/output.h"
#include "report/report.h"
#include "history/window.h"
#include "storer/reader.h"

#define USAGE                                                                                                     \
    "usage: clockwerk report -c FILE [--since 24h|7d|30d|90d|DATE] [--until now|DATE] [--endpoint NAME-or-URL]\n" \
    "                        [--json|--csv]\n"

struct report_args {
    const char *config, *since, *until, *only;
    enum report_format format;
};

static void report_plain(void *ctx, const char *message)
{
    (void)ctx;
    fprintf(stderr, "%s\n", message);
}

/* 0, 1 (--help printed) or -1 (an error printed). */
static int parse_args(int argc, char **argv, struct report_args *a)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' }, { "since", required_argument, NULL, 's' },
        { "until", required_argument, NULL, 'u' },  { "endpoint", required_argument, NULL, 'e' },
        { "json", no_argument, NULL, 'j' },         { "csv", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 },
    };
    *a = (struct report_args){ .since = "24h", .until = "now", .format = REPORT_TEXT };
    int opt, formats = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            a->config = optarg;
            break;
        case 's':
            a->since = optarg;
            break;
        case 'u':
            a->until = optarg;
            break;
        case 'e':
            a->only = optarg;
            break;
        case 'j':
            a->format = REPORT_JSON;
            formats++;
            break;
        case 'v':
            a->format = REPORT_CSV;
            formats++;
            break;
        case 'h':
            fputs(USAGE, stdout);
            return 1;
        case ':':
            fprintf(stderr, "clockwerk report: %s needs a value\n%s", argv[optind - 1], USAGE);
            return -1;
        default:
            fprintf(stderr, "clockwerk report: unknown option '%s'\n%s", argv[optind - 1], USAGE);
            return -1;
        }
    }
    const char *why = NULL;
    if (optind < argc) fprintf(stderr, "clockwerk report: unexpected argument '%s'\n%s", argv[optind], USAGE), why = "";
    else if (!a->config) why = "no configuration file given (-c FILE)";
    else if (formats > 1) why = "--json and --csv exclude each other";
    if (why && *why) fprintf(stderr, "clockwerk report: %s\n%s", why, USAGE);
    return why ? -1 : 0;
}

/* The window from the arguments; false with the reason printed. */
static bool parse_window(const struct report_args *a, int64_t now, int64_t *since, int64_t *until)
{
    const char *names[2] = { "--since", "--until" }, *values[2] = { a->since, a->until };
    int64_t *out[2] = { since, until };
    for (int i = 0; i < 2; i++) {
        if (win_parse_when(values[i], now, out[i])) continue;
        size_t digits = strspn(values[i], "0123456789");
        if (digits && values[i][digits] && strchr("smhdw", values[i][digits]) && !values[i][digits + 1])
            fprintf(stderr, "clockwerk report: %s '%s': a duration is 1s to 100 years (36600d, 5228w)\n", names[i],
                    values[i]);
        else if (digits == 4 && values[i][4] == '-' && strncmp(values[i], "1970", 4) < 0)
            fprintf(stderr, "clockwerk report: %s '%s': a date is 1970-01-01 or later (UTC)\n", names[i], values[i]);
        else
            fprintf(stderr,
                    "clockwerk report: %s '%s' is neither now, a duration (24h, 7d, 30d, 90d) nor a UTC date "
                    "(2026-11-25, 2026-11-25T04:05:06Z)\n",
                    names[i], values[i]);
        return false;
    }
    if (*since >= *until) {
        fprintf(stderr, "clockwerk report: the window is empty: --since %s is not before --until %s\n", a->since,
                a->until);
        return false;
    }
    return true;
}

static int run(const struct cw_config *cfg, const struct report_args *a, int64_t since, int64_t until, int64_t now)
{
    struct report rep;
    int found = report_init(&rep, cfg, a->only, since, until);
    rep.now_ms = now;
    if (found != 0) {
        char masked[CW_URL_MAX + 1];
        if (a->only) cw_mask_url(a->only, masked, sizeof masked); /* never echo a password back */
        if (a->only)
            fprintf(stderr, "clockwerk report: no endpoint named or with the URL '%s' in %s\n", masked, cfg->path);
        else fprintf(stderr, "clockwerk report: %s configures no endpoint\n", cfg->path);
        report_free(&rep);
        return 2;
    }
    if (!cfg->db_activation) {
        fprintf(stderr, "clockwerk report: storage is off in %s (database.db_activation = false): nothing to report\n",
                cfg->path);
        report_free(&rep);
        return 1;
    }
    const struct store_read_backend *b = store_read_backend_for(cfg->db_driver);
    char err[1024] = "";
    int rc = STORE_FATAL;
    struct store_reader *r = b->open(cfg, &rc, err, sizeof err);
    if (r) rc = report_collect(&rep, b, r, err, sizeof err);
    b->close(r);
    int code = 0;
    if (rc != STORE_OK) {
        fprintf(stderr, "clockwerk report: %s\n", err);
        code = 1;
    } else {
        if (rep.bad_blobs)
            fprintf(stderr,
                    "clockwerk report: warning: %u histogram blob%s in the roll-ups could not be read and "
                    "%s left out of the latencies\n",
                    rep.bad_blobs, rep.bad_blobs == 1 ? "" : "s", rep.bad_blobs == 1 ? "is" : "are");
        if (report_print(stdout, &rep, a->format) != 0) {
            perror("clockwerk report: writing the report");
            code = 1;
        }
    }
    report_free(&rep);
    return code;
}

int main(int argc, char **argv)
{
    log_init("report", LOG_LVL_WARN);
    struct report_args a;
    int p = parse_args(argc, argv, &a);
    if (p != 0) return p > 0 ? 0 : 2;
    int64_t since, until, now = cw_wall_us() / 1000;
    if (!parse_window(&a, now, &since, &until)) return 2;
    FILE *probe = fopen(a.config, "r"); /* a file we cannot read: one line, not config_load's FILE:0 */
    if (!probe) {
        fprintf(stderr, "clockwerk report: cannot read %s: %s\n", a.config, strerror(errno));
        return 2;
    }
    fclose(probe);
    struct cw_config *cfg = config_load(a.config, report_plain, NULL);
    if (!cfg) return 2;
    int code = run(cfg, &a, since, until, now);
    config_free(cfg);
    return code;
}
