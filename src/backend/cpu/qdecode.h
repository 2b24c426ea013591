/* Scalar decoding of MLX weight storage: code extraction from the LSB-first bit stream,
 * FP4 E2M1 / FP8 E4M3 / E8M0 decoding and scale loads (reference/mlx-format.md §8-§9).
 * Shared by the reference kernels and the scalar tails of the SIMD kernels. */
#ifndef BOSON_BACKEND_CPU_QDECODE_H
#define BOSON_BACKEND_CPU_QDECODE_H

#include "base/bytes.h"
#include "format/quant.h"

#include <math.h>
#include <stdint.h>

/* FP4 E2M1 code -> value: bit 3 is the sign, bits 2..0 index {0, .5, 1, 1.5, 2, 3, 4, 6}. */
static const float bs_fp4_e2m1_table[16] = {0.0f,  0.5f,  1.0f,  1.5f,  2.0f,  3.0f,  4.0f,  6.0f,
                                            -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f};

static inline float bs_f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* FP8 E4M3 (OCP "FN": bias 7, subnormals, no infinities). 0x7F / 0xFF decode to NaN, as
 * MLX's CPU backend does (mlx 0.32, checked by tests/py/test_dequant_oracle.py). Normal
 * values are rebiased bit patterns (exponent + 120); subnormals are m * 2^-9. No float
 * subnormal arithmetic is involved, so flush-to-zero modes cannot change the result. */
static inline float bs_e4m3_to_f32(uint8_t b)
{
    uint32_t mag = b & 0x7Fu;
    float v;
    if (mag == 0x7Fu)
        return NAN;
    if ((mag >> 3) == 0)
        v = (float)mag * 0x1p-9f;
    else
        v = bs_f32_from_bits((mag << 20) + (120u << 23));
    return (b & 0x80u) ? -v : v;
}

/* E8M0 scale: 2^(b - 127); byte 0 is 2^-127 (a float subnormal), byte 255 is +inf. */
static inline float bs_e8m0_to_f32(uint8_t b)
{
    if (b == 255)
        return INFINITY;
    if (b == 0)
        return bs_f32_from_bits(0x00400000u);
    return bs_f32_from_bits((uint32_t)b << 23);
}

/* Code i (bits wide) of a row's LSB-first bit stream; reads only the bytes that hold it. */
static inline uint32_t bs_qcode_get(const uint8_t *row, uint64_t i, int bits)
{
    uint64_t bit = i * (uint64_t)bits;
    const uint8_t *p = row + bit / 8;
    unsigned shift = (unsigned)(bit % 8);
    uint32_t v = p[0];
    if (shift + (unsigned)bits > 8)
        v |= (uint32_t)p[1] << 8;
    return (v >> shift) & ((1u << bits) - 1u);
}

/* Decoded scale of group g of a row whose scales start at `s` (fp modes: E8M0 / E4M3). */
static inline float bs_qscale_get(const bs_wformat *f, const uint8_t *s, uint64_t g)
{
    switch (f->kind) {
    case BS_W_AFFINE: return bs_load_float_elem(s, g, f->dtype);
    case BS_W_MXFP4:
    case BS_W_MXFP8: return bs_e8m0_to_f32(s[g]);
    case BS_W_NVFP4: return bs_e4m3_to_f32(s[g]);
    case BS_W_DENSE: break;
    }
    return NAN;
}

/* Bytes of per-group metadata of one row (scales; biases have the same size). */
static inline uint64_t bs_qmeta_row_bytes(const bs_wformat *f, uint64_t cols)
{
    switch (f->kind) {
    case BS_W_AFFINE: return cols / (uint64_t)f->group_size * (f->dtype == BS_DT_F32 ? 4u : 2u);
    case BS_W_MXFP4:
    case BS_W_NVFP4:
    case BS_W_MXFP8: return cols / (uint64_t)f->group_size;
    case BS_W_DENSE: break;
    }
    return 0;
}

#endif
