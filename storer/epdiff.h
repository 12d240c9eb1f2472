/* storer/epdiff.h — what a reload in place registers in the endpoints table: only the endpoints whose url, name or
 * type the previous configuration did not have (issue 18: one changed endpoint in 500,000 upserts one row, not
 * 500,000 in one transaction).
 *
 * DESIGN
 * The pairs at the same index are compared first (a reload that edits a few endpoints keeps the others in place);
 * the URLs at the indices that differ are put in a table of the old ones (an open-addressing set of indices by
 * cw_hash64 of the URL) and every new one at such an index is looked up there. A URL is one endpoint's in a
 * configuration (config_load refuses duplicates), so an endpoint that moved is found among the old ones that moved
 * too. Removed endpoints keep their rows (as before: their history stays). */
#ifndef CW_STORER_EPDIFF_H
#define CW_STORER_EPDIFF_H

#include <stddef.h>

#include "common/config/config.h"

/* The indices in eps[0..n) of the endpoints whose (url, name, type) old[0..n_old) has not, into out (n entries at
 * most, caller's); returns how many. */
size_t epdiff_changed(const struct cw_endpoint *old, size_t n_old, const struct cw_endpoint *eps, size_t n,
                      size_t *out);

#endif
