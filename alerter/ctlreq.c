/* alerter/ctlreq.c — the control socket's requests: decoded defensively, dispatched to struct control_ops,
 * answered in one JSON line (control_handle, alerter/control.h; docs/protocol.md "The alerter's control
 * socket"). */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerter/control.h"
#include "common/wire/jsonnew.h"
#include "common/base/log.h"

#define BY_MAX 64 /* bytes of the caller's own name for who it acts for */
/* Answers an error and returns from the op. */
#define ERR(msg)                   \
    do {                           \
        answer_error(answer, msg); \
        return;                    \
    } while (0)

static json_object *answer_new(bool ok)
{
    json_object *o = cw_jnew(json_object_new_object());
    json_object_object_add(o, "v", cw_jnew(json_object_new_int(CONTROL_VERSION)));
    json_object_object_add(o, "ok", cw_jnew(json_object_new_boolean(ok)));
    return o;
}

static void answer_error(struct cw_buf *answer, const char *msg)
{
    json_object *o = answer_new(false);
    json_object_object_add(o, "error", cw_jnew(json_object_new_string(msg)));
    silences_json_put(o, false, answer);
}

/* A member of type t, or NULL (absent, JSON null, or another type: *bad set for the last). */
static json_object *member(json_object *req, const char *k, json_type t, bool *bad)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(req, k, &v) || !v) return NULL;
    if (!json_object_is_type(v, t)) {
        *bad = true;
        return NULL;
    }
    return v;
}

/* The author: the peer's user, with the name it says it acts for ("by": $SUDO_USER, the web's user) when that
 * is another one. NULL when "by" is not printable text of at most BY_MAX bytes. */
static const char *author_of(json_object *req, const char *who, char *buf, size_t len)
{
    bool bad = false;
    json_object *by = member(req, "by", json_type_string, &bad);
    if (bad) return NULL;
    const char *b = by ? json_object_get_string(by) : "";
    if (strlen(b) > BY_MAX) return NULL;
    for (const unsigned char *p = (const unsigned char *)b; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '(' || *p == ')') return NULL;
    if (!b[0] || strcmp(b, who) == 0) snprintf(buf, len, "%s", who);
    else snprintf(buf, len, "%s (as %s)", b, who);
    return buf;
}

static void op_silence_add(const struct control_ops *ops, json_object *req, const char *author, int64_t now_wall,
                           struct cw_buf *answer)
{
    bool bad = false;
    json_object *endpoint = member(req, "endpoint", json_type_string, &bad);
    json_object *group = member(req, "group", json_type_string, &bad);
    json_object *all = member(req, "all", json_type_boolean, &bad);
    json_object *duration = member(req, "duration_s", json_type_int, &bad);
    json_object *reason = member(req, "reason", json_type_string, &bad);
    if (bad) ERR("a member of the request has the wrong type");
    if (!duration) ERR("duration_s (seconds) is required");
    int64_t seconds = json_object_get_int64(duration);
    if (seconds <= 0 || seconds > SILENCE_DURATION_MAX_S) ERR("duration_s must be more than 0 and at most 365 days");
    struct silence want = {
        .endpoint = endpoint ? (char *)json_object_get_string(endpoint) : NULL,
        .group = group ? (char *)json_object_get_string(group) : NULL,
        .all = all && json_object_get_boolean(all),
        .start_us = now_wall,
        .end_us = now_wall + seconds * 1000000LL,
        .created_us = now_wall,
        .reason = reason ? (char *)json_object_get_string(reason) : NULL,
        .author = (char *)author,
    };
    const struct silence *added = NULL;
    char err[600];
    if (ops->silence_add(ops->ctx, &want, &added, err, sizeof err) != 0) ERR(err);
    json_object *o = answer_new(true);
    json_object_object_add(o, "silence", silence_to_json(added, true));
    silences_json_put(o, false, answer);
}

static void op_silence_remove(const struct control_ops *ops, json_object *req, const char *author,
                              struct cw_buf *answer)
{
    bool bad = false;
    json_object *id = member(req, "id", json_type_string, &bad);
    if (bad || !id) ERR("id (a string) is required");
    struct silence removed;
    char err[300];
    if (ops->silence_remove(ops->ctx, json_object_get_string(id), author, &removed, err, sizeof err) != 0) ERR(err);
    json_object *o = answer_new(true);
    json_object_object_add(o, "silence", silence_to_json(&removed, true));
    silence_clear(&removed);
    silences_json_put(o, false, answer);
}

static void op_silence_list(const struct control_ops *ops, struct cw_buf *answer)
{
    const struct silences *s = ops->silence_list(ops->ctx);
    json_object *o = answer_new(true), *list = cw_jnew(json_object_new_array());
    json_object_object_add(o, "silences", list);
    for (size_t i = 0; i < s->n; i++) json_object_array_add(list, silence_to_json(&s->v[i], true));
    silences_json_put(o, false, answer);
}

/* 1 to 16 hex digits, not 0. */
static int parse_alert_id(const char *t, uint64_t *id)
{
    size_t n = strlen(t);
    if (n == 0 || n > 16 || strspn(t, "0123456789abcdefABCDEF") != n) return -1;
    *id = strtoull(t, NULL, 16);
    return *id ? 0 : -1;
}

static void op_ack(const struct control_ops *ops, json_object *req, const char *author, struct cw_buf *answer)
{
    bool bad = false;
    json_object *idv = member(req, "alert_id", json_type_string, &bad);
    uint64_t id = 0;
    if (bad || !idv || parse_alert_id(json_object_get_string(idv), &id) != 0)
        ERR("alert_id must be an alert id: 1 to 16 hex digits, as alerts show it");
    char msg[400] = "";
    if (ops->ack(ops->ack_ctx, id, author, msg, sizeof msg) != 0) ERR(msg[0] ? msg : "cannot acknowledge it");
    json_object *o = answer_new(true);
    json_object_object_add(o, "message", cw_jnew(json_object_new_string(msg)));
    silences_json_put(o, false, answer);
}

/* Runs the op of a request decoded as an object of the right version. */
static void dispatch_op(const struct control_ops *ops, json_object *req, const char *op, const char *author,
                        int64_t now_wall, struct cw_buf *answer)
{
    bool silence_op = !strcmp(op, "silence_add") || !strcmp(op, "silence_list") || !strcmp(op, "silence_remove");
    if (!silence_op && strcmp(op, "ack") != 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "unknown op '%.60s' (silence_add, silence_list, silence_remove, ack)", op);
        ERR(msg);
    }
    if ((silence_op && (!ops->silence_add || !ops->silence_list || !ops->silence_remove)) ||
        (!silence_op && !ops->ack)) {
        char msg[160];
        snprintf(msg, sizeof msg, "'%s' is not available in this alerter", op);
        ERR(msg);
    }
    if (!strcmp(op, "silence_add")) op_silence_add(ops, req, author, now_wall, answer);
    else if (!strcmp(op, "silence_remove")) op_silence_remove(ops, req, author, answer);
    else if (!strcmp(op, "silence_list")) op_silence_list(ops, answer);
    else op_ack(ops, req, author, answer);
}

void control_handle(const struct control_ops *ops, const char *line, size_t len, const char *who, int64_t now_wall_us,
                    struct cw_buf *answer)
{
    json_tokener *tok = json_tokener_new();
    if (!tok) fatal(1, "out of memory (json)");
    json_object *req = len <= CONTROL_REQUEST_MAX ? json_tokener_parse_ex(tok, line, (int)len) : NULL;
    bool whole = req && json_tokener_get_error(tok) == json_tokener_success;
    for (size_t i = whole ? (size_t)tok->char_offset : len; i < len; i++)
        whole = whole && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\n');
    json_object *v = NULL, *op = NULL;
    char author[SILENCE_AUTHOR_MAX];
    if (!whole || !json_object_is_type(req, json_type_object)) {
        answer_error(answer, "the request is not one JSON object");
    } else if (!json_object_object_get_ex(req, "v", &v) || !json_object_is_type(v, json_type_int)) {
        answer_error(answer, "the request has no version (\"v\")");
    } else if (json_object_get_int64(v) != CONTROL_VERSION) {
        answer_error(answer, "unsupported version: this alerter speaks version 1");
    } else if (!json_object_object_get_ex(req, "op", &op) || !json_object_is_type(op, json_type_string)) {
        answer_error(answer, "the request has no op");
    } else if (!author_of(req, who, author, sizeof author)) {
        answer_error(answer, "by must be a name of at most 64 printable characters");
    } else {
        dispatch_op(ops, req, json_object_get_string(op), author, now_wall_us, answer);
    }
    json_object_put(req);
    json_tokener_free(tok);
}
