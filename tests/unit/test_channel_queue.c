/* tests/unit/test_channel_queue.c — channel_queue (alerter/channel.c) on channels of a configuration built by
 * hand: the jobs name their channel and carry its message; the outbox names a job by its channel without its
 * secrets and drops the jobs of a channel that is gone or points elsewhere; the state file keeps a job's channel,
 * method, headers and destination; the webhook body_template and its check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "alerter/channel.h"
#include "common/config/config_template.h"
#include "alerter/outbox_int.h"
#include "alerter/statefile.h"
#include "tests/unit/alert_test_util.h"

#define S 1000000LL

static char *to_list[] = { "ops@example.test", "oncall@example.test" };
static char *hook_headers[] = { "Authorization: Bearer s3cret-header", "X-Team: infra" };

static void fill_cfg(struct cw_config *cfg, struct cw_channel *ch)
{
    memset(cfg, 0, sizeof *cfg);
    memset(ch, 0, 3 * sizeof *ch);
    ch[0] = (struct cw_channel){ .name = "ops-mail",
                                 .type = CW_CHAN_EMAIL,
                                 .kinds = CW_KINDS_ALL,
                                 .smtp_host = "127.0.0.1",
                                 .smtp_port = 2525,
                                 .smtp_tls = CW_SMTP_NONE,
                                 .email_from = "Clockwerk <cw@example.test>",
                                 .email_to = to_list,
                                 .n_email_to = 2,
                                 .verify_tls = true };
    ch[1] = (struct cw_channel){ .name = "hook",
                                 .type = CW_CHAN_WEBHOOK,
                                 .kinds = CW_KINDS_ALL,
                                 .url = "https://hooks.example.test/T000/s3cret-path",
                                 .headers = hook_headers,
                                 .n_headers = 2,
                                 .verify_tls = true };
    ch[2] = (struct cw_channel){ .name = "tpl",
                                 .type = CW_CHAN_WEBHOOK,
                                 .kinds = CW_KINDS_ALL,
                                 .url = "http://127.0.0.1:9/in",
                                 .body_template =
                                     "{\"k\":\"{{kind}}\",\"m\":\"{{json.message}}\",\"h\":\"{{ hostname }}\"}",
                                 .verify_tls = true };
    cfg->channels = ch;
    cfg->n_channels = 3;
}

static const struct chan_ctx ctx = { .hostname = "mon1.example.test", .now_wall_us = 1795579500 * S };

struct reports {
    int failed, delivered, retried;
    char last_error[128];
};

static void on_report(void *p, const struct outbox_job *job, const struct outbox_report *r)
{
    (void)job;
    struct reports *rep = p;
    if (r->outcome == OUTBOX_FAILED) rep->failed++;
    else if (r->outcome == OUTBOX_DELIVERED) rep->delivered++;
    else rep->retried++;
    snprintf(rep->last_error, sizeof rep->last_error, "%s", r->error ? r->error : "");
}

/* The configuration of fill_cfg, an outbox reporting to rep, n DOWN alerts. */
struct fixture {
    struct cw_config cfg;
    struct cw_channel ch[3];
    struct reports rep;
    struct outbox *ob;
    struct alert_rec *list[2];
    int n;
};

static void fixture_init(struct fixture *f, int n, const char *prefix)
{
    memset(f, 0, sizeof *f);
    fill_cfg(&f->cfg, f->ch);
    f->ob = outbox_new(&f->cfg, on_report, &f->rep);
    f->n = n;
    make_alerts(f->list, n, CW_ALERT_DOWN, prefix);
}

static void fixture_free(struct fixture *f)
{
    outbox_free(f->ob);
    free_alerts(f->list, f->n);
}

static void queue_email_and_webhook(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, 2, "q");
    struct cw_config cfg = f.cfg;
    struct outbox *ob = f.ob;
    struct alert_rec **list = f.list;
    struct cw_channel *ch = f.ch;
    list[0]->incident_id = list[0]->id;
    list[0]->severity = CW_SEV_ERROR;

    struct outbox_job *mail = channel_queue(ob, &cfg, 0, list, 1, &ctx);
    assert_non_null(mail);
    assert_int_equal(mail->channel, OUTBOX_MAIL);
    assert_string_equal(mail->chan, "ops-mail");
    assert_null(mail->target);
    assert_true(mail->key == list[0]->id);
    assert_int_equal(mail->n_ids, 1);
    assert_true(mail->alert_ids[0] == list[0]->id);
    assert_non_null(strstr(mail->payload, "ops@example.test"));
    assert_non_null(strstr(mail->payload, "Subject:"));

    struct outbox_job *hook = channel_queue(ob, &cfg, 1, list, 2, &ctx);
    assert_non_null(hook);
    assert_int_equal(hook->channel, OUTBOX_WEBHOOK);
    assert_string_equal(hook->chan, "hook");
    assert_string_equal(hook->method, "POST");
    assert_string_equal(hook->target, "https://hooks.example.test/T000/s3cret-path");
    assert_int_equal(hook->n_ids, 2);
    assert_int_equal(hook->n_headers, 3);
    assert_string_equal(hook->headers[0], "Content-Type: application/json");
    assert_string_equal(hook->headers[1], "Authorization: Bearer s3cret-header");
    assert_true(hook->dest == outbox_chan_dest(&ch[1]));
    json_object *o = json_tokener_parse(hook->payload);
    assert_non_null(o);
    json_object *v;
    assert_true(json_object_object_get_ex(o, "kind", &v));
    assert_string_equal(json_object_get_string(v), "summary");
    assert_true(json_object_object_get_ex(o, "hostname", &v));
    assert_string_equal(json_object_get_string(v), "mon1.example.test");
    json_object *alerts, *first;
    assert_true(json_object_object_get_ex(o, "alerts", &alerts));
    first = json_object_array_get_idx(alerts, 0);
    char id[24];
    snprintf(id, sizeof id, "%016llx", (unsigned long long)list[0]->id);
    assert_true(json_object_object_get_ex(first, "incident_id", &v));
    assert_string_equal(json_object_get_string(v), id);
    assert_true(json_object_object_get_ex(first, "severity", &v));
    assert_string_equal(json_object_get_string(v), "error");
    assert_true(json_object_object_get_ex(first, "children", &v));
    assert_true(json_object_is_type(v, json_type_array));
    json_object_put(o);

    /* named by channel, type and origin: never the path or a header value */
    char where[700];
    outbox_describe(ob, hook, where, sizeof where);
    assert_non_null(strstr(where, "channel hook (webhook) message "));
    assert_non_null(strstr(where, " to https://hooks.example.test"));
    assert_null(strstr(where, "s3cret"));
    outbox_describe(ob, mail, where, sizeof where);
    assert_non_null(strstr(where, "channel ops-mail (email) mail "));
    assert_non_null(strstr(where, " via smtp://127.0.0.1:2525"));
    assert_string_equal(outbox_smtp_of(ob, mail)->from, "<cw@example.test>");
    assert_int_equal(outbox_count(ob), 2);
    fixture_free(&f);
}

/* {{kind}} of --test-alert's message (kind 0) is "test", never "(null)"; {{message}} is the alert's message, the
 * same text as the default JSON body's "message" (the titled line is {{text}}). */
static void template_test_kind_and_message(void)
{
    struct cw_channel c = {
        .name = "t", .type = CW_CHAN_WEBHOOK, .url = "http://x/", .body_template = "{{kind}}|{{message}}"
    };
    struct alert_rec *one[1];
    make_alerts(one, 1, CW_ALERT_DOWN, "m");
    struct outbox_request r;
    assert_int_equal(channel_build_request(&c, one, 1, &ctx, &r), 0);
    char want[512];
    snprintf(want, sizeof want, "down|%s", one[0]->message);
    assert_string_equal(r.body, want);
    outbox_request_free(&r);
    one[0]->kind = 0;
    assert_int_equal(channel_build_request(&c, one, 1, &ctx, &r), 0);
    snprintf(want, sizeof want, "test|%s", one[0]->message);
    assert_string_equal(r.body, want);
    outbox_request_free(&r);
    free_alerts(one, 1);
}

static void template_body(void **state)
{
    (void)state;
    struct cw_config cfg;
    struct cw_channel ch[3];
    fill_cfg(&cfg, ch);
    struct alert_rec *list[1];
    make_alerts(list, 1, CW_ALERT_DOWN, "t\"q");
    struct outbox_request req;
    assert_int_equal(channel_build_request(&ch[2], list, 1, &ctx, &req), 0);
    json_object *o = json_tokener_parse(req.body);
    assert_non_null(o); /* the quote in the URL inside the message is escaped by {{json.message}} */
    json_object *v;
    assert_true(json_object_object_get_ex(o, "k", &v));
    assert_string_equal(json_object_get_string(v), "down");
    assert_true(json_object_object_get_ex(o, "h", &v));
    assert_string_equal(json_object_get_string(v), "mon1.example.test");
    assert_true(json_object_object_get_ex(o, "m", &v));
    assert_non_null(strstr(json_object_get_string(v), "t\"q0"));
    json_object_put(o);
    outbox_request_free(&req);
    free_alerts(list, 1);

    char err[256];
    assert_int_equal(config_template_check("{{kind}} {{ json.text }} {{incident_id}}", err, sizeof err), 0);
    assert_int_equal(config_template_check("no placeholders", err, sizeof err), 0);
    assert_int_equal(config_template_check("x {{kindd}} y", err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown placeholder '{{kindd}}'"));
    assert_int_equal(config_template_check("x {{json.nope}}", err, sizeof err), -1);
    assert_int_equal(config_template_check("x {{kind", err, sizeof err), -1);
    assert_non_null(strstr(err, "not closed"));
    /* every placeholder of the one list (common/config/config_template.h) passes the check and is substituted by
     * the renderer */
    for (size_t i = 0; i < CONFIG_TEMPLATE_N_FIELDS; i++) {
        const char *field = config_template_fields[i];
        char tpl[64];
        snprintf(tpl, sizeof tpl, "{{%s}}{{json.%s}}", field, field);
        assert_int_equal(config_template_check(tpl, err, sizeof err), 0);
        struct cw_channel c = { .name = "t", .type = CW_CHAN_WEBHOOK, .url = "http://x/", .body_template = tpl };
        struct alert_rec *one[1];
        make_alerts(one, 1, CW_ALERT_DOWN, "k");
        one[0]->incident_id = 7;
        struct outbox_request r;
        assert_int_equal(channel_build_request(&c, one, 1, &ctx, &r), 0);
        assert_null(strstr(r.body, "{{"));
        outbox_request_free(&r);
        free_alerts(one, 1);
    }
    template_test_kind_and_message();
}

/* The jobs of a channel taken out of the configuration, or whose URL changed, fail for good without an attempt;
 * a mail job follows its channel's new recipients. */
static void stale_jobs_dropped(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, 1, "d");
    struct cw_config cfg = f.cfg;
    struct outbox *ob = f.ob;
    struct alert_rec **list = f.list;
    assert_non_null(channel_queue(ob, &cfg, 1, list, 1, &ctx));
    assert_non_null(channel_queue(ob, &cfg, 2, list, 1, &ctx));
    struct outbox_job *mail = channel_queue(ob, &cfg, 0, list, 1, &ctx);
    assert_non_null(mail);

    struct cw_config cfg2;
    struct cw_channel ch2[3];
    fill_cfg(&cfg2, ch2);
    char *new_to[] = { "new@example.test" };
    ch2[0].email_to = new_to; /* ops-mail: new recipients */
    ch2[0].n_email_to = 1;
    ch2[1].url = "https://hooks.example.test/T000/other"; /* hook: another URL */
    cfg2.n_channels = 2;                                  /* tpl: removed */
    outbox_configure(ob, &cfg2);
    outbox_drop_stale(ob);
    assert_int_equal(f.rep.failed, 2);
    assert_int_equal(outbox_count(ob), 1);
    struct outbox_rcpts due = { 0 };
    outbox_mail_due(ob, outbox_job_at(ob, 0), &due);
    assert_int_equal(due.n, 1);
    assert_string_equal(due.addr[0], "new@example.test");
    outbox_rcpts_free(&due);
    fixture_free(&f);
}

static void statefile_keeps_channel(void **state)
{
    (void)state;
    char path[] = "/tmp/cw-test-chan-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    uint64_t ids[1] = { 42 };
    char *headers[] = { "Content-Type: application/json", "Authorization: GenieKey k" };
    struct statefile_job job = { .key = 42,
                                 .channel = OUTBOX_WEBHOOK,
                                 .chan = "og",
                                 .method = "POST",
                                 .target = "https://api.opsgenie.com/v2/alerts",
                                 .headers = headers,
                                 .n_headers = 2,
                                 .dest = 0xfeedface12345678ULL,
                                 .ids = ids,
                                 .n_ids = 1,
                                 .payload = "{}",
                                 .payload_len = 2 };
    struct statefile_job old = {
        .key = 43, .channel = OUTBOX_MAIL, .ids = ids, .n_ids = 1, .payload = "x", .payload_len = 1
    };
    struct statefile_job jobs[2] = { job, old };
    struct statefile_data d = { .jobs = jobs, .n_jobs = 2 };
    char err[256];
    assert_int_equal(statefile_save(path, &d, err, sizeof err), 0);
    struct statefile_data back;
    assert_int_equal(statefile_load(path, &back, err, sizeof err), 1);
    assert_int_equal(back.n_jobs, 2);
    assert_string_equal(back.jobs[0].chan, "og");
    assert_string_equal(back.jobs[0].method, "POST");
    assert_int_equal(back.jobs[0].n_headers, 2);
    assert_string_equal(back.jobs[0].headers[1], "Authorization: GenieKey k");
    assert_true(back.jobs[0].dest == 0xfeedface12345678ULL);
    assert_null(back.jobs[1].chan); /* a job of before channels */
    assert_int_equal(back.jobs[1].n_headers, 0);
    statefile_data_free(&back);
    unlink(path);
}

/* The alert that ends flapping (a DOWN here) on PagerDuty: its own event, and one resolving the flapping's key;
 * the alert's delivery there waits for both jobs. */
static void flap_end_resolves_flapping(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, 1, "f");
    f.ch[2] = (struct cw_channel){ .name = "pd", .type = CW_CHAN_PAGERDUTY, .kinds = CW_KINDS_ALL, .token = "R" };
    struct alert_rec *a = f.list[0];
    a->incident_id = a->id;
    a->flap_end = true;
    alert_add_delivery(a, "pd", false, CW_DELIVERY_PENDING);
    size_t before = outbox_count(f.ob);
    assert_non_null(channel_queue(f.ob, &f.cfg, 2, f.list, 1, &ctx));
    assert_int_equal(outbox_count(f.ob), before + 2);
    assert_int_equal(a->dl[0].pending, 1); /* the second job's; the caller counts the one it is told of */
    fixture_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(queue_email_and_webhook),    cmocka_unit_test(template_body),
        cmocka_unit_test(stale_jobs_dropped),         cmocka_unit_test(statefile_keeps_channel),
        cmocka_unit_test(flap_end_resolves_flapping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
