/* common/config_priv.h — private to the config module (config*.c, snapshot.c): the string arena that
 * owns a loaded config's strings and arrays, the parser's context and its reporting helpers, and the
 * value checks (URLs, mail addresses, header lines) shared by the loader's files.
 *
 * DESIGN
 * A config with 100,000 endpoints must load in well under a second, so an endpoint costs no malloc of
 * its own: its strings and small arrays are carved from a few large arena blocks, and config_free
 * releases the blocks, not the strings. Nothing outside common/config*.c and common/snapshot.c includes
 * this file. */
#ifndef CW_CONFIG_PRIV_H
#define CW_CONFIG_PRIV_H

#include "common/config.h"

#include <libconfig.h>
#include <stdarg.h>

/* ---- arena (config_arena.c) ---- */
struct cw_arena;
struct cw_arena *cw_arena_new(void);
void cw_arena_free(struct cw_arena *a);
void *cw_arena_alloc(struct cw_arena *a, size_t n);             /* 8-byte aligned, zeroed; never NULL */
char *cw_arena_strdup(struct cw_arena *a, const char *s);        /* NULL stays NULL */
char *cw_arena_strndup(struct cw_arena *a, const char *s, size_t n);

/* ---- parser context (config.c) ---- */
struct cfg_parser {
    struct cw_config *cfg;
    struct cw_arena *arena;
    config_report_fn report;
    void *rctx;
    const char *file;        /* the path as the caller gave it: messages name it */
    unsigned errors;
    const config_setting_t *run_dir_at;   /* supervisor.run_dir when set: default bus addresses derive from it */
};

/* Where a setting lives, for messages: "group.key" or "group[index].key" (index < 0: no index). */
struct cfg_where {
    const char *group;
    long index;
};

/* The file a setting came from, as messages name it (an @include'd file gets the config's directory). */
const char *cfgp_file_of(struct cfg_parser *p, const config_setting_t *s, char *buf, size_t len);
/* Reports `FILE:LINE: message` for setting s (NULL: line 1 of the file) and counts an error. */
void cfgp_problem(struct cfg_parser *p, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Formats the dotted name of s into buf ("monitor.endpoints[3].timeout"). */
const char *cfgp_name(struct cfg_where w, const config_setting_t *s, char *buf, size_t len);
/* Reports an unknown key. */
void cfgp_unknown(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s);

/* Typed getters: each checks the type (and range), reports a problem naming the key and returns false
 * when it does not fit. Numbers accept ints and floats. */
bool cfgp_seconds(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, double min_excl, double max,
                  double *out);
bool cfgp_nonneg_seconds(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, double max, double *out);
bool cfgp_int(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, long lo, long hi, int *out);
bool cfgp_bool(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, bool *out);
const char *cfgp_string(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, bool nonempty);
/* A path: relative ones are resolved against cfg->dir. Result in the arena. */
char *cfgp_path(struct cfg_parser *p, const char *value);
/* A path setting that must name an existing file (a CA bundle): resolved like cfgp_path; NULL after
 * reporting when it is missing or not a file (a file this user may not look at passes: see config.c). */
char *cfgp_readable_file(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s);
/* Index of name in a NULL-terminated table, or -1. */
int cfgp_key(const char *const *table, const char *name);

/* ---- value checks (config_check.c): NULL when fine, else a static reason ---- */
const char *cw_check_http_url(const char *url);
const char *cw_check_email(const char *addr);
const char *cw_check_header(const char *line);
/* Whether a header line carries a credential (Authorization, Cookie, a name with token/secret/key/auth...). */
bool cw_header_is_secret(const char *line);
/* Whether a URL carries a password in its userinfo (scheme://user:password@host). */
bool cw_url_has_password(const char *url);
/* Reports a problem at s when others may read the file s comes from, which holds a secret (issue 7). */
void cfgp_check_private(struct cfg_parser *p, const config_setting_t *s, const char *key);

/* ---- snapshot (snapshot.c) ---- */
/* The checksum over a snapshot's payload (bytes 32..end), stored at bytes 24..31; exposed for tests that
 * forge snapshots with a valid checksum but malformed fields. */
uint64_t cw_snapshot_checksum(const void *data, size_t n);

/* ---- group parsers ---- */
void cfgp_supervisor(struct cfg_parser *p, const config_setting_t *g);              /* config_groups.c */
void cfgp_bus(struct cfg_parser *p, const config_setting_t *g);                     /* config_groups.c */
void cfgp_alerts(struct cfg_parser *p, const config_setting_t *g);                  /* config_groups.c */
void cfgp_email(struct cfg_parser *p, const config_setting_t *g);                   /* config_secrets.c */
void cfgp_database(struct cfg_parser *p, const config_setting_t *g);                /* config_secrets.c */
void cfgp_monitor(struct cfg_parser *p, const config_setting_t *g);                 /* config_endpoints.c */

#endif
