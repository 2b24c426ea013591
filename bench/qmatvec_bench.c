/* Quantized matvec throughput of the CPU kernel tables on one thread, in GB/s of weight
 * bytes read (codes + scales + biases), next to the DRAM read bandwidth from membw. A
 * matrix far larger than the last-level cache shows the streaming rate; a small one
 * (cache-resident) shows the kernel's compute ceiling.
 *
 *   gcc -O2 -march=native -Iinclude -Isrc -D_GNU_SOURCE bench/qmatvec_bench.c \
 *       build/libboson.a -lm -pthread -o build/bench/qmatvec_bench
 *   build/bench/qmatvec_bench [ROWS COLS BITS GROUP]   (default 65536 2048 4 64) */
#include "backend/cpu/qmatvec.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double bench(const bs_cpu_kernels *k, const bs_qmat *m, const float *x, float *y,
                    double bytes, int reps)
{
    double best = 1e30;
    for (int i = 0; i < reps; i++) {
        double t0 = now();
        k->matvec(m, x, y, 0, m->rows);
        double dt = now() - t0;
        if (dt < best)
            best = dt;
    }
    return bytes / best / 1e9;
}

int main(int argc, char **argv)
{
    uint64_t rows = 65536, cols = 2048;
    int bits = 4, gs = 64;
    if (argc == 5) {
        rows = strtoull(argv[1], NULL, 10);
        cols = strtoull(argv[2], NULL, 10);
        bits = atoi(argv[3]);
        gs = atoi(argv[4]);
    }
    bs_qmat m = {{BS_W_AFFINE, bits, gs, BS_DT_BF16}, rows, cols, NULL, NULL, NULL};
    uint64_t wb = rows * cols * (uint64_t)bits / 8, mb = rows * (cols / (uint64_t)gs) * 2;
    uint8_t *w = malloc(wb), *s = malloc(mb), *b = malloc(mb);
    float *x = malloc(cols * sizeof *x), *y = malloc(rows * sizeof *y);
    if (!w || !s || !b || !x || !y)
        return 1;
    srand(1);
    for (uint64_t i = 0; i < wb; i++)
        w[i] = (uint8_t)rand();
    for (uint64_t i = 0; i < mb; i += 2) {
        s[i] = b[i] = (uint8_t)rand();
        s[i + 1] = 0x3c; /* bf16 exponent near 1/64 */
        b[i + 1] = 0xbc;
    }
    for (uint64_t i = 0; i < cols; i++)
        x[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    m.w = w;
    m.scales = s;
    m.biases = b;
    double bytes = (double)(wb + 2 * mb);
    printf("matrix %llu x %llu affine%d/g%d: %.1f MB\n", (unsigned long long)rows,
           (unsigned long long)cols, bits, gs, bytes / 1e6);
    const bs_cpu_isa isas[] = {BS_CPU_REF, BS_CPU_AVX2, BS_CPU_AVX512};
    for (int i = 0; i < 3; i++) {
        bs_cpu_kernels k;
        if (!bs_cpu_kernels_for(isas[i], &k))
            continue;
        /* streaming: the whole matrix; cached: the first 1 MB of rows, repeated */
        bs_qmat small = m;
        small.rows = (uint64_t)(2.5e5 / (bytes / (double)rows)); /* 250 KB: in L2 */
        double gbs = bench(&k, &m, x, y, bytes, isas[i] == BS_CPU_REF ? 2 : 7);
        double gbc = bench(&k, &small, x, y, bytes * (double)small.rows / (double)rows, 50);
        printf("%-7s streaming %7.2f GB/s   cache-resident %7.2f GB/s\n", k.name, gbs, gbc);
    }
    free(w);
    free(s);
    free(b);
    free(x);
    free(y);
    return 0;
}
