/* web/route.c — the route table of clockwerk-web and its lookup (see web/route.h). Later parts add their lines
 * here: the table is the one list of what the web serves. */
#include "web/route.h"

#include "web/api.h"
#include "web/api_silences.h"
#include "web/page_common.h"
#include "web/badge.h"
#include "web/metrics.h"
#include "web/pages.h"
#include "web/push.h"

#include <string.h>

static const struct web_route routes[] = {
    { "/", false, page_index, NULL },
    { "/groups", false, page_groups, NULL },
    { "/healthz", false, page_healthz, NULL },
    { "/favicon.ico", false, page_favicon, NULL },
    { "/style.css", false, page_style, NULL },
    { "/endpoint/", true, page_endpoint, page_endpoint_needs_detail },
    { "/api/v1/endpoints", false, api_endpoints, NULL },
    { "/api/v1/endpoints/", true, api_endpoint, api_endpoint_needs_detail }, /* {id} and {id}/history: see web/api.h */
    { "/api/v1/incidents", false, api_incidents, NULL },
    { "/api/v1/locations", false, api_locations, NULL },
    { "/api/v1/silences", false, api_silences, NULL }, /* GET, HEAD, POST (web/api_silences.h) */
    { "/api/v1/silences/", true, api_silence, NULL },  /* GET, HEAD, DELETE {id} */
    { "/metrics", false, web_metrics_page, NULL },
    { "/badge/", true, web_badge_page, NULL },
    { "/push/", true, web_push_page, NULL }, /* /push/TOKEN; /push with Authorization: Bearer (POST too) */
    { "/push", false, web_push_page, NULL },
};

enum web_route_result web_route_find(const char *method, const char *path, const struct web_route **route,
                                     const char **rest)
{
    *route = NULL;
    *rest = "";
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const struct web_route *r = &routes[i];
        size_t n = strlen(r->path);
        if (r->prefix ? (strncmp(path, r->path, n) == 0 && path[n] != '\0') : strcmp(path, r->path) == 0) {
            *route = r;
            *rest = r->prefix ? path + n : "";
            break;
        }
    }
    if (!*route) return WEB_ROUTE_NOT_FOUND;
    if ((*route)->fn == web_push_page) /* a job's call: GET or POST; a HEAD is no call */
        return strcmp(method, "GET") == 0 || strcmp(method, "POST") == 0 ? WEB_ROUTE_FOUND : WEB_ROUTE_BAD_METHOD;
    if (((*route)->fn == api_silence && strcmp(method, "DELETE") == 0) ||
        ((*route)->fn == api_silences && strcmp(method, "POST") == 0))
        return WEB_ROUTE_FOUND;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) return WEB_ROUTE_BAD_METHOD;
    return WEB_ROUTE_FOUND;
}

const char *web_route_allow(const struct web_route *route)
{
    if (route && route->fn == api_silences) return "GET, HEAD, POST";
    if (route && route->fn == api_silence) return "GET, HEAD, DELETE";
    return route && route->fn == web_push_page ? "GET, POST" : WEB_ALLOWED_METHODS;
}

bool web_route_needs_auth(const char *path)
{
    return strcmp(path, "/api") == 0 || strncmp(path, "/api/", 5) == 0 || strcmp(path, "/metrics") == 0 ||
           strncmp(path, "/metrics/", 9) == 0;
}

const char *web_request_arg(const struct web_request *rq, const char *key)
{
    for (size_t i = 0; i < rq->n_args; i++)
        if (strcmp(rq->args[i].key, key) == 0) return rq->args[i].value;
    return NULL;
}
