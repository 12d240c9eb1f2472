/* storer/spool.c — the storer's overflow file of wire payloads (spool.h). */
#include "storer/spool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/log.h"
#include "common/wire/protocol.h"
#include "common/wire/spoolfile.h"
#include "common/base/util.h"
#include "storer/batch.h"

struct store_spool {
    struct spoolfile file;     /* records without meta (common/wire/spoolfile.h) */
    uint64_t read_off;         /* first unconsumed record */
    uint64_t next_off;         /* end of what the last store_spool_read returned */
    struct cw_buf buf;         /* one payload */
    struct cw_result *results; /* CW_RESULT_BATCH_MAX, for decoding */
};

struct store_spool *store_spool_open(const char *path, char *err, size_t errlen)
{
    struct store_spool *sp = cw_xcalloc(1, sizeof *sp);
    spoolfile_init(&sp->file, path, 0, STORE_SPOOL_RECORD_MAX);
    sp->results = cw_xcalloc(CW_RESULT_BATCH_MAX, sizeof *sp->results);
    if (spoolfile_open(&sp->file, NULL, err, errlen) != 0) {
        store_spool_close(sp);
        return NULL;
    }
    return sp;
}

void store_spool_close(struct store_spool *sp)
{
    if (!sp) return;
    spoolfile_free(&sp->file);
    cw_buf_free(&sp->buf);
    free(sp->results);
    free(sp);
}

int store_spool_append(struct store_spool *sp, const void *payload, size_t len, char *err, size_t errlen)
{
    if (sp->file.fd < 0) sp->read_off = sp->next_off = 0; /* a new file */
    if (spoolfile_append(&sp->file, NULL, payload, len) == 0) return 0;
    if (errno == EINVAL) snprintf(err, errlen, "spool %s: record of %zu bytes refused", sp->file.path, len);
    else
        snprintf(err, errlen, "cannot %s spool %s: %s", sp->file.fd < 0 ? "create" : "write", sp->file.path,
                 strerror(errno));
    return -1;
}

int store_spool_sync(struct store_spool *sp, char *err, size_t errlen)
{
    if (spoolfile_sync(&sp->file) == 0) return 0;
    snprintf(err, errlen, "cannot sync spool %s: %s", sp->file.path, strerror(errno));
    return -1;
}

bool store_spool_pending(const struct store_spool *sp) { return sp->file.fd >= 0 && sp->read_off < sp->file.end; }

uint64_t store_spool_bytes(const struct store_spool *sp) { return sp->file.fd >= 0 ? sp->file.end - sp->read_off : 0; }

/* Adds the rows of one payload to b; counts it in *malformed when it does not decode. */
static void add_payload(struct store_spool *sp, struct store_batch *b, uint64_t *malformed)
{
    const uint8_t *p = sp->buf.data;
    size_t len = sp->buf.len;
    const char *why = NULL;
    if (len >= 2 && p[1] == CW_MSG_RESULT) {
        int n = proto_results_decode(p, len, sp->results, CW_RESULT_BATCH_MAX, &why);
        if (n < 0) (*malformed)++;
        for (int i = 0; i < n; i++) store_batch_add_check(b, &sp->results[i]);
    } else if (len >= 2 && p[1] == CW_MSG_ALERT) {
        struct cw_alert a;
        if (proto_alert_decode(p, len, &a, &why) == 0) store_batch_add_alert(b, &a);
        else (*malformed)++;
    } else {
        (*malformed)++;
    }
}

int store_spool_read(struct store_spool *sp, struct store_batch *b, size_t max_rows, uint64_t *malformed, char *err,
                     size_t errlen)
{
    uint64_t pos = sp->read_off;
    while (sp->file.fd >= 0 && pos < sp->file.end && store_batch_rows(b) < max_rows) {
        struct spoolfile_record rec;
        if (spoolfile_read(&sp->file, pos, &rec, &sp->buf) != 0) {
            if (errno != EBADMSG) {
                snprintf(err, errlen, "cannot read spool %s: %s", sp->file.path, strerror(errno));
                return -1;
            }
            /* a damaged length: nothing after it can be framed. Skip to the end; what was before is replayed. */
            log_warn("spool %s: damaged record at byte %llu, skipping the last %llu bytes", sp->file.path,
                     (unsigned long long)pos, (unsigned long long)(sp->file.end - pos));
            (*malformed)++;
            pos = sp->file.end;
            break;
        }
        pos = rec.next;
        add_payload(sp, b, malformed);
    }
    sp->next_off = pos;
    return 0;
}

void store_spool_consume(struct store_spool *sp)
{
    if (sp->next_off > sp->read_off) sp->read_off = sp->next_off;
    if (sp->file.fd >= 0 && sp->read_off >= sp->file.end) {
        spoolfile_remove(&sp->file);
        sp->read_off = sp->next_off = 0;
    }
}
