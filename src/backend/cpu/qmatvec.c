/* Kernel-table selection (once, by CPU feature), the chunked matmul built on a table's
 * dequant_span + dot, and grouped dispatch over concatenated rows. */
#include "backend/cpu/qmatvec.h"

#include <cpuid.h>

#include "base/error.h"

/* Columns dequantized at a time by the matmul: a multiple of every group size (16..128). */
#define MATMUL_CHUNK 512

static int ref_has_simd(const bs_wformat *f)
{
    (void)f;
    return 0;
}

static bs_cpu_kernels ref_kernels(void)
{
    bs_cpu_kernels k = {BS_CPU_REF, "ref",       bs_qmat_matvec_ref, bs_qmat_dequant_span_ref,
                        bs_dot_ref, ref_has_simd};
    return k;
}

/* F16C from CPUID leaf 1 (ECX bit 29): not every compiler's __builtin_cpu_supports knows
 * the "f16c" name. */
static int has_f16c(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    return (c & bit_F16C) != 0;
}

int bs_cpu_isa_supported(bs_cpu_isa isa)
{
    switch (isa) {
    case BS_CPU_REF: return 1;
    case BS_CPU_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && has_f16c();
    case BS_CPU_AVX512:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("fma") && has_f16c();
    }
    return 0;
}

int bs_cpu_kernels_for(bs_cpu_isa isa, bs_cpu_kernels *out)
{
    *out = ref_kernels();
    if (!bs_cpu_isa_supported(isa))
        return 0;
    switch (isa) {
    case BS_CPU_REF: break;
    case BS_CPU_AVX2: *out = bs_cpu_kernels_avx2_(); break;
    case BS_CPU_AVX512: *out = bs_cpu_kernels_avx512_(); break;
    }
    return 1;
}

bs_cpu_kernels bs_cpu_kernels_detect(void)
{
    bs_cpu_kernels k;
    if (bs_cpu_kernels_for(BS_CPU_AVX512, &k) || bs_cpu_kernels_for(BS_CPU_AVX2, &k))
        return k;
    return ref_kernels();
}

void bs_qmat_matmul(const bs_cpu_kernels *k, const bs_qmat *m, const float *X, uint64_t n_tokens,
                    uint64_t ldx, float *Y, uint64_t ldy, uint64_t row_begin, uint64_t row_end)
{
    float buf[MATMUL_CHUNK];
    for (uint64_t r = row_begin; r < row_end; r++) {
        for (uint64_t t = 0; t < n_tokens; t++)
            Y[t * ldy + r] = 0.0f;
        for (uint64_t c = 0; c < m->cols; c += MATMUL_CHUNK) {
            uint64_t n = m->cols - c < MATMUL_CHUNK ? m->cols - c : MATMUL_CHUNK;
            k->dequant_span(m, r, c, n, buf);
            for (uint64_t t = 0; t < n_tokens; t++)
                Y[t * ldy + r] += k->dot(buf, X + t * ldx + c, n);
        }
    }
}

void bs_qmat_matmul_ref(const bs_qmat *m, const float *X, uint64_t n_tokens, uint64_t ldx, float *Y,
                        uint64_t ldy, uint64_t row_begin, uint64_t row_end)
{
    bs_cpu_kernels k = ref_kernels();
    bs_qmat_matmul(&k, m, X, n_tokens, ldx, Y, ldy, row_begin, row_end);
}

uint64_t bs_qgroup_rows(const bs_qgroup *g)
{
    uint64_t total = 0;
    for (int i = 0; i < g->n; i++)
        total += g->mats[i]->rows; /* sizes were checked at load; cannot overflow */
    return total;
}

/* Calls fn(matrix i, local [b, e)) for the part of [row_begin, row_end) that falls in each
 * matrix of the concatenation. */
#define QGROUP_FOR_EACH(g, row_begin, row_end, BODY)                          \
    do {                                                                      \
        uint64_t base_ = 0;                                                   \
        for (int i_ = 0; i_ < (g)->n && base_ < (row_end); i_++) {            \
            uint64_t rows_ = (g)->mats[i_]->rows;                             \
            uint64_t lo_ = (row_begin) > base_ ? (row_begin)-base_ : 0;       \
            uint64_t hi_ = (row_end)-base_ < rows_ ? (row_end)-base_ : rows_; \
            if (lo_ < hi_) {                                                  \
                const int gi = i_;                                            \
                const uint64_t lb = lo_, le = hi_;                            \
                BODY;                                                         \
            }                                                                 \
            base_ += rows_;                                                   \
        }                                                                     \
    } while (0)

void bs_qgroup_matvec(const bs_cpu_kernels *k, const bs_qgroup *g, const float *x,
                      uint64_t row_begin, uint64_t row_end)
{
    BS_ASSERT(g->n >= 0 && g->n <= BS_QGROUP_MAX);
    QGROUP_FOR_EACH(g, row_begin, row_end, k->matvec(g->mats[gi], x, g->outs[gi], lb, le));
}

void bs_qgroup_matmul(const bs_cpu_kernels *k, const bs_qgroup *g, const float *X,
                      uint64_t n_tokens, uint64_t ldx, uint64_t row_begin, uint64_t row_end)
{
    BS_ASSERT(g->n >= 0 && g->n <= BS_QGROUP_MAX);
    QGROUP_FOR_EACH(
        g, row_begin, row_end,
        bs_qmat_matmul(k, g->mats[gi], X, n_tokens, ldx, g->outs[gi], g->mats[gi]->rows, lb, le));
}
