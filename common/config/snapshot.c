/* common/config/snapshot.c — the compact binary form of a struct cw_config that the supervisor writes into
 * run_dir and its children read (config_snapshot_write / config_snapshot_read, see config.h).
 *
 * DESIGN
 * Layout (all integers little-endian):
 *   header, 32 bytes: "CWSNAP\0\0" | u32 version (3: database.retention; 4: web; 5: web.history_refresh;
 *   6: check types and HTTP assertions; 7: channels, routing, maintenance; 8: locations; 9: supervisor.log_target;
 *   10: web.metrics_per_endpoint; 11: the check specs' table, issue 18) |
 *   u32 endpoint count | u64 payload length |
 *                     u64 checksum of the payload
 *   payload: the global fields in a fixed order, the webhooks, the email_to list, the alerting part
 *            (snapshot_alerting.c: channels, routing, groups, maintenance), the locations part
 *            (snapshot_locations.c: supervisor.location, config/central addresses, `locations`, quorum,
 *            location_silent_after), the spec table (snapshot_spec.c: u32 count, then
 *            each distinct check spec once, prefixed by its u32 length), then one record per
 *            endpoint, each prefixed by its u32 length so that a reader can skip the endpoints of other
 *            shards after looking only at the url; a record names its spec by its index in the table.
 * A string is u32 length (0xFFFFFFFF: NULL), its bytes and a NUL; a double is its IEEE-754 bits as u64;
 * a bool one byte. The reader checks every length against what is left, every enum against its range,
 * and that the payload ends exactly where the header says: a truncated or corrupt file is an error
 * with a reason, never a crash. The file holds passwords: it is written with mode 0600, atomically
 * (temporary file in the same directory, fsync, rename, fsync of the directory). */
#include "common/config/config_priv.h"
#include "common/config/snapshot_codec.h"
#include "common/config/snapshot_map.h"
#include "common/base/le.h"
#include "common/base/log.h"
#include "common/base/util.h"
#include "common/config/config_web.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SNAP_MAGIC "CWSNAP\0\0"
#define SNAP_VERSION 11u
#define SNAP_HEADER 32
#define SNAP_MAX_SIZE (1ull << 31)
/* parse()'s `slots` for a reader of the settings alone (config_snapshot_read_settings): every endpoint record is
 * skipped, no secret kept (a shard reader's rules otherwise) */
#define SNAP_NO_ENDPOINTS UINT_MAX
/* parse()'s `slots` for config_settings_copy: the settings with every secret and the maintenance windows, no endpoint
 * record decoded */
#define SNAP_SETTINGS_ALL (UINT_MAX - 1)

void cw_snapshot_sum_init(struct cw_snapshot_sum *s, size_t n)
{
    memset(s, 0, sizeof *s);
    s->h = 0x9E3779B97F4A7C15ull ^ n;
}

void cw_snapshot_sum_add(struct cw_snapshot_sum *s, const void *data, size_t n)
{
    const uint8_t *p = data;
    uint64_t h = s->h;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    s->h = h;
    s->n_tail = n - i;
    memcpy(s->tail, p + i, s->n_tail);
}

uint64_t cw_snapshot_sum_end(struct cw_snapshot_sum *s)
{
    uint64_t h = s->h;
    for (size_t i = 0; i < s->n_tail; i++) h = (h ^ s->tail[i]) * 0x100000001b3ull;
    h ^= h >> 29;
    return h * 0xc4ceb9fe1a85ec53ull;
}

uint64_t cw_snapshot_checksum(const void *data, size_t n)
{
    struct cw_snapshot_sum s;
    cw_snapshot_sum_init(&s, n);
    cw_snapshot_sum_add(&s, data, n);
    return cw_snapshot_sum_end(&s);
}

/* ---- writing ---- */

/* After an encoding is freed: its buffer grew by doubling inside the heap's free space (a config_load leaves tens of
 * MB of it behind, trimmed), and freed it is still resident: give those pages back (issue 18: 33 MB of the
 * supervisor's RSS at 100,000 endpoints). Rare (start-up, reloads), a few ms. */
static void snap_give_back(void) { (void)malloc_trim(0); }

/* The whole configuration; without `web` (false) the web's settings and the endpoints' groups are left out
 * (written as when unset), for comparing what the other children see. */
static void encode(const struct cw_config *c, struct cw_buf *b, bool web)
{
    cw_buf_put(b, SNAP_MAGIC, 8);
    le_buf_u32(b, SNAP_VERSION);
    le_buf_u32(b, (uint32_t)c->n_endpoints);
    le_buf_u64(b, 0);
    le_buf_u64(b, 0);
    snap_put_str(b, c->path);
    snap_put_str(b, c->dir);
    snap_put_i32(b, c->workers);
    snap_put_str(b, c->run_dir);
    snap_put_i32(b, c->log_level);
    snap_put_i32(b, c->log_target);
    snap_put_str(b, c->user);
    snap_put_str(b, c->store_address);
    snap_put_str(b, c->alert_address);
    snap_put_str(b, c->publish_address);
    snap_put_str(b, c->tap_address);
    snap_put_str(b, c->curve_key_file);
    snap_put_str(b, c->curve_server_key);
    snap_put_strv(b, c->curve_allowed_keys, c->n_curve_allowed_keys);
    snap_put_f64(b, c->check_interval);
    snap_put_f64(b, c->latency_threshold);
    snap_put_i32(b, c->tls_expiry_days);
    le_buf_u8(b, c->email_enabled);
    snap_put_str(b, c->smtp_host);
    snap_put_i32(b, c->smtp_port);
    snap_put_str(b, c->email_from);
    snap_put_strv(b, c->email_to, c->n_email_to);
    snap_put_str(b, c->smtp_user);
    snap_put_str(b, c->smtp_password);
    le_buf_u8(b, (uint8_t)c->smtp_tls);
    snap_put_str(b, c->smtp_ca_file);
    le_buf_u32(b, (uint32_t)c->n_webhooks);
    for (size_t i = 0; i < c->n_webhooks; i++) snap_put_str(b, c->webhooks[i].url);
    snap_put_f64(b, c->renotify);
    snap_put_i32(b, c->recovery_threshold);
    snap_put_i32(b, c->group_threshold);
    le_buf_u8(b, c->db_activation);
    le_buf_u8(b, (uint8_t)c->db_driver);
    snap_put_str(b, c->db_name);
    snap_put_str(b, c->db_user);
    snap_put_str(b, c->db_password);
    snap_put_str(b, c->db_host);
    snap_put_i32(b, c->db_port);
    snap_put_str(b, c->db_sslmode);
    snap_put_str(b, c->db_ca_file);
    snap_put_i32(b, c->retention_raw_days);
    snap_put_i32(b, c->retention_hourly_days);
    snap_put_i32(b, c->retention_daily_days);
    le_buf_u8(b, (uint8_t)c->db_raw);
    le_buf_u8(b, web && c->web_enabled);
    le_buf_u8(b, web && c->web_allow_plain_http);
    const char *web_strings[] = { c->web_listen,       c->web_title,     c->web_tls_cert_file,
                                  c->web_tls_key_file, c->web_auth_user, c->web_auth_password };
    for (size_t i = 0; i < sizeof web_strings / sizeof web_strings[0]; i++)
        snap_put_str(b, web ? web_strings[i] : NULL);
    snap_put_i32(b, web ? c->web_max_connections : 0);
    snap_put_i32(b, web ? c->web_max_connections_per_ip : 0);
    snap_put_f64(b, web ? c->web_connection_timeout : 0);
    snap_put_f64(b, web ? c->web_history_refresh : 0);
    le_buf_u8(b, web ? (uint8_t)c->web_metrics_per_endpoint : 0);
    snap_put_alerting(b, c);
    snap_put_locations(b, c);
    struct snap_spec_index *specs = snap_put_spec_table(b, c);
    for (size_t i = 0; i < c->n_endpoints; i++)
        snap_put_endpoint(b, &c->endpoints[i], web, snap_spec_index_of(specs, c->endpoints[i].spec));
    snap_spec_index_free(specs);

    uint64_t plen = b->len - SNAP_HEADER, sum = cw_snapshot_checksum(b->data + SNAP_HEADER, b->len - SNAP_HEADER);
    le_put_u64(b->data + 16, plen);
    le_put_u64(b->data + 24, sum);
}

int config_snapshot_write(const struct cw_config *cfg, const char *path, char *err, size_t errlen)
{
    struct cw_buf b = { 0 };
    encode(cfg, &b, true);
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
        snprintf(err, errlen, "snapshot path too long: %s", path);
        cw_buf_free(&b);
        return -1;
    }
    const char *step = NULL;
    int rc = cw_write_file_atomic(path, tmp, b.data, b.len, true, &step);
    int saved = errno;
    cw_buf_free(&b);
    snap_give_back();
    if (rc != 0) {
        if (!strcmp(step, "create")) snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(saved));
        else snprintf(err, errlen, "cannot %s snapshot %s: %s", step, step[0] == 'r' ? path : tmp, strerror(saved));
        return -1;
    }
    return 0;
}

/* Whether a and b encode to the same bytes, with or without what only the web reads. */
static bool same_encoding(const struct cw_config *a, const struct cw_config *b, bool web)
{
    struct cw_buf x = { 0 }, y = { 0 };
    encode(a, &x, web);
    encode(b, &y, web);
    bool same = x.len == y.len && memcmp(x.data, y.data, x.len) == 0;
    explicit_bzero(x.data, x.len);
    explicit_bzero(y.data, y.len);
    cw_buf_free(&x);
    cw_buf_free(&y);
    snap_give_back();
    return same;
}

bool config_same_beyond_web(const struct cw_config *a, const struct cw_config *b) { return same_encoding(a, b, false); }

bool config_same(const struct cw_config *a, const struct cw_config *b) { return same_encoding(a, b, true); }

bool config_endpoint_same(const struct cw_endpoint *x, const struct cw_endpoint *y, struct cw_buf *bx,
                          struct cw_buf *by)
{
    bx->len = by->len = 0;
    snap_put_endpoint(bx, x, true, 0);
    snap_put_endpoint(by, y, true, 0);
    return bx->len == by->len && memcmp(bx->data, by->data, bx->len) == 0 && cw_check_spec_equal(x->spec, y->spec);
}

/* ---- reading ---- */

static bool plausible(const struct cw_config *c)
{
    if (c->log_target < LOG_TARGET_STDERR || c->log_target > LOG_TARGET_JOURNAL) return false;
    return c->workers >= 0 && c->workers <= 256 && c->log_level >= 0 && c->log_level <= 3 &&
           isfinite(c->check_interval) && c->check_interval >= 0 && isfinite(c->latency_threshold) &&
           c->latency_threshold >= 0 && c->tls_expiry_days >= 0 && c->smtp_port >= 0 && c->smtp_port <= 65535 &&
           isfinite(c->renotify) && c->renotify >= 0 && c->recovery_threshold >= 0 && c->group_threshold >= 0 &&
           c->db_port >= 0 && c->db_port <= 65535 && c->retention_raw_days >= 0 &&
           c->retention_raw_days <= CW_RETENTION_DAYS_MAX && c->retention_hourly_days >= 0 &&
           c->retention_hourly_days <= CW_RETENTION_DAYS_MAX && c->retention_daily_days >= 0 &&
           c->retention_daily_days <= CW_RETENTION_DAYS_MAX && c->web_max_connections >= 0 &&
           c->web_max_connections_per_ip >= 0 && isfinite(c->web_connection_timeout) &&
           c->web_connection_timeout >= 0 && isfinite(c->web_history_refresh) && c->web_history_refresh >= 0 &&
           c->web_metrics_per_endpoint >= CW_WEB_METRICS_AUTO && c->web_metrics_per_endpoint <= CW_WEB_METRICS_OFF &&
           (!c->web_enabled || (c->web_listen && c->web_history_refresh >= CW_WEB_MIN_HISTORY_REFRESH));
}

/* The supervisor's and the bus's settings, and the monitor's defaults. */
static void decode_globals(struct rd *r, struct cw_config *c)
{
    c->path = snap_get_str(r);
    c->dir = snap_get_str(r);
    c->workers = snap_get_i32(r);
    c->run_dir = snap_get_str(r);
    c->log_level = snap_get_i32(r);
    c->log_target = snap_get_i32(r);
    c->user = snap_get_str(r);
    c->store_address = snap_get_str(r);
    c->alert_address = snap_get_str(r);
    c->publish_address = snap_get_str(r);
    c->tap_address = snap_get_str(r);
    c->curve_key_file = snap_get_str(r);
    c->curve_server_key = snap_get_str(r);
    snap_get_strv(r, &c->curve_allowed_keys, &c->n_curve_allowed_keys);
    c->check_interval = snap_get_f64(r);
    c->latency_threshold = snap_get_f64(r);
    c->tls_expiry_days = snap_get_i32(r);
}

/* The email settings; the SMTP password is skipped unless keep_secret. */
static void decode_email(struct rd *r, struct cw_config *c, bool keep_secret)
{
    c->email_enabled = snap_get_bool(r);
    c->smtp_host = snap_get_str(r);
    c->smtp_port = snap_get_i32(r);
    c->email_from = snap_get_str(r);
    snap_get_strv(r, &c->email_to, &c->n_email_to);
    c->smtp_user = snap_get_str(r);
    c->smtp_password = keep_secret ? snap_get_str(r) : snap_skip_str(r);
    uint8_t tls = le_read_u8(&r->in);
    if (tls > CW_SMTP_NONE) snap_set_bad(r);
    c->smtp_tls = (enum cw_smtp_tls)tls;
    c->smtp_ca_file = snap_get_str(r);
}

/* The webhooks and the alerting thresholds; the webhooks' URLs (each may be a chat service's secret URL: the legacy
 * channels' urls) are skipped unless keep_secret (the alerter's). */
static void decode_alerting(struct rd *r, struct cw_config *c, bool keep_secret)
{
    c->n_webhooks = snap_get_count(r, 5);
    if (c->n_webhooks) {
        c->webhooks = cw_arena_alloc(r->arena, c->n_webhooks * sizeof *c->webhooks);
        for (size_t i = 0; i < c->n_webhooks; i++)
            if (!(c->webhooks[i].url = keep_secret ? snap_get_str(r) : snap_skip_str(r)) && keep_secret)
                snap_set_bad(r);
    }
    c->renotify = snap_get_f64(r);
    c->recovery_threshold = snap_get_i32(r);
    c->group_threshold = snap_get_i32(r);
}

/* The database settings; the database password is skipped unless keep_secret. */
static void decode_database(struct rd *r, struct cw_config *c, bool keep_secret)
{
    c->db_activation = snap_get_bool(r);
    uint8_t drv = le_read_u8(&r->in);
    if (drv > CW_DB_MYSQL) snap_set_bad(r);
    c->db_driver = (enum cw_db_driver)drv;
    c->db_name = snap_get_str(r);
    c->db_user = snap_get_str(r);
    c->db_password = keep_secret ? snap_get_str(r) : snap_skip_str(r);
    c->db_host = snap_get_str(r);
    c->db_port = snap_get_i32(r);
    c->db_sslmode = snap_get_str(r);
    c->db_ca_file = snap_get_str(r);
    c->retention_raw_days = snap_get_i32(r);
    c->retention_hourly_days = snap_get_i32(r);
    c->retention_daily_days = snap_get_i32(r);
    uint8_t raw = le_read_u8(&r->in);
    if (raw > CW_RAW_NONE) snap_set_bad(r);
    c->db_raw = (enum cw_db_raw)raw;
}

/* The web's settings; its basic-auth password is skipped unless keep_secret. */
static void decode_web(struct rd *r, struct cw_config *c, bool keep_secret)
{
    c->web_enabled = snap_get_bool(r);
    c->web_allow_plain_http = snap_get_bool(r);
    char **strings[] = { &c->web_listen, &c->web_title, &c->web_tls_cert_file, &c->web_tls_key_file,
                         &c->web_auth_user };
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) *strings[i] = snap_get_str(r);
    c->web_auth_password = keep_secret ? snap_get_str(r) : snap_skip_str(r); /* last of web_strings in encode() */
    c->web_max_connections = snap_get_i32(r);
    c->web_max_connections_per_ip = snap_get_i32(r);
    c->web_connection_timeout = snap_get_f64(r);
    c->web_history_refresh = snap_get_f64(r);
    c->web_metrics_per_endpoint = le_read_u8(&r->in);
}

/* One length-prefixed endpoint record. Returns 1 when it was decoded into c->endpoints[*kept] (and *kept
 * grew), 0 when it belongs to another shard or (a worker's reading) is not checked at c->location, -1 when it is
 * malformed (r is then marked bad). The shard is of the URL alone: the same whether or not the endpoints of other
 * locations are in the file. */
static int decode_endpoint_record(struct rd *r, struct cw_config *c, size_t *kept, size_t *cap, unsigned slot,
                                  unsigned slots)
{
    uint32_t len = le_read_u32(&r->in);
    const uint8_t *record = le_read_bytes(&r->in, len);
    if (!record) return -1;
    struct rd rec = {
        .in = le_reader_of(record, len), .arena = r->arena, .all_secrets = r->all_secrets, .specs = r->specs
    };
    size_t url_len = 0;
    const char *url = snap_peek_str(&rec, &url_len);
    if (!url) {
        snap_set_bad(r);
        return -1;
    }
    if (slots > 1 && cw_shard_of(url, slots) != slot) return 0;
    if (*kept == *cap) {
        *cap = *cap * 2 + 16;
        c->endpoints = cw_xrealloc(c->endpoints, *cap * sizeof *c->endpoints);
    }
    struct cw_endpoint *ep = &c->endpoints[*kept];
    memset(ep, 0, sizeof *ep);
    /* the push tokens: the web's (a worker never holds one); a client key's password and the proxy: the workers'
     * (r->specs, read in decode) */
    snap_get_endpoint(&rec, ep, url, url_len, slots == 0 && snap_keeps_secret(r, "web"));
    size_t n_locations = 0;
    int quorum = 0;
    snap_get_location_list(&rec, c, &ep->locations, &n_locations, &quorum); /* both range-checked there */
    ep->n_locations = (uint8_t)n_locations;                                 /* <= CW_LOCATIONS_MAX */
    ep->quorum = (int8_t)quorum; /* 0, CW_QUORUM_MAJORITY, CW_QUORUM_ALL or 1..CW_LOCATIONS_MAX */
    if (ep->quorum >= 1 && ep->n_locations > 0 && (size_t)ep->quorum > ep->n_locations) snap_set_bad(&rec);
    if (snap_is_bad(&rec) || rec.in.left != 0) snap_set_bad(r);
    else if (slots == 0 || config_endpoint_at(ep, c->location)) (*kept)++; /* a worker: its host's location only */
    return 0;
}

/* The endpoint records, keeping only shard `slot` of `slots` when slots > 1. */
static bool decode_endpoints(struct rd *r, struct cw_config *c, uint32_t n_endpoints, unsigned slot, unsigned slots)
{
    /* every endpoint record is at least its length and an url */
    if (r->in.left / 9 < n_endpoints) return false;
    if (slots == SNAP_NO_ENDPOINTS || slots == SNAP_SETTINGS_ALL) { /* the latter: none to skip */
        for (uint32_t i = 0; i < n_endpoints; i++) {
            if (!le_read_bytes(&r->in, le_read_u32(&r->in))) return false;
            snap_map_drop(r->map, r->in.p);
        }
        return r->in.left == 0;
    }
    size_t cap = slots > 1 ? n_endpoints / slots + n_endpoints / (4 * slots) + 16 : n_endpoints;
    if (cap > n_endpoints) cap = n_endpoints;
    c->endpoints = cw_xmalloc((cap ? cap : 1) * sizeof *c->endpoints);
    size_t kept = 0;
    for (uint32_t i = 0; i < n_endpoints && !snap_is_bad(r); i++) {
        if (decode_endpoint_record(r, c, &kept, &cap, slot, slots) < 0) break;
        snap_map_drop(r->map, r->in.p); /* the records read are not needed again */
    }
    /* the endpoints array, cut to what was kept (a large shrinking realloc moves no bytes), goes to the arena, where
     * config_free finds it: never two copies of it at once (issue 18: the peak of a whole reader at 500,000) */
    if (kept < cap) c->endpoints = cw_xrealloc(c->endpoints, (kept ? kept : 1) * sizeof *c->endpoints);
    cw_arena_adopt(r->arena, c->endpoints);
    c->n_endpoints = kept;
    return !snap_is_bad(r) && r->in.left == 0;
}

static bool decode(struct rd *r, struct cw_config *c, uint32_t n_endpoints, unsigned slot, unsigned slots)
{
    /* A worker (slots > 0) has no use for a password: it never sees one; others keep only their own. */
    bool whole = slots == 0 || slots == SNAP_SETTINGS_ALL;
    bool smtp_secret = whole && snap_keeps_secret(r, "smtp"), db_secret = whole && snap_keeps_secret(r, "db");
    decode_globals(r, c);
    decode_email(r, c, smtp_secret);
    decode_alerting(r, c, smtp_secret);
    decode_database(r, c, db_secret);
    decode_web(r, c, whole && snap_keeps_secret(r, "web"));
    snap_get_alerting(r, c, smtp_secret); /* the channels' secrets: the alerter's, as the SMTP password */
    snap_get_locations(r, c);
    if (snap_is_bad(r) || !plausible(c)) return false;
    struct snap_specs specs;
    /* a client key's password and the proxy: the workers' (slots > 0), or a reader CLOCKWERK_SECRETS lets keep them */
    bool ok = snap_get_spec_table(r, &specs, (slots > 0 && slots != SNAP_SETTINGS_ALL) ||
                                                 snap_keeps_secret(r, "client_key"));
    r->specs = &specs;
    /* a settings copy's maintenance windows keep the indices of the endpoints it was made without */
    ok = ok && decode_endpoints(r, c, n_endpoints, slot, slots) &&
         snap_alerting_plausible(c, slots == SNAP_SETTINGS_ALL ? UINT32_MAX : n_endpoints, !whole);
    r->specs = NULL;
    snap_specs_free(&specs);
    return ok;
}

/* The snapshot in data (a file's bytes or a message's), named `what` in messages. */
static struct cw_config *parse(const uint8_t *data, size_t len, struct snap_map *map, unsigned slot, unsigned slots,
                               bool all_secrets, const char *what, char *err, size_t errlen)
{
    if (len < SNAP_HEADER || memcmp(data, SNAP_MAGIC, 8) != 0) {
        snprintf(err, errlen, "%s is not a Clockwerk snapshot (%s)", what,
                 len < SNAP_HEADER ? "too short" : "bad magic");
        return NULL;
    }
    uint32_t version = le_get_u32(data + 8), n_endpoints = le_get_u32(data + 12);
    uint64_t plen = le_get_u64(data + 16), sum = le_get_u64(data + 24);
    if (version != SNAP_VERSION) {
        snprintf(err, errlen, "snapshot %s is version %u; this build reads version %u", what, version, SNAP_VERSION);
        return NULL;
    }
    if (plen != len - SNAP_HEADER) {
        snprintf(err, errlen, "snapshot %s is truncated or padded (%zu payload bytes, header says %llu)", what,
                 len - SNAP_HEADER, (unsigned long long)plen);
        return NULL;
    }
    uint64_t got = map ? snap_map_checksum(map, SNAP_HEADER, len - SNAP_HEADER)
                       : cw_snapshot_checksum(data + SNAP_HEADER, len - SNAP_HEADER);
    if (got != sum) {
        snprintf(err, errlen, "snapshot %s is corrupt (checksum mismatch)", what);
        return NULL;
    }
    struct cw_config *cfg = cw_xcalloc(1, sizeof *cfg);
    cfg->arena = cw_arena_new();
    struct rd r = { .in = le_reader_of(data + SNAP_HEADER, len - SNAP_HEADER),
                    .arena = cfg->arena,
                    .all_secrets = all_secrets,
                    .map = map };
    if (!decode(&r, cfg, n_endpoints, slot, slots)) {
        snprintf(err, errlen, "snapshot %s is corrupt (malformed fields)", what);
        config_free(cfg);
        return NULL;
    }
    return cfg;
}

/* The file at path, mapped (common/config/snapshot_map.h): its pages are given back as the reading goes, so a
 * reader's peak holds its configuration and a few MB of the file, not the whole file beside it. */
static struct cw_config *read_file(const char *path, unsigned slot, unsigned slots, char *err, size_t errlen)
{
    char what[4200];
    snprintf(what, sizeof what, "snapshot %s", path);
    struct snap_map map;
    if (snap_map_open(&map, path, what, SNAP_MAX_SIZE, err, errlen) != 1) return NULL;
    static const uint8_t empty[1];
    struct cw_config *cfg = parse(map.base ? map.base : empty, map.len, map.base ? &map : NULL, slot, slots, false,
                                  path, err, errlen);
    snap_map_close(&map);
    return cfg;
}

struct cw_config *config_snapshot_read(const char *path, unsigned slot, unsigned slots, char *err, size_t errlen)
{
    if (slots > 0 && slot >= slots) {
        snprintf(err, errlen, "snapshot %s: slot %u out of range for %u slots", path, slot, slots);
        return NULL;
    }
    return read_file(path, slot, slots, err, errlen);
}

struct cw_config *config_snapshot_read_settings(const char *path, char *err, size_t errlen)
{
    return read_file(path, 0, SNAP_NO_ENDPOINTS, err, errlen);
}

int config_snapshot_encode(const struct cw_config *cfg, unsigned char **out, size_t *len, char *err, size_t errlen)
{
    struct cw_buf b = { 0 };
    encode(cfg, &b, true);
    if (b.len > SNAP_MAX_SIZE) {
        snprintf(err, errlen, "the configuration's snapshot is %zu bytes, more than %llu", b.len,
                 (unsigned long long)SNAP_MAX_SIZE);
        explicit_bzero(b.data, b.len);
        cw_buf_free(&b);
        return -1;
    }
    *out = b.data;
    *len = b.len;
    return 0;
}

struct cw_config *config_snapshot_decode(const unsigned char *data, size_t len, char *err, size_t errlen)
{
    return parse(data, len, NULL, 0, 0, false, "in memory", err, errlen);
}

struct cw_config *config_settings_copy(const struct cw_config *cfg, char *err, size_t errlen)
{
    struct cw_config v = *cfg;
    v.n_endpoints = 0; /* its settings alone are encoded: a few KB whatever the endpoints */
    struct cw_buf b = { 0 };
    encode(&v, &b, true);
    struct cw_config *out = parse(b.data, b.len, NULL, 0, SNAP_SETTINGS_ALL, true, "in memory", err, errlen);
    explicit_bzero(b.data, b.len);
    cw_buf_free(&b);
    if (out) out->curve_public_key = cw_arena_strdup(out->arena, cfg->curve_public_key); /* not in a snapshot */
    return out;
}

struct cw_config *config_snapshot_decode_all(const unsigned char *data, size_t len, char *err, size_t errlen)
{
    return parse(data, len, NULL, 0, 0, true, "in memory", err, errlen);
}
