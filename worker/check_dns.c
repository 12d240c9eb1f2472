/* worker/check_dns.c — the dns check: one query for `host` of `record_type` at `dns_server` (or the system's
 * resolvers), asynchronous on the worker's loop through c-ares (worker/resolve.h); the rcode must be
 * expect_rcode and every expect_answers entry must equal one answer (worker/dns_parse.h). Latency: the query
 * time. Figures: {"rcode", "answers_total" (when the reply had more answers than are kept), "answers": [...],
 * "answers_cut" (answers the figures' budget left out), "server"}. A check ends at its deadline ("timed out after
 * T"), or earlier when c-ares gives up on the server (2 s, then 4 s: "no answer after 2 tries").
 *
 * DESIGN
 * The query goes out with ares_send on the channel of its server, created with ARES_FLAG_NOCHECKRESP: without
 * it c-ares treats SERVFAIL, NOTIMP and REFUSED as failures and tries the next server, and the check could not
 * say which rcode came. The raw answer is read by dns_parse.c. c-ares 1.18 cannot cancel one query: the
 * callback's argument is the check's slot and generation, and an answer for a check that already ended (its
 * deadline) finds engine_check NULL and is dropped; the query itself ends by c-ares's own timeout. */
#include <ares.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/base/clock.h"
#include "worker/check.h"
#include "worker/dns_parse.h"

static struct engine *dns_engine; /* the one engine of this worker (set by open) */

static int dns_open(struct engine *e, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    dns_engine = e;
    return 0;
}

static const char *server_text(const struct check *c)
{
    return c->ep->spec->dns_server ? c->ep->spec->dns_server : "system";
}

/* `answer "X" not among A, B` (the answers cut to what fits) */
static void fail_answer(struct check *c, const struct dns_reply *rep, const char *want)
{
    char list[CW_ERROR_MAX + 1];
    size_t n = 0;
    list[0] = '\0';
    for (unsigned i = 0; i < rep->n && n < sizeof list; i++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", dns_reply_answer(rep, i));
    if (rep->n == 0) snprintf(list, sizeof list, "(no answers)");
    check_fail(c, "answer \"%s\" not among %s", want, list);
}

static void judge(struct check *c, const struct dns_reply *rep)
{
    const struct cw_endpoint *ep = c->ep;
    char got[16], want[16];
    if (rep->rcode != ep->spec->expect_rcode) {
        check_fail(c, "rcode %s (wanted %s)", dns_rcode_name(rep->rcode, got, sizeof got),
                   dns_rcode_name(ep->spec->expect_rcode, want, sizeof want));
        return;
    }
    for (size_t i = 0; i < ep->spec->n_expect_answers; i++) {
        bool found = false;
        for (unsigned k = 0; k < rep->n && !found; k++)
            found = dns_answer_matches(ep->spec->record_type, ep->spec->expect_answers[i], dns_reply_answer(rep, k));
        if (!found) {
            fail_answer(c, rep, ep->spec->expect_answers[i]);
            return;
        }
    }
    check_succeed(c);
}

static void put_figures(struct check *c, const struct dns_reply *rep)
{
    char buf[16];
    figures_str(&c->fig, "rcode", dns_rcode_name(rep->rcode, buf, sizeof buf));
    /* before the array, so the budget cannot leave it out once the array has used the room */
    if (rep->total > rep->n) figures_int(&c->fig, "answers_total", rep->total);
    figures_array_begin(&c->fig, "answers");
    for (unsigned i = 0; i < rep->n; i++) figures_array_str(&c->fig, dns_reply_answer(rep, i));
    figures_array_end(&c->fig); /* "answers_cut": the answers the budget left out */
    figures_str(&c->fig, "server", server_text(c));
}

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    uintptr_t token = (uintptr_t)arg;
    struct check *c = dns_engine ? engine_check(dns_engine, (uint32_t)(token >> 32), (uint32_t)token) : NULL;
    if (!c) return; /* ended meanwhile (deadline, shutdown) */
    c->r.latency_us = check_elapsed_us(c, cw_mono_ns());
    if (status != ARES_SUCCESS || !abuf || alen <= 0) {
        figures_str(&c->fig, "server", server_text(c));
        if (status == ARES_ETIMEOUT) { /* c-ares gave up before the check's deadline (which ends the check) */
            check_fail(c, "no answer after %d %s (server %s)", timeouts, timeouts == 1 ? "try" : "tries",
                       server_text(c));
        } else if (status == ARES_ECONNREFUSED) {
            check_fail(c, "connection refused (server %s)", server_text(c));
        } else {
            check_fail(c, "query failed: %s (server %s)", ares_strerror(status), server_text(c));
        }
        return;
    }
    struct dns_reply rep;
    char err[160];
    if (dns_reply_parse(abuf, (size_t)alen, c->ep->spec->record_type, &rep, err, sizeof err) != 0) {
        figures_str(&c->fig, "server", server_text(c));
        check_fail(c, "%s (server %s)", err, server_text(c));
    } else {
        put_figures(c, &rep);
        judge(c, &rep);
    }
    dns_reply_free(&rep);
}

static void dns_start(struct check *c)
{
    char err[256];
    ares_channel ch =
        resolver_channel(engine_resolver(c->eng), c->ep->spec->dns_server, ARES_FLAG_NOCHECKRESP, err, sizeof err);
    if (!ch) {
        check_fail(c, "%s", err);
        return;
    }
    uint8_t *q;
    size_t qlen;
    if (dns_query_build(c->ep->host, c->ep->spec->record_type ? c->ep->spec->record_type : DNS_TYPE_A, &q, &qlen, err,
                        sizeof err) != 0) {
        check_fail(c, "%s", err);
        return;
    }
    uintptr_t token = ((uintptr_t)c->slot << 32) | c->gen;
    ares_send(ch, q, (int)qlen, on_answer, (void *)token); /* may answer at once (a send error) */
    dns_query_free(q);
}

static void dns_on_timeout(struct check *c)
{
    char t[32];
    figures_str(&c->fig, "server", server_text(c));
    check_fail(c, "timed out after %s (server %s)", check_timeout_text(c, t, sizeof t), server_text(c));
}

static void dns_release(struct check *c) { (void)c; /* the query, if still out, ends in c-ares */ }

static void dns_close(struct engine *e)
{
    (void)e;
    dns_engine = NULL;
}

const struct check_ops check_dns_ops = {
    .name = "dns",
    .open = dns_open,
    .close = dns_close,
    .start = dns_start,
    .on_timeout = dns_on_timeout,
    .release = dns_release,
};
