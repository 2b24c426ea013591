/* AVX2 + FMA + F16C weight kernels (8 fp32 lanes). Compiled with -mavx2 -mfma -mf16c;
 * reached only through the kernel table after bs_cpu_isa_supported(BS_CPU_AVX2).
 *
 * Codes are decoded 8 at a time: 8 codes of b bits are exactly b bytes of the row stream.
 * 4-bit: broadcast a dword and shift each lane by 4k. 8-bit: zero-extend bytes. Other
 * widths: shuffle the 16-bit window holding code k (bytes ⌊bk/8⌋, ⌊bk/8⌋+1) into lane k,
 * then shift by bk mod 8 and mask (a code never spans more than two bytes). */
#include "backend/cpu/qdecode.h"
#include "backend/cpu/qmatvec.h"

#include <immintrin.h>
#include <string.h>

#define AI static inline __attribute__((always_inline))
/* Groups whose input sums are computed at once (stack buffer). */
#define XS_BLOCK 256

AI float hsum8(__m256 v)
{
    __m128 lo = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

/* 8 consecutive codes starting at byte p (code 0 at bit 0 of p[0]) as int32 lanes. */
AI __m256i codes8(const uint8_t *p, const int bits)
{
    if (bits == 8)
        return _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)p));
    if (bits == 4) {
        __m256i v = _mm256_set1_epi32((int)bs_load_u32(p));
        v = _mm256_srlv_epi32(v, _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28));
        return _mm256_and_si256(v, _mm256_set1_epi32(15));
    }
    /* the b bytes of the 8 codes, loaded in register-sized pieces (no byte-wise copy
     * through the stack, which would stall store forwarding) */
    uint64_t u;
    if (bits == 2)
        u = bs_load_u16(p);
    else if (bits == 3)
        u = bs_load_u16(p) | (uint64_t)p[2] << 16;
    else if (bits == 5)
        u = bs_load_u32(p) | (uint64_t)p[4] << 32;
    else
        u = bs_load_u32(p) | (uint64_t)bs_load_u16(p + 4) << 32;
#define O_(k) (char)((bits * (k)) / 8)
#define S_(k) ((bits * (k)) % 8)
    const __m128i idx =
        _mm_setr_epi8(O_(0), O_(0) + 1, O_(1), O_(1) + 1, O_(2), O_(2) + 1, O_(3), O_(3) + 1, O_(4),
                      O_(4) + 1, O_(5), O_(5) + 1, O_(6), O_(6) + 1, O_(7), O_(7) + 1);
    __m128i win = _mm_shuffle_epi8(_mm_cvtsi64_si128((long long)u), idx);
    __m256i d = _mm256_cvtepu16_epi32(win);
    d = _mm256_srlv_epi32(
        d, _mm256_setr_epi32(S_(0), S_(1), S_(2), S_(3), S_(4), S_(5), S_(6), S_(7)));
#undef O_
#undef S_
    return _mm256_and_si256(d, _mm256_set1_epi32((1 << bits) - 1));
}

/* FP4 E2M1 codes (int32 lanes 0..15) to values. vpermps reads only index bits 2..0. */
AI __m256 fp4_vals(__m256i c)
{
    const __m256 mag_table = _mm256_setr_ps(0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f);
    __m256 mag = _mm256_permutevar8x32_ps(mag_table, c);
    __m256i sign = _mm256_and_si256(_mm256_slli_epi32(c, 28), _mm256_set1_epi32(INT32_MIN));
    return _mm256_xor_ps(mag, _mm256_castsi256_ps(sign));
}

/* FP8 E4M3 bytes (int32 lanes) to values, as bs_e4m3_to_f32. */
AI __m256 e4m3_vals(__m256i v)
{
    __m256i mag = _mm256_and_si256(v, _mm256_set1_epi32(0x7F));
    __m256 norm = _mm256_castsi256_ps(
        _mm256_add_epi32(_mm256_slli_epi32(mag, 20), _mm256_set1_epi32(120 << 23)));
    __m256 sub = _mm256_mul_ps(_mm256_cvtepi32_ps(mag), _mm256_set1_ps(0x1p-9f));
    __m256 is_sub = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(8), mag));
    __m256 is_nan = _mm256_castsi256_ps(_mm256_cmpeq_epi32(mag, _mm256_set1_epi32(0x7F)));
    __m256 val = _mm256_blendv_ps(norm, sub, is_sub);
    val = _mm256_blendv_ps(val, _mm256_set1_ps(NAN), is_nan);
    __m256i sign = _mm256_slli_epi32(_mm256_and_si256(v, _mm256_set1_epi32(0x80)), 24);
    return _mm256_xor_ps(val, _mm256_castsi256_ps(sign));
}

AI float load_scale(const uint8_t *base, uint64_t g, bs_dtype dt)
{
    if (dt == BS_DT_BF16)
        return bs_bf16_to_f32(bs_load_u16(base + 2 * g));
    if (dt == BS_DT_F16)
        return _cvtsh_ss(bs_load_u16(base + 2 * g));
    return bs_load_f32(base + 4 * g);
}

/* Dense elements: 8 at p, as floats. */
AI __m256 dense8(const uint8_t *p, bs_dtype dt)
{
    if (dt == BS_DT_BF16) {
        __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(const void *)p));
        return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
    }
    if (dt == BS_DT_F16)
        return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)p));
    return _mm256_loadu_ps((const float *)(const void *)p);
}

/* ---- affine ---- */

static void group_sums(const float *x, uint64_t gs, uint64_t g0, uint64_t g1, float *xs)
{
    for (uint64_t g = g0; g < g1; g++) {
        const float *xg = x + g * gs;
        __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
        for (uint64_t j = 0; j < gs; j += 16) {
            s0 = _mm256_add_ps(s0, _mm256_loadu_ps(xg + j));
            s1 = _mm256_add_ps(s1, _mm256_loadu_ps(xg + j + 8));
        }
        xs[g - g0] = hsum8(_mm256_add_ps(s0, s1));
    }
}

AI void affine_rows(const bs_qmat *m, const float *x, float *y, uint64_t rb, uint64_t re,
                    const int bits)
{
    const bs_dtype dt = m->fmt.dtype;
    const uint64_t gs = (uint64_t)m->fmt.group_size, ng = m->cols / gs;
    const uint64_t row_bytes = m->cols * (uint64_t)bits / 8, gbytes = gs * (uint64_t)bits / 8;
    const uint64_t meta_bytes = bs_qmeta_row_bytes(&m->fmt, m->cols);
    float xs[XS_BLOCK];
    for (uint64_t g0 = 0; g0 < ng; g0 += XS_BLOCK) {
        uint64_t g1 = ng - g0 < XS_BLOCK ? ng : g0 + XS_BLOCK;
        group_sums(x, gs, g0, g1, xs);
        for (uint64_t r = rb; r < re; r++) {
            const uint8_t *wg = m->w + r * row_bytes + g0 * gbytes;
            const uint8_t *sr = m->scales + r * meta_bytes, *br = m->biases + r * meta_bytes;
            __m256 tot0 = _mm256_setzero_ps(), tot1 = _mm256_setzero_ps();
            float btot = 0.0f;
            for (uint64_t g = g0; g < g1; g++, wg += gbytes) {
                const float *xg = x + g * gs;
                __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
                for (uint64_t j = 0; j < gs / 8; j += 4) {
                    const uint8_t *p = wg + j * (uint64_t)bits;
                    a0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(codes8(p, bits)),
                                         _mm256_loadu_ps(xg + 8 * j), a0);
                    a1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(codes8(p + bits, bits)),
                                         _mm256_loadu_ps(xg + 8 * j + 8), a1);
                    a2 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(codes8(p + 2 * bits, bits)),
                                         _mm256_loadu_ps(xg + 8 * j + 16), a2);
                    a3 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(codes8(p + 3 * bits, bits)),
                                         _mm256_loadu_ps(xg + 8 * j + 24), a3);
                }
                __m256 acc = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
                __m256 s = _mm256_set1_ps(load_scale(sr, g, dt));
                if (g & 1)
                    tot1 = _mm256_fmadd_ps(s, acc, tot1);
                else
                    tot0 = _mm256_fmadd_ps(s, acc, tot0);
                btot += load_scale(br, g, dt) * xs[g - g0];
            }
            float v = hsum8(_mm256_add_ps(tot0, tot1)) + btot;
            y[r] = g0 == 0 ? v : y[r] + v;
        }
    }
}

static void matvec_affine(const bs_qmat *m, const float *x, float *y, uint64_t rb, uint64_t re)
{
    switch (m->fmt.bits) {
    case 2: affine_rows(m, x, y, rb, re, 2); break;
    case 3: affine_rows(m, x, y, rb, re, 3); break;
    case 4: affine_rows(m, x, y, rb, re, 4); break;
    case 5: affine_rows(m, x, y, rb, re, 5); break;
    case 6: affine_rows(m, x, y, rb, re, 6); break;
    case 8: affine_rows(m, x, y, rb, re, 8); break;
    default: bs_qmat_matvec_ref(m, x, y, rb, re); break;
    }
}

/* ---- fp modes ---- */

AI __m256 fp_vals8(const uint8_t *p, const bs_wkind kind)
{
    return kind == BS_W_MXFP8 ? e4m3_vals(codes8(p, 8)) : fp4_vals(codes8(p, 4));
}

AI void fp_rows(const bs_qmat *m, const float *x, float *y, uint64_t rb, uint64_t re,
                const bs_wkind kind)
{
    const int bits = kind == BS_W_MXFP8 ? 8 : 4;
    const uint64_t gs = (uint64_t)m->fmt.group_size, ng = m->cols / gs;
    const uint64_t row_bytes = m->cols * (uint64_t)bits / 8, gbytes = gs * (uint64_t)bits / 8;
    for (uint64_t r = rb; r < re; r++) {
        const uint8_t *wg = m->w + r * row_bytes, *sr = m->scales + r * ng;
        __m256 tot0 = _mm256_setzero_ps(), tot1 = _mm256_setzero_ps();
        for (uint64_t g = 0; g < ng; g++, wg += gbytes) {
            const float *xg = x + g * gs;
            __m256 a0 = _mm256_setzero_ps(), a1 = a0;
            for (uint64_t j = 0; j < gs / 8; j += 2) {
                const uint8_t *p = wg + j * (uint64_t)bits;
                a0 = _mm256_fmadd_ps(fp_vals8(p, kind), _mm256_loadu_ps(xg + 8 * j), a0);
                a1 = _mm256_fmadd_ps(fp_vals8(p + bits, kind), _mm256_loadu_ps(xg + 8 * j + 8), a1);
            }
            float sc = kind == BS_W_NVFP4 ? bs_e4m3_to_f32(sr[g]) : bs_e8m0_to_f32(sr[g]);
            __m256 s = _mm256_set1_ps(sc);
            if (g & 1)
                tot1 = _mm256_fmadd_ps(s, _mm256_add_ps(a0, a1), tot1);
            else
                tot0 = _mm256_fmadd_ps(s, _mm256_add_ps(a0, a1), tot0);
        }
        y[r] = hsum8(_mm256_add_ps(tot0, tot1));
    }
}

/* ---- dense ---- */

AI void dense_rows(const bs_qmat *m, const float *x, float *y, uint64_t rb, uint64_t re,
                   const bs_dtype dt)
{
    const uint64_t es = dt == BS_DT_F32 ? 4 : 2, n = m->cols;
    for (uint64_t r = rb; r < re; r++) {
        const uint8_t *w = m->w + r * n * es;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        uint64_t k = 0;
        for (; k + 32 <= n; k += 32) {
            a0 = _mm256_fmadd_ps(dense8(w + k * es, dt), _mm256_loadu_ps(x + k), a0);
            a1 = _mm256_fmadd_ps(dense8(w + (k + 8) * es, dt), _mm256_loadu_ps(x + k + 8), a1);
            a2 = _mm256_fmadd_ps(dense8(w + (k + 16) * es, dt), _mm256_loadu_ps(x + k + 16), a2);
            a3 = _mm256_fmadd_ps(dense8(w + (k + 24) * es, dt), _mm256_loadu_ps(x + k + 24), a3);
        }
        for (; k + 8 <= n; k += 8)
            a0 = _mm256_fmadd_ps(dense8(w + k * es, dt), _mm256_loadu_ps(x + k), a0);
        float v = hsum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
        for (; k < n; k++)
            v += bs_load_float_elem(w, k, dt) * x[k];
        y[r] = v;
    }
}

static void avx2_matvec(const bs_qmat *m, const float *x, float *y, uint64_t rb, uint64_t re)
{
    switch (m->fmt.kind) {
    case BS_W_AFFINE: matvec_affine(m, x, y, rb, re); return;
    case BS_W_MXFP4: fp_rows(m, x, y, rb, re, BS_W_MXFP4); return;
    case BS_W_NVFP4: fp_rows(m, x, y, rb, re, BS_W_NVFP4); return;
    case BS_W_MXFP8: fp_rows(m, x, y, rb, re, BS_W_MXFP8); return;
    case BS_W_DENSE:
        switch (m->fmt.dtype) {
        case BS_DT_BF16: dense_rows(m, x, y, rb, re, BS_DT_BF16); return;
        case BS_DT_F16: dense_rows(m, x, y, rb, re, BS_DT_F16); return;
        case BS_DT_F32: dense_rows(m, x, y, rb, re, BS_DT_F32); return;
        case BS_DT_U32:
        case BS_DT_U8:
        case BS_DT_I32:
        case BS_DT_I64:
        case BS_DT_F8_E4M3:
        case BS_DT_F8_E8M0:
        case BS_DT_BOOL:
        case BS_DT_COUNT_: break;
        }
        break;
    }
    bs_qmat_matvec_ref(m, x, y, rb, re);
}

/* ---- dequantization of a span (matmul); bit-identical to the reference ---- */

AI void affine_span(const bs_qmat *m, uint64_t row, uint64_t c0, uint64_t n, float *out,
                    const int bits)
{
    const bs_dtype dt = m->fmt.dtype;
    const uint64_t gs = (uint64_t)m->fmt.group_size, meta = bs_qmeta_row_bytes(&m->fmt, m->cols);
    const uint8_t *wr = m->w + row * (m->cols * (uint64_t)bits / 8);
    const uint8_t *sr = m->scales + row * meta, *br = m->biases + row * meta;
    for (uint64_t k = 0; k < n; k += gs) {
        uint64_t g = (c0 + k) / gs;
        __m256 s = _mm256_set1_ps(load_scale(sr, g, dt)), b = _mm256_set1_ps(load_scale(br, g, dt));
        const uint8_t *p = wr + (c0 + k) * (uint64_t)bits / 8;
        for (uint64_t j = 0; j < gs; j += 8, p += bits) {
            __m256 q = _mm256_cvtepi32_ps(codes8(p, bits));
            _mm256_storeu_ps(out + k + j, _mm256_add_ps(_mm256_mul_ps(s, q), b));
        }
    }
}

AI void fp_span(const bs_qmat *m, uint64_t row, uint64_t c0, uint64_t n, float *out,
                const bs_wkind kind)
{
    const int bits = kind == BS_W_MXFP8 ? 8 : 4;
    const uint64_t gs = (uint64_t)m->fmt.group_size, ng = m->cols / gs;
    const uint8_t *wr = m->w + row * (m->cols * (uint64_t)bits / 8), *sr = m->scales + row * ng;
    for (uint64_t k = 0; k < n; k += gs) {
        uint64_t g = (c0 + k) / gs;
        float sc = kind == BS_W_NVFP4 ? bs_e4m3_to_f32(sr[g]) : bs_e8m0_to_f32(sr[g]);
        __m256 s = _mm256_set1_ps(sc);
        const uint8_t *p = wr + (c0 + k) * (uint64_t)bits / 8;
        for (uint64_t j = 0; j < gs; j += 8, p += bits)
            _mm256_storeu_ps(out + k + j, _mm256_mul_ps(fp_vals8(p, kind), s));
    }
}

AI void dense_span(const bs_qmat *m, uint64_t row, uint64_t c0, uint64_t n, float *out,
                   const bs_dtype dt)
{
    const uint64_t es = dt == BS_DT_F32 ? 4 : 2;
    const uint8_t *w = m->w + (row * m->cols + c0) * es;
    uint64_t k = 0;
    for (; k + 8 <= n; k += 8)
        _mm256_storeu_ps(out + k, dense8(w + k * es, dt));
    for (; k < n; k++)
        out[k] = bs_load_float_elem(w, k, dt);
}

static void avx2_dequant_span(const bs_qmat *m, uint64_t row, uint64_t c0, uint64_t n, float *out)
{
    switch (m->fmt.kind) {
    case BS_W_AFFINE:
        switch (m->fmt.bits) {
        case 2: affine_span(m, row, c0, n, out, 2); return;
        case 3: affine_span(m, row, c0, n, out, 3); return;
        case 4: affine_span(m, row, c0, n, out, 4); return;
        case 5: affine_span(m, row, c0, n, out, 5); return;
        case 6: affine_span(m, row, c0, n, out, 6); return;
        case 8: affine_span(m, row, c0, n, out, 8); return;
        default: break;
        }
        break;
    case BS_W_MXFP4: fp_span(m, row, c0, n, out, BS_W_MXFP4); return;
    case BS_W_NVFP4: fp_span(m, row, c0, n, out, BS_W_NVFP4); return;
    case BS_W_MXFP8: fp_span(m, row, c0, n, out, BS_W_MXFP8); return;
    case BS_W_DENSE:
        if (m->fmt.dtype == BS_DT_BF16 || m->fmt.dtype == BS_DT_F16 || m->fmt.dtype == BS_DT_F32) {
            if (m->fmt.dtype == BS_DT_BF16)
                dense_span(m, row, c0, n, out, BS_DT_BF16);
            else if (m->fmt.dtype == BS_DT_F16)
                dense_span(m, row, c0, n, out, BS_DT_F16);
            else
                dense_span(m, row, c0, n, out, BS_DT_F32);
            return;
        }
        break;
    }
    bs_qmat_dequant_span_ref(m, row, c0, n, out);
}

static float avx2_dot(const float *a, const float *b, uint64_t n)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    uint64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8)
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float v = hsum8(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++)
        v += a[i] * b[i];
    return v;
}

static int avx2_has_simd(const bs_wformat *f)
{
    return bs_wformat_check(f, NULL) == BOSON_OK;
}

bs_cpu_kernels bs_cpu_kernels_avx2_(void)
{
    bs_cpu_kernels k = {BS_CPU_AVX2,       "avx2",   avx2_matvec,
                        avx2_dequant_span, avx2_dot, avx2_has_simd};
    return k;
}
