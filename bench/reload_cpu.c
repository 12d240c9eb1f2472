/* bench/reload_cpu.c — the CPU of a SIGHUP's parts at N endpoints, one process, no children (issue 18): the
 * supervisor's parse and validation, its snapshot step (encode and compare with the running generation; written when
 * it changed) and diffs, for the file unchanged and then for NEXT; then a child's decode of the snapshot, the web's
 * model and the alerter's table for NEXT's snapshot (what their reload in place does). By hand, not in `make bench`:
 *   python3 bench/reload_gen.py 500000 /tmp/rl/c500k.base.conf base 28787   (and ... url for NEXT)
 *   build/default/bench/reload_cpu /tmp/rl/c500k.base.conf /tmp/rl/c500k.url.conf
 * The snapshots go to a temporary run_dir (CW_RELOAD_CPU_DIR, else /tmp); the files' own run_dir is not used. */
#include "alerter/endpoints.h"
#include "common/base/log.h"
#include "common/config/config.h"
#include "supervisor/apply.h"
#include "supervisor/reload.h"
#include "supervisor/snapshot.h"
#include "web/history_wait.h"
#include "web/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static double cpu_s(void)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return (double)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) + (double)(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

static double mark;
static double step(const char *what)
{
    double now = cpu_s(), d = now - mark;
    printf("  %-38s %6.3f s CPU\n", what, d);
    mark = now;
    return d;
}

static struct cw_config *load(const char *path, const char *dir)
{
    struct cw_config *c = apply_load(path);
    if (!c) exit(1);
    c->run_dir = (char *)dir; /* borrowed: config_free frees the arena, not this */
    return c;
}

/* One SIGHUP of the supervisor from cur to the file at path; *gen the next generation. Returns next's snapshot path
 * in np (or cur's when nothing changed). */
static void sighup(const struct cw_config *cur, const struct reload_print *cur_print, const char *cur_snap,
                   const char *path, const char *dir, unsigned gen, char *np, size_t nplen)
{
    struct privs none = { 0 };
    mark = cpu_s();
    double sum = 0;
    struct cw_config *next = load(path, dir);
    sum += step("supervisor: parse and validate");
    bool same = false;
    if (snapshot_write_if_changed(next, &none, gen, cur_snap, np, nplen, &same) != 0) exit(1);
    sum += step(same ? "supervisor: encode, compare (no write)" : "supervisor: encode, compare, write");
    if (!same) { /* as apply_next: next's fingerprints, compared with the running generation's kept ones */
        struct reload_print p;
        reload_print_make(&p, next);
        sum += step("supervisor: next's fingerprints");
        bool changed[2];
        reload_print_shards(cur_print, &p, 2, changed);
        struct reload_readers d;
        reload_print_readers(cur, cur_print, next, &p, &d);
        size_t added, removed;
        reload_print_count(cur_print, &p, &added, &removed);
        sum += step("supervisor: shard and reader diffs");
        char err[256];
        struct cw_config *kept = config_settings_copy(next, err, sizeof err); /* apply_settle */
        config_free(next);
        next = kept;
        reload_print_free(&p);
        sum += step("supervisor: keep settings, free endpoints");
    } else {
        snprintf(np, nplen, "%s", cur_snap);
    }
    printf("  %-38s %6.3f s CPU\n", "= supervisor", sum);
    config_free(next);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: reload_cpu CURRENT.conf NEXT.conf\n");
        return 2;
    }
    log_init("reload_cpu", LOG_LVL_ERROR);
    const char *tmp = getenv("CW_RELOAD_CPU_DIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/cw-reload-cpu-XXXXXX", tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) return 1;
    struct privs none = { 0 };
    struct cw_config *cur = load(argv[1], dir);
    char cur_snap[4200], next_snap[4200], unused[4200];
    if (snapshot_write(cur, &none, 1, cur_snap, sizeof cur_snap) != 0) return 1;
    /* what the supervisor keeps of the running generation (apply_settle): its settings and fingerprints */
    struct reload_print cur_print;
    reload_print_make(&cur_print, cur);
    char kerr[256];
    struct cw_config *cur_kept = config_settings_copy(cur, kerr, sizeof kerr);
    if (!cur_kept) return 1;
    cur_kept->run_dir = dir;
    printf("%zu endpoints; a SIGHUP with the file unchanged:\n", cur->n_endpoints);
    sighup(cur_kept, &cur_print, cur_snap, argv[1], dir, 2, unused, sizeof unused);
    printf("a SIGHUP to %s:\n", argv[2]);
    sighup(cur_kept, &cur_print, cur_snap, argv[2], dir, 3, next_snap, sizeof next_snap);

    printf("a child's reload in place to it:\n");
    char err[512];
    struct cw_config *a = config_snapshot_read(cur_snap, 0, 0, err, sizeof err);
    mark = cpu_s();
    struct cw_config *b = config_snapshot_read(next_snap, 0, 0, err, sizeof err);
    if (!a || !b) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    step("decode the snapshot (each child)");
    struct web_model m;
    if (web_ids_build(&m, a, err, sizeof err) != 0) return 1;
    mark = cpu_s();
    size_t n_urls = 0;
    int rc = web_ids_update(&m, b, &n_urls, err, sizeof err);
    if (rc > 0) {
        struct web_model next;
        if (web_ids_build(&next, b, err, sizeof err) != 0) return 1;
        web_ids_carry(&next, &m);
        web_ids_free(&m);
        m = next;
    }
    if (rc > 0 || n_urls) web_history_attach(&m);
    step(rc == 0 ? "web: model updated in place" : "web: model built again");
    struct endpoints t;
    endpoints_init(&t, NULL);
    endpoints_build(&t, a);
    mark = cpu_s();
    endpoints_build(&t, b);
    step("alerter: endpoint table");
    web_ids_free(&m);
    snapshot_remove_all(dir);
    rmdir(dir);
    return 0;
}
