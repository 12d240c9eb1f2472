/* bench/statefile_bench.c — what the alerter's state journal costs to load (issue 18, alerter/statefile_replay.c):
 * statefile_load of a base of N endpoint records (every endpoint down, the largest base there is) alone, then with
 * a journal of L lines of K changed endpoints each (random URLs of the base, a few new ones), each in a fresh child
 * process (its CPU and peak RSS its own).
 *
 *   statefile_bench [--endpoints N] [--lines L] [--changed K] [--runs R]
 * Defaults: 500000 endpoints, 20 lines of 10000. Writes the files in a temporary directory under /tmp (removed at
 * the end) and prints one line a load: `load=base|journal run=I cpu_s=C wall_s=W maxrss_mb=M eps=E lines=A`, then
 * the sizes of both files. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alerter/statefile.h"

static void url_of(char *buf, size_t len, long i) { snprintf(buf, len, "https://host-%07ld.example.com/health", i); }

/* One endpoint record as the alerter writes it for an endpoint down (mark: its fail_run). */
static void put_ep(FILE *f, long i, long mark)
{
    char url[96];
    url_of(url, sizeof url, i);
    fprintf(f,
            "{\"url\":\"%s\",\"avail\":2,\"speed\":0,\"fail_run\":%ld,\"ok_run\":0,\"slow_run\":0,\"fast_run\":0,"
            "\"failed_count\":%ld,\"reminders\":0,\"fail_since\":1764547200000000,\"ok_since\":0,\"slow_since\":0,"
            "\"fast_since\":0,\"state_since\":1764547260000000,\"speed_since\":0,\"last_notify\":1764547260000000,"
            "\"tls_notified\":0,\"last_status\":0,\"last_latency\":10000123,\"last_error\":\"connection refused\","
            "\"last_checked\":1764550000000000,\"incident\":{\"id\":\"%016lx\",\"open\":true,"
            "\"since\":1764547200000000,\"opened_at\":1764547260000000,\"steps\":0,\"resends\":0,\"notified\":2,"
            "\"acked_by\":null,\"acked_at\":0,\"children\":[],\"flap_history\":\"0000000000000007\","
            "\"flap_checks\":3,\"flapping\":false}}",
            url, mark, mark, (unsigned long)i * 2654435761u + 1);
}

static void write_base(const char *path, long n)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    fputs("{\"version\":1,\"saved_at\":\"2026-12-01T00:00:00.000Z\",\"journal_from\":1,\"endpoints\":[", f);
    for (long i = 0; i < n; i++) {
        if (i) fputc(',', f);
        put_ep(f, i, 3);
    }
    fputs("],\"alerts\":[],\"jobs\":[]}\n", f);
    if (fclose(f) != 0) exit(1);
}

/* L lines of K units: distinct random URLs of the base, one in a hundred a new one. */
static void write_journal(const char *path, long n, long lines, long changed)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    long *units = malloc((size_t)changed * sizeof *units), *taken = calloc((size_t)n, sizeof *taken);
    if (!units || !taken) exit(1);
    uint64_t x = 88172645463325252ull; /* xorshift64 */
    for (long s = 1; s <= lines; s++) {
        for (long k = 0; k < changed; k++) {
            if (k % 100 == 99) {
                units[k] = n + (s - 1) * changed + k;
                continue;
            }
            do x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            while (taken[x % (uint64_t)n] == s); /* once a line */
            units[k] = (long)(x % (uint64_t)n);
            taken[units[k]] = s;
        }
        fprintf(f, "{\"journal\":1,\"seq\":%ld,\"saved_at\":\"2026-12-01T00:%02ld:%02ld.000Z\",\"changed\":[", s,
                s / 60 % 60, s % 60);
        char url[96];
        for (long k = 0; k < changed; k++) {
            url_of(url, sizeof url, units[k]);
            fprintf(f, "%s\"%s\"", k ? "," : "", url);
        }
        fputs("],\"endpoints\":[", f);
        for (long k = 0; k < changed; k++) {
            if (k) fputc(',', f);
            put_ep(f, units[k], 100 + s);
        }
        fprintf(f, "],\"workers\":[%ld,%ld]}\n", s, s + 1);
    }
    free(units);
    free(taken);
    if (fclose(f) != 0) exit(1);
}

static double ts_s(struct timespec t) { return (double)t.tv_sec + (double)t.tv_nsec / 1e9; }

/* statefile_load in a child: its figures on one line. */
static void measure(const char *path, const char *what, int run)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) exit(1);
    if (pid == 0) {
        struct timespec c0, c1, w0, w1;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
        clock_gettime(CLOCK_MONOTONIC, &w0);
        struct statefile_data d;
        char err[512];
        int rc = statefile_load(path, &d, err, sizeof err);
        /* glibc coalesces the small blocks the load freed (its JSON trees) at the next request of 1 KiB or more:
         * a cost of the load, paid here rather than by whoever allocates next */
        free(malloc(4096));
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
        clock_gettime(CLOCK_MONOTONIC, &w1);
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        if (rc != 1) {
            fprintf(stderr, "statefile_load: %d %s\n", rc, err);
            _exit(1);
        }
        printf("load=%s run=%d cpu_s=%.3f wall_s=%.3f maxrss_mb=%.0f eps=%zu lines=%zu next_seq=%lld\n", what, run,
               ts_s(c1) - ts_s(c0), ts_s(w1) - ts_s(w0), ru.ru_maxrss / 1024.0, d.n_eps, d.journal_lines,
               (long long)d.next_seq);
        fflush(stdout);
        _exit(0);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) exit(1);
}

int main(int argc, char **argv)
{
    long n = 500000, lines = 20, changed = 10000;
    int runs = 3;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--endpoints")) n = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--lines")) lines = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--changed")) changed = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--runs")) runs = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "usage: statefile_bench [--endpoints N] [--lines L] [--changed K] [--runs R]\n");
            return 2;
        }
    }
    if (n < 1 || lines < 0 || changed < 0 || 2 * changed > n || runs < 1) {
        fprintf(stderr, "statefile_bench: need 2 x changed <= endpoints\n");
        return 2;
    }
    char dir[] = "/tmp/cw-statefile-bench-XXXXXX", base[96], journal[128];
    if (!mkdtemp(dir)) return 1;
    snprintf(base, sizeof base, "%s/%s", dir, STATEFILE_NAME);
    snprintf(journal, sizeof journal, "%s%s", base, STATEJOURNAL_SUFFIX);
    write_base(base, n);
    write_journal(journal, n, lines, changed);
    struct stat sb, sj;
    if (stat(base, &sb) || stat(journal, &sj)) return 1;
    printf("endpoints=%ld lines=%ld changed=%ld base_mb=%.1f journal_mb=%.1f\n", n, lines, changed,
           sb.st_size / 1048576.0, sj.st_size / 1048576.0);
    char aside[140];
    snprintf(aside, sizeof aside, "%s.aside", journal);
    for (int r = 1; r <= runs; r++) { /* alternated, back to back */
        if (rename(journal, aside)) return 1;
        measure(base, "base", r);
        if (rename(aside, journal)) return 1;
        measure(base, "journal", r);
    }
    unlink(base);
    unlink(journal);
    rmdir(dir);
    return 0;
}
