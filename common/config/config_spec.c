/* common/config/config_spec.c — the check spec as a value (see config_spec.h and config.h): deep equality, a hash
 * over the same fields, a deep copy into an arena, and the set that interns specs (open addressing over the hashes:
 * a config has a few hundred distinct specs, at most one per endpoint). */
#include "common/config/config_spec.h"
#include "common/base/util.h"

#include <stdlib.h>
#include <string.h>

const struct cw_check_spec cw_check_spec_none;

/* ---- equality ---- */

static bool same_str(const char *a, const char *b) { return a == b || (a && b && strcmp(a, b) == 0); }

static bool same_bytes(const char *a, const char *b, size_t n) { return a == b || (a && b && memcmp(a, b, n) == 0); }

static bool same_strv(char *const *a, char *const *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!same_str(a[i], b[i])) return false;
    return true;
}

static bool same_conditions(const struct cw_condition *a, const struct cw_condition *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].op != b[i].op || a[i].value_kind != b[i].value_kind || !same_str(a[i].text, b[i].text) ||
            !same_str(a[i].subject, b[i].subject) || !same_str(a[i].value, b[i].value))
            return false;
    return true;
}

/* The scalars and counts (compared first: cheap, and they bound the arrays compared after). */
static bool same_scalars(const struct cw_check_spec *a, const struct cw_check_spec *b)
{
    return a->method == b->method && a->body_len == b->body_len && a->n_expect_status == b->n_expect_status &&
           a->n_headers == b->n_headers && a->send_len == b->send_len && a->starttls == b->starttls &&
           a->min_cert_days == b->min_cert_days && a->expect_rcode == b->expect_rcode &&
           a->n_expect_answers == b->n_expect_answers && a->icmp_count == b->icmp_count &&
           a->http_version == b->http_version && a->n_status_ranges == b->n_status_ranges &&
           a->n_keywords == b->n_keywords && a->n_keywords_absent == b->n_keywords_absent &&
           a->n_body_regex == b->n_body_regex && a->n_body_regex_absent == b->n_body_regex_absent &&
           a->n_json_conditions == b->n_json_conditions && a->n_header_conditions == b->n_header_conditions &&
           a->body_limit == b->body_limit && a->record_type == b->record_type && a->verify_tls == b->verify_tls &&
           a->follow_redirects == b->follow_redirects && a->fail_if_not_tls == b->fail_if_not_tls &&
           a->compressed == b->compressed && a->cookies == b->cookies && a->packet_interval == b->packet_interval &&
           a->max_loss == b->max_loss && a->grace == b->grace && a->max_response_time == b->max_response_time;
}

bool cw_check_spec_equal(const struct cw_check_spec *a, const struct cw_check_spec *b)
{
    if (!a) a = &cw_check_spec_none;
    if (!b) b = &cw_check_spec_none;
    if (a == b) return true;
    if (!same_scalars(a, b)) return false;
    /* a hand-built spec may leave body_len 0 beside a text body */
    if (a->body_len ? !same_bytes(a->body, b->body, a->body_len) : !same_str(a->body, b->body)) return false;
    if (!same_bytes(a->send, b->send, a->send_len) || (!a->send_len && !same_str(a->send, b->send))) return false;
    if (a->n_expect_status &&
        (!a->expect_status || !b->expect_status ||
         memcmp(a->expect_status, b->expect_status, a->n_expect_status * sizeof *a->expect_status) != 0))
        return false;
    for (size_t i = 0; i < a->n_status_ranges; i++)
        if (a->status_ranges[i].lo != b->status_ranges[i].lo || a->status_ranges[i].hi != b->status_ranges[i].hi)
            return false;
    const char *sa[] = { a->keyword,    a->ca_file,     a->expect,     a->server_name,
                         a->dns_server, a->client_cert, a->client_key, a->client_key_password,
                         a->proxy,      a->address };
    const char *sb[] = { b->keyword,    b->ca_file,     b->expect,     b->server_name,
                         b->dns_server, b->client_cert, b->client_key, b->client_key_password,
                         b->proxy,      b->address };
    for (size_t i = 0; i < sizeof sa / sizeof sa[0]; i++)
        if (!same_str(sa[i], sb[i])) return false;
    return same_strv(a->headers, b->headers, a->n_headers) &&
           same_strv(a->expect_answers, b->expect_answers, a->n_expect_answers) &&
           same_strv(a->keywords, b->keywords, a->n_keywords) &&
           same_strv(a->keywords_absent, b->keywords_absent, a->n_keywords_absent) &&
           same_strv(a->body_regex, b->body_regex, a->n_body_regex) &&
           same_strv(a->body_regex_absent, b->body_regex_absent, a->n_body_regex_absent) &&
           same_conditions(a->json_conditions, b->json_conditions, a->n_json_conditions) &&
           same_conditions(a->header_conditions, b->header_conditions, a->n_header_conditions);
}

/* ---- hashing (FNV-1a over the fields, a NULL string apart from "") ---- */

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++) h = (h ^ c[i]) * 0x100000001b3ull;
    return h;
}

/* A 64-bit word at once (the scalars: 96 bytes a spec, 500,000 specs a load, byte by byte was 6% of a parse). */
static uint64_t mix64(uint64_t h, uint64_t w)
{
    h = (h ^ w) * 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 29);
}

static uint64_t mix_str(uint64_t h, const char *s)
{
    if (!s) return (h ^ 0xFFu) * 0x100000001b3ull * 31u;
    return mix(h, s, strlen(s) + 1);
}

static uint64_t mix_strv(uint64_t h, char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++) h = mix_str(h, v[i]);
    return h;
}

uint64_t cw_check_spec_hash(const struct cw_check_spec *s)
{
    if (!s) s = &cw_check_spec_none;
    uint64_t h = 0xcbf29ce484222325ull;
    /* the 4-byte scalars and the small ones, field by field (no padding bytes hashed) */
    int32_t v[] = { (int32_t)s->method,
                    (int32_t)s->body_len,
                    (int32_t)s->n_expect_status,
                    (int32_t)s->n_headers,
                    (int32_t)s->send_len,
                    (int32_t)s->starttls,
                    s->min_cert_days,
                    s->expect_rcode,
                    (int32_t)s->n_expect_answers,
                    s->icmp_count,
                    (int32_t)s->http_version,
                    (int32_t)s->n_status_ranges,
                    (int32_t)s->n_keywords,
                    (int32_t)s->body_limit,
                    s->record_type,
                    s->verify_tls | s->follow_redirects << 1 | s->fail_if_not_tls << 2 | s->compressed << 3 |
                        s->cookies << 4 };
    size_t nv = sizeof v / sizeof v[0];
    for (size_t i = 0; i + 1 < nv; i += 2) h = mix64(h, (uint64_t)(uint32_t)v[i] | (uint64_t)(uint32_t)v[i + 1] << 32);
    if (nv % 2) h = mix64(h, (uint32_t)v[nv - 1]);
    double d[] = { s->packet_interval, s->max_loss, s->grace, s->max_response_time };
    for (size_t i = 0; i < 4; i++) {
        uint64_t w = 0;
        if (d[i] != 0) memcpy(&w, &d[i], sizeof w); /* -0.0 == 0.0 */
        h = mix64(h, w);
    }
    h = s->body_len ? mix(h, s->body, s->body_len) : mix_str(h, s->body);
    h = s->send_len ? mix(h, s->send, s->send_len) : mix_str(h, s->send);
    if (s->n_expect_status && s->expect_status)
        h = mix(h, s->expect_status, s->n_expect_status * sizeof *s->expect_status);
    const char *strs[] = { s->keyword,    s->ca_file,     s->expect,     s->server_name,
                           s->dns_server, s->client_cert, s->client_key, s->client_key_password,
                           s->proxy,      s->address };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) h = mix_str(h, strs[i]);
    h = mix_strv(h, s->headers, s->n_headers);
    h = mix_strv(h, s->keywords, s->n_keywords);
    h = mix_strv(h, s->body_regex, s->n_body_regex);
    for (size_t i = 0; i < s->n_json_conditions; i++) h = mix_str(h, s->json_conditions[i].text);
    for (size_t i = 0; i < s->n_header_conditions; i++) h = mix_str(h, s->header_conditions[i].text);
    return h ^ (h >> 31);
}

/* ---- copying ---- */

static char **copy_strv(struct cw_arena *a, char *const *v, size_t n)
{
    if (!v) return NULL;
    char **out = cw_arena_alloc(a, (n ? n : 1) * sizeof *out);
    for (size_t i = 0; i < n; i++) out[i] = cw_arena_strdup(a, v[i]);
    return out;
}

static struct cw_condition *copy_conditions(struct cw_arena *a, const struct cw_condition *c, size_t n)
{
    if (!c) return NULL;
    struct cw_condition *out = cw_arena_alloc(a, (n ? n : 1) * sizeof *out);
    for (size_t i = 0; i < n; i++) {
        out[i] = c[i];
        out[i].text = cw_arena_strdup(a, c[i].text);
        out[i].subject = cw_arena_strdup(a, c[i].subject);
        out[i].value = cw_arena_strdup(a, c[i].value);
    }
    return out;
}

static void *copy_mem(struct cw_arena *a, const void *p, size_t n)
{
    if (!p) return NULL;
    void *out = cw_arena_alloc(a, n ? n : 1);
    memcpy(out, p, n);
    return out;
}

struct cw_check_spec *cw_check_spec_copy(struct cw_arena *a, const struct cw_check_spec *s)
{
    struct cw_check_spec *d = cw_arena_alloc(a, sizeof *d);
    *d = *s;
    d->body = s->body_len ? cw_arena_strndup(a, s->body, s->body_len) : cw_arena_strdup(a, s->body);
    d->send = s->send_len ? cw_arena_strndup(a, s->send, s->send_len) : cw_arena_strdup(a, s->send);
    d->expect_status = copy_mem(a, s->expect_status, s->n_expect_status * sizeof *s->expect_status);
    d->status_ranges = copy_mem(a, s->status_ranges, s->n_status_ranges * sizeof *s->status_ranges);
    char **strs[] = { &d->keyword,     &d->ca_file,    &d->expect, &d->server_name, &d->dns_server,
                      &d->client_cert, &d->client_key, &d->proxy,  &d->address,     &d->client_key_password };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) *strs[i] = cw_arena_strdup(a, *strs[i]);
    d->headers = copy_strv(a, s->headers, s->n_headers);
    d->expect_answers = copy_strv(a, s->expect_answers, s->n_expect_answers);
    d->keywords = copy_strv(a, s->keywords, s->n_keywords);
    d->keywords_absent = copy_strv(a, s->keywords_absent, s->n_keywords_absent);
    d->body_regex = copy_strv(a, s->body_regex, s->n_body_regex);
    d->body_regex_absent = copy_strv(a, s->body_regex_absent, s->n_body_regex_absent);
    d->json_conditions = copy_conditions(a, s->json_conditions, s->n_json_conditions);
    d->header_conditions = copy_conditions(a, s->header_conditions, s->n_header_conditions);
    return d;
}

/* ---- the set ---- */

struct spec_slot {
    uint64_t hash;
    const struct cw_check_spec *spec; /* NULL: empty */
};

struct cw_spec_set {
    struct spec_slot *slots;
    size_t cap; /* a power of two */
    size_t n;
    const struct cw_check_spec *last; /* the one interned last: endpoints alike come in runs (no hash then) */
};

struct cw_spec_set *cw_spec_set_new(void)
{
    struct cw_spec_set *set = cw_xcalloc(1, sizeof *set);
    set->cap = 64;
    set->slots = cw_xcalloc(set->cap, sizeof *set->slots);
    return set;
}

void cw_spec_set_free(struct cw_spec_set *set)
{
    if (!set) return;
    free(set->slots);
    free(set);
}

size_t cw_spec_set_count(const struct cw_spec_set *set) { return set ? set->n : 0; }

static void set_grow(struct cw_spec_set *set)
{
    struct spec_slot *old = set->slots;
    size_t old_cap = set->cap;
    set->cap *= 2;
    set->slots = cw_xcalloc(set->cap, sizeof *set->slots);
    for (size_t i = 0; i < old_cap; i++) {
        if (!old[i].spec) continue;
        size_t j = old[i].hash & (set->cap - 1);
        while (set->slots[j].spec) j = (j + 1) & (set->cap - 1);
        set->slots[j] = old[i];
    }
    free(old);
}

const struct cw_check_spec *cw_spec_set_intern(struct cw_spec_set *set, struct cw_arena *arena,
                                               const struct cw_check_spec *s)
{
    if (set->last && cw_check_spec_equal(set->last, s)) return set->last;
    uint64_t h = cw_check_spec_hash(s);
    size_t j = h & (set->cap - 1);
    for (; set->slots[j].spec; j = (j + 1) & (set->cap - 1))
        if (set->slots[j].hash == h && cw_check_spec_equal(set->slots[j].spec, s))
            return set->last = set->slots[j].spec;
    const struct cw_check_spec *kept = cw_check_spec_copy(arena, s);
    set->last = kept;
    set->slots[j].hash = h;
    set->slots[j].spec = kept;
    if (++set->n * 2 > set->cap) set_grow(set);
    return kept;
}
