/* Scalar fp32 reference operators of the CPU backend, on host memory. Each works on one
 * row / head / channel range so that backend_cpu.c can split the work over the pool. The
 * math follows mlx-lm (qwen3_5.py, qwen3_next.py, gated_delta.py) computed in fp32. */
#ifndef BOSON_BACKEND_CPU_OPS_H
#define BOSON_BACKEND_CPU_OPS_H

#include <stddef.h>
#include <stdint.h>

float bs_op_sigmoid(float x);
float bs_op_silu(float x);
/* log(1 + exp(x)) = logaddexp(x, 0), stable for large |x| */
float bs_op_softplus(float x);

/* y = scale · x / sqrt(mean(x²) + eps) · w  (w may be NULL; x == y allowed) */
void bs_op_rmsnorm(const float *x, float *y, size_t dim, const float *w, float eps, float scale);
/* y = rmsnorm(x, w, eps) · silu(z) */
void bs_op_gated_rmsnorm(const float *x, const float *z, float *y, size_t dim, const float *w,
                         float eps);
/* Rotate-half RoPE of one head vector x[head_dim] at position pos on its first rot dims:
 * for i < rot/2, angle pos · theta^(-2i/rot), pair (i, i + rot/2). */
void bs_op_rope(float *x, size_t rot, int64_t pos, double theta);
/* One query head against keys/values k, v (row stride ld, n_keys rows):
 * out = softmax(q·kᵀ·scale) · v, softmax in fp32 (max-subtracted, two passes). */
void bs_op_attention_head(const float *q, const float *k, const float *v, size_t ld, size_t n_keys,
                          size_t dim, float scale, float *out);
/* Channels [c0, c1) of the causal depthwise conv (see backend.h conv1d). */
void bs_op_conv1d(const float *x, size_t ldx, float *state, const float *w, float *out, size_t n,
                  size_t channels, size_t kernel, size_t c0, size_t c1);
/* g = exp(-exp(a_log) · softplus(a + dt_bias)) */
float bs_op_gdn_decay(float a, float a_log, float dt_bias);
/* Gated delta rule for one value head over n tokens: q, k [Dk] and v [Dv] of token t at
 * q + t·ld, k + t·ld, v + t·ld; g, beta of token t at g[t·ldg], beta[t·ldg]; state
 * [Dv, Dk]; y of token t at y + t·ldy. Order: decay, readout m = S·k, delta (v − m)·β,
 * rank-1 update, y = S·q from the updated state. */
void bs_op_delta_rule_head(const float *q, const float *k, const float *v, size_t ld,
                           const float *g, const float *beta, size_t ldg, float *state, float *y,
                           size_t ldy, size_t n, size_t dk, size_t dv);
/* softmax over logits[E], then the k largest (ties: lower index first) in descending order,
 * renormalised if norm. */
void bs_op_route(const float *logits, size_t n_experts, size_t k, int norm, int32_t *idx,
                 float *weight);

#endif
