/* web/layout.h — the order of the status page and its filters (issue 18: 500,000 endpoints). The layout (the
 * groups in the order they first appear in the configuration, "Other" last, and the endpoints in that order) is a
 * function of the configuration alone: built once with the model (web_ids_build), never per request. A filter
 * (`?q=` search, `?state=`, `?group=`) is parsed and validated once per request and matched per endpoint with no
 * allocation; the page (web/page_index.c) and the API (web/api.c) share it.
 *
 * Matching: `q` is a case-insensitive (ASCII) substring of the endpoint's ID, its name (or, unnamed, the URL label
 * the page shows) or its group's name; `state` a comma list of up, failing, down, unknown, slow (slow: a `slow`
 * alert without its `fast`); `group` a group's exact name, empty for the ungrouped ("Other"). All given: all must
 * match. */
#ifndef CW_WEB_LAYOUT_H
#define CW_WEB_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/base/util.h"

struct web_model;
struct web_request;

struct web_group {
    const char *name;     /* NULL: "Other" (the ungrouped endpoints) */
    uint32_t first, count; /* its endpoints: layout.order[first .. first + count) */
};

struct web_layout {
    struct web_group *groups; /* n_groups: in the order they first appear; "Other" last */
    size_t n_groups;
    uint32_t *order;    /* model indexes in page order (grouped) */
    uint32_t *group_of; /* per model index: its group's index */
};

/* Built from m's endpoints (m->endpoints, m->n set); freed by web_layout_free. */
void web_layout_build(struct web_layout *l, const struct web_model *m);
void web_layout_free(struct web_layout *l);

#define WEB_QUERY_MAX 100        /* bytes of ?q= */
#define WEB_FILTER_SLOW (1u << 4) /* in web_filter.states: beside 1 << enum web_state */

struct web_filter {
    char q[WEB_QUERY_MAX + 1]; /* lower case; "" matches everything */
    size_t q_len;
    unsigned states;     /* 1 << enum web_state | WEB_FILTER_SLOW; 0: any */
    bool has_group;      /* ?group= given */
    size_t group;        /* its index in the layout */
    const char *q_raw;   /* the query's own values (for the links to other pages); NULL when not given */
    const char *state_raw;
    const char *group_raw;
};

/* The filter of rq (q, state, group): 0, or 400 (a malformed value: *why says which) or 404 (no such group). An
 * empty `q=` or `state=` (what an empty form sends) is no filter. */
int web_filter_parse(const struct web_request *rq, const struct web_model *m, struct web_filter *f, const char **why);
bool web_filter_active(const struct web_filter *f);
/* Per group (n_groups entries): whether its name matches f->q (f->q empty: true). */
void web_filter_groups(const struct web_filter *f, const struct web_model *m, bool *group_match);
/* Whether the endpoint at model index i matches; group_match from web_filter_groups. */
bool web_filter_match(const struct web_filter *f, const struct web_model *m, size_t i, const bool *group_match);
/* Whether needle (lower case, len bytes) is in s, ASCII letters compared without case. */
bool web_contains_nocase(const char *s, const char *needle, size_t len);
/* The filter as a query string ("q=..&state=..&group=.."), percent-encoded, for links; "" when none. Written as
 * is: HTML-escape it in an attribute (its '&'). */
void web_filter_query(struct cw_buf *b, const struct web_filter *f);
/* s percent-encoded for a URL's query value (unreserved characters as they are). */
void web_url_encode(struct cw_buf *b, const char *s);

#endif
