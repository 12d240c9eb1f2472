/* storer/maint.h — checks.maintenance: whether a maintenance window (common/config/maintenance.h) of the storer's
 * configuration covered a check's endpoint at the check's checked_at. The endpoint is found by the result's URL
 * (a table of the configured URLs, rebuilt at start and at each reload); an URL the configuration no longer has
 * is covered only by a window that covers everything. */
#ifndef CW_STORER_MAINT_H
#define CW_STORER_MAINT_H

#include <stddef.h>

#include "common/config/config.h"
#include "storer/backend.h"
#include "storer/urlindex.h"

struct storer_maint {
    const struct cw_config *cfg;  /* not owned */
    struct url_index by_url;      /* url -> index in cfg->endpoints (storer/urlindex.h) */
};

/* (Re)builds the table for cfg; cfg must outlive the next call of storer_maint_set or storer_maint_free. */
void storer_maint_set(struct storer_maint *m, const struct cw_config *cfg);
void storer_maint_free(struct storer_maint *m);
/* Sets b->checks[i].maintenance for every i >= from. */
void storer_maint_mark(const struct storer_maint *m, struct store_batch *b, size_t from);

#endif
