/* SIMD twins of the hot scalar operators of ops.h. Each has the scalar operator's exact
 * signature and semantics (summation order may differ: agreement within float rounding,
 * tested in tests/unit/test_ops_simd.c). Call only when bs_cpu_isa_supported says the
 * CPU runs the ISA; backend_cpu.c picks them through the kernel table's isa. */
#ifndef BOSON_BACKEND_CPU_OPS_SIMD_H
#define BOSON_BACKEND_CPU_OPS_SIMD_H

#include <stddef.h>

/* bs_op_delta_rule_head with AVX-512 (any dk; vector path for dk % 16 == 0). */
void bs_op_delta_rule_head_avx512(const float *q, const float *k, const float *v, size_t ld,
                                  const float *g, const float *beta, size_t ldg, float *state,
                                  float *y, size_t ldy, size_t n, size_t dk, size_t dv);

/* out[i] = silu(gate[i]) · up[i]; SiLU through a vector e^x (within ~2 ulp of expf). */
void bs_op_swiglu_avx512(const float *gate, const float *up, float *out, size_t n);
/* bs_op_gated_rmsnorm with AVX-512 (vector path for dim % 16 == 0). */
void bs_op_gated_rmsnorm_avx512(const float *x, const float *z, float *y, size_t dim,
                                const float *w, float eps);
/* bs_op_conv1d with AVX-512 over blocks of 16 channels (the rest scalar). */
void bs_op_conv1d_avx512(const float *x, size_t ldx, float *state, const float *w, float *out,
                         size_t n, size_t channels, size_t kernel, size_t c0, size_t c1);

#endif
