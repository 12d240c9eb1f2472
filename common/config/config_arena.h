/* common/config/config_arena.h — the bump allocator that owns a loaded or read config's strings and arrays.
 *
 * DESIGN
 * A config with 100,000 endpoints must load in well under a second, so an endpoint costs no malloc of
 * its own: its strings and small arrays are carved from a few large arena blocks, and config_free
 * releases the blocks, not the strings. The lowest layer of the config files: it includes none of them. */
#ifndef CW_CONFIG_ARENA_H
#define CW_CONFIG_ARENA_H

#include <stddef.h>

struct cw_arena;
struct cw_arena *cw_arena_new(void);
void cw_arena_free(struct cw_arena *a);
void *cw_arena_alloc(struct cw_arena *a, size_t n);       /* 8-byte aligned, zeroed; never NULL */
char *cw_arena_strdup(struct cw_arena *a, const char *s); /* NULL stays NULL */
char *cw_arena_strndup(struct cw_arena *a, const char *s, size_t n);
/* Takes over p (from malloc/realloc; NULL: nothing): freed with the arena. Lets a large array grown with realloc
 * belong to the arena without a copy (a snapshot's endpoints: one copy of them at a time, not two). */
void cw_arena_adopt(struct cw_arena *a, void *p);
/* Forgets (and zeroes: it may have held a secret) everything allocated, keeping one block for what comes next: a
 * scratch arena reused per item (config_load's per-endpoint spec, config_spec.h). No adopted buffer allowed. */
void cw_arena_reset(struct cw_arena *a);

#endif
