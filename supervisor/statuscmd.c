/* supervisor/statuscmd.c — `clockwerk status`: hands over to `clockwerk-alerter --status` (see statuscmd.h); on a
 * probe host, which runs no alerter, says whose host it is and what configuration it checks with. */
#include "supervisor/statuscmd.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/clock.h"
#include "common/base/util.h"
#include "common/config/config.h"
#include "common/wire/jsonnew.h"
#include "supervisor/probe.h"
#include "supervisor/self.h"

static void quiet(void *ctx, const char *message)
{
    (void)ctx;
    (void)message;
}

/* --json: {"probe_host": {"location", "central_address", "config": null | {"hash", "received_at", "endpoints",
 * "workers"}}}. */
static void probe_status_json(const struct cw_config *cfg, const struct probe_central *c, const struct cw_config *run)
{
    json_object *probe = cw_jnew(json_object_new_object()), *top = cw_jnew(json_object_new_object());
    json_object_object_add(probe, "location", cw_jnew(json_object_new_string(cfg->location)));
    json_object_object_add(probe, "central_address", cw_jnew(json_object_new_string(cfg->central_address)));
    json_object *conf = NULL;
    if (run) {
        char hash[17], when[40];
        snprintf(hash, sizeof hash, "%016llx", (unsigned long long)c->hash);
        conf = cw_jnew(json_object_new_object());
        json_object_object_add(conf, "hash", cw_jnew(json_object_new_string(hash)));
        json_object_object_add(
            conf, "received_at",
            cw_jnew(json_object_new_string(cw_format_iso8601(c->received_at_us, when, sizeof when))));
        json_object_object_add(conf, "endpoints", cw_jnew(json_object_new_int64((int64_t)run->n_endpoints)));
        json_object_object_add(conf, "workers", cw_jnew(json_object_new_int(run->workers)));
    }
    json_object_object_add(probe, "config", conf);
    json_object_object_add(top, "probe_host", probe);
    printf("%s\n", json_object_to_json_string_ext(top, JSON_C_TO_STRING_PLAIN));
    json_object_put(top);
}

/* A probe host's status: the endpoints' state is the central's; here, the configuration it checks with. Returns
 * 1 ("cannot tell" here: docs/status.md). */
static int probe_status(const struct cw_config *cfg, bool json)
{
    struct probe_central c;
    char err[600], when[40];
    int rc = probe_cache_load(cfg->run_dir, &c, err, sizeof err);
    struct cw_config *run = rc > 0 ? probe_effective(&c, cfg, err, sizeof err) : NULL;
    if (rc < 0 || (rc > 0 && !run)) fprintf(stderr, "clockwerk status: %s\n", err);
    if (json) {
        probe_status_json(cfg, &c, run);
    } else {
        printf("probe host %s of %s: the endpoints' state is on the central host (clockwerk status there)\n",
               cfg->location, cfg->central_address);
        if (run)
            printf("checking with the configuration received from the central host at %s (hash %016llx): %zu "
                   "endpoint%s, %d worker%s\n",
                   cw_format_iso8601(c.received_at_us, when, sizeof when), (unsigned long long)c.hash, run->n_endpoints,
                   cw_plural((long long)run->n_endpoints), run->workers, cw_plural(run->workers));
        else if (rc == 0) printf("no configuration received from the central host yet\n");
    }
    config_free(run);
    if (rc > 0) probe_central_free(&c);
    return 1;
}

int statuscmd_run(int argc, char **argv)
{
    bool json = false;
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--json") == 0) json = true;
    for (int i = 2; i + 1 < argc; i++) {
        if (strcmp(argv[i], "-c") != 0 && strcmp(argv[i], "--config") != 0) continue;
        struct cw_config *cfg = config_load(argv[i + 1], quiet, NULL); /* invalid: the alerter says why */
        if (cfg && config_is_probe_host(cfg)) {
            int rc = probe_status(cfg, json);
            config_free(cfg);
            return rc;
        }
        config_free(cfg);
        break;
    }
    char **args = cw_xcalloc((size_t)argc + 2, sizeof *args);
    args[0] = "clockwerk: status";
    args[1] = "--status";
    for (int i = 2; i < argc; i++) args[i] = argv[i];
    self_exec_sibling("clockwerk status", "clockwerk-alerter", args);
    free(args);
    return 1; /* not "all up": alerter/statusfmt.h's STATUS_EXIT_CANNOT_TELL */
}
