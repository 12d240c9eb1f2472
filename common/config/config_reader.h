/* common/config/config_reader.h — reading the operator's libconfig tree: the parser's context, problems reported
 * as `FILE:LINE: message`, and the typed key readers (seconds, integers, booleans, strings, paths) that
 * every section parser uses.
 *
 * DESIGN
 * Every problem is reported through the caller's callback and counted; the readers go on after a problem
 * so that one run shows them all, and config_load returns NULL when any was found. A reader that reports
 * returns false (or NULL) and leaves its output alone, so the default stays in place. Above the arena and
 * the public config.h; below the sections (config_supervisor.c ... config_bus.c) and the load driver. */
#ifndef CW_CONFIG_READER_H
#define CW_CONFIG_READER_H

#include "common/config/config.h"
#include "common/config/config_arena.h"
#include "common/config/config_text.h"

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>

struct cfg_parser {
    struct cw_config *cfg;
    struct cw_arena *arena;
    config_report_fn report;
    config_report_fn warn; /* NULL: warnings are dropped */
    void *rctx;
    const char *file;            /* the path as the caller gave it: messages name it */
    const struct cfg_text *text; /* the text libconfig read: its lines back to FILE:LINE */
    unsigned errors;
    bool bus_only;                      /* the tap's reading (config_load_options.bus_only): no secrets read */
    bool tolerant;                      /* problems found now are warnings (bus_only, outside what the tap needs) */
    const config_setting_t *run_dir_at; /* supervisor.run_dir when set: default bus addresses derive from it */
    const config_setting_t **ep_groups; /* the group each kept endpoint was read from (for cfgp_alerting) */
    long *ep_index; /* its index in monitor.endpoints (config_setting_index walks the list: O(n) a call) */
    const config_setting_t *location_at; /* supervisor.location when set (a probe host must set it) */
    const config_setting_t *workers_at;  /* supervisor.workers when set */
    char **all_locations; /* every location's name (config_location_names), once `locations` is read */
    size_t n_all_locations;
    struct cw_spec_set *specs; /* monitor.endpoints: the distinct check specs kept so far (config_spec.h) */
    struct cw_arena *scratch;  /* monitor.endpoints: the arena of the endpoint being read, reset per endpoint */
};

/* Where a setting lives, for messages: "group.key" or "group[index].key" (index < 0: no index). */
struct cfg_where {
    const char *group;
    long index;
};

/* The file and line a setting came from (NULL: line 1 of the config), as messages name them (an @include'd file
 * by its path under the config's directory). */
void cfgp_locate(struct cfg_parser *p, const config_setting_t *s, const char **file, unsigned *line);
/* Where a setting at line `line` of the text was, for a message about setting here: "line N" in the same file,
 * "FILE:N" in another. */
const char *cfgp_other_place(struct cfg_parser *p, const config_setting_t *here, unsigned line, char *buf, size_t len);
/* Reports `FILE:LINE: message` for setting s (NULL: line 1 of the file) and counts an error (a warning when
 * p->tolerant). */
void cfgp_problem(struct cfg_parser *p, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Reports `FILE:LINE: message` through the warning callback: the file still loads. */
void cfgp_warning(struct cfg_parser *p, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Formats the dotted name of s into buf ("monitor.endpoints[3].timeout"). */
const char *cfgp_name(struct cfg_where w, const config_setting_t *s, char *buf, size_t len);
/* Reports an unknown key. */
void cfgp_unknown(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s);
/* "a string", "an integer", ...: what a setting is, for messages. */
const char *cfgp_type_name(const config_setting_t *s);

/* Typed readers: each checks the type (and range), reports a problem naming the key and returns false
 * when it does not fit. Numbers accept ints and floats. */
bool cfgp_seconds(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, double min_excl, double max,
                  double *out);
/* Like cfgp_seconds with an inclusive floor ("must be at least"). */
bool cfgp_seconds_from(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, double min, double max,
                       double *out);
bool cfgp_nonneg_seconds(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, double max, double *out);
bool cfgp_int(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, long lo, long hi, int *out);
bool cfgp_bool(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, bool *out);
const char *cfgp_string(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, bool nonempty);
/* A path: relative ones are resolved against cfg->dir. Result in the arena. */
char *cfgp_path(struct cfg_parser *p, const char *value);
/* A path setting that must name an existing file (a CA bundle): resolved like cfgp_path; NULL after
 * reporting when it is missing or not a file (a file this user may not look at passes: see
 * config_reader.c). */
char *cfgp_readable_file(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s);
/* The contents of the file a path setting names (resolved like cfgp_path), at most max bytes, any bytes, NUL-
 * terminated, in the arena; *len its length. NULL after reporting (missing, not a regular file, too long). */
char *cfgp_file_contents(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, size_t max, size_t *len);
/* Index of name in a NULL-terminated table, or -1. */
int cfgp_key(const char *const *table, const char *name);

#endif
