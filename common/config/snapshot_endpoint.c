/* common/config/snapshot_endpoint.c — one endpoint's record in the snapshot (see snapshot.c for the layout): every
 * field of struct cw_endpoint, the HTTP ones, the check types' (issue 14) and the HTTP assertions', written in a
 * fixed order and read back with each enum, count and bound checked, so that a worker may rely on what config_load
 * guarantees. The push token is a secret of the web: a shard's reader (a worker) never keeps it; a client key's
 * password and the proxy (its URL may hold a password) are the workers': other children read them as NULL. */
#include "common/config/snapshot_codec.h"

#include <math.h>
#include <string.h>

#define MAX_LIST 64
#define MAX_BODY_LIMIT (64u * 1024 * 1024)

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
static void put_check_fields(struct cw_buf *b, const struct cw_endpoint *ep, bool web)
{
    le_buf_u8(b, (uint8_t)ep->type);
    snap_put_str(b, ep->host);
    snap_put_i32(b, ep->port);
    snap_put_bytes(b, ep->send, ep->send_len);
    snap_put_str(b, ep->expect);
    snap_put_str(b, ep->server_name);
    le_buf_u8(b, (uint8_t)ep->starttls);
    snap_put_i32(b, ep->min_cert_days);
    le_buf_u32(b, ep->record_type);
    snap_put_str(b, ep->dns_server);
    snap_put_i32(b, ep->expect_rcode);
    snap_put_strv(b, ep->expect_answers, ep->n_expect_answers);
    snap_put_i32(b, ep->icmp_count);
    snap_put_f64(b, ep->packet_interval);
    snap_put_f64(b, ep->max_loss);
    snap_put_str(b, web ? ep->push_token : NULL);
    snap_put_f64(b, ep->grace);
}

/* The HTTP assertions and the request's options of issue 14. */
static void put_assertions(struct cw_buf *b, const struct cw_endpoint *ep)
{
    le_buf_u32(b, (uint32_t)ep->n_status_ranges);
    for (size_t i = 0; i < ep->n_status_ranges; i++) {
        snap_put_i32(b, ep->status_ranges[i].lo);
        snap_put_i32(b, ep->status_ranges[i].hi);
    }
    snap_put_strv(b, ep->keywords, ep->n_keywords);
    snap_put_strv(b, ep->keywords_absent, ep->n_keywords_absent);
    snap_put_strv(b, ep->body_regex, ep->n_body_regex);
    snap_put_strv(b, ep->body_regex_absent, ep->n_body_regex_absent);
    put_conditions(b, ep->json_conditions, ep->n_json_conditions);
    put_conditions(b, ep->header_conditions, ep->n_header_conditions);
    snap_put_f64(b, ep->max_response_time);
    le_buf_u8(b, (uint8_t)ep->http_version);
    le_buf_u8(b, ep->fail_if_not_tls);
    le_buf_u8(b, ep->compressed);
    le_buf_u64(b, ep->body_limit);
    snap_put_str(b, ep->client_cert);
    snap_put_str(b, ep->client_key);
    snap_put_str(b, ep->client_key_password);
    snap_put_str(b, ep->proxy);
    snap_put_str(b, ep->address);
    le_buf_u8(b, ep->cookies);
}

void snap_put_endpoint(struct cw_buf *b, const struct cw_endpoint *ep, bool web)
{
    size_t at = b->len;
    le_buf_u32(b, 0); /* record length, patched below */
    snap_put_str(b, ep->url);
    snap_put_str(b, ep->name);
    le_buf_u8(b, (uint8_t)ep->method);
    /* a hand-built endpoint may leave body_len 0 beside a text body */
    snap_put_bytes(b, ep->body, ep->body && !ep->body_len ? strlen(ep->body) : ep->body_len);
    snap_put_f64(b, ep->timeout);
    snap_put_f64(b, ep->interval);
    snap_put_f64(b, ep->latency_threshold);
    snap_put_i32(b, ep->alert_threshold);
    snap_put_i32(b, ep->recovery_threshold);
    le_buf_u32(b, (uint32_t)ep->n_expect_status);
    for (size_t i = 0; i < ep->n_expect_status; i++) snap_put_i32(b, ep->expect_status[i]);
    le_buf_u8(b, ep->verify_tls);
    le_buf_u8(b, ep->follow_redirects);
    snap_put_str(b, ep->keyword);
    snap_put_strv(b, ep->headers, ep->n_headers);
    snap_put_str(b, ep->ca_file);
    snap_put_str(b, web ? ep->group : NULL);
    put_check_fields(b, ep, web);
    put_assertions(b, ep);
    snap_put_endpoint_alerting(b, ep);
    snap_put_location_list(b, ep->locations, ep->n_locations, ep->quorum);
    le_put_u32(b->data + at, (uint32_t)(b->len - at - 4));
}

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

static void get_check_fields(struct rd *r, struct cw_endpoint *ep, bool keep_token)
{
    ep->type = (enum cw_check_type)get_enum(r, CW_CHECK_TYPE_MAX);
    ep->host = snap_get_str(r);
    ep->port = snap_get_i32(r);
    ep->send = snap_get_bytes32(r, &ep->send_len);
    ep->expect = snap_get_str(r);
    ep->server_name = snap_get_str(r);
    ep->starttls = (enum cw_starttls)get_enum(r, CW_STARTTLS_POSTGRES);
    ep->min_cert_days = snap_get_i32(r);
    uint32_t rt = le_read_u32(&r->in);
    if (rt > 65535) snap_set_bad(r);
    ep->record_type = (uint16_t)rt;
    ep->dns_server = snap_get_str(r);
    ep->expect_rcode = snap_get_i32(r);
    snap_get_strv32(r, &ep->expect_answers, &ep->n_expect_answers);
    ep->icmp_count = snap_get_i32(r);
    ep->packet_interval = snap_get_f64(r);
    ep->max_loss = snap_get_f64(r);
    ep->push_token = keep_token ? snap_get_str(r) : snap_skip_str(r);
    ep->grace = snap_get_f64(r);
}

static void get_assertions(struct rd *r, struct cw_endpoint *ep, bool keep_key_password)
{
    ep->n_status_ranges = snap_get_count(r, 8);
    if (ep->n_status_ranges) {
        ep->status_ranges = cw_arena_alloc(r->arena, ep->n_status_ranges * sizeof *ep->status_ranges);
        for (size_t i = 0; i < ep->n_status_ranges; i++) {
            ep->status_ranges[i].lo = snap_get_i32(r);
            ep->status_ranges[i].hi = snap_get_i32(r);
        }
    }
    snap_get_strv32(r, &ep->keywords, &ep->n_keywords);
    snap_get_strv32(r, &ep->keywords_absent, &ep->n_keywords_absent);
    snap_get_strv32(r, &ep->body_regex, &ep->n_body_regex);
    snap_get_strv32(r, &ep->body_regex_absent, &ep->n_body_regex_absent);
    get_conditions(r, &ep->json_conditions, &ep->n_json_conditions);
    get_conditions(r, &ep->header_conditions, &ep->n_header_conditions);
    ep->max_response_time = snap_get_f64(r);
    ep->http_version = (enum cw_http_version)get_enum(r, CW_HTTP_2);
    ep->fail_if_not_tls = snap_get_bool(r);
    ep->compressed = snap_get_bool(r);
    uint64_t limit = le_read_u64(&r->in);
    if (limit > MAX_BODY_LIMIT) snap_set_bad(r);
    ep->body_limit = (size_t)limit;
    ep->client_cert = snap_get_str(r);
    ep->client_key = snap_get_str(r);
    ep->client_key_password = keep_key_password ? snap_get_str(r) : snap_skip_str(r);
    /* a proxy URL may hold a password: like the key's, only for those who make the requests */
    ep->proxy = keep_key_password ? snap_get_str(r) : snap_skip_str(r);
    ep->address = snap_get_str(r);
    ep->cookies = snap_get_bool(r);
}

/* What config_load guarantees of the issue-14 fields. */
static bool plausible_checks(const struct cw_endpoint *ep)
{
    bool ok = ep->port >= 0 && ep->port <= 65535 && ep->min_cert_days >= 0 && ep->expect_rcode >= 0 &&
              ep->expect_rcode <= 15 && ep->icmp_count >= 0 && ep->icmp_count <= 100 && isfinite(ep->packet_interval) &&
              ep->packet_interval >= 0 && isfinite(ep->max_loss) && ep->max_loss >= 0 && ep->max_loss <= 100 &&
              isfinite(ep->grace) && ep->grace >= 0 && isfinite(ep->max_response_time) && ep->max_response_time >= 0 &&
              ep->n_expect_answers <= MAX_LIST && ep->n_status_ranges <= MAX_LIST && ep->n_keywords <= MAX_LIST &&
              ep->n_keywords_absent <= MAX_LIST && ep->n_body_regex <= MAX_LIST &&
              ep->n_body_regex_absent <= MAX_LIST && ep->n_json_conditions <= MAX_LIST &&
              ep->n_header_conditions <= MAX_LIST;
    for (size_t i = 0; ok && i < ep->n_status_ranges; i++)
        ok = ep->status_ranges[i].lo >= 100 && ep->status_ranges[i].lo <= ep->status_ranges[i].hi &&
             ep->status_ranges[i].hi <= 599;
    if (ok && ep->type != CW_CHECK_HTTP && ep->type != CW_CHECK_PUSH) ok = ep->host != NULL;
    return ok;
}

void snap_get_endpoint(struct rd *r, struct cw_endpoint *ep, const char *url, size_t url_len, bool keep_token,
                       bool keep_key_password)
{
    ep->url = cw_arena_strndup(r->arena, url, url_len);
    ep->name = snap_get_str(r);
    ep->method = (enum cw_method)get_enum(r, CW_METHOD_OPTIONS);
    ep->body = snap_get_bytes32(r, &ep->body_len);
    ep->timeout = snap_get_f64(r);
    ep->interval = snap_get_f64(r);
    ep->latency_threshold = snap_get_f64(r);
    ep->alert_threshold = snap_get_i32(r);
    ep->recovery_threshold = snap_get_i32(r);
    ep->n_expect_status = snap_get_count(r, 4);
    if (ep->n_expect_status) {
        ep->expect_status = cw_arena_alloc(r->arena, ep->n_expect_status * sizeof(int));
        for (size_t i = 0; i < ep->n_expect_status; i++) ep->expect_status[i] = snap_get_i32(r);
    }
    ep->verify_tls = snap_get_bool(r);
    ep->follow_redirects = snap_get_bool(r);
    ep->keyword = snap_get_str(r);
    snap_get_strv32(r, &ep->headers, &ep->n_headers);
    ep->ca_file = snap_get_str(r);
    ep->group = snap_get_str(r);
    get_check_fields(r, ep, keep_token);
    get_assertions(r, ep, keep_key_password);
    snap_get_endpoint_alerting(r, ep);
    /* what config_load guarantees, a worker may rely on: refuse a forged or damaged record */
    bool ok = isfinite(ep->interval) && ep->interval > 0 && isfinite(ep->timeout) && ep->timeout > 0 &&
              isfinite(ep->latency_threshold) && ep->latency_threshold >= 0 && ep->alert_threshold >= 1 &&
              ep->recovery_threshold >= 1 && ep->n_expect_status <= MAX_LIST && ep->n_headers <= MAX_LIST;
    for (size_t i = 0; ok && i < ep->n_expect_status; i++)
        ok = ep->expect_status[i] >= 100 && ep->expect_status[i] <= 599;
    if (!ok || !plausible_checks(ep)) snap_set_bad(r);
}
