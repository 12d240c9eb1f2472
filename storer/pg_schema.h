/* storer/pg_schema.h — the PostgreSQL backend's schema steps (docs/schema.md) other than the roll-ups' (version 3,
 * storer/pg_rollup.h), for storer/postgres.c's migration. */
#ifndef CW_STORER_PG_SCHEMA_H
#define CW_STORER_PG_SCHEMA_H

extern const char *const pg_schema_v1[]; /* the tables and indexes of the first release */
extern const char *const pg_schema_v2[]; /* 1 -> 2: checks.tls_expires_at */
extern const char *const pg_schema_v4[]; /* 3 -> 4: endpoints.type, checks.details */
extern const char *const pg_schema_v5[]; /* 4 -> 5: checks.maintenance, alerts.muted/incident_id/deliveries */
extern const char *const pg_schema_v6[]; /* 5 -> 6: checks.location, roll-ups keyed by location */

#endif
