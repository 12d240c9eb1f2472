/* storer/reader.c — what the read backends share (storer/reader.h): the table for a driver and the stored
 * time forms. */
#include "storer/reader.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

bool store_read_not_created(const char *err) { return err && strstr(err, STORE_READ_NOT_CREATED) != NULL; }

const struct store_read_backend *store_read_backend_for(enum cw_db_driver driver)
{
    switch (driver) {
    case CW_DB_SQLITE:
        return &store_read_sqlite;
    case CW_DB_POSTGRES:
        return &store_read_postgres;
    case CW_DB_MYSQL:
        return &store_read_mysql;
    }
    return NULL;
}

bool store_read_location_match(const char *wanted, const char *location)
{
    return !wanted || !strcmp(wanted, location ? location : "");
}

void store_read_format_ms(int64_t ms, bool mysql_form, char *out, size_t outlen)
{
    time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int frac = (int)(ms - (int64_t)t * 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm)) tm = (struct tm){ .tm_year = 70, .tm_mday = 1 };
    snprintf(out, outlen, mysql_form ? "%04d-%02d-%02d %02d:%02d:%02d.%03d" : "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

/* " AND checked_at >= FROM AND checked_at < TO AND endpoint_id BETWEEN LO AND HI" (no NUL). */
static void put_checks_range(struct cw_buf *sql, const struct store_read_dialect *d, int64_t from_ms, int64_t to_ms,
                             int64_t ep_lo, int64_t ep_hi)
{
    char from[40], to[40];
    store_read_format_ms(from_ms, d->mysql_form, from, sizeof from);
    store_read_format_ms(to_ms, d->mysql_form, to, sizeof to);
    cw_buf_printf(sql,
                  " AND checked_at >= '%s'%s AND checked_at < '%s'%s AND endpoint_id BETWEEN %" PRId64 " AND %" PRId64,
                  from, d->time_cast, to, d->time_cast, ep_lo, ep_hi);
}

void store_read_sql_recent(struct cw_buf *sql, const struct store_read_dialect *d, int64_t from_ms, int64_t to_ms,
                           int64_t ep_lo, int64_t ep_hi)
{
    cw_buf_printf(sql,
                  "SELECT endpoint_id, ok, latency_ms, dns_ms, connect_ms, tls_ms, ttfb_ms, %s, location FROM checks"
                  " WHERE id > (SELECT last_check_id FROM rollup_state WHERE id = 1)",
                  d->checked_ms);
    put_checks_range(sql, d, from_ms, to_ms, ep_lo, ep_hi);
    cw_buf_put(sql, "", 1);
}

void store_read_sql_maintenance(struct cw_buf *sql, const struct store_read_dialect *d, int64_t from_ms, int64_t to_ms,
                                int64_t ep_lo, int64_t ep_hi)
{
    cw_buf_printf(sql,
                  "SELECT endpoint_id, count(*), sum(CASE WHEN ok THEN 1 ELSE 0 END), location FROM checks WHERE %s",
                  d->maintenance_true);
    put_checks_range(sql, d, from_ms, to_ms, ep_lo, ep_hi);
    cw_buf_put(sql, " GROUP BY endpoint_id, location", 32); /* with the NUL */
}

void store_read_sql_alerts(struct cw_buf *sql, const struct store_read_dialect *d, int64_t from_ms, int64_t before_ms,
                           int64_t ep_lo, int64_t ep_hi)
{
    char before[40], from[40];
    store_read_format_ms(before_ms, d->mysql_form, before, sizeof before);
    if (from_ms == STORE_READ_ALL_ALERTS) {
        cw_buf_printf(sql,
                      "SELECT endpoint_id, kind, %s, message FROM alerts WHERE kind IN ('down', 'up') AND raised_at <"
                      " '%s'%s AND endpoint_id BETWEEN %" PRId64 " AND %" PRId64
                      " ORDER BY endpoint_id, raised_at, id%c",
                      d->raised_ms, before, d->time_cast, ep_lo, ep_hi, '\0');
        return;
    }
    /* Those raised in [from, before) and each endpoint's last one before from (its state at from), as ids joined
     * back to the table: both branches start from each endpoint of the range and read the index
     * alerts_endpoint_time with an equality on endpoint_id and a bound on raised_at, so older rows are never
     * read. (A form `id IN (... UNION ALL ...)` is planned by MariaDB as a dependent subquery per alert row:
     * minutes for 40,000 alerts.) The branches cannot give one id twice (raised_at >= from, < from). */
    store_read_format_ms(from_ms, d->mysql_form, from, sizeof from);
    cw_buf_printf(sql,
                  "SELECT endpoint_id, kind, %s, message FROM (SELECT a.id, a.endpoint_id, a.kind, a.raised_at,"
                  " a.message FROM alerts a JOIN (SELECT n.id FROM endpoints e JOIN alerts n ON n.endpoint_id = e.id"
                  " AND n.kind IN ('down', 'up') AND n.raised_at >= '%s'%s AND n.raised_at < '%s'%s"
                  " WHERE e.id BETWEEN %" PRId64 " AND %" PRId64
                  " UNION ALL SELECT (SELECT b.id FROM alerts b WHERE b.endpoint_id = e.id"
                  " AND b.kind IN ('down', 'up') AND b.raised_at < '%s'%s ORDER BY b.raised_at DESC, b.id DESC"
                  " LIMIT 1) FROM endpoints e WHERE e.id BETWEEN %" PRId64 " AND %" PRId64 ") k ON a.id = k.id) s"
                  " ORDER BY endpoint_id, raised_at, id%c",
                  d->raised_ms, from, d->time_cast, before, d->time_cast, ep_lo, ep_hi, from, d->time_cast, ep_lo,
                  ep_hi, '\0');
}

void store_read_sql_last_checks(struct cw_buf *sql, const struct store_read_dialect *d, int64_t endpoint_id, int n)
{
    cw_buf_printf(
        sql,
        "SELECT %s, ok, status_code, latency_ms, dns_ms, connect_ms, tls_ms, ttfb_ms, error, details FROM checks"
        " WHERE endpoint_id = %" PRId64 " ORDER BY checked_at DESC LIMIT %d%c",
        d->checked_ms, endpoint_id, n > 0 ? n : 0, '\0');
}
