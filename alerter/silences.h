/* alerter/silences.h — silences: an operator's "do not tell anyone about this endpoint / this group / anything
 * until then" (docs/alerts.md "Silences"). Kept by the alerter in RUN_DIR/silences.json (mode 0600, replaced
 * atomically on every change), added and removed through its control socket (alerter/control.h) by
 * `clockwerk silence` and the web; the muting itself (alerter/mute.c) asks silences_match.
 *
 * Times are wall clock (µs since the epoch): a silence ends at a time of day the operator chose, whatever the
 * machine did in between (a restart keeps it, a silence that ended while the alerter was down is expired,
 * and logged, at the next start). */
#ifndef CW_ALERTER_SILENCES_H
#define CW_ALERTER_SILENCES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/base/util.h"
#include "common/config/config.h"

#define SILENCES_MAX 1000                        /* more are refused: a silence is an exception, not a config */
#define SILENCE_REASON_MAX 500                   /* bytes of a reason */
#define SILENCE_AUTHOR_MAX 200                   /* bytes of an author */
#define SILENCE_DURATION_MAX_S (365LL * 86400LL) /* the longest silence */

struct silence {
    char id[17];         /* 16 lower-case hex digits, random */
    char *endpoint;      /* by endpoint: its name or its URL (the file keeps it as given; shown masked); else NULL */
    char *endpoint_name; /* given by URL: that endpoint's name at add time, shown beside the URL; else NULL */
    char *group;         /* by group: an endpoint `group`; else NULL */
    bool all;            /* every endpoint (endpoint and group NULL) */
    int64_t start_us, end_us, created_us; /* wall clock; active while start_us <= now < end_us */
    char *reason;                         /* why, as the operator wrote it (required) */
    char *author;                         /* who: "alice", or "alice (as root)" when the caller said who it acts for */
};

struct silences {
    struct silence *v;
    size_t n, cap;
    char *path; /* RUN_DIR/silences.json */
};

void silences_init(struct silences *s, const char *run_dir);
void silences_free(struct silences *s);

/* Reads the file. No file: none, 0. A file that does not parse, or holds a silence that is not valid, is moved
 * aside to PATH.bad (logged, like the state file: starting with no silences beats not starting) and -1 is
 * returned; else the number loaded. Silences already over at now_us are expired (logged) and the file saved. */
int silences_load(struct silences *s, int64_t now_us);
/* Writes every silence to the file (mode 0600, durable, atomic). 0, or -1 with err. */
int silences_save(const struct silences *s, char *err, size_t errlen);

/* Parses a file's text into s (which must be empty): 0, or -1 with err (s then empty). Exposed for tests. */
int silences_parse(struct silences *s, const char *text, size_t len, char *err, size_t errlen);
/* Appends the file's text (one JSON object, a newline) to out. */
void silences_format(const struct silences *s, struct cw_buf *out);

/* Adds a copy of want with a new random id (want->id is ignored). Refuses, with err: no scope or more than one
 * (endpoint, group, all), an empty or too long reason or author, end_us <= start_us, more than
 * SILENCE_DURATION_MAX_S, SILENCES_MAX reached. Returns the stored silence (valid until the next change). */
const struct silence *silences_add(struct silences *s, const struct silence *want, char *err, size_t errlen);
/* Removes the silence with this id into *out (the caller frees it with silence_clear): 0, or -1 when none has
 * the id. out may be NULL. */
int silences_remove(struct silences *s, const char *id, struct silence *out);
void silence_clear(struct silence *x);

/* The first silence active at now_us that covers ep (by its name or URL, its group, or all), or NULL. */
const struct silence *silences_match(const struct silences *s, const struct cw_endpoint *ep, int64_t now_us);
/* Removes the silences over at now_us, logging each. Returns how many (the caller saves when > 0). */
size_t silences_expire(struct silences *s, int64_t now_us);
/* The earliest end_us of them, INT64_MAX when there is none. */
int64_t silences_next_end(const struct silences *s);

/* The silence as a JSON object (ids, scope, times as ISO 8601 and as µs, reason, author): the file's form, or
 * with mask_url the form shown to callers (an endpoint's URL masked). The caller owns it (json_object_put). */
struct json_object *silence_to_json(const struct silence *x, bool mask_url);

/* Appends o's JSON text (one line, or pretty) and a newline to out, and releases o. */
void silences_json_put(struct json_object *o, bool pretty, struct cw_buf *out);

/* "endpoint NAME", "group NAME" or "all endpoints" (a URL masked) into buf; returns buf. */
const char *silence_scope(const struct silence *x, char *buf, size_t len);

#endif
