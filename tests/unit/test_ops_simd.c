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

int main(void)
{
    return check_main("test_ops_simd", (const check_case[]){
                                           CHECK_CASE(delta_rule_avx512_matches_scalar),
                                           {0},
                                       });
}
