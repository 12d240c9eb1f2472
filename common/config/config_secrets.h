/* common/config/config_secrets.h — credentials in the config file: where a password comes from (the file, a
 * *_password_file, or the environment), and the refusal of a credential in a file others may read.
 * Used by the email, database, endpoint and webhook parsers; no message names a password. */
#ifndef CW_CONFIG_SECRETS_H
#define CW_CONFIG_SECRETS_H

#include "common/config/config_reader.h"

/* Reports a problem at s when others may read the file s comes from, which holds a secret; key names it. */
void cfgp_check_private(struct cfg_parser *p, const config_setting_t *s, const char *key);

/* Settles the password of group ("email", "database") into *out (in the arena): from the setting inline_at
 * (checked with cfgp_check_private), from the file named by file_at, or else from the environment variable
 * env. Both settings set is a problem; none and no env leaves *out alone. */
void cfgp_password(struct cfg_parser *p, const char *group, const config_setting_t *inline_at,
                   const config_setting_t *file_at, const char *env, char **out);

/* Reads a secret from the file at path (a *_password_file, token_file, client_key_password_file): one line, one
 * trailing newline stripped, at most 4096 bytes, into the arena. NULL after reporting at s (key names it). */
char *cfgp_secret_file(struct cfg_parser *p, const config_setting_t *s, const char *key, const char *path);

#endif
