/* common/config/config_http_keys.c — the keys of HTTP checks (docs/config.md "Endpoints", "HTTP assertions"): the
 * request (url, method, body, body_file, headers, proxy, address, client certificate, ...), the assertions on the
 * response (expect_status with ranges, keywords, body_regex compiled with PCRE2 so that `-t` shows a bad pattern's
 * offset, json and header_conditions, max_response_time, http_version, ...), and the checks across them.
 * verify_tls, ca_file and min_cert_days are read here for tls checks too. */
#include "common/config/config_check.h"
#include "common/config/config_ep.h"
#include "common/config/config_secrets.h"
#include "common/config/config_types.h"
#include "common/base/util.h"
#include "common/wire/protocol.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_LIST 64 /* entries of a list key */
#define MAX_HEADER 8192
#define MAX_BODY (1024 * 1024) /* body and body_file: 1 MiB */
#define MAX_PATTERN 4096
#define DEFAULT_BODY_LIMIT (1024 * 1024)
#define MIN_BODY_LIMIT 1024
#define MAX_BODY_LIMIT (64 * 1024 * 1024)

static const char *const method_names[] = { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS" };
static const char *const version_names[] = { NULL, "1.0", "1.1", "2" };

/* url: an http(s) URL; one with a password in it needs a private file. */
static void url_value(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, struct cw_endpoint *ep)
{
    char name[256], masked[CW_URL_MAX + 1];
    const char *v = cfgp_string(p, w, s, true);
    if (!v) return;
    const char *why = cw_check_http_url(v);
    if (why) {
        cw_mask_url(v, masked, sizeof masked);
        cfgp_problem(p, s, "%s: '%.200s' %s", cfgp_name(w, s, name, sizeof name), masked, why);
        return;
    }
    if (cw_url_has_password(v)) cfgp_check_private(p, s, cfgp_name(w, s, name, sizeof name));
    ep->url = cw_arena_strdup(p->arena, v);
}

/* headers: "Name: value" lines; one that carries a credential needs a private file. */
static void headers_value(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, struct cw_endpoint *ep)
{
    char name[256];
    char **h;
    size_t nh;
    if (!cfgp_string_list(p, w, s, &h, &nh)) return;
    bool ok = true;
    for (size_t j = 0; j < nh; j++) {
        const char *hw = strlen(h[j]) > MAX_HEADER ? "is longer than 8192 bytes" : cw_check_header(h[j]);
        if (hw) {
            /* only the header's name: its value may be a secret */
            cfgp_problem(p, s, "%s[%zu]: header line '%.*s...' %s", cfgp_name(w, s, name, sizeof name), j,
                         (int)strcspn(h[j], ":\r\n"), h[j], hw);
            ok = false;
        }
    }
    if (!ok) return;
    CFGP_SPEC(ep)->headers = h;
    CFGP_SPEC(ep)->n_headers = nh;
    for (size_t j = 0; j < nh; j++)
        if (cw_header_is_secret(h[j])) {
            cfgp_check_private(p, s, cfgp_name(w, s, name, sizeof name));
            break;
        }
}

/* One entry of expect_status: a code (100..599) or a range string ("2xx", "200-299"). */
static bool status_entry(struct cfg_parser *p, const config_setting_t *e, const char *name, int *code,
                         struct cw_status_range *range, bool *is_range)
{
    if (e->type == CONFIG_TYPE_STRING) {
        *is_range = true;
        if (cw_parse_status_range(config_setting_get_string(e), range)) return true;
        cfgp_problem(p, e, "%s: '%.32s' is not a status class (\"2xx\") or range (\"200-299\") within 100..599", name,
                     config_setting_get_string(e));
        return false;
    }
    *is_range = false;
    if (e->type != CONFIG_TYPE_INT && e->type != CONFIG_TYPE_INT64) {
        cfgp_problem(p, e,
                     "%s: expected a status code (100..599), a class (\"2xx\"), a range (\"200-299\") or a list "
                     "of them",
                     name);
        return false;
    }
    long long c = config_setting_get_int64(e);
    if (c < 100 || c > 599) {
        cfgp_problem(p, e, "%s: status code %lld is not between 100 and 599", name, c);
        return false;
    }
    *code = (int)c;
    return true;
}

static void status_value(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, struct cw_endpoint *ep)
{
    char name[256];
    cfgp_name(w, s, name, sizeof name);
    bool list = s->type == CONFIG_TYPE_ARRAY || s->type == CONFIG_TYPE_LIST;
    int len = list ? config_setting_length(s) : 1;
    if (len == 0 || len > MAX_LIST) {
        cfgp_problem(p, s, "%s: expected 1 to %d status codes (got %d)", name, MAX_LIST, len);
        return;
    }
    int *codes = cw_arena_alloc(p->arena, (size_t)len * sizeof *codes);
    struct cw_status_range *ranges = cw_arena_alloc(p->arena, (size_t)len * sizeof *ranges);
    size_t nc = 0, nr = 0;
    for (int i = 0; i < len; i++) {
        const config_setting_t *e = list ? config_setting_get_elem(s, (unsigned)i) : s;
        bool is_range;
        if (!status_entry(p, e, name, &codes[nc], &ranges[nr], &is_range)) return;
        if (is_range) nr++;
        else nc++;
    }
    CFGP_SPEC(ep)->expect_status = nc ? codes : NULL;
    CFGP_SPEC(ep)->n_expect_status = nc;
    CFGP_SPEC(ep)->status_ranges = nr ? ranges : NULL;
    CFGP_SPEC(ep)->n_status_ranges = nr;
}

/* body_file: read now (at most 1 MiB, any bytes), so that a changed file is a changed endpoint on reload. */
static void body_file_value(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, struct cw_endpoint *ep)
{
    size_t len = 0;
    char *body = cfgp_file_contents(p, w, s, MAX_BODY, &len);
    if (!body) return;
    CFGP_SPEC(ep)->body = body;
    CFGP_SPEC(ep)->body_len = len;
}

/* A list of PCRE2 patterns, each compiled once to report a bad one with its offset. */
static void regex_list(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, char ***out, uint32_t *n)
{
    char name[256];
    char **v;
    size_t nv;
    if (!cfgp_string_list(p, w, s, &v, &nv)) return;
    bool ok = true;
    for (size_t i = 0; i < nv; i++) {
        int code;
        PCRE2_SIZE offset;
        if (strlen(v[i]) > MAX_PATTERN) {
            cfgp_problem(p, s, "%s[%zu]: longer than %d bytes", cfgp_name(w, s, name, sizeof name), i, MAX_PATTERN);
            ok = false;
            continue;
        }
        pcre2_code *re = pcre2_compile((PCRE2_SPTR)v[i], PCRE2_ZERO_TERMINATED, 0, &code, &offset, NULL);
        if (re) {
            pcre2_code_free(re);
            continue;
        }
        PCRE2_UCHAR why[256];
        if (pcre2_get_error_message(code, why, sizeof why) < 0) snprintf((char *)why, sizeof why, "error %d", code);
        cfgp_problem(p, s, "%s[%zu]: '%.200s' is not a regular expression: %s at offset %zu",
                     cfgp_name(w, s, name, sizeof name), i, v[i], (const char *)why, (size_t)offset);
        ok = false;
    }
    if (!ok) return;
    *out = v;
    *n = (uint32_t)nv; /* a libconfig list's length is an int */
}

/* cfgp_string_list into an endpoint's list (its count is a uint32_t: struct cw_endpoint is kept small). */
static void string_list32(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, char ***out, uint32_t *n)
{
    size_t nv;
    if (cfgp_string_list(p, w, s, out, &nv)) *n = (uint32_t)nv;
}

static void condition_list(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, bool json,
                           struct cw_condition **out, uint32_t *n)
{
    char name[256];
    char **v;
    size_t nv;
    if (!cfgp_string_list(p, w, s, &v, &nv)) return;
    struct cw_condition *c = cw_arena_alloc(p->arena, (nv ? nv : 1) * sizeof *c);
    bool ok = true;
    for (size_t i = 0; i < nv; i++) {
        const char *why = cw_parse_condition(p->arena, v[i], json, &c[i]);
        if (!why && c[i].op == CW_OP_MATCHES) {
            int code;
            PCRE2_SIZE offset;
            pcre2_code *re = pcre2_compile((PCRE2_SPTR)c[i].value, PCRE2_ZERO_TERMINATED, 0, &code, &offset, NULL);
            if (re) pcre2_code_free(re);
            else {
                PCRE2_UCHAR msg[256];
                if (pcre2_get_error_message(code, msg, sizeof msg) < 0) snprintf((char *)msg, sizeof msg, "?");
                cfgp_problem(p, s, "%s[%zu]: '%.200s': the pattern is not a regular expression: %s at offset %zu",
                             cfgp_name(w, s, name, sizeof name), i, v[i], (const char *)msg, (size_t)offset);
                ok = false;
                continue;
            }
        }
        if (why) {
            cfgp_problem(p, s, "%s[%zu]: '%.200s' %s", cfgp_name(w, s, name, sizeof name), i, v[i], why);
            ok = false;
        }
    }
    if (!ok) return;
    *out = c;
    *n = (uint32_t)nv;
}

/* client_cert, client_key: absolute paths of files this user can open now. */
static char *pem_file(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s)
{
    char name[256];
    const char *v = cfgp_string(p, w, s, true);
    if (!v) return NULL;
    cfgp_name(w, s, name, sizeof name);
    if (v[0] != '/') {
        cfgp_problem(p, s, "%s: '%.200s' is not an absolute path", name, v);
        return NULL;
    }
    int fd = open(v, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        cfgp_problem(p, s, "%s: cannot read '%.200s': %s", name, v, fd < 0 ? strerror(errno) : "not a file");
        if (fd >= 0) close(fd);
        return NULL;
    }
    close(fd);
    return cw_arena_strdup(p->arena, v);
}

/* A proxy URL for a message: it has no use for an '@' past its host, so everything up to its last '@' is masked (a
 * '/', '?' or '#' in an unencoded password too). */
static void mask_proxy(const char *v, char *out, size_t len)
{
    const char *scheme_end = strstr(v, "://"), *at = strrchr(v, '@');
    if (scheme_end && at && at > scheme_end) snprintf(out, len, "%.*s***%s", (int)(scheme_end + 3 - v), v, at);
    else cw_mask_url(v, out, len);
}

/* proxy: http://, https:// or socks5:// with a host; a password in it makes it a secret. An '@' past the host is
 * a password with an unencoded '/', '?' or '#' (curl would take its start for the host): refused. */
static void proxy_value(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, struct cw_endpoint *ep)
{
    char name[256], masked[CW_URL_MAX + 1], as_http[CW_URL_MAX + 16];
    const char *v = cfgp_string(p, w, s, true);
    if (!v) return;
    cfgp_name(w, s, name, sizeof name);
    const char *why;
    if (strncasecmp(v, "socks5://", 9) == 0) {
        snprintf(as_http, sizeof as_http, "http://%s", v + 9);
        why = strlen(v) > CW_URL_MAX ? "is longer than 4096 bytes" : cw_check_http_url(as_http);
    } else {
        why = cw_check_http_url(v);
        if (why && strstr(why, "http://")) why = "is not an http://, https:// or socks5:// URL";
    }
    const char *host = strstr(v, "://");
    if (!why && host && strchr(host + 3 + strcspn(host + 3, "/?#"), '@'))
        why = "has an '@' after its host: write a '/', '?' or '#' of the user name or password as %2F, %3F or %23";
    if (why) {
        mask_proxy(v, masked, sizeof masked);
        cfgp_problem(p, s, "%s: '%.200s' %s", name, masked, why);
        return;
    }
    if (cw_url_has_password(v)) cfgp_check_private(p, s, name);
    CFGP_SPEC(ep)->proxy = cw_arena_strdup(p->arena, v);
}

static void address_value(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, struct cw_endpoint *ep)
{
    char name[256];
    unsigned char buf[16];
    const char *v = cfgp_string(p, w, s, true);
    if (!v) return;
    if (inet_pton(AF_INET, v, buf) != 1 && inet_pton(AF_INET6, v, buf) != 1) {
        cfgp_problem(p, s, "%s: '%.64s' is not an IPv4 or IPv6 address", cfgp_name(w, s, name, sizeof name), v);
        return;
    }
    CFGP_SPEC(ep)->address = cw_arena_strdup(p->arena, v);
}

static void body_value(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, struct cw_endpoint *ep)
{
    char name[256];
    const char *v = cfgp_string(p, w, s, false);
    if (!v) return;
    if (strlen(v) > MAX_BODY) {
        cfgp_problem(p, s, "%s: longer than %d bytes", cfgp_name(w, s, name, sizeof name), MAX_BODY);
        return;
    }
    CFGP_SPEC(ep)->body = cw_arena_strdup(p->arena, v);
    CFGP_SPEC(ep)->body_len = strlen(v);
}

bool cfgp_http_key(struct cfg_parser *p, struct ep_parse *e, const config_setting_t *s, int key, struct cw_endpoint *ep)
{
    struct cfg_where w = e->w;
    const char *v;
    int i;
    switch (key) {
    case EPK_URL:
        url_value(p, w, s, ep);
        break;
    case EPK_METHOD:
        if ((i = cfgp_one_of(p, w, s, method_names, 7, "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")) >= 0)
            CFGP_SPEC(ep)->method = (enum cw_method)i;
        break;
    case EPK_BODY:
        body_value(p, w, s, ep);
        break;
    case EPK_BODY_FILE:
        body_file_value(p, w, s, ep);
        break;
    case EPK_EXPECT_STATUS:
        status_value(p, w, s, ep);
        break;
    case EPK_VERIFY_TLS:
        cfgp_bool(p, w, s, &CFGP_SPEC(ep)->verify_tls);
        break;
    case EPK_FOLLOW_REDIRECTS:
        cfgp_bool(p, w, s, &CFGP_SPEC(ep)->follow_redirects);
        break;
    case EPK_KEYWORD:
        if ((v = cfgp_string(p, w, s, true))) CFGP_SPEC(ep)->keyword = cw_arena_strdup(p->arena, v);
        break;
    case EPK_KEYWORDS:
        string_list32(p, w, s, &CFGP_SPEC(ep)->keywords, &CFGP_SPEC(ep)->n_keywords);
        break;
    case EPK_KEYWORDS_ABSENT:
        string_list32(p, w, s, &CFGP_SPEC(ep)->keywords_absent, &CFGP_SPEC(ep)->n_keywords_absent);
        break;
    case EPK_BODY_REGEX:
        regex_list(p, w, s, &CFGP_SPEC(ep)->body_regex, &CFGP_SPEC(ep)->n_body_regex);
        break;
    case EPK_BODY_REGEX_ABSENT:
        regex_list(p, w, s, &CFGP_SPEC(ep)->body_regex_absent, &CFGP_SPEC(ep)->n_body_regex_absent);
        break;
    case EPK_JSON:
        condition_list(p, w, s, true, &CFGP_SPEC(ep)->json_conditions, &CFGP_SPEC(ep)->n_json_conditions);
        break;
    case EPK_HEADER_CONDITIONS:
        condition_list(p, w, s, false, &CFGP_SPEC(ep)->header_conditions, &CFGP_SPEC(ep)->n_header_conditions);
        break;
    case EPK_HEADERS:
        headers_value(p, w, s, ep);
        break;
    case EPK_CA_FILE:
        CFGP_SPEC(ep)->ca_file = cfgp_readable_file(p, w, s);
        break;
    case EPK_MIN_CERT_DAYS:
        cfgp_int(p, w, s, 0, 3650, &CFGP_SPEC(ep)->min_cert_days);
        break;
    case EPK_MAX_RESPONSE_TIME:
        cfgp_seconds(p, w, s, 0, 3600, &CFGP_SPEC(ep)->max_response_time);
        break;
    case EPK_HTTP_VERSION:
        if ((i = cfgp_one_of(p, w, s, version_names, 4, "\"1.0\", \"1.1\", \"2\"")) > 0)
            CFGP_SPEC(ep)->http_version = (enum cw_http_version)i;
        break;
    case EPK_FAIL_IF_NOT_TLS:
        cfgp_bool(p, w, s, &CFGP_SPEC(ep)->fail_if_not_tls);
        break;
    case EPK_COMPRESSED:
        cfgp_bool(p, w, s, &CFGP_SPEC(ep)->compressed);
        break;
    case EPK_BODY_LIMIT:
        if (cfgp_int(p, w, s, MIN_BODY_LIMIT, MAX_BODY_LIMIT, &i)) CFGP_SPEC(ep)->body_limit = (size_t)i;
        break;
    case EPK_CLIENT_CERT:
        CFGP_SPEC(ep)->client_cert = pem_file(p, w, s);
        break;
    case EPK_CLIENT_KEY:
        CFGP_SPEC(ep)->client_key = pem_file(p, w, s);
        break;
    case EPK_CLIENT_KEY_PASSWORD_FILE: {
        char name[256];
        cfgp_name(w, s, name, sizeof name);
        if ((v = cfgp_string(p, w, s, true)) && !p->bus_only)
            CFGP_SPEC(ep)->client_key_password = cfgp_secret_file(p, s, name, cfgp_path(p, v));
        break;
    }
    case EPK_PROXY:
        proxy_value(p, w, s, ep);
        break;
    case EPK_ADDRESS:
        address_value(p, w, s, ep);
        break;
    case EPK_COOKIES:
        cfgp_bool(p, w, s, &CFGP_SPEC(ep)->cookies);
        break;
    default:
        return false;
    }
    return true;
}

/* A key that is refused with the method (at is its setting). */
static void refuse_with(struct cfg_parser *p, struct ep_parse *e, int key, const char *why)
{
    char name[256];
    if (e->at[key]) cfgp_problem(p, e->at[key], "%s: %s", cfgp_name(e->w, e->at[key], name, sizeof name), why);
}

void cfgp_http_finish(struct cfg_parser *p, struct ep_parse *e, struct cw_endpoint *ep)
{
    char name[256];
    if (!e->at[EPK_URL]) cfgp_problem(p, e->g, "monitor.endpoints[%ld]: missing url", e->idx);
    if (!e->at[EPK_BODY_LIMIT]) CFGP_SPEC(ep)->body_limit = DEFAULT_BODY_LIMIT;
    if (e->at[EPK_BODY] && e->at[EPK_BODY_FILE])
        cfgp_problem(p, e->at[EPK_BODY_FILE], "monitor.endpoints[%ld]: both body and body_file are set; keep one",
                     e->idx);
    if (CFGP_SPEC(ep)->method == CW_METHOD_GET || CFGP_SPEC(ep)->method == CW_METHOD_HEAD) {
        const char *why = "a body is not sent with method GET or HEAD (it is with POST, PUT, PATCH, DELETE, OPTIONS)";
        refuse_with(p, e, EPK_BODY, why);
        refuse_with(p, e, EPK_BODY_FILE, why);
    }
    if (CFGP_SPEC(ep)->method == CW_METHOD_HEAD) {
        static const int body_keys[] = { EPK_KEYWORD,    EPK_KEYWORDS,          EPK_KEYWORDS_ABSENT,
                                         EPK_BODY_REGEX, EPK_BODY_REGEX_ABSENT, EPK_JSON };
        for (size_t i = 0; i < sizeof body_keys / sizeof body_keys[0]; i++)
            refuse_with(p, e, body_keys[i], "method HEAD has no body to search");
    }
    const config_setting_t *mrt = e->at[EPK_MAX_RESPONSE_TIME];
    if (mrt && CFGP_SPEC(ep)->max_response_time > ep->timeout)
        cfgp_problem(p, mrt, "%s: %g s is longer than the timeout (%g s): it could never fail",
                     cfgp_name(e->w, mrt, name, sizeof name), CFGP_SPEC(ep)->max_response_time, ep->timeout);
    if (e->at[EPK_MIN_CERT_DAYS] && ep->url && strncasecmp(ep->url, "https://", 8) != 0)
        refuse_with(p, e, EPK_MIN_CERT_DAYS, "only an https:// URL has a certificate");
    if (!CFGP_SPEC(ep)->client_cert) {
        refuse_with(p, e, EPK_CLIENT_KEY, "a client key without client_cert");
        refuse_with(p, e, EPK_CLIENT_KEY_PASSWORD_FILE, "a key password without client_cert");
    }
}
