/* common/config/snapshot_codec.h — private to the snapshot (snapshot.c, snapshot_endpoint.c): the field codecs of
 * its payload. A string is u32 length (0xFFFFFFFF: NULL), its bytes and a NUL (so bytes with NULs inside, a
 * body_file's or a tcp send's, are carried whole and still end in a NUL); a double is its IEEE-754 bits as u64; a
 * bool one byte. Reading goes through the bounded reader of common/base/le.h: any failure is sticky and makes the
 * whole file "malformed", never a crash. */
#ifndef CW_SNAPSHOT_CODEC_H
#define CW_SNAPSHOT_CODEC_H

#include "common/base/le.h"
#include "common/base/util.h"
#include "common/config/config.h"
#include "common/config/config_arena.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNAP_STR_NULL 0xFFFFFFFFu

void snap_put_f64(struct cw_buf *b, double d);
void snap_put_i32(struct cw_buf *b, int v);
void snap_put_str(struct cw_buf *b, const char *s);
void snap_put_bytes(struct cw_buf *b, const char *s, size_t n); /* a string of n bytes (NULL: the NULL marker) */
void snap_put_strv(struct cw_buf *b, char *const *v, size_t n);

/* The snapshot's spec table as read (snapshot_spec.c): every record found, each decoded on first use. */
struct snap_specs {
    const uint8_t **rec; /* record i's bytes (after its length), in the file or message */
    uint32_t *len;
    const struct cw_check_spec **spec; /* NULL: not decoded yet */
    uint32_t n;
    bool keep_key_password; /* the workers' secrets (client_key_password, proxy) */
};

/* The reader and the arena the strings are copied into. */
struct snap_map;
struct rd {
    struct snap_specs *specs; /* the spec table, once read (the endpoint records refer to it) */
    struct le_reader in;
    struct cw_arena *arena;
    bool all_secrets; /* keep every secret whatever CLOCKWERK_SECRETS says (config_for_location's copy) */
    struct snap_map *map; /* the mapped file being read (its pages dropped behind the endpoints); NULL: in memory */
};

bool snap_is_bad(const struct rd *r);
void snap_set_bad(struct rd *r);
double snap_get_f64(struct rd *r);
int snap_get_i32(struct rd *r);
bool snap_get_bool(struct rd *r);
/* A string in place (not copied): NULL for the NULL marker; sets bad when malformed. */
const char *snap_peek_str(struct rd *r, size_t *len);
char *snap_get_str(struct rd *r);
/* A string with its length (it may hold NULs); *len 0 for NULL. */
char *snap_get_bytes(struct rd *r, size_t *len);
char *snap_get_bytes32(struct rd *r, uint32_t *len); /* into a struct cw_endpoint's uint32_t length */
char *snap_skip_str(struct rd *r); /* always NULL */
/* A count of items each at least `min` bytes long: bounded by what is left. */
size_t snap_get_count(struct rd *r, size_t min);
/* A list of strings (none may be NULL) into *out / *n. */
void snap_get_strv(struct rd *r, char ***out, size_t *n);
void snap_get_strv32(struct rd *r, char ***out, uint32_t *n); /* into a struct cw_endpoint's uint32_t count */

/* Which secrets a whole-snapshot reader keeps (CLOCKWERK_SECRETS, see snapshot.c; every one with r->all_secrets). */
bool snap_keeps_secret(const struct rd *r, const char *which);

/* One endpoint record (snapshot_endpoint.c), its length first; spec_index: its spec's in the table. web false: the
 * web-only fields (group, push token) are written as unset. */
void snap_put_endpoint(struct cw_buf *b, const struct cw_endpoint *ep, bool web, uint32_t spec_index);
/* Decodes the fields after the url (its spec from r->specs, the index checked); the push token is kept only with
 * keep_token. Marks r bad on a malformed or implausible record. */
void snap_get_endpoint(struct rd *r, struct cw_endpoint *ep, const char *url, size_t url_len, bool keep_token);

/* The spec table (snapshot_spec.c). snap_put_spec: one spec record, its length first (NULL: cw_check_spec_none).
 * snap_put_spec_table: the count and every distinct spec of c's endpoints in the order of first use; returns the
 * index of each (snap_spec_index_of; free with snap_spec_index_free). */
struct snap_spec_index;
void snap_put_spec(struct cw_buf *b, const struct cw_check_spec *s);
struct snap_spec_index *snap_put_spec_table(struct cw_buf *b, const struct cw_config *c);
uint32_t snap_spec_index_of(const struct snap_spec_index *x, const struct cw_check_spec *s);
void snap_spec_index_free(struct snap_spec_index *x);
/* Finds every record of the table (none decoded yet); false (r bad) when malformed. Free with snap_specs_free. */
bool snap_get_spec_table(struct rd *r, struct snap_specs *t, bool keep_key_password);
/* Spec i, decoded into r->arena on first use; an index out of range or a malformed or implausible record marks r
 * bad (and returns cw_check_spec_none). */
const struct cw_check_spec *snap_spec_at(struct rd *r, struct snap_specs *t, uint32_t i);
uint32_t snap_specs_decoded(const struct snap_specs *t); /* how many were decoded */
void snap_specs_free(struct snap_specs *t);

/* The alerting part (snapshot_alerting.c): the globals after the web's settings; an endpoint's fields at the end of
 * its record. keep_secrets: the channels' tokens, SMTP passwords, headers and urls (else NULL). */
void snap_put_alerting(struct cw_buf *b, const struct cw_config *c);
void snap_get_alerting(struct rd *r, struct cw_config *c, bool keep_secrets);
void snap_put_endpoint_alerting(struct cw_buf *b, const struct cw_endpoint *ep);
void snap_get_endpoint_alerting(struct rd *r, struct cw_endpoint *ep);
/* The locations part (snapshot_locations.c): the globals after the alerting part; a list of location names and a
 * quorum (an endpoint's at the end of its record, a group's at the end of its settings). Names read back point at
 * c's own strings (c->location, c->locations[].name) when they are one of them: c's globals are read first. */
void snap_put_locations(struct cw_buf *b, const struct cw_config *c);
void snap_get_locations(struct rd *r, struct cw_config *c);
void snap_put_location_list(struct cw_buf *b, char *const *names, size_t n, int quorum);
void snap_get_location_list(struct rd *r, const struct cw_config *c, char ***out, size_t *n, int *quorum);
/* After the endpoints: every channel and endpoint index in range (total_endpoints: the snapshot's count). A shard's
 * reader gets no maintenance and no depends_on_idx (its indices would point elsewhere). */
bool snap_alerting_plausible(struct cw_config *c, uint32_t total_endpoints, bool shard);

#endif
