/* tests/unit/test_probe.c — the worker's check machinery (worker/probe.c): the streaming
 * keyword matcher at every split of the body, the classification of outcomes (curl error, status, keyword,
 * body cap) with credentials masked, and real checks through the pool against a small HTTP server on 127.0.0.1
 * (a thread of this test, on a free port); what following redirects needs: the origin test (a downgrade to http is
 * another origin), the headers that may leave the origin, the method after a redirect and the phase sums. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/base/clock.h"
#include "worker/probe.h"
#include "worker/redirect.h"

/* the spec of a hand-built endpoint, written by the test (a loaded one is immutable) */
#define MUT(spec) ((struct cw_check_spec *)(spec))

/* ---- keyword matcher */

static bool kw_in_chunks(const char *kw, const char *body, const size_t *cuts, size_t ncuts)
{
    struct probe_kw m;
    probe_kw_init(&m);
    probe_kw_reset(&m, kw);
    size_t start = 0, len = strlen(body);
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        probe_kw_feed(&m, body + start, end - start);
        start = end;
    }
    bool found = m.found;
    probe_kw_free(&m);
    return found;
}

static void test_kw_every_split(void **state)
{
    (void)state;
    const char *body = "HTTP body with the status: everything is ok, really";
    size_t len = strlen(body);
    const char *kws[] = { "ok", "everything is ok", "s", "HTTP", "really", "status: everything is ok, really" };
    for (size_t k = 0; k < sizeof kws / sizeof kws[0]; k++) {
        /* one cut anywhere */
        for (size_t a = 0; a <= len; a++) assert_true(kw_in_chunks(kws[k], body, &a, 1));
        /* two cuts anywhere */
        for (size_t a = 0; a <= len; a++)
            for (size_t b = a; b <= len; b++) {
                size_t cuts[2] = { a, b };
                assert_true(kw_in_chunks(kws[k], body, cuts, 2));
            }
    }
    /* byte by byte */
    size_t cuts[128];
    for (size_t i = 0; i < len; i++) cuts[i] = i;
    assert_true(kw_in_chunks("is ok,", body, cuts, len));
    assert_false(kw_in_chunks("is ok!", body, cuts, len));
}

static void test_kw_not_found_and_overlaps(void **state)
{
    (void)state;
    size_t cut = 2;
    assert_false(kw_in_chunks("missing", "nothing to see here", &cut, 1));
    assert_false(kw_in_chunks("ok", "o", NULL, 0));
    /* partial matches that overlap the real one */
    size_t c3[3] = { 1, 2, 3 };
    assert_true(kw_in_chunks("aab", "aaab", c3, 3));
    assert_true(kw_in_chunks("abac", "ababac", c3, 3));
    assert_false(kw_in_chunks("abac", "ababab", c3, 3));
    /* a keyword longer than every chunk */
    size_t many[] = { 1, 3, 4, 6, 7, 9, 10, 12 };
    assert_true(kw_in_chunks("0123456789ab", "xx0123456789abyy", many, 8));
    /* the tail of one body never matches into the next one */
    struct probe_kw m;
    probe_kw_init(&m);
    probe_kw_reset(&m, "needle");
    probe_kw_feed(&m, "xxxnee", 6);
    assert_false(m.found);
    probe_kw_reset(&m, "needle");
    probe_kw_feed(&m, "dle", 3);
    assert_false(m.found);
    /* a longer keyword after a short one grows the buffer */
    probe_kw_reset(&m, "a much longer keyword than before");
    probe_kw_feed(&m, "here is a much longer key", 25);
    probe_kw_feed(&m, "word than before!", 17);
    assert_true(m.found);
    /* no keyword: never "found", feeding is harmless */
    probe_kw_reset(&m, NULL);
    probe_kw_feed(&m, "anything", 8);
    assert_false(m.found);
    probe_kw_free(&m);
}

/* ---- classification */

static void test_classify(void **state)
{
    (void)state;
    char err[CW_ERROR_MAX + 1];
    struct probe_outcome o = { .curl_code = CURLE_OK, .status = 200, .status_expected = true };
    assert_true(probe_classify(&o, err, sizeof err));
    assert_string_equal(err, "");

    o.keyword = "ok";
    o.keyword_found = true;
    assert_true(probe_classify(&o, err, sizeof err));
    o.keyword_found = false;
    assert_false(probe_classify(&o, err, sizeof err));
    assert_string_equal(err, "keyword \"ok\" not found");
    o.body_capped = true;
    o.curl_code = CURLE_WRITE_ERROR; /* we stopped the body: not a transfer failure */
    assert_false(probe_classify(&o, err, sizeof err));
    assert_string_equal(err, "keyword \"ok\" not found in the first 1 MiB of the body");
    o.keyword_found = true;
    assert_true(probe_classify(&o, err, sizeof err));
    o.keyword = NULL;
    assert_true(probe_classify(&o, err, sizeof err));

    struct probe_outcome bad = { .curl_code = CURLE_OK, .status = 500, .status_expected = false, .keyword = "ok" };
    assert_false(probe_classify(&bad, err, sizeof err));
    assert_string_equal(err, "unexpected status 500"); /* the status is reported before the keyword */

    struct probe_outcome to = { .curl_code = CURLE_OPERATION_TIMEDOUT,
                                .curl_error = "Operation timed out after 2000 milliseconds with 0 bytes received\n",
                                .status = 200,
                                .status_expected = true };
    assert_false(probe_classify(&to, err, sizeof err));
    assert_string_equal(err, "Operation timed out after 2000 milliseconds with 0 bytes received");

    struct probe_outcome noerr = { .curl_code = CURLE_COULDNT_CONNECT, .curl_error = "" };
    assert_false(probe_classify(&noerr, err, sizeof err));
    assert_string_equal(err, curl_easy_strerror(CURLE_COULDNT_CONNECT));

    /* a write error that was not our cap is a failure */
    struct probe_outcome we = {
        .curl_code = CURLE_WRITE_ERROR, .curl_error = "Failure writing output", .status = 200, .status_expected = true
    };
    assert_false(probe_classify(&we, err, sizeof err));

    struct probe_outcome cred = { .curl_code = CURLE_COULDNT_RESOLVE_HOST,
                                  .curl_error = "Could not reach http://bob:hunter2@example.com/x" };
    assert_false(probe_classify(&cred, err, sizeof err));
    assert_null(strstr(err, "hunter2"));
    assert_string_equal(err, "Could not reach http://***@example.com/x");

    /* a tiny error buffer is cut, never overrun */
    char small[8];
    assert_false(probe_classify(&bad, small, sizeof small));
    assert_string_equal(small, "unexpec");
}

static void test_mask_text(void **state)
{
    (void)state;
    char out[256];
    probe_mask_text("no url here", out, sizeof out);
    assert_string_equal(out, "no url here");
    probe_mask_text("http://u:p@h:80/a?b", out, sizeof out);
    assert_string_equal(out, "http://***@h:80/a?b");
    probe_mask_text("from https://a:b@x/ to http://c:d@y/z and http://plain/w@x", out, sizeof out);
    /* one rule with cw_mask_url: an '@' in the path is masked with it (it may end a password holding '/') */
    assert_string_equal(out, "from https://***@x/ to http://***@y/z and http://***@x");
    probe_mask_text("get http://user:12/34@host/ failed", out, sizeof out);
    assert_string_equal(out, "get http://***@host/ failed");
    probe_mask_text("user only http://joe@host/", out, sizeof out);
    assert_string_equal(out, "user only http://***@host/");
    probe_mask_text("'http://a:b@c' quoted", out, sizeof out);
    assert_string_equal(out, "'http://***@c' quoted");
    char tiny[12];
    probe_mask_text("http://user:secret@host/", tiny, sizeof tiny);
    assert_null(strstr(tiny, "secret"));
    assert_true(strlen(tiny) < sizeof tiny);
}

/* ---- real checks against a tiny HTTP server */

struct server {
    int fd;
    int port;
    int stop_pipe[2];
    pthread_t thread;
    int requests;
};

static void respond(int c)
{
    char req[2048];
    size_t got = 0;
    while (got < sizeof req - 1) {
        ssize_t n = read(c, req + got, sizeof req - 1 - got);
        if (n <= 0) return;
        got += (size_t)n;
        req[got] = '\0';
        if (strstr(req, "\r\n\r\n")) break;
    }
    const char *resp;
    char big_head[128];
    if (strncmp(req, "GET /ok ", 8) == 0)
        resp = "HTTP/1.1 200 OK\r\nContent-Length: 18\r\nConnection: close\r\n\r\nall systems are ok";
    else if (strncmp(req, "GET /fail ", 10) == 0)
        resp = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\nConnection: close\r\n\r\ndown";
    else if (strncmp(req, "HEAD /ok ", 9) == 0)
        resp = "HTTP/1.1 200 OK\r\nContent-Length: 18\r\nConnection: close\r\n\r\n";
    else if (strncmp(req, "POST /echo ", 11) == 0)
        resp = strstr(req, "X-Test: yes")
                   ? "HTTP/1.1 201 Created\r\nContent-Length: 7\r\nConnection: close\r\n\r\ncreated"
                   : "HTTP/1.1 400 Bad\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    else if (strncmp(req, "GET /big ", 9) == 0) {
        /* 2 MiB of 'x': the prober stops at its cap */
        snprintf(big_head, sizeof big_head, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n",
                 2 * 1024 * 1024);
        if (write(c, big_head, strlen(big_head)) < 0) return;
        static char chunk[65536];
        memset(chunk, 'x', sizeof chunk);
        for (int i = 0; i < 32; i++)
            if (write(c, chunk, sizeof chunk) < 0) return; /* the peer closes at the cap */
        return;
    } else resp = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    size_t off = 0, len = strlen(resp);
    while (off < len) {
        ssize_t n = write(c, resp + off, len - off);
        if (n <= 0) return;
        off += (size_t)n;
    }
}

static void *serve(void *arg)
{
    struct server *s = arg;
    for (;;) {
        struct pollfd p[2] = { { .fd = s->fd, .events = POLLIN }, { .fd = s->stop_pipe[0], .events = POLLIN } };
        if (poll(p, 2, -1) < 0) continue;
        if (p[1].revents) break;
        int c = accept(s->fd, NULL, NULL);
        if (c < 0) continue;
        s->requests++;
        respond(c);
        close(c);
    }
    return NULL;
}

static int server_start(void **state)
{
    struct server *s = calloc(1, sizeof *s);
    if (!s) return -1;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = 0 };
    socklen_t alen = sizeof a;
    if (bind(s->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(s->fd, 64) != 0 ||
        getsockname(s->fd, (struct sockaddr *)&a, &alen) != 0 || pipe(s->stop_pipe) != 0) {
        close(s->fd);
        free(s);
        return -1;
    }
    s->port = ntohs(a.sin_port);
    /* a closed port: bind one and close it again */
    if (pthread_create(&s->thread, NULL, serve, s) != 0) return -1;
    *state = s;
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int server_stop(void **state)
{
    struct server *s = *state;
    if (write(s->stop_pipe[1], "x", 1) != 1) return -1;
    pthread_join(s->thread, NULL);
    close(s->fd);
    close(s->stop_pipe[0]);
    close(s->stop_pipe[1]);
    free(s);
    curl_global_cleanup();
    return 0;
}

static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = 0 };
    socklen_t alen = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
        close(fd);
        return 1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

struct got {
    struct cw_result r;
    char url[256], error[CW_ERROR_MAX + 1];
};

/* Runs every endpoint once through a pool of `max` slots; results by endpoint index. */
static void run_checks(struct cw_endpoint *eps, size_t n, unsigned max, struct got *out)
{
    CURLM *multi = curl_multi_init();
    assert_non_null(multi);
    struct probe_pool *pool = probe_pool_new(multi, max);
    assert_non_null(pool);
    assert_int_equal(probe_capacity(pool), max);
    struct curl_slist **hdrs = calloc(n, sizeof *hdrs);
    for (size_t i = 0; i < n; i++) hdrs[i] = probe_headers_new(&eps[i]);
    size_t next = 0, done = 0;
    int64_t deadline = cw_mono_ns() + 20LL * 1000000000;
    while (done < n) {
        assert_true(cw_mono_ns() < deadline);
        while (next < n && probe_in_flight(pool) < max) {
            char err[128];
            int64_t now = cw_mono_ns();
            assert_int_equal(probe_start(pool, &eps[next], hdrs[next], (uint32_t)next, 0, now - 1000, now, cw_wall_us(),
                                         err, sizeof err),
                             0);
            next++;
        }
        char err[128];
        if (next < n) assert_int_equal(probe_start(pool, &eps[next], NULL, 0, 0, 0, 0, 0, err, sizeof err), -1);
        int running;
        assert_int_equal(curl_multi_perform(multi, &running), CURLM_OK);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(multi, &left))) {
            uint32_t id;
            struct cw_result r;
            struct probe_check *c = probe_finish(pool, msg, &r, &id);
            assert_non_null(c);
            assert_true(id < n);
            out[id].r = r;
            snprintf(out[id].url, sizeof out[id].url, "%s", r.url);
            snprintf(out[id].error, sizeof out[id].error, "%s", r.error ? r.error : "");
            probe_release(pool, c);
            done++;
        }
        assert_int_equal(curl_multi_poll(multi, NULL, 0, 100, NULL), CURLM_OK);
    }
    assert_int_equal(probe_in_flight(pool), 0);
    probe_pool_free(pool);
    for (size_t i = 0; i < n; i++) curl_slist_free_all(hdrs[i]);
    free(hdrs);
    curl_multi_cleanup(multi);
}

static void test_real_checks(void **state)
{
    struct server *s = *state;
    char urls[8][128];
    snprintf(urls[0], 128, "http://127.0.0.1:%d/ok", s->port);
    snprintf(urls[1], 128, "http://127.0.0.1:%d/fail", s->port);
    snprintf(urls[2], 128, "http://127.0.0.1:%d/ok", s->port);
    snprintf(urls[3], 128, "http://127.0.0.1:%d/ok", s->port);
    snprintf(urls[4], 128, "http://127.0.0.1:%d/echo", s->port);
    snprintf(urls[5], 128, "http://127.0.0.1:%d/x", closed_port());
    snprintf(urls[6], 128, "http://127.0.0.1:%d/big", s->port);
    snprintf(urls[7], 128, "http://u:topsecret@127.0.0.1:%d/ok", s->port);
    char *echo_hdrs[] = { "X-Test: yes" };
    struct cw_endpoint eps[8];
    struct cw_check_spec specs[8];
    for (int i = 0; i < 8; i++) {
        specs[i] = (struct cw_check_spec){ .method = CW_METHOD_GET, .verify_tls = true };
        eps[i] = (struct cw_endpoint){ .url = urls[i], .spec = &specs[i], .timeout = 5, .interval = 10 };
    }
    MUT(eps[2].spec)->keyword = "systems are";
    MUT(eps[3].spec)->keyword = "not in there";
    MUT(eps[4].spec)->method = CW_METHOD_POST;
    MUT(eps[4].spec)->body = "{\"a\":1}";
    MUT(eps[4].spec)->headers = echo_hdrs;
    MUT(eps[4].spec)->n_headers = 1;
    MUT(eps[6].spec)->keyword = "needle";
    struct got got[8];
    memset(got, 0, sizeof got);
    run_checks(eps, 8, 3, got); /* 3 slots for 8 checks: handles are reused */

    for (int i = 0; i < 8; i++) {
        assert_string_equal(got[i].url, urls[i]);
        assert_true(got[i].r.lateness_us == 1);
        assert_true(got[i].r.latency_us > 0 && got[i].r.latency_us < 5000000);
        assert_int_equal(got[i].r.tls_us, -1); /* plain http */
        assert_true(got[i].r.checked_at_us > 1700000000LL * 1000000);
    }
    assert_true(got[0].r.ok);
    assert_int_equal(got[0].r.status_code, 200);
    assert_true(got[0].r.dns_us >= 0 && got[0].r.connect_us >= 0 && got[0].r.ttfb_us >= 0);
    assert_string_equal(got[0].error, "");

    assert_false(got[1].r.ok);
    assert_int_equal(got[1].r.status_code, 503);
    assert_string_equal(got[1].error, "unexpected status 503");

    assert_true(got[2].r.ok);
    assert_false(got[3].r.ok);
    assert_string_equal(got[3].error, "keyword \"not in there\" not found");

    assert_true(got[4].r.ok); /* POST with body and header: 201 */
    assert_int_equal(got[4].r.status_code, 201);

    assert_false(got[5].r.ok); /* closed port */
    assert_int_equal(got[5].r.status_code, 0);
    assert_int_equal(got[5].r.ttfb_us, -1);
    assert_int_equal(got[5].r.connect_us, -1);
    assert_non_null(strstr(got[5].error, "onnect"));

    assert_false(got[6].r.ok); /* 2 MiB body, keyword beyond the cap */
    assert_int_equal(got[6].r.status_code, 200);
    assert_string_equal(got[6].error, "keyword \"needle\" not found in the first 1 MiB of the body");

    assert_true(got[7].r.ok);
}

static void test_head_and_timeout(void **state)
{
    struct server *s = *state;
    char ok[128];
    snprintf(ok, sizeof ok, "http://127.0.0.1:%d/ok", s->port);
    /* a listening socket that never accepts: the connect succeeds (backlog), no answer ever comes */
    int silent = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = 0 };
    socklen_t alen = sizeof a;
    assert_int_equal(bind(silent, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(silent, 8), 0);
    assert_int_equal(getsockname(silent, (struct sockaddr *)&a, &alen), 0);
    char slow[128];
    snprintf(slow, sizeof slow, "http://127.0.0.1:%d/", ntohs(a.sin_port));
    struct cw_check_spec head = { .method = CW_METHOD_HEAD, .verify_tls = true },
                         get = { .method = CW_METHOD_GET, .verify_tls = true };
    struct cw_endpoint eps[2] = {
        { .url = ok, .spec = &head, .timeout = 5, .interval = 10 },
        { .url = slow, .spec = &get, .timeout = 0.3, .interval = 10 },
    };
    struct got got[2];
    memset(got, 0, sizeof got);
    run_checks(eps, 2, 4, got);
    close(silent);
    assert_true(got[0].r.ok);
    assert_int_equal(got[0].r.status_code, 200);
    assert_false(got[1].r.ok);
    assert_int_equal(got[1].r.status_code, 0);
    assert_true(got[1].r.latency_us >= 290000 && got[1].r.latency_us < 2000000);
    assert_non_null(strstr(got[1].error, "timed out"));
    assert_int_equal(got[1].r.ttfb_us, -1);
}

/* A failed certificate verification is named by what is wrong, from OpenSSL's verify code. */
static void test_tls_errors(void **state)
{
    (void)state;
    char err[CW_ERROR_MAX + 1];
    struct probe_outcome o = { .curl_code = CURLE_PEER_FAILED_VERIFICATION,
                               .curl_error = "SSL certificate problem: certificate has expired",
                               .tls_verify = 10,
                               .host = "127.0.0.1" };
    assert_false(probe_classify(&o, err, sizeof err));
    assert_string_equal(err, "TLS certificate expired: SSL certificate problem: certificate has expired");
    o.tls_verify = 18, o.curl_error = "";
    assert_false(probe_classify(&o, err, sizeof err));
    assert_true(strncmp(err, "TLS certificate is self-signed: ", 32) == 0);
    o.tls_verify = 20;
    assert_false(probe_classify(&o, err, sizeof err));
    assert_true(strncmp(err, "TLS certificate not trusted (unknown CA): ", 42) == 0);
    o.tls_verify = 0,
    o.curl_error = "SSL: no alternative certificate subject name matches target host name '127.0.0.1'";
    assert_false(probe_classify(&o, err, sizeof err));
    assert_true(strncmp(err, "TLS certificate does not match host 127.0.0.1: ", 47) == 0);
    o.tls_verify = 1,
    o.curl_error = "SSL: certificate subject name 'wrong.example' does not match target host name 'x'";
    assert_false(probe_classify(&o, err, sizeof err));
    assert_true(strncmp(err, "TLS certificate does not match host 127.0.0.1: ", 47) == 0);
    o.tls_verify = 4242, o.curl_error = "";
    assert_false(probe_classify(&o, err, sizeof err));
    assert_true(strncmp(err, "TLS certificate rejected (verify code 4242): ", 45) == 0);
    o.host = NULL, o.tls_verify = 0;
    assert_false(probe_classify(&o, err, sizeof err));
    assert_true(strncmp(err, "TLS certificate does not match host (unknown)", 45) == 0);
}

static void test_cert_time(void **state)
{
    (void)state;
    assert_true(probe_parse_cert_time("Jan  2 00:00:00 2020 GMT") == 1577923200LL * 1000000);
    assert_true(probe_parse_cert_time(" Dec 31 23:59:59 2049 GMT") == 2524607999LL * 1000000);
    assert_true(probe_parse_cert_time("Feb 29 12:00:00 2028 GMT") == 1835438400LL * 1000000);
    assert_true(probe_parse_cert_time("Foo  2 00:00:00 2020 GMT") == 0);
    assert_true(probe_parse_cert_time("Jan  2 00:00:00 2020 CET") == 0);
    assert_true(probe_parse_cert_time("Jan 2 2020") == 0);
    assert_true(probe_parse_cert_time("") == 0);
    assert_true(probe_parse_cert_time(NULL) == 0);
    assert_true(probe_parse_cert_time("Jan 32 00:00:00 2020 GMT") == 0);
}

/* ---- redirects (worker/redirect.c) */

static void test_same_origin(void **state)
{
    (void)state;
    assert_true(redirect_same_origin("http://a.test/x", "http://a.test/y?q"));
    assert_true(redirect_same_origin("http://a.test/x", "HTTP://A.TEST:80/y"));
    assert_true(redirect_same_origin("https://a.test/", "https://a.test:443/z"));
    assert_true(redirect_same_origin("http://u:p@127.0.0.1:8080/", "http://127.0.0.1:8080/next"));
    assert_false(redirect_same_origin("https://a.test/", "http://a.test/"));     /* downgrade */
    assert_false(redirect_same_origin("https://a.test/", "http://a.test:443/")); /* downgrade, same port */
    assert_false(redirect_same_origin("http://a.test/", "https://a.test/"));     /* another scheme */
    assert_false(redirect_same_origin("http://a.test/", "http://b.test/"));
    assert_false(redirect_same_origin("http://a.test/", "http://a.test.evil.test/"));
    assert_false(redirect_same_origin("http://127.0.0.1:8080/", "http://127.0.0.1:8081/"));
    assert_false(redirect_same_origin("http://a.test/", "http://a.test@b.test/"));
    assert_false(redirect_same_origin("http://a.test/", "not a url"));
    assert_false(redirect_same_origin("http://a.test/", "ftp://a.test/"));
}

static void test_public_headers_and_method(void **state)
{
    (void)state;
    char *lines[] = { "X-Api-Key: 1",       "Proxy-Authorization: Basic x",
                      "X-Session-Token: t", "Authorization: b",
                      "Cookie: c=1",        "X-Functions-Key: k",
                      "X-Custom: h",        "Accept-Languages: x",
                      "Accept: text/plain", "user-agent : probe" };
    struct cw_check_spec spec = { .headers = lines, .n_headers = sizeof lines / sizeof lines[0] };
    struct cw_endpoint ep = { .spec = &spec };
    struct curl_slist *list = probe_public_headers_new(&ep);
    assert_true(list && list->next && !list->next->next);
    assert_string_equal(list->data, "Accept: text/plain");
    assert_string_equal(list->next->data, "user-agent : probe");
    curl_slist_free_all(list);
    MUT(ep.spec)->n_headers = 8; /* none of the allowlist */
    assert_null(probe_public_headers_new(&ep));

    assert_int_equal(redirect_method(CW_METHOD_POST, 301), CW_METHOD_GET);
    assert_int_equal(redirect_method(CW_METHOD_POST, 302), CW_METHOD_GET);
    assert_int_equal(redirect_method(CW_METHOD_POST, 303), CW_METHOD_GET);
    assert_int_equal(redirect_method(CW_METHOD_POST, 307), CW_METHOD_POST);
    assert_int_equal(redirect_method(CW_METHOD_POST, 308), CW_METHOD_POST);
    assert_int_equal(redirect_method(CW_METHOD_HEAD, 303), CW_METHOD_HEAD);
    assert_int_equal(redirect_method(CW_METHOD_PUT, 303), CW_METHOD_GET);
    assert_int_equal(redirect_method(CW_METHOD_PUT, 302), CW_METHOD_PUT);
    assert_int_equal(redirect_method(CW_METHOD_GET, 301), CW_METHOD_GET);
}

static void test_phases_sum(void **state)
{
    (void)state;
    struct redirect_phases acc, first = { 1000, 10, 20, -1, 300 }, second = { 2000, -1, 30, 400, 500 };
    redirect_phases_init(&acc);
    assert_true(acc.latency_us == 0 && acc.dns_us == -1 && acc.tls_us == -1);
    redirect_phases_add(&acc, &first);
    redirect_phases_add(&acc, &second);
    assert_true(acc.latency_us == 3000 && acc.dns_us == 10 && acc.connect_us == 50);
    assert_true(acc.tls_us == 400 && acc.ttfb_us == 800);
    struct redirect_phases none = { 0, -1, -1, -1, -1 };
    redirect_phases_init(&acc);
    redirect_phases_add(&acc, &none);
    assert_true(acc.dns_us == -1 && acc.connect_us == -1 && acc.ttfb_us == -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kw_every_split),
        cmocka_unit_test(test_kw_not_found_and_overlaps),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_mask_text),
        cmocka_unit_test(test_tls_errors),
        cmocka_unit_test(test_cert_time),
        cmocka_unit_test(test_same_origin),
        cmocka_unit_test(test_public_headers_and_method),
        cmocka_unit_test(test_phases_sum),
        cmocka_unit_test_setup_teardown(test_real_checks, server_start, server_stop),
        cmocka_unit_test_setup_teardown(test_head_and_timeout, server_start, server_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
