/* alerter/status.c — `clockwerk-alerter --status`: the running system's endpoint states from the alerter's
 * state file, on a terminal or as JSON (see status.h; the pure rules are in statusfmt.c). */
#include "alerter/status.h"

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "alerter/locations.h"
#include "alerter/savepolicy.h"
#include "alerter/statefile.h"
#include "alerter/statusfmt.h"
#include "common/wire/jsonnew.h"
#include "common/base/clock.h"
#include "common/base/hash.h"
#include "common/base/util.h"
#include "common/config/config.h"
#include "common/wire/protocol.h"

#define PIDFILE_NAME "clockwerk.pid" /* the supervisor's lock (supervisor/pidfile.h) */
#define ERROR_SHOWN 600              /* bytes of an error text shown (the alerter keeps 512) */

/* What the state file says about one URL. */
struct known {
    const char *url;
    const struct statefile_endpoint *e; /* in "endpoints" */
    UT_hash_handle hh;
};

struct row {
    const struct cw_endpoint *ep;
    const struct statefile_endpoint *e; /* NULL: not in "endpoints" */
    enum status_state state;
    bool stale;
    int64_t checked_us; /* its last check (0: not known) */
    int64_t seen_us;    /* that, or for an endpoint plainly up its worker's newest result: for staleness */
};

struct view {
    const struct cw_config *cfg;
    bool json;
    int64_t now_us;
    long supervisor_pid; /* -1: held, pid not shown */
    char reason[2 * PATH_MAX];
    struct statefile_data data;
    bool config_matches; /* the alerter runs the endpoints of the file given, in its order ("plain") */
    struct row *rows;
    struct status_counts counts;
};

static void report_plain(void *ctx, const char *message)
{
    (void)ctx;
    fprintf(stderr, "%s\n", message);
}

/* ---- can the state be told at all? Each check fills v->reason and returns false when not. */

static bool permission_denied(struct view *v, const char *path)
{
    const char *run_dir = v->cfg->run_dir;
    struct stat st;
    char owner[64] = "its owner";
    bool root_owns = false;
    if (stat(run_dir, &st) == 0) {
        struct passwd *pw = getpwuid(st.st_uid);
        root_owns = st.st_uid == 0;
        if (pw) snprintf(owner, sizeof owner, "%s", pw->pw_name);
        else snprintf(owner, sizeof owner, "uid %ld", (long)st.st_uid);
    }
    if (root_owns)
        snprintf(v->reason, sizeof v->reason, "permission denied on %s: run as root (the owner of run_dir %s)", path,
                 run_dir);
    else
        snprintf(v->reason, sizeof v->reason,
                 "permission denied on %s: run as the user that runs clockwerk (%s, the owner of run_dir %s) or as "
                 "root",
                 path, owner, run_dir);
    return false;
}

/* Reads /proc/locks into b. 0, or -1 with errno. */
static int read_locks(struct cw_buf *b)
{
    FILE *f = fopen("/proc/locks", "re");
    if (!f) return -1;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) cw_buf_put(b, chunk, n);
    int failed = ferror(f);
    fclose(f);
    cw_buf_put(b, "", 1);
    return failed ? -1 : 0;
}

static bool supervisor_running(struct view *v)
{
    const char *run_dir = v->cfg->run_dir;
    char path[PATH_MAX];
    struct stat st;
    if (snprintf(path, sizeof path, "%s/%s", run_dir, PIDFILE_NAME) >= (int)sizeof path) {
        snprintf(v->reason, sizeof v->reason, "run_dir %s is too long", run_dir);
        return false;
    }
    if (stat(path, &st) != 0) {
        if (errno == EACCES) return permission_denied(v, run_dir);
        if (errno == ENOENT)
            snprintf(v->reason, sizeof v->reason, "clockwerk is not running: no supervisor lock file %s", path);
        else snprintf(v->reason, sizeof v->reason, "cannot stat %s: %s", path, strerror(errno));
        return false;
    }
    struct cw_buf locks = { 0 };
    if (read_locks(&locks) != 0) {
        snprintf(v->reason, sizeof v->reason, "cannot read /proc/locks: %s", strerror(errno));
        cw_buf_free(&locks);
        return false;
    }
    v->supervisor_pid = status_lock_holder((const char *)locks.data, major(st.st_dev), minor(st.st_dev), st.st_ino);
    cw_buf_free(&locks);
    if (v->supervisor_pid == 0) {
        snprintf(v->reason, sizeof v->reason, "clockwerk is not running: no supervisor holds the lock on %s", path);
        return false;
    }
    return true;
}

static bool state_current(struct view *v)
{
    char path[PATH_MAX], err[PATH_MAX + 256], ago[32], when[40];
    if (snprintf(path, sizeof path, "%s/%s", v->cfg->run_dir, STATEFILE_NAME) >= (int)sizeof path) {
        snprintf(v->reason, sizeof v->reason, "run_dir %s is too long", v->cfg->run_dir);
        return false;
    }
    if (access(path, R_OK) != 0 && errno == EACCES) return permission_denied(v, path);
    int rc = statefile_load(path, &v->data, err, sizeof err);
    if (rc < 0) snprintf(v->reason, sizeof v->reason, "cannot read the alerter's state: %s", err);
    else if (rc == 0)
        snprintf(v->reason, sizeof v->reason,
                 "no alerter state yet (%s): the alerter writes it within a second of starting; is it running? "
                 "see the log",
                 path);
    else switch (status_saved_at_check(v->data.saved_at_us, v->now_us)) {
        case STATUS_SAVED_UNKNOWN:
            snprintf(v->reason, sizeof v->reason, "the alerter's state %s does not say when it was saved", path);
            break;
        case STATUS_SAVED_STALE:
            snprintf(v->reason, sizeof v->reason,
                     "the alerter's state is stale: last saved %s ago (%s), and a running alerter saves it at least "
                     "every %lld s: is the alerter running? see the log",
                     status_duration(v->now_us - v->data.saved_at_us, ago, sizeof ago),
                     status_utc(v->data.saved_at_us, when, sizeof when), (long long)(SAVE_HEARTBEAT_US / 1000000));
            break;
        case STATUS_SAVED_FUTURE:
            snprintf(v->reason, sizeof v->reason,
                     "the alerter's state %s says it was saved at %s, %s in the future: this machine's clock or "
                     "the file is wrong, so its states cannot be taken as current",
                     path, status_utc(v->data.saved_at_us, when, sizeof when),
                     status_duration(v->data.saved_at_us - v->now_us, ago, sizeof ago));
            break;
        case STATUS_SAVED_CURRENT:
            return true;
        }
    return false;
}

static bool can_tell(struct view *v)
{
    struct stat st;
    if (stat(v->cfg->run_dir, &st) != 0) {
        if (errno == EACCES) return permission_denied(v, v->cfg->run_dir);
        if (errno == ENOENT)
            snprintf(v->reason, sizeof v->reason, "clockwerk is not running: run_dir %s does not exist",
                     v->cfg->run_dir);
        else snprintf(v->reason, sizeof v->reason, "cannot stat run_dir %s: %s", v->cfg->run_dir, strerror(errno));
        return false;
    }
    return supervisor_running(v) && state_current(v);
}

/* ---- the endpoints */

/* Whether the bits of "plain" refer to the file's endpoints (the alerter runs them, in the same order). */
static bool plain_matches(const struct view *v)
{
    const struct statefile_plain *p = &v->data.plain;
    return p->present && p->n == v->cfg->n_endpoints &&
           p->fingerprint == statefile_fingerprint(v->cfg->endpoints, v->cfg->n_endpoints);
}

static void build_rows(struct view *v)
{
    struct known *by_url = NULL, *all = cw_xcalloc(v->data.n_eps + 1, sizeof *all), *k;
    for (size_t i = 0; i < v->data.n_eps; i++) {
        all[i] = (struct known){ .url = v->data.eps[i].url, .e = &v->data.eps[i] };
        HASH_FIND_STR(by_url, all[i].url, k);
        if (!k) HASH_ADD_KEYPTR(hh, by_url, all[i].url, strlen(all[i].url), &all[i]);
    }
    const struct statefile_plain *p = &v->data.plain;
    unsigned workers = v->cfg->workers > 0 ? (unsigned)v->cfg->workers : 0;
    v->config_matches = plain_matches(v);
    bool by_worker = v->config_matches && workers && p->n_workers == workers;
    v->rows = cw_xcalloc(v->cfg->n_endpoints + 1, sizeof *v->rows);
    for (size_t i = 0; i < v->cfg->n_endpoints; i++) {
        struct row *r = &v->rows[i];
        r->ep = &v->cfg->endpoints[i];
        HASH_FIND_STR(by_url, r->ep->url, k);
        r->e = k ? k->e : NULL;
        r->checked_us = r->seen_us = r->e ? r->e->last_checked_us : 0;
        bool plainly_up = !r->e && v->config_matches && p->up[i];
        if (plainly_up && by_worker) r->seen_us = p->worker_last_us[cw_shard_of(r->ep->url, workers)];
        r->state = status_classify(r->e ? &r->e->st : NULL, plainly_up, r->seen_us, v->now_us,
                                   status_stale_after_us(r->ep->interval, r->ep->timeout), &r->stale);
        status_count(&v->counts, r->state);
    }
    HASH_CLEAR(hh, by_url);
    free(all);
}

/* When the shown state began (0: not known). */
static int64_t row_since(const struct row *r)
{
    if (!r->e || (r->stale && r->state != STATUS_DOWN)) return 0; /* a stale DOWN is still down since then */
    if (r->state == STATUS_DOWN) return r->e->st.state_since_us;
    if (r->state == STATUS_SLOW) return r->e->st.speed_since_us;
    return 0;
}

static const char *row_error(const struct row *r, char *buf, size_t len)
{
    if (!r->e || !r->e->last_error || !r->e->last_error[0] || r->e->st.fail_run == 0) return NULL;
    status_scrub(r->e->last_error, r->ep->url, buf, len);
    return buf;
}

/* ---- locations (issue 16) */

/* Who sees what on r's endpoint, when the file has it (a multi-location endpoint not seen up everywhere). */
static const struct statefile_vote *vote_of(const struct view *v, const struct row *r)
{
    for (size_t i = 0; i < v->data.n_votes; i++)
        if (v->data.votes[i].url && strcmp(v->data.votes[i].url, r->ep->url) == 0) return &v->data.votes[i];
    return NULL;
}

static void print_locations(const struct view *v)
{
    char ago[32], when[40];
    for (size_t i = 0; i < v->data.n_locs; i++) {
        const struct statefile_location *l = &v->data.locs[i];
        printf("LOCATION %s: %s", l->name, proto_location_state_name(l->state));
        if (l->heard_wall_us)
            printf(", last heard %s (%s ago)", status_utc(l->heard_wall_us, when, sizeof when),
                   status_duration(v->now_us - l->heard_wall_us, ago, sizeof ago));
        else printf(", not heard yet");
        if (l->offset_us != CW_OFFSET_UNKNOWN) printf(", clock offset %+.3f s", (double)l->offset_us / 1e6);
        printf("%s\n", l->offset_us != CW_OFFSET_UNKNOWN &&
                               (l->offset_us > CW_CLOCK_SKEW_WARN_US || l->offset_us < -CW_CLOCK_SKEW_WARN_US)
                           ? " (clock skew above 1 s)"
                           : "");
    }
}

/* ---- text */

static void print_detail(const struct view *v, const struct row *r)
{
    char since[40], dur[32], err[ERROR_SHOWN];
    const char *error = row_error(r, err, sizeof err);
    int64_t at = row_since(r);
    if (at)
        printf(" since %s (for %s)", status_utc(at, since, sizeof since),
               status_duration(v->now_us - at, dur, sizeof dur));
    if (r->state == STATUS_DOWN) printf(", %u failed check%s", r->e->st.failed_count, cw_plural(r->e->st.failed_count));
    if (r->state == STATUS_SLOW)
        printf(", last check took %.2f s (threshold %.2f s)", (double)r->e->last_latency_us / 1e6,
               r->ep->latency_threshold);
    if (r->state == STATUS_DOWN && r->stale)
        printf(" (no result for %s, checked every %s)", status_duration(v->now_us - r->seen_us, dur, sizeof dur),
               status_duration((int64_t)(r->ep->interval * 1e6), since, sizeof since));
    if (r->state == STATUS_UNKNOWN && r->stale)
        printf(" no result for %s (checked every %s)", status_duration(v->now_us - r->seen_us, dur, sizeof dur),
               status_duration((int64_t)(r->ep->interval * 1e6), since, sizeof since));
    else if (r->state == STATUS_UNKNOWN && !r->e && !v->config_matches && v->data.plain.present)
        printf(" not known: clockwerk runs another configuration than this file (edited, not reloaded yet?), in "
               "which this endpoint is either up or not checked at all; reload (SIGHUP) to see its state");
    else if (r->state == STATUS_UNKNOWN && r->e && r->e->st.fail_run)
        printf(" no success yet, %u failed check%s", r->e->st.fail_run, cw_plural(r->e->st.fail_run));
    else if (r->state == STATUS_UNKNOWN) printf(" no result yet");
    if (error) printf(", last error: %s", error);
    const struct statefile_vote *vote = vote_of(v, r);
    if (vote && vote->summary && vote->summary[0]) printf(" [%s]", vote->summary);
    printf("\n");
}

static void print_text(const struct view *v)
{
    char url[CW_URL_MAX + 1], summary[160];
    for (size_t i = 0; i < v->cfg->n_endpoints; i++) {
        const struct row *r = &v->rows[i];
        if (r->state == STATUS_UP) continue;
        char upper[16];
        snprintf(upper, sizeof upper, "%s", status_state_name(r->state));
        for (char *c = upper; *c; c++) *c = (char)(*c - 'a' + 'A');
        cw_mask_url(r->ep->url, url, sizeof url);
        if (r->ep->name) printf("%-7s %s (%s)", upper, r->ep->name, url);
        else printf("%-7s %s", upper, url);
        print_detail(v, r);
    }
    print_locations(v);
    printf("%s\n", status_summary(&v->counts, summary, sizeof summary));
}

/* ---- JSON */

static void put(json_object *o, const char *k, json_object *v) { json_object_object_add(o, k, v); }
static json_object *jstr(const char *s) { return s ? cw_jnew(json_object_new_string(s)) : NULL; }
static json_object *jint(int64_t v) { return cw_jnew(json_object_new_int64(v)); }
static json_object *jtime(int64_t us)
{
    char buf[40];
    return us ? jstr(cw_format_iso8601(us, buf, sizeof buf)) : NULL;
}

static json_object *row_json(const struct view *v, const struct row *r)
{
    json_object *o = cw_jnew(json_object_new_object());
    char url[CW_URL_MAX + 1], err[ERROR_SHOWN];
    cw_mask_url(r->ep->url, url, sizeof url);
    int64_t since = row_since(r);
    put(o, "name", jstr(r->ep->name));
    put(o, "url", jstr(url));
    put(o, "state", jstr(status_state_name(r->state)));
    put(o, "since", jtime(since));
    put(o, "for_s", since ? jint((v->now_us - since) / 1000000) : NULL);
    put(o, "failed_checks", jint(!r->e ? 0 : r->state == STATUS_DOWN ? r->e->st.failed_count : r->e->st.fail_run));
    put(o, "last_error", jstr(row_error(r, err, sizeof err)));
    put(o, "last_status", r->e ? jint(r->e->last_status) : NULL);
    /* a check without a latency (a failed connect, a push call) carries -1 µs: null, as when nothing is known */
    bool latency = r->e && r->e->last_latency_us >= 0;
    put(o, "last_latency_ms", latency ? cw_jnew(json_object_new_double((double)r->e->last_latency_us / 1000.0)) : NULL);
    put(o, "last_checked", jtime(r->checked_us));
    put(o, "stale", cw_jnew(json_object_new_boolean(r->stale)));
    const struct statefile_vote *vote = v->data.n_votes ? vote_of(v, r) : NULL;
    if (vote) put(o, "locations", jstr(vote->summary)); /* who sees what, when not every location sees it up */
    return o;
}

static json_object *locations_json(const struct view *v)
{
    json_object *arr = cw_jnew(json_object_new_array());
    for (size_t i = 0; i < v->data.n_locs; i++) {
        const struct statefile_location *l = &v->data.locs[i];
        json_object *o = cw_jnew(json_object_new_object());
        put(o, "name", jstr(l->name));
        put(o, "state", jstr(proto_location_state_name(l->state)));
        put(o, "last_heard", jtime(l->heard_wall_us));
        put(o, "clock_offset_ms",
            l->offset_us == CW_OFFSET_UNKNOWN ? NULL : cw_jnew(json_object_new_double((double)l->offset_us / 1e3)));
        json_object_array_add(arr, o);
    }
    return arr;
}

static void print_json(const struct view *v, bool told)
{
    json_object *root = cw_jnew(json_object_new_object()), *eps = cw_jnew(json_object_new_array());
    put(root, "version", jint(1));
    put(root, "ok", cw_jnew(json_object_new_boolean(status_exit_code(&v->counts, !told) == STATUS_EXIT_ALL_UP)));
    put(root, "reason", told ? NULL : jstr(v->reason));
    put(root, "now", jtime(v->now_us));
    put(root, "saved_at", jtime(v->data.saved_at_us));
    put(root, "supervisor_pid", v->supervisor_pid > 0 ? jint(v->supervisor_pid) : NULL);
    put(root, "config_matches", told ? cw_jnew(json_object_new_boolean(v->config_matches)) : NULL);
    if (told) {
        json_object *sum = cw_jnew(json_object_new_object());
        put(sum, "endpoints", jint((int64_t)v->counts.total));
        put(sum, "up", jint((int64_t)v->counts.up));
        put(sum, "down", jint((int64_t)v->counts.down));
        put(sum, "slow", jint((int64_t)v->counts.slow));
        put(sum, "unknown", jint((int64_t)v->counts.unknown));
        put(root, "summary", sum);
        for (size_t i = 0; i < v->cfg->n_endpoints; i++) json_object_array_add(eps, row_json(v, &v->rows[i]));
    } else {
        put(root, "summary", NULL);
    }
    put(root, "endpoints", eps);
    put(root, "locations", told ? locations_json(v) : NULL);
    printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(root);
}

/* ---- the mode */

/* The usage line; with --help (to stdout) every option too: clockwerk-status(1) documents the same
 * (tests/e2e/test_manpages.py compares them). */
static int usage(FILE *to, int code)
{
    fprintf(to, "usage: clockwerk status -c FILE [--json]\n");
    if (to == stdout)
        fprintf(to, "What is down or slow now, since when and why, from the running Clockwerk (docs/status.md).\n"
                    "  -c, --config FILE   the configuration file of the running Clockwerk (before or after status)\n"
                    "      --json          one JSON object instead of lines for a terminal\n"
                    "  -h, --help          print this help and exit\n"
                    "exit status: 0 every endpoint is up; 1 one is down, slow or unknown, or Clockwerk cannot tell\n"
                    "(not running, state stale or unreadable: stderr says which); 2 wrong arguments\n");
    return code;
}

int status_run(int argc, char **argv)
{
    const char *config = NULL;
    bool json = false;
    for (int i = 0; i < argc; i++) {
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc) config = argv[++i];
        else if (!strcmp(argv[i], "--json")) json = true;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return usage(stdout, 0);
        else return usage(stderr, STATUS_EXIT_USAGE);
    }
    if (!config) return usage(stderr, STATUS_EXIT_USAGE);
    struct cw_config *cfg = config_load_with(config, &(struct config_load_options){ .report = report_plain });
    if (!cfg) return STATUS_EXIT_CANNOT_TELL;
    struct view v = { .cfg = cfg, .json = json, .now_us = cw_wall_us() };
    bool told = can_tell(&v);
    if (told) build_rows(&v);
    if (json) print_json(&v, told);
    else if (told) print_text(&v);
    if (!told) fprintf(stderr, "clockwerk status: %s\n", v.reason);
    else if (!v.config_matches && v.data.plain.present)
        fprintf(stderr,
                "clockwerk status: note: clockwerk runs another configuration than %s as it is now (not reloaded "
                "yet?): its endpoints that are not down or slow show as unknown\n",
                config);
    int rc = status_exit_code(&v.counts, !told);
    fflush(stdout);
    free(v.rows);
    statefile_data_free(&v.data);
    config_free(cfg);
    return rc;
}
