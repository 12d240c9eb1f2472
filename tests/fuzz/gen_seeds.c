/* tests/fuzz/gen_seeds.c — writes the binary seed corpora of the fuzz harnesses (tests/fuzz/corpus/<h>/)
 * with the project's own encoders, so that seeds are real messages: result batches, stats and alerts
 * (protocol, tap), spool files (spool), ack payloads (ack), snapshots of the sample configs (snapshot), and
 * field-separated alert texts (mail, webhook). Run from the repository root: `make fuzz-seeds`. Config
 * seeds are the committed sample configs, copied by the Makefile rule. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/bus/ackq.h"
#include "common/config/config.h"
#include "common/base/le.h"
#include "common/base/log.h"
#include "common/wire/protocol.h"
#include "common/base/util.h"

static void write_seed(const char *harness, const char *name, const void *data, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "tests/fuzz/corpus/%s", harness);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "tests/fuzz/corpus/%s/%s", harness, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) fatal(1, "cannot write %s", path);
}

static void both(const char *name, const struct cw_buf *b)
{
    write_seed("protocol", name, b->data, b->len);
    write_seed("tap", name, b->data, b->len);
}

static void spool_record(struct cw_buf *spool, const struct cw_buf *msg)
{
    le_buf_u32(spool, (uint32_t)msg->len); /* the record frame of common/wire/spoolfile.h, no meta */
    cw_buf_put(spool, msg->data, msg->len);
}

static void put_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0 || chmod(path, 0600) != 0)
        fatal(1, "cannot write %s", path);
}

/* Issue 16: a central host's locations on a loaded config (static strings: the config's arena frees only its own):
 * fra and nyc, the endpoints at one, two or every location with each kind of quorum. */
static void add_locations(struct cw_config *cfg)
{
    static struct cw_location locs[] = { { "fra", "0000000000000000000000000000000000000000" },
                                         { "nyc", "1111111111111111111111111111111111111111" } };
    static char *names[] = { "central", "fra", "nyc" };
    static const int quorums[] = { CW_QUORUM_MAJORITY, CW_QUORUM_ALL, 1 };
    cfg->location = names[0];
    cfg->config_address = "tcp://127.0.0.1:7000";
    cfg->locations = locs;
    cfg->n_locations = 2;
    cfg->quorum = CW_QUORUM_ALL;
    cfg->location_silent_after = 20;
    for (size_t i = 0; i < cfg->n_endpoints; i++) {
        cfg->endpoints[i].locations = names + i % 3;
        cfg->endpoints[i].n_locations = 3 - i % 3;
        cfg->endpoints[i].quorum = quorums[i % 3];
    }
}

/* Loads conf from a private copy (mode 0600, with the db.pw and the CA files that full.conf names next to it). */
static void snapshot_of(const char *conf, const char *name, bool locations)
{
    char err[512], dir[] = "/tmp/cw-seeds-XXXXXX", copy[64], pw[64];
    if (!mkdtemp(dir)) fatal(1, "mkdtemp failed");
    FILE *in = fopen(conf, "rb");
    static char text[65536];
    size_t len = in ? fread(text, 1, sizeof text, in) : 0;
    if (!in || fclose(in) != 0) fatal(1, "cannot read %s", conf);
    snprintf(copy, sizeof copy, "%s/c.conf", dir);
    snprintf(pw, sizeof pw, "%s/db.pw", dir);
    put_file(copy, text, len);
    put_file(pw, "db-secret\n", 10);
    /* the CA bundles full.conf names must exist to load */
    static const char *const cas[] = { "ca/private.pem", "ca/smtp.pem", "ca/db.pem" };
    char ca_dir[64], ca[96];
    snprintf(ca_dir, sizeof ca_dir, "%s/ca", dir);
    mkdir(ca_dir, 0700);
    for (size_t i = 0; i < sizeof cas / sizeof cas[0]; i++) {
        snprintf(ca, sizeof ca, "%s/%s", dir, cas[i]);
        put_file(ca, "x\n", 2);
    }
    struct cw_config *cfg = config_load(copy, NULL, NULL);
    unlink(copy);
    unlink(pw);
    for (size_t i = 0; i < sizeof cas / sizeof cas[0]; i++) {
        snprintf(ca, sizeof ca, "%s/%s", dir, cas[i]);
        unlink(ca);
    }
    rmdir(ca_dir);
    rmdir(dir);
    if (!cfg) fatal(1, "%s does not load", conf);
    if (locations) add_locations(cfg);
    char path[256];
    snprintf(path, sizeof path, "tests/fuzz/corpus/snapshot/%s", name);
    mkdir("tests/fuzz/corpus/snapshot", 0755);
    if (config_snapshot_write(cfg, path, err, sizeof err) != 0) fatal(1, "%s", err);
    chmod(path, 0644);
    config_free(cfg);
}

/* Issue 16: a result batch of version 3 (located records) and each location message (docs/protocol.md 2.9-2.11). */
static void location_seeds(struct cw_result r)
{
    struct cw_buf b = { 0 };
    proto_results_begin(&b);
    r.location = "fra";
    proto_results_add(&b, &r);
    r.seq++, r.location = NULL; /* one without: "" */
    proto_results_add(&b, &r);
    both("result_v3", &b);
    struct cw_hello h = { "fra", 2, 0x1122334455667788ULL, 1764043506000000, -1500, 900, 3000 };
    proto_hello_encode(&b, &h);
    write_seed("protocol", "hello", b.data, b.len);
    proto_hello_echo_encode(&b, &(struct cw_hello_echo){ 1764043506000000, 1764043506001500 });
    write_seed("protocol", "hello_echo", b.data, b.len);
    proto_config_get_encode(&b, &(struct cw_config_get){ "nyc", 0xfeedfacecafebeefULL, 1764043506000000 });
    write_seed("protocol", "config_get", b.data, b.len);
    static const unsigned char snap[] = { 'C', 'W', 0, 7, 1, 2, 3 };
    struct cw_config_reply c = {
        CW_CONFIG_NEW,         42,   1764043506000000, 1764043506000400, "", "tcp://10.0.0.5:7001", "tcp://*:7002",
        "tcp://10.0.0.5:7003", snap, sizeof snap
    };
    proto_config_reply_encode(&b, &c);
    write_seed("protocol", "config_new", b.data, b.len);
    c = (struct cw_config_reply){ .status = CW_CONFIG_REFUSED,
                                  .echo_sent_at_us = 1764043506000000,
                                  .central_at_us = 1764043506000400,
                                  .reason = "unknown location nyc" };
    proto_config_reply_encode(&b, &c);
    write_seed("protocol", "config_refused", b.data, b.len);
    struct cw_locations_msg m = { .at_us = 1764043506000000, .count = 2 };
    m.loc[0] = (struct cw_location_state){ "central", CW_LOCATION_LIVE, 1764043505900000, 0, 300, 2 };
    m.loc[1] = (struct cw_location_state){ "fra", CW_LOCATION_SILENT, 1764043400000000, CW_OFFSET_UNKNOWN, -1, 0 };
    proto_locations_encode(&b, &m);
    both("locations", &b);
    cw_buf_free(&b);
}

int main(void)
{
    log_init("gen_seeds", LOG_LVL_INFO);
    struct cw_buf res = { 0 }, one = { 0 }, st = { 0 }, al = { 0 }, spool = { 0 };
    struct cw_result r = { .worker = 1,
                           .boot_id = 0x1122334455667788ULL,
                           .seq = 1,
                           .checked_at_us = 1764043506123456,
                           .lateness_us = 120,
                           .latency_us = 12345,
                           .dns_us = 100,
                           .connect_us = 200,
                           .tls_us = -1,
                           .ttfb_us = 9000,
                           .status_code = 200,
                           .ok = true,
                           .url = "http://127.0.0.1:8089/health" };
    proto_results_begin(&res);
    proto_results_add(&res, &r);
    proto_results_begin(&one);
    proto_results_add(&one, &r);
    r.seq = 2, r.ok = false, r.status_code = 0, r.url = "https://user:secret@example.test/x?q=1";
    r.error = "Failed to connect to example.test port 443: Connection refused";
    r.connect_us = r.tls_us = r.ttfb_us = -1;
    proto_results_add(&res, &r);
    r.seq = 3, r.status_code = 503, r.url = "http://[::1]:8080/\xc3\xa9t\xc3\xa9",
    r.error = "HTTP 503 \x1b[31mred\x1b[0m";
    proto_results_add(&res, &r);
    both("result_one", &one);
    both("result_batch", &res);
    /* version 2: a kind and figures, with and without the certificate expiry (docs/protocol.md 2.3) */
    struct cw_buf v2 = { 0 };
    proto_results_begin(&v2);
    r.seq = 4, r.ok = true, r.error = NULL, r.status_code = 0, r.kind = 3, r.url = "dns://127.0.0.1:53/example.test";
    r.figures = "{\"rcode\":\"NOERROR\",\"answers\":[\"192.0.2.1\",\"192.0.2.2\"],\"server\":\"127.0.0.1:53\"}";
    proto_results_add(&v2, &r);
    r.seq = 5, r.ok = false, r.kind = 2, r.url = "tls://example.test:443", r.tls_expires_at_us = 1798761600000000;
    r.error = "TLS certificate expires in 3 days (< 14)";
    r.figures = "{\"version\":\"TLSv1.3\",\"cipher\":\"TLS_AES_256_GCM_SHA384\",\"verify\":\"ok\"}";
    proto_results_add(&v2, &r);
    r.seq = 6, r.ok = true, r.error = NULL, r.kind = 4, r.url = "icmp://127.0.0.1", r.tls_expires_at_us = 0;
    r.figures = "{\"sent\":3,\"received\":2,\"loss_pct\":33.3,\"rtt_avg_ms\":0.042,\"method\":\"dgram\"}";
    proto_results_add(&v2, &r);
    r.seq = 7, r.kind = 5, r.url = "push://nightly-backup", r.figures = "{\"status\":\"up\",\"gap_s\":3600.2}";
    proto_results_add(&v2, &r);
    both("result_v2", &v2);
    cw_buf_free(&v2);
    location_seeds(r);

    struct cw_stats s = { .role = "worker", .id = 3, .boot_id = 0xabcdef, .at_us = 1764043506000000, .count = 3 };
    s.items[0] = (struct cw_stat){ "checks", 123 };
    s.items[1] = (struct cw_stat){ "in_flight", 3 };
    s.items[2] = (struct cw_stat){ "lateness_p99_us", -1 };
    proto_stats_encode(&st, &s);
    both("stats", &st);

    struct cw_alert a = { .alert_id = 0x0123456789abcdefULL,
                          .raised_at_us = 1764043506000000,
                          .kind = CW_ALERT_DOWN,
                          .email_state = CW_DELIVERY_PENDING,
                          .webhook_state = CW_DELIVERY_SENT,
                          .url = "https://ops:hunter2@example.test/status",
                          .name = "x\r\nBcc: evil@example.test",
                          .message = "api is DOWN since 2026-11-25T04:05:06Z: 3 checks failed" };
    proto_alert_encode(&al, &a);
    both("alert", &al);

    spool_record(&spool, &res);
    spool_record(&spool, &al);
    spool_record(&spool, &st); /* a stats record: counted as malformed on replay */
    write_seed("spool", "three_records", spool.data, spool.len);
    cw_buf_put(&spool, "\x40\x00\x00\x00\x01\x01", 6); /* a record cut short by a crash */
    write_seed("spool", "torn_tail", spool.data, spool.len);

    /* ack: the storer acking one batch; three ranges of two workers and an alert record's ack (worker
     * ACKQ_ALERT_WORKER, boot_id the alert id, first..last delivery-state versions); the extremes of a range;
     * the most ranges one message may hold */
    struct cw_buf ack = { 0 };
    struct ackq_range ar[ACKQ_RANGES_MAX] = {
        { .worker = 1, .boot_id = 0x1122334455667788ULL, .first = 1, .last = 3 },
        { .worker = 0, .boot_id = 0x0a0b0c0d0e0f1011ULL, .first = 1000, .last = 1511 },
        { .worker = ACKQ_ALERT_WORKER,
          .boot_id = 0x0123456789abcdefULL,
          .first = ackq_alert_version(0, 0),
          .last = ackq_alert_version(CW_DELIVERY_PENDING, CW_DELIVERY_SENT) },
    };
    if (ackq_ack_encode(&ack, ar, 1) != 0) fatal(1, "ack_one does not encode");
    write_seed("ack", "ack_one", ack.data, ack.len);
    if (ackq_ack_encode(&ack, ar, 3) != 0) fatal(1, "ack_three does not encode");
    write_seed("ack", "ack_three", ack.data, ack.len);
    ar[0] = (struct ackq_range){ .worker = 0, .boot_id = 0, .first = 1, .last = UINT64_MAX };
    ar[1] =
        (struct ackq_range){ .worker = UINT32_MAX - 1, .boot_id = UINT64_MAX, .first = UINT64_MAX, .last = UINT64_MAX };
    if (ackq_ack_encode(&ack, ar, 2) != 0) fatal(1, "ack_extremes does not encode");
    write_seed("ack", "ack_extremes", ack.data, ack.len);
    for (uint32_t i = 0; i < ACKQ_RANGES_MAX; i++)
        ar[i] = (struct ackq_range){
            .worker = i % 4, .boot_id = 0x5eed0000ULL + i % 4, .first = 1 + 100ULL * i, .last = 100ULL * (i + 1)
        };
    if (ackq_ack_encode(&ack, ar, ACKQ_RANGES_MAX) != 0) fatal(1, "ack_max_ranges does not encode");
    write_seed("ack", "ack_max_ranges", ack.data, ack.len);
    /* version 2: a durable range and a refusal of a payload of an unknown version */
    static const uint8_t poison[] = { 9, 1, 1, 0, 0, 0, 0, 0 };
    ar[1] = ackq_refusal(poison, sizeof poison);
    if (ackq_ack_encode(&ack, ar, 2) != 0) fatal(1, "ack_refused does not encode");
    write_seed("ack", "ack_refused", ack.data, ack.len);
    cw_buf_free(&ack);

    snapshot_of("etc/clockwerk.conf", "sample", false);
    snapshot_of("tests/unit/configs/full.conf", "full", false);
    snapshot_of("tests/unit/configs/types.conf", "types", false);   /* every check type and HTTP assertion */
    snapshot_of("tests/unit/configs/full.conf", "locations", true); /* issue 16 */

    /* mail/webhook: control byte, then name, URL tail, error, name 2, URL 2, From, To 1, To 2 */
    static const char plain[] = "\x01"
                                "api\0example.test:8443/health?x=1\0Connection refused\0db\0"
                                "https://a:b@c.example/\0alerts@example.test\0ops@example.test\0oncall@example.test";
    static const char inject[] = "\x0a"
                                 "x\r\nBcc: evil@example.test\0h/\r\nX-Evil: 1\0HTTP 500\r\n\r\nbody\0"
                                 "'); DROP TABLE checks; --\0http://x/\0a@b\r\nBcc: c@d\0ops@example.test\0";
    static const char utf8[] = "\x13"
                               "caf\xc3\xa9 \xe2\x98\x83 \xff\xfe\0example.test/\xc3\xa9\0\x1b[2Jtimeout\0\0\0\0\0";
    write_seed("mail", "plain", plain, sizeof plain - 1);
    write_seed("mail", "inject", inject, sizeof inject - 1);
    write_seed("mail", "utf8", utf8, sizeof utf8 - 1);
    write_seed("webhook", "plain", plain, sizeof plain - 1);
    write_seed("webhook", "inject", inject, sizeof inject - 1);
    write_seed("webhook", "utf8", utf8, sizeof utf8 - 1);

    cw_buf_free(&res), cw_buf_free(&one), cw_buf_free(&st), cw_buf_free(&al), cw_buf_free(&spool);
    return 0;
}
