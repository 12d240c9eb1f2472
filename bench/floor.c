/* bench/floor.c — the reference the benchmark measures Clockwerk against: the smallest libcurl multi loop
 * that does what a prober must (K transfers in flight, a fresh connection per check, status and total
 * time read back), with nothing else. Its CPU per check is the floor no C prober can go far below.
 *
 *   floor URL [--inflight K] [--checks N] [--seconds S]
 * Prints one line: `floor checks=N seconds=S cpu_user=U cpu_sys=S checks_per_s=R cpu_us_per_check=C errors=E`.
 * Bounded in count and time: it stops after N checks or S seconds, whichever first. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p, (void)ud;
    return size * n;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double tv_s(struct timeval tv) { return (double)tv.tv_sec + (double)tv.tv_usec / 1e6; }

static void start_one(CURLM *multi, CURL *easy, const char *url)
{
    curl_easy_reset(easy);
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
    curl_multi_add_handle(multi, easy);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: floor URL [--inflight K] [--checks N] [--seconds S]\n");
        return 2;
    }
    const char *url = argv[1];
    long inflight = 32, checks = 100000;
    double seconds = 10;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--inflight") == 0) inflight = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--checks") == 0) checks = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--seconds") == 0) seconds = atof(argv[i + 1]);
        else {
            fprintf(stderr, "floor: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (inflight < 1 || checks < 1 || seconds <= 0) {
        fprintf(stderr, "floor: bad numbers\n");
        return 2;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return 1;
    CURLM *multi = curl_multi_init();
    CURL **easy = calloc((size_t)inflight, sizeof *easy);
    if (!multi || !easy) return 1;
    long started = 0, done = 0, errors = 0;
    double t0 = now_s(), deadline = t0 + seconds;
    for (long i = 0; i < inflight && started < checks; i++, started++) {
        easy[i] = curl_easy_init();
        if (!easy[i]) return 1;
        start_one(multi, easy[i], url);
    }
    int running = 1;
    while (done < started) {
        curl_multi_perform(multi, &running);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(multi, &left))) {
            if (m->msg != CURLMSG_DONE) continue;
            CURL *e = m->easy_handle;
            long code = 0;
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
            curl_off_t total = 0;
            curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &total);
            if (m->data.result != CURLE_OK || code != 200) errors++;
            done++;
            curl_multi_remove_handle(multi, e);
            if (started < checks && now_s() < deadline) {
                start_one(multi, e, url);
                started++;
            }
        }
        if (done < started) curl_multi_poll(multi, NULL, 0, 100, NULL);
    }
    double elapsed = now_s() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double user = tv_s(ru.ru_utime), sys = tv_s(ru.ru_stime);
    printf(
        "floor checks=%ld seconds=%.3f cpu_user=%.3f cpu_sys=%.3f checks_per_s=%.0f cpu_us_per_check=%.1f errors=%ld\n",
        done, elapsed, user, sys, (double)done / elapsed, (user + sys) * 1e6 / (double)(done ? done : 1), errors);
    for (long i = 0; i < inflight; i++)
        if (easy[i]) curl_easy_cleanup(easy[i]);
    free(easy);
    curl_multi_cleanup(multi);
    curl_global_cleanup();
    return errors == done ? 1 : 0;
}
