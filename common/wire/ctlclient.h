/* common/wire/ctlclient.h — the client side of the alerter's control socket RUN_DIR/alerter.ctl (docs/protocol.md
 * section 9): one request line out, one answer line back, bounded in time. Used by `clockwerk silence`/`ack`
 * (supervisor/silencecmd.c) and the web's silence API (web/api_silences.c); the server is alerter/control.c. */
#ifndef CW_CTLCLIENT_H
#define CW_CTLCLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/base/util.h"

#define CTLCLIENT_ANSWER_MAX (16u << 20) /* a list of 1000 silences is well under 2 MiB */

enum ctlclient_rc {
    CTLCLIENT_OK = 0,
    CTLCLIENT_NOT_RUNNING = -1, /* nothing listens on the socket (no file, or refused) */
    CTLCLIENT_FAILED = -2,      /* any other failure: permissions, no answer in time, a broken answer */
};

/* Sends request (one JSON line with its "\n") to RUN_DIR/alerter.ctl and reads the answer line (with its "\n")
 * into answer, waiting at most timeout_ms for it. On failure err says why, for a person ("no alerter is
 * listening on RUN_DIR/alerter.ctl: is clockwerk running?"). */
enum ctlclient_rc ctlclient_ask(const char *run_dir, const char *request, struct cw_buf *answer, int timeout_ms,
                                char *err, size_t errlen);

/* The answer as a JSON object (the caller json_object_put()s it), with *ok its "ok" and *error its "error" (NULL
 * when none; valid while the object lives); NULL when the answer is not a JSON object with a boolean "ok". */
struct json_object *ctlclient_answer(const struct cw_buf *answer, bool *ok, const char **error);

/* ctlclient_ask and ctlclient_answer in one: sends req (taken: put here) as one line and returns the parsed answer
 * (the caller puts it) with *ok and *error as ctlclient_answer's; NULL with err set when there is no answer or not
 * one the alerter should give. */
struct json_object *ctlclient_request(const char *run_dir, struct json_object *req, int timeout_ms, bool *ok,
                                      const char **error, char *err, size_t errlen);

#endif
