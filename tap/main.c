/* tap/main.c — clockwerk-tap: watch a running Clockwerk live.
 *
 *   clockwerk-tap -c FILE [--json] [--filter TEXT] [--location NAME] [--stats] [--locations] [--count N]
 *
 * Reads the operator's config only to find tap_address and the bus's keys (config_load_options.bus_only: a
 * problem elsewhere in the file — an unreadable password file, a typo a reload refused — is a warning, so the
 * tap works exactly when one wants to watch), subscribes there (the relay's XPUB, best effort:
 * a slow or paused tap loses messages, it never slows a worker), and prints one line per result, alert
 * and (with --stats) stats message. Attachable at any time; when nothing runs it just waits. Malformed
 * messages are counted and dropped, and reported on stderr at exit. Exits 0 on SIGINT/SIGTERM (or SIGHUP:
 * the terminal went away), after --count result lines, or quietly when stdout is a closed pipe. Not started
 * by the supervisor: of the children's skeleton (common/proc/proc.h) it takes the signalfd and the stats builder. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/bus/bus.h"
#include "common/proc/bus_config.h"
#include "common/base/clock.h"
#include "common/config/config.h"
#include "common/base/log.h"
#include "common/proc/proc.h"
#include "common/wire/protocol.h"
#include "common/wire/seqgap.h"
#include "common/base/util.h"
#include "tap/format.h"

#define WAIT_NOTICE_MS 2000        /* say "waiting for data" after this long without any message */
#define TAP_STATS_EVERY_US 1000000 /* --stats: the tap's own counters once a second */
/* Senders whose sequence numbers the tap follows (common/wire/seqgap.h; the least recently seen is forgotten
 * beyond). Its gaps measure what the tap missed (a slow terminal, a relay restart), not what the storer lost. */
#define TAP_SENDERS_MAX 256

struct options {
    const char *config;
    bool json;
    const char *filter;
    const char *location; /* --location: only results and alerts of it */
    bool stats;
    bool locations; /* --locations (or --stats): the alerter's LOCATIONS messages */
    long count;     /* 0: no limit */
};

struct tap {
    struct options opt;
    struct cw_result *results; /* CW_RESULT_BATCH_MAX */
    struct cw_buf line;
    struct seqgap gaps;
    uint64_t messages, results_seen, printed, malformed;
    const char *last_malformed; /* static reason */
    uint64_t reported_malformed, reported_missing;
    struct proc_period own_stats; /* microseconds (cw_mono_us) */
    bool stop;                    /* SIGINT/SIGTERM, or --count reached */
};

/* The usage; clockwerk-tap(1) documents the same options (tests/e2e/test_manpages.py compares them). */
static void usage(FILE *to)
{
    fprintf(to, "usage: clockwerk-tap -c FILE [--json] [--filter TEXT] [--location NAME] [--stats] [--locations]\n"
                "                     [--count N]\n"
                "  -c, --config FILE   the Clockwerk configuration (for tap_address)\n"
                "  -j, --json          one JSON object per line (keys: docs/protocol.md)\n"
                "  -f, --filter TEXT   only results and alerts whose URL contains TEXT\n"
                "  -l, --location NAME only results checked at location NAME, and alerts about it\n"
                "  -s, --stats         also print the processes' stats messages (and the tap's own) and the\n"
                "                      locations' states\n"
                "  -L, --locations     also print the locations' states (the alerter's, once a second)\n"
                "  -n, --count N       exit after N result lines\n"
                "  -V, --version       print the version and exit\n"
                "  -h, --help          print this help and exit\n"
                "Prints what a running Clockwerk's relay publishes on bus.tap_address: one line per check result and\n"
                "alert; ends on SIGINT, SIGTERM or SIGHUP (exit 0). The manual: clockwerk-tap(1).\n");
}

static void parse_args(int argc, char **argv, struct options *o)
{
    static const struct option longs[] = {
        { "config", required_argument, NULL, 'c' }, { "json", no_argument, NULL, 'j' },
        { "filter", required_argument, NULL, 'f' }, { "stats", no_argument, NULL, 's' },
        { "count", required_argument, NULL, 'n' },  { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },      { "location", required_argument, NULL, 'l' },
        { "locations", no_argument, NULL, 'L' },    { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "c:jf:l:sLn:hV", longs, NULL)) != -1) {
        switch (c) {
        case 'c':
            o->config = optarg;
            break;
        case 'j':
            o->json = true;
            break;
        case 'f':
            o->filter = optarg;
            break;
        case 'l':
            if (!proto_location_valid(optarg)) {
                fprintf(stderr,
                        "clockwerk-tap: --location wants a location name (1..32 of A-Z a-z 0-9 _ . -), not '%s'\n",
                        optarg);
                exit(1);
            }
            o->location = optarg;
            break;
        case 's':
            o->stats = true;
            break;
        case 'L':
            o->locations = true;
            break;
        case 'n': {
            char *end;
            errno = 0;
            long n = strtol(optarg, &end, 10);
            if (errno || *end || end == optarg || n < 1) {
                fprintf(stderr, "clockwerk-tap: --count wants a positive number, not '%s'\n", optarg);
                exit(1);
            }
            o->count = n;
            break;
        }
        case 'h':
            usage(stdout);
            exit(0);
        case 'V':
            printf("clockwerk-tap %s\n", CW_VERSION);
            exit(0);
        default:
            usage(stderr);
            exit(1);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "clockwerk-tap: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        exit(1);
    }
    if (!o->config) {
        fprintf(stderr, "clockwerk-tap: -c FILE is required\n");
        usage(stderr);
        exit(1);
    }
}

/* config_load's reporter: every FILE:LINE problem on its own line. */
static void report_problem(void *ctx, const char *message)
{
    unsigned *n = ctx;
    (*n)++;
    fprintf(stderr, "%s\n", message);
}

#define TAP_WARNINGS_SHOWN 5

/* config_load's warnings (problems outside the bus): the first few shown, the rest counted. */
static void report_warning(void *ctx, const char *message)
{
    unsigned *n = ctx;
    if (n[1]++ < TAP_WARNINGS_SHOWN)
        fprintf(stderr, "clockwerk-tap: warning: %s (not needed by the tap: ignored)\n", message);
}

/* Writes the line to stdout. A closed pipe (EPIPE: `clockwerk-tap | head`) ends the tap quietly. */
static void emit(struct tap *t)
{
    if (fwrite(t->line.data, 1, t->line.len, stdout) != t->line.len) {
        if (errno == EPIPE) exit(0);
        fatal(1, "cannot write to stdout: %s", strerror(errno));
    }
}

static void flush_stdout(void)
{
    if (fflush(stdout) != 0) {
        if (errno == EPIPE) exit(0);
        fatal(1, "cannot write to stdout: %s", strerror(errno));
    }
}

static bool url_wanted(const struct tap *t, const char *url)
{
    if (!t->opt.filter) return true;
    char shown[CW_URL_MAX + 16];
    tap_shown_url(url, shown, sizeof shown);
    return strstr(shown, t->opt.filter) != NULL;
}

/* With --location: NAME in text as a word (not inside a longer name: "fra" is not in "frankfurt"). */
static bool names_location(const char *text, const char *name)
{
    static const char name_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-";
    size_t n = strlen(name);
    for (const char *p = text ? strstr(text, name) : NULL; p; p = strstr(p + 1, name)) {
        bool starts = p == text || !strchr(name_chars, p[-1]);
        bool ends = p[n] == '\0' || !strchr(name_chars, p[n]);
        if (starts && ends) return true;
    }
    return false;
}

/* An alert of the --location: that location's own (url "location:NAME": silent, back), or one whose text names
 * it (a multi-location endpoint's "DOWN from fra, nyc; up from sgp"). */
static bool alert_of_location(const struct tap *t, const struct cw_alert *a)
{
    if (!t->opt.location) return true;
    if (strncmp(a->url, "location:", 9) == 0) return strcmp(a->url + 9, t->opt.location) == 0;
    return names_location(a->message, t->opt.location);
}

static void count_malformed(struct tap *t, const char *why)
{
    t->malformed++;
    t->last_malformed = why ? why : "malformed";
}

static void formatted(struct tap *t, int rc)
{
    if (rc < 0) fatal(1, "out of memory while formatting a line");
    emit(t);
}

static void on_results(struct tap *t, const void *data, size_t len)
{
    const char *why = NULL;
    int n = proto_results_decode(data, len, t->results, CW_RESULT_BATCH_MAX, &why);
    if (n < 0) {
        count_malformed(t, why);
        return;
    }
    for (int i = 0; i < n; i++) {
        const struct cw_result *r = &t->results[i];
        t->results_seen++;
        seqgap_note(&t->gaps, r->worker, r->boot_id, r->seq);
        if (!url_wanted(t, r->url)) continue;
        if (t->opt.location && strcmp(r->location, t->opt.location) != 0) continue;
        formatted(t, tap_format_result(&t->line, r, t->opt.json));
        t->printed++;
        if (t->opt.count > 0 && t->printed >= (uint64_t)t->opt.count) {
            flush_stdout();
            t->stop = true;
            return;
        }
    }
}

static void on_alert(struct tap *t, const void *data, size_t len)
{
    struct cw_alert a;
    const char *why = NULL;
    if (proto_alert_decode(data, len, &a, &why) < 0) {
        count_malformed(t, why);
        return;
    }
    if (url_wanted(t, a.url) && alert_of_location(t, &a)) formatted(t, tap_format_alert(&t->line, &a, t->opt.json));
}

/* The alerter's view of the locations (with --stats or --locations); with --location only that one. */
static void on_locations(struct tap *t, const void *data, size_t len)
{
    static struct cw_locations_msg m;
    const char *why = NULL;
    if (proto_locations_decode(data, len, &m, &why) < 0) {
        count_malformed(t, why);
        return;
    }
    if (!t->opt.stats && !t->opt.locations) return;
    if (t->opt.location) {
        unsigned kept = 0;
        for (unsigned i = 0; i < m.count; i++)
            if (strcmp(m.loc[i].name, t->opt.location) == 0) m.loc[kept++] = m.loc[i];
        m.count = kept;
    }
    formatted(t, tap_format_locations(&t->line, &m, t->opt.json));
}

static void on_stats(struct tap *t, const void *data, size_t len)
{
    struct cw_stats s;
    const char *why = NULL;
    if (proto_stats_decode(data, len, &s, &why) < 0) {
        count_malformed(t, why);
        return;
    }
    if (t->opt.stats) formatted(t, tap_format_stats(&t->line, &s, t->opt.json));
}

/* With --stats, the tap's own counters, in the same shape as every process's stats (role "tap"). */
static void tap_own_stats(struct tap *t, uint64_t boot_id)
{
    struct proc_stats st;
    proc_stats_begin(&st, "tap", 0, boot_id);
    proc_stats_add(&st, "messages", (int64_t)t->messages);
    proc_stats_add(&st, "results", (int64_t)t->results_seen);
    proc_stats_add(&st, "printed", (int64_t)t->printed);
    proc_stats_add(&st, "malformed", (int64_t)t->malformed);
    proc_stats_add(&st, "missing", (int64_t)t->gaps.missing);
    proc_stats_add(&st, "reordered", (int64_t)t->gaps.repeats);
    proc_stats_add(&st, "senders", (int64_t)t->gaps.senders);
    formatted(t, tap_format_stats(&t->line, &st.s, t->opt.json));
}

/* The summary on stderr at exit: only when something went missing or wrong, or with --stats. */
static void final_report(const struct tap *t)
{
    if (t->malformed)
        fprintf(stderr, "clockwerk-tap: %" PRIu64 " malformed message%s dropped (last: %s)\n", t->malformed,
                cw_plural((long long)t->malformed), t->last_malformed);
    if (t->opt.stats || t->malformed)
        fprintf(stderr,
                "clockwerk-tap: %" PRIu64 " messages, %" PRIu64 " results, %" PRIu64 " printed, %" PRIu64
                " malformed, %" PRIu64 " missed by sequence number\n",
                t->messages, t->results_seen, t->printed, t->malformed, t->gaps.missing);
}

/* One message from the relay: counted, decoded, perhaps printed. */
static void on_message(struct tap *t, const struct bus_msg *m)
{
    t->messages++;
    switch (m->type) {
    case CW_MSG_RESULT:
        on_results(t, m->data, m->len);
        break;
    case CW_MSG_ALERT:
        on_alert(t, m->data, m->len);
        break;
    case CW_MSG_STATS:
        on_stats(t, m->data, m->len);
        break;
    case CW_MSG_LOCATIONS:
        on_locations(t, m->data, m->len);
        break;
    default:
        count_malformed(t, "wrong frames or unknown topic");
        break;
    }
}

/* With --stats, once a second: the tap's own counters, when there is anything to say. */
static void own_stats_due(struct tap *t, uint64_t boot_id)
{
    if (!t->opt.stats || !proc_period_due(&t->own_stats, cw_mono_us())) return;
    if (t->malformed != t->reported_malformed || t->gaps.missing != t->reported_missing || t->messages)
        tap_own_stats(t, boot_id);
    t->reported_malformed = t->malformed;
    t->reported_missing = t->gaps.missing;
}

/* Until SIGINT, SIGTERM or SIGHUP (the terminal went away), or --count lines: one wait for the socket and the
 * signalfd together, so a signal ends the wait at once whatever the relay sends. */
static void run(struct tap *t, struct bus_socket *sub, int sigfd, const char *address)
{
    uint64_t boot_id = cw_boot_id();
    int64_t started_ms = cw_mono_us() / 1000;
    bool told_waiting = false;
    proc_period_start(&t->own_stats, cw_mono_us(), TAP_STATS_EVERY_US);
    while (!t->stop) {
        int ready = bus_wait(&sub, 1, sigfd, 250);
        if (ready < 0) fatal(1, "cannot wait for %s: %s", address, strerror(errno));
        if ((ready & BUS_WAIT_FD) && proc_signals(sigfd)) break;
        struct bus_msg m;
        int rc = (ready & BUS_WAIT_SOCKET) ? bus_recv(sub, &m, 0) : 0;
        if (rc < 0) fatal(1, "cannot receive from %s: %s", address, strerror(errno));
        if (rc == 1) {
            on_message(t, &m);
            bus_msg_release(&m);
        } else if (!told_waiting && t->messages == 0 && cw_mono_us() / 1000 - started_ms >= WAIT_NOTICE_MS) {
            fprintf(stderr, "clockwerk-tap: waiting for data on %s\n", address);
            told_waiting = true;
        }
        own_stats_due(t, boot_id);
        /* Flush once the socket has nothing more queued: lines reach a pipe promptly, in batches. */
        if (rc == 0 || !bus_readable(sub)) flush_stdout();
    }
}

/* The configuration's tap_address (copied) and a bus with its CURVE keys. Exits 1 on a bad configuration
 * (a syntax error, a problem in the bus section or supervisor.run_dir); problems elsewhere are warnings. */
/* --location NAME that the configuration does not know: said once (the tap waits anyway: a location added on the
 * central by a reload the tap's file does not have yet). */
static void warn_unknown_location(const struct cw_config *cfg, const char *location)
{
    const char *names[CW_LOCATIONS_MAX];
    size_t n = config_location_names(cfg, names, CW_LOCATIONS_MAX);
    char known[1024] = "";
    size_t used = 0;
    for (size_t i = 0; i < n && i < CW_LOCATIONS_MAX; i++) {
        if (strcmp(names[i], location) == 0) return;
        int w = snprintf(known + used, sizeof known - used, "%s%s", used ? ", " : "", names[i]);
        if (w < 0 || (size_t)w >= sizeof known - used) break;
        used += (size_t)w;
    }
    fprintf(stderr,
            "clockwerk-tap: no location is named '%s' in this configuration (the known ones: %s); waiting "
            "for its checks anyway\n",
            location, used ? known : "none");
}

static struct bus *open_bus(const char *config, const char *location, char **address)
{
    unsigned counts[2] = { 0, 0 }; /* problems, warnings */
    struct config_load_options o = { .report = report_problem, .ctx = counts, .bus_only = true };
    o.warn = report_warning;
    struct cw_config *cfg = config_load_with(config, &o);
    if (counts[1] > TAP_WARNINGS_SHOWN)
        fprintf(stderr, "clockwerk-tap: %u more warnings (clockwerk -t -c %s lists every problem)\n",
                counts[1] - TAP_WARNINGS_SHOWN, config);
    if (!cfg) {
        int fd = open(config, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) { /* not a problem of its content: it could not be read at all */
            fprintf(stderr, "clockwerk-tap: cannot read the configuration %s: %s\n", config, strerror(errno));
            exit(1);
        }
        close(fd);
        fprintf(stderr, "clockwerk-tap: %s is not a valid configuration (%u problem%s)\n", config, counts[0],
                cw_plural(counts[0]));
        exit(1);
    }
    if (config_is_probe_host(cfg)) {
        config_free(cfg);
        fprintf(stderr,
                "clockwerk-tap: %s is a probe host's (bus.central_address), which has no relay: run the tap "
                "with the central host's file, whose relay sees every location\n",
                config);
        exit(1);
    }
    if (!cfg->tap_address || !cfg->tap_address[0]) {
        config_free(cfg);
        fprintf(stderr, "clockwerk-tap: %s gives no tap_address\n", config);
        exit(1);
    }
    if (location) warn_unknown_location(cfg, location);
    *address = cw_xstrdup(cfg->tap_address);
    char err[512];
    struct bus *bus = bus_new_for(cfg, err, sizeof err); /* CURVE keys, when the bus uses them */
    config_free(cfg);
    if (!bus) fatal(1, "%s", err);
    return bus;
}

int main(int argc, char **argv)
{
    struct tap t = { 0 };
    seqgap_init(&t.gaps, TAP_SENDERS_MAX);
    parse_args(argc, argv, &t.opt);
    log_init("tap", LOG_LVL_INFO);
    /* Signals as events on a signalfd, opened before the bus so that ZeroMQ's threads inherit the blocked
     * mask; SIGPIPE ignored: a closed stdout shows up as EPIPE from a write instead of killing us. */
    int sigfd = proc_signals_open(true);
    char *address;
    struct bus *bus = open_bus(t.opt.config, t.opt.location, &address);
    char err[512];
    struct bus_socket *sub = bus_open(bus, BUS_SUBSCRIBE, address, err, sizeof err);
    if (!sub) fatal(1, "%s", err);
    t.results = cw_xcalloc(CW_RESULT_BATCH_MAX, sizeof *t.results);

    run(&t, sub, sigfd, address);
    flush_stdout();
    final_report(&t);

    bus_close(sub);
    bus_free(bus);
    close(sigfd);
    cw_buf_free(&t.line);
    free(t.results);
    free(address);
    seqgap_free(&t.gaps);
    return 0;
}
