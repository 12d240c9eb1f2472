/* tests/fuzz/fuzz_snapshot.c — libFuzzer harness for the snapshot reader (common/config/snapshot.c): the input is a
 * snapshot file (as the supervisor writes into run_dir). Read whole and as shard 1 of 2, it must be read or
 * refused with a one-line reason, never crash or leak; what is read must be written and read back equal. */
#include <stdint.h>
#include <string.h>

#include "common/config/config.h"
#include "common/base/log.h"
#include "common/base/util.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    log_init("fuzz", LOG_LVL_ERROR + 1);
    return 0;
}

static void check_shard(const char *path)
{
    char err[512] = "";
    struct cw_config *c = config_snapshot_read(path, 1, 2, err, sizeof err);
    if (!c) {
        FUZZ_ASSERT(err[0] && !strchr(err, '\n'));
        return;
    }
    FUZZ_ASSERT(!c->smtp_password && !c->db_password);
    for (size_t i = 0; i < c->n_endpoints; i++) FUZZ_ASSERT(cw_shard_of(c->endpoints[i].url, 2) == 1);
    config_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_file("in.snap", data, size);
    char err[512] = "";
    struct cw_config *c = config_snapshot_read(path, 0, 0, err, sizeof err);
    check_shard(path);
    if (!c) {
        FUZZ_ASSERT(err[0] && !strchr(err, '\n'));
        return 0;
    }
    for (size_t i = 0; i < c->n_endpoints; i++) FUZZ_ASSERT(c->endpoints[i].url);
    /* what was accepted is written and read back the same */
    const char *again = fuzz_scratch_path("again.snap");
    FUZZ_ASSERT(config_snapshot_write(c, again, err, sizeof err) == 0);
    struct cw_config *d = config_snapshot_read(again, 0, 0, err, sizeof err);
    FUZZ_ASSERT(d);
    FUZZ_ASSERT(d->n_endpoints == c->n_endpoints);
    for (size_t i = 0; i < c->n_endpoints; i++) FUZZ_ASSERT(strcmp(d->endpoints[i].url, c->endpoints[i].url) == 0);
    FUZZ_ASSERT(!c->smtp_password == !d->smtp_password);
    FUZZ_ASSERT(!c->smtp_password || strcmp(c->smtp_password, d->smtp_password) == 0);
    config_free(d);
    config_free(c);
    return 0;
}
