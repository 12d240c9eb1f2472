/* tests/fuzz/fuzz_snapshot.c — libFuzzer harness for the snapshot reader (common/config/snapshot.c): the input is a
 * snapshot file (as the supervisor writes into run_dir). Read whole and as shard 1 of 2, it must be read or
 * refused with a one-line reason, never crash or leak; what is read must be written and read back equal, decode in
 * memory alike, and give each of its locations a probe host's copy (issue 16). */
#include <stdint.h>
#include <string.h>

#include "common/config/config.h"
#include "common/wire/protocol.h"
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
    for (size_t i = 0; i < c->n_endpoints; i++) {
        FUZZ_ASSERT(cw_shard_of(c->endpoints[i].url, 2) == 1);
        FUZZ_ASSERT(config_endpoint_at(&c->endpoints[i], c->location)); /* a worker: its location's only */
    }
    config_free(c);
}

/* Issue 16: the same bytes in memory read alike; each location's copy (what a probe host receives) is made and
 * holds only that location's endpoints, none of them a push check. */
static void check_locations(const uint8_t *data, size_t size, const struct cw_config *c)
{
    char err[512] = "";
    struct cw_config *m = config_snapshot_decode(data, size, err, sizeof err);
    FUZZ_ASSERT(m && m->n_endpoints == c->n_endpoints);
    config_free(m);
    const char *names[CW_LOCATIONS_MAX];
    size_t n = config_location_names(c, names, CW_LOCATIONS_MAX);
    for (size_t i = 0; i < n && i < CW_LOCATIONS_MAX; i++) {
        struct cw_config *l = config_for_location(c, names[i], err, sizeof err);
        FUZZ_ASSERT(l && l->n_endpoints <= c->n_endpoints && !l->db_password && !l->smtp_password && !l->n_channels);
        for (size_t e = 0; e < l->n_endpoints; e++)
            FUZZ_ASSERT(config_endpoint_at(&l->endpoints[e], names[i]) && l->endpoints[e].type != CW_CHECK_PUSH);
        config_free(l);
    }
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
    check_locations(data, size, c);
    /* what was accepted is written and read back the same */
    const char *again = fuzz_scratch_path("again.snap");
    FUZZ_ASSERT(config_snapshot_write(c, again, err, sizeof err) == 0);
    struct cw_config *d = config_snapshot_read(again, 0, 0, err, sizeof err);
    FUZZ_ASSERT(d);
    FUZZ_ASSERT(d->n_endpoints == c->n_endpoints);
    for (size_t i = 0; i < c->n_endpoints; i++) {
        FUZZ_ASSERT(strcmp(d->endpoints[i].url, c->endpoints[i].url) == 0);
        /* every endpoint read has its spec (issue 18: an index the table does not hold is refused) */
        FUZZ_ASSERT(c->endpoints[i].spec && cw_check_spec_equal(d->endpoints[i].spec, c->endpoints[i].spec));
    }
    FUZZ_ASSERT(!c->smtp_password == !d->smtp_password);
    FUZZ_ASSERT(!c->smtp_password || strcmp(c->smtp_password, d->smtp_password) == 0);
    config_free(d);
    config_free(c);
    return 0;
}
