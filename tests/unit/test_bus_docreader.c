/* tests/unit/test_bus_docreader.c — the Python reader printed in docs/protocol.md, extracted and run for real
 * (/usr/bin/python3 with python3-zmq) against this encoder and the relay: it must print what clockwerk-tap
 * prints. */
#include "bus_test_util.h"

/* ---- the Python reader of docs/protocol.md, run for real against this encoder and relay */

/* Extracts the first ```python block of docs/protocol.md into path. Returns 0, or -1. */
static int extract_doc_snippet(const char *path)
{
    FILE *in = fopen("../../docs/protocol.md", "r");
    if (!in) return -1;
    static char doc[256 * 1024];
    size_t n = fread(doc, 1, sizeof doc - 1, in);
    fclose(in);
    doc[n] = '\0';
    char *start = strstr(doc, "```python\n");
    if (!start) return -1;
    start += strlen("```python\n");
    char *end = strstr(start, "```");
    if (!end) return -1;
    FILE *out = fopen(path, "w");
    if (!out) return -1;
    int rc = fwrite(start, 1, (size_t)(end - start), out) == (size_t)(end - start) ? 0 : -1;
    if (fclose(out) != 0) rc = -1;
    return rc;
}

static void test_doc_python_reader(void **state)
{
    struct fixture *f = *state;
    if (system("/usr/bin/python3 -c 'import zmq' >/dev/null 2>&1") != 0) {
        fprintf(stderr, "python3-zmq is missing: skipped\n");
        skip();
    }
    char script[160];
    snprintf(script, sizeof script, "%s/reader.py", f->dir);
    assert_int_equal(extract_doc_snippet(script), 0);

    struct relay_thread rt;
    pthread_t th;
    relay_start(&rt, &th, f->b, f->c);
    struct bus_socket *pub = open_ok(f->bus, BUS_PUBLISH, f->b);

    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execl("/usr/bin/python3", "python3", script, f->c, "6", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);

    /* Every batch: one ok result, one failure with credentials in the URL checked at location fra and a dns check
     * with its figures (result version 3); a malformed payload in between must be dropped by the reader, not crash
     * it. */
    struct cw_result rs[3] = {
        { .worker = 1,
          .boot_id = 0xfeed,
          .checked_at_us = 1795579506123456LL,
          .latency_us = 12345,
          .dns_us = 15,
          .connect_us = 120,
          .tls_us = -1,
          .ttfb_us = 12000,
          .status_code = 200,
          .ok = true,
          .url = "http://127.0.0.1:8089/" },
        { .worker = 1,
          .boot_id = 0xfeed,
          .checked_at_us = 1795579507000999LL,
          .latency_us = 1234,
          .dns_us = 10,
          .connect_us = -1,
          .tls_us = -1,
          .ttfb_us = -1,
          .status_code = 0,
          .ok = false,
          .url = "http://user:secret@127.0.0.1:1/x",
          .error = "Couldn't connect to server",
          .location = "fra" }, /* result version 3: the location */
        { .worker = 1,
          .boot_id = 0xfeed,
          .checked_at_us = 1795579508000000LL,
          .latency_us = 812,
          .dns_us = -1,
          .connect_us = -1,
          .tls_us = -1,
          .ttfb_us = -1,
          .ok = true,
          .url = "dns://127.0.0.1:5353/example.test?type=MX",
          .kind = 3,
          .figures =
              "{\"rcode\": \"NOERROR\", \"answers\": [\"10 mx.example.test.\"], \"server\": \"127.0.0.1:5353\"}" },
    };
    struct cw_buf b = { 0 };
    uint64_t seq = 1;
    int status = -1;
    bool exited = false;
    int64_t until = cw_mono_us() / 1000 + 20000;
    while (cw_mono_us() / 1000 < until) {
        proto_results_begin(&b);
        for (int i = 0; i < 3; i++) {
            rs[i].seq = seq++;
            assert_int_equal(proto_results_add(&b, &rs[i]), 0);
        }
        (void)bus_send(pub, CW_MSG_RESULT, "\x01\x01\x01\x00garbage", 11);
        (void)bus_send(pub, CW_MSG_RESULT, b.data, b.len);
        if (waitpid(pid, &status, WNOHANG) == pid) {
            exited = true;
            break;
        }
        (void)poll(NULL, 0, 50);
    }
    if (!exited) { /* stop it on every path before asserting */
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    char out[4096];
    size_t got = 0;
    ssize_t r;
    while (got < sizeof out - 1 && (r = read(fds[0], out + got, sizeof out - 1 - got)) > 0) got += (size_t)r;
    out[got] = '\0';
    close(fds[0]);
    bus_close(pub);
    relay_stop(&rt, th);

    assert_true(exited);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* The reader prints what clockwerk-tap prints, line for line. */
    struct cw_buf expect = { 0 };
    char *line = out;
    for (int i = 0; i < 6; i++) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        assert_true(tap_format_result(&expect, &rs[i % 3], false) > 0);
        assert_int_equal((size_t)(nl + 1 - line), expect.len);
        assert_memory_equal(line, expect.data, expect.len);
        line = nl + 1;
    }
    assert_string_equal(line, "");
    cw_buf_free(&expect);
    cw_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_doc_python_reader, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
