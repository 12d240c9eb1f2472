/* storer/pg_schema.c — the PostgreSQL backend's schema steps (storer/pg_schema.h): the statements of each version,
 * applied in order by storer/migrate.c inside one transaction. */
#include "storer/pg_schema.h"

#include <stddef.h>

const char *const pg_schema_v1[] = {
    "CREATE TABLE endpoints ("
    " id bigserial PRIMARY KEY,"
    " url text NOT NULL UNIQUE,"
    " name text)",
    "CREATE TABLE checks ("
    " id bigserial PRIMARY KEY,"
    " endpoint_id bigint NOT NULL REFERENCES endpoints(id),"
    " checked_at timestamptz NOT NULL,"
    " status_code integer NOT NULL,"
    " latency_ms double precision,"
    " ok boolean NOT NULL,"
    " error text,"
    " dns_ms double precision,"
    " connect_ms double precision,"
    " tls_ms double precision,"
    " ttfb_ms double precision,"
    " worker integer NOT NULL,"
    " boot_id bigint NOT NULL,"
    " seq bigint NOT NULL,"
    " UNIQUE (worker, boot_id, seq))",
    "CREATE INDEX checks_endpoint_time ON checks (endpoint_id, checked_at)",
    "CREATE TABLE alerts ("
    " id bigserial PRIMARY KEY,"
    " alert_id bigint NOT NULL UNIQUE,"
    " endpoint_id bigint NOT NULL REFERENCES endpoints(id),"
    " raised_at timestamptz NOT NULL,"
    " kind text NOT NULL,"
    " message text NOT NULL,"
    " email_state text NOT NULL,"
    " webhook_state text NOT NULL)",
    "CREATE INDEX alerts_endpoint_time ON alerts (endpoint_id, raised_at)",
    NULL,
};

/* 1 -> 2: the certificate expiry of https checks (NULL for the rows of version 1). */
const char *const pg_schema_v2[] = {
    "ALTER TABLE checks ADD COLUMN IF NOT EXISTS tls_expires_at timestamptz",
    NULL,
};

/* 3 -> 4: the check types. Every endpoint known so far is an http one; details is text, not jsonb: the same
 * document goes in on every backend and a figure never fails an insert (docs/schema.md). */
const char *const pg_schema_v4[] = {
    "ALTER TABLE endpoints ADD COLUMN IF NOT EXISTS type text NOT NULL DEFAULT 'http'",
    "ALTER TABLE checks ADD COLUMN IF NOT EXISTS details text",
    NULL,
};

/* 4 -> 5: maintenance and alert muting, incidents and channels (docs/schema.md). */
const char *const pg_schema_v5[] = {
    "ALTER TABLE checks ADD COLUMN IF NOT EXISTS maintenance boolean NOT NULL DEFAULT false",
    "ALTER TABLE alerts ADD COLUMN IF NOT EXISTS muted text NOT NULL DEFAULT 'none'",
    "ALTER TABLE alerts ADD COLUMN IF NOT EXISTS incident_id bigint",
    "ALTER TABLE alerts ADD COLUMN IF NOT EXISTS deliveries text NOT NULL DEFAULT ''",
    /* the report counts the checks in maintenance of a window: a partial index holds only them */
    "CREATE INDEX IF NOT EXISTS checks_maintenance ON checks (endpoint_id, checked_at) WHERE maintenance",
    NULL,
};

/* 5 -> 6: locations (docs/schema.md): checks.location ('' in existing rows: a constant default, no rewrite) and the
 * roll-ups keyed by endpoint, period and location (the cells of before keep location ''). */
const char *const pg_schema_v6[] = {
    "ALTER TABLE checks ADD COLUMN IF NOT EXISTS location text NOT NULL DEFAULT ''",
    "ALTER TABLE checks_hourly ADD COLUMN IF NOT EXISTS location text NOT NULL DEFAULT ''",
    "ALTER TABLE checks_hourly DROP CONSTRAINT IF EXISTS checks_hourly_pkey,"
    " ADD CONSTRAINT checks_hourly_pkey PRIMARY KEY (endpoint_id, period_start, location)",
    "ALTER TABLE checks_daily ADD COLUMN IF NOT EXISTS location text NOT NULL DEFAULT ''",
    "ALTER TABLE checks_daily DROP CONSTRAINT IF EXISTS checks_daily_pkey,"
    " ADD CONSTRAINT checks_daily_pkey PRIMARY KEY (endpoint_id, period_start, location)",
    NULL,
};
