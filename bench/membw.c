/* DRAM read bandwidth: T threads each stream their slice of a buffer much larger than the
 * last-level cache, summing it with AVX2/AVX-512 loads (whatever -march=native gives), and
 * the best of R runs is reported. This is the ceiling the decode benchmark is measured
 * against: decoding one token reads every active weight once, so tok/s <= GB/s / bytes.
 *
 *   gcc -O2 -march=native -pthread bench/membw.c -o build/bench/membw
 *   build/bench/membw [--mib 2048] [--runs 7] [--threads 1,2] [--json]
 *
 * Output: one line per thread count, "threads T: best X GB/s (median Y GB/s)", or with
 * --json one object {"threads": {"1": {"best_gbs": .., "median_gbs": ..}, ...}, "mib": ..}.
 * GB = 1e9 bytes. */
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_THREADS 64

typedef struct slice {
    const uint8_t *p;
    size_t n;
    pthread_barrier_t *start;
    double sink;
} slice;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Sum of the slice as 32-bit ints: four independent accumulators keep several loads in
 * flight; the result is kept so the compiler cannot drop the loop. */
static double read_slice(const uint8_t *p, size_t n)
{
#if defined(__AVX512F__)
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i + 256 <= n; i += 256) {
        a0 = _mm512_add_epi32(a0, _mm512_load_si512((const void *)(p + i)));
        a1 = _mm512_add_epi32(a1, _mm512_load_si512((const void *)(p + i + 64)));
        a2 = _mm512_add_epi32(a2, _mm512_load_si512((const void *)(p + i + 128)));
        a3 = _mm512_add_epi32(a3, _mm512_load_si512((const void *)(p + i + 192)));
    }
    a0 = _mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3));
    return (double)_mm512_reduce_add_epi32(a0);
#elif defined(__AVX2__)
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i + 128 <= n; i += 128) {
        a0 = _mm256_add_epi32(a0, _mm256_load_si256((const void *)(p + i)));
        a1 = _mm256_add_epi32(a1, _mm256_load_si256((const void *)(p + i + 32)));
        a2 = _mm256_add_epi32(a2, _mm256_load_si256((const void *)(p + i + 64)));
        a3 = _mm256_add_epi32(a3, _mm256_load_si256((const void *)(p + i + 96)));
    }
    a0 = _mm256_add_epi32(_mm256_add_epi32(a0, a1), _mm256_add_epi32(a2, a3));
    int32_t t[8];
    _mm256_storeu_si256((__m256i *)(void *)t, a0);
    double s = 0;
    for (int k = 0; k < 8; k++)
        s += t[k];
    return s;
#else
    uint64_t s = 0;
    for (size_t i = 0; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        s += v;
    }
    return (double)s;
#endif
}

static void *worker(void *arg)
{
    slice *s = arg;
    pthread_barrier_wait(s->start);
    s->sink = read_slice(s->p, s->n);
    return NULL;
}

/* One timed pass of T threads over the buffer; returns GB/s. */
static double one_run(const uint8_t *buf, size_t bytes, int T, double *sink)
{
    pthread_t th[MAX_THREADS];
    slice sl[MAX_THREADS];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)T + 1);
    size_t per = bytes / (size_t)T / 4096 * 4096;
    for (int t = 0; t < T; t++) {
        sl[t] = (slice){buf + (size_t)t * per, per, &start, 0};
        pthread_create(&th[t], NULL, worker, &sl[t]);
    }
    pthread_barrier_wait(&start);
    double t0 = now();
    for (int t = 0; t < T; t++) {
        pthread_join(th[t], NULL);
        *sink += sl[t].sink;
    }
    double dt = now() - t0;
    pthread_barrier_destroy(&start);
    return (double)(per * (size_t)T) / dt / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    size_t mib = 2048;
    int runs = 7, json = 0, n_counts = 0, counts[16];
    const char *threads_s = "1,2";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--mib") && i + 1 < argc)
            mib = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads_s = argv[++i];
        else if (!strcmp(argv[i], "--json"))
            json = 1;
        else {
            fprintf(stderr, "usage: membw [--mib N] [--runs R] [--threads 1,2,..] [--json]\n");
            return 1;
        }
    }
    for (const char *s = threads_s; *s && n_counts < 16;) {
        int t = atoi(s);
        if (t < 1 || t > MAX_THREADS) {
            fprintf(stderr, "membw: bad thread count in '%s'\n", threads_s);
            return 1;
        }
        counts[n_counts++] = t;
        const char *c = strchr(s, ',');
        if (!c)
            break;
        s = c + 1;
    }
    if (runs < 1 || runs > 100 || mib < 64) {
        fprintf(stderr, "membw: need 1..100 runs and at least 64 MiB\n");
        return 1;
    }
    size_t bytes = mib << 20;
    uint8_t *buf = aligned_alloc(4096, bytes);
    if (!buf) {
        fprintf(stderr, "membw: cannot allocate %zu MiB\n", mib);
        return 1;
    }
    for (size_t i = 0; i < bytes; i++) /* touch every page; non-constant data */
        buf[i] = (uint8_t)(i * 2654435761u >> 13);
    double sink = 0;
    if (json)
        printf("{\"mib\": %zu, \"runs\": %d, \"threads\": {", mib, runs);
    for (int c = 0; c < n_counts; c++) {
        double r[100];
        one_run(buf, bytes, counts[c], &sink); /* warm-up */
        for (int i = 0; i < runs; i++)
            r[i] = one_run(buf, bytes, counts[c], &sink);
        qsort(r, (size_t)runs, sizeof r[0], cmp_double);
        double best = r[runs - 1], med = r[runs / 2];
        if (json)
            printf("%s\"%d\": {\"best_gbs\": %.3f, \"median_gbs\": %.3f}", c ? ", " : "", counts[c],
                   best, med);
        else
            printf("threads %d: best %.2f GB/s (median %.2f GB/s) over %zu MiB, %d runs\n",
                   counts[c], best, med, mib, runs);
    }
    if (json)
        printf("}, \"checksum\": %.0f}\n", sink);
    free(buf);
    return 0;
}
