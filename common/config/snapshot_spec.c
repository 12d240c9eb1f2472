/* common/config/snapshot_spec.c — the snapshot's table of check specs (issue 18; see snapshot.c for the layout):
 * every distinct struct cw_check_spec of the endpoints once, each a length-prefixed record, and the endpoints'
 * records refer to one by its index. Written in the order of first use by the endpoints (so that equal configs
 * encode alike); read by first finding every record (cheap), then decoding a spec only when a kept endpoint first
 * refers to it, so that a worker decodes only its shard's specs. A client key's password and the proxy are the
 * workers': other readers decode them as NULL, so each reader's table differs, as its endpoints' fields did. */
#include "common/config/snapshot_codec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LIST 64
#define MAX_BODY_LIMIT (64u * 1024 * 1024)

/* ---- writing ---- */

static void put_conditions(struct cw_buf *b, const struct cw_condition *c, size_t n)
{
    le_buf_u32(b, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        snap_put_str(b, c[i].text);
        snap_put_str(b, c[i].subject);
        le_buf_u8(b, (uint8_t)c[i].op);
        le_buf_u8(b, (uint8_t)c[i].value_kind);
        snap_put_str(b, c[i].value);
    }
}

/* The fields of the check types beyond HTTP. */
static void put_check_fields(struct cw_buf *b, const struct cw_check_spec *s)
{
    snap_put_bytes(b, s->send, s->send && !s->send_len ? strlen(s->send) : s->send_len);
    snap_put_str(b, s->expect);
    snap_put_str(b, s->server_name);
    le_buf_u8(b, (uint8_t)s->starttls);
    snap_put_i32(b, s->min_cert_days);
    le_buf_u32(b, s->record_type);
    snap_put_str(b, s->dns_server);
    snap_put_i32(b, s->expect_rcode);
    snap_put_strv(b, s->expect_answers, s->n_expect_answers);
    snap_put_i32(b, s->icmp_count);
    snap_put_f64(b, s->packet_interval);
    snap_put_f64(b, s->max_loss);
    snap_put_f64(b, s->grace);
}

/* The HTTP assertions and the request's options of issue 14. */
static void put_assertions(struct cw_buf *b, const struct cw_check_spec *s)
{
    le_buf_u32(b, s->n_status_ranges);
    for (size_t i = 0; i < s->n_status_ranges; i++) {
        snap_put_i32(b, s->status_ranges[i].lo);
        snap_put_i32(b, s->status_ranges[i].hi);
    }
    snap_put_strv(b, s->keywords, s->n_keywords);
    snap_put_strv(b, s->keywords_absent, s->n_keywords_absent);
    snap_put_strv(b, s->body_regex, s->n_body_regex);
    snap_put_strv(b, s->body_regex_absent, s->n_body_regex_absent);
    put_conditions(b, s->json_conditions, s->n_json_conditions);
    put_conditions(b, s->header_conditions, s->n_header_conditions);
    snap_put_f64(b, s->max_response_time);
    le_buf_u8(b, (uint8_t)s->http_version);
    le_buf_u8(b, s->fail_if_not_tls);
    le_buf_u8(b, s->compressed);
    le_buf_u64(b, s->body_limit);
    snap_put_str(b, s->client_cert);
    snap_put_str(b, s->client_key);
    snap_put_str(b, s->client_key_password);
    snap_put_str(b, s->proxy);
    snap_put_str(b, s->address);
    le_buf_u8(b, s->cookies);
}

void snap_put_spec(struct cw_buf *b, const struct cw_check_spec *s)
{
    if (!s) s = &cw_check_spec_none;
    size_t at = b->len;
    le_buf_u32(b, 0); /* record length, patched below */
    le_buf_u8(b, (uint8_t)s->method);
    /* a hand-built spec may leave body_len 0 beside a text body */
    snap_put_bytes(b, s->body, s->body && !s->body_len ? strlen(s->body) : s->body_len);
    le_buf_u32(b, s->n_expect_status);
    for (size_t i = 0; i < s->n_expect_status; i++) snap_put_i32(b, s->expect_status[i]);
    le_buf_u8(b, s->verify_tls);
    le_buf_u8(b, s->follow_redirects);
    snap_put_str(b, s->keyword);
    snap_put_strv(b, s->headers, s->n_headers);
    snap_put_str(b, s->ca_file);
    put_check_fields(b, s);
    put_assertions(b, s);
    le_put_u32(b->data + at, (uint32_t)(b->len - at - 4));
}

/* The encoder's index of specs: open addressing on the pointer (an interned config's equal specs are one pointer;
 * a hand-built config's equal specs may be two entries, which is only bigger). */
struct snap_spec_index {
    const struct cw_check_spec **keys;
    uint32_t *idx;
    size_t cap;
    uint32_t n;
};

static size_t ptr_slot(const struct snap_spec_index *x, const struct cw_check_spec *s)
{
    uintptr_t h = (uintptr_t)s;
    h = (h >> 4) * 0x9E3779B97F4A7C15ull;
    size_t j = (size_t)(h >> 17) & (x->cap - 1);
    while (x->keys[j] && x->keys[j] != s) j = (j + 1) & (x->cap - 1);
    return j;
}

struct snap_spec_index *snap_put_spec_table(struct cw_buf *b, const struct cw_config *c)
{
    struct snap_spec_index *x = cw_xcalloc(1, sizeof *x);
    x->cap = 64;
    while (x->cap < 2 * c->n_endpoints + 2 && x->cap < ((size_t)1 << 31)) x->cap *= 2;
    x->keys = cw_xcalloc(x->cap, sizeof *x->keys);
    x->idx = cw_xcalloc(x->cap, sizeof *x->idx);
    size_t count_at = b->len;
    le_buf_u32(b, 0); /* the count, patched below */
    for (size_t i = 0; i < c->n_endpoints; i++) {
        const struct cw_check_spec *s = c->endpoints[i].spec ? c->endpoints[i].spec : &cw_check_spec_none;
        size_t j = ptr_slot(x, s);
        if (x->keys[j]) continue;
        x->keys[j] = s;
        x->idx[j] = x->n++;
        snap_put_spec(b, s);
    }
    le_put_u32(b->data + count_at, x->n);
    return x;
}

uint32_t snap_spec_index_of(const struct snap_spec_index *x, const struct cw_check_spec *s)
{
    size_t j = ptr_slot(x, s ? s : &cw_check_spec_none);
    return x->keys[j] ? x->idx[j] : 0;
}

void snap_spec_index_free(struct snap_spec_index *x)
{
    if (!x) return;
    free(x->keys);
    free(x->idx);
    free(x);
}

/* ---- reading ---- */

/* A u8 that must be at most max. */
static unsigned get_enum(struct rd *r, unsigned max)
{
    uint8_t v = le_read_u8(&r->in);
    if (v > max) snap_set_bad(r);
    return v;
}

static void get_conditions(struct rd *r, struct cw_condition **out, uint32_t *n)
{
    *n = (uint32_t)snap_get_count(r, 14);
    if (!*n) return;
    struct cw_condition *c = cw_arena_alloc(r->arena, *n * sizeof *c);
    for (size_t i = 0; i < *n && !snap_is_bad(r); i++) {
        c[i].text = snap_get_str(r);
        c[i].subject = snap_get_str(r);
        c[i].op = (enum cw_cond_op)get_enum(r, CW_OP_MATCHES);
        c[i].value_kind = (enum cw_cond_value)get_enum(r, CW_VALUE_NULL);
        c[i].value = snap_get_str(r);
        bool no_value = c[i].op == CW_OP_EXISTS || c[i].op == CW_OP_NOT_EXISTS;
        if (!c[i].text || !c[i].subject || no_value != (c[i].value == NULL)) snap_set_bad(r);
    }
    *out = c;
}

static void get_check_fields(struct rd *r, struct cw_check_spec *s)
{
    s->send = snap_get_bytes32(r, &s->send_len);
    s->expect = snap_get_str(r);
    s->server_name = snap_get_str(r);
    s->starttls = (enum cw_starttls)get_enum(r, CW_STARTTLS_POSTGRES);
    s->min_cert_days = snap_get_i32(r);
    uint32_t rt = le_read_u32(&r->in);
    if (rt > 65535) snap_set_bad(r);
    s->record_type = (uint16_t)rt;
    s->dns_server = snap_get_str(r);
    s->expect_rcode = snap_get_i32(r);
    snap_get_strv32(r, &s->expect_answers, &s->n_expect_answers);
    s->icmp_count = snap_get_i32(r);
    s->packet_interval = snap_get_f64(r);
    s->max_loss = snap_get_f64(r);
    s->grace = snap_get_f64(r);
}

static void get_assertions(struct rd *r, struct cw_check_spec *s, bool keep_key_password)
{
    s->n_status_ranges = (uint32_t)snap_get_count(r, 8);
    if (s->n_status_ranges) {
        s->status_ranges = cw_arena_alloc(r->arena, s->n_status_ranges * sizeof *s->status_ranges);
        for (size_t i = 0; i < s->n_status_ranges; i++) {
            s->status_ranges[i].lo = snap_get_i32(r);
            s->status_ranges[i].hi = snap_get_i32(r);
        }
    }
    snap_get_strv32(r, &s->keywords, &s->n_keywords);
    snap_get_strv32(r, &s->keywords_absent, &s->n_keywords_absent);
    snap_get_strv32(r, &s->body_regex, &s->n_body_regex);
    snap_get_strv32(r, &s->body_regex_absent, &s->n_body_regex_absent);
    get_conditions(r, &s->json_conditions, &s->n_json_conditions);
    get_conditions(r, &s->header_conditions, &s->n_header_conditions);
    s->max_response_time = snap_get_f64(r);
    s->http_version = (enum cw_http_version)get_enum(r, CW_HTTP_2);
    s->fail_if_not_tls = snap_get_bool(r);
    s->compressed = snap_get_bool(r);
    uint64_t limit = le_read_u64(&r->in);
    if (limit > MAX_BODY_LIMIT) snap_set_bad(r);
    s->body_limit = (uint32_t)limit;
    s->client_cert = snap_get_str(r);
    s->client_key = snap_get_str(r);
    s->client_key_password = keep_key_password ? snap_get_str(r) : snap_skip_str(r);
    /* a proxy URL may hold a password: like the key's, only for those who make the requests */
    s->proxy = keep_key_password ? snap_get_str(r) : snap_skip_str(r);
    s->address = snap_get_str(r);
    s->cookies = snap_get_bool(r);
}

/* What config_load guarantees of a spec. */
static bool plausible_spec(const struct cw_check_spec *s)
{
    bool ok = s->min_cert_days >= 0 && s->expect_rcode >= 0 && s->expect_rcode <= 15 && s->icmp_count >= 0 &&
              s->icmp_count <= 100 && isfinite(s->packet_interval) && s->packet_interval >= 0 &&
              isfinite(s->max_loss) && s->max_loss >= 0 && s->max_loss <= 100 && isfinite(s->grace) && s->grace >= 0 &&
              isfinite(s->max_response_time) && s->max_response_time >= 0 && s->n_expect_answers <= MAX_LIST &&
              s->n_status_ranges <= MAX_LIST && s->n_keywords <= MAX_LIST && s->n_keywords_absent <= MAX_LIST &&
              s->n_body_regex <= MAX_LIST && s->n_body_regex_absent <= MAX_LIST && s->n_json_conditions <= MAX_LIST &&
              s->n_header_conditions <= MAX_LIST && s->n_expect_status <= MAX_LIST && s->n_headers <= MAX_LIST;
    for (size_t i = 0; ok && i < s->n_status_ranges; i++)
        ok = s->status_ranges[i].lo >= 100 && s->status_ranges[i].lo <= s->status_ranges[i].hi &&
             s->status_ranges[i].hi <= 599;
    for (size_t i = 0; ok && i < s->n_expect_status; i++) ok = s->expect_status[i] >= 100 && s->expect_status[i] <= 599;
    return ok;
}

/* One spec record's fields (after its length), into the arena; marks r bad when malformed or implausible. */
static struct cw_check_spec *get_spec(struct rd *r, bool keep_key_password)
{
    struct cw_check_spec *s = cw_arena_alloc(r->arena, sizeof *s);
    s->method = (enum cw_method)get_enum(r, CW_METHOD_OPTIONS);
    s->body = snap_get_bytes32(r, &s->body_len);
    s->n_expect_status = (uint32_t)snap_get_count(r, 4);
    if (s->n_expect_status) {
        s->expect_status = cw_arena_alloc(r->arena, s->n_expect_status * sizeof(int));
        for (size_t i = 0; i < s->n_expect_status; i++) s->expect_status[i] = snap_get_i32(r);
    }
    s->verify_tls = snap_get_bool(r);
    s->follow_redirects = snap_get_bool(r);
    s->keyword = snap_get_str(r);
    snap_get_strv32(r, &s->headers, &s->n_headers);
    s->ca_file = snap_get_str(r);
    get_check_fields(r, s);
    get_assertions(r, s, keep_key_password);
    if (!snap_is_bad(r) && (r->in.left != 0 || !plausible_spec(s))) snap_set_bad(r);
    return s;
}

bool snap_get_spec_table(struct rd *r, struct snap_specs *t, bool keep_key_password)
{
    memset(t, 0, sizeof *t);
    t->keep_key_password = keep_key_password;
    t->n = (uint32_t)snap_get_count(r, 4);
    if (snap_is_bad(r)) return false;
    t->rec = cw_xcalloc(t->n ? t->n : 1, sizeof *t->rec);
    t->len = cw_xcalloc(t->n ? t->n : 1, sizeof *t->len);
    t->spec = cw_xcalloc(t->n ? t->n : 1, sizeof *t->spec);
    for (uint32_t i = 0; i < t->n; i++) {
        t->len[i] = le_read_u32(&r->in);
        if (!(t->rec[i] = le_read_bytes(&r->in, t->len[i]))) {
            snap_set_bad(r);
            return false;
        }
    }
    return true;
}

const struct cw_check_spec *snap_spec_at(struct rd *r, struct snap_specs *t, uint32_t i)
{
    if (!t || i >= t->n) {
        snap_set_bad(r);
        return &cw_check_spec_none;
    }
    if (!t->spec[i]) {
        struct rd rec = { .in = le_reader_of(t->rec[i], t->len[i]), .arena = r->arena };
        const struct cw_check_spec *s = get_spec(&rec, t->keep_key_password);
        if (snap_is_bad(&rec)) {
            snap_set_bad(r);
            return &cw_check_spec_none;
        }
        t->spec[i] = s;
    }
    return t->spec[i];
}

uint32_t snap_specs_decoded(const struct snap_specs *t)
{
    uint32_t n = 0;
    for (uint32_t i = 0; t && i < t->n; i++) n += t->spec[i] != NULL;
    return n;
}

void snap_specs_free(struct snap_specs *t)
{
    free(t->rec);
    free(t->len);
    free(t->spec);
    memset(t, 0, sizeof *t);
}
