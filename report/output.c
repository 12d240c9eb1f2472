/* report/output.c — the three output formats of `clockwerk report` (output.h). */
#include "report/output.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <string.h>

#include "common/base/clock.h"
#include "common/base/util.h"

#define URL_SHOWN 2100 /* room for a masked configured URL */

void report_format_duration(int64_t ms, char *out, size_t outlen)
{
    int64_t s = ms / 1000;
    if (ms < 60000) snprintf(out, outlen, ms % 1000 ? "%.1fs" : "%.0fs", (double)ms / 1000.0);
    else if (s < 3600) snprintf(out, outlen, "%" PRId64 "m %02" PRId64 "s", s / 60, s % 60);
    else if (s < 86400)
        snprintf(out, outlen, "%" PRId64 "h %02" PRId64 "m %02" PRId64 "s", s / 3600, s / 60 % 60, s % 60);
    else snprintf(out, outlen, "%" PRId64 "d %02" PRId64 "h %02" PRId64 "m", s / 86400, s / 3600 % 24, s / 60 % 60);
}

void report_csv_field(FILE *out, const char *field)
{
    if (!strpbrk(field, ",\"\r\n")) {
        fputs(field, out);
        return;
    }
    fputc('"', out);
    for (const char *p = field; *p; p++) {
        if (*p == '"') fputc('"', out);
        fputc(*p, out);
    }
    fputc('"', out);
}

static double uptime_pct(const struct report_ep *e)
{
    return e->t.checks ? 100.0 * (double)e->t.ok / (double)e->t.checks : 0.0;
}

/* What the text table shows in its first column: the name, else the masked URL. */
static void display_name(const struct report_ep *e, char *out, size_t outlen)
{
    if (e->ep->name && e->ep->name[0]) snprintf(out, outlen, "%s", e->ep->name);
    else cw_mask_url(e->ep->url, out, outlen);
}

static void print_text_row(FILE *out, const struct report_ep *e, int width)
{
    char name[URL_SHOWN], up[16] = "-", down[48], p[3][24] = { "-", "-", "-" }, slow[40] = "-";
    display_name(e, name, sizeof name);
    if (e->t.checks) snprintf(up, sizeof up, "%.3f%%", uptime_pct(e));
    report_format_duration(e->dt.down_ms, down, sizeof down);
    if (e->fig.has_latency) {
        snprintf(p[0], sizeof p[0], "%.1f", e->fig.p50_ms);
        snprintf(p[1], sizeof p[1], "%.1f", e->fig.p95_ms);
        snprintf(p[2], sizeof p[2], "%.1f", e->fig.p99_ms);
    }
    if (e->fig.slowest >= 0)
        snprintf(slow, sizeof slow, "%s %.1f", tally_phase_name(e->fig.slowest), e->fig.slowest_ms);
    fprintf(out, "%-*s %9" PRId64 " %9s %12s %5u %9s %9s %9s  %-14s %s\n", width, name, e->t.checks, up, down,
            e->dt.incidents, p[0], p[1], p[2], slow, report_state(e));
}

static void print_text(FILE *out, const struct report *rep)
{
    char since[32], until[32], from[32], to[32], name[URL_SHOWN];
    cw_format_iso8601(rep->since_ms * 1000, since, sizeof since);
    cw_format_iso8601(rep->until_ms * 1000, until, sizeof until);
    cw_format_iso8601(rep->split.hours.from * 1000, from, sizeof from);
    cw_format_iso8601(rep->split.hours.to * 1000, to, sizeof to);
    int width = 8;
    for (size_t i = 0; i < rep->n; i++) {
        display_name(&rep->eps[i], name, sizeof name);
        int len = (int)strlen(name);
        if (len > width) width = len;
    }
    fprintf(out, "window %s .. %s (checks: the whole hours %s .. %s; latencies in ms)\n", since, until, from, to);
    fprintf(out, "%-*s %9s %9s %12s %5s %9s %9s %9s  %-14s %s\n", width, "ENDPOINT", "CHECKS", "UPTIME", "DOWNTIME",
            "INC", "P50", "P95", "P99", "SLOWEST PHASE", "STATE");
    for (size_t i = 0; i < rep->n; i++) print_text_row(out, &rep->eps[i], width);
}

static void print_csv(FILE *out, const struct report *rep)
{
    fputs("name,url,checks,ok,uptime_pct,downtime_s,incidents,p50_ms,p95_ms,p99_ms,slowest_phase,slowest_phase_ms,"
          "state\r\n",
          out);
    for (size_t i = 0; i < rep->n; i++) {
        const struct report_ep *e = &rep->eps[i];
        char url[URL_SHOWN];
        cw_mask_url(e->ep->url, url, sizeof url);
        report_csv_field(out, e->ep->name ? e->ep->name : "");
        fputc(',', out);
        report_csv_field(out, url);
        fprintf(out, ",%" PRId64 ",%" PRId64 ",", e->t.checks, e->t.ok);
        if (e->t.checks) fprintf(out, "%.6f", uptime_pct(e));
        fprintf(out, ",%.3f,%u,", (double)e->dt.down_ms / 1000.0, e->dt.incidents);
        if (e->fig.has_latency) fprintf(out, "%.3f,%.3f,%.3f", e->fig.p50_ms, e->fig.p95_ms, e->fig.p99_ms);
        else fputs(",,", out);
        if (e->fig.slowest >= 0) fprintf(out, ",%s,%.3f", tally_phase_name(e->fig.slowest), e->fig.slowest_ms);
        else fputs(",,", out);
        fprintf(out, ",%s\r\n", report_state(e));
    }
}

/* A number printed with `decimals` digits after the point (json-c would print 17 significant digits), or null. */
static json_object *json_fixed(bool known, double v, int decimals)
{
    if (!known) return NULL;
    char text[64];
    snprintf(text, sizeof text, "%.*f", decimals, v);
    return json_object_new_double_s(v, text);
}

static json_object *json_ms(bool known, double v) { return json_fixed(known, v, 3); }

static json_object *json_endpoint(const struct report_ep *e)
{
    char url[URL_SHOWN];
    cw_mask_url(e->ep->url, url, sizeof url);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "name", e->ep->name ? json_object_new_string(e->ep->name) : NULL);
    json_object_object_add(o, "url", json_object_new_string(url));
    json_object_object_add(o, "checks", json_object_new_int64(e->t.checks));
    json_object_object_add(o, "ok", json_object_new_int64(e->t.ok));
    json_object_object_add(o, "uptime_pct", json_fixed(e->t.checks > 0, uptime_pct(e), 6));
    json_object_object_add(o, "downtime_s", json_fixed(true, (double)e->dt.down_ms / 1000.0, 3));
    json_object_object_add(o, "incidents", json_object_new_int64(e->dt.incidents));
    json_object_object_add(o, "p50_ms", json_ms(e->fig.has_latency, e->fig.p50_ms));
    json_object_object_add(o, "p95_ms", json_ms(e->fig.has_latency, e->fig.p95_ms));
    json_object_object_add(o, "p99_ms", json_ms(e->fig.has_latency, e->fig.p99_ms));
    bool slow = e->fig.slowest >= 0;
    json_object_object_add(o, "slowest_phase", slow ? json_object_new_string(tally_phase_name(e->fig.slowest)) : NULL);
    json_object_object_add(o, "slowest_phase_ms", json_ms(slow, e->fig.slowest_ms));
    json_object_object_add(o, "state", json_object_new_string(report_state(e)));
    return o;
}

static void add_time(json_object *o, const char *key, int64_t ms)
{
    char when[32];
    json_object_object_add(o, key, json_object_new_string(cw_format_iso8601(ms * 1000, when, sizeof when)));
}

static void print_json(FILE *out, const struct report *rep)
{
    json_object *root = json_object_new_object(), *list = json_object_new_array();
    add_time(root, "since", rep->since_ms);
    add_time(root, "until", rep->until_ms);
    add_time(root, "checks_since", rep->split.hours.from);
    add_time(root, "checks_until", rep->split.hours.to);
    for (size_t i = 0; i < rep->n; i++) json_object_array_add(list, json_endpoint(&rep->eps[i]));
    json_object_object_add(root, "endpoints", list);
    fprintf(out, "%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(root);
}

int report_print(FILE *out, const struct report *rep, enum report_format format)
{
    if (format == REPORT_JSON) print_json(out, rep);
    else if (format == REPORT_CSV) print_csv(out, rep);
    else print_text(out, rep);
    return fflush(out) == 0 && !ferror(out) ? 0 : -1;
}
