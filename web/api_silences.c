/* web/api_silences.c — the web's silence API over the alerter's control socket (see api_silences.h). */
#include "web/api_silences.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

#include "common/wire/jsonnew.h"
#include "common/base/log.h"
#include "common/wire/ctlclient.h"
#include "web/api_json.h"

static json_object *request_new(const struct web_request *rq, const char *op)
{
    json_object *req = cw_jnew(json_object_new_object());
    json_object_object_add(req, "v", cw_jnew(json_object_new_int(1)));
    json_object_object_add(req, "op", cw_jnew(json_object_new_string(op)));
    if (rq->cfg->web_auth_user) json_object_object_add(req, "by", cw_jnew(json_object_new_string(rq->cfg->web_auth_user)));
    return req;
}

/* Sends req (taken) to the alerter. Returns its answer (the caller json_object_put()s it) with *member the
 * answer's KEY, or NULL after writing the error: 503 (no alerter, no answer, an answer without KEY), 404 when the
 * alerter says "no silence has id", else 400. */
static json_object *ask(const struct web_request *rq, struct web_reply *rp, json_object *req, const char *key,
                        json_object **member)
{
    char err[600];
    bool ok = false;
    const char *why = NULL;
    json_object *ans = ctlclient_request(rq->cfg->run_dir, req, API_SILENCES_TIMEOUT_MS, &ok, &why, err, sizeof err);
    *member = NULL;
    if (!ans) {
        api_error(rp, 503, err);
    } else if (!ok) {
        why = why ? why : "refused by the alerter";
        api_error(rp, strncmp(why, "no silence has id", 17) == 0 ? 404 : 400, why);
    } else if (!json_object_object_get_ex(ans, key, member) || !*member) {
        api_error(rp, 503, "the alerter's answer is not one it should give");
    }
    if (!*member) {
        json_object_put(ans);
        ans = NULL;
    }
    return ans;
}

/* Writes {"KEY": value} with status. */
static void reply_member(struct web_reply *rp, const char *key, json_object *value, int status)
{
    rp->status = status;
    rp->content_type = "application/json";
    cw_buf_printf(&rp->body, "{\"%s\":%s}\n", key,
                  json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* Sends req (taken) to the alerter; on success writes {"KEY": the answer's KEY} with status ok_status, else the
 * error (ask). */
static void relay(const struct web_request *rq, struct web_reply *rp, json_object *req, const char *key, int ok_status)
{
    json_object *member, *ans = ask(rq, rp, req, key, &member);
    if (ans) reply_member(rp, key, member, ok_status);
    json_object_put(ans);
}

/* Whether a browser says the write comes from another site: a page elsewhere may POST a form here, and the
 * browser adds the operator's cached basic-auth credentials (cross-site request forgery). A browser sends
 * Sec-Fetch-Site, or at least Origin, on such a request; a client like curl sends neither and is not refused. */
static bool cross_site(const struct web_request *rq)
{
    if (rq->fetch_site) return strcmp(rq->fetch_site, "same-origin") != 0 && strcmp(rq->fetch_site, "none") != 0;
    if (!rq->origin) return false;
    const char *o = strstr(rq->origin, "://");
    return !o || !rq->host || strcmp(o + 3, rq->host) != 0; /* "null", another scheme's or host's origin */
}

/* 0 when writes are enabled and the request is not cross-site, else the 403 is written. */
static int writes_allowed(const struct web_request *rq, struct web_reply *rp)
{
    if (!rq->cfg->web_auth_user) {
        api_error(rp, 403, "silences can be changed through the web only when web.auth_user is set");
        return -1;
    }
    if (cross_site(rq)) {
        api_error(rp, 403, "a silence cannot be changed from another site's page (Origin / Sec-Fetch-Site)");
        return -1;
    }
    return 0;
}

static void add_silence(const struct web_request *rq, struct web_reply *rp)
{
    const char *endpoint = web_request_arg(rq, "endpoint"), *group = web_request_arg(rq, "group");
    const char *all = web_request_arg(rq, "all"), *reason = web_request_arg(rq, "reason");
    uint64_t seconds = 0;
    if (!api_arg_given(rq, "duration_s") || api_arg_uint(rq, "duration_s", 365ULL * 86400, &seconds) != 0 ||
        seconds == 0) {
        api_error(rp, 400, "duration_s must be a whole number of seconds from 1 to 31536000 (365 days)");
        return;
    }
    if (all && strcmp(all, "true") != 0 && strcmp(all, "1") != 0) {
        api_error(rp, 400, "all must be true (or left out)");
        return;
    }
    json_object *req = request_new(rq, "silence_add");
    if (endpoint) json_object_object_add(req, "endpoint", cw_jnew(json_object_new_string(endpoint)));
    if (group) json_object_object_add(req, "group", cw_jnew(json_object_new_string(group)));
    if (all) json_object_object_add(req, "all", cw_jnew(json_object_new_boolean(true)));
    json_object_object_add(req, "duration_s", cw_jnew(json_object_new_int64((int64_t)seconds)));
    if (reason) json_object_object_add(req, "reason", cw_jnew(json_object_new_string(reason)));
    relay(rq, rp, req, "silence", 201);
}

void api_silences(const struct web_request *rq, struct web_reply *rp)
{
    if (!rq->method || strcmp(rq->method, "POST") != 0) relay(rq, rp, request_new(rq, "silence_list"), "silences", 200);
    else if (writes_allowed(rq, rp) == 0) add_silence(rq, rp);
}

/* GET {id}: the silence with this id from the alerter's list (the answer as parsed, never the reply re-read), or
 * 404. */
static void one_silence(const struct web_request *rq, struct web_reply *rp)
{
    json_object *list, *ans = ask(rq, rp, request_new(rq, "silence_list"), "silences", &list);
    if (!ans) return;
    size_t n = json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *x = json_object_array_get_idx(list, i), *id = NULL;
        if (json_object_object_get_ex(x, "id", &id) && json_object_is_type(id, json_type_string) &&
            strcmp(json_object_get_string(id), rq->rest) == 0) {
            reply_member(rp, "silence", x, 200);
            json_object_put(ans);
            return;
        }
    }
    json_object_put(ans);
    api_error(rp, 404, "no silence has this id");
}

void api_silence(const struct web_request *rq, struct web_reply *rp)
{
    if (strchr(rq->rest, '/')) {
        api_error(rp, 404, "no such path");
        return;
    }
    if (!rq->method || strcmp(rq->method, "DELETE") != 0) {
        one_silence(rq, rp);
        return;
    }
    if (writes_allowed(rq, rp) != 0) return;
    json_object *req = request_new(rq, "silence_remove");
    json_object_object_add(req, "id", cw_jnew(json_object_new_string(rq->rest)));
    relay(rq, rp, req, "silence", 200);
}
