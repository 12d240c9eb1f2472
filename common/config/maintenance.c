/* common/config/maintenance.c — maintenance windows: open or not at an instant, what they cover, the next change
 * (maintenance.h). A recurring window's occurrences are found in its local calendar (the days around the instant),
 * each local time converted to an instant with the zone's data read by common/base/tzfile.h (never through TZ:
 * setenv/tzset would race with other threads reading the environment, libpq in the web's history thread); the
 * span found (since the previous
 * occurrence's end, up to the end of the current or next occurrence) is cached per window, keyed by the window's
 * content (days, from, to, zone), so a reload that keeps a window keeps its cache and one that changes it misses. */
#include "common/config/maintenance.h"

#include <pthread.h>
#include <string.h>

#include "common/base/log.h"
#include "common/base/tzfile.h"

#define US_PER_S 1000000LL
#define DAY_S 86400LL

/* What is known about a recurring window for instants in [lo, end): closed before start, open from start. */
struct span {
    int64_t lo, start, end; /* seconds */
};

struct cache_entry {
    bool used;
    uint8_t days;
    int from_min, to_min;
    char zone[128];
    struct span span;
};

#define CACHE_SLOTS 64
static struct cache_entry cache[CACHE_SLOTS];
static unsigned cache_next;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static bool zone_is_utc(const char *zone) { return !zone || !*zone || strcmp(zone, "UTC") == 0; }

static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

/* m's zone; one that cannot be loaded (the config's check loaded it: only a zone file removed since) is UTC. */
static const struct tz_zone *window_zone(const struct cw_maintenance *m)
{
    char err[256];
    const struct tz_zone *z = tz_get(zone_is_utc(m->time_zone) ? NULL : m->time_zone, err, sizeof err);
    if (z) return z;
    log_warn("maintenance '%s': %s; its times are read as UTC", m->name ? m->name : "?", err);
    return tz_get(NULL, NULL, 0);
}

/* The occurrences around w of a recurring window in zone z. Days are local midnights counted as local seconds
 * (the local date and time as if it were UTC); 1970-01-01 was a Thursday. */
static struct span find_span(const struct cw_maintenance *m, const struct tz_zone *z, int64_t w)
{
    int64_t today = floor_div(w + tz_offset_at_utc(z, w), DAY_S) * DAY_S;
    /* Offsets lie within [-12 h, +14 h]: nothing of the days before day -3 ends after day -2 + 13 h, and w (on day
     * 0) lies after that; nothing of day 8 or later starts before day 8 - 14 h. */
    int64_t prev_end = today - 2 * DAY_S + 13 * 3600, horizon = today + 8 * DAY_S - 14 * 3600;
    int64_t start = horizon, end = horizon;
    int length_min = m->to_min > m->from_min ? m->to_min - m->from_min : m->to_min + 1440 - m->from_min;
    for (int k = -3; k < 8; k++) {
        int64_t day = today + k * DAY_S;
        int wday = (int)((floor_div(day, DAY_S) % 7 + 11) % 7);
        if (!(m->days & (1u << wday))) continue;
        int64_t s = tz_local_to_utc(z, day + m->from_min * 60LL, TZ_FIRST);
        int64_t e = tz_local_to_utc(z, day + (m->from_min + length_min) * 60LL, TZ_LAST);
        if (e <= s) continue; /* empty: the whole window fell into a spring-forward gap */
        if (e <= w) {
            if (e > prev_end) prev_end = e;
        } else if (s < start) {
            start = s;
            end = e;
        }
    }
    return (struct span){ prev_end, start, end };
}

static bool entry_matches(const struct cache_entry *c, const struct cw_maintenance *m, const char *zone)
{
    return c->used && c->days == m->days && c->from_min == m->from_min && c->to_min == m->to_min &&
           strcmp(c->zone, zone) == 0;
}

/* What is known of recurring window m at w (cached; computed under the cache's lock when missing). */
static struct span recurring_span(const struct cw_maintenance *m, int64_t w)
{
    const char *zone = zone_is_utc(m->time_zone) ? "UTC" : m->time_zone;
    bool cacheable = strlen(zone) < sizeof cache[0].zone;
    pthread_mutex_lock(&cache_lock);
    struct cache_entry *hit = NULL;
    for (size_t i = 0; cacheable && i < CACHE_SLOTS && !hit; i++)
        if (entry_matches(&cache[i], m, zone)) hit = &cache[i];
    if (hit && w >= hit->span.lo && w < hit->span.end) {
        struct span s = hit->span;
        pthread_mutex_unlock(&cache_lock);
        return s;
    }
    struct span s = find_span(m, window_zone(m), w);
    if (cacheable) {
        if (!hit) hit = &cache[cache_next++ % CACHE_SLOTS];
        *hit = (struct cache_entry){
            .used = true, .days = m->days, .from_min = m->from_min, .to_min = m->to_min, .span = s
        };
        strcpy(hit->zone, zone);
    }
    pthread_mutex_unlock(&cache_lock);
    return s;
}

static int64_t floor_s(int64_t us) { return floor_div(us, US_PER_S); }

int64_t maintenance_end(const struct cw_maintenance *m, int64_t wall_us)
{
    if (m->start_us > 0) {
        int64_t end = m->start_us + (int64_t)(m->duration * (double)US_PER_S);
        return wall_us >= m->start_us && wall_us < end ? end : 0;
    }
    if (!m->days) return 0;
    struct span s = recurring_span(m, floor_s(wall_us));
    return floor_s(wall_us) >= s.start ? s.end * US_PER_S : 0;
}

bool maintenance_active(const struct cw_maintenance *m, int64_t wall_us) { return maintenance_end(m, wall_us) != 0; }

/* ep's index in cfg->endpoints: by address when it points into the array, else by name, else by url; -1. */
static long endpoint_index(const struct cw_config *cfg, const struct cw_endpoint *ep)
{
    if (cfg->n_endpoints && ep >= cfg->endpoints && ep < cfg->endpoints + cfg->n_endpoints)
        return (long)(ep - cfg->endpoints);
    for (size_t i = 0; i < cfg->n_endpoints; i++) {
        const struct cw_endpoint *c = &cfg->endpoints[i];
        if (ep->name ? c->name && strcmp(c->name, ep->name) == 0
                     : !c->name && c->url && ep->url && strcmp(c->url, ep->url) == 0)
            return (long)i;
    }
    return -1;
}

bool maintenance_covers(const struct cw_config *cfg, const struct cw_maintenance *m, const struct cw_endpoint *ep)
{
    if (!m->n_endpoints && !m->n_groups) return true;
    long idx = m->n_endpoints ? endpoint_index(cfg, ep) : -1;
    for (size_t i = 0; idx >= 0 && i < m->n_endpoints; i++)
        if (m->endpoints[i] == (size_t)idx) return true;
    for (size_t i = 0; ep->group && i < m->n_groups; i++)
        if (m->groups[i] && strcmp(m->groups[i], ep->group) == 0) return true;
    return false;
}

const struct cw_maintenance *maintenance_find(const struct cw_config *cfg, const struct cw_endpoint *ep,
                                              int64_t wall_us)
{
    for (size_t i = 0; i < cfg->n_maintenance; i++)
        if (maintenance_covers(cfg, &cfg->maintenance[i], ep) && maintenance_active(&cfg->maintenance[i], wall_us))
            return &cfg->maintenance[i];
    return NULL;
}

int64_t maintenance_next_change(const struct cw_config *cfg, int64_t wall_us)
{
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < cfg->n_maintenance; i++) {
        const struct cw_maintenance *m = &cfg->maintenance[i];
        int64_t change = INT64_MAX;
        if (m->start_us > 0) {
            int64_t end = m->start_us + (int64_t)(m->duration * (double)US_PER_S);
            change = wall_us < m->start_us ? m->start_us : wall_us < end ? end : INT64_MAX;
        } else if (m->days) {
            int64_t w = floor_s(wall_us);
            struct span s = recurring_span(m, w);
            change = (w < s.start ? s.start : s.end) * US_PER_S;
            if (change <= wall_us) change = (w + 1) * US_PER_S;
        }
        if (change < next) next = change;
    }
    return next;
}
