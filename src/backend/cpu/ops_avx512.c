/* AVX-512 twins of the hot GDN operators (ops_simd.h). Compiled with the AVX-512 flags;
 * reached only through backend_cpu.c after bs_cpu_isa_supported(BS_CPU_AVX512). */
#include "backend/cpu/ops.h"
#include "backend/cpu/ops_simd.h"

#include <immintrin.h>
#include <math.h>

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

/* ---- exp-based activations ---- */

/* e^x for 16 lanes: x = n·ln2 + r with |r| <= ln2/2, e^r by its degree-7 Taylor polynomial
 * (truncation < 2e-8 relative), times 2^n by scalef. x is clamped to [-104, 89] first:
 * below, e^x underflows to 0 in fp32 anyway; above, scalef overflows to +inf as expf does. */
static inline __m512 exp16(__m512 x)
{
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-104.0f)), _mm512_set1_ps(89.0f));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187045e-06f), r);
    __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

/* silu(x) = x / (1 + e^-x) */
static inline __m512 silu16(__m512 x)
{
    return _mm512_div_ps(
        x, _mm512_add_ps(_mm512_set1_ps(1.0f), exp16(_mm512_sub_ps(_mm512_setzero_ps(), x))));
}

void bs_op_swiglu_avx512(const float *gate, const float *up, float *out, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(out + i,
                         _mm512_mul_ps(silu16(_mm512_loadu_ps(gate + i)), _mm512_loadu_ps(up + i)));
    for (; i < n; i++)
        out[i] = bs_op_silu(gate[i]) * up[i];
}

void bs_op_gated_rmsnorm_avx512(const float *x, const float *z, float *y, size_t dim,
                                const float *w, float eps)
{
    if (dim % 16 != 0) {
        bs_op_gated_rmsnorm(x, z, y, dim, w, eps);
        return;
    }
    __m512 ss = _mm512_setzero_ps();
    for (size_t i = 0; i < dim; i += 16) {
        __m512 v = _mm512_loadu_ps(x + i);
        ss = _mm512_fmadd_ps(v, v, ss);
    }
    const __m512 inv = _mm512_set1_ps(1.0f / sqrtf(_mm512_reduce_add_ps(ss) / (float)dim + eps));
    for (size_t i = 0; i < dim; i += 16) {
        __m512 nx =
            _mm512_mul_ps(_mm512_mul_ps(_mm512_loadu_ps(x + i), inv), _mm512_loadu_ps(w + i));
        _mm512_storeu_ps(y + i, _mm512_mul_ps(silu16(_mm512_loadu_ps(z + i)), nx));
    }
}

/* Channels [c0, c1) in blocks of 16: the taps of 16 channels are gathered from w [C, K]
 * (stride K), the window reads concat(state, x) rows, then SiLU; the state keeps the last
 * K-1 raw rows as in the scalar operator. Channels outside whole blocks run the scalar. */
void bs_op_conv1d_avx512(const float *x, size_t ldx, float *state, const float *w, float *out,
                         size_t n, size_t channels, size_t kernel, size_t c0, size_t c1)
{
    const size_t ks = kernel - 1;
    size_t c = c0;
    if (kernel <= 16) {
        const __m512i stride = _mm512_mullo_epi32(
            _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
            _mm512_set1_epi32((int)kernel));
        for (; c + 16 <= c1; c += 16) {
            __m512 wk[16];
            for (size_t j = 0; j < kernel; j++)
                wk[j] = _mm512_i32gather_ps(stride, w + c * kernel + j, 4);
            for (size_t t = 0; t < n; t++) {
                __m512 acc = _mm512_setzero_ps();
                for (size_t j = 0; j < kernel; j++) {
                    size_t u = t + j;
                    const float *src = u < ks ? state + u * channels + c : x + (u - ks) * ldx + c;
                    acc = _mm512_fmadd_ps(wk[j], _mm512_loadu_ps(src), acc);
                }
                _mm512_storeu_ps(out + t * channels + c, silu16(acc));
            }
            if (ks == 0)
                continue;
            if (n >= ks) {
                for (size_t j = 0; j < ks; j++)
                    _mm512_storeu_ps(state + j * channels + c,
                                     _mm512_loadu_ps(x + (n - ks + j) * ldx + c));
            } else {
                for (size_t j = 0; j < ks - n; j++)
                    _mm512_storeu_ps(state + j * channels + c,
                                     _mm512_loadu_ps(state + (j + n) * channels + c));
                for (size_t j = 0; j < n; j++)
                    _mm512_storeu_ps(state + (ks - n + j) * channels + c,
                                     _mm512_loadu_ps(x + j * ldx + c));
            }
        }
    }
    if (c < c1)
        bs_op_conv1d(x, ldx, state, w, out, n, channels, kernel, c, c1);
}
