/* common/config/config_types.h — pure functions behind the check types and the HTTP assertion keys
 * (docs/config.md "Check types", "HTTP assertions"): the escapes of a tcp `send`, a dns_server's address, a push
 * token's alphabet, the form of a dns answer, the identity key of a check without a URL, DNS type names, status
 * ranges, and the conditions of `json` and `header_conditions` with the translation of a JSON path into an RFC
 * 6901 pointer. They know nothing of libconfig: the section parsers report. */
#ifndef CW_CONFIG_TYPES_H
#define CW_CONFIG_TYPES_H

#include "common/config/config.h"
#include "common/config/config_arena.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decodes \r \n \t \\ \xHH of in into out (at least strlen(in) + 1 bytes; NUL-terminated, *out_len bytes before
 * the NUL, which may hold NULs). Returns -1, or the offset in `in` of the byte after a backslash that starts no
 * escape. */
int cw_decode_escapes(const char *in, char *out, size_t *out_len);
/* "IP", "IP:PORT", "[IPv6]:PORT" or a bare IPv6 address: the address into ip, the port (53 when none) into
 * *port, *v6 set. False when it is none of these. */
bool cw_parse_dns_server(const char *v, char *ip, size_t iplen, int *port, bool *v6);
/* 16 to 256 characters of A-Z a-z 0-9 _ - */
bool cw_push_token_ok(const char *token);
/* "A", "MX", ... for a record type number of the nine the config knows; NULL otherwise. */
const char *cw_dns_type_name(uint16_t number);
/* NULL when answer has the presentation form of a record_type answer (docs/operations.md section 12: A an IPv4
 * address, MX "PREFERENCE NAME", ...; TXT anything); otherwise the form wanted, for a message. */
const char *cw_dns_answer_form_problem(uint16_t type, const char *answer);
/* The identity key of a tcp, tls, dns, icmp or push endpoint (tcp://host:port, ...; docs/config.md "Check
 * types"), in the arena; NULL for http or without a host. */
char *cw_synthesize_key(struct cw_arena *arena, const struct cw_endpoint *ep);

/* "2xx" or "200-299" into *r (lo <= hi, 100..599); false when it is neither. */
bool cw_parse_status_range(const char *v, struct cw_status_range *r);
/* Translates a JSON path of the subset `$`, `.key`, `[N]`, `['odd.key']` / `["odd.key"]` into an RFC 6901
 * pointer ("" for `$`; `~` as ~0, `/` as ~1). Returns NULL, or a static reason (out is then undefined). */
const char *cw_json_path_to_pointer(const char *path, char *out, size_t outlen);
/* Parses a condition of `json` (json true: `PATH OP [VALUE]`) or `header_conditions` (`NAME OP [VALUE]`) into c,
 * its strings in the arena. Returns NULL, or a static reason. A `~` condition's pattern is not compiled here. */
const char *cw_parse_condition(struct cw_arena *arena, const char *text, bool json, struct cw_condition *c);

#endif
