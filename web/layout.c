/* web/layout.c — the status page's order, built once per model, and the filters of `/` and the API (see
 * web/layout.h). */
#include "web/layout.h"

#include "common/base/hash.h"
#include "web/model.h"
#include "web/page_common.h"
#include "web/route.h"

#include <stdlib.h>
#include <string.h>

struct name_slot {
    const char *name;
    size_t index;
    UT_hash_handle hh;
};

void web_layout_build(struct web_layout *l, const struct web_model *m)
{
    memset(l, 0, sizeof *l);
    size_t n = m->n;
    l->groups = cw_xcalloc(n + 1, sizeof *l->groups);
    l->order = cw_xcalloc(n + 1, sizeof *l->order);
    l->group_of = cw_xcalloc(n + 1, sizeof *l->group_of);
    struct name_slot *slots = cw_xcalloc(n + 1, sizeof *slots), *by_name = NULL;
    size_t other = SIZE_MAX;
    for (size_t i = 0; i < n; i++) { /* named groups by first appearance */
        const char *name = m->endpoints[i].cfg->group;
        if (!name) continue;
        struct name_slot *s;
        HASH_FIND_STR(by_name, name, s);
        if (!s) {
            s = &slots[l->n_groups];
            *s = (struct name_slot){ .name = name, .index = l->n_groups };
            l->groups[l->n_groups++].name = name;
            HASH_ADD_KEYPTR(hh, by_name, name, strlen(name), s);
        }
        l->group_of[i] = (uint32_t)s->index;
    }
    HASH_CLEAR(hh, by_name);
    free(slots);
    for (size_t i = 0; i < n; i++) {
        if (!m->endpoints[i].cfg->group) {
            if (other == SIZE_MAX) l->groups[other = l->n_groups++].name = NULL;
            l->group_of[i] = (uint32_t)other;
        }
        l->groups[l->group_of[i]].count++;
    }
    uint32_t at = 0;
    for (size_t k = 0; k < l->n_groups; k++) {
        l->groups[k].first = at;
        at += l->groups[k].count;
    }
    uint32_t *fill = cw_xcalloc(l->n_groups + 1, sizeof *fill);
    for (size_t k = 0; k < l->n_groups; k++) fill[k] = l->groups[k].first;
    for (size_t i = 0; i < n; i++) l->order[fill[l->group_of[i]]++] = (uint32_t)i;
    free(fill);
}

void web_layout_free(struct web_layout *l)
{
    free(l->groups);
    free(l->order);
    free(l->group_of);
    memset(l, 0, sizeof *l);
}

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; }

bool web_contains_nocase(const char *s, const char *needle, size_t len)
{
    if (len == 0) return true;
    int first = (unsigned char)needle[0], first_up = first >= 'a' && first <= 'z' ? first - ('a' - 'A') : first;
    for (const char *p = s; *p; p++) {
        if ((unsigned char)*p != first && (unsigned char)*p != first_up) continue;
        size_t k = 1;
        while (k < len && p[k] && lower((unsigned char)p[k]) == (unsigned char)needle[k]) k++;
        if (k == len) return true;
        if (!p[k]) return false; /* s ends before a match could */
    }
    return false;
}

/* "up,down,slow" into a mask; 0 when a word is unknown. */
static unsigned parse_states(const char *s)
{
    static const char *const words[] = { "unknown", "up", "failing", "down", "slow" };
    unsigned mask = 0;
    while (*s) {
        size_t n = strcspn(s, ","), k = 0;
        while (k < 5 && !(strlen(words[k]) == n && strncmp(s, words[k], n) == 0)) k++;
        if (k == 5) return 0;
        mask |= 1u << k; /* bits 0..3: enum web_state; bit 4: WEB_FILTER_SLOW */
        s += n;
        if (*s == ',') s++;
    }
    return mask;
}

static int parse_group(const char *v, const struct web_model *m, struct web_filter *f)
{
    const struct web_layout *l = &m->layout;
    for (size_t k = 0; k < l->n_groups; k++) {
        const char *name = l->groups[k].name;
        if (*v ? name && strcmp(name, v) == 0 : !name) {
            f->has_group = true;
            f->group = k;
            return 0;
        }
    }
    return 404;
}

int web_filter_parse(const struct web_request *rq, const struct web_model *m, struct web_filter *f, const char **why)
{
    memset(f, 0, sizeof *f);
    *why = NULL;
    const char *q = web_request_arg(rq, "q"), *state = web_request_arg(rq, "state"), *group = web_request_arg(rq, "group");
    if (q && *q) {
        size_t n = strlen(q);
        if (n > WEB_QUERY_MAX) return *why = "q: at most 100 bytes", 400;
        for (size_t i = 0; i < n; i++) {
            if ((unsigned char)q[i] < 0x20 || q[i] == 0x7f) return *why = "q: no control characters", 400;
            f->q[i] = (char)lower((unsigned char)q[i]);
        }
        f->q_len = n;
        f->q_raw = q;
    }
    if (state && *state) {
        if (!(f->states = parse_states(state)))
            return *why = "state: one or more of up, failing, down, unknown, slow, separated by commas", 400;
        f->state_raw = state;
    }
    if (group) {
        if (parse_group(group, m, f)) return *why = "No such group", 404;
        f->group_raw = group;
    }
    return 0;
}

bool web_filter_active(const struct web_filter *f) { return f->q_len || f->states || f->has_group; }

void web_filter_groups(const struct web_filter *f, const struct web_model *m, bool *group_match)
{
    const struct web_layout *l = &m->layout;
    for (size_t k = 0; k < l->n_groups; k++)
        group_match[k] = f->q_len == 0 || web_contains_nocase(l->groups[k].name ? l->groups[k].name : "Other", f->q,
                                                              f->q_len);
}

bool web_filter_match(const struct web_filter *f, const struct web_model *m, size_t i, const bool *group_match)
{
    const struct web_endpoint *e = &m->endpoints[i];
    uint32_t g = m->layout.group_of[i];
    if (f->has_group && g != f->group) return false;
    if (f->states) {
        bool hit = (f->states & (1u << e->live.state)) || ((f->states & WEB_FILTER_SLOW) && e->live.slow);
        if (!hit) return false;
    }
    if (f->q_len == 0 || group_match[g]) return true;
    if (strstr(e->id, f->q)) return true; /* IDs are lower case already */
    if (e->cfg->name) return web_contains_nocase(e->cfg->name, f->q, f->q_len);
    char label[PAGE_LABEL_MAX];
    return web_contains_nocase(web_endpoint_label(e, label, sizeof label), f->q, f->q_len);
}

void web_url_encode(struct cw_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-._~", *p)) {
            cw_buf_put(b, p, 1);
        } else {
            char esc[3] = { '%', hex[*p >> 4], hex[*p & 15] };
            cw_buf_put(b, esc, 3);
        }
    }
}

void web_filter_query(struct cw_buf *b, const struct web_filter *f)
{
    const char *keys[] = { "q", "state", "group" }, *values[] = { f->q_raw, f->state_raw, f->group_raw };
    bool first = true;
    for (size_t k = 0; k < 3; k++) {
        if (!values[k]) continue;
        cw_buf_put(b, first ? "" : "&", first ? 0 : 1);
        first = false;
        cw_buf_put(b, keys[k], strlen(keys[k]));
        cw_buf_put(b, "=", 1);
        web_url_encode(b, values[k]);
    }
}
