/* CPU weight kernels: dequantization and (grouped) quantized matvec / matmul for every MLX
 * storage format (dense F32/F16/BF16, affine 2/3/4/5/6/8-bit, mxfp4, nvfp4, mxfp8).
 *
 * Every kernel takes a bs_qmat view (pointers may be unaligned) and fp32 activations, and
 * accumulates in fp32. The matrix must have passed bs_qmat_check (done once at load); the
 * kernels do not re-validate. Rows are addressed absolutely: a call with [row_begin,
 * row_end) writes y[row_begin .. row_end) only, so a thread pool can split the rows.
 *
 * Affine matvec follows MLX's decode kernel per group g:
 *     acc = Σ x_i·q_i,  xsum = Σ x_i,  y += scale_g·acc + bias_g·xsum
 * fp modes: y += scale_g · Σ x_i·elem_i. The SIMD kernels use the same factorisation with a
 * different summation order (agreement within ~1e-6 of Σ|w·x|). */
#ifndef BOSON_BACKEND_CPU_QMATVEC_H
#define BOSON_BACKEND_CPU_QMATVEC_H

#include "format/quant.h"

#include <stdint.h>

/* y[r] = Σ_k W[r,k]·x[k] for r in [row_begin, row_end). */
typedef void (*bs_matvec_fn)(const bs_qmat *m, const float *x, float *y, uint64_t row_begin,
                             uint64_t row_end);
/* out[0..n) = W[row, col_begin .. col_begin+n); col_begin and n multiples of the group size
 * (n may end at cols). */
typedef void (*bs_dequant_span_fn)(const bs_qmat *m, uint64_t row, uint64_t col_begin, uint64_t n,
                                   float *out);
/* Σ a[i]·b[i] in fp32. */
typedef float (*bs_dot_fn)(const float *a, const float *b, uint64_t n);

typedef enum bs_cpu_isa {
    BS_CPU_REF,   /* portable scalar reference */
    BS_CPU_AVX2,  /* AVX2 + FMA + F16C */
    BS_CPU_AVX512 /* AVX-512 F/BW/VL/DQ + FMA + F16C */
} bs_cpu_isa;

/* A kernel table, chosen once and held (const) by the caller; no global state. Every entry
 * handles every format: formats without a SIMD path fall back to the reference. */
typedef struct bs_cpu_kernels {
    bs_cpu_isa isa;
    const char *name; /* "ref", "avx2", "avx512" */
    bs_matvec_fn matvec;
    bs_dequant_span_fn dequant_span;
    bs_dot_fn dot;
    /* 1 if matvec/dequant_span have a SIMD path for f (0: they run the reference). */
    int (*has_simd)(const bs_wformat *f);
} bs_cpu_kernels;

/* The best table this CPU supports (__builtin_cpu_supports). */
bs_cpu_kernels bs_cpu_kernels_detect(void);
/* The table for one ISA; returns 0 (and the reference in *out) if this CPU lacks it. */
int bs_cpu_kernels_for(bs_cpu_isa isa, bs_cpu_kernels *out);
/* 1 if this CPU can run isa. */
int bs_cpu_isa_supported(bs_cpu_isa isa);

/* ---- reference (scalar) ---- */

/* Row `row` of W as `cols` floats: s·q + b (affine), scale·elem (fp modes), or the dense
 * element converted to fp32. Also the quantized embedding lookup. */
void bs_qmat_dequant_row(const bs_qmat *m, uint64_t row, float *out);
void bs_qmat_dequant_span_ref(const bs_qmat *m, uint64_t row, uint64_t col_begin, uint64_t n,
                              float *out);
void bs_qmat_matvec_ref(const bs_qmat *m, const float *x, float *y, uint64_t row_begin,
                        uint64_t row_end);
float bs_dot_ref(const float *a, const float *b, uint64_t n);

/* Y[t·ldy + r] = Σ_k W[r,k]·X[t·ldx + k] for t < n_tokens, r in [row_begin, row_end).
 * Each weight row is dequantized once (in column chunks) and applied to every token. */
void bs_qmat_matmul(const bs_cpu_kernels *k, const bs_qmat *m, const float *X, uint64_t n_tokens,
                    uint64_t ldx, float *Y, uint64_t ldy, uint64_t row_begin, uint64_t row_end);
/* bs_qmat_matmul with the reference kernels. */
void bs_qmat_matmul_ref(const bs_qmat *m, const float *X, uint64_t n_tokens, uint64_t ldx, float *Y,
                        uint64_t ldy, uint64_t row_begin, uint64_t row_end);

/* ---- grouped dispatch ---- */

#define BS_QGROUP_MAX 8

/* Matrices of identical format and input width that read the same input; matrix i writes
 * outs[i] (matvec: [rows_i]; matmul: [n_tokens, rows_i], row stride rows_i). Their rows
 * are concatenated in order into one range [0, bs_qgroup_rows(g)) that callers split. */
typedef struct bs_qgroup {
    int n;
    const bs_qmat *mats[BS_QGROUP_MAX];
    float *outs[BS_QGROUP_MAX];
} bs_qgroup;

uint64_t bs_qgroup_rows(const bs_qgroup *g);
void bs_qgroup_matvec(const bs_cpu_kernels *k, const bs_qgroup *g, const float *x,
                      uint64_t row_begin, uint64_t row_end);
void bs_qgroup_matmul(const bs_cpu_kernels *k, const bs_qgroup *g, const float *X,
                      uint64_t n_tokens, uint64_t ldx, uint64_t row_begin, uint64_t row_end);

/* ---- per-ISA tables (qmatvec_avx2.c, qmatvec_avx512.c; call only if supported) ---- */
bs_cpu_kernels bs_cpu_kernels_avx2_(void);
bs_cpu_kernels bs_cpu_kernels_avx512_(void);

#endif
