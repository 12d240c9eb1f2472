/* common/proc/bus_config.c — the process's bus with the CURVE keys of its configuration (see bus_config.h). */
#include "common/proc/bus_config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "common/bus/bus_keys.h"

struct bus *bus_new_for(const struct cw_config *cfg, char *err, size_t errlen)
{
    struct bus *bus = bus_new(err, errlen);
    if (!bus || !cfg->curve_key_file) return bus;
    const char *addresses[] = { cfg->store_address, cfg->alert_address,  cfg->publish_address,
                                cfg->tap_address,   cfg->config_address, cfg->central_address };
    bool any_tcp = false;
    for (size_t i = 0; i < sizeof addresses / sizeof addresses[0]; i++)
        if (addresses[i] && strncmp(addresses[i], "tcp://", 6) == 0) any_tcp = true;
    if (!any_tcp) return bus; /* CURVE applies to tcp:// only: no key to read (the tap of an ipc:// bus) */
    struct bus_curve_keys k;
    memset(&k, 0, sizeof k);
    if (bus_key_file_read(cfg->curve_key_file, k.public_z85, k.secret_z85, err, errlen) != 0) goto fail;
    const char *server = cfg->curve_server_key ? cfg->curve_server_key : k.public_z85;
    memcpy(k.server_z85, server, BUS_KEY_Z85_LEN + 1);
    k.n_allowed = cfg->n_curve_allowed_keys + 1;
    k.n_producers = cfg->n_locations; /* issue 16: each location's key, admitted only where data comes in */
    k.allowed = calloc(k.n_allowed, sizeof *k.allowed);
    k.producers = calloc(k.n_producers ? k.n_producers : 1, sizeof *k.producers);
    if (!k.allowed || !k.producers) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    zmq_z85_decode(k.allowed[0], k.public_z85);
    for (size_t i = 0; i < cfg->n_curve_allowed_keys; i++)
        if (!zmq_z85_decode(k.allowed[i + 1], cfg->curve_allowed_keys[i])) {
            snprintf(err, errlen, "bus.curve_allowed_keys[%zu] is not a Z85 key", i);
            goto fail;
        }
    for (size_t i = 0; i < cfg->n_locations; i++)
        if (!cfg->locations[i].key || !zmq_z85_decode(k.producers[i], cfg->locations[i].key)) {
            snprintf(err, errlen, "locations[%zu].key is not a Z85 key", i);
            goto fail;
        }
    int rc = bus_set_curve(bus, &k, err, errlen);
    free(k.allowed);
    free(k.producers);
    explicit_bzero(&k, sizeof k);
    if (rc == 0) return bus;
    bus_free(bus);
    return NULL;
fail:
    free(k.allowed);
    free(k.producers);
    explicit_bzero(&k, sizeof k);
    bus_free(bus);
    return NULL;
}
