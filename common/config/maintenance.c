/* common/config/maintenance.c — maintenance windows: open or not at an instant, what they cover, the next change
 * (maintenance.h). A recurring window's occurrences are found in its local calendar (the days around the instant),
 * each local time converted to an instant with the C library's zone data; the span found (since the previous
 * occurrence's end, up to the end of the current or next occurrence) is cached per window, keyed by the window's
 * content (days, from, to, zone), so a reload that keeps a window keeps its cache and one that changes it misses. */
#include "common/config/maintenance.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
static pthread_mutex_t zone_lock = PTHREAD_MUTEX_INITIALIZER;

static bool zone_is_utc(const char *zone) { return !zone || !*zone || strcmp(zone, "UTC") == 0; }

/* The UTC offset (seconds east) at t in the zone TZ currently names. */
static long offset_at(time_t t)
{
    struct tm tm;
    return localtime_r(&t, &tm) ? tm.tm_gmtoff : 0;
}

/* The instant whose local time is local_s (local fields read as if UTC): of two (a fall-back), the first unless
 * last; of none (a spring-forward gap), the instant the clocks jumped. */
static int64_t local_to_instant(int64_t local_s, bool last)
{
    long before = offset_at((time_t)(local_s - DAY_S)), after = offset_at((time_t)(local_s + DAY_S));
    int64_t t1 = local_s - before, t2 = local_s - after;
    bool ok1 = offset_at((time_t)t1) == before, ok2 = offset_at((time_t)t2) == after;
    if (ok1 && ok2) return last ? (t1 > t2 ? t1 : t2) : (t1 < t2 ? t1 : t2);
    if (ok1) return t1;
    if (ok2) return t2;
    int64_t lo = t1 < t2 ? t1 : t2, hi = t1 < t2 ? t2 : t1; /* the offset changes in (lo, hi] */
    long at_lo = offset_at((time_t)lo);
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (offset_at((time_t)mid) == at_lo) lo = mid;
        else hi = mid;
    }
    return hi;
}

/* Local midnight of the day `k` days after the local date of w, as local seconds read as if UTC; *wday: its
 * weekday (0 = Sunday). */
static int64_t local_day(const struct tm *today, int k, int *wday)
{
    struct tm d = { .tm_year = today->tm_year, .tm_mon = today->tm_mon, .tm_mday = today->tm_mday + k };
    time_t s = timegm(&d); /* normalises the date and fills tm_wday */
    *wday = d.tm_wday;
    return (int64_t)s;
}

/* The occurrences around w of a recurring window (TZ already names its zone). */
static struct span find_span(const struct cw_maintenance *m, int64_t w)
{
    struct tm today;
    time_t wt = (time_t)w;
    if (!localtime_r(&wt, &today)) return (struct span){ w, w + DAY_S, w + DAY_S };
    int wday;
    /* Offsets lie within [-12 h, +14 h]: nothing of the days before day -3 ends after day -2 + 13 h, and w (on day
     * 0) lies after that; nothing of day 8 or later starts before day 8 - 14 h. */
    int64_t prev_end = local_day(&today, -2, &wday) + 13 * 3600, horizon = local_day(&today, 8, &wday) - 14 * 3600;
    int64_t start = horizon, end = horizon;
    int length_min = m->to_min > m->from_min ? m->to_min - m->from_min : m->to_min + 1440 - m->from_min;
    for (int k = -3; k < 8; k++) {
        int64_t day = local_day(&today, k, &wday);
        if (!(m->days & (1u << wday))) continue;
        int64_t s = local_to_instant(day + m->from_min * 60LL, false);
        int64_t e = local_to_instant(day + (m->from_min + length_min) * 60LL, true);
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

static void zone_enter(const char *zone, char **saved)
{
    const char *old = getenv("TZ");
    *saved = old ? strdup(old) : NULL;
    setenv("TZ", zone, 1);
    tzset();
}

static void zone_leave(char *saved)
{
    if (saved) setenv("TZ", saved, 1);
    else unsetenv("TZ");
    tzset();
    free(saved);
}

static bool entry_matches(const struct cache_entry *c, const struct cw_maintenance *m, const char *zone)
{
    return c->used && c->days == m->days && c->from_min == m->from_min && c->to_min == m->to_min &&
           strcmp(c->zone, zone) == 0;
}

/* What is known of recurring window m at w (cached; computed under the lock with TZ switched when missing). */
static struct span recurring_span(const struct cw_maintenance *m, int64_t w)
{
    const char *zone = zone_is_utc(m->time_zone) ? "UTC" : m->time_zone;
    bool cacheable = strlen(zone) < sizeof cache[0].zone;
    pthread_mutex_lock(&zone_lock);
    struct cache_entry *hit = NULL;
    for (size_t i = 0; cacheable && i < CACHE_SLOTS && !hit; i++)
        if (entry_matches(&cache[i], m, zone)) hit = &cache[i];
    if (hit && w >= hit->span.lo && w < hit->span.end) {
        struct span s = hit->span;
        pthread_mutex_unlock(&zone_lock);
        return s;
    }
    char *saved = NULL;
    zone_enter(zone_is_utc(zone) ? "UTC0" : zone, &saved);
    struct span s = find_span(m, w);
    zone_leave(saved);
    if (cacheable) {
        if (!hit) hit = &cache[cache_next++ % CACHE_SLOTS];
        *hit = (struct cache_entry){
            .used = true, .days = m->days, .from_min = m->from_min, .to_min = m->to_min, .span = s
        };
        strcpy(hit->zone, zone);
    }
    pthread_mutex_unlock(&zone_lock);
    return s;
}

static int64_t floor_s(int64_t us) { return us >= 0 ? us / US_PER_S : -((-us + US_PER_S - 1) / US_PER_S); }

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
