/* common/wire/ctlclient.c — the control socket's client (see ctlclient.h). */
#include "common/wire/ctlclient.h"

#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/base/clock.h"

/* Connects to RUN_DIR/alerter.ctl within timeout_ms (SO_SNDTIMEO bounds an AF_UNIX connect, which blocks while
 * the listener's backlog is full, and the send of the request): the fd, or a negative enum ctlclient_rc with err. */
static int dial(const char *run_dir, int timeout_ms, char *err, size_t errlen)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (snprintf(addr.sun_path, sizeof addr.sun_path, "%s/alerter.ctl", run_dir) >= (int)sizeof addr.sun_path) {
        snprintf(err, errlen, "%s/alerter.ctl: path too long for a socket", run_dir);
        return CTLCLIENT_FAILED;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return CTLCLIENT_FAILED;
    }
    struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
    if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) {
        snprintf(err, errlen, "setsockopt SO_SNDTIMEO: %s", strerror(errno));
        close(fd);
        return CTLCLIENT_FAILED;
    }
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0) return fd;
    int e = errno;
    close(fd);
    if (e == EAGAIN || e == EWOULDBLOCK || e == EINPROGRESS) {
        snprintf(err, errlen, "the alerter did not take the connection on %s within %d ms (busy or stopped?)",
                 addr.sun_path, timeout_ms);
        return CTLCLIENT_FAILED;
    }
    if (e == ENOENT || e == ECONNREFUSED) {
        snprintf(err, errlen, "no alerter is listening on %s: is clockwerk running?", addr.sun_path);
        return CTLCLIENT_NOT_RUNNING;
    }
    if (e == EACCES || e == EPERM)
        snprintf(err, errlen, "cannot reach %s: %s (run this as the daemon's user or root)", addr.sun_path,
                 strerror(e));
    else snprintf(err, errlen, "cannot connect to %s: %s", addr.sun_path, strerror(e));
    return CTLCLIENT_FAILED;
}

static int send_all(int fd, const char *request, char *err, size_t errlen)
{
    size_t len = strlen(request), sent = 0;
    while (sent < len) {
        ssize_t w = send(fd, request + sent, len - sent, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
            snprintf(err, errlen, "cannot send the request to the alerter: %s", strerror(errno));
            return -1;
        }
        sent += (size_t)w;
    }
    return 0;
}

/* Reads until the answer's newline: 0, or -1 with err. */
static int read_line(int fd, struct cw_buf *answer, int timeout_ms, char *err, size_t errlen)
{
    int64_t deadline = cw_mono_us() + (int64_t)timeout_ms * 1000;
    while (!answer->len || answer->data[answer->len - 1] != '\n') {
        int64_t left_ms = (deadline - cw_mono_us()) / 1000;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int rc = left_ms > 0 ? poll(&p, 1, (int)left_ms) : 0;
        if (rc < 0 && errno == EINTR) continue;
        if (rc == 0) {
            snprintf(err, errlen, "the alerter did not answer within %.1f s", timeout_ms / 1000.0);
            return -1;
        }
        char chunk[8192];
        ssize_t got = rc > 0 ? recv(fd, chunk, sizeof chunk, 0) : -1;
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0 || answer->len + (size_t)got > CTLCLIENT_ANSWER_MAX) {
            snprintf(err, errlen, "the alerter closed the connection without a whole answer");
            return -1;
        }
        cw_buf_put(answer, chunk, (size_t)got);
    }
    return 0;
}

enum ctlclient_rc ctlclient_ask(const char *run_dir, const char *request, struct cw_buf *answer, int timeout_ms,
                                char *err, size_t errlen)
{
    int fd = dial(run_dir, timeout_ms, err, errlen);
    if (fd < 0) return (enum ctlclient_rc)fd;
    int rc = send_all(fd, request, err, errlen) == 0 && read_line(fd, answer, timeout_ms, err, errlen) == 0
                 ? CTLCLIENT_OK
                 : CTLCLIENT_FAILED;
    close(fd);
    return (enum ctlclient_rc)rc;
}

struct json_object *ctlclient_answer(const struct cw_buf *answer, bool *ok, const char **error)
{
    json_tokener *tok = json_tokener_new();
    json_object *ans = tok && answer->len < (size_t)INT32_MAX
                           ? json_tokener_parse_ex(tok, (const char *)answer->data, (int)answer->len)
                           : NULL;
    if (tok) json_tokener_free(tok);
    json_object *okv = NULL, *errv = NULL;
    if (!ans || !json_object_is_type(ans, json_type_object) || !json_object_object_get_ex(ans, "ok", &okv) ||
        !json_object_is_type(okv, json_type_boolean)) {
        json_object_put(ans);
        return NULL;
    }
    *ok = json_object_get_boolean(okv);
    *error = json_object_object_get_ex(ans, "error", &errv) && json_object_is_type(errv, json_type_string)
                 ? json_object_get_string(errv)
                 : NULL;
    return ans;
}

struct json_object *ctlclient_request(const char *run_dir, struct json_object *req, int timeout_ms, bool *ok,
                                      const char **error, char *err, size_t errlen)
{
    struct cw_buf line = { 0 }, answer = { 0 };
    cw_buf_printf(&line, "%s\n", json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN));
    cw_buf_put(&line, "", 1);
    json_object_put(req);
    json_object *ans = NULL;
    if (ctlclient_ask(run_dir, (const char *)line.data, &answer, timeout_ms, err, errlen) == CTLCLIENT_OK &&
        !(ans = ctlclient_answer(&answer, ok, error)))
        snprintf(err, errlen, "the alerter's answer is not one it should give");
    cw_buf_free(&line);
    cw_buf_free(&answer);
    return ans;
}
