/* AVX-512 twins of the hot GDN operators (ops_simd.h). Compiled with the AVX-512 flags;
 * reached only through backend_cpu.c after bs_cpu_isa_supported(BS_CPU_AVX512). */
#include "backend/cpu/ops.h"
#include "backend/cpu/ops_simd.h"

#include <immintrin.h>

/* Per value row i of the head's state [Dv, Dk], in the scalar operator's order: decay the
 * row and read m = s·k in one pass, then the rank-1 update s += k·δ and the output
 * o = s·q in a second pass over the same (L1-resident) row. */
void bs_op_delta_rule_head_avx512(const float *q, const float *k, const float *v, size_t ld,
                                  const float *g, const float *beta, size_t ldg, float *state,
                                  float *y, size_t ldy, size_t n, size_t dk, size_t dv)
{
    if (dk % 16 != 0) {
        bs_op_delta_rule_head(q, k, v, ld, g, beta, ldg, state, y, ldy, n, dk, dv);
        return;
    }
    for (size_t t = 0; t < n; t++) {
        const float *qt = q + t * ld, *kt = k + t * ld, *vt = v + t * ld;
        const __m512 gt = _mm512_set1_ps(g[t * ldg]);
        const float bt = beta[t * ldg];
        float *yt = y + t * ldy;
        for (size_t i = 0; i < dv; i++) {
            float *s = state + i * dk;
            __m512 m0 = _mm512_setzero_ps(), m1 = m0;
            size_t j = 0;
            for (; j + 32 <= dk; j += 32) {
                __m512 s0 = _mm512_mul_ps(_mm512_loadu_ps(s + j), gt);
                __m512 s1 = _mm512_mul_ps(_mm512_loadu_ps(s + j + 16), gt);
                _mm512_storeu_ps(s + j, s0);
                _mm512_storeu_ps(s + j + 16, s1);
                m0 = _mm512_fmadd_ps(s0, _mm512_loadu_ps(kt + j), m0);
                m1 = _mm512_fmadd_ps(s1, _mm512_loadu_ps(kt + j + 16), m1);
            }
            for (; j < dk; j += 16) {
                __m512 s0 = _mm512_mul_ps(_mm512_loadu_ps(s + j), gt);
                _mm512_storeu_ps(s + j, s0);
                m0 = _mm512_fmadd_ps(s0, _mm512_loadu_ps(kt + j), m0);
            }
            const float m = _mm512_reduce_add_ps(_mm512_add_ps(m0, m1));
            const __m512 delta = _mm512_set1_ps((vt[i] - m) * bt);
            __m512 o0 = _mm512_setzero_ps(), o1 = o0;
            for (j = 0; j + 32 <= dk; j += 32) {
                __m512 s0 = _mm512_fmadd_ps(_mm512_loadu_ps(kt + j), delta, _mm512_loadu_ps(s + j));
                __m512 s1 = _mm512_fmadd_ps(_mm512_loadu_ps(kt + j + 16), delta,
                                            _mm512_loadu_ps(s + j + 16));
                _mm512_storeu_ps(s + j, s0);
                _mm512_storeu_ps(s + j + 16, s1);
                o0 = _mm512_fmadd_ps(s0, _mm512_loadu_ps(qt + j), o0);
                o1 = _mm512_fmadd_ps(s1, _mm512_loadu_ps(qt + j + 16), o1);
            }
            for (; j < dk; j += 16) {
                __m512 s0 = _mm512_fmadd_ps(_mm512_loadu_ps(kt + j), delta, _mm512_loadu_ps(s + j));
                _mm512_storeu_ps(s + j, s0);
                o0 = _mm512_fmadd_ps(s0, _mm512_loadu_ps(qt + j), o0);
            }
            yt[i] = _mm512_reduce_add_ps(_mm512_add_ps(o0, o1));
        }
    }
}
