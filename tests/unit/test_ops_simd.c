/* SIMD twins of the CPU operators (ops_simd.h) against their scalar originals in ops.c,
 * which test_ops.c checks against double-precision formulas. Skipped (and said so) on a
 * CPU without the ISA. Tolerance: relative to the sum of |terms| of each output. */
#include "check.h"

#include "backend/cpu/ops.h"
#include "backend/cpu/ops_simd.h"
#include "backend/cpu/qmatvec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct rng {
    uint64_t s;
} rng;

static double rnd(rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return (double)(r->s >> 11) / 9007199254740992.0 * 2.0 - 1.0; /* [-1, 1) */
}

static void fill(rng *r, float *x, size_t n, double scale)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(rnd(r) * scale);
}

/* n tokens of one head: q, k, v interleaved in rows of width ld = 2dk + dv + 5 (padding
 * catches a wrong stride), gates in rows of ldg = 3, outputs in rows of ldy = dv + 2. */
static void delta_case(check_ctx *ctx_, size_t n, size_t dk, size_t dv, uint64_t seed)
{
    rng r = {seed};
    size_t ld = 2 * dk + dv + 5, ldg = 3, ldy = dv + 2;
    float *qkv = malloc(n * ld * sizeof(float)), *g = malloc(n * ldg * sizeof(float));
    float *beta = malloc(n * ldg * sizeof(float));
    float *s0 = malloc(dv * dk * sizeof(float)), *s1 = malloc(dv * dk * sizeof(float));
    float *y0 = calloc(n * ldy, sizeof(float)), *y1 = calloc(n * ldy, sizeof(float));
    REQUIRE(qkv && g && beta && s0 && s1 && y0 && y1);
    fill(&r, qkv, n * ld, 1.0 / sqrt((double)dk));
    fill(&r, s0, dv * dk, 0.5);
    memcpy(s1, s0, dv * dk * sizeof(float));
    for (size_t t = 0; t < n * ldg; t++) {
        g[t] = (float)(0.75 + 0.25 * rnd(&r));  /* decay in (0.5, 1) */
        beta[t] = (float)(0.5 + 0.5 * rnd(&r)); /* sigmoid range */
    }
    const float *q = qkv, *k = qkv + dk, *v = qkv + 2 * dk;
    bs_op_delta_rule_head(q, k, v, ld, g, beta, ldg, s0, y0, ldy, n, dk, dv);
    bs_op_delta_rule_head_avx512(q, k, v, ld, g, beta, ldg, s1, y1, ldy, n, dk, dv);
    double worst = 0;
    for (size_t i = 0; i < dv * dk; i++) {
        double e = fabs((double)s1[i] - (double)s0[i]) / (1.0 + fabs((double)s0[i]));
        worst = e > worst ? e : worst;
    }
    for (size_t t = 0; t < n; t++)
        for (size_t i = 0; i < dv; i++) {
            /* |y| is a dot of dk state values (|s| <~ 1) with q (|q| <~ 1/sqrt(dk)) */
            double e =
                fabs((double)y1[t * ldy + i] - (double)y0[t * ldy + i]) / (1.0 + sqrt((double)dk));
            worst = e > worst ? e : worst;
        }
    CHECK(worst < 1e-6);
    if (!(worst < 1e-6))
        fprintf(stderr, "  delta rule n=%zu dk=%zu dv=%zu: worst relative error %.3g\n", n, dk, dv,
                worst);
    /* the padding columns of y stay untouched */
    for (size_t t = 0; t < n; t++)
        CHECK(y1[t * ldy + dv] == 0.0f && y1[t * ldy + dv + 1] == 0.0f);
    free(qkv);
    free(g);
    free(beta);
    free(s0);
    free(s1);
    free(y0);
    free(y1);
}

CHECK_TEST(delta_rule_avx512_matches_scalar)
{
    if (!bs_cpu_isa_supported(BS_CPU_AVX512)) {
        fprintf(stderr, "  (no AVX-512 on this CPU: delta rule twin not run)\n");
        return;
    }
    delta_case(ctx_, 1, 128, 128, 1);  /* the real head size, one decode token */
    delta_case(ctx_, 7, 128, 64, 2);   /* several tokens */
    delta_case(ctx_, 3, 48, 16, 3);    /* dk % 32 == 16: the 16-wide tail */
    delta_case(ctx_, 2, 20, 5, 4);     /* dk % 16 != 0: falls back to the scalar */
    delta_case(ctx_, 64, 128, 128, 5); /* long run: errors must not grow */
}

/* |a - b| <= tol · (|b| + floor): relative, with an absolute floor near zero */
static int close(float a, float b, double tol, double floor_)
{
    if (isnan(b))
        return isnan(a);
    if (isinf(b))
        return a == b;
    return fabs((double)a - (double)b) <= tol * (fabs((double)b) + floor_);
}

CHECK_TEST(swiglu_avx512_matches_scalar)
{
    if (!bs_cpu_isa_supported(BS_CPU_AVX512))
        return;
    /* the whole useful range of the gate, the saturating ends, infinities, zeros */
    enum { N = 4000 + 13 };
    static float g[N], u[N], y0[N], y1[N];
    rng r = {99};
    for (size_t i = 0; i < N; i++) {
        g[i] = (float)(-110.0 + 220.0 * (double)i / (double)N);
        u[i] = (float)rnd(&r);
    }
    g[0] = -INFINITY;
    g[1] = INFINITY;
    g[2] = 0.0f;
    g[3] = -0.0f;
    g[4] = 88.0f;
    g[5] = -88.0f;
    g[6] = 1e-30f;
    bs_op_swiglu_avx512(g, u, y1, N);
    for (size_t i = 0; i < N; i++)
        y0[i] = bs_op_silu(g[i]) * u[i];
    size_t bad = 0;
    for (size_t i = 0; i < N; i++)
        if (!close(y1[i], y0[i], 4e-7, 1e-30)) {
            if (bad++ < 3)
                fprintf(stderr, "  swiglu gate %.9g up %.9g: %.9g vs scalar %.9g\n", (double)g[i],
                        (double)u[i], (double)y1[i], (double)y0[i]);
        }
    CHECK(bad == 0);
}

CHECK_TEST(gated_rmsnorm_avx512_matches_scalar)
{
    if (!bs_cpu_isa_supported(BS_CPU_AVX512))
        return;
    const size_t dims[] = {128, 48, 20}; /* vector path, and the scalar fallback */
    for (size_t di = 0; di < 3; di++) {
        size_t d = dims[di];
        float x[128], z[128], w[128], y0[128], y1[128];
        rng r = {7 + di};
        fill(&r, x, d, 3.0);
        fill(&r, z, d, 6.0);
        fill(&r, w, d, 1.5);
        bs_op_gated_rmsnorm(x, z, y0, d, w, 1e-6f);
        bs_op_gated_rmsnorm_avx512(x, z, y1, d, w, 1e-6f);
        for (size_t i = 0; i < d; i++)
            CHECK(close(y1[i], y0[i], 1e-6, 1e-6));
    }
}

CHECK_TEST(conv1d_avx512_matches_scalar)
{
    if (!bs_cpu_isa_supported(BS_CPU_AVX512))
        return;
    /* decode (n = 1) and prefill shapes, n < K-1 (state shift), a channel range that is
     * not a multiple of 16 and does not start at 0, ldx > channels */
    const size_t ns[] = {1, 2, 5};
    for (size_t ni = 0; ni < 3; ni++) {
        const size_t C = 70, K = 4, n = ns[ni], ldx = C + 3, c0 = 3, c1 = 61;
        float x[5 * 73], w[70 * 4], st0[3 * 70], st1[3 * 70], o0[5 * 70], o1[5 * 70];
        rng r = {31 + ni};
        fill(&r, x, n * ldx, 2.0);
        fill(&r, w, C * K, 1.0);
        fill(&r, st0, (K - 1) * C, 2.0);
        memcpy(st1, st0, sizeof st0);
        for (size_t i = 0; i < 5 * 70; i++)
            o0[i] = o1[i] = -7.0f;
        bs_op_conv1d(x, ldx, st0, w, o0, n, C, K, c0, c1);
        bs_op_conv1d_avx512(x, ldx, st1, w, o1, n, C, K, c0, c1);
        /* FMA vs separate multiply-add: the error scale is Σ|w·x| (<= K·1·2 = 8), not |out| */
        for (size_t i = 0; i < n * C; i++)
            if (!(fabs((double)o1[i] - (double)o0[i]) <= 8 * 2e-7)) {
                CHECK_FAIL_("conv1d n=%zu out[%zu]: %.9g vs scalar %.9g", n, i, (double)o1[i],
                            (double)o0[i]);
                break;
            }
        CHECK(memcmp(st0, st1, sizeof st0) == 0);
    }
}

int main(void)
{
    return check_main("test_ops_simd", (const check_case[]){
                                           CHECK_CASE(delta_rule_avx512_matches_scalar),
                                           CHECK_CASE(swiglu_avx512_matches_scalar),
                                           CHECK_CASE(gated_rmsnorm_avx512_matches_scalar),
                                           CHECK_CASE(conv1d_avx512_matches_scalar),
                                           {0},
                                       });
}
