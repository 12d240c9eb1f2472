/* alerter/silences.c — the alerter's silences and their file (see silences.h). */
#include "alerter/silences.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/wire/jsonnew.h"
#include "common/base/clock.h"
#include "common/base/log.h"

#define SILENCES_FILE_VERSION 1
#define SILENCES_FILE_MAX (16u << 20) /* SILENCES_MAX silences at their longest (a 4 KiB URL written escaped, a name,
                                        * a reason, an author): about 12 MiB; the file saved must load again */
/* The latest time a silence may have (2100-01-01): far beyond any silence of at most 365 days, and far from the
 * alerter's nanosecond wake-up times overflowing (2262). */
#define SILENCE_TIME_MAX_US 4102444800000000LL

void silences_init(struct silences *s, const char *run_dir)
{
    memset(s, 0, sizeof *s);
    struct cw_buf path = { 0 };
    cw_buf_printf(&path, "%s/silences.json", run_dir);
    cw_buf_put(&path, "", 1);
    s->path = (char *)path.data;
}

void silence_clear(struct silence *x)
{
    free(x->endpoint);
    free(x->endpoint_name);
    free(x->group);
    free(x->reason);
    free(x->author);
    memset(x, 0, sizeof *x);
}

static void silences_clear_all(struct silences *s)
{
    for (size_t i = 0; i < s->n; i++) silence_clear(&s->v[i]);
    s->n = 0;
}

void silences_free(struct silences *s)
{
    silences_clear_all(s);
    free(s->v);
    free(s->path);
    memset(s, 0, sizeof *s);
}

/* ---- validation */

/* Printable text (valid UTF-8, no control characters), 1..max bytes. */
static bool text_ok(const char *t, size_t max)
{
    if (!t || !t[0] || strlen(t) > max) return false;
    for (const unsigned char *p = (const unsigned char *)t; *p;) {
        if (*p < 0x20 || *p == 0x7f) return false;
        size_t n = cw_utf8_seq_len(p);
        if (n == 0) return false;
        p += n;
    }
    return true;
}

static bool id_ok(const char *id)
{
    if (!id || strlen(id) != 16) return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return false;
    return true;
}

/* Everything silences_add and the loader require of a silence but its id. */
static int silence_check(const struct silence *x, char *err, size_t errlen)
{
    int scopes = (x->endpoint != NULL) + (x->group != NULL) + (x->all ? 1 : 0);
    if (scopes != 1) {
        snprintf(err, errlen, "a silence covers exactly one of: an endpoint, a group, all");
        return -1;
    }
    if ((x->endpoint && !text_ok(x->endpoint, 4096)) || (x->group && !text_ok(x->group, 256))) {
        snprintf(err, errlen, "the %s is empty, too long or not printable text", x->endpoint ? "endpoint" : "group");
        return -1;
    }
    if (x->endpoint_name && !text_ok(x->endpoint_name, 256)) {
        snprintf(err, errlen, "the endpoint's name is empty, too long or not printable text");
        return -1;
    }
    if (!text_ok(x->reason, SILENCE_REASON_MAX)) {
        snprintf(err, errlen, "the reason is required: printable text of at most %d bytes", SILENCE_REASON_MAX);
        return -1;
    }
    if (!text_ok(x->author, SILENCE_AUTHOR_MAX)) {
        snprintf(err, errlen, "the author is empty, too long or not printable text");
        return -1;
    }
    if (x->start_us < 0 || x->created_us < 0 || x->end_us > SILENCE_TIME_MAX_US || x->created_us > SILENCE_TIME_MAX_US) {
        snprintf(err, errlen, "a time is out of range (1970 ... 2100)");
        return -1;
    }
    if (x->end_us <= x->start_us) {
        snprintf(err, errlen, "the silence ends before it starts");
        return -1;
    }
    if (x->end_us - x->start_us > SILENCE_DURATION_MAX_S * 1000000LL) {
        snprintf(err, errlen, "a silence lasts at most 365 days");
        return -1;
    }
    return 0;
}

static char *dup_or_null(const char *t) { return t ? cw_xstrdup(t) : NULL; }

static struct silence *append(struct silences *s, const struct silence *x)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 8;
        s->v = cw_xrealloc(s->v, s->cap * sizeof *s->v);
    }
    struct silence *to = &s->v[s->n++];
    memcpy(to->id, x->id, sizeof to->id);
    to->endpoint = dup_or_null(x->endpoint);
    to->endpoint_name = x->endpoint ? dup_or_null(x->endpoint_name) : NULL;
    to->group = dup_or_null(x->group);
    to->all = x->all;
    to->start_us = x->start_us;
    to->end_us = x->end_us;
    to->created_us = x->created_us;
    to->reason = cw_xstrdup(x->reason);
    to->author = cw_xstrdup(x->author);
    return to;
}

static void new_id(const struct silences *s, char id[17])
{
    for (;;) {
        uint64_t r = 0;
        if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
            r = cw_hash64_mem(&s->n, sizeof s->n) ^ (uint64_t)cw_mono_ns();
        snprintf(id, 17, "%016" PRIx64, r);
        bool taken = false;
        for (size_t i = 0; i < s->n; i++) taken = taken || strcmp(s->v[i].id, id) == 0;
        if (!taken) return;
    }
}

const struct silence *silences_add(struct silences *s, const struct silence *want, char *err, size_t errlen)
{
    if (silence_check(want, err, errlen) != 0) return NULL;
    if (s->n >= SILENCES_MAX) {
        snprintf(err, errlen, "there are already %d silences: remove some first", SILENCES_MAX);
        return NULL;
    }
    struct silence x = *want;
    new_id(s, x.id);
    return append(s, &x);
}

int silences_remove(struct silences *s, const char *id, struct silence *out)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->v[i].id, id) != 0) continue;
        if (out) *out = s->v[i];
        else silence_clear(&s->v[i]);
        memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof *s->v);
        s->n--;
        return 0;
    }
    return -1;
}

/* ---- matching and expiry */

static bool covers(const struct silence *x, const struct cw_endpoint *ep)
{
    if (x->all) return true;
    if (x->group) return ep->group && strcmp(ep->group, x->group) == 0;
    return (ep->name && strcmp(ep->name, x->endpoint) == 0) || (ep->url && strcmp(ep->url, x->endpoint) == 0);
}

const struct silence *silences_match(const struct silences *s, const struct cw_endpoint *ep, int64_t now_us)
{
    for (size_t i = 0; i < s->n; i++) {
        const struct silence *x = &s->v[i];
        if (x->start_us <= now_us && now_us < x->end_us && covers(x, ep)) return x;
    }
    return NULL;
}

const char *silence_scope(const struct silence *x, char *buf, size_t len)
{
    if (x->all) {
        snprintf(buf, len, "all endpoints");
    } else if (x->group) {
        snprintf(buf, len, "group %s", x->group);
    } else {
        char masked[4200];
        cw_mask_url(x->endpoint, masked, sizeof masked);
        if (x->endpoint_name) snprintf(buf, len, "endpoint %s (%s)", x->endpoint_name, masked);
        else snprintf(buf, len, "endpoint %s", masked);
    }
    return buf;
}

size_t silences_expire(struct silences *s, int64_t now_us)
{
    size_t gone = 0;
    for (size_t i = 0; i < s->n;) {
        if (s->v[i].end_us > now_us) {
            i++;
            continue;
        }
        char scope[4300], end[32];
        log_info("silence %s of %s ended at %s (reason: %s; by %s)", s->v[i].id,
                 silence_scope(&s->v[i], scope, sizeof scope), cw_format_iso8601(s->v[i].end_us, end, sizeof end),
                 s->v[i].reason, s->v[i].author);
        struct silence x;
        (void)silences_remove(s, s->v[i].id, &x);
        silence_clear(&x);
        gone++;
    }
    return gone;
}

int64_t silences_next_end(const struct silences *s)
{
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].end_us < next) next = s->v[i].end_us;
    return next;
}

/* ---- JSON */

static void put_str(json_object *o, const char *k, const char *v)
{
    json_object_object_add(o, k, v ? cw_jnew(json_object_new_string(v)) : NULL);
}

static void put_time(json_object *o, const char *k, int64_t us)
{
    char key[32], when[32];
    put_str(o, k, cw_format_iso8601(us, when, sizeof when));
    snprintf(key, sizeof key, "%s_us", k);
    json_object_object_add(o, key, cw_jnew(json_object_new_int64(us)));
}

struct json_object *silence_to_json(const struct silence *x, bool mask_url)
{
    json_object *o = cw_jnew(json_object_new_object());
    put_str(o, "id", x->id);
    if (x->endpoint && mask_url) {
        char masked[4200];
        cw_mask_url(x->endpoint, masked, sizeof masked);
        put_str(o, "endpoint", masked);
    } else {
        put_str(o, "endpoint", x->endpoint);
    }
    if (x->endpoint_name) put_str(o, "endpoint_name", x->endpoint_name);
    put_str(o, "group", x->group);
    json_object_object_add(o, "all", cw_jnew(json_object_new_boolean(x->all)));
    put_time(o, "start", x->start_us);
    put_time(o, "end", x->end_us);
    put_time(o, "created", x->created_us);
    put_str(o, "reason", x->reason);
    put_str(o, "author", x->author);
    return o;
}

void silences_format(const struct silences *s, struct cw_buf *out)
{
    json_object *root = cw_jnew(json_object_new_object());
    json_object_object_add(root, "v", cw_jnew(json_object_new_int(SILENCES_FILE_VERSION)));
    json_object *list = cw_jnew(json_object_new_array());
    json_object_object_add(root, "silences", list);
    for (size_t i = 0; i < s->n; i++) json_object_array_add(list, silence_to_json(&s->v[i], false));
    silences_json_put(root, true, out);
}

void silences_json_put(struct json_object *o, bool pretty, struct cw_buf *out)
{
    size_t len = 0;
    const char *text =
        json_object_to_json_string_length(o, pretty ? JSON_C_TO_STRING_PRETTY : JSON_C_TO_STRING_PLAIN, &len);
    if (!text) fatal(1, "out of memory (json)");
    cw_buf_put(out, text, len);
    cw_buf_put(out, "\n", 1);
    json_object_put(o);
}

int silences_save(const struct silences *s, char *err, size_t errlen)
{
    struct cw_buf text = { 0 }, tmp = { 0 };
    silences_format(s, &text);
    cw_buf_printf(&tmp, "%s.tmp", s->path);
    cw_buf_put(&tmp, "", 1);
    const char *step = "write";
    int rc = cw_write_file_atomic(s->path, (const char *)tmp.data, text.data, text.len, true, &step);
    if (rc != 0) snprintf(err, errlen, "cannot save %s (%s): %s", s->path, step, strerror(errno));
    cw_buf_free(&text);
    cw_buf_free(&tmp);
    return rc;
}

/* ---- loading: anything off makes the whole file malformed */

/* A string member or JSON null (*out NULL); false when missing or of another type. */
static bool get_str_or_null(json_object *o, const char *k, const char **out)
{
    json_object *v;
    if (!json_object_object_get_ex(o, k, &v)) return false;
    *out = v ? json_object_get_string(v) : NULL;
    return !v || json_object_is_type(v, json_type_string);
}

static bool get_i64(json_object *o, const char *k, int64_t *out)
{
    json_object *v;
    if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_int)) return false;
    errno = 0;
    *out = json_object_get_int64(v);
    return errno == 0;
}

static int parse_one(struct silences *s, json_object *o, size_t i, char *err, size_t errlen)
{
    struct silence x = { 0 };
    const char *id = NULL;
    json_object *all;
    if (!json_object_is_type(o, json_type_object) || !get_str_or_null(o, "id", &id) || !id_ok(id) ||
        !get_str_or_null(o, "endpoint", (const char **)&x.endpoint) ||
        !get_str_or_null(o, "group", (const char **)&x.group) || !json_object_object_get_ex(o, "all", &all) ||
        !json_object_is_type(all, json_type_boolean) || !get_i64(o, "start_us", &x.start_us) ||
        !get_i64(o, "end_us", &x.end_us) || !get_i64(o, "created_us", &x.created_us) ||
        !get_str_or_null(o, "reason", (const char **)&x.reason) ||
        !get_str_or_null(o, "author", (const char **)&x.author)) {
        snprintf(err, errlen, "silence %zu: a field is missing or of the wrong type", i + 1);
        return -1;
    }
    x.all = json_object_get_boolean(all);
    json_object *name; /* optional (files of before it) */
    if (json_object_object_get_ex(o, "endpoint_name", &name) && json_object_is_type(name, json_type_string))
        x.endpoint_name = (char *)json_object_get_string(name);
    char why[200];
    if (silence_check(&x, why, sizeof why) != 0) {
        snprintf(err, errlen, "silence %zu: %s", i + 1, why);
        return -1;
    }
    for (size_t k = 0; k < s->n; k++) {
        if (strcmp(s->v[k].id, id) == 0) {
            snprintf(err, errlen, "silence %zu: id %s twice", i + 1, id);
            return -1;
        }
    }
    memcpy(x.id, id, sizeof x.id);
    append(s, &x);
    return 0;
}

int silences_parse(struct silences *s, const char *text, size_t len, char *err, size_t errlen)
{
    json_tokener *tok = json_tokener_new();
    if (!tok) fatal(1, "out of memory (json)");
    json_object *root = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    int rc = -1;
    json_object *v, *list;
    if (!root || jerr != json_tokener_success || tok->char_offset != (int)len) {
        snprintf(err, errlen, "not one JSON document");
    } else if (!json_object_is_type(root, json_type_object) || !json_object_object_get_ex(root, "v", &v) ||
               !json_object_is_type(v, json_type_int) || json_object_get_int(v) != SILENCES_FILE_VERSION) {
        snprintf(err, errlen, "not a version %d silences file", SILENCES_FILE_VERSION);
    } else if (!json_object_object_get_ex(root, "silences", &list) || !json_object_is_type(list, json_type_array) ||
               json_object_array_length(list) > SILENCES_MAX) {
        snprintf(err, errlen, "no list of at most %d silences", SILENCES_MAX);
    } else {
        rc = 0;
        for (size_t i = 0; rc == 0 && i < json_object_array_length(list); i++)
            rc = parse_one(s, json_object_array_get_idx(list, i), i, err, errlen);
    }
    if (rc != 0) silences_clear_all(s);
    json_object_put(root);
    json_tokener_free(tok);
    return rc;
}

/* The whole file into out: 1, 0 when there is none, -1 with err. */
static int read_file(const char *path, struct cw_buf *out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT) return 0;
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    char chunk[8192];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0 && out->len <= SILENCES_FILE_MAX) cw_buf_put(out, chunk, got);
    int bad = ferror(f);
    fclose(f);
    if (bad) snprintf(err, errlen, "cannot read %s", path);
    else if (out->len > SILENCES_FILE_MAX) snprintf(err, errlen, "%s: larger than %u bytes", path, SILENCES_FILE_MAX);
    return bad || out->len > SILENCES_FILE_MAX ? -1 : 1;
}

int silences_load(struct silences *s, int64_t now_us)
{
    struct cw_buf text = { 0 };
    char err[PATH_MAX + 300] = "";
    int rc = read_file(s->path, &text, err, sizeof err);
    if (rc == 1) {
        cw_buf_put(&text, "", 1);
        char why[256];
        if (silences_parse(s, (const char *)text.data, text.len - 1, why, sizeof why) != 0) {
            snprintf(err, sizeof err, "%s: malformed silences file: %s", s->path, why);
            rc = -1;
        }
    }
    cw_buf_free(&text);
    if (rc < 0) {
        char aside[PATH_MAX + 8];
        snprintf(aside, sizeof aside, "%s.bad", s->path);
        log_error("%s; moved aside to %s, starting with no silences", err, aside);
        if (rename(s->path, aside) != 0) log_error("cannot rename %s: %s", s->path, strerror(errno));
        return -1;
    }
    if (rc == 0) return 0;
    log_info("%zu silence%s restored from %s", s->n, cw_plural((long long)s->n), s->path);
    if (silences_expire(s, now_us) > 0 && silences_save(s, err, sizeof err) != 0) log_error("%s", err);
    return (int)s->n;
}
