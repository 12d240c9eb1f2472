/* common/base/util.h — small helpers every process needs: the stable URL hash (sharding and the phase of first
 * checks), boot ids, masking credentials in URLs, a growable byte buffer, and atomic file writes. */
#ifndef CW_UTIL_H
#define CW_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* FNV-1a 64-bit over the bytes of s. Stable across releases and machines: sharding depends on it. */
uint64_t cw_hash64(const char *s);
/* The same over len bytes of p (cw_hash64(s) == cw_hash64_mem(s, strlen(s))). */
uint64_t cw_hash64_mem(const void *p, size_t len);
/* MurmurHash3's 64-bit finalizer: every input bit flips each output bit with probability ~1/2 (a hash whose low
 * bits mix poorly, before a table index is taken from them). */
static inline uint64_t cw_mix64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ull;
    k ^= k >> 33;
    return k;
}

/* Which of `slots` workers owns url (0..slots-1). */
unsigned cw_shard_of(const char *url, unsigned slots);

/* A random 64-bit id for this process start (getrandom), never 0. */
uint64_t cw_boot_id(void);

/* Copies url to out with any `user:password@` credentials replaced by `***@`. Always NUL-terminates. The userinfo
 * ends at the last '@' before the query or the fragment: a password with an unencoded '/' is masked whole (an
 * '@' in the path is masked with it, on the safe side); '?' and '#' in a password must be percent-encoded. */
void cw_mask_url(const char *url, char *out, size_t outlen);
/* The '@' that ends the userinfo of the authority at auth (what follows "://"), by cw_mask_url's rule, looking at
 * no more than len bytes; NULL when there is none. For masking URLs inside a longer text (the caller bounds the
 * URL at white space or quotes). */
const char *cw_url_userinfo_end(const char *auth, size_t len);

/* Length of the valid UTF-8 sequence that starts at p (1..4), or 0 when the bytes there are not valid
 * UTF-8 (overlong forms, surrogates, code points above U+10FFFF, a sequence cut by the NUL terminator).
 * p must be NUL-terminated. Shared by every place that makes outside text safe for UTF-8 consumers. */
size_t cw_utf8_seq_len(const unsigned char *p);

/* Growable byte buffer. data is owned by the buffer; cw_buf_free releases it. Allocation failure is fatal
 * (logged, exit 1): a monitor that cannot allocate a few bytes cannot go on. */
struct cw_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
};
void cw_buf_reserve(struct cw_buf *b, size_t extra);
void cw_buf_put(struct cw_buf *b, const void *p, size_t n);
/* Appends printf-style text (no NUL), however long. */
void cw_buf_printf(struct cw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cw_buf_reset(struct cw_buf *b);
void cw_buf_free(struct cw_buf *b);

/* Allocation that never returns NULL (fatal on failure). */
void *cw_xmalloc(size_t n);
void *cw_xcalloc(size_t n, size_t size);
void *cw_xrealloc(void *p, size_t n);
char *cw_xstrdup(const char *s);

/* Atomically replaces path by data (mode 0600): tmp, rename; -1: errno set, *failed names the step. durable: the
 * file is fsynced before the rename and its directory after (survives a crash of the machine); without it the rename
 * is still atomic against a crash of the process, but a crash of the machine may lose the last seconds of writes. */
int cw_write_file_atomic(const char *path, const char *tmp, const void *data, size_t len, bool durable,
                         const char **failed);

/* Opens path read-only (O_NOFOLLOW) and checks it is a regular file of at most max bytes: 1 with *fd_out and *size,
 * 0 when it does not exist, -1 otherwise; err says why in both cases ("cannot open WHAT: ..."). */
int cw_open_regular(const char *path, const char *what, size_t max, int *fd_out, size_t *size, char *err,
                    size_t errlen);

/* The whole regular file at path, of at most max bytes, into *data (malloc'd, never NULL on success: free it, and
 * wipe it first with explicit_bzero when it may hold secrets) and *len. The path's last component is not followed
 * when it is a symbolic link. 1; 0 when the file does not exist; -1 otherwise; err receives a one-line reason
 * naming `what` (e.g. "snapshot /run/x") in both cases. */
int cw_read_file(const char *path, const char *what, size_t max, unsigned char **data, size_t *len, char *err,
                 size_t errlen);

/* "s" unless n is 1: "%zu endpoint%s", n, cw_plural(n). */
static inline const char *cw_plural(long long n) { return n == 1 ? "" : "s"; }

#endif
