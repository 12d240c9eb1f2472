/* bench/web_pages_bench.c — the per-request cost of clockwerk-web's pages at scale (issue 18), in process: a
 * model of N endpoints (default 500,000; named, in groups of 100, every 10th down, every 7th failing, each with a
 * full 90-day history) built as the web builds it (web_ids_build), then each route rendered R times and the median
 * time and the size printed against the budget (300 KB, 100 ms a page). No server, no network: what a request
 * costs the web's loop, the part that grows with N.
 *
 *     build/default/bench/web_pages_bench [N] [R]
 */
#include "common/config/config.h"
#include "web/api.h"
#include "web/metrics.h"
#include "web/model.h"
#include "web/pages.h"
#include "web/route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void run(struct web_model *m, struct cw_config *cfg, web_handler fn, const char *path, const char *key,
                const char *value, int reps)
{
    double t[64];
    size_t bytes = 0;
    int status = 0;
    reps = reps > 64 ? 64 : reps;
    for (int r = 0; r < reps; r++) {
        struct web_request rq = { .path = path, .rest = "", .model = m, .cfg = cfg };
        if (key) rq.args[rq.n_args++] = (struct web_arg){ .key = key, .value = value };
        struct web_reply rp = { .status = 200 };
        double t0 = now_ms();
        fn(&rq, &rp);
        if (rp.stream.next) {
            while (rp.stream.next(rp.stream.state, &rp.body) > 0) {
            }
            rp.stream.done(rp.stream.state);
        }
        t[r] = now_ms() - t0;
        bytes = rp.body.len;
        status = rp.status;
        cw_buf_free(&rp.body);
    }
    qsort(t, (size_t)reps, sizeof t[0], cmp_double);
    printf("%-22s %-28s %3d %9.1f KB %8.1f ms (median of %d; max %.1f)\n", path, key ? key : "", status,
           bytes / 1024.0, t[reps / 2], reps, t[reps - 1]);
    (void)value;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 500000;
    int reps = argc > 2 ? atoi(argv[2]) : 9;
    struct cw_config cfg = { .web_title = "bench" };
    struct cw_endpoint *eps = cw_xcalloc(n, sizeof *eps);
    char *names = cw_xmalloc(n * 64);
    for (size_t i = 0; i < n; i++) {
        char *s = names + i * 64;
        snprintf(s, 32, "Service %07zu", i);
        snprintf(s + 32, 32, "Group %05zu", i / 100);
        eps[i].name = s;
        eps[i].group = s + 32;
        size_t len = (size_t)snprintf(NULL, 0, "http://10.0.%zu.%zu/health?e=%zu", i / 65536, i / 256 % 256, i);
        char *url = cw_xmalloc(len + 1);
        snprintf(url, len + 1, "http://10.0.%zu.%zu/health?e=%zu", i / 65536, i / 256 % 256, i);
        eps[i].url = url;
    }
    cfg.endpoints = eps;
    cfg.n_endpoints = n;
    struct web_model m;
    char err[256];
    double t0 = now_ms();
    if (web_ids_build(&m, &cfg, err, sizeof err) != 0) {
        fprintf(stderr, "web_ids_build: %s\n", err);
        return 1;
    }
    double built = now_ms() - t0;
    struct web_history hist = { .read_at_ms = 1795579506123, .day0_ms = 1795579506123 / 86400000 * 86400000 -
                                                                      89 * 86400000LL };
    hist.ep = cw_xcalloc(n, sizeof *hist.ep);
    hist.n = n;
    for (size_t i = 0; i < n; i++) {
        for (int d = 0; d < WEB_DAYS; d++)
            web_bar_pack(hist.ep[i].bar[d], &(struct web_day){ .checks = 1440, .ok = d == 10 ? 1400 : 1440, .p95_us = 123456 });
        for (int w = 0; w < WEB_WINDOWS; w++) hist.ep[i].win[w] = (struct web_window_cell){ .checks = 1000, .ok = 999 };
        m.endpoints[i].hist = &hist.ep[i];
        m.endpoints[i].live.state = i % 10 == 0 ? WEB_STATE_DOWN : i % 7 == 0 ? WEB_STATE_FAILING : WEB_STATE_UP;
    }
    m.history = &hist;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("web pages at %zu endpoints (groups of 100): model built in %.0f ms, sizeof(struct web_endpoint) %zu, "
           "max RSS %.0f MB (with a full history snapshot)\n",
           n, built, sizeof(struct web_endpoint), ru.ru_maxrss / 1024.0);
    char last[32], lastq[32];
    snprintf(last, sizeof last, "%zu", (n + 39) / 40);
    snprintf(lastq, sizeof lastq, "Service 00%zu", n / 100000 > 0 ? n / 100000 - 1 : 0);
    run(&m, &cfg, page_index, "/", NULL, NULL, reps);
    run(&m, &cfg, page_index, "/", "page", last, reps);
    run(&m, &cfg, page_index, "/", "q", "service 0012345", reps);
    run(&m, &cfg, page_index, "/", "q", lastq, reps);
    run(&m, &cfg, page_index, "/", "q", "no such thing", reps);
    run(&m, &cfg, page_index, "/", "state", "down", reps);
    run(&m, &cfg, page_index, "/", "group", "Group 01234", reps);
    run(&m, &cfg, page_groups, "/groups", NULL, NULL, reps);
    run(&m, &cfg, api_endpoints, "/api/v1/endpoints", NULL, NULL, reps);
    run(&m, &cfg, api_endpoints, "/api/v1/endpoints", "q", "service 0012345", reps);
    run(&m, &cfg, web_metrics_page, "/metrics", NULL, NULL, reps < 3 ? reps : 3);
    cfg.web_metrics_per_endpoint = CW_WEB_METRICS_ON;
    run(&m, &cfg, web_metrics_page, "/metrics", "(metrics_per_endpoint on)", NULL, 1);
    return 0;
}
