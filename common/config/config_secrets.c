/* common/config/config_secrets.c — passwords and other credentials in the config (see config_secrets.h):
 * settling a password from the file, a *_password_file (read here, one trailing newline stripped) or the
 * environment, and refusing a credential written in a file that others may read. No message written here
 * ever contains a password: problems name the key only. */
#include "common/config/config_secrets.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_PASSWORD 4096

/* Reads a password file (or another secret's: a push token, a key's passphrase) into the arena. Returns NULL after
 * reporting at s. Opened without blocking: a FIFO is refused, never waited on. */
static char *read_password_file(struct cfg_parser *p, const config_setting_t *s, const char *key, const char *path)
{
    const char *what = strstr(key, "password") ? "password" : "secret";
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        cfgp_problem(p, s, "%s: cannot open '%s': %s", key, path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode)) cfgp_problem(p, s, "%s: cannot read '%s': %s", key, path, strerror(EISDIR));
        else cfgp_problem(p, s, "%s: '%s' is not a regular file", key, path);
        close(fd);
        return NULL;
    }
    /* A warning, not a refusal: container secrets are mounted 0444/0644 on purpose (the mount and its
     * directory guard them), and the file's own mode does not tell whether others can reach it. */
    if (st.st_mode & S_IROTH)
        cfgp_warning(p, s,
                     "%s: others may read the %s file '%s' (unless its directory keeps them out); "
                     "consider `chmod o-r %s`",
                     key, what, path, path);
    char buf[MAX_PASSWORD + 2];
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, buf + len, sizeof buf - 1 - len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            cfgp_problem(p, s, "%s: cannot read '%s': %s", key, path, strerror(errno));
            close(fd);
            explicit_bzero(buf, sizeof buf);
            return NULL;
        }
        if (r == 0) break;
        len += (size_t)r;
        if (len >= sizeof buf - 1) break;
    }
    close(fd);
    if (len > MAX_PASSWORD) {
        cfgp_problem(p, s, "%s: '%s' is longer than %d bytes", key, path, MAX_PASSWORD);
        explicit_bzero(buf, sizeof buf);
        return NULL;
    }
    if (len > 0 && buf[len - 1] == '\n') len--;
    if (len > 0 && buf[len - 1] == '\r') len--;
    if (len == 0 || memchr(buf, '\0', len) || memchr(buf, '\n', len)) {
        cfgp_problem(p, s, "%s: '%s' must hold the %s on one line", key, path, what);
        explicit_bzero(buf, sizeof buf);
        return NULL;
    }
    char *pw = cw_arena_strndup(p->arena, buf, len);
    explicit_bzero(buf, sizeof buf);
    return pw;
}

char *cfgp_secret_file(struct cfg_parser *p, const config_setting_t *s, const char *key, const char *path)
{
    return read_password_file(p, s, key, path);
}

void cfgp_check_private(struct cfg_parser *p, const config_setting_t *s, const char *key)
{
    struct stat st;
    const char *file;
    unsigned line;
    cfgp_locate(p, s, &file, &line);
    if (stat(file, &st) != 0 || !(st.st_mode & S_IROTH)) return;
    size_t n = s->name ? strlen(s->name) : 0;
    if (n >= 8 && strcmp(s->name + n - 8, "password") == 0)
        cfgp_problem(p, s,
                     "%s: the file holds a password but others may read it; run `chmod o-r %s` or move the "
                     "password to %s_file or the environment",
                     key, file, s->name);
    else if (strncmp(key, "alerts.channels[", 16) == 0 && s->name && strcmp(s->name, "headers") == 0)
        cfgp_problem(p, s,
                     "%s: the file holds a channel's headers (their values may be secrets) but others may read it; "
                     "run `chmod o-r %s`",
                     key, file);
    else if (strncmp(key, "alerts.channels[", 16) == 0 && s->name && strcmp(s->name, "url") == 0)
        cfgp_problem(p, s,
                     "%s: the file holds a channel's secret URL (a chat service's webhook URL, or one with a "
                     "password) but others may read it; run `chmod o-r %s` or move the URL to url_file",
                     key, file);
    else if (strncmp(key, "alerts.channels[", 16) == 0 && s->name)
        cfgp_problem(p, s,
                     "%s: the file holds a channel's secret but others may read it; run `chmod o-r %s` or move it to "
                     "%s_file or the environment (CLOCKWERK_CHANNEL_<NAME>_TOKEN)",
                     key, file, s->name);
    else if (s->name && strcmp(s->name, "token") == 0)
        cfgp_problem(p, s,
                     "%s: the file holds a push token but others may read it; run `chmod o-r %s` or move the token "
                     "to token_file",
                     key, file);
    else
        cfgp_problem(p, s,
                     "%s: the file holds a credential (a password in a URL, an Authorization-style header, a push "
                     "token) but others may read it; run `chmod o-r %s`",
                     key, file);
}

void cfgp_password(struct cfg_parser *p, const char *group, const config_setting_t *inline_at,
                   const config_setting_t *file_at, const char *env, char **out)
{
    char key[64];
    if (inline_at && file_at) {
        snprintf(key, sizeof key, "%s.%s", group, file_at->name);
        cfgp_problem(p, file_at, "%s: both %s and %s are set; keep one", key, inline_at->name, file_at->name);
        return;
    }
    if (p->bus_only) return; /* the tap needs no password: it reads none */
    if (inline_at) {
        snprintf(key, sizeof key, "%s.%s", group, inline_at->name);
        cfgp_check_private(p, inline_at, key);
        *out = cw_arena_strdup(p->arena, config_setting_get_string(inline_at));
        return;
    }
    if (file_at) {
        snprintf(key, sizeof key, "%s.%s", group, file_at->name);
        *out = read_password_file(p, file_at, key, cfgp_path(p, config_setting_get_string(file_at)));
        return;
    }
    const char *e = getenv(env);
    if (e && e[0]) *out = cw_arena_strdup(p->arena, e);
}
