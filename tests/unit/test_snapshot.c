/* tests/unit/test_snapshot.c — the config snapshot (common/config/snapshot.c): a round trip keeps every field,
 * the file is 0600 and written atomically, shard filtering partitions the endpoints (union is all, no
 * overlap, cw_shard_of decides) and gives workers no passwords, and truncated, corrupt, forged or
 * foreign files are refused with a reason and never crash. Also times a 100,000-endpoint snapshot. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "cfgtest_util.h"
#include "common/config/config.h"
#include "common/config/config_priv.h"
#include "common/base/log.h"
#include "common/base/util.h"

static void assert_str_same(const char *a, const char *b)
{
    if (!a || !b) assert_ptr_equal(a, b);
    else assert_string_equal(a, b);
}

static void assert_endpoint_equal(const struct cw_endpoint *a, const struct cw_endpoint *b)
{
    assert_str_same(a->url, b->url);
    assert_str_same(a->name, b->name);
    assert_int_equal(a->spec->method, b->spec->method);
    assert_str_same(a->spec->body, b->spec->body);
    assert_true(a->timeout == b->timeout);
    assert_true(a->interval == b->interval);
    assert_true(a->latency_threshold == b->latency_threshold);
    assert_int_equal(a->alert_threshold, b->alert_threshold);
    assert_int_equal(a->recovery_threshold, b->recovery_threshold);
    assert_int_equal(a->spec->n_expect_status, b->spec->n_expect_status);
    for (size_t i = 0; i < a->spec->n_expect_status; i++)
        assert_int_equal(a->spec->expect_status[i], b->spec->expect_status[i]);
    assert_int_equal(a->spec->verify_tls, b->spec->verify_tls);
    assert_int_equal(a->spec->follow_redirects, b->spec->follow_redirects);
    assert_str_same(a->spec->keyword, b->spec->keyword);
    assert_int_equal(a->spec->n_headers, b->spec->n_headers);
    for (size_t i = 0; i < a->spec->n_headers; i++) assert_string_equal(a->spec->headers[i], b->spec->headers[i]);
    assert_str_same(a->spec->ca_file, b->spec->ca_file);
    assert_int_equal(a->spec->body_len, b->spec->body_len);
    if (a->spec->body) assert_memory_equal(a->spec->body, b->spec->body, a->spec->body_len);
}

static void assert_strv_same(char *const *a, size_t na, char *const *b, size_t nb)
{
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) assert_string_equal(a[i], b[i]);
}

static void assert_conditions_same(const struct cw_condition *a, size_t na, const struct cw_condition *b, size_t nb)
{
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) {
        assert_str_same(a[i].text, b[i].text);
        assert_str_same(a[i].subject, b[i].subject);
        assert_int_equal(a[i].op, b[i].op);
        assert_int_equal(a[i].value_kind, b[i].value_kind);
        assert_str_same(a[i].value, b[i].value);
    }
}

/* The fields of issue 14 (check types, HTTP assertions); b's secrets as said. */
static void assert_check_fields_equal(const struct cw_endpoint *a, const struct cw_endpoint *b, bool token,
                                      bool key_password)
{
    assert_int_equal(a->type, b->type);
    assert_str_same(a->host, b->host);
    assert_int_equal(a->port, b->port);
    assert_int_equal(a->spec->send_len, b->spec->send_len);
    if (a->spec->send) assert_memory_equal(a->spec->send, b->spec->send, a->spec->send_len);
    else assert_null(b->spec->send);
    assert_str_same(a->spec->expect, b->spec->expect);
    assert_str_same(a->spec->server_name, b->spec->server_name);
    assert_int_equal(a->spec->starttls, b->spec->starttls);
    assert_int_equal(a->spec->min_cert_days, b->spec->min_cert_days);
    assert_int_equal(a->spec->record_type, b->spec->record_type);
    assert_str_same(a->spec->dns_server, b->spec->dns_server);
    assert_int_equal(a->spec->expect_rcode, b->spec->expect_rcode);
    assert_strv_same(a->spec->expect_answers, a->spec->n_expect_answers, b->spec->expect_answers,
                     b->spec->n_expect_answers);
    assert_int_equal(a->spec->icmp_count, b->spec->icmp_count);
    assert_true(a->spec->packet_interval == b->spec->packet_interval);
    assert_true(a->spec->max_loss == b->spec->max_loss);
    assert_str_same(token ? a->push_token : NULL, b->push_token);
    assert_true(a->spec->grace == b->spec->grace);
    assert_int_equal(a->spec->n_status_ranges, b->spec->n_status_ranges);
    for (size_t i = 0; i < a->spec->n_status_ranges; i++) {
        assert_int_equal(a->spec->status_ranges[i].lo, b->spec->status_ranges[i].lo);
        assert_int_equal(a->spec->status_ranges[i].hi, b->spec->status_ranges[i].hi);
    }
    assert_strv_same(a->spec->keywords, a->spec->n_keywords, b->spec->keywords, b->spec->n_keywords);
    assert_strv_same(a->spec->keywords_absent, a->spec->n_keywords_absent, b->spec->keywords_absent,
                     b->spec->n_keywords_absent);
    assert_strv_same(a->spec->body_regex, a->spec->n_body_regex, b->spec->body_regex, b->spec->n_body_regex);
    assert_strv_same(a->spec->body_regex_absent, a->spec->n_body_regex_absent, b->spec->body_regex_absent,
                     b->spec->n_body_regex_absent);
    assert_conditions_same(a->spec->json_conditions, a->spec->n_json_conditions, b->spec->json_conditions,
                           b->spec->n_json_conditions);
    assert_conditions_same(a->spec->header_conditions, a->spec->n_header_conditions, b->spec->header_conditions,
                           b->spec->n_header_conditions);
    assert_true(a->spec->max_response_time == b->spec->max_response_time);
    assert_int_equal(a->spec->http_version, b->spec->http_version);
    assert_int_equal(a->spec->fail_if_not_tls, b->spec->fail_if_not_tls);
    assert_int_equal(a->spec->compressed, b->spec->compressed);
    assert_int_equal(a->spec->body_limit, b->spec->body_limit);
    assert_str_same(a->spec->client_cert, b->spec->client_cert);
    assert_str_same(a->spec->client_key, b->spec->client_key);
    assert_str_same(key_password ? a->spec->client_key_password : NULL, b->spec->client_key_password);
    assert_str_same(key_password ? a->spec->proxy : NULL, b->spec->proxy); /* its credentials: the workers' */
    assert_str_same(a->spec->address, b->spec->address);
    assert_int_equal(a->spec->cookies, b->spec->cookies);
}

/* Every field of struct cw_config; with_secrets false: b's passwords must be NULL. */
static void assert_config_equal(const struct cw_config *a, const struct cw_config *b, bool with_secrets)
{
    assert_str_same(a->path, b->path);
    assert_str_same(a->dir, b->dir);
    assert_int_equal(a->workers, b->workers);
    assert_str_same(a->run_dir, b->run_dir);
    assert_int_equal(a->log_level, b->log_level);
    assert_int_equal(a->log_target, b->log_target);
    assert_str_same(a->user, b->user);
    assert_str_same(a->store_address, b->store_address);
    assert_str_same(a->alert_address, b->alert_address);
    assert_str_same(a->publish_address, b->publish_address);
    assert_str_same(a->tap_address, b->tap_address);
    assert_true(a->check_interval == b->check_interval);
    assert_true(a->latency_threshold == b->latency_threshold);
    assert_int_equal(a->tls_expiry_days, b->tls_expiry_days);
    assert_int_equal(a->email_enabled, b->email_enabled);
    assert_str_same(a->smtp_host, b->smtp_host);
    assert_int_equal(a->smtp_port, b->smtp_port);
    assert_str_same(a->email_from, b->email_from);
    assert_int_equal(a->n_email_to, b->n_email_to);
    for (size_t i = 0; i < a->n_email_to; i++) assert_string_equal(a->email_to[i], b->email_to[i]);
    assert_str_same(a->smtp_user, b->smtp_user);
    assert_str_same(with_secrets ? a->smtp_password : NULL, b->smtp_password);
    assert_int_equal(a->smtp_tls, b->smtp_tls);
    assert_str_same(a->smtp_ca_file, b->smtp_ca_file);
    assert_int_equal(a->n_webhooks, b->n_webhooks);
    for (size_t i = 0; i < a->n_webhooks; i++) assert_string_equal(a->webhooks[i].url, b->webhooks[i].url);
    assert_true(a->renotify == b->renotify);
    assert_int_equal(a->recovery_threshold, b->recovery_threshold);
    assert_int_equal(a->group_threshold, b->group_threshold);
    assert_int_equal(a->db_activation, b->db_activation);
    assert_int_equal(a->db_driver, b->db_driver);
    assert_str_same(a->db_name, b->db_name);
    assert_str_same(a->db_user, b->db_user);
    assert_str_same(with_secrets ? a->db_password : NULL, b->db_password);
    assert_str_same(a->db_host, b->db_host);
    assert_int_equal(a->db_port, b->db_port);
    assert_str_same(a->db_sslmode, b->db_sslmode);
    assert_str_same(a->db_ca_file, b->db_ca_file);
}

static struct cw_config *load_full(struct ct *t)
{
    ct_write_full_side_files(t, "db-secret\n");
    struct cw_config *c = ct_load_fixture(t, "full.conf");
    if (!c) ct_dump(t);
    assert_non_null(c);
    return c;
}

static void snap_path(struct ct *t, char *out, size_t len) { snprintf(out, len, "%s/config.snap", t->dir); }

static void test_full_config_values(void **state)
{
    struct ct *t = *state;
    struct cw_config *c = load_full(t);
    /* spot checks that full.conf really sets everything away from its default */
    assert_int_equal(c->workers, 3);
    assert_int_equal(c->log_target, LOG_TARGET_JOURNAL);
    assert_string_equal(c->user, "clockwerk");
    assert_string_equal(c->store_address, "tcp://127.0.0.1:7001");
    assert_int_equal(c->n_endpoints, 2);
    assert_int_equal(c->endpoints[0].spec->method, CW_METHOD_POST);
    assert_string_equal(c->endpoints[0].spec->body, "{\"ping\": 1}");
    assert_int_equal(c->endpoints[0].spec->n_expect_status, 1);
    assert_int_equal(c->endpoints[0].spec->expect_status[0], 201);
    assert_int_equal(c->endpoints[1].spec->n_expect_status, 3);
    assert_true(c->endpoints[1].timeout == 10);
    assert_true(c->endpoints[1].interval == 30.5);
    assert_int_equal(c->smtp_port, 2525);
    assert_int_equal(c->smtp_tls, CW_SMTP_TLS);
    assert_string_equal(c->smtp_password, "smtp-secret");
    assert_int_equal(c->n_email_to, 2);
    assert_int_equal(c->n_webhooks, 2);
    assert_int_equal(c->db_driver, CW_DB_MYSQL);
    assert_string_equal(c->db_name, "monitoring");
    assert_string_equal(c->db_password, "db-secret");
    assert_string_equal(c->db_sslmode, "verify-full");
    config_free(c);
}

static void test_round_trip(void **state)
{
    struct ct *t = *state;
    struct cw_config *c = load_full(t);
    char path[512], err[512];
    snap_path(t, path, sizeof path);
    assert_int_equal(config_snapshot_write(c, path, err, sizeof err), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    struct cw_config *r = config_snapshot_read(path, 0, 0, err, sizeof err);
    if (!r) fprintf(stderr, "%s\n", err);
    assert_non_null(r);
    assert_int_equal(r->n_endpoints, c->n_endpoints);
    assert_config_equal(c, r, true);
    for (size_t i = 0; i < c->n_endpoints; i++) assert_endpoint_equal(&c->endpoints[i], &r->endpoints[i]);
    config_free(r);

    /* overwriting is atomic and leaves no temporary file behind */
    assert_int_equal(config_snapshot_write(c, path, err, sizeof err), 0);
    DIR *d = opendir(t->dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) assert_null(strstr(e->d_name, ".tmp"));
    closedir(d);

    /* a directory that does not exist: an error with a reason */
    char bad[600];
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.snap", t->dir);
    err[0] = '\0';
    assert_int_equal(config_snapshot_write(c, bad, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot create"));
    config_free(c);

    /* a sparse config built by hand: NULLs stay NULL */
    struct cw_config *h = calloc(1, sizeof *h);
    assert_non_null(h);
    h->workers = 1;
    assert_int_equal(config_snapshot_write(h, path, err, sizeof err), 0);
    r = config_snapshot_read(path, 0, 0, err, sizeof err);
    assert_non_null(r);
    assert_config_equal(h, r, true);
    assert_int_equal(r->n_endpoints, 0);
    config_free(r);

    /* the web on with web.history_refresh below its minimum (5 s; 0 would refresh nonstop): refused */
    h->web_enabled = true;
    h->web_listen = strdup("127.0.0.1:8080");
    h->web_history_refresh = 0;
    assert_int_equal(config_snapshot_write(h, path, err, sizeof err), 0);
    err[0] = '\0';
    assert_null(config_snapshot_read(path, 0, 0, err, sizeof err));
    assert_true(err[0] != '\0');
    h->web_history_refresh = 5;
    assert_int_equal(config_snapshot_write(h, path, err, sizeof err), 0);
    r = config_snapshot_read(path, 0, 0, err, sizeof err);
    assert_non_null(r);
    config_free(r);
    config_free(h);
}

/* One endpoint of each type, and an HTTP one with every assertion and request option set away from its default. */
static struct cw_config *load_check_types(struct ct *t)
{
    char text[4096];
    char body_path[512];
    snprintf(body_path, sizeof body_path, "%s/body.bin", t->dir);
    FILE *f = fopen(body_path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite("a\0b", 1, 3, f), 3); /* a body_file may hold any byte */
    fclose(f);
    ct_write(t, "tls/client.pem", "x\n", 0600);
    ct_write(t, "tls/client.key", "x\n", 0600);
    ct_write(t, "key.pw", "key-secret\n", 0600);
    snprintf(
        text, sizeof text,
        "web = { listen = \"127.0.0.1:8080\"; allow_plain_http = true; };\n"
        "monitor = { endpoints = (\n"
        "{ type = \"tcp\"; name = \"t\"; host = \"::1\"; port = 25; send = \"EHLO x\\\\x00\\r\\n\"; expect = \"250\"; },\n"
        "{ type = \"tls\"; name = \"s\"; host = \"h.example\"; port = 587; server_name = \"m.example\";\n"
        "  starttls = \"smtp\"; min_cert_days = 7; verify_tls = false; },\n"
        "{ type = \"dns\"; name = \"d\"; host = \"example.org\"; record_type = \"MX\"; dns_server = \"[::1]:5353\";\n"
        "  expect_rcode = \"NXDOMAIN\"; expect_answers = [\"10 mx.example.org\", \"20 b.example.org\"]; },\n"
        "{ type = \"icmp\"; name = \"i\"; host = \"127.0.0.1\"; count = 5; packet_interval = 0.5; max_loss = 40; },\n"
        "{ type = \"push\"; name = \"p\"; token = \"abcdefghijklmnop_-0123\"; grace = 12.5; },\n"
        "{ url = \"https://a.example/x\"; method = \"PUT\"; body_file = \"body.bin\"; expect_status = (204, \"2xx\", \"300-302\");\n"
        "  keywords = [\"a\", \"b\"]; keywords_absent = \"c\"; body_regex = [\"^x\"]; body_regex_absent = [\"y$\"];\n"
        "  json = [\"$.status == \\\"UP\\\"\", \"$.items exists\"]; header_conditions = [\"X-V == 2\"];\n"
        "  max_response_time = 1.5; http_version = \"2\"; fail_if_not_tls = true; compressed = true;\n"
        "  body_limit = 2048; client_cert = \"%s/tls/client.pem\"; client_key = \"%s/tls/client.key\";\n"
        "  client_key_password_file = \"key.pw\"; proxy = \"socks5://u:secret@127.0.0.1:1080\"; address = \"::1\";\n"
        "  cookies = true; min_cert_days = 3; }\n"
        "); };\n",
        t->dir, t->dir);
    struct cw_config *c = ct_load(t, text);
    if (!c) ct_dump(t);
    assert_non_null(c);
    assert_int_equal(c->n_endpoints, 6);
    return c;
}

/* Every field of the check types and the HTTP assertions survives the snapshot; the push token reaches only a
 * whole-snapshot reader with the web's secrets, the client key's password and the proxy (its URL may hold a
 * password) only the workers (and the tools). */
static void test_check_types_round_trip(void **state)
{
    struct ct *t = *state;
    struct cw_config *c = load_check_types(t);
    assert_int_equal(c->endpoints[0].spec->send_len, 9); /* "EHLO x" NUL CR LF, the NUL from \\x00 */
    assert_int_equal(c->endpoints[5].spec->body_len, 3);
    char path[512], err[512];
    snap_path(t, path, sizeof path);
    assert_int_equal(config_snapshot_write(c, path, err, sizeof err), 0);
    struct {
        const char *secrets;
        unsigned slots;
        bool token, key_password;
    } readers[] = {
        { NULL, 0, true, true },      /* the tap, tools */
        { "web,db", 0, true, false }, /* the web */
        { "smtp", 0, false, false },  /* the alerter */
        { "none", 1, false, true },   /* a worker */
    };
    for (size_t k = 0; k < sizeof readers / sizeof readers[0]; k++) {
        if (readers[k].secrets) setenv("CLOCKWERK_SECRETS", readers[k].secrets, 1);
        else unsetenv("CLOCKWERK_SECRETS");
        struct cw_config *r = config_snapshot_read(path, 0, readers[k].slots, err, sizeof err);
        if (!r) fprintf(stderr, "%s\n", err);
        assert_non_null(r);
        assert_int_equal(r->n_endpoints, c->n_endpoints);
        for (size_t i = 0; i < c->n_endpoints; i++) {
            assert_endpoint_equal(&c->endpoints[i], &r->endpoints[i]);
            assert_check_fields_equal(&c->endpoints[i], &r->endpoints[i], readers[k].token, readers[k].key_password);
        }
        config_free(r);
    }
    unsetenv("CLOCKWERK_SECRETS");
    config_free(c);
}

static char *many_endpoints_text(size_t n)
{
    size_t cap = n * 80 + 512;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t len = (size_t)snprintf(text, cap,
                                  "database = { db_password = \"pw\"; };\n"
                                  "email = { smtp_host = \"h\"; email_from = \"a@b\"; email_to = \"c@d\"; "
                                  "smtp_password = \"pw2\"; };\n"
                                  "monitor = { endpoints = (\n");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, cap - len, "{ url = \"http://127.0.0.1:8080/e/%zu\"; }%s\n", i,
                                i + 1 < n ? "," : "");
    snprintf(text + len, cap - len, "); };\n");
    return text;
}

static void test_shards(void **state)
{
    struct ct *t = *state;
    const size_t n = 1000;
    char *text = many_endpoints_text(n);
    struct cw_config *c = ct_load(t, text);
    free(text);
    assert_non_null(c);
    char path[512], err[512];
    snap_path(t, path, sizeof path);
    assert_int_equal(config_snapshot_write(c, path, err, sizeof err), 0);

    static const unsigned slot_counts[] = { 1, 2, 3, 4, 7 };
    unsigned char *seen = calloc(n, 1);
    assert_non_null(seen);
    for (size_t k = 0; k < sizeof slot_counts / sizeof slot_counts[0]; k++) {
        unsigned slots = slot_counts[k];
        memset(seen, 0, n);
        size_t total = 0;
        for (unsigned slot = 0; slot < slots; slot++) {
            struct cw_config *r = config_snapshot_read(path, slot, slots, err, sizeof err);
            if (!r) fprintf(stderr, "%s\n", err);
            assert_non_null(r);
            assert_config_equal(c, r, false); /* a worker gets every global field but no password */
            size_t prev = 0;
            for (size_t i = 0; i < r->n_endpoints; i++) {
                const char *url = r->endpoints[i].url;
                assert_int_equal(cw_shard_of(url, slots), slot);
                size_t idx = (size_t)strtoul(strrchr(url, '/') + 1, NULL, 10);
                assert_true(idx < n);
                assert_int_equal(seen[idx], 0); /* no overlap */
                seen[idx] = 1;
                if (i > 0) assert_true(idx > prev); /* file order kept */
                prev = idx;
                assert_endpoint_equal(&c->endpoints[idx], &r->endpoints[i]);
            }
            total += r->n_endpoints;
            config_free(r);
        }
        assert_int_equal(total, n); /* union is everything */
        for (size_t i = 0; i < n; i++) assert_int_equal(seen[i], 1);
    }
    free(seen);
    /* slot out of range */
    assert_null(config_snapshot_read(path, 3, 3, err, sizeof err));
    assert_non_null(strstr(err, "out of range"));
    config_free(c);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *d = malloc((size_t)n);
    assert_non_null(d);
    assert_int_equal(fread(d, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return d;
}

static void spit(const char *path, const uint8_t *d, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (len) assert_int_equal(fwrite(d, 1, len, f), len);
    fclose(f);
}

static void fix_header(uint8_t *d, size_t len)
{
    uint64_t plen = len - 32, sum = cw_snapshot_checksum(d + 32, len - 32);
    for (int i = 0; i < 8; i++) {
        d[16 + i] = (uint8_t)(plen >> (8 * i));
        d[24 + i] = (uint8_t)(sum >> (8 * i));
    }
}

static void test_corrupt(void **state)
{
    struct ct *t = *state;
    struct cw_config *c = load_full(t);
    char path[512], bad[512], err[512];
    snap_path(t, path, sizeof path);
    snprintf(bad, sizeof bad, "%s/bad.snap", t->dir);
    assert_int_equal(config_snapshot_write(c, path, err, sizeof err), 0);
    config_free(c);
    size_t len;
    uint8_t *orig = slurp(path, &len);
    uint8_t *d = malloc(len);
    assert_non_null(d);

    /* missing */
    snprintf(err, sizeof err, "x");
    assert_null(config_snapshot_read(bad, 0, 0, err, sizeof err));
    assert_non_null(strstr(err, "cannot open snapshot"));

    /* every truncation */
    for (size_t cut = 0; cut < len; cut++) {
        spit(bad, orig, cut);
        err[0] = '\0';
        struct cw_config *r = config_snapshot_read(bad, 0, 0, err, sizeof err);
        if (r) fprintf(stderr, "accepted a snapshot cut at %zu of %zu\n", cut, len);
        assert_null(r);
        assert_true(err[0] != '\0');
    }
    /* every single-byte change */
    for (size_t i = 0; i < len; i++) {
        memcpy(d, orig, len);
        d[i] ^= 0x5a;
        spit(bad, d, len);
        struct cw_config *r = config_snapshot_read(bad, 0, 0, err, sizeof err);
        if (r) fprintf(stderr, "accepted a snapshot with byte %zu changed\n", i);
        assert_null(r);
    }
    /* named reasons */
    memcpy(d, orig, len);
    d[0] = 'X';
    spit(bad, d, len);
    assert_null(config_snapshot_read(bad, 0, 0, err, sizeof err));
    assert_non_null(strstr(err, "not a Clockwerk snapshot"));
    memcpy(d, orig, len);
    d[8] = 99; /* a version no build reads */
    spit(bad, d, len);
    assert_null(config_snapshot_read(bad, 0, 0, err, sizeof err));
    assert_non_null(strstr(err, "version 99"));
    spit(bad, orig, len - 1);
    assert_null(config_snapshot_read(bad, 0, 0, err, sizeof err));
    assert_non_null(strstr(err, "truncated"));
    memcpy(d, orig, len);
    d[len - 1] ^= 1;
    spit(bad, d, len);
    assert_null(config_snapshot_read(bad, 0, 0, err, sizeof err));
    assert_non_null(strstr(err, "checksum"));

    /* forged: a valid checksum over a cut payload is still refused */
    for (size_t cut = 32; cut < len; cut++) {
        memcpy(d, orig, cut);
        fix_header(d, cut);
        spit(bad, d, cut);
        assert_null(config_snapshot_read(bad, 0, 0, err, sizeof err));
        assert_non_null(strstr(err, "malformed"));
    }
    /* forged: random changes under a valid checksum never crash (ASan/UBSan watch the reads) */
    srand(12345);
    for (int round = 0; round < 3000; round++) {
        memcpy(d, orig, len);
        int changes = 1 + rand() % 4;
        for (int k = 0; k < changes; k++) {
            size_t at = 32 + (size_t)rand() % (len - 32);
            d[at] = (rand() % 3 == 0) ? 0xff : (uint8_t)rand();
        }
        fix_header(d, len);
        spit(bad, d, len);
        unsigned slots = (unsigned)(rand() % 3);
        struct cw_config *r = config_snapshot_read(bad, slots ? (unsigned)rand() % slots : 0, slots, err, sizeof err);
        config_free(r);
    }
    free(d);
    free(orig);
}

static void test_100k_snapshot(void **state)
{
    struct ct *t = *state;
    const size_t n = 100000;
    char *text = many_endpoints_text(n);
    struct cw_config *c = ct_load(t, text);
    free(text);
    assert_non_null(c);
    char path[512], err[512];
    snap_path(t, path, sizeof path);
    struct timespec a, b, e;
    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_int_equal(config_snapshot_write(c, path, err, sizeof err), 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    struct cw_config *r = config_snapshot_read(path, 0, 0, err, sizeof err);
    clock_gettime(CLOCK_MONOTONIC, &e);
    assert_non_null(r);
    assert_int_equal(r->n_endpoints, n);
    config_free(r);
    struct timespec s0, s1;
    clock_gettime(CLOCK_MONOTONIC, &s0);
    size_t total = 0;
    for (unsigned slot = 0; slot < 4; slot++) {
        r = config_snapshot_read(path, slot, 4, err, sizeof err);
        assert_non_null(r);
        total += r->n_endpoints;
        config_free(r);
    }
    clock_gettime(CLOCK_MONOTONIC, &s1);
    assert_int_equal(total, n);
#define MS(x, y) ((double)((y).tv_sec - (x).tv_sec) * 1e3 + (double)((y).tv_nsec - (x).tv_nsec) / 1e6)
    print_message("100,000 endpoints: snapshot write %.0f ms (with fsync), read all %.1f ms, one shard of 4 %.1f ms "
                  "(not asserted)\n",
                  MS(a, b), MS(b, e), MS(s0, s1) / 4);
    config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_full_config_values, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_round_trip, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_check_types_round_trip, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_shards, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_corrupt, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_100k_snapshot, ct_setup, ct_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
