/* web/metrics.h — Prometheus `/metrics` of clockwerk-web (docs/web.md, "Metrics"): the text exposition format
 * 0.0.4 rendered from the live model (web/model.h), streamed in parts; the table that maps every process's
 * `stats` counters to metric names (web/metrics_stats.c); the libmicrohttpd side of a streamed body
 * (web/metrics_stream.c). */
#ifndef CW_WEB_METRICS_H
#define CW_WEB_METRICS_H

#include <stdint.h>

#include "common/base/util.h"
#include "common/wire/protocol.h"
#include "web/model.h"
#include "web/route.h"

#define WEB_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define WEB_STATS_STALE_NS (30LL * 1000000000LL) /* a process silent this long is left out of /metrics */

/* ---- web/metrics.c */
/* The handler of /metrics: a streamed reply. */
void web_metrics_page(const struct web_request *rq, struct web_reply *rp);
/* The whole exposition into out at once (tests, measurements). */
void web_metrics_render(const struct web_request *rq, struct cw_buf *out);
/* s as a label value of the exposition format: backslash, double quote and newline escaped; invalid UTF-8 and
 * other control characters as U+FFFD. NULL writes nothing. */
void web_metrics_label_value(struct cw_buf *b, const char *s);
/* A metric family's `# HELP` and `# TYPE` lines. */
void web_metrics_header(struct cw_buf *b, const char *name, const char *type, const char *help);
/* Decimal writers (no printf: /metrics writes ~10^6 numbers). */
void web_metrics_u64(struct cw_buf *b, uint64_t v);
void web_metrics_i64(struct cw_buf *b, int64_t v);
/* Microseconds as seconds, exactly ("1.250000", "-0.000001"). */
void web_metrics_us_as_seconds(struct cw_buf *b, int64_t us);

/* ---- web/metrics_stats.c */
/* Keeps the items of a process's `stats` message that the table knows (the others are counted). */
void web_stats_apply(struct web_procs *p, const struct cw_stats *s, int64_t now_mono_ns);
/* The metric index of a stats item of role, or -1 when the table does not know it. */
int web_stats_lookup(const char *role, const char *name);
/* Every process's counters, one metric family after another (processes silent for WEB_STATS_STALE_NS left out). */
void web_metrics_procs(struct cw_buf *b, const struct web_procs *p, int64_t now_mono_ns);

/* ---- web/metrics_locations.c */
/* The locations' gauges from the alerter's last CW_MSG_LOCATIONS (none when it is older than WEB_STATS_STALE_NS). */
void web_metrics_locations(struct cw_buf *b, const struct web_model *m, int64_t now_mono_ns);

/* ---- web/metrics_groups.c (issue 18): the aggregates by group, always exported */
struct web_metrics_groups;
/* Every group's sums, from one pass over the model. */
struct web_metrics_groups *web_metrics_groups_new(const struct web_model *m);
void web_metrics_groups_free(struct web_metrics_groups *a);
/* Renders into out until out->len reaches end: 1 when there is more, 0 when the aggregates are done. */
int web_metrics_groups_next(struct web_metrics_groups *a, const struct web_model *m, struct cw_buf *out, size_t end);

/* ---- web/metrics_stream.c */
struct MHD_Response;
/* A chunked libmicrohttpd response reading from stream (which it takes: stream->done is called when the response
 * is freed, or at once when it cannot be made). NULL when libmicrohttpd cannot make one. */
struct MHD_Response *web_stream_response(struct web_stream *stream);

#endif
