/* bench/web_history_bench.c — clockwerk-web's history read at scale (issue 18), in process: the snapshot of N
 * endpoints read from a SQLite file as the web's reader thread reads it (web_history_read), then one endpoint's
 * detail, with the wall and CPU time of each and the heap the snapshot holds (bytes per endpoint). The file is
 * one bench/report_bench.py's generator filled (bench/web_bench.py's shape: URL PREFIX<i>, 90 days, 20 raw rows,
 * incidents); `bench/web_history_bench.py` makes one and runs this.
 *
 *     build/default/bench/web_history_bench DB N [URL_PREFIX] [READS]
 */
#include "common/base/util.h"
#include "common/config/config.h"
#include "storer/reader.h"
#include "web/history_read.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>

static double mono_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

static size_t heap_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd; /* the small blocks and the mmapped ones (a large array) */
}

static long max_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s DB N [URL_PREFIX] [READS]\n", argv[0]);
        return 2;
    }
    size_t n = strtoul(argv[2], NULL, 10);
    const char *prefix = argc > 3 ? argv[3] : "http://127.0.0.1:9/?e=";
    int reads = argc > 4 ? atoi(argv[4]) : 2;
    struct cw_endpoint *eps = cw_xcalloc(n ? n : 1, sizeof *eps);
    for (size_t i = 0; i < n; i++) {
        size_t len = (size_t)snprintf(NULL, 0, "%s%zu", prefix, i);
        eps[i].url = cw_xmalloc(len + 1);
        snprintf(eps[i].url, len + 1, "%s%zu", prefix, i);
    }
    struct cw_config cfg = { .db_driver = CW_DB_SQLITE, .db_name = argv[1], .endpoints = eps, .n_endpoints = n };
    const struct store_read_backend *b = store_read_backend_for(CW_DB_SQLITE);
    struct web_history_ids ids = { 0 };
    struct web_history *prev = NULL;
    for (int k = 0; k < reads; k++) {
        char err[512] = "";
        int rc;
        size_t heap0 = heap_bytes();
        double w0 = mono_s(), c0 = cpu_s();
        struct store_reader *r = b->open(&cfg, &rc, err, sizeof err);
        struct web_history *h = r ? web_history_read(b, r, &cfg, (int64_t)time(NULL) * 1000, &ids, NULL, &rc, err,
                                                     sizeof err)
                                  : NULL;
        double wall = mono_s() - w0, cpu = cpu_s() - c0;
        if (!h) {
            fprintf(stderr, "read: %s\n", err);
            b->close(r);
            return 1;
        }
        size_t held = heap_bytes() - heap0;
        printf("snapshot %d: %zu endpoints read in %.2f s wall, %.2f s CPU; it holds %.1f MB (%.0f B/endpoint, "
               "the ids' table included)\n",
               k + 1, h->n, wall, cpu, held / 1048576.0, n ? (double)held / (double)n : 0.0);
        w0 = mono_s();
        c0 = cpu_s();
        const struct web_history_id *one = ids.n ? &ids.v[ids.n / 2] : NULL;
        struct web_detail *d = web_detail_read(b, r, one ? one->db_id : -1, one ? &eps[one->cfg_index] : NULL,
                                               (int64_t)time(NULL) * 1000);
        printf("detail of one endpoint: %.1f ms wall, %.1f ms CPU%s%s\n", (mono_s() - w0) * 1e3,
               (cpu_s() - c0) * 1e3, d->error ? ": " : "", d->error ? d->error : "");
        web_detail_free(d);
        b->close(r);
        web_history_free(prev); /* as the loop: the previous one freed once the new one is in */
        prev = h;
    }
    printf("max RSS %.0f MB (%.0f B/endpoint, the configuration's URLs included)\n", max_rss_kb() / 1024.0,
           n ? max_rss_kb() * 1024.0 / (double)n : 0.0);
    web_history_free(prev);
    web_history_ids_free(&ids);
    for (size_t i = 0; i < n; i++) free(eps[i].url);
    free(eps);
    return 0;
}
