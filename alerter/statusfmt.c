/* alerter/statusfmt.c — the pure part of `clockwerk status` (see statusfmt.h). */
#include "alerter/statusfmt.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/base/util.h"

const char *status_state_name(enum status_state s)
{
    switch (s) {
    case STATUS_UP:
        return "up";
    case STATUS_DOWN:
        return "down";
    case STATUS_SLOW:
        return "slow";
    case STATUS_UNKNOWN:
        break;
    }
    return "unknown";
}

enum status_state status_classify(const struct astate *st, bool listed_up, int64_t checked_us, int64_t now_us,
                                  int64_t stale_after_us, bool *stale)
{
    *stale = false;
    enum status_state s = STATUS_UNKNOWN;
    bool too_old = checked_us > 0 && now_us - checked_us > stale_after_us;
    if (st) {
        if (st->avail == ASTATE_DOWN) { /* not up, however old its last check, but said to be old */
            *stale = too_old;
            return STATUS_DOWN;
        }
        if (st->avail == ASTATE_UP) s = st->speed == ASTATE_SLOW ? STATUS_SLOW : STATUS_UP;
    } else if (listed_up) {
        s = STATUS_UP;
    }
    if (s != STATUS_UNKNOWN && too_old) {
        *stale = true;
        s = STATUS_UNKNOWN;
    }
    return s;
}

enum status_saved status_saved_at_check(int64_t saved_us, int64_t now_us)
{
    if (saved_us == 0) return STATUS_SAVED_UNKNOWN;
    if (saved_us - now_us > STATUS_FUTURE_TOLERANCE_US) return STATUS_SAVED_FUTURE;
    if (now_us - saved_us > STATUS_STALE_US) return STATUS_SAVED_STALE;
    return STATUS_SAVED_CURRENT;
}

int64_t status_stale_after_us(double interval_s, double timeout_s)
{
    return (int64_t)((3 * interval_s + timeout_s + 60) * 1e6);
}

char *status_duration(int64_t us, char *buf, size_t len)
{
    int64_t s = us > 0 ? us / 1000000 : 0;
    if (s < 60) snprintf(buf, len, "%" PRId64 "s", s);
    else if (s < 3600) snprintf(buf, len, "%" PRId64 "m %" PRId64 "s", s / 60, s % 60);
    else if (s < 86400) snprintf(buf, len, "%" PRId64 "h %" PRId64 "m", s / 3600, s % 3600 / 60);
    else snprintf(buf, len, "%" PRId64 "d %" PRId64 "h", s / 86400, s % 86400 / 3600);
    return buf;
}

char *status_utc(int64_t wall_us, char *buf, size_t len)
{
    time_t t = (time_t)(wall_us / 1000000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0) snprintf(buf, len, "?");
    return buf;
}

void status_count(struct status_counts *c, enum status_state s)
{
    c->total++;
    if (s == STATUS_UP) c->up++;
    else if (s == STATUS_DOWN) c->down++;
    else if (s == STATUS_SLOW) c->slow++;
    else c->unknown++;
}

char *status_summary(const struct status_counts *c, char *buf, size_t len)
{
    const char *noun = c->total == 1 ? "endpoint" : "endpoints";
    if (c->total == 0) snprintf(buf, len, "no endpoints configured");
    else if (c->up == c->total) snprintf(buf, len, "all %zu %s up", c->total, noun);
    else {
        int n = snprintf(buf, len, "%zu %s: %zu up", c->total, noun, c->up);
        const size_t counts[] = { c->down, c->slow, c->unknown };
        const char *names[] = { "down", "slow", "unknown" };
        for (int i = 0; i < 3 && n >= 0 && (size_t)n < len; i++)
            if (counts[i]) n += snprintf(buf + n, len - (size_t)n, ", %zu %s", counts[i], names[i]);
    }
    return buf;
}

int status_exit_code(const struct status_counts *c, bool cannot_tell)
{
    if (cannot_tell) return STATUS_EXIT_CANNOT_TELL;
    return c->up == c->total ? STATUS_EXIT_ALL_UP : STATUS_EXIT_NOT_ALL_UP;
}

/* The URL's userinfo (between "://" and the last '@' of the authority): *len bytes at the result; NULL: none. */
static const char *userinfo_of(const char *url, size_t *len)
{
    const char *scheme_end = strstr(url, "://");
    const char *auth = scheme_end ? scheme_end + 3 : url;
    size_t span = strcspn(auth, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < span; i++)
        if (auth[i] == '@') at = auth + i;
    if (!at || at == auth) return NULL;
    *len = (size_t)(at - auth);
    return auth;
}

/* Whether a secret of n bytes starts at p (an empty one never does). */
static bool secret_at(const char *p, const char *secret, size_t n) { return n && strncmp(p, secret, n) == 0; }

void status_scrub(const char *text, const char *url, char *out, size_t outlen)
{
    if (outlen == 0) return;
    size_t ui_len = 0, pw_len = 0;
    const char *ui = url ? userinfo_of(url, &ui_len) : NULL, *pw = NULL;
    if (ui) {
        const char *colon = memchr(ui, ':', ui_len);
        if (colon && (size_t)(ui + ui_len - colon - 1) >= 4) {
            pw = colon + 1;
            pw_len = (size_t)(ui + ui_len - pw);
        }
    }
    size_t o = 0;
    for (const char *p = text; *p && o + 1 < outlen;) {
        size_t skip = secret_at(p, ui, ui_len) ? ui_len : secret_at(p, pw, pw_len) ? pw_len : 0;
        if (skip) {
            if (o + 4 > outlen) break;
            memcpy(out + o, "***", 3);
            o += 3;
            p += skip;
            continue;
        }
        out[o++] = iscntrl((unsigned char)*p) ? ' ' : *p;
        p++;
    }
    out[o] = '\0';
}

long status_lock_holder(const char *locks, unsigned major, unsigned minor, unsigned long inode)
{
    for (const char *line = locks; line && *line;) {
        const char *nl = strchr(line, '\n');
        char buf[256];
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        snprintf(buf, sizeof buf, "%.*s", (int)(n < sizeof buf ? n : sizeof buf - 1), line);
        line = nl ? nl + 1 : NULL;
        char type[16], mode[16], access[16];
        long pid = 0;
        unsigned maj = 0, min = 0;
        unsigned long ino = 0;
        const char *colon = strchr(buf, ':');
        if (!colon || strstr(buf, "->")) continue; /* a waiter, not a holder */
        if (sscanf(colon + 1, "%15s %15s %15s %ld %x:%x:%lu", type, mode, access, &pid, &maj, &min, &ino) != 7)
            continue;
        if (strcmp(type, "FLOCK") == 0 && maj == major && min == minor && ino == inode) return pid > 0 ? pid : -1;
    }
    return 0;
}
