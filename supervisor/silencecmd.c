/* supervisor/silencecmd.c — `clockwerk silence` and `clockwerk ack` (see silencecmd.h): the arguments checked
 * here (a bad duration never reaches the alerter), one request to the alerter's control socket, its answer
 * printed for a person (or as JSON with --json). */
#include "supervisor/silencecmd.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/wire/jsonnew.h"
#include "common/base/util.h"
#include "common/config/config.h"
#include "common/wire/ctlclient.h"

#define DURATION_MAX_S (365LL * 86400LL)
#define ANSWER_TIMEOUT_MS 10000

int silencecmd_parse_duration(const char *text, int64_t *seconds, char *err, size_t errlen)
{
    static const struct {
        char unit;
        int64_t seconds;
    } units[] = { { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 } };
    int64_t total = 0;
    size_t next_unit = 0; /* units must come in order d, h, m, s, each once */
    const char *p = text;
    if (!*p) goto bad;
    if (strspn(text, "0123456789") == strlen(text)) { /* a bare number ("--for 2 h" gives "2"): which unit? */
        snprintf(err, errlen, "bad duration '%s': write it as 90s, 30m, 2h, 1d or 1h30m", text);
        return -1;
    }
    while (*p) {
        if (*p < '0' || *p > '9') goto bad;
        int64_t n = 0;
        for (; *p >= '0' && *p <= '9'; p++) {
            n = n * 10 + (*p - '0');
            if (n > DURATION_MAX_S) goto too_long;
        }
        size_t u = next_unit;
        while (u < sizeof units / sizeof units[0] && units[u].unit != *p) u++;
        if (u == sizeof units / sizeof units[0]) goto bad;
        total += n * units[u].seconds;
        if (total > DURATION_MAX_S) goto too_long;
        next_unit = u + 1;
        p++;
    }
    if (total == 0) {
        snprintf(err, errlen, "duration '%s' is zero", text);
        return -1;
    }
    *seconds = total;
    return 0;
bad:
    snprintf(err, errlen,
             "bad duration '%s': numbers with units d, h, m, s in that order, like 90s, 30m, 2h, 1d, 1h30m", text);
    return -1;
too_long:
    snprintf(err, errlen, "duration '%s' is longer than 365 days", text);
    return -1;
}

/* The usage, printed after a usage error. */
static const char USAGE[] =
    "usage: clockwerk -c FILE silence add ENDPOINT --for DURATION --reason TEXT [--by NAME]\n"
    "       clockwerk -c FILE silence add --group GROUP --for DURATION --reason TEXT [--by NAME]\n"
    "       clockwerk -c FILE silence add --all --for DURATION --reason TEXT [--by NAME]\n"
    "       clockwerk -c FILE silence list [--json]\n"
    "       clockwerk -c FILE silence remove ID [--by NAME]\n"
    "       clockwerk -c FILE ack ALERT_ID [--by NAME]\n";

/* --help (of silence and of ack: one manual page, clockwerk-silence(1), documents the same options; tests/e2e/
 * test_manpages.py compares them). */
static const char HELP[] =
    "  -c, --config FILE     the configuration of the running Clockwerk (before or after the command)\n"
    "      --group GROUP     add: silence every endpoint of the group\n"
    "      --all             add: silence every endpoint\n"
    "      --for DURATION    add: how long: 90s, 30m, 2h, 1d, 1h30m (at most 365d)\n"
    "      --reason TEXT     add: why (required: whoever sees the silence later must know)\n"
    "      --by NAME         who you act for (default $SUDO_USER, else $USER); the alerter records it with the\n"
    "                        user that ran the command\n"
    "      --json            list: the silences as JSON\n"
    "  -h, --help            print this help and exit\n"
    "A silence keeps the alerts of an endpoint (its name or URL), of a group or of every endpoint from being sent\n"
    "until it ends; they are still recorded. `ack` acknowledges the open incident an alert belongs to: no more\n"
    "reminders or escalations for it. The running alerter answers on RUN_DIR/alerter.ctl (docs/operations.md\n"
    "\"Silences and acknowledgement\").\n"
    "exit status: 0 done; 1 refused by the alerter, no alerter running, or FILE unreadable; 2 a usage error\n";

struct silence_args {
    const char *config, *command, *sub; /* sub: add, list, remove (silence only) */
    const char *target;                 /* the endpoint, ID or ALERT_ID */
    const char *group, *duration, *reason, *by;
    bool all, json, help;
};

/* 0, or 2 after printing why (usage errors). */
static int parse_args(int argc, char **argv, struct silence_args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        bool has_value = i + 1 < argc;
        const char **value = !strcmp(arg, "-c") || !strcmp(arg, "--config") ? &a->config
                             : !strcmp(arg, "--group")                      ? &a->group
                             : !strcmp(arg, "--for")                        ? &a->duration
                             : !strcmp(arg, "--reason")                     ? &a->reason
                             : !strcmp(arg, "--by")                         ? &a->by
                                                                            : NULL;
        if (value) {
            if (!has_value) {
                fprintf(stderr, "clockwerk %s: %s needs a value\n", a->command ? a->command : "", arg);
                return 2;
            }
            *value = argv[++i];
        } else if (!strcmp(arg, "--all")) {
            a->all = true;
        } else if (!strcmp(arg, "--json")) {
            a->json = true;
        } else if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            a->help = true;
        } else if (arg[0] == '-' && arg[1] != '\0') {
            fprintf(stderr, "clockwerk %s: unknown option '%s'\n", a->command ? a->command : "", arg);
            return 2;
        } else if (!a->command) {
            a->command = arg;
        } else if (!strcmp(a->command, "silence") && !a->sub) {
            a->sub = arg;
        } else if (!a->target) {
            a->target = arg;
        } else if (a->duration && strspn(a->duration, "0123456789") == strlen(a->duration) &&
                   !strcmp(argv[i - 1], a->duration)) {
            fprintf(stderr, "clockwerk %s: bad duration '%s': write it as 90s, 30m, 2h, 1d or 1h30m\n", a->command,
                    a->duration); /* "--for 2 h": the unit went into a word of its own */
            return 2;
        } else {
            fprintf(stderr, "clockwerk %s: unexpected argument '%s'\n", a->command, arg);
            return 2;
        }
    }
    return 0;
}

/* The usage problem of a, or NULL. */
static const char *usage_problem(const struct silence_args *a)
{
    bool ack = !strcmp(a->command, "ack");
    bool add = !ack && a->sub && !strcmp(a->sub, "add"), list = !ack && a->sub && !strcmp(a->sub, "list");
    bool remove = !ack && a->sub && !strcmp(a->sub, "remove");
    if (!ack && !add && !list && !remove) return "say add, list or remove";
    if (!a->config) return "no configuration file given (-c FILE)";
    if ((ack || remove) && !a->target) return ack ? "ack: which alert? (ALERT_ID)" : "remove: which silence? (ID)";
    size_t id_len = a->target ? strlen(a->target) : 0;
    if (ack && (id_len == 0 || id_len > 16 || strspn(a->target, "0123456789abcdefABCDEF") != id_len))
        return "ack: ALERT_ID is an alert id as alerts show it: 1 to 16 hex digits";
    if (!add && (a->group || a->all || a->duration || a->reason))
        return "--group, --all, --for and --reason go with add";
    if (!list && a->json) return "--json goes with list";
    if (list && (a->target || a->by)) return "list takes no argument but --json";
    if (!add) return NULL;
    if ((a->target != NULL) + (a->group != NULL) + (a->all ? 1 : 0) != 1)
        return "add: say what to silence: an ENDPOINT (name or URL), --group GROUP or --all (one of them)";
    if (!a->duration) return "add: --for DURATION is required (like 30m, 2h, 1d)";
    if (!a->reason || !a->reason[0]) return "add: --reason TEXT is required (say why, for whoever sees it later)";
    return NULL;
}

static void put_str(json_object *o, const char *k, const char *v)
{
    json_object_object_add(o, k, cw_jnew(json_object_new_string(v)));
}

/* The request for a (checked), or NULL after printing why (a bad duration). */
static json_object *build_request(const struct silence_args *a)
{
    json_object *req = cw_jnew(json_object_new_object());
    json_object_object_add(req, "v", cw_jnew(json_object_new_int(1)));
    const char *by = a->by ? a->by : getenv("SUDO_USER") ? getenv("SUDO_USER") : getenv("USER");
    if (by && by[0]) put_str(req, "by", by);
    if (!strcmp(a->command, "ack")) {
        put_str(req, "op", "ack");
        put_str(req, "alert_id", a->target);
    } else if (!strcmp(a->sub, "list")) {
        put_str(req, "op", "silence_list");
    } else if (!strcmp(a->sub, "remove")) {
        put_str(req, "op", "silence_remove");
        put_str(req, "id", a->target);
    } else {
        int64_t seconds;
        char err[300];
        if (silencecmd_parse_duration(a->duration, &seconds, err, sizeof err) != 0) {
            fprintf(stderr, "clockwerk silence: %s\n", err);
            json_object_put(req);
            return NULL;
        }
        put_str(req, "op", "silence_add");
        if (a->target) put_str(req, "endpoint", a->target);
        if (a->group) put_str(req, "group", a->group);
        if (a->all) json_object_object_add(req, "all", cw_jnew(json_object_new_boolean(true)));
        json_object_object_add(req, "duration_s", cw_jnew(json_object_new_int64(seconds)));
        put_str(req, "reason", a->reason);
    }
    return req;
}

static const char *member_str(json_object *o, const char *k)
{
    json_object *v = NULL;
    return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string) ? json_object_get_string(v)
                                                                                           : NULL;
}

/* One silence for a person: "ID  endpoint X  until END  by AUTHOR: REASON". */
static void print_silence(FILE *to, const char *verb, json_object *x)
{
    const char *endpoint = member_str(x, "endpoint"), *group = member_str(x, "group");
    const char *id = member_str(x, "id"), *end = member_str(x, "end"), *reason = member_str(x, "reason");
    const char *author = member_str(x, "author"), *name = member_str(x, "endpoint_name");
    fprintf(to, "%s%s  %s%s%s%s%s  until %s  by %s: %s\n", verb, id ? id : "?",
            endpoint ? "endpoint "
            : group  ? "group "
                     : "all endpoints",
            name && endpoint ? name : "", name && endpoint ? " (" : "",
            endpoint ? endpoint
            : group  ? group
                     : "",
            name && endpoint ? ")" : "", end ? end : "?", author ? author : "?", reason ? reason : "");
}

/* Prints an ok answer of op; returns the exit code. */
static int print_answer(const struct silence_args *a, json_object *ans)
{
    json_object *v = NULL;
    if (!strcmp(a->command, "ack")) {
        const char *msg = member_str(ans, "message");
        printf("%s\n", msg ? msg : "acknowledged");
    } else if (!strcmp(a->sub, "list")) {
        if (!json_object_object_get_ex(ans, "silences", &v) || !json_object_is_type(v, json_type_array)) {
            fprintf(stderr, "clockwerk: the alerter's answer has no list of silences\n");
            return 1;
        }
        if (a->json) {
            printf("%s\n", json_object_to_json_string_ext(v, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
            return 0;
        }
        size_t n = json_object_array_length(v);
        if (n == 0) printf("no silences\n");
        for (size_t i = 0; i < n; i++) print_silence(stdout, "", json_object_array_get_idx(v, i));
    } else if (json_object_object_get_ex(ans, "silence", &v) && json_object_is_type(v, json_type_object)) {
        print_silence(stdout, !strcmp(a->sub, "add") ? "added silence " : "removed silence ", v);
    }
    return 0;
}

/* Sends the request of a to the alerter of the configuration; returns the exit code. */
static int ask_alerter(const struct silence_args *a, const char *run_dir)
{
    json_object *req = build_request(a);
    if (!req) return 2;
    char err[600];
    bool ok = false;
    const char *why = NULL;
    int rc = 1;
    json_object *ans = ctlclient_request(run_dir, req, ANSWER_TIMEOUT_MS, &ok, &why, err, sizeof err);
    if (!ans) fprintf(stderr, "clockwerk: %s\n", err);
    else if (!ok) fprintf(stderr, "clockwerk %s: %s\n", a->command, why ? why : "refused (no reason given)");
    else rc = print_answer(a, ans);
    json_object_put(ans);
    return rc;
}

/* config_load's problems, one line each on stderr. */
static void report_problem(void *ctx, const char *message)
{
    (void)ctx;
    fprintf(stderr, "%s\n", message);
}

int silencecmd_run(int argc, char **argv)
{
    struct silence_args a = { 0 };
    int rc = parse_args(argc, argv, &a);
    if (rc != 0 || a.help) {
        fputs(USAGE, rc ? stderr : stdout);
        if (rc == 0) fputs(HELP, stdout);
        return rc;
    }
    const char *problem = usage_problem(&a);
    if (problem) {
        fprintf(stderr, "clockwerk %s: %s\n%s", a.command, problem, USAGE);
        return 2;
    }
    struct config_load_options o = { .report = report_problem, .bus_only = true };
    struct cw_config *cfg = config_load_with(a.config, &o);
    if (!cfg) {
        fprintf(stderr, "clockwerk: cannot read the run_dir from %s (check it with clockwerk -t -c %s)\n", a.config,
                a.config);
        return 1;
    }
    rc = ask_alerter(&a, cfg->run_dir);
    config_free(cfg);
    return rc;
}
