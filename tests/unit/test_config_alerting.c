/* tests/unit/test_config_alerting.c — the alerting keys of issue 15 (docs/config.md "Channels", "Routing",
 * "Maintenance"): every channel type with its keys and secrets, the legacy channels, routing resolved through
 * groups, depends_on and its cycles, escalation, flapping, time zones, maintenance windows, the sender with a
 * display name, body templates; each refusal at its FILE:LINE; the snapshot carrying all of it (channel secrets only
 * to the alerter's reading) and the reload views (a channel restarts only the alerter, a window also the storer and
 * the web). */
#include "cfgtest_util.h"

#include "common/config/config_alerting.h"
#include "common/config/config_check.h"
#include "supervisor/reload.h"

#define EP(name, extra) "{ url = \"http://127.0.0.1:1/" name "\"; name = \"" name "\"; " extra " }"
#define MON(eps) "monitor = { endpoints = ( " eps " ); };\n"

static const char *const every_type = MON(EP(
    "a",
    "")) "alerts = { channels = (\n"
         /* 3 */ " { name = \"mail\"; type = \"email\"; smtp_host = \"smtp.example.com\"; smtp_tls = \"tls\";\n"
         "   email_from = \"Clock Werk <cw@example.com>\"; email_to = [\"a@example.com\", \"b@example.com\"];\n"
         "   smtp_user = \"u\"; smtp_password = \"pw1\"; kinds = [\"Down\", \"up\"]; min_severity = \"error\"; },\n"
         /* 6 */ " { name = \"hook\"; type = \"webhook\"; url = \"https://h.example/x\"; headers = [\"X-Token: t0\"];\n"
         "   body_template = \"{{kind}} {{ json.name }}\"; verify_tls = false; },\n"
         " { name = \"slack\"; type = \"slack\"; url_file = \"slack.url\"; },\n"
         " { name = \"discord\"; type = \"discord\"; url = \"https://discord.example/api/webhooks/1/x\"; },\n"
         " { name = \"teams\"; type = \"teams\"; url = \"https://teams.example/w\"; },\n"
         " { name = \"mm\"; type = \"mattermost\"; url = \"https://mm.example/hooks/x\"; },\n"
         " { name = \"ntfy\"; type = \"ntfy\"; url = \"https://ntfy.sh/topic\"; },\n"
         " { name = \"tg\"; type = \"telegram\"; token_file = \"tg.token\"; chat_id = \"-100123\"; },\n"
         " { name = \"pd\"; type = \"pagerduty\"; routing_key = \"R0123\"; },\n"
         " { name = \"og\"; type = \"opsgenie\"; api_key_file = \"og.key\"; url = \"https://api.eu.opsgenie.com\"; },\n"
         " { name = \"my.gotify\"; type = \"gotify\"; url = \"https://gotify.example\"; }\n"
         "); webhooks = ( { url = \"http://127.0.0.1:9/legacy\"; } ); };\n"
         "email = { smtp_host = \"localhost\"; email_from = \"cw@example.com\"; email_to = \"ops@example.com\"; };\n";

static void test_every_type(void **state)
{
    struct ct *t = *state;
    ct_write(t, "slack.url", "https://hooks.slack.com/services/T/B/secret\n", 0600);
    ct_write(t, "tg.token", "123:ABC\n", 0600);
    ct_write(t, "og.key", "og-key\n", 0600);
    setenv("CLOCKWERK_CHANNEL_MY_GOTIFY_TOKEN", "gotify-token", 1);
    struct cw_config *c = ct_load(t, every_type);
    unsetenv("CLOCKWERK_CHANNEL_MY_GOTIFY_TOKEN");
    if (!c) ct_dump(t);
    assert_non_null(c);
    assert_int_equal(c->n_channels, 13); /* 11 named, then "email" and "webhook-1" */
    const struct cw_channel *ch = c->channels;
    assert_string_equal(ch[0].name, "mail");
    assert_int_equal(ch[0].type, CW_CHAN_EMAIL);
    assert_int_equal(ch[0].smtp_port, 465);
    assert_string_equal(ch[0].email_from, "Clock Werk <cw@example.com>");
    assert_int_equal(ch[0].n_email_to, 2);
    assert_string_equal(ch[0].smtp_password, "pw1");
    assert_int_equal(ch[0].kinds, (1u << 1) | (1u << 2));
    assert_int_equal(ch[0].min_severity, CW_SEV_ERROR);
    assert_false(ch[0].legacy);
    assert_string_equal(ch[1].headers[0], "X-Token: t0");
    assert_string_equal(ch[1].body_template, "{{kind}} {{ json.name }}");
    assert_false(ch[1].verify_tls);
    assert_true(ch[2].verify_tls);
    assert_int_equal(ch[2].kinds, CW_KINDS_ALL);
    assert_string_equal(ch[2].url, "https://hooks.slack.com/services/T/B/secret");
    assert_int_equal(ch[3].type, CW_CHAN_DISCORD);
    assert_int_equal(ch[4].type, CW_CHAN_TEAMS);
    assert_int_equal(ch[5].type, CW_CHAN_MATTERMOST);
    assert_null(ch[6].token);
    assert_string_equal(ch[7].token, "123:ABC");
    assert_string_equal(ch[7].chat_id, "-100123");
    assert_null(ch[7].url); /* the public API */
    assert_string_equal(ch[8].token, "R0123");
    assert_string_equal(ch[9].token, "og-key");
    assert_string_equal(ch[9].url, "https://api.eu.opsgenie.com");
    assert_string_equal(ch[10].token, "gotify-token");
    assert_string_equal(ch[11].name, "email");
    assert_true(ch[11].legacy);
    assert_string_equal(ch[11].smtp_host, "localhost");
    assert_int_equal(ch[11].smtp_port, 587);
    assert_string_equal(ch[12].name, "webhook-1");
    assert_true(ch[12].legacy);
    assert_string_equal(ch[12].url, "http://127.0.0.1:9/legacy");
    assert_true(c->email_enabled); /* today's fields stay filled */
    assert_int_equal(c->n_webhooks, 1);
    assert_int_equal(c->n_default_notify, 13); /* no alerts.notify: every channel */
    assert_int_equal(c->endpoints[0].n_notify, 13);
    assert_int_equal(config_channel_find(c, "pd"), 8);
    config_free(c);
}

#define ROUTED                                                                                                             \
    "alerts = { channels = ( { name = \"a\"; type = \"ntfy\"; url = \"https://n.example/a\"; },\n"                         \
    "  { name = \"b\"; type = \"ntfy\"; url = \"https://n.example/b\"; },\n"                                               \
    "  { name = \"c\"; type = \"ntfy\"; url = \"https://n.example/c\"; } );\n"                                             \
    "  notify = [\"a\"]; escalate = ( { after = 600; notify = [\"b\"]; }, { after = 1200; notify = [\"c\", \"b\"]; } );\n" \
    "  flap_window = 10; flap_high = 60; flap_low = 20; time_zone = \"Europe/Berlin\"; };\n"                               \
    "groups = ( { name = \"pay\"; notify = [\"b\"]; severity = \"warning\"; escalate = ( { after = 60; notify = "          \
    "[\"c\"]; } ); } );\n"

static void test_routing_resolved(void **state)
{
    struct ct *t = *state;
    struct cw_config *c = ct_load(
        t,
        MON(EP("plain", "") ", " EP("grouped", "group = \"pay\";") ", " EP(
            "own", "group = \"pay\"; notify = []; severity = \"info\"; flap_window = 0; "
                   "escalate = ( { after = 5; notify = [\"a\"]; } );") ", " EP("other",
                                                                               "group = \"nogroup\"; flap_high = 90;"))
            ROUTED);
    if (!c) ct_dump(t);
    assert_non_null(c);
    const struct cw_endpoint *e = c->endpoints;
    assert_int_equal(c->n_default_notify, 1);
    assert_int_equal(c->n_escalate, 2);
    assert_int_equal(c->escalate[1].n_channels, 2);
    assert_string_equal(c->alert_time_zone, "Europe/Berlin");
    /* plain: the alerts defaults */
    assert_int_equal(e[0].n_notify, 1);
    assert_int_equal(e[0].notify[0], 0);
    assert_int_equal(e[0].severity, CW_SEV_CRITICAL);
    assert_int_equal(e[0].n_escalate, 2);
    assert_int_equal(e[0].flap_window, 10);
    assert_true(e[0].flap_high == 60 && e[0].flap_low == 20);
    assert_int_equal(e[0].depends_on_idx, -1);
    /* grouped: the group's */
    assert_int_equal(e[1].n_notify, 1);
    assert_int_equal(e[1].notify[0], 1);
    assert_int_equal(e[1].severity, CW_SEV_WARNING);
    assert_int_equal(e[1].n_escalate, 1);
    assert_true(e[1].escalate[0].after == 60);
    /* own: its own, notify = [] notifies nobody */
    assert_int_equal(e[2].n_notify, 0);
    assert_int_equal(e[2].severity, CW_SEV_INFO);
    assert_true(e[2].escalate[0].after == 5);
    assert_int_equal(e[2].flap_window, 0);
    /* a group without settings: the alerts defaults, its own flap_high */
    assert_int_equal(e[3].notify[0], 0);
    assert_true(e[3].flap_high == 90);
    assert_int_equal(c->n_group_settings, 1);
    assert_int_equal(c->group_settings[0].severity, CW_SEV_WARNING);
    config_free(c);
}

static void test_depends_on(void **state)
{
    struct ct *t = *state;
    struct cw_config *c =
        ct_load(t, MON(EP("db", "") ", " EP("api", "depends_on = \"db\";") ", " EP("web", "depends_on = \"api\";")));
    assert_non_null(c);
    assert_int_equal(c->endpoints[0].depends_on_idx, -1);
    assert_int_equal(c->endpoints[1].depends_on_idx, 0);
    assert_int_equal(c->endpoints[2].depends_on_idx, 1);
    config_free(c);
    ct_expect_refused(t,
                      "monitor = { endpoints = (\n" EP("a", "depends_on = \"b\";") ",\n" EP(
                          "b", "depends_on = \"c\";") ",\n" EP("c", "depends_on = \"a\";") "\n); };\n",
                      2, "monitor.endpoints[0].depends_on: a cycle of dependencies: a -> b -> c -> a");
    /* Messages name an endpoint by its place in monitor.endpoints, not among those kept (the second 'a', a
     * duplicate, is dropped: 'c' is the second kept, the fourth written); the loader keeps these places in
     * an array rather than asking libconfig, whose config_setting_index walks the list (O(n^2) at load). */
    ct_expect_refused(t,
                      "monitor = { endpoints = (\n" EP("a", "") ",\n" EP("a", "") ",\n" EP("b", "") ",\n" EP(
                          "c", "depends_on = \"nope\"; locations = \"nowhere\";") "\n); };\n",
                      5, "monitor.endpoints[3].depends_on: no endpoint is named 'nope'");
    assert_true(ct_find(t, 5, "monitor.endpoints[3].locations") >= 0);
}

static const struct ct_bad_case bad_cases[] = {
    { MON(EP("a", "")) "alerts = { channels = (\n { name = \"s\"; type = \"slack\"; url = \"https://x/\"; chat_id = "
                       "\"1\"; } ); };\n",
      3, "alerts.channels[0]: 'chat_id' is not a key of a slack channel" },
    { MON(EP("a",
             "")) "alerts = { channels = (\n { name = \"email\"; type = \"webhook\"; url = \"https://x/\"; } ); };\n",
      3, "alerts.channels[0].name: 'email' is the name of the channel made of the `email` group" },
    { MON(EP("a",
             "")) "alerts = { channels = (\n { name = \"webhook-2\"; type = \"webhook\"; url = \"https://x/\"; } ); "
                  "};\n",
      3, "alerts.channels[0].name: 'webhook-2' is the name of a channel made of alerts.webhooks" },
    { MON(EP("a", "")) "alerts = { channels = ( { name = \"x\"; type = \"ntfy\"; url = \"https://x/\"; },\n"
                       " { name = \"x\"; type = \"ntfy\"; url = \"https://y/\"; } ); };\n",
      3, "alerts.channels[1].name: another channel is named 'x'" },
    { MON(EP("a",
             "")) "alerts = { channels = (\n { name = \"bad name\"; type = \"ntfy\"; url = \"https://x/\"; } ); };\n",
      3, "may hold only letters, digits" },
    { MON(EP("a", "")) "alerts = { channels = (\n { name = \"t\"; type = \"telegram\"; token = \"x\"; } ); };\n", 3,
      "alerts.channels[0]: chat_id is required for a telegram channel" },
    { MON(EP("a", "")) "alerts = { channels = (\n { name = \"p\"; type = \"pagerduty\"; } ); };\n", 3,
      "routing_key is required for a pagerduty channel (routing_key, routing_key_file or the environment's "
      "CLOCKWERK_CHANNEL_P_TOKEN)" },
    { MON(EP("a", "")) "alerts = { channels = (\n { name = \"g\"; type = \"gotify\"; token = \"x\"; } ); };\n", 3,
      "alerts.channels[0]: url is required for a gotify channel" },
    { MON(EP("a", "")) "alerts = { channels = (\n { name = \"w\"; type = \"bogus\"; } ); };\n", 3,
      "alerts.channels[0].type: 'bogus' is not one of email, webhook" },
    { MON(EP("a", "")) "alerts = { channels = (\n { name = \"w\"; type = \"webhook\"; url = \"https://x/\"; "
                       "body_template = \"{{nope}}\"; } ); };\n",
      3, "alerts.channels[0].body_template: unknown placeholder '{{nope}}'" },
    { MON(EP("a", "")) "alerts = { channels = (\n { name = \"w\"; type = \"webhook\"; url = \"https://x/\"; kinds = "
                       "[\"down\", \"sideways\"]; } ); };\n",
      3, "alerts.channels[0].kinds: 'sideways' is not an alert kind" },
    { MON(EP("a", "")) "alerts = { channels = (\n { name = \"m\"; type = \"email\"; smtp_host = \"h\"; email_to = "
                       "\"a@b.c\"; } ); };\n",
      3, "alerts.channels[0]: email_from is required" },
    { MON(EP("a", "")) "alerts = { channels = (\n { name = \"m\"; type = \"email\"; url = \"https://x/\"; } ); };\n", 3,
      "alerts.channels[0]: 'url' is not a key of an email channel" },
    { MON(EP("a", "")) "alerts = {\n notify = [\"nobody\"]; };\n", 3, "alerts.notify: no channel is named 'nobody'" },
    { MON(EP("a", "")) "alerts = {\n flap_window = 3; };\n", 3, "alerts.flap_window: 0 (off) or 5 to 64 checks" },
    { MON(EP("a", "")) "alerts = {\n flap_high = 20; flap_low = 30; };\n", 3,
      "alerts: flap_high (20%) must be above flap_low (30%)" },
    { MON(EP("a", "")) "alerts = {\n time_zone = \"Mars/Olympus\"; };\n", 3,
      "alerts.time_zone: unknown time zone 'Mars/Olympus'" },
    { MON(EP("a", "")) "alerts = {\n time_zone = \"../../etc/passwd\"; };\n", 3, "is not a time zone name" },
    { MON(EP("a", "")) "alerts = {\n time_zone = \"leapseconds\"; };\n", 3,
      "alerts.time_zone: time zone 'leapseconds' cannot be used: /usr/share/zoneinfo/leapseconds: not a TZif "
      "zone file" },
    { MON(EP("a", "")) "alerts = { channels = ( { name = \"n\"; type = \"ntfy\"; url = \"https://x/\"; } );\n escalate "
                       "= ( { after = 60; notify = [\"n\"]; }, { after = 60; notify = [\"n\"]; } ); };\n",
      3, "alerts.escalate[1].after: 60 s is not after the step before (60 s)" },
    { "monitor = { endpoints = (\n" EP("a", "severity = \"huge\";") " ); };\n", 2,
      "monitor.endpoints[0].severity: 'huge' is not one of info, warning, error, critical" },
    { "monitor = { endpoints = (\n" EP("a", "depends_on = \"a\";") " ); };\n", 2,
      "monitor.endpoints[0].depends_on: 'a' is the endpoint itself" },
    { "monitor = { endpoints = (\n" EP("a", "depends_on = \"zz\";") " ); };\n", 2,
      "monitor.endpoints[0].depends_on: no endpoint is named 'zz'" },
    { "monitor = { endpoints = (\n" EP("a", "notify = [\"zz\"];") " ); };\n", 2,
      "monitor.endpoints[0].notify: no channel is named 'zz'" },
    { MON(EP("a", "")) "groups = (\n { severity = \"info\"; } );\n", 3, "groups[0]: name is required" },
    { MON(EP("a", "")) "groups = (\n { name = \"g\"; colour = \"red\"; } );\n", 3,
      "unknown key 'colour' in groups[0]" },
    { MON(EP("a", "")) "groups = { name = \"g\"; };\n", 2, "groups: expected a list of groups" },
    { MON(EP("a", "")) "email = {\n smtp_host = \"h\"; email_from = \"Bad <Name <a@b.c>\"; email_to = \"a@b.c\"; };\n",
      3, "email.email_from: 'Bad <Name <a@b.c>' does not look like a sender" },
};

static void test_refusals(void **state)
{
    struct ct *t = *state;
    ct_expect_all_refused(t, bad_cases, sizeof bad_cases / sizeof bad_cases[0]);
}

/* A channel's token or headers, or a chat service's inline url, in a file others may read are refused; no message
 * holds the secret. */
static void test_secrets_in_readable_file(void **state)
{
    struct ct *t = *state;
    const char *texts[] = {
        MON(EP("a", "")) "alerts = { channels = (\n { name = \"p\"; type = \"pagerduty\"; routing_key = \"SeCrEt1\"; } "
                         "); };\n",
        MON(EP("a",
               "")) "alerts = { channels = (\n { name = \"w\"; type = \"webhook\"; url = \"https://x/\"; headers = "
                    "[\"X-Key: SeCrEt1\"]; } ); };\n",
        MON(EP("a", "")) "alerts = { channels = (\n { name = \"m\"; type = \"email\"; smtp_host = \"h\"; email_from = "
                         "\"a@b.c\"; email_to = \"a@b.c\"; smtp_password = \"SeCrEt1\"; } ); };\n",
        MON(EP("a", "")) "alerts = { channels = (\n { name = \"s\"; type = \"slack\"; url = "
                         "\"https://hooks.slack.com/services/T/B/SeCrEt1\"; } ); };\n",
        MON(EP("a", "")) "alerts = { channels = (\n { name = \"d\"; type = \"discord\"; url = "
                         "\"https://discord.example/api/webhooks/1/SeCrEt1\"; } ); };\n",
        MON(EP("a", "")) "alerts = { channels = (\n { name = \"t\"; type = \"teams\"; url = "
                         "\"https://teams.example/SeCrEt1\"; } ); };\n",
        MON(EP("a", "")) "alerts = { channels = (\n { name = \"m\"; type = \"mattermost\"; url = "
                         "\"https://mm.example/hooks/SeCrEt1\"; } ); };\n",
    };
    for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
        ct_write(t, "c.conf", texts[k], 0644);
        t->n_msgs = 0;
        struct cw_config *c = config_load(t->path, ct_collect, t);
        if (c || ct_find(t, 3, "others may read it") < 0) ct_dump(t);
        assert_null(c);
        assert_true(ct_find(t, 3, "others may read it") >= 0);
        for (int i = 0; i < t->n_msgs && i < CT_MAX_MSGS; i++) assert_null(strstr(t->msgs[i], "SeCrEt1"));
    }
    /* a readable file may still hold a plain webhook's or an ntfy channel's url, and alerts.webhooks (as before) */
    ct_write(t, "c.conf",
             MON(EP("a", "")) "alerts = { channels = (\n { name = \"w\"; type = \"webhook\"; url = \"https://x/\"; },\n"
                              " { name = \"n\"; type = \"ntfy\"; url = \"https://ntfy.sh/t\"; } );\n"
                              " webhooks = ( { url = \"https://hooks.slack.com/services/T/B/legacy\"; } ); };\n",
             0644);
    t->n_msgs = 0;
    struct cw_config *readable = config_load(t->path, ct_collect, t);
    if (!readable) ct_dump(t);
    assert_non_null(readable);
    assert_string_equal(readable->channels[2].url, "https://hooks.slack.com/services/T/B/legacy");
    config_free(readable);
    /* the email channel's password from CLOCKWERK_CHANNEL_<NAME>_PASSWORD */
    setenv("CLOCKWERK_CHANNEL_OPS_MAIL_PASSWORD", "from-env", 1);
    struct cw_config *c = ct_load(t, MON(EP("a", "")) "alerts = { channels = ( { name = \"ops-mail\"; type = "
                                                      "\"email\"; smtp_host = \"h\"; email_from = \"a@b.c\"; "
                                                      "email_to = \"a@b.c\"; } ); };\n");
    unsetenv("CLOCKWERK_CHANNEL_OPS_MAIL_PASSWORD");
    assert_non_null(c);
    assert_string_equal(c->channels[0].smtp_password, "from-env");
    config_free(c);
}

static void test_maintenance(void **state)
{
    struct ct *t = *state;
    struct cw_config *c = ct_load(t, MON(EP("billing", "group = \"db\";") ", " EP(
                                         "web", "")) "maintenance = (\n"
                                                     " { name = \"up\"; endpoints = [\"billing\"]; groups = "
                                                     "[\"db\"]; start = \"2026-12-24T23:00:00+01:00\"; "
                                                     "duration = 7200; },\n"
                                                     " { name = \"nightly\"; days = [\"mon\", \"TUE\"]; from = "
                                                     "\"22:30\"; to = \"01:15\"; time_zone = "
                                                     "\"Europe/Berlin\"; },\n"
                                                     " { name = \"every\"; days = [\"*\"]; from = \"03:00\"; to "
                                                     "= \"03:10\"; } );\n");
    if (!c) ct_dump(t);
    assert_non_null(c);
    assert_int_equal(c->n_maintenance, 3);
    const struct cw_maintenance *m = c->maintenance;
    assert_true(m[0].start_us == INT64_C(1798149600) * 1000000); /* 2026-12-24T22:00:00Z */
    assert_true(m[0].duration == 7200);
    assert_int_equal(m[0].n_endpoints, 1);
    assert_int_equal(m[0].endpoints[0], 0);
    assert_string_equal(m[0].groups[0], "db");
    assert_int_equal(m[1].days, (1 << 1) | (1 << 2));
    assert_int_equal(m[1].from_min, 22 * 60 + 30);
    assert_int_equal(m[1].to_min, 75);
    assert_string_equal(m[1].time_zone, "Europe/Berlin");
    assert_int_equal(m[2].days, 0x7f);
    assert_null(m[2].time_zone);
    assert_int_equal(m[2].start_us, 0);
    config_free(c);

    int64_t us;
    assert_true(cw_parse_iso8601("2026-12-24T22:00:00Z", &us) && us == INT64_C(1798149600) * 1000000);
    assert_true(cw_parse_iso8601("2026-12-24T22:00Z", &us) && us == INT64_C(1798149600) * 1000000);
    assert_true(cw_parse_iso8601("2026-12-24T16:30:00-05:30", &us) && us == INT64_C(1798149600) * 1000000);
    assert_false(cw_parse_iso8601("2026-02-30T00:00:00Z", &us));
    assert_false(cw_parse_iso8601("2026-12-24T22:00:00", &us));
    assert_false(cw_parse_iso8601("2026-12-24T24:00:00Z", &us));
    assert_false(cw_parse_iso8601("2026-12-24T22:00:00+01", &us));
    assert_int_equal(cw_parse_hhmm("00:00"), 0);
    assert_int_equal(cw_parse_hhmm("23:59"), 1439);
    assert_int_equal(cw_parse_hhmm("24:00"), -1);
    assert_int_equal(cw_parse_hhmm("7:00"), -1);

    static const struct ct_bad_case bad[] = {
        { MON(EP("a", "")) "maintenance = (\n { name = \"x\"; start = \"2026-12-24T22:00:00Z\"; duration = 60; days = "
                           "[\"mon\"]; } );\n",
          3,
          "maintenance[0]: one-off keys (start, duration) and recurring keys (days, from, to, time_zone) are mixed" },
        { MON(EP("a", "")) "maintenance = (\n { name = \"x\"; start = \"2026-12-24T22:00:00Z\"; } );\n", 3,
          "maintenance[0]: duration is required for a one-off window" },
        { MON(EP("a", "")) "maintenance = (\n { name = \"x\"; days = [\"mon\"]; from = \"01:00\"; } );\n", 3,
          "maintenance[0]: to is required for a recurring window" },
        { MON(EP("a", "")) "maintenance = (\n { name = \"x\"; endpoints = [\"zz\"]; start = \"2026-12-24T22:00:00Z\"; "
                           "duration = 60; } );\n",
          3, "maintenance[0].endpoints: no endpoint is named 'zz'" },
        { MON(EP("a", "")) "maintenance = (\n { name = \"x\"; days = [\"funday\"]; from = \"01:00\"; to = \"02:00\"; } "
                           ");\n",
          3, "maintenance[0].days: 'funday' is not a day" },
        { MON(EP("a",
                 "")) "maintenance = (\n { name = \"x\"; days = [\"mon\"]; from = \"1:00\"; to = \"02:00\"; } );\n",
          3, "maintenance[0].from: '1:00' is not a time of day \"HH:MM\"" },
        { MON(EP("a", "")) "maintenance = (\n { name = \"x\"; start = \"tomorrow\"; duration = 60; } );\n", 3,
          "maintenance[0].start: 'tomorrow' is not a time like" },
        { MON(EP("a", "")) "maintenance = ( { name = \"x\"; days = [\"*\"]; from = \"01:00\"; to = \"02:00\"; },\n"
                           " { name = \"x\"; days = [\"*\"]; from = \"03:00\"; to = \"04:00\"; } );\n",
          3, "maintenance[1].name: another window is named 'x'" },
        /* a duplicate name is reported even when one of the two windows has errors of its own */
        { MON(EP("a", "")) "maintenance = ( { name = \"m\"; bogus = 1; start = \"soon\"; },\n"
                           " { name = \"m\"; start = \"2026-12-24T22:00:00Z\"; duration = 60; } );\n",
          3, "maintenance[1].name: another window is named 'm'" },
        { MON(EP("a", "")) "maintenance = ( { name = \"m\"; days = [\"*\"]; from = \"01:00\"; to = \"02:00\"; },\n"
                           " { name = \"m\"; start = \"2026-12-24T22:00:00Z\"; } );\n",
          3, "maintenance[1].name: another window is named 'm'" },
        { MON(EP("a", "")) "maintenance = (\n { name = \"x\"; } );\n", 3,
          "maintenance[0]: no time: either start and duration, or days, from and to" },
    };
    ct_expect_all_refused(t, bad, sizeof bad / sizeof bad[0]);
}

static void test_mail_from_and_templates(void **state)
{
    (void)state;
    assert_null(cw_check_mail_from("cw@example.com"));
    assert_null(cw_check_mail_from("Clockwerk <cw@example.com>"));
    assert_null(cw_check_mail_from("Überwachung Zürich <cw@example.com>"));
    assert_non_null(cw_check_mail_from("<cw@example.com>"));
    assert_non_null(cw_check_mail_from("Say \"hi\" <cw@example.com>"));
    assert_non_null(cw_check_mail_from("Tab\there <cw@example.com>"));
    assert_non_null(cw_check_mail_from("Bad \xff <cw@example.com>"));
    assert_non_null(cw_check_mail_from("Name <cw@example.com"));
    assert_non_null(cw_check_mail_from("Name <not-an-address>"));
    char err[256];
    assert_int_equal(config_template_check("{{kind}} {{ json.text }} {{incident_id}}", err, sizeof err), 0);
    assert_int_equal(config_template_check("no placeholders", err, sizeof err), 0);
    assert_int_equal(config_template_check("x {{kindd}} y", err, sizeof err), -1);
    assert_non_null(strstr(err, "{{kindd}}"));
    assert_int_equal(config_template_check("x {{json.nope}}", err, sizeof err), -1);
    assert_int_equal(config_template_check("x {{kind", err, sizeof err), -1);
}

/* The snapshot carries everything; the channels' secrets only to a reader that keeps the SMTP password (the
 * alerter); a worker's shard gets no maintenance and no depends_on_idx. */
static void test_snapshot(void **state)
{
    struct ct *t = *state;
    ct_write(t, "slack.url", "https://hooks.slack.com/services/T/B/secret\n", 0600);
    ct_write(t, "tg.token", "123:ABC\n", 0600);
    ct_write(t, "og.key", "og-key\n", 0600);
    setenv("CLOCKWERK_CHANNEL_MY_GOTIFY_TOKEN", "gotify-token", 1);
    struct cw_config *c = ct_load(t, every_type);
    unsetenv("CLOCKWERK_CHANNEL_MY_GOTIFY_TOKEN");
    assert_non_null(c);
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/snap", t->dir);
    assert_int_equal(config_snapshot_write(c, path, err, sizeof err), 0);
    unsetenv("CLOCKWERK_SECRETS");
    struct cw_config *all = config_snapshot_read(path, 0, 0, err, sizeof err);
    assert_non_null(all);
    assert_true(config_same(c, all));
    setenv("CLOCKWERK_SECRETS", "smtp", 1);
    struct cw_config *alerter = config_snapshot_read(path, 0, 0, err, sizeof err);
    setenv("CLOCKWERK_SECRETS", "web,db", 1);
    struct cw_config *web = config_snapshot_read(path, 0, 0, err, sizeof err);
    unsetenv("CLOCKWERK_SECRETS");
    assert_non_null(alerter);
    assert_non_null(web);
    assert_string_equal(alerter->channels[8].token, "R0123");
    assert_string_equal(alerter->channels[1].headers[0], "X-Token: t0");
    assert_string_equal(alerter->channels[0].smtp_password, "pw1");
    assert_null(web->channels[8].token);
    assert_null(web->channels[0].smtp_password);
    assert_int_equal(web->channels[1].n_headers, 0);
    /* a channel's url (a chat service's is the secret; a legacy webhook's may be one) only to the alerter */
    assert_string_equal(alerter->channels[2].url, "https://hooks.slack.com/services/T/B/secret");
    assert_string_equal(alerter->channels[12].url, "http://127.0.0.1:9/legacy");
    assert_string_equal(alerter->webhooks[0].url, "http://127.0.0.1:9/legacy");
    for (size_t i = 0; i < web->n_channels; i++) assert_null(web->channels[i].url);
    assert_int_equal(web->n_webhooks, 1);
    assert_null(web->webhooks[0].url);
    struct cw_config *worker = config_snapshot_read(path, 0, 1, err, sizeof err);
    assert_non_null(worker);
    for (size_t i = 0; i < worker->n_channels; i++) assert_null(worker->channels[i].url);
    assert_null(worker->webhooks[0].url);
    config_free(worker);
    assert_string_equal(web->channels[1].body_template, "{{kind}} {{ json.name }}");
    assert_int_equal(web->channels[0].kinds, (1u << 1) | (1u << 2));
    config_free(all);
    config_free(alerter);
    config_free(web);
    config_free(c);

    c = ct_load(t, MON(EP("db", "group = \"g\";") ", " EP("api", "depends_on = \"db\"; severity = \"error\";")) ROUTED
                "maintenance = ( { name = \"w\"; endpoints = [\"api\"]; start = \"2026-12-24T22:00:00Z\"; "
                "duration = 60; } );\n");
    assert_non_null(c);
    assert_int_equal(config_snapshot_write(c, path, err, sizeof err), 0);
    all = config_snapshot_read(path, 0, 0, err, sizeof err);
    assert_non_null(all);
    assert_true(config_same(c, all));
    assert_int_equal(all->endpoints[1].depends_on_idx, 0);
    assert_int_equal(all->endpoints[1].severity, CW_SEV_ERROR);
    assert_int_equal(all->n_maintenance, 1);
    assert_int_equal(all->maintenance[0].endpoints[0], 1);
    assert_int_equal(all->n_escalate, 2);
    assert_int_equal(all->n_group_settings, 1);
    struct cw_config *shard = config_snapshot_read(path, 0, 2, err, sizeof err);
    assert_non_null(shard);
    assert_int_equal(shard->n_maintenance, 0);
    for (size_t i = 0; i < shard->n_endpoints; i++) assert_int_equal(shard->endpoints[i].depends_on_idx, -1);
    config_free(shard);
    config_free(all);
    config_free(c);
}

/* A reload that changes only a channel (or routing) restarts only the alerter; a maintenance window also the storer
 * and the web; neither touches a worker. */
static void test_reload_views(void **state)
{
    struct ct *t = *state;
    const char *fmt = "supervisor = { workers = 2; };\n" MON(EP("a", "group = \"g\";") ", " EP(
        "b",
        "%s")) "alerts = { "
               "channels = ( { name = \"n\"; type = \"ntfy\"; url = \"%s\"; } ); };\n"
               "database = { db_activation = true; db_name = \"x.db\"; };\nweb = { listen = \"127.0.0.1:1\"; };\n%s";
    const char *ep_extra[] = { "", "", "", "severity = \"info\";", "" };
    const char *urls[] = { "https://n/a", "https://n/b", "https://n/a", "https://n/a", "https://n/a" };
    const char *maint[] = { "", "",
                            "maintenance = ( { name = \"w\"; days = [\"*\"]; from = \"01:00\"; to = \"02:00\"; } );\n",
                            "", "" };
    struct cw_config *v[4];
    char text[2048];
    for (int i = 0; i < 4; i++) {
        snprintf(text, sizeof text, fmt, ep_extra[i], urls[i], maint[i]);
        v[i] = ct_load(t, text);
        if (!v[i]) ct_dump(t);
        assert_non_null(v[i]);
    }
    bool shards[2];
    for (int i = 1; i < 4; i++) {
        assert_false(reload_worker_globals_changed(v[0], v[i]));
        reload_changed_shards(v[0], v[i], 2, shards);
        assert_false(shards[0] || shards[1]);
        assert_true(reload_alerter_changed(v[0], v[i]));
    }
    assert_false(reload_storer_changed(v[0], v[1])); /* a channel's URL: the alerter's only */
    assert_false(reload_web_changed(v[0], v[1]));
    assert_true(reload_storer_changed(v[0], v[2])); /* a window: the storer's, the web's too */
    assert_true(reload_web_changed(v[0], v[2]));
    assert_false(reload_storer_changed(v[0], v[3])); /* an endpoint's severity: the alerter's only */
    assert_false(reload_web_changed(v[0], v[3]));
    assert_false(reload_alerter_changed(v[0], v[0]));
    for (int i = 0; i < 4; i++) config_free(v[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_type, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_routing_resolved, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_depends_on, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_refusals, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_secrets_in_readable_file, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_maintenance, ct_setup, ct_teardown),
        cmocka_unit_test(test_mail_from_and_templates),
        cmocka_unit_test_setup_teardown(test_snapshot, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_reload_views, ct_setup, ct_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
