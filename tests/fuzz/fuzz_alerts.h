/* tests/fuzz/fuzz_alerts.h — turns one fuzz input into alert records for the mail and webhook harnesses.
 *
 * Input layout: byte 0 picks the alert kinds and the status code, the rest is split at NUL bytes into
 * fields: name, URL tail, error text, second name, second URL (used as is), From, To 1, To 2.
 * The first alert's URL is "http://fuzzuser:" FUZZ_SECRET "@" + tail: the password must never show. */
#ifndef CW_FUZZ_ALERTS_H
#define CW_FUZZ_ALERTS_H

#include <stdint.h>
#include <string.h>

#include "alerter/alert.h"
#include "tests/fuzz/fuzz_util.h"

#define FUZZ_SECRET "Pw9xQz7Secret"

struct fuzz_alerts {
    struct fuzz_fields ff;
    struct alert_rec *a[2];
    char *to[2];
    const char *from;
    bool secret_in_input; /* the input itself holds the secret: the masking check is moot */
};

static inline void fuzz_alerts_make(struct fuzz_alerts *fa, const uint8_t *data, size_t size)
{
    uint8_t ctl = size ? data[0] : 0;
    if (size) data++, size--;
    fuzz_fields_split(&fa->ff, data, size, 8);
    const char *const *f = fa->ff.f;
    fa->secret_in_input = memmem(data, size, FUZZ_SECRET, strlen(FUZZ_SECRET)) != NULL;
    size_t tail = strlen(f[1]);
    char *url = malloc(64 + tail);
    if (!url) abort();
    snprintf(url, 64 + tail, "http://fuzzuser:%s@%s", FUZZ_SECRET, f[1]);
    uint8_t kind1 = (uint8_t)(ctl % 7), kind2 = (uint8_t)((ctl >> 3) % 7); /* 0 (unknown kind) included */
    fa->a[0] =
        alert_new(kind1, url, f[0], f[2], 1764043506000000LL, 1764043510000000LL, 93000000, ctl, 1, 1764043511000000LL);
    fa->a[1] = alert_new(kind2, f[4][0] ? f[4] : "http://example.test/", f[3], f[2], -5, INT64_MAX, INT64_MIN,
                         UINT32_MAX, 7, 0);
    fa->a[0]->last_status = (uint16_t)(ctl * 257u);
    fa->a[0]->last_latency_us = 1234567;
    fa->a[0]->threshold_us = 1000000;
    alert_update_message(fa->a[0]);
    free(url);
    fa->from = f[5];
    fa->to[0] = (char *)f[6];
    fa->to[1] = (char *)f[7];
}

static inline void fuzz_alerts_free(struct fuzz_alerts *fa)
{
    alert_free(fa->a[0]);
    alert_free(fa->a[1]);
    fuzz_fields_free(&fa->ff);
}

#endif
