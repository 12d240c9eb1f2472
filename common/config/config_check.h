/* common/config/config_check.h — checks of single values from the config file: probe and webhook URLs, mail
 * addresses, HTTP header lines, and whether a value carries a credential. Pure functions of a string:
 * they know nothing of libconfig or of where the value came from (the section parsers report). */
#ifndef CW_CONFIG_CHECK_H
#define CW_CONFIG_CHECK_H

#include <stdbool.h>

/* NULL when the value is fine, else a static reason that reads after the value
 * ("'ftp://x' is not an http:// or https:// URL"). */
const char *cw_check_http_url(const char *url);
const char *cw_check_email(const char *addr);
/* A sender: "user@domain" or "Display Name <user@domain>" (the display name printable UTF-8 without <, >, " or a
 * control character). */
const char *cw_check_mail_from(const char *from);
const char *cw_check_header(const char *line);
/* Whether v can be a host name (SMTP or database host): no space, control character, '/' or '@'. */
bool cw_host_name_ok(const char *v);
/* Whether a header line carries a credential (Authorization, Cookie, a name with token/secret/key/auth...). */
bool cw_header_is_secret(const char *line);
/* Whether a URL carries a password in its userinfo (scheme://user:password@host). */
bool cw_url_has_password(const char *url);

#endif
