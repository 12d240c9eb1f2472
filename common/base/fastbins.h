/* common/base/fastbins.h — glibc's fast bins off for the length of a bulk load that makes and frees millions of small
 * blocks among the ones it keeps (a configuration, the alerter's state): a freed block is then merged with its free
 * neighbours there and then, instead of all at once (malloc_consolidate, unlinking each chunk) at the next large
 * request. mallopt is a hint (a sanitizer's allocator ignores it); the process's other allocations are unchanged
 * once the default is back. One place for the default both loaders restore. */
#ifndef CW_BASE_FASTBINS_H
#define CW_BASE_FASTBINS_H

#include <malloc.h>

#define CW_GLIBC_DEFAULT_MXFAST (64 * (int)sizeof(size_t) / 4) /* glibc's default largest "fast" block */

static inline void cw_fastbins_off(void) { (void)mallopt(M_MXFAST, 0); }
static inline void cw_fastbins_default(void) { (void)mallopt(M_MXFAST, CW_GLIBC_DEFAULT_MXFAST); }

#endif
