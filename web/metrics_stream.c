/* web/metrics_stream.c — a streamed body (struct web_stream, web/route.h) as a libmicrohttpd response: chunked
 * transfer, parts asked for as libmicrohttpd has room to send them (see web/metrics.h). */
#include "web/metrics.h"

#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#define STREAM_BLOCK (64 * 1024) /* libmicrohttpd's buffer for the parts */

struct stream_state {
    struct web_stream s;
    struct cw_buf part; /* the part being sent */
    size_t sent;        /* bytes of `part` handed out */
    bool last;          /* `part` is the last one */
};

static ssize_t read_stream(void *cls, uint64_t pos, char *out, size_t max)
{
    struct stream_state *st = cls;
    (void)pos;
    while (st->sent == st->part.len) {
        if (st->last) return MHD_CONTENT_READER_END_OF_STREAM;
        cw_buf_reset(&st->part);
        st->sent = 0;
        int rc = st->s.next(st->s.state, &st->part);
        if (rc < 0) return MHD_CONTENT_READER_END_WITH_ERROR;
        if (rc == 0) st->last = true;
    }
    size_t n = st->part.len - st->sent;
    if (n > max) n = max;
    memcpy(out, st->part.data + st->sent, n);
    st->sent += n;
    return (ssize_t)n;
}

static void free_stream(void *cls)
{
    struct stream_state *st = cls;
    if (st->s.done) st->s.done(st->s.state);
    cw_buf_free(&st->part);
    free(st);
}

struct MHD_Response *web_stream_response(struct web_stream *stream)
{
    struct stream_state *st = cw_xcalloc(1, sizeof *st);
    st->s = *stream;
    *stream = (struct web_stream){ 0 };
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, read_stream, st, free_stream);
    if (!r) free_stream(st);
    return r;
}
