/* common/config/config_spec.h — private to the config module: copying and interning struct cw_check_spec (issue 18).
 *
 * DESIGN
 * config_load reads each endpoint's details into a scratch spec (its strings in a scratch arena, reset per endpoint)
 * and interns it: a table keyed by cw_check_spec_hash finds an equal spec already kept (cw_check_spec_equal), else
 * the scratch is copied deeply into the config's arena and kept. So 500,000 endpoints of a few hundred distinct
 * specs hold a few hundred specs, and the parse leaves no copy of a duplicate's strings behind. */
#ifndef CW_CONFIG_SPEC_H
#define CW_CONFIG_SPEC_H

#include "common/config/config.h"
#include "common/config/config_arena.h"

/* A deep copy of s in arena (strings, lists, conditions; NULL stays NULL). */
struct cw_check_spec *cw_check_spec_copy(struct cw_arena *arena, const struct cw_check_spec *s);

/* The set of distinct specs of one config; its copies live in the arena given to cw_spec_set_intern. */
struct cw_spec_set;
struct cw_spec_set *cw_spec_set_new(void);
void cw_spec_set_free(struct cw_spec_set *set); /* the table only: the specs stay in their arena */
/* The kept spec equal to s, or a copy of s in arena, kept from now on. */
const struct cw_check_spec *cw_spec_set_intern(struct cw_spec_set *set, struct cw_arena *arena,
                                               const struct cw_check_spec *s);
size_t cw_spec_set_count(const struct cw_spec_set *set);

#endif
