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
#include "report/output.h"
#include "report/report.h"
#include "history/window.h"
#include "storer/reader.h"

#define USAGE                                                                                                     \
    "usage: clockwerk report -c FILE [--since 24h|7d|30d|90d|DATE] [--until now|DATE] [--endpoint NAME-or-URL]\n" \
    "                        [--location NAME|--by-location] [--json|--csv]\n"

/* --help: the usage and every option; clockwerk-report(1) documents the same (tests/e2e/test_manpages.py). */
#define HELP                                                                                                      \
    USAGE                                                                                                         \
    "Uptime, downtime, incidents, latency percentiles and the slowest phase of each configured endpoint over a\n" \
    "window, read from the database (read only; docs/report.md).\n"                                               \
    "  -c, --config FILE     the configuration: its endpoints and its database group (before or after report)\n"  \
    "      --since WHEN      start of the window (default 24h): now, a duration before now (90s, 15m, 24h, 7d,\n" \
    "                        2w) or a UTC date (2026-11-25, 2026-11-25T04:05:06Z)\n"                              \
    "      --until WHEN      end of the window, excluded (default now); the same forms\n"                         \
    "      --endpoint NAME   only the endpoint whose name or URL (credentials masked) is NAME\n"                  \
    "      --location NAME   only the checks made at location NAME\n"                                             \
    "      --by-location     a row per endpoint and location\n"                                                   \
    "      --json            one JSON object instead of the table\n"                                              \
    "      --csv             CSV (RFC 4180) instead of the table\n"                                               \
    "  -h, --help            print this help and exit\n"                                                          \
    "exit status: 0 printed; 1 the database cannot be read; 2 a bad argument, window, endpoint or configuration\n"

struct report_args {
    const char *config, *since, *until, *only;
    const char *location; /* --location NAME */
    bool by_location;     /* --by-location */
    enum report_format format;
};

static void report_plain(void *ctx, const char *message)
{
    (void)ctx;
    fprintf(stderr, "%s\n", message);
}

/* Whether the configuration names the location: the host's own (supervisor.location) or a `locations` entry. */
static bool location_configured(const struct cw_config *cfg, const char *name)
{
    if (!strcmp(config_own_location(cfg), name)) return true;
    for (size_t i = 0; i < cfg->n_locations; i++)
        if (cfg->locations[i].name && !strcmp(cfg->locations[i].name, name)) return true;
    return false;
}

/* 0, 1 (--help printed) or -1 (an error printed). */
static int parse_args(int argc, char **argv, struct report_args *a)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },   { "since", required_argument, NULL, 's' },
        { "until", required_argument, NULL, 'u' },    { "endpoint", required_argument, NULL, 'e' },
        { "json", no_argument, NULL, 'j' },           { "csv", no_argument, NULL, 'v' },
        { "location", required_argument, NULL, 'l' }, { "by-location", no_argument, NULL, 'b' },
        { "help", no_argument, NULL, 'h' },           { NULL, 0, NULL, 0 },
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
        case 'l':
            a->location = optarg;
            break;
        case 'b':
            a->by_location = true;
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
            fputs(HELP, stdout);
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
    else if (a->location && a->by_location) why = "--location and --by-location exclude each other";
    else if (a->location && !config_location_name_valid(a->location))
        why = "--location: a location name is 1 to 32 of the characters A-Z a-z 0-9 _ . -";
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

/* Adds name to the list unless it is there. */
static void add_name(char ***names, size_t *n, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*names)[i], name)) return;
    *names = cw_xrealloc(*names, (*n + 1) * sizeof **names);
    (*names)[(*n)++] = cw_xstrdup(name);
}

static int by_name(const void *x, const void *y) { return strcmp(*(char *const *)x, *(char *const *)y); }

/* --by-location's locations: those of the checks in the window (a first read across locations) and those the
 * configuration names, sorted. */
static int list_locations(const struct cw_config *cfg, const struct report *all, char ***names, size_t *n)
{
    for (size_t i = 0; i < all->n_seen; i++) add_name(names, n, all->seen[i]);
    add_name(names, n, config_own_location(cfg));
    for (size_t i = 0; i < cfg->n_locations; i++)
        if (cfg->locations[i].name) add_name(names, n, cfg->locations[i].name);
    qsort(*names, *n, sizeof **names, by_name);
    return STORE_OK;
}

/* The reports to print into reps (*n of them): one across locations or of --location's, or one per location. */
static int collect(const struct cw_config *cfg, const struct report_args *a, const int64_t when[3],
                   const struct store_read_backend *b, struct store_reader *r, struct report **reps, size_t *n,
                   char *err, size_t errlen)
{
    *reps = cw_xcalloc(1, sizeof **reps);
    *n = 1;
    report_init(&(*reps)[0], cfg, a->only, when[0], when[1]);
    (*reps)[0].now_ms = when[2];
    (*reps)[0].location = a->location;
    int rc = report_collect(&(*reps)[0], b, r, err, errlen);
    if (rc != STORE_OK || !a->by_location) return rc;
    char **names = NULL;
    size_t n_names = 0;
    list_locations(cfg, &(*reps)[0], &names, &n_names);
    report_free(&(*reps)[0]);
    *reps = cw_xrealloc(*reps, (n_names ? n_names : 1) * sizeof **reps);
    *n = 0;
    for (size_t i = 0; i < n_names; i++) {
        struct report *one = &(*reps)[(*n)++];
        report_init(one, cfg, a->only, when[0], when[1]);
        one->now_ms = when[2];
        one->location = names[i]; /* kept until the reports are freed: names is freed with them (run) */
        if (rc == STORE_OK) rc = report_collect(one, b, r, err, errlen);
    }
    free(names); /* the strings stay: each report's location (run frees them) */
    return rc;
}

static int run(const struct cw_config *cfg, const struct report_args *a, int64_t since, int64_t until, int64_t now)
{
    struct report probe;
    int found = report_init(&probe, cfg, a->only, since, until);
    report_free(&probe);
    if (found != 0) {
        char masked[CW_URL_MAX + 1];
        if (a->only) cw_mask_url(a->only, masked, sizeof masked); /* never echo a password back */
        if (a->only)
            fprintf(stderr, "clockwerk report: no endpoint named or with the URL '%s' in %s\n", masked, cfg->path);
        else fprintf(stderr, "clockwerk report: %s configures no endpoint\n", cfg->path);
        return 2;
    }
    if (!cfg->db_activation) {
        fprintf(stderr, "clockwerk report: storage is off in %s (database.db_activation = false): nothing to report\n",
                cfg->path);
        return 1;
    }
    const struct store_read_backend *b = store_read_backend_for(cfg->db_driver);
    char err[1024] = "";
    int rc = STORE_FATAL;
    struct report *reps = NULL;
    size_t n = 0;
    const int64_t when[3] = { since, until, now };
    struct store_reader *r = b->open(cfg, &rc, err, sizeof err);
    if (r) rc = collect(cfg, a, when, b, r, &reps, &n, err, sizeof err);
    b->close(r);
    int code = 0;
    bool unknown = rc == STORE_OK && a->location && !location_configured(cfg, a->location);
    for (size_t i = 0; unknown && i < reps[0].n_seen; i++) unknown = strcmp(reps[0].seen[i], a->location) != 0;
    if (rc != STORE_OK) {
        fprintf(stderr, "clockwerk report: %s\n", err);
        code = 1;
    } else if (unknown) {
        fprintf(stderr,
                "clockwerk report: --location %s: %s names no such location and the window has no check of it\n",
                a->location, cfg->path);
        code = 2;
    } else {
        const struct report **list = cw_xcalloc(n ? n : 1, sizeof *list);
        unsigned bad = 0;
        for (size_t i = 0; i < n; i++) list[i] = &reps[i], bad += reps[i].bad_blobs;
        if (bad)
            fprintf(stderr,
                    "clockwerk report: warning: %u histogram blob%s in the roll-ups could not be read and "
                    "%s left out of the latencies\n",
                    bad, bad == 1 ? "" : "s", bad == 1 ? "is" : "are");
        if (report_print(stdout, list, n, a->format) != 0) {
            perror("clockwerk report: writing the report");
            code = 1;
        }
        free(list);
    }
    for (size_t i = 0; i < n; i++) {
        char *owned = a->by_location ? (char *)reps[i].location : NULL;
        report_free(&reps[i]);
        free(owned);
    }
    free(reps);
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
