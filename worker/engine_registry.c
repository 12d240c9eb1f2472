/* worker/engine_registry.c — which check types the engine runs: one line per type (see check.h). */
#include "worker/check.h"

const struct check_ops *const check_registry[CW_CHECK_TYPE_MAX + 1] = {
    [CW_CHECK_HTTP] = NULL, /* libcurl: worker/probe.h */
    [CW_CHECK_TCP] = &check_tcp_ops,
    [CW_CHECK_TLS] = &check_tls_ops,
    [CW_CHECK_DNS] = &check_dns_ops,
    [CW_CHECK_ICMP] = &check_icmp_ops,
    [CW_CHECK_PUSH] = &check_push_ops,
};
