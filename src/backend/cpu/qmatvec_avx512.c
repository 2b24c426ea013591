/* AVX-512 (F/BW/VL/DQ) + FMA + F16C weight kernels (16 fp32 lanes). Compiled with the
 * AVX-512 flags; reached only through the kernel table after
 * bs_cpu_isa_supported(BS_CPU_AVX512). Same structure as qmatvec_avx2.c.
 *
 * Codes are decoded 16 at a time: 16 codes of b bits are exactly 2b bytes of the row stream,
 * read in register-sized pieces (never past the codes). 4-bit: spread two dwords over the
 * lanes and shift by 4k. 8-bit: zero-extend bytes. Other widths: shuffle the 16-bit window
 * holding code k into lane k, then shift by bk mod 8 and mask. */
#include "backend/cpu/qdecode.h"
#include "backend/cpu/qmatvec.h"

#include <immintrin.h>
#include <string.h>

#define AI static inline __attribute__((always_inline))
#define XS_BLOCK 256

/* 16 consecutive codes starting at byte p as int32 lanes. */
AI __m512i codes16(const uint8_t *p, const int bits)
{
    if (bits == 8)
        return _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(const void *)p));
    if (bits == 4) {
        __m128i v = _mm_loadl_epi64((const __m128i *)(const void *)p);
        __m512i d = _mm512_permutexvar_epi32(
            _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1),
            _mm512_castsi128_si512(v));
        d = _mm512_srlv_epi32(
            d, _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24, 28));
        return _mm512_and_si512(d, _mm512_set1_epi32(15));
    }
    /* the 2b bytes of the 16 codes, loaded in register-sized pieces (never past them) */
    __m128i v;
    if (bits == 2)
        v = _mm_cvtsi32_si128((int)bs_load_u32(p));
    else if (bits == 3)
        v = _mm_cvtsi64_si128((long long)(bs_load_u32(p) | (uint64_t)bs_load_u16(p + 4) << 32));
    else if (bits == 5)
        v = _mm_insert_epi16(_mm_loadl_epi64((const __m128i *)(const void *)p), bs_load_u16(p + 8),
                             4);
    else
        v = _mm_insert_epi32(_mm_loadl_epi64((const __m128i *)(const void *)p),
                             (int)bs_load_u32(p + 8), 2);
#define O_(k) (char)((bits * (k)) / 8)
#define S_(k) ((bits * (k)) % 8)
    const __m256i idx = _mm256_setr_epi8(
        O_(0), O_(0) + 1, O_(1), O_(1) + 1, O_(2), O_(2) + 1, O_(3), O_(3) + 1, O_(4), O_(4) + 1,
        O_(5), O_(5) + 1, O_(6), O_(6) + 1, O_(7), O_(7) + 1, O_(8), O_(8) + 1, O_(9), O_(9) + 1,
        O_(10), O_(10) + 1, O_(11), O_(11) + 1, O_(12), O_(12) + 1, O_(13), O_(13) + 1, O_(14),
        O_(14) + 1, O_(15), O_(15) + 1);
    __m256i win = _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(v), idx);
    __m512i d = _mm512_cvtepu16_epi32(win);
    d = _mm512_srlv_epi32(d, _mm512_setr_epi32(S_(0), S_(1), S_(2), S_(3), S_(4), S_(5), S_(6),
                                               S_(7), S_(8), S_(9), S_(10), S_(11), S_(12), S_(13),
                                               S_(14), S_(15)));
#undef O_
#undef S_
    return _mm512_and_si512(d, _mm512_set1_epi32((1 << bits) - 1));
}

/* FP4 E2M1 codes (int32 lanes 0..15) to values: one 16-entry permute. */
AI __m512 fp4_vals(__m512i c)
{
    const __m512 table = _mm512_setr_ps(0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f, -0.0f,
                                        -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f);
    return _mm512_permutexvar_ps(c, table);
}

/* FP8 E4M3 bytes (int32 lanes) to values, as bs_e4m3_to_f32. */
AI __m512 e4m3_vals(__m512i v)
{
    __m512i mag = _mm512_and_si512(v, _mm512_set1_epi32(0x7F));
    __m512 val = _mm512_castsi512_ps(
        _mm512_add_epi32(_mm512_slli_epi32(mag, 20), _mm512_set1_epi32(120 << 23)));
    __m512 sub = _mm512_mul_ps(_mm512_cvtepi32_ps(mag), _mm512_set1_ps(0x1p-9f));
    val = _mm512_mask_blend_ps(_mm512_cmplt_epi32_mask(mag, _mm512_set1_epi32(8)), val, sub);
    val = _mm512_mask_blend_ps(_mm512_cmpeq_epi32_mask(mag, _mm512_set1_epi32(0x7F)), val,
                               _mm512_set1_ps(NAN));
    __m512i sign = _mm512_slli_epi32(_mm512_and_si512(v, _mm512_set1_epi32(0x80)), 24);
    return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(val), sign));
}

AI float load_scale(const uint8_t *base, uint64_t g, bs_dtype dt)
{
    if (dt == BS_DT_BF16)
        return bs_bf16_to_f32(bs_load_u16(base + 2 * g));
    if (dt == BS_DT_F16)
        return _cvtsh_ss(bs_load_u16(base + 2 * g));
    return bs_load_f32(base + 4 * g);
}

AI __m512 dense16(const uint8_t *p, bs_dtype dt)
{
    if (dt == BS_DT_BF16) {
        __m512i v = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(const void *)p));
        return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
    }
    if (dt == BS_DT_F16)
        return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)p));
    return _mm512_loadu_ps(p);
}

/* ---- affine ---- */

static void group_sums(const float *x, uint64_t gs, uint64_t g0, uint64_t g1, float *xs)
{
    for (uint64_t g = g0; g < g1; g++) {
        const float *xg = x + g * gs;
        __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
        for (uint64_t j = 0; j < gs; j += 32) {
            s0 = _mm512_add_ps(s0, _mm512_loadu_ps(xg + j));
            s1 = _mm512_add_ps(s1, _mm512_loadu_ps(xg + j + 16));
        }
        xs[g - g0] = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
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
            __m512 tot0 = _mm512_setzero_ps(), tot1 = _mm512_setzero_ps();
            float btot = 0.0f;
            for (uint64_t g = g0; g < g1; g++, wg += gbytes) {
                const float *xg = x + g * gs;
                __m512 a0 = _mm512_setzero_ps(), a1 = a0;
                for (uint64_t j = 0; j < gs / 16; j += 2) {
                    const uint8_t *p = wg + 2 * j * (uint64_t)bits;
                    a0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(codes16(p, bits)),
                                         _mm512_loadu_ps(xg + 16 * j), a0);
                    a1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(codes16(p + 2 * bits, bits)),
                                         _mm512_loadu_ps(xg + 16 * j + 16), a1);
                }
                __m512 s = _mm512_set1_ps(load_scale(sr, g, dt));
                if (g & 1)
                    tot1 = _mm512_fmadd_ps(s, _mm512_add_ps(a0, a1), tot1);
                else
                    tot0 = _mm512_fmadd_ps(s, _mm512_add_ps(a0, a1), tot0);
                btot += load_scale(br, g, dt) * xs[g - g0];
            }
            float v = _mm512_reduce_add_ps(_mm512_add_ps(tot0, tot1)) + btot;
            y[r] = g0 == 0 ? v : y[r] + v;
        }
    }
}

/* 4-bit affine, the decode workhorse. Byte j of a row holds codes 2j (low nibble) and 2j+1
 * (high nibble), so 16 bytes zero-extended to int32 lanes give 16 even codes (& 15) and 16
 * odd codes (>> 4) of a 32-column chunk. The input is de-interleaved to match once per call
 * (xd[32c + l] = x[32c + 2l], xd[32c + 16 + l] = x[32c + 2l + 1]), which costs O(cols) and
 * saves the per-code permutes. Scales and biases are read 16 groups at a time; the bias
 * term Σ_g b_g·xsum_g is one vector FMA per 16 groups. Each row starts by prefetching the
 * codes A4_PF bytes ahead: one core cannot overlap its decode work with DRAM latency on
 * its own (measured: +10-30 % streaming rate; interleaving two rows instead was slower). */
#define A4_PF 2048    /* prefetch distance in bytes of codes */
#define A4_COLS 16384 /* columns per block: xd + sums fit in L2 */

AI __m512 meta16(const uint8_t *base, uint64_t g, uint64_t n, bs_dtype dt)
{
    const __mmask16 mk = (__mmask16)(n >= 16 ? 0xFFFFu : (1u << n) - 1u);
    if (dt == BS_DT_F32)
        return _mm512_maskz_loadu_ps(mk, base + 4 * g);
    __m256i h = _mm256_maskz_loadu_epi16(mk, base + 2 * g);
    if (dt == BS_DT_F16)
        return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* x permuted per 32 columns to the order in which a4_chunk produces codes: the 16 code
 * bytes are broadcast to the four 128-bit lanes, so int32 lane i holds bytes 4(i%4)..+3,
 * i.e. codes 8(i%4)..+7; shifting lane i right by 4(i/4) puts code 8(i%4) + i/4 in its
 * low nibble, and by 16 + 4(i/4) code 8(i%4) + 4 + i/4. */
static void deinterleave32(const float *x, uint64_t n, float *xd)
{
    const __m512i ia = _mm512_setr_epi32(0, 8, 16, 24, 1, 9, 17, 25, 2, 10, 18, 26, 3, 11, 19, 27);
    const __m512i ib = _mm512_add_epi32(ia, _mm512_set1_epi32(4));
    for (uint64_t i = 0; i < n; i += 32) {
        __m512 a = _mm512_loadu_ps(x + i), b = _mm512_loadu_ps(x + i + 16);
        _mm512_storeu_ps(xd + i, _mm512_permutex2var_ps(a, ia, b));
        _mm512_storeu_ps(xd + i + 16, _mm512_permutex2var_ps(a, ib, b));
    }
}

/* One group: the 16 possible dequantized values s·q + b of the group form a table that a
 * lane permute indexes by the code (vpermps reads only the low 4 bits of each index, so
 * the low nibble needs no mask), and the products accumulate straight into a0/a1. */
AI void a4_chunk(const uint8_t *w, const float *xd, __m512 tab, __m512 *a0, __m512 *a1)
{
    const __m512i sh0 = _mm512_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4, 8, 8, 8, 8, 12, 12, 12, 12);
    const __m512i sh1 = _mm512_add_epi32(sh0, _mm512_set1_epi32(16));
    __m512i v = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(const void *)w));
    *a0 = _mm512_fmadd_ps(_mm512_permutexvar_ps(_mm512_srlv_epi32(v, sh0), tab),
                          _mm512_loadu_ps(xd), *a0);
    *a1 = _mm512_fmadd_ps(_mm512_permutexvar_ps(_mm512_srlv_epi32(v, sh1), tab),
                          _mm512_loadu_ps(xd + 16), *a1);
}

AI __m512 a4_table(float s, float b)
{
    const __m512 iota = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    return _mm512_fmadd_ps(_mm512_set1_ps(s), iota, _mm512_set1_ps(b));
}

/* Specialised on the group size and the scale dtype (both constant after inlining), so
 * a group's chunks unroll fully. Chunks alternate between two accumulator pairs (FMA
 * latency): within a group when it has two or more chunks, across groups when one. */
AI void affine4_rows_g(const bs_qmat *m, const float *x, float *y, uint64_t rb, uint64_t re,
                       const uint64_t gs, const bs_dtype dt)
{
    const uint64_t chunks = gs / 32, gbytes = gs / 2;
    const uint64_t row_bytes = m->cols / 2, meta_bytes = bs_qmeta_row_bytes(&m->fmt, m->cols);
    float xd[A4_COLS];
    for (uint64_t c0 = 0; c0 < m->cols; c0 += A4_COLS) {
        const uint64_t nc = m->cols - c0 < A4_COLS ? m->cols - c0 : A4_COLS, ng = nc / gs;
        const uint64_t g0 = c0 / gs;
        deinterleave32(x + c0, nc, xd);
        for (uint64_t r = rb; r < re; r++) {
            const uint8_t *w = m->w + r * row_bytes + c0 / 2;
            const uint8_t *sr = m->scales + r * meta_bytes, *br = m->biases + r * meta_bytes;
            for (uint64_t o = 0; o < nc / 2; o += 64)
                _mm_prefetch((const char *)w + A4_PF + o, _MM_HINT_T0);
            _mm_prefetch((const char *)sr + A4_PF / 16, _MM_HINT_T0);
            _mm_prefetch((const char *)br + A4_PF / 16, _MM_HINT_T0);
            __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (uint64_t gb = 0; gb < ng; gb += 16) {
                const uint64_t nb = ng - gb < 16 ? ng - gb : 16;
                float sc[16], bi[16];
                _mm512_storeu_ps(sc, meta16(sr, g0 + gb, nb, dt));
                _mm512_storeu_ps(bi, meta16(br, g0 + gb, nb, dt));
                const uint8_t *wg = w + gb * gbytes;
                const float *xg = xd + gb * gs;
                if (chunks == 1) {
                    uint64_t j = 0;
                    for (; j + 2 <= nb; j += 2, wg += 2 * gbytes, xg += 2 * gs) {
                        a4_chunk(wg, xg, a4_table(sc[j], bi[j]), &a0, &a1);
                        a4_chunk(wg + gbytes, xg + gs, a4_table(sc[j + 1], bi[j + 1]), &a2, &a3);
                    }
                    if (j < nb)
                        a4_chunk(wg, xg, a4_table(sc[j], bi[j]), &a0, &a1);
                } else {
                    for (uint64_t j = 0; j < nb; j++, wg += gbytes, xg += gs) {
                        const __m512 tab = a4_table(sc[j], bi[j]);
                        for (uint64_t c = 0; c < chunks; c += 2) {
                            a4_chunk(wg + 16 * c, xg + 32 * c, tab, &a0, &a1);
                            a4_chunk(wg + 16 * c + 16, xg + 32 * c + 32, tab, &a2, &a3);
                        }
                    }
                }
            }
            float v =
                _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
            y[r] = c0 == 0 ? v : y[r] + v;
        }
    }
}

/* scales/biases dtype: BF16, F16 or F32 (bs_wformat_check) */
#define A4_DT(gs_)                                            \
    do {                                                      \
        if (dt == BS_DT_BF16)                                 \
            affine4_rows_g(m, x, y, rb, re, gs_, BS_DT_BF16); \
        else if (dt == BS_DT_F16)                             \
            affine4_rows_g(m, x, y, rb, re, gs_, BS_DT_F16);  \
        else                                                  \
            affine4_rows_g(m, x, y, rb, re, gs_, BS_DT_F32);  \
    } while (0)

static void affine4_rows(const bs_qmat *m, const float *x, float *y, uint64_t rb, uint64_t re)
{
    const bs_dtype dt = m->fmt.dtype;
    if (m->fmt.group_size == 32)
        A4_DT(32);
    else if (m->fmt.group_size == 64)
        A4_DT(64);
    else
        A4_DT(128);
}

static void matvec_affine(const bs_qmat *m, const float *x, float *y, uint64_t rb, uint64_t re)
{
    switch (m->fmt.bits) {
    case 2: affine_rows(m, x, y, rb, re, 2); break;
    case 3: affine_rows(m, x, y, rb, re, 3); break;
    case 4: affine4_rows(m, x, y, rb, re); break;
    case 5: affine_rows(m, x, y, rb, re, 5); break;
    case 6: affine_rows(m, x, y, rb, re, 6); break;
    case 8: affine_rows(m, x, y, rb, re, 8); break;
    default: bs_qmat_matvec_ref(m, x, y, rb, re); break;
    }
}

/* ---- fp modes ---- */

AI __m512 fp_vals16(const uint8_t *p, const bs_wkind kind)
{
    return kind == BS_W_MXFP8 ? e4m3_vals(codes16(p, 8)) : fp4_vals(codes16(p, 4));
}

AI void fp_rows(const bs_qmat *m, const float *x, float *y, uint64_t rb, uint64_t re,
                const bs_wkind kind)
{
    const int bits = kind == BS_W_MXFP8 ? 8 : 4;
    const uint64_t gs = (uint64_t)m->fmt.group_size, ng = m->cols / gs;
    const uint64_t row_bytes = m->cols * (uint64_t)bits / 8, gbytes = gs * (uint64_t)bits / 8;
    for (uint64_t r = rb; r < re; r++) {
        const uint8_t *wg = m->w + r * row_bytes, *sr = m->scales + r * ng;
        __m512 tot0 = _mm512_setzero_ps(), tot1 = _mm512_setzero_ps();
        for (uint64_t g = 0; g < ng; g++, wg += gbytes) {
            const float *xg = x + g * gs;
            __m512 acc = _mm512_mul_ps(fp_vals16(wg, kind), _mm512_loadu_ps(xg));
            if (gs == 32)
                acc =
                    _mm512_fmadd_ps(fp_vals16(wg + 2 * bits, kind), _mm512_loadu_ps(xg + 16), acc);
            float sc = kind == BS_W_NVFP4 ? bs_e4m3_to_f32(sr[g]) : bs_e8m0_to_f32(sr[g]);
            __m512 s = _mm512_set1_ps(sc);
            if (g & 1)
                tot1 = _mm512_fmadd_ps(s, acc, tot1);
            else
                tot0 = _mm512_fmadd_ps(s, acc, tot0);
        }
        y[r] = _mm512_reduce_add_ps(_mm512_add_ps(tot0, tot1));
    }
}

/* ---- dense ---- */

AI void dense_rows(const bs_qmat *m, const float *x, float *y, uint64_t rb, uint64_t re,
                   const bs_dtype dt)
{
    const uint64_t es = dt == BS_DT_F32 ? 4 : 2, n = m->cols;
    for (uint64_t r = rb; r < re; r++) {
        const uint8_t *w = m->w + r * n * es;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        uint64_t k = 0;
        for (; k + 64 <= n; k += 64) {
            a0 = _mm512_fmadd_ps(dense16(w + k * es, dt), _mm512_loadu_ps(x + k), a0);
            a1 = _mm512_fmadd_ps(dense16(w + (k + 16) * es, dt), _mm512_loadu_ps(x + k + 16), a1);
            a2 = _mm512_fmadd_ps(dense16(w + (k + 32) * es, dt), _mm512_loadu_ps(x + k + 32), a2);
            a3 = _mm512_fmadd_ps(dense16(w + (k + 48) * es, dt), _mm512_loadu_ps(x + k + 48), a3);
        }
        for (; k + 16 <= n; k += 16)
            a0 = _mm512_fmadd_ps(dense16(w + k * es, dt), _mm512_loadu_ps(x + k), a0);
        float v = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
        for (; k < n; k++)
            v += bs_load_float_elem(w, k, dt) * x[k];
        y[r] = v;
    }
}

static void avx512_matvec(const bs_qmat *m, const float *x, float *y, uint64_t rb, uint64_t re)
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
        __m512 s = _mm512_set1_ps(load_scale(sr, g, dt)), b = _mm512_set1_ps(load_scale(br, g, dt));
        const uint8_t *p = wr + (c0 + k) * (uint64_t)bits / 8;
        for (uint64_t j = 0; j < gs; j += 16, p += 2 * bits) {
            __m512 q = _mm512_cvtepi32_ps(codes16(p, bits));
            _mm512_storeu_ps(out + k + j, _mm512_add_ps(_mm512_mul_ps(s, q), b));
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
        __m512 s = _mm512_set1_ps(sc);
        const uint8_t *p = wr + (c0 + k) * (uint64_t)bits / 8;
        for (uint64_t j = 0; j < gs; j += 16, p += 2 * bits)
            _mm512_storeu_ps(out + k + j, _mm512_mul_ps(fp_vals16(p, kind), s));
    }
}

AI void dense_span(const bs_qmat *m, uint64_t row, uint64_t c0, uint64_t n, float *out,
                   const bs_dtype dt)
{
    const uint64_t es = dt == BS_DT_F32 ? 4 : 2;
    const uint8_t *w = m->w + (row * m->cols + c0) * es;
    uint64_t k = 0;
    for (; k + 16 <= n; k += 16)
        _mm512_storeu_ps(out + k, dense16(w + k * es, dt));
    for (; k < n; k++)
        out[k] = bs_load_float_elem(w, k, dt);
}

static void avx512_dequant_span(const bs_qmat *m, uint64_t row, uint64_t c0, uint64_t n, float *out)
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
        if (m->fmt.dtype == BS_DT_BF16) {
            dense_span(m, row, c0, n, out, BS_DT_BF16);
            return;
        }
        if (m->fmt.dtype == BS_DT_F16) {
            dense_span(m, row, c0, n, out, BS_DT_F16);
            return;
        }
        if (m->fmt.dtype == BS_DT_F32) {
            dense_span(m, row, c0, n, out, BS_DT_F32);
            return;
        }
        break;
    }
    bs_qmat_dequant_span_ref(m, row, c0, n, out);
}

static float avx512_dot(const float *a, const float *b, uint64_t n)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    uint64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
        s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
        s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
    }
    for (; i + 16 <= n; i += 16)
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    if (i < n) {
        __mmask16 mk = (__mmask16)((1u << (n - i)) - 1u);
        s1 =
            _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mk, a + i), _mm512_maskz_loadu_ps(mk, b + i), s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

static int avx512_has_simd(const bs_wformat *f)
{
    return bs_wformat_check(f, NULL) == BOSON_OK;
}

bs_cpu_kernels bs_cpu_kernels_avx512_(void)
{
    bs_cpu_kernels k = {BS_CPU_AVX512,       "avx512",   avx512_matvec,
                        avx512_dequant_span, avx512_dot, avx512_has_simd};
    return k;
}
