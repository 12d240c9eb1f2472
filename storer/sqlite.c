/* storer/sqlite.c — the SQLite backend of the storer (storer/backend.h, docs/schema.md).
 *
 * DESIGN
 * One connection, WAL journal (readers such as `sqlite3 clockwerk.db` never block the storer, and a commit
 * is one append to the log), synchronous=NORMAL (a commit survives a crash of the storer; only a power cut
 * may lose the last transactions), busy_timeout so that an external writer holding the lock briefly is
 * waited for instead of failing; wal_autocheckpoint=8192 pages (the log grows to ~32 MB before it is copied into
 * the database: the random inserts into the (endpoint_id, checked_at) index dirty one page per row, and a page
 * dirtied many times between checkpoints is copied once — measured 20-30% less CPU per row than the default
 * 1000; a smaller page_size was worse). Every statement is prepared once (after migrate) and reused for every
 * row. Endpoint ids are cached by URL (store_ep_cache, storer/backend.h: bound to the configuration, no copy of
 * its URLs), so a row costs one INSERT, not a lookup; the cache is emptied whenever a transaction is rolled back (it
 * might hold ids of rows that were never committed).
 *
 * Error classes: BUSY/LOCKED/IOERR/FULL/NOMEM/CANTOPEN while writing are STORE_RETRY (the storer holds the
 * batch and reopens); at open, a file that cannot be opened or is not a database is STORE_FATAL (a wrong
 * path or permissions: retrying cannot fix it); a schema newer than ours is STORE_FATAL.
 *
 * The file holds endpoint URLs with their credentials: the storer creates it 0600 (SQLite gives the -wal,
 * -shm and -journal files it creates beside it the database file's mode). An existing file that the group or
 * others may read is left as the operator made it (a dashboard's group may be meant to read it) but warned
 * about once per process, with the fix. */
#include "storer/backend.h"
#include "storer/migrate.h"
#include "storer/rollup.h"
#include "storer/sqlite_prune.h"
#include "storer/sqlite_rollup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/base/clock.h"
#include "common/base/log.h"
#include "common/base/util.h"

#define BUSY_TIMEOUT_MS 2000

enum { ST_BEGIN, ST_COMMIT, ST_ROLLBACK, ST_EP_INSERT, ST_EP_SELECT, ST_EP_UPSERT, ST_CHECK, ST_ALERT, ST_COUNT };

static const char *const statements[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_EP_INSERT] = "INSERT INTO endpoints(url, type) VALUES (?1, ?2) ON CONFLICT(url) DO NOTHING",
    [ST_EP_SELECT] = "SELECT id FROM endpoints WHERE url = ?1",
    [ST_EP_UPSERT] = "INSERT INTO endpoints(url, name, type) VALUES (?1, ?2, ?3) "
                     "ON CONFLICT(url) DO UPDATE SET name = excluded.name, type = excluded.type",
    [ST_CHECK] = "INSERT OR IGNORE INTO checks(endpoint_id, checked_at, status_code, latency_ms, ok, error, "
                 "dns_ms, connect_ms, tls_ms, ttfb_ms, worker, boot_id, seq, tls_expires_at, details, maintenance, "
                 "location) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
    /* An alert: inserted, or its states updated (storer/backend.h STORE_ALERT_UPSERT_SET). */
    [ST_ALERT] = "INSERT INTO alerts(alert_id, endpoint_id, raised_at, kind, message, email_state, webhook_state, "
                 "muted, incident_id, deliveries) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
                 "ON CONFLICT(alert_id) DO UPDATE SET " STORE_ALERT_UPSERT_SET("excluded.", "", "alerts."),
};

/* Version 1: the tables and indexes of docs/schema.md (one sqlite3_exec runs them all). */
static const char *const schema_v1[] = {
    "CREATE TABLE IF NOT EXISTS endpoints ("
    " id INTEGER PRIMARY KEY,"
    " url TEXT NOT NULL UNIQUE,"
    " name TEXT);"
    "CREATE TABLE IF NOT EXISTS checks ("
    " id INTEGER PRIMARY KEY,"
    " endpoint_id INTEGER NOT NULL REFERENCES endpoints(id),"
    " checked_at TEXT NOT NULL,"
    " status_code INTEGER NOT NULL,"
    " latency_ms REAL,"
    " ok INTEGER NOT NULL,"
    " error TEXT,"
    " dns_ms REAL, connect_ms REAL, tls_ms REAL, ttfb_ms REAL,"
    " worker INTEGER NOT NULL,"
    " boot_id INTEGER NOT NULL,"
    " seq INTEGER NOT NULL,"
    " UNIQUE (worker, boot_id, seq));"
    "CREATE INDEX IF NOT EXISTS checks_endpoint_time ON checks(endpoint_id, checked_at);"
    "CREATE TABLE IF NOT EXISTS alerts ("
    " id INTEGER PRIMARY KEY,"
    " alert_id INTEGER NOT NULL UNIQUE,"
    " endpoint_id INTEGER NOT NULL REFERENCES endpoints(id),"
    " raised_at TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " message TEXT NOT NULL,"
    " email_state TEXT NOT NULL,"
    " webhook_state TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS alerts_endpoint_time ON alerts(endpoint_id, raised_at);",
    NULL,
};

struct store_db {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *st[ST_COUNT];
    struct store_ep_cache cache; /* url -> endpoints.id */
    struct rollup *roll;         /* the roll-ups (storer/sqlite_rollup.c), after migrate */
    enum cw_db_raw raw;          /* database.raw: not "all", every batch folds its checks (rollup_fold_batch) */
    int64_t *ids;                /* ... with the endpoint id of each check */
    size_t cap_ids;
};

static int classify(int code)
{
    switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_NOMEM:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
        return STORE_RETRY;
    default:
        return STORE_FATAL;
    }
}

int sq_error_class(int code) { return classify(code); }

static int fail(struct store_db *d, int code, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "sqlite %s: %s: %s", d->path, what, d->db ? sqlite3_errmsg(d->db) : sqlite3_errstr(code));
    return classify(code);
}

static int exec(struct store_db *d, const char *sql, const char *what, char *err, size_t errlen)
{
    int rc = sqlite3_exec(d->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? STORE_OK : fail(d, rc, what, err, errlen);
}

static void sq_close(struct store_db *d)
{
    if (!d) return;
    rollup_close(d->roll);
    for (int i = 0; i < ST_COUNT; i++) sqlite3_finalize(d->st[i]);
    if (d->db) sqlite3_close_v2(d->db);
    store_ep_cache_free(&d->cache);
    free(d->ids);
    free(d->path);
    free(d);
}

/* The first column of the first row of sql as text (copied into out), or "" when there is no row; what names
 * the query in err. */
static int query_text(struct store_db *d, const char *sql, const char *what, char *out, size_t outlen, char *err,
                      size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(d->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) return fail(d, rc, what, err, errlen);
    out[0] = '\0';
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        snprintf(out, outlen, "%s", t ? (const char *)t : "");
        rc = SQLITE_DONE;
    }
    int ret = rc == SQLITE_DONE ? STORE_OK : fail(d, rc, what, err, errlen);
    sqlite3_finalize(st);
    return ret;
}

/* Once per process, before SQLite initialises: the storer uses SQLite from one thread only, so no mutexes,
 * and no memory statistics (each allocation would take a global mutex to count itself). Measured with
 * bench/store_bench at 5,000 endpoints: ~10% less CPU per row. A call after SQLite initialised (a second
 * open) is refused by SQLite with SQLITE_MISUSE and changes nothing, which is fine. */
static void sq_configure_once(void)
{
    static bool done;
    if (done) return;
    done = true;
    (void)sqlite3_config(SQLITE_CONFIG_SINGLETHREAD);
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* Creates the database file 0600 when it does not exist (SQLite then makes a database of the empty file);
 * warns, once per process, about an existing database, -wal, -shm or -journal file the group or others may
 * read. A path SQLite does not take as a plain file name (":memory:", a "file:" URI) is left to SQLite. */
static void sq_keep_private(const char *path)
{
    static bool warned;
    if (strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0) return;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
        close(fd);
        return;
    }
    if (errno != EEXIST || warned) return; /* anything else: sqlite3_open_v2 reports it */
    static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char file[4096];
        struct stat st;
        if ((size_t)snprintf(file, sizeof file, "%s%s", path, suffixes[i]) >= sizeof file) continue;
        if (stat(file, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) == 0) continue;
        log_warn("sqlite %s may be read by the group or others (mode %03o) and holds endpoint URLs with their "
                 "credentials: run `chmod 600 %s` (SQLite gives new -wal/-shm files the database's mode)",
                 file, (unsigned)(st.st_mode & 0777), file);
        warned = true;
    }
}

static struct store_db *sq_open(const struct cw_config *cfg, int *rc, char *err, size_t errlen)
{
    sq_configure_once();
    struct store_db *d = cw_xcalloc(1, sizeof *d);
    d->raw = cfg->db_raw;
    store_ep_cache_bind(&d->cache, cfg->endpoints, cfg->n_endpoints);
    d->path = cw_xstrdup(cfg->db_name ? cfg->db_name : "");
    if (!d->path[0]) {
        snprintf(err, errlen, "sqlite: no database file configured (db_name)");
        *rc = STORE_FATAL;
        goto err;
    }
    sq_keep_private(d->path);
    int code = sqlite3_open_v2(d->path, &d->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (code != SQLITE_OK) {
        fail(d, code, "cannot open", err, errlen);
        *rc = (code & 0xff) == SQLITE_BUSY ? STORE_RETRY : STORE_FATAL;
        goto err;
    }
    sqlite3_extended_result_codes(d->db, 1);
    sqlite3_busy_timeout(d->db, BUSY_TIMEOUT_MS);
    char mode[32];
    /* The first statement touches the file: a missing directory, a file that is not a database or no
     * permission to write shows here. */
    int r = query_text(d, "PRAGMA journal_mode=WAL", "PRAGMA journal_mode=WAL", mode, sizeof mode, err, errlen);
    if (r == STORE_OK && strcmp(mode, "wal") != 0) {
        snprintf(err, errlen, "sqlite %s: cannot switch to WAL mode (journal_mode is %s)", d->path, mode);
        r = STORE_FATAL;
    }
    if (r == STORE_OK)
        r = exec(d, "PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=8192", "cannot set synchronous", err, errlen);
    if (r == STORE_OK) r = exec(d, "BEGIN IMMEDIATE; COMMIT", "cannot write", err, errlen);
    if (r != STORE_OK) {
        int ext = sqlite3_extended_errcode(d->db);
        /* Busy or locked by another process: worth retrying. Anything else at open is a wrong path,
         * permissions or a file that is not a database. */
        *rc = ((ext & 0xff) == SQLITE_BUSY || (ext & 0xff) == SQLITE_LOCKED) ? STORE_RETRY : STORE_FATAL;
        goto err;
    }
    *rc = STORE_OK;
    return d;
err:
    sq_close(d);
    return NULL;
}

/* ---- migration: the primitives of storer/migrate.c; the migration is one BEGIN IMMEDIATE transaction */

static int sq_query_int(struct store_db *d, const char *sql, const char *what, long long *value, bool *is_null,
                        char *err, size_t errlen)
{
    char text[32];
    int r = query_text(d, sql, what, text, sizeof text, err, errlen);
    *is_null = r != STORE_OK || !text[0];
    *value = *is_null ? 0 : strtoll(text, NULL, 10);
    return r;
}

static int sq_migrate_begin(struct store_db *d, char *err, size_t errlen)
{
    return exec(d, "BEGIN IMMEDIATE", "begin", err, errlen);
}

static int sq_migrate_commit(struct store_db *d, char *err, size_t errlen)
{
    return exec(d, "COMMIT", "commit", err, errlen);
}

static void sq_migrate_rollback(struct store_db *d) { (void)sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL); }

/* 1 -> 2: the certificate expiry of https checks (NULL for the rows of version 1). */
static const char *const schema_v2[] = { "ALTER TABLE checks ADD COLUMN tls_expires_at TEXT", NULL };
/* 3 -> 4: the check types (docs/schema.md): every endpoint known so far is an http one. */
static const char *const schema_v4[] = {
    "ALTER TABLE endpoints ADD COLUMN type TEXT NOT NULL DEFAULT 'http'",
    "ALTER TABLE checks ADD COLUMN details TEXT",
    NULL,
};

/* Whether table has the column (0 or 1 in *have). */
static int sq_has_column(struct store_db *d, const char *table, const char *column, long long *have, char *err,
                         size_t errlen)
{
    char sql[256];
    bool is_null = true;
    snprintf(sql, sizeof sql, "SELECT count(*) FROM pragma_table_info('%s') WHERE name = '%s'", table, column);
    return sq_query_int(d, sql, "look for a column", have, &is_null, err, errlen);
}

/* 4 -> 5: maintenance and alert muting, incidents and channels (docs/schema.md). A column already there is kept
 * (a database taken back to an older version by hand keeps the columns it had). */
static int sq_add_maintenance(struct store_db *d, char *err, size_t errlen)
{
    static const char *const cols[][3] = {
        { "checks", "maintenance", "INTEGER NOT NULL DEFAULT 0" },
        { "alerts", "muted", "TEXT NOT NULL DEFAULT 'none'" },
        { "alerts", "incident_id", "INTEGER" },
        { "alerts", "deliveries", "TEXT NOT NULL DEFAULT ''" },
    };
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
        char sql[256];
        long long have = 0;
        int r = sq_has_column(d, cols[i][0], cols[i][1], &have, err, errlen);
        if (r != STORE_OK) return r;
        if (have > 0) continue;
        snprintf(sql, sizeof sql, "ALTER TABLE %s ADD COLUMN %s %s", cols[i][0], cols[i][1], cols[i][2]);
        if ((r = exec(d, sql, "add a column", err, errlen)) != STORE_OK) return r;
    }
    /* the report counts the checks in maintenance of a window (storer/reader.h): a partial index holds only them */
    return exec(
        d, "CREATE INDEX IF NOT EXISTS checks_maintenance ON checks(endpoint_id, checked_at) WHERE maintenance = 1",
        "create checks_maintenance", err, errlen);
}

/* 5 -> 6: locations (docs/schema.md). checks.location ('' in existing rows); the roll-up tables keyed by endpoint,
 * period and location: a WITHOUT ROWID table cannot change its key, so each is copied into a new table (its cells
 * with location '') that takes its name. Each part is skipped when done (a database taken back by hand). */
static int sq_add_location(struct store_db *d, char *err, size_t errlen)
{
    long long have = 0;
    int r = sq_has_column(d, "checks", "location", &have, err, errlen);
    if (r == STORE_OK && !have)
        r = exec(d, "ALTER TABLE checks ADD COLUMN location TEXT NOT NULL DEFAULT ''", "add checks.location", err,
                 errlen);
    static const char *const tables[] = { "checks_hourly", "checks_daily" };
    for (size_t i = 0; r == STORE_OK && i < 2; i++) {
        if ((r = sq_has_column(d, tables[i], "location", &have, err, errlen)) != STORE_OK || have) continue;
        char sql[1024];
        snprintf(sql, sizeof sql,
                 "DROP TABLE IF EXISTS %s_v6; %s"
                 "INSERT INTO %s_v6 (endpoint_id, period_start, location, " SQ_ROLLUP_VALUES ")"
                 " SELECT endpoint_id, period_start, '', " SQ_ROLLUP_VALUES " FROM %s;"
                 "DROP TABLE %s; ALTER TABLE %s_v6 RENAME TO %s",
                 tables[i], i == 0 ? SQ_ROLLUP_TABLE_V6("checks_hourly_v6") : SQ_ROLLUP_TABLE_V6("checks_daily_v6"),
                 tables[i], tables[i], tables[i], tables[i], tables[i]);
        r = exec(d, sql, "key the roll-ups by location", err, errlen);
    }
    return r;
}

static const struct store_migrate_step sq_steps[] = {
    { .version = 1, .what = "create schema", .sql = schema_v1 },
    { .version = 2, .what = "add checks.tls_expires_at", .sql = schema_v2 },
    { .version = 3, .what = "add the roll-up tables", .sql = sq_schema_v3 },
    { .version = 4, .what = "add endpoints.type and checks.details", .sql = schema_v4 },
    { .version = 5,
      .what = "add checks.maintenance and alerts.muted/incident_id/deliveries",
      .run = sq_add_maintenance },
    { .version = 6, .what = "add checks.location and key the roll-ups by location", .run = sq_add_location },
};

static const struct store_migrate_ops sq_migrate_ops = {
    .version_table_sql = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
    .steps = sq_steps,
    .n_steps = sizeof sq_steps / sizeof sq_steps[0],
    .exec = exec,
    .query_int = sq_query_int,
    .begin = sq_migrate_begin,
    .commit = sq_migrate_commit,
    .rollback = sq_migrate_rollback,
};

/* Migrates, then prepares the statements of the write path (they need the tables). */
static int sq_migrate(struct store_db *d, char *err, size_t errlen)
{
    char where[1100];
    snprintf(where, sizeof where, "sqlite %.1000s", d->path);
    int r = store_migrate(d, &sq_migrate_ops, where, err, errlen);
    if (r != STORE_OK) return r;
    for (int i = 0; i < ST_COUNT; i++) {
        if (d->st[i]) continue;
        int code = sqlite3_prepare_v3(d->db, statements[i], -1, SQLITE_PREPARE_PERSISTENT, &d->st[i], NULL);
        if (code != SQLITE_OK) return fail(d, code, "cannot prepare a statement", err, errlen);
    }
    if (!d->roll && !(d->roll = sq_rollup_open(d->db, d->path, &r, err, errlen))) return r;
    if (d->raw != CW_RAW_ALL) rollup_set_direct(d->roll);
    return STORE_OK;
}

/* Runs a prepared statement that returns no row (begin, commit, an insert). */
static int step_done(struct store_db *d, sqlite3_stmt *st)
{
    int code = sqlite3_step(st);
    sqlite3_reset(st);
    return code == SQLITE_DONE || code == SQLITE_ROW ? SQLITE_OK : code;
}

static int begin(struct store_db *d, char *err, size_t errlen)
{
    if (!d->st[ST_BEGIN]) {
        snprintf(err, errlen, "sqlite %s: not migrated", d->path);
        return STORE_FATAL;
    }
    int code = step_done(d, d->st[ST_BEGIN]);
    return code == SQLITE_OK ? STORE_OK : fail(d, code, "cannot begin a transaction", err, errlen);
}

static int rollback(struct store_db *d, int code, const char *what, char *err, size_t errlen)
{
    int r = fail(d, code, what, err, errlen); /* before ROLLBACK replaces the error message */
    if (sqlite3_get_autocommit(d->db) == 0) step_done(d, d->st[ST_ROLLBACK]);
    store_ep_cache_clear(&d->cache);
    return r;
}

static int commit(struct store_db *d, char *err, size_t errlen)
{
    int code = step_done(d, d->st[ST_COMMIT]);
    return code == SQLITE_OK ? STORE_OK : rollback(d, code, "cannot commit", err, errlen);
}

/* The id of url in endpoints, inserting it (name NULL, of the type given) when new. Returns an SQLite code. */
static int endpoint_id(struct store_db *d, const char *url, const char *type, int64_t *id)
{
    if (store_ep_cache_get(&d->cache, url, id)) return SQLITE_OK;
    sqlite3_stmt *ins = d->st[ST_EP_INSERT], *sel = d->st[ST_EP_SELECT];
    sqlite3_bind_text(ins, 1, url, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 2, type, -1, SQLITE_STATIC);
    int code = step_done(d, ins);
    if (code != SQLITE_OK) return code;
    sqlite3_bind_text(sel, 1, url, -1, SQLITE_STATIC);
    code = sqlite3_step(sel);
    if (code == SQLITE_ROW) {
        *id = sqlite3_column_int64(sel, 0);
        store_ep_cache_put(&d->cache, url, *id);
        code = SQLITE_OK;
    } else if (code == SQLITE_DONE) {
        code = SQLITE_INTERNAL; /* inserted but not found: cannot happen */
    }
    sqlite3_reset(sel);
    return code;
}

static int sq_sync_endpoints(struct store_db *d, const struct cw_endpoint *eps, size_t n, char *err, size_t errlen)
{
    int r = begin(d, err, errlen);
    if (r != STORE_OK) return r;
    sqlite3_stmt *up = d->st[ST_EP_UPSERT];
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_text(up, 1, eps[i].url, -1, SQLITE_STATIC);
        if (eps[i].name) sqlite3_bind_text(up, 2, eps[i].name, -1, SQLITE_STATIC);
        else sqlite3_bind_null(up, 2);
        sqlite3_bind_text(up, 3, store_type_name(eps[i].type), -1, SQLITE_STATIC);
        int code = step_done(d, up);
        int64_t id;
        if (code == SQLITE_OK) code = endpoint_id(d, eps[i].url, store_type_name(eps[i].type), &id);
        if (code != SQLITE_OK) return rollback(d, code, "cannot store an endpoint", err, errlen);
    }
    return commit(d, err, errlen);
}

/* Microseconds to milliseconds, NULL for -1 (a phase that was not reached). */
static void bind_ms(sqlite3_stmt *st, int col, int64_t us)
{
    if (us < 0) sqlite3_bind_null(st, col);
    else sqlite3_bind_double(st, col, (double)us / 1000.0);
}

static int sq_write_batch(struct store_db *d, const struct store_batch *b, char *err, size_t errlen)
{
    int r = begin(d, err, errlen);
    if (r != STORE_OK) return r;
    sqlite3_stmt *st = d->st[ST_CHECK];
    char when[40];
    bool raw_written = false;
    if (d->raw != CW_RAW_ALL && b->n_checks > d->cap_ids) {
        d->cap_ids = b->n_checks;
        d->ids = cw_xrealloc(d->ids, d->cap_ids * sizeof *d->ids);
    }
    for (size_t i = 0; i < b->n_checks; i++) {
        const struct cw_result *c = &b->checks[i].r;
        int64_t ep;
        int code = endpoint_id(d, c->url, store_type_name(c->kind), &ep);
        if (code != SQLITE_OK) return rollback(d, code, "cannot store an endpoint", err, errlen);
        if (d->raw != CW_RAW_ALL) d->ids[i] = ep;
        if (d->raw != CW_RAW_ALL && !b->checks[i].raw) continue; /* database.raw: folded below, no raw row */
        raw_written = true;
        cw_format_iso8601(c->checked_at_us, when, sizeof when);
        sqlite3_bind_int64(st, 1, ep);
        sqlite3_bind_text(st, 2, when, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, c->status_code);
        bind_ms(st, 4, c->latency_us);
        sqlite3_bind_int(st, 5, c->ok ? 1 : 0);
        if (c->ok || !c->error) sqlite3_bind_null(st, 6);
        else sqlite3_bind_text(st, 6, c->error, -1, SQLITE_STATIC);
        bind_ms(st, 7, c->dns_us);
        bind_ms(st, 8, c->connect_us);
        bind_ms(st, 9, c->tls_us);
        bind_ms(st, 10, c->ttfb_us);
        sqlite3_bind_int64(st, 11, (sqlite3_int64)c->worker);
        sqlite3_bind_int64(st, 12, (sqlite3_int64)c->boot_id); /* the u64's bit pattern as a signed integer */
        sqlite3_bind_int64(st, 13, (sqlite3_int64)c->seq);
        char expires[40];
        if (c->tls_expires_at_us != 0) {
            cw_format_iso8601(c->tls_expires_at_us, expires, sizeof expires);
            sqlite3_bind_text(st, 14, expires, -1, SQLITE_TRANSIENT);
        } else {
            sqlite3_bind_null(st, 14);
        }
        if (c->figures && c->figures[0]) sqlite3_bind_text(st, 15, c->figures, -1, SQLITE_STATIC);
        else sqlite3_bind_null(st, 15);
        sqlite3_bind_int(st, 16, b->checks[i].maintenance ? 1 : 0);
        sqlite3_bind_text(st, 17, c->location ? c->location : "", -1, SQLITE_STATIC);
        code = step_done(d, st);
        if (code != SQLITE_OK) return rollback(d, code, "cannot store a check", err, errlen);
    }
    st = d->st[ST_ALERT];
    for (size_t i = 0; i < b->n_alerts; i++) {
        const struct cw_alert *a = &b->alerts[i].a;
        const char *kind = proto_alert_kind_name(a->kind), *email = proto_delivery_name(a->email_state),
                   *hook = proto_delivery_name(a->webhook_state);
        int64_t ep;
        int code = endpoint_id(d, a->url, "http", &ep); /* an alert's URL not seen before: of no known type */
        if (code != SQLITE_OK) return rollback(d, code, "cannot store an endpoint", err, errlen);
        cw_format_iso8601(a->raised_at_us, when, sizeof when);
        sqlite3_bind_int64(st, 1, (sqlite3_int64)a->alert_id);
        sqlite3_bind_int64(st, 2, ep);
        sqlite3_bind_text(st, 3, when, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, kind ? kind : "unknown", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, a->message ? a->message : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, email ? email : "none", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, hook ? hook : "none", -1, SQLITE_STATIC);
        const char *muted = proto_mute_name(a->muted);
        sqlite3_bind_text(st, 8, muted ? muted : "none", -1, SQLITE_STATIC);
        if (a->incident_id) sqlite3_bind_int64(st, 9, (sqlite3_int64)a->incident_id);
        else sqlite3_bind_null(st, 9);
        sqlite3_bind_text(st, 10, a->deliveries ? a->deliveries : "", -1, SQLITE_STATIC);
        code = step_done(d, st);
        if (code != SQLITE_OK) return rollback(d, code, "cannot store an alert", err, errlen);
    }
    if (d->raw != CW_RAW_ALL) r = rollup_fold_batch(d->roll, b, d->ids, raw_written, err, errlen);
    if (r != STORE_OK || (r = rollup_fold_if_due(d->roll, err, errlen)) != STORE_OK) {
        sq_migrate_rollback(d);
        store_ep_cache_clear(&d->cache);
        return r;
    }
    return commit(d, err, errlen);
}

static void sq_bind(struct store_db *d, const struct cw_config *cfg)
{
    store_ep_cache_bind(&d->cache, cfg->endpoints, cfg->n_endpoints);
}

static int sq_prune_step(struct store_db *d, const struct prune_req *req, struct prune_res *res, char *err,
                         size_t errlen)
{
    return sq_prune(d->db, d->path, req, res, err, errlen);
}

const struct store_backend store_backend_sqlite = {
    .name = "sqlite",
    .open = sq_open,
    .migrate = sq_migrate,
    .sync_endpoints = sq_sync_endpoints,
    .write_batch = sq_write_batch,
    .close = sq_close,
    .prune = sq_prune_step,
    .bind = sq_bind,
};
