/* web/api_silences.h — the web's silence API (docs/api.md "Silences"): the alerter's silences listed, added and
 * removed through its control socket RUN_DIR/alerter.ctl (common/wire/ctlclient.h, docs/protocol.md section 9).
 *
 *   GET    /api/v1/silences        {"silences": [Silence, ...]}
 *   POST   /api/v1/silences        endpoint=NAME-or-URL | group=G | all=true, duration_s=N, reason=TEXT (a form
 *                                  body or the query) -> 201 {"silence": Silence}
 *   GET    /api/v1/silences/{id}   {"silence": Silence}
 *   DELETE /api/v1/silences/{id}   -> 200 {"silence": Silence} (the one removed)
 *
 * Writes only with web.auth_user set (403 otherwise: a silence mutes alerts, so whoever adds one must be known);
 * the alerter records the web's user (by its uid) acting for the authenticated user as the author.
 * DESIGN: the exchange with the alerter is synchronous on the web's loop, bounded by API_SILENCES_TIMEOUT_MS: the
 * alerter answers from its own loop within a pass (milliseconds), and the socket is local. Errors: 400 refused
 * (the alerter's message), 403 writes not enabled, 404 an unknown id, 503 no alerter or no answer in time. */
#ifndef CW_WEB_API_SILENCES_H
#define CW_WEB_API_SILENCES_H

#include "web/route.h"

#define API_SILENCES_TIMEOUT_MS 2000

void api_silences(const struct web_request *rq, struct web_reply *rp); /* GET, POST */
void api_silence(const struct web_request *rq, struct web_reply *rp);  /* GET, DELETE {id} */

#endif
