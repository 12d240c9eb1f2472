/* common/base/hash.h — the project's one hash table: uthash (Debian's uthash-dev, header-only), set up once.
 * Its buckets are allocated like every allocation of the project: cw_xmalloc, which never returns NULL (out of
 * memory ends the process with a message), so uthash_fatal is unreachable and only says the same if it ever
 * were not. Include this header, never <uthash.h> directly; a file that wants uthash's options (HASH_BLOOM
 * ...) defines them before including it. */
#ifndef CW_HASH_H
#define CW_HASH_H

#include <stdlib.h>

#include "common/base/log.h"
#include "common/base/util.h"

#ifdef UTHASH_H
#error "common/base/hash.h must come before any other inclusion of <uthash.h>"
#endif

#define uthash_malloc(size) cw_xmalloc(size)
#define uthash_free(ptr, size) free(ptr)
#define uthash_fatal(msg) fatal(1, "out of memory (%s)", msg)

#include <uthash.h>

#endif
