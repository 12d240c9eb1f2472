/* alerter/persist_int.h — what alerter/persist.c gathers, shared with alerter/persist_unit.c (the gathering). Not
 * for other callers. */
#ifndef CW_ALERTER_PERSIST_INT_H
#define CW_ALERTER_PERSIST_INT_H

#include "alerter/dispatch.h"
#include "alerter/endpoints.h"
#include "alerter/outbox.h"
#include "alerter/statefile.h"

#define PERSIST_SUMMARY_MAX 1024

/* One endpoint's part of the file (its "unit"): its record when it is worth saving, its locations' votes when not
 * plainly up everywhere, and who sees what. Pointers into the endpoint (valid until it changes); the summary is
 * the unit's own. */
struct persist_unit {
    bool has_rec, has_vote;
    struct statefile_endpoint rec;
    struct statefile_voter voters[CW_LOCATIONS_MAX];
    size_t n_voters;
    struct statefile_vote vote;
    char summary[PERSIST_SUMMARY_MAX];
};

/* Fills u for e (of t) and returns statefile_unit_hash of it (0: nothing to save of e). */
uint64_t persist_gather_unit(const struct endpoints *t, const struct endpoint *e, struct persist_unit *u);

/* Growable lists of units' entries (the copies of summaries are the lists' own). */
struct persist_lists {
    struct statefile_data d; /* eps, voters, votes used; the rest zero */
    size_t cap_eps, cap_voters, cap_votes;
};
void persist_lists_add(struct persist_lists *pl, const struct persist_unit *u, bool rec, bool voters, bool vote);
void persist_lists_clear(struct persist_lists *pl); /* empties, keeps the capacity */
void persist_lists_free(struct persist_lists *pl);

/* d's sections from the owners: plain (pointers into t, its bits in a new array), alerts and jobs (arrays of
 * pointers into disp and ob), locations. Freed by persist_sections_free (nothing else of d). */
void persist_gather_sections(struct statefile_data *d, const struct endpoints *t, const struct dispatch *disp,
                             const struct outbox *ob);
void persist_sections_free(struct statefile_data *d);

#endif
