/* common/config/config_check.c — checks of single values from the config file: probe and webhook URLs,
 * mail addresses, HTTP header lines, credentials in URLs and headers (see config_check.h). */
#include "common/config/config_check.h"
#include "common/base/util.h"
#include "common/wire/protocol.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *cw_check_http_url(const char *url)
{
    size_t len = strlen(url);
    if (len > CW_URL_MAX) return "is longer than 4096 bytes";
    for (const unsigned char *c = (const unsigned char *)url; *c; c++)
        if (*c <= ' ' || *c == 0x7f) return "contains a space or a control character";
    const char *rest;
    if (strncasecmp(url, "http://", 7) == 0) rest = url + 7;
    else if (strncasecmp(url, "https://", 8) == 0) rest = url + 8;
    else return "is not an http:// or https:// URL";
    size_t auth_len = strcspn(rest, "/?#");
    const char *auth = rest, *end = rest + auth_len;
    for (const char *c = rest; c < end; c++)
        if (*c == '@') auth = c + 1; /* userinfo ends at the last '@' */
    const char *port = NULL;
    if (auth < end && *auth == '[') {
        const char *close = memchr(auth, ']', (size_t)(end - auth));
        if (!close || close == auth + 1) return "has a malformed IPv6 host";
        if (close + 1 < end) {
            if (close[1] != ':') return "has a malformed IPv6 host";
            port = close + 2;
        }
    } else {
        const char *colon = memchr(auth, ':', (size_t)(end - auth));
        if ((colon ? colon : end) == auth) return "has no host";
        if (colon) port = colon + 1;
    }
    if (port) {
        if (port == end) return "has an empty port";
        long v = 0;
        for (const char *c = port; c < end; c++) {
            if (*c < '0' || *c > '9') return "has a port that is not a number";
            v = v * 10 + (*c - '0');
            if (v > 65535) break;
        }
        if (v < 1 || v > 65535) return "has a port outside 1..65535";
    }
    return NULL;
}

const char *cw_check_email(const char *addr)
{
    size_t len = strlen(addr);
    if (len == 0) return "is empty";
    if (len > 254) return "is longer than 254 bytes";
    const char *at = strrchr(addr, '@');
    if (!at || at == addr || at[1] == '\0') return "does not look like a mail address (user@domain)";
    for (const unsigned char *c = (const unsigned char *)addr; *c; c++) {
        if (*c <= ' ' || *c == 0x7f) return "contains a space or a control character";
        if (strchr("<>()[],;:\\\"", *c)) return "does not look like a mail address (user@domain)";
        if (*c == '@' && (const char *)c != at) return "has more than one '@'";
    }
    for (const char *d = at + 1; *d; d++)
        if (!((*d >= 'a' && *d <= 'z') || (*d >= 'A' && *d <= 'Z') || (*d >= '0' && *d <= '9') || *d == '-' ||
              *d == '.'))
            return "has a domain that is not a host name";
    if (at[1] == '.' || addr[len - 1] == '.') return "has a domain that is not a host name";
    return NULL;
}

const char *cw_check_mail_from(const char *from)
{
    const char *lt = strchr(from, '<');
    if (!lt) return cw_check_email(from);
    size_t len = strlen(from), name_len = (size_t)(lt - from);
    if (from[len - 1] != '>' || strchr(lt + 1, '<') || strchr(lt + 1, '>') != from + len - 1)
        return "does not look like a sender (user@domain or Display Name <user@domain>)";
    char addr[256];
    size_t alen = len - name_len - 2;
    if (alen >= sizeof addr) return "is longer than 254 bytes";
    memcpy(addr, lt + 1, alen);
    addr[alen] = '\0';
    const char *why = cw_check_email(addr);
    if (why) return why;
    while (name_len > 0 && from[name_len - 1] == ' ') name_len--;
    if (name_len == 0) return "has an empty display name before '<'";
    for (size_t i = 0; i < name_len;) {
        const unsigned char *c = (const unsigned char *)from + i;
        if (*c < 0x20 || *c == 0x7f) return "has a control character in its display name";
        if (*c == '"' || *c == '>') return "has a '\"' or '>' in its display name";
        size_t n = cw_utf8_seq_len(c);
        if (n == 0) return "has a display name that is not valid UTF-8";
        i += n;
    }
    return NULL;
}

bool cw_host_name_ok(const char *v)
{
    for (const unsigned char *c = (const unsigned char *)v; *c; c++)
        if (*c <= ' ' || *c == 0x7f || *c == '/' || *c == '@') return false;
    return true;
}

bool cw_header_is_secret(const char *line)
{
    static const char *const exact[] = { "authorization", "proxy-authorization", "cookie", NULL };
    /* words of a header name (split at '-' and '_') that mark a credential: X-Api-Key, X-Functions-Key,
     * Ocp-Apim-Subscription-Key, X-Session-Id, X-Signature, X-CSRF-Token, ... (a false alarm only makes the
     * config file private and keeps the header on its origin) */
    static const char *const words[] = { "auth",        "authorization", "authentication", "token", "secret",
                                         "password",    "passwd",        "apikey",         "key",   "credential",
                                         "credentials", "session",       "sessionid",      "sid",   "signature",
                                         "jwt",         "bearer",        "csrf",           "xsrf",  NULL };
    char name[128];
    size_t n = strcspn(line, ":");
    if (n >= sizeof name) n = sizeof name - 1;
    for (size_t i = 0; i < n; i++) name[i] = (char)tolower((unsigned char)line[i]);
    name[n] = '\0';
    for (int i = 0; exact[i]; i++)
        if (strcmp(name, exact[i]) == 0) return true;
    for (char *save = NULL, *w = strtok_r(name, "-_", &save); w; w = strtok_r(NULL, "-_", &save))
        for (int i = 0; words[i]; i++)
            if (strcmp(w, words[i]) == 0) return true;
    return false;
}

bool cw_url_has_password(const char *url)
{
    const char *sep = strstr(url, "://");
    if (!sep) return false;
    const char *auth = sep + 3;
    size_t len = strcspn(auth, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < len; i++)
        if (auth[i] == '@') at = auth + i;
    return at && memchr(auth, ':', (size_t)(at - auth)) != NULL;
}

const char *cw_check_header(const char *line)
{
    if (strpbrk(line, "\r\n")) return "contains CR or LF";
    const char *colon = strchr(line, ':');
    if (!colon) return "has no ':' between name and value";
    if (colon == line) return "has an empty name";
    for (const unsigned char *c = (const unsigned char *)line; c < (const unsigned char *)colon; c++)
        if (*c <= ' ' || *c >= 0x7f || strchr("()<>@,;\\\"/[]?={}", *c)) return "has a name that is not a token";
    for (const unsigned char *c = (const unsigned char *)colon; *c; c++)
        if ((*c < ' ' && *c != '\t') || *c == 0x7f) return "contains a control character";
    return NULL;
}
