/* common/config/config_reader.c — reading the operator's libconfig tree (see config_reader.h): problems
 * reported as `FILE:LINE: message`, the dotted names of keys in messages, and the typed key readers. */
#include "common/config/config_reader.h"
#include "common/wire/protocol.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- reporting ---- */

void cfgp_locate(struct cfg_parser *p, const config_setting_t *s, const char **file, unsigned *line)
{
    unsigned at = (s && s->line) ? s->line : 1; /* s->line, not config_setting_source_line: that is a short */
    if (p->text) cfg_text_locate(p->text, at, file, line);
    else {
        *file = p->file;
        *line = at;
    }
}

const char *cfgp_other_place(struct cfg_parser *p, const config_setting_t *here, unsigned line, char *buf, size_t len)
{
    const char *file, *other;
    unsigned fline, oline;
    cfgp_locate(p, here, &file, &fline);
    if (p->text) cfg_text_locate(p->text, line, &other, &oline);
    else {
        other = file;
        oline = line;
    }
    if (strcmp(file, other) == 0) snprintf(buf, len, "line %u", oline);
    else snprintf(buf, len, "%s:%u", other, oline);
    return buf;
}

static void vreport(struct cfg_parser *p, const config_setting_t *s, bool warning, const char *fmt, va_list ap)
{
    char msg[CW_URL_MAX + 1024];
    const char *file;
    unsigned line;
    cfgp_locate(p, s, &file, &line);
    int n = snprintf(msg, sizeof msg, "%s:%u: ", file, line);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof msg) n = (int)sizeof msg - 1;
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    /* one line, as config_report_fn promises: values quoted from the file may hold control characters */
    for (char *c = msg; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = '?';
    if (warning) {
        if (p->warn) p->warn(p->rctx, msg);
        return;
    }
    p->errors++;
    if (p->report) p->report(p->rctx, msg);
}

void cfgp_problem(struct cfg_parser *p, const config_setting_t *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(p, s, p->tolerant, fmt, ap);
    va_end(ap);
}

void cfgp_warning(struct cfg_parser *p, const config_setting_t *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(p, s, true, fmt, ap);
    va_end(ap);
}

const char *cfgp_name(struct cfg_where w, const config_setting_t *s, char *buf, size_t len)
{
    const char *key = (s && s->name) ? s->name : NULL;
    if (w.index >= 0 && key) snprintf(buf, len, "%s[%ld].%s", w.group, w.index, key);
    else if (w.index >= 0) snprintf(buf, len, "%s[%ld]", w.group, w.index);
    else if (key && w.group && w.group[0]) snprintf(buf, len, "%s.%s", w.group, key);
    else snprintf(buf, len, "%s", key ? key : (w.group ? w.group : "?"));
    return buf;
}

void cfgp_unknown(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s)
{
    char where[256];
    if (w.index >= 0) snprintf(where, sizeof where, "%s[%ld]", w.group, w.index);
    else snprintf(where, sizeof where, "%s", w.group && w.group[0] ? w.group : "the top level");
    cfgp_problem(p, s, "unknown key '%s' in %s", s->name ? s->name : "?", where);
}

const char *cfgp_type_name(const config_setting_t *s)
{
    switch (s->type) {
    case CONFIG_TYPE_GROUP:
        return "a group";
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        return "an integer";
    case CONFIG_TYPE_FLOAT:
        return "a decimal number";
    case CONFIG_TYPE_STRING:
        return "a string";
    case CONFIG_TYPE_BOOL:
        return "a boolean";
    case CONFIG_TYPE_ARRAY:
        return "an array";
    case CONFIG_TYPE_LIST:
        return "a list";
    default:
        return "nothing";
    }
}

static bool get_number(const config_setting_t *s, double *out)
{
    switch (s->type) {
    case CONFIG_TYPE_INT:
        *out = config_setting_get_int(s);
        return true;
    case CONFIG_TYPE_INT64:
        *out = (double)config_setting_get_int64(s);
        return true;
    case CONFIG_TYPE_FLOAT:
        *out = config_setting_get_float(s);
        return true;
    default:
        return false;
    }
}

/* A number of seconds (int or float), any value; false after reporting another type. */
static bool seconds_value(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, double *v)
{
    char name[256];
    if (get_number(s, v)) return true;
    cfgp_problem(p, s, "%s: expected a number (seconds), got %s", cfgp_name(w, s, name, sizeof name),
                 cfgp_type_name(s));
    return false;
}

bool cfgp_seconds(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, double min_excl, double max,
                  double *out)
{
    char name[256];
    double v;
    if (!seconds_value(p, w, s, &v)) return false;
    if (!isfinite(v) || !(v > min_excl)) {
        cfgp_problem(p, s, "%s: must be greater than %g (got %.15g)", cfgp_name(w, s, name, sizeof name), min_excl, v);
        return false;
    }
    if (v > max) {
        cfgp_problem(p, s, "%s: must be at most %g (got %.15g)", cfgp_name(w, s, name, sizeof name), max, v);
        return false;
    }
    *out = v;
    return true;
}

bool cfgp_seconds_from(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, double min, double max,
                       double *out)
{
    char name[256];
    double v;
    if (!seconds_value(p, w, s, &v)) return false;
    if (!isfinite(v) || !(v >= min)) {
        cfgp_problem(p, s, "%s: must be at least %g (got %.15g)", cfgp_name(w, s, name, sizeof name), min, v);
        return false;
    }
    return cfgp_seconds(p, w, s, 0, max, out);
}

bool cfgp_nonneg_seconds(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, double max, double *out)
{
    char name[256];
    double v;
    if (!seconds_value(p, w, s, &v)) return false;
    if (!isfinite(v) || v < 0 || v > max) {
        cfgp_problem(p, s, "%s: must be between 0 and %g (got %.15g)", cfgp_name(w, s, name, sizeof name), max, v);
        return false;
    }
    *out = v;
    return true;
}

bool cfgp_int(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, long lo, long hi, int *out)
{
    char name[256];
    double v;
    long long whole;
    if (s->type == CONFIG_TYPE_INT || s->type == CONFIG_TYPE_INT64) whole = config_setting_get_int64(s);
    else if (!get_number(s, &v)) {
        cfgp_problem(p, s, "%s: expected an integer, got %s", cfgp_name(w, s, name, sizeof name), cfgp_type_name(s));
        return false;
    } else if (!isfinite(v) || v != floor(v)) {
        cfgp_problem(p, s, "%s: expected a whole number (got %.15g)", cfgp_name(w, s, name, sizeof name), v);
        return false;
    } else if (v < (double)lo || v > (double)hi) {
        cfgp_problem(p, s, "%s: must be between %ld and %ld (got %.0f)", cfgp_name(w, s, name, sizeof name), lo, hi, v);
        return false;
    } else whole = (long long)v;
    if (whole < lo || whole > hi) {
        cfgp_problem(p, s, "%s: must be between %ld and %ld (got %lld)", cfgp_name(w, s, name, sizeof name), lo, hi,
                     whole);
        return false;
    }
    *out = (int)whole;
    return true;
}

bool cfgp_bool(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, bool *out)
{
    char name[256];
    if (s->type != CONFIG_TYPE_BOOL) {
        cfgp_problem(p, s, "%s: expected a boolean (true or false), got %s", cfgp_name(w, s, name, sizeof name),
                     cfgp_type_name(s));
        return false;
    }
    *out = config_setting_get_bool(s) != 0;
    return true;
}

const char *cfgp_string(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, bool nonempty)
{
    char name[256];
    if (s->type != CONFIG_TYPE_STRING) {
        cfgp_problem(p, s, "%s: expected a string, got %s", cfgp_name(w, s, name, sizeof name), cfgp_type_name(s));
        return NULL;
    }
    const char *v = config_setting_get_string(s);
    if (!v || (nonempty && !v[0])) {
        cfgp_problem(p, s, "%s: must not be empty", cfgp_name(w, s, name, sizeof name));
        return NULL;
    }
    return v;
}

char *cfgp_path(struct cfg_parser *p, const char *value)
{
    if (!value) return NULL;
    if (value[0] == '/') return cw_arena_strdup(p->arena, value);
    size_t dl = strlen(p->cfg->dir), vl = strlen(value);
    char *out = cw_arena_alloc(p->arena, dl + vl + 2);
    memcpy(out, p->cfg->dir, dl);
    size_t at = dl;
    if (at == 0 || out[at - 1] != '/') out[at++] = '/';
    memcpy(out + at, value, vl + 1);
    return out;
}

char *cfgp_readable_file(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s)
{
    const char *v = cfgp_string(p, w, s, true);
    if (!v) return NULL;
    char *path = cfgp_path(p, v);
    struct stat st;
    char name[256];
    /* Whoever parses the file (an operator's -t or clockwerk-tap) may not be who reads the bundle (the
     * children, as supervisor.user): what cannot be looked at from here (EACCES) is left to them. */
    if (stat(path, &st) != 0) {
        if (errno == EACCES) return path;
        cfgp_problem(p, s, "%s: cannot read '%s': %s", cfgp_name(w, s, name, sizeof name), path, strerror(errno));
    } else if (!S_ISREG(st.st_mode))
        cfgp_problem(p, s, "%s: '%s' is not a file", cfgp_name(w, s, name, sizeof name), path);
    else return path;
    return NULL;
}

char *cfgp_file_contents(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, size_t max, size_t *len)
{
    char name[256];
    cfgp_name(w, s, name, sizeof name);
    const char *v = cfgp_string(p, w, s, true);
    if (!v) return NULL;
    char *path = cfgp_path(p, v);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        cfgp_problem(p, s, "%s: cannot read '%s': %s", name, path, strerror(errno));
        if (fd >= 0) close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
        if (S_ISREG(st.st_mode)) cfgp_problem(p, s, "%s: '%s' is longer than %zu bytes", name, path, max);
        else cfgp_problem(p, s, "%s: '%s' is not a file", name, path);
        close(fd);
        return NULL;
    }
    char *data = cw_arena_alloc(p->arena, (size_t)st.st_size + 1);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, data + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            cfgp_problem(p, s, "%s: cannot read '%s': %s", name, path, r < 0 ? strerror(errno) : "it shrank");
            close(fd);
            return NULL;
        }
        got += (size_t)r;
    }
    close(fd);
    data[got] = '\0';
    *len = got;
    return data;
}

int cfgp_key(const char *const *table, const char *name)
{
    if (!name) return -1;
    for (int i = 0; table[i]; i++)
        if (strcmp(table[i], name) == 0) return i;
    return -1;
}
