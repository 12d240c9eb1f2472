/* tests/fuzz/fuzz_webhook.c — libFuzzer harness for the webhook JSON builder (alerter/webhook.c): names,
 * URLs and error texts from the input (fuzz_alerts.h) go into a one-alert body and a two-alert summary.
 * Asserted: the body parses back with json-c into an object whose name, error and message fields are the
 * input texts exactly (JSON escaping is the only change), whose url is the masked URL, and no part of the
 * body shows the URL's password. */
#include <stdint.h>
#include <string.h>

#include <json-c/json.h>

#include "alerter/webhook.h"
#include "common/base/log.h"
#include "common/base/util.h"
#include "tests/fuzz/fuzz_alerts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    log_init("fuzz", LOG_LVL_ERROR + 1);
    return 0;
}

static const char *get_str(json_object *o, const char *key)
{
    json_object *v = NULL;
    FUZZ_ASSERT(json_object_object_get_ex(o, key, &v));
    FUZZ_ASSERT(json_object_is_type(v, json_type_string));
    return json_object_get_string(v);
}

static void check_alert(json_object *o, const struct alert_rec *a)
{
    char masked[CW_URL_MAX + 1];
    cw_mask_url(a->url, masked, sizeof masked);
    FUZZ_ASSERT(!strcmp(get_str(o, "name"), a->name));
    json_object *err = NULL; /* null when there is no error text, the text otherwise */
    FUZZ_ASSERT(json_object_object_get_ex(o, "error", &err));
    if (a->error && a->error[0]) FUZZ_ASSERT(!strcmp(get_str(o, "error"), a->error));
    else FUZZ_ASSERT(err == NULL);
    FUZZ_ASSERT(!strcmp(get_str(o, "message"), a->message));
    FUZZ_ASSERT(!strcmp(get_str(o, "url"), masked));
    FUZZ_ASSERT(strlen(get_str(o, "alert_id")) == 16);
}

static json_object *parse(const struct cw_buf *b)
{
    FUZZ_ASSERT(b->data && b->data[b->len] == '\0' && strlen((const char *)b->data) == b->len);
    json_tokener *tok = json_tokener_new();
    if (!tok) abort();
    json_object *o = json_tokener_parse_ex(tok, (const char *)b->data, (int)b->len);
    FUZZ_ASSERT(o && json_tokener_get_error(tok) == json_tokener_success);
    FUZZ_ASSERT(json_object_is_type(o, json_type_object));
    json_tokener_free(tok);
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_alerts fa;
    fuzz_alerts_make(&fa, data, size);
    struct cw_buf b = { 0 };

    webhook_build(&b, &fa.a[0], 1);
    if (!fa.secret_in_input) FUZZ_ASSERT(!memmem(b.data, b.len, FUZZ_SECRET, strlen(FUZZ_SECRET)));
    json_object *o = parse(&b);
    check_alert(o, fa.a[0]);
    FUZZ_ASSERT(strstr(get_str(o, "text"), fa.a[0]->message));
    json_object_put(o);

    webhook_build(&b, fa.a, 2);
    if (!fa.secret_in_input) FUZZ_ASSERT(!memmem(b.data, b.len, FUZZ_SECRET, strlen(FUZZ_SECRET)));
    o = parse(&b);
    FUZZ_ASSERT(!strcmp(get_str(o, "kind"), "summary"));
    json_object *list = NULL;
    FUZZ_ASSERT(json_object_object_get_ex(o, "alerts", &list) && json_object_is_type(list, json_type_array));
    FUZZ_ASSERT(json_object_array_length(list) == 2);
    for (size_t i = 0; i < 2; i++) check_alert(json_object_array_get_idx(list, i), fa.a[i]);
    json_object_put(o);

    webhook_build_test(&b, fa.a[1]->at_us);
    json_object_put(parse(&b));
    cw_buf_free(&b);
    fuzz_alerts_free(&fa);
    return 0;
}
