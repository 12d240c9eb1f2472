/* tests/fuzz/fuzz_config.c — libFuzzer harness for the libconfig loader (common/config/config*.c): the input is a
 * config file. It must load or be refused with reported problems, never crash or leak; a config that loads
 * must survive the snapshot round trip (write, read whole, read as 3 shards) with every endpoint kept.
 * Inputs that name device or proc files, or climb out of the scratch directory, are skipped: the loader refuses
 * a device or a FIFO without opening it for good (common/config/config_text.c), but what /proc or a file outside
 * the scratch directory holds changes from run to run, and a fuzzer's finding must reproduce. */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "common/config/config.h"
#include "common/base/log.h"
#include "common/base/util.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

struct reports {
    unsigned n;
};

static void on_problem(void *ctx, const char *message)
{
    struct reports *r = ctx;
    FUZZ_ASSERT(message && message[0]);
    FUZZ_ASSERT(!strchr(message, '\n'));
    r->n++;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    log_init("fuzz", LOG_LVL_ERROR + 1); /* quiet: only a fatal() would speak */
    unsetenv("CLOCKWERK_DB_PASSWORD");
    unsetenv("CLOCKWERK_SMTP_PASSWORD");
    static const char pw[] = "db-secret\n"; /* the password file tests/unit/configs/full.conf names */
    fuzz_write_file("db.pw", (const uint8_t *)pw, sizeof pw - 1);
    return 0;
}

static bool has(const uint8_t *data, size_t size, const char *needle)
{
    return memmem(data, size, needle, strlen(needle)) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const skip[] = { "/dev", "dev/", "/proc", "proc/", "/sys", "sys/", "..", "fd/" };
    for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
        if (has(data, size, skip[i])) return -1; /* not added to the corpus */
    const char *path = fuzz_write_file("fuzz.conf", data, size);
    struct reports rep = { 0 };
    struct cw_config *cfg = config_load(path, on_problem, &rep);
    if (!cfg) {
        FUZZ_ASSERT(rep.n > 0); /* refused: at least one problem was reported */
        return 0;
    }
    FUZZ_ASSERT(rep.n == 0);
    FUZZ_ASSERT(cfg->path && cfg->dir && cfg->run_dir);
    for (size_t i = 0; i < cfg->n_endpoints; i++) {
        const struct cw_endpoint *ep = &cfg->endpoints[i];
        /* the scheme is case-insensitive (RFC 3986): "HTTP://" is accepted; the other types' keys are synthesized
         * with their type's scheme (docs/config.md "Check types") */
        static const char *const schemes[] = { NULL, "tcp://", "tls://", "dns:", "icmp://", "push://" };
        FUZZ_ASSERT(ep->url && ep->type <= CW_CHECK_TYPE_MAX);
        if (ep->type == CW_CHECK_HTTP)
            FUZZ_ASSERT(!strncasecmp(ep->url, "http://", 7) || !strncasecmp(ep->url, "https://", 8));
        else FUZZ_ASSERT(!strncmp(ep->url, schemes[ep->type], strlen(schemes[ep->type])) && ep->name);
        FUZZ_ASSERT(ep->timeout > 0 && ep->timeout <= ep->interval);
    }

    /* snapshot round trip */
    char err[512];
    const char *snap = fuzz_scratch_path("snapshot");
    FUZZ_ASSERT(config_snapshot_write(cfg, snap, err, sizeof err) == 0);
    struct cw_config *all = config_snapshot_read(snap, 0, 0, err, sizeof err);
    if (!all) fprintf(stderr, "snapshot of a valid config refused: %s\n", err);
    FUZZ_ASSERT(all);
    FUZZ_ASSERT(all->n_endpoints == cfg->n_endpoints);
    for (size_t i = 0; i < cfg->n_endpoints; i++) {
        FUZZ_ASSERT(strcmp(all->endpoints[i].url, cfg->endpoints[i].url) == 0);
        FUZZ_ASSERT(all->endpoints[i].spec->method == cfg->endpoints[i].spec->method);
        FUZZ_ASSERT(cw_check_spec_equal(all->endpoints[i].spec, cfg->endpoints[i].spec));
        FUZZ_ASSERT(!cfg->endpoints[i].name == !all->endpoints[i].name);
        FUZZ_ASSERT(!cfg->endpoints[i].name || strcmp(all->endpoints[i].name, cfg->endpoints[i].name) == 0);
    }
    FUZZ_ASSERT(!cfg->smtp_password == !all->smtp_password);
    size_t total = 0;
    for (unsigned slot = 0; slot < 3; slot++) {
        struct cw_config *shard = config_snapshot_read(snap, slot, 3, err, sizeof err);
        FUZZ_ASSERT(shard);
        FUZZ_ASSERT(!shard->smtp_password && !shard->db_password); /* workers get no passwords */
        for (size_t i = 0; i < shard->n_endpoints; i++) FUZZ_ASSERT(cw_shard_of(shard->endpoints[i].url, 3) == slot);
        total += shard->n_endpoints;
        config_free(shard);
    }
    FUZZ_ASSERT(total == cfg->n_endpoints);
    config_free(all);
    config_free(cfg);
    return 0;
}
