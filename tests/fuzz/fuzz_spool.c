/* tests/fuzz/fuzz_spool.c — libFuzzer harness for the storer's spool replay (storer/spool.c): the input is a
 * spool file left by a previous run (possibly damaged). Opening it, replaying every record into batches and
 * consuming them must terminate, count what does not decode, never crash or leak, and delete the file once
 * everything is consumed. Every replayed batch must encode again into payloads the decoders accept. */
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "common/base/log.h"
#include "common/wire/protocol.h"
#include "storer/batch.h"
#include "storer/spool.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    log_init("fuzz", LOG_LVL_ERROR + 1); /* the spool warns about damaged records */
    return 0;
}

static int check_payload(void *ctx, const void *payload, size_t len)
{
    static struct cw_result out[CW_RESULT_BATCH_MAX]; /* harness scratch */
    const uint8_t *p = payload;
    const char *why = NULL;
    FUZZ_ASSERT(len >= 4);
    if (p[1] == CW_MSG_RESULT) {
        FUZZ_ASSERT(proto_results_decode(payload, len, out, CW_RESULT_BATCH_MAX, &why) >= 1);
    } else {
        struct cw_alert a;
        FUZZ_ASSERT(proto_alert_decode(payload, len, &a, &why) == 0);
    }
    (*(size_t *)ctx)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_file("spool", data, size);
    char err[512] = "";
    struct store_spool *sp = store_spool_open(path, err, sizeof err);
    FUZZ_ASSERT(sp);
    struct store_batch b;
    struct cw_buf scratch = { 0 };
    store_batch_init(&b);
    uint64_t malformed = 0;
    size_t rounds = 0;
    while (store_spool_pending(sp)) {
        FUZZ_ASSERT(++rounds <= size + 1); /* every round moves past at least one record */
        store_batch_clear(&b);
        FUZZ_ASSERT(store_spool_read(sp, &b, 100, &malformed, err, sizeof err) == 0);
        size_t emitted = 0;
        FUZZ_ASSERT(store_batch_encode(&b, &scratch, check_payload, &emitted) == 0);
        FUZZ_ASSERT((emitted == 0) == (store_batch_rows(&b) == 0));
        store_spool_consume(sp);
    }
    FUZZ_ASSERT(store_spool_bytes(sp) == 0);
    struct stat st;
    FUZZ_ASSERT(stat(path, &st) != 0); /* consumed: the file is gone */
    store_spool_close(sp);
    store_batch_free(&b);
    cw_buf_free(&scratch);
    return 0;
}
