/* alerter/statefile_int.h — the state file's JSON helpers shared by alerter/statefile_write.c (writing it),
 * alerter/statefile_load.c (loading it), alerter/statefile_replay.c (its journal) and alerter/statefile_incident.c
 * and statefile_loc.c (the incident, flapping, per-channel and location parts of it). Not for other callers. */
#ifndef CW_ALERTER_STATEFILE_INT_H
#define CW_ALERTER_STATEFILE_INT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "alerter/alert.h"
#include "alerter/flap.h"
#include "alerter/incident.h"
#include "alerter/statefile.h"

/* Loading: every field is checked; the first thing off names why the whole file is malformed. */
struct sf_loader {
    const char *why;
};

#define U32 0, UINT32_MAX
#define I64 INT64_MIN, INT64_MAX

#include "common/wire/jsonnew.h" /* cw_jnew: every builder here uses it */
void sf_put_i64(json_object *o, const char *k, int64_t v);
void sf_put_str(json_object *o, const char *k, const char *v); /* NULL: JSON null */
void sf_put_hex(json_object *o, const char *k, uint64_t v);
json_object *sf_get(struct sf_loader *l, json_object *o, const char *k, json_type t);
int64_t sf_get_i64(struct sf_loader *l, json_object *o, const char *k, int64_t lo, int64_t hi);
char *sf_get_strdup(struct sf_loader *l, json_object *o, const char *k, bool nullable);
uint64_t sf_parse_hex(struct sf_loader *l, const char *s);
uint64_t sf_get_hex(struct sf_loader *l, json_object *o, const char *k);

/* The sections of o (a base, or a journal line: the same keys and shapes) into d, which the caller zeroed; every
 * entry of "endpoints", "voters" and "votes" is added, "plain", "alerts", "jobs" and "locations" are filled when
 * present. base: "endpoints", "alerts" and "jobs" are required (a line: each optional). Returns the SF_SEC_* of the
 * whole sections present (l->why set when anything is off). */
#define SF_SEC_PLAIN 1u
#define SF_SEC_ALERTS 2u
#define SF_SEC_JOBS 4u
#define SF_SEC_LOCATIONS 8u
unsigned sf_load_sections(struct sf_loader *l, json_object *o, struct statefile_data *d, bool base);
/* "saved_at" of o as written by cw_format_iso8601; 0 when missing or not that form. */
int64_t sf_load_saved_at(json_object *o);
/* The base alone (statefile_load without the journal): 1, 0 when there is no file, -1 with a reason in err. */
int sf_load_base(const char *path, struct statefile_data *d, char *err, size_t errlen);

/* An endpoint's "incident" object (its incident and its flapping); loading it is optional (files written before
 * issue 15 lack it) and fills owned copies. */
/* An endpoint's "incident" object (its incident, notified, resends and flap history), and back. */
json_object *sf_incident_json(const struct statefile_endpoint *e);
void sf_incident_load(struct sf_loader *l, json_object *endpoint, struct statefile_endpoint *e);

/* An alert's issue-15 fields (incident, severity, muting, escalation, detail, children, per-channel deliveries)
 * into / from its object; optional when loading. */
void sf_alert_extra_json(json_object *o, const struct alert_rec *a);
void sf_alert_extra_load(struct sf_loader *l, json_object *o, struct alert_rec *a);

/* Issue 16: "locations" (alerter/statefile_loc.c); loading it is optional and fills owned copies. */
struct statefile_location;
json_object *sf_locations_json(const struct statefile_location *locs, size_t n);
void sf_locations_load(struct sf_loader *l, json_object *root, struct statefile_location **locs, size_t *n);
void sf_locations_free(struct statefile_location *locs, size_t n);
struct statefile_vote;
json_object *sf_votes_json(const struct statefile_vote *votes, size_t n);
void sf_votes_load(struct sf_loader *l, json_object *root, struct statefile_vote **votes, size_t *n);
void sf_votes_free(struct statefile_vote *votes, size_t n);
struct statefile_voter;
json_object *sf_voters_json(const struct statefile_voter *voters, size_t n);
void sf_voters_load(struct sf_loader *l, json_object *root, struct statefile_voter **voters, size_t *n);
void sf_voters_free(struct statefile_voter *voters, size_t n);

#endif
