/* report/output.c — the three output formats of `clockwerk report` (output.h). */
#include "report/output.h"

#include <inttypes.h>
#include <math.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/clock.h"
#include "common/base/util.h"
#include "report/maint.h"

#define URL_SHOWN 2100 /* room for a masked configured URL */

void report_format_duration(int64_t ms, char *out, size_t outlen)
{
    int64_t s = ms / 1000;
    if (ms == 0) snprintf(out, outlen, "0s");
    else if (ms < 60000) snprintf(out, outlen, "%.1fs", (double)ms / 1000.0);
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

void report_format_pct(int64_t ok, int64_t checks, int decimals, char *out, size_t outlen)
{
    double scale = 1.0;
    for (int i = 0; i < decimals; i++) scale *= 10.0;
    /* truncated, never rounded: 1 failure in 300,000 checks is 99.999%, not 100.000% */
    double units = checks > 0 ? floor(100.0 * scale * (double)ok / (double)checks) : 0.0;
    if (ok < checks && units >= 100.0 * scale) units = 100.0 * scale - 1.0;
    snprintf(out, outlen, "%.*f", decimals, units / scale);
}

void report_format_ms(double ms, char *out, size_t outlen)
{
    if (ms >= 10.0) snprintf(out, outlen, "%.1f", ms);
    else if (ms >= 1.0) snprintf(out, outlen, "%.2f", ms);
    else if (ms > 0.0) snprintf(out, outlen, "%.3g", ms); /* 0.028, not 0.0 */
    else snprintf(out, outlen, "0");
}

/* East Asian wide and fullwidth code points: two terminal columns (the common blocks of Unicode's
 * EastAsianWidth W and F). */
static bool wide_code_point(uint32_t cp)
{
    return (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF && cp != 0x303F) ||
           (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0xFE30 && cp <= 0xFE4F) ||
           (cp >= 0xFF00 && cp <= 0xFF60) || (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1F64F) ||
           (cp >= 0x20000 && cp <= 0x3FFFD);
}

size_t report_display_width(const char *s)
{
    size_t n = 0;
    const unsigned char *c = (const unsigned char *)s;
    while (*c) {
        int len = *c >= 0xF0 ? 4 : *c >= 0xE0 ? 3 : *c >= 0xC0 ? 2 : 1;
        uint32_t cp = len == 1 ? *c : (uint32_t)(*c & (0x3F >> (len - 1)));
        int i = 1;
        for (; i < len && (c[i] & 0xC0) == 0x80; i++) cp = cp << 6 | (c[i] & 0x3F);
        n += i == len && wide_code_point(cp) ? 2 : 1; /* a broken sequence: one column per lead byte */
        c += i;
    }
    return n;
}

/* What the text table shows in its first column: the name, else the masked URL. */
static void display_name(const struct report_ep *e, char *out, size_t outlen)
{
    if (e->ep->name && e->ep->name[0]) snprintf(out, outlen, "%s", e->ep->name);
    else cw_mask_url(e->ep->url, out, outlen);
}

/* The rows to print: each endpoint in the configuration's order (the reports share it), then its row of each report
 * that shows it (report_ep_shown). */
struct rows {
    const struct report *const *reps;
    size_t n_reps, ep, rep;
};

/* The next row (its report in *rep), or NULL at the end. */
static const struct report_ep *next_row(struct rows *it, const struct report **rep)
{
    while (it->n_reps && it->ep < it->reps[0]->n) {
        const struct report *r = it->reps[it->rep];
        const struct report_ep *e = &r->eps[it->ep];
        if (++it->rep == it->n_reps) {
            it->rep = 0;
            it->ep++;
        }
        if (it->n_reps == 1 || report_ep_shown(r, e)) {
            *rep = r;
            return e;
        }
    }
    return NULL;
}

/* A report's location as a row shows it: "" (checks stored before locations) as "-" in the text. */
static const char *location_shown(const struct report *rep, bool text)
{
    return rep->location && rep->location[0] ? rep->location : text ? "-" : "";
}

#define TEXT_COLS 12

/* One row of the text table, each cell formatted. */
struct text_row {
    char cell[TEXT_COLS][URL_SHOWN];
};

static const char *const text_heads[TEXT_COLS] = { "ENDPOINT", "LOCATION",      "CHECKS", "UPTIME",
                                                   "DOWNTIME", "INC",           "P50",    "P95",
                                                   "P99",      "SLOWEST PHASE", "STATE",  "MAINT" };

static void text_cells(const struct report *rep, const struct report_ep *e, struct text_row *row)
{
    char(*c)[URL_SHOWN] = row->cell;
    display_name(e, c[0], sizeof c[0]);
    snprintf(c[1], sizeof c[1], "%s", location_shown(rep, true));
    c++; /* the columns after LOCATION */
    snprintf(c[1], sizeof c[1], "%" PRId64, e->t.checks);
    snprintf(c[2], sizeof c[2], "-");
    int64_t checks, ok;
    report_uptime_counts(e, &checks, &ok);
    if (checks) {
        report_format_pct(ok, checks, 3, c[2], sizeof c[2]);
        strcat(c[2], "%");
    }
    report_format_duration(e->dt.down_ms, c[3], sizeof c[3]);
    snprintf(c[4], sizeof c[4], "%u", e->dt.incidents);
    const double p[3] = { e->fig.p50_ms, e->fig.p95_ms, e->fig.p99_ms };
    for (int i = 0; i < 3; i++) {
        if (e->fig.has_latency) report_format_ms(p[i], c[5 + i], sizeof c[5 + i]);
        else snprintf(c[5 + i], sizeof c[5 + i], "-");
    }
    snprintf(c[8], sizeof c[8], "-");
    if (e->fig.slowest >= 0) {
        char mean[32];
        report_format_ms(e->fig.slowest_ms, mean, sizeof mean);
        snprintf(c[8], sizeof c[8], "%s %s", tally_phase_name(e->fig.slowest), mean);
    }
    snprintf(c[9], sizeof c[9], "%s", report_state(e));
    report_format_duration(e->maint_ms, c[10], sizeof c[10]);
}

/* The cells padded to their column's display width: text columns left, numbers right; two spaces between. The
 * LOCATION column only in a report of one location. */
static void print_cells(FILE *out, const char *const *cells, const size_t *width, bool with_location)
{
    for (int i = 0; i < TEXT_COLS; i++) {
        if (i == 1 && !with_location) continue;
        size_t pad = width[i] - report_display_width(cells[i]);
        bool left = i <= 1 || i >= 9;
        if (!left) fprintf(out, "%*s", (int)pad, "");
        fputs(cells[i], out);
        if (i == TEXT_COLS - 1) break;
        fprintf(out, "%*s", (int)(left ? pad + 2 : 2), "");
    }
    fputc('\n', out);
}

static void print_text(FILE *out, const struct report *const *reps, size_t n_reps)
{
    const struct report *rep = reps[0], *at = rep;
    bool with_location = rep->location != NULL;
    const struct report_ep *e;
    char since[32], until[32], from[32], to[32];
    cw_format_iso8601(rep->since_ms * 1000, since, sizeof since);
    cw_format_iso8601(rep->until_ms * 1000, until, sizeof until);
    cw_format_iso8601(rep->split.hours.from * 1000, from, sizeof from);
    cw_format_iso8601(rep->split.hours.to * 1000, to, sizeof to);
    /* formatted twice (sizes, then lines) rather than kept: 10,000 endpoints hold no table in memory */
    struct text_row *row = cw_xcalloc(1, sizeof *row);
    const char *cells[TEXT_COLS];
    for (int c = 0; c < TEXT_COLS; c++) cells[c] = row->cell[c];
    size_t width[TEXT_COLS];
    for (int c = 0; c < TEXT_COLS; c++) width[c] = report_display_width(text_heads[c]);
    for (struct rows it = { reps, n_reps, 0, 0 }; (e = next_row(&it, &at)) != NULL;) {
        text_cells(at, e, row);
        for (int c = 0; c < TEXT_COLS; c++) {
            size_t w = report_display_width(row->cell[c]);
            if (w > width[c]) width[c] = w;
        }
    }
    fprintf(out, "window %s .. %s (checks: the whole hours %s .. %s; latencies in ms)\n", since, until, from, to);
    if (n_reps && reps[0]->cfg && reps[0]->cfg->db_raw == CW_RAW_NONE) /* maintenance is told by the raw rows */
        fprintf(out, "note: database.raw is none: checks made in maintenance windows while no raw rows were kept are "
                     "counted in the uptime\n");
    print_cells(out, text_heads, width, with_location);
    for (struct rows it = { reps, n_reps, 0, 0 }; (e = next_row(&it, &at)) != NULL;) {
        text_cells(at, e, row);
        print_cells(out, cells, width, with_location);
    }
    free(row);
}

static void print_csv(FILE *out, const struct report *const *reps, size_t n_reps)
{
    const struct report *at = reps[0];
    bool with_location = at->location != NULL;
    fprintf(out,
            "name,url,%schecks,ok,uptime_pct,downtime_s,incidents,p50_ms,p95_ms,p99_ms,slowest_phase,slowest_phase_ms,"
            "state,maintenance_s,maintenance_checks\r\n",
            with_location ? "location," : "");
    const struct report_ep *e;
    for (struct rows it = { reps, n_reps, 0, 0 }; (e = next_row(&it, &at)) != NULL;) {
        char url[URL_SHOWN];
        cw_mask_url(e->ep->url, url, sizeof url);
        report_csv_field(out, e->ep->name ? e->ep->name : "");
        fputc(',', out);
        report_csv_field(out, url);
        if (with_location) {
            fputc(',', out);
            report_csv_field(out, location_shown(at, false));
        }
        fprintf(out, ",%" PRId64 ",%" PRId64 ",", e->t.checks, e->t.ok);
        char pct[32];
        int64_t checks, ok;
        report_uptime_counts(e, &checks, &ok);
        report_format_pct(ok, checks, 6, pct, sizeof pct);
        if (checks) fputs(pct, out);
        fprintf(out, ",%.3f,%u,", (double)e->dt.down_ms / 1000.0, e->dt.incidents);
        if (e->fig.has_latency) fprintf(out, "%.3f,%.3f,%.3f", e->fig.p50_ms, e->fig.p95_ms, e->fig.p99_ms);
        else fputs(",,", out);
        if (e->fig.slowest >= 0) fprintf(out, ",%s,%.3f", tally_phase_name(e->fig.slowest), e->fig.slowest_ms);
        else fputs(",,", out);
        fprintf(out, ",%s,%.3f,%" PRId64 "\r\n", report_state(e), (double)e->maint_ms / 1000.0, e->t.checks - checks);
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

static json_object *json_endpoint(const struct report *rep, const struct report_ep *e)
{
    char url[URL_SHOWN];
    cw_mask_url(e->ep->url, url, sizeof url);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "name", e->ep->name ? json_object_new_string(e->ep->name) : NULL);
    json_object_object_add(o, "url", json_object_new_string(url));
    json_object_object_add(o, "location", rep->location ? json_object_new_string(location_shown(rep, false)) : NULL);
    json_object_object_add(o, "checks", json_object_new_int64(e->t.checks));
    json_object_object_add(o, "ok", json_object_new_int64(e->t.ok));
    char pct[32];
    int64_t checks, ok;
    report_uptime_counts(e, &checks, &ok);
    report_format_pct(ok, checks, 6, pct, sizeof pct);
    json_object_object_add(o, "uptime_pct", checks > 0 ? json_object_new_double_s(atof(pct), pct) : NULL);
    json_object_object_add(o, "maintenance_checks", json_object_new_int64(e->t.checks - checks));
    json_object_object_add(o, "maintenance_s", json_fixed(true, (double)e->maint_ms / 1000.0, 3));
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

static void print_json(FILE *out, const struct report *const *reps, size_t n_reps)
{
    const struct report *rep = reps[0], *at = rep;
    const struct report_ep *e;
    json_object *root = json_object_new_object(), *list = json_object_new_array();
    add_time(root, "since", rep->since_ms);
    add_time(root, "until", rep->until_ms);
    add_time(root, "checks_since", rep->split.hours.from);
    add_time(root, "checks_until", rep->split.hours.to);
    for (struct rows it = { reps, n_reps, 0, 0 }; (e = next_row(&it, &at)) != NULL;)
        json_object_array_add(list, json_endpoint(at, e));
    json_object_object_add(root, "endpoints", list);
    fprintf(out, "%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(root);
}

int report_print(FILE *out, const struct report *const *reps, size_t n, enum report_format format)
{
    if (n == 0) return 0;
    if (format == REPORT_JSON) print_json(out, reps, n);
    else if (format == REPORT_CSV) print_csv(out, reps, n);
    else print_text(out, reps, n);
    return fflush(out) == 0 && !ferror(out) ? 0 : -1;
}
