/* The backend interface the forward pass is written against (DESIGN.md decision 3).
 *
 * A backend owns its memory: every activation, cache and parameter buffer the forward uses
 * comes from be->alloc and is only ever touched through these functions (the forward does
 * pointer arithmetic on the returned float pointers to address rows, never loads or stores
 * through them). The CPU backend hands out host memory; a GPU backend hands out device
 * memory. Host arrays (token ids, routing results) are marked "host" below.
 *
 * Layout conventions: a "[n, w] matrix with row stride ld" has element (t, c) at
 * p[t·ld + c]. Weights are bs_qmat views (any MLX storage format). All compute is fp32.
 * Functions that cannot fail return void; only alloc reports failure (NULL). */
#ifndef BOSON_BACKEND_BACKEND_H
#define BOSON_BACKEND_BACKEND_H

#include "format/quant.h"

#include <stddef.h>
#include <stdint.h>

typedef struct bs_backend bs_backend;

#define BS_MATMUL_MAX 8

struct bs_backend {
    const char *name; /* "cpu", ... */
    void *impl;
    void (*destroy)(bs_backend *be);

    /* ---- memory ---- */
    float *(*alloc)(bs_backend *be, size_t n); /* n floats, zeroed; NULL on failure */
    void (*free)(bs_backend *be, float *p);
    void (*copy)(bs_backend *be, float *dst, const float *src, size_t n);
    void (*fill)(bs_backend *be, float *dst, float value, size_t n);
    void (*upload)(bs_backend *be, float *dst, const float *host, size_t n);
    void (*download)(bs_backend *be, float *host, const float *src, size_t n);

    /* ---- weights ---- */
    /* One dispatch group: mats[i] ([rows_i, K], identical format and K) applied to the n
     * input rows x[t·ldx .. +K); outs[i] is [n, rows_i] (row stride rows_i). */
    void (*matmul)(bs_backend *be, int n_mats, const bs_qmat *const *mats, float *const *outs,
                   const float *x, size_t n, size_t ldx);
    /* out[t, :] = row tokens[t] of m (host tokens, already range-checked). out [n, cols]. */
    void (*embed)(bs_backend *be, const bs_qmat *m, const int32_t *tokens, size_t n, float *out);

    /* ---- normalisation and element-wise ---- */
    /* For token t < n and head h < heads, the dim-vector at x + t·ldx + h·hsx becomes, at
     * y + t·ldy + h·hsy:  scale · (x · 1/sqrt(mean(x²) + eps)) · w   (w may be NULL).
     * x == y allowed. */
    void (*rmsnorm)(bs_backend *be, const float *x, size_t ldx, size_t hsx, float *y, size_t ldy,
                    size_t hsy, size_t n, size_t heads, size_t dim, const float *w, float eps,
                    float scale);
    /* Rows r < rows of x, z, y ([rows, dim], contiguous): y = rmsnorm(x, w, eps) · silu(z). */
    void (*gated_rmsnorm)(bs_backend *be, const float *x, const float *z, float *y, size_t rows,
                          size_t dim, const float *w, float eps);
    /* x[i] += y[i] */
    void (*add)(bs_backend *be, float *x, const float *y, size_t n);
    /* x[r, c] += b[c] for x [rows, width] contiguous */
    void (*add_bias)(bs_backend *be, float *x, const float *b, size_t rows, size_t width);
    /* out[i] = silu(gate[i]) · up[i] */
    void (*swiglu)(bs_backend *be, const float *gate, const float *up, float *out, size_t n);
    /* x[r·ldx + c] *= sigmoid(g[r·ldg + c·gcs]) for r < rows, c < width (gcs 0 broadcasts
     * one gate value per row). */
    void (*mul_sigmoid)(bs_backend *be, float *x, size_t ldx, const float *g, size_t ldg,
                        size_t gcs, size_t rows, size_t width);

    /* ---- attention ---- */
    /* Rotate-half RoPE on the first rot_dim dims of each head of n tokens, in place: head h
     * of token t at x + t·ldx + h·head_dim, position pos0 + t, frequency base theta. */
    void (*rope)(bs_backend *be, float *x, size_t ldx, size_t n, size_t heads, size_t head_dim,
                 size_t rot_dim, int64_t pos0, double theta);
    /* Causal GQA attention of n queries against n_kv cached positions (the queries are the
     * last n of them: query i sees keys j <= n_kv - n + i). q, out [n, Nh, D]; kc, vc
     * [n_kv, Nkv, D]; query head h reads KV head h / (Nh / Nkv); softmax(q·k·scale). */
    void (*attention)(bs_backend *be, const float *q, const float *kc, const float *vc, float *out,
                      size_t n, size_t n_kv, size_t n_heads, size_t n_kv_heads, size_t head_dim,
                      float scale);

    /* ---- gated delta net ---- */
    /* Causal depthwise conv over n tokens with state: x [n, C] (row stride ldx) raw inputs;
     * state [K-1, C] the previous K-1 raw inputs (oldest first), updated to the last K-1;
     * w [C, K] (tap K-1 multiplies the current token); out [n, C] = silu(conv). */
    void (*conv1d)(bs_backend *be, const float *x, size_t ldx, float *state, const float *w,
                   float *out, size_t n, size_t channels, size_t kernel);
    /* beta = sigmoid(b), g = exp(-exp(a_log) · softplus(a + dt_bias)); b, a, beta, g [n, Hv]. */
    void (*gdn_gates)(bs_backend *be, const float *b, const float *a, const float *a_log,
                      const float *dt_bias, float *beta, float *g, size_t n, size_t hv);
    /* Sequential gated delta rule over n tokens. Token t: q at qkv + t·ld (heads [Hk, Dk]),
     * k at qkv + t·ld + Hk·Dk, v at qkv + t·ld + 2·Hk·Dk ([Hv, Dv]); g, beta [n, Hv];
     * state [Hv, Dv, Dk]; y [n, Hv, Dv]. Value head hv uses key head hv / (Hv / Hk). */
    void (*delta_rule)(bs_backend *be, const float *qkv, size_t ld, const float *g,
                       const float *beta, float *state, float *y, size_t n, size_t hk, size_t hv,
                       size_t dk, size_t dv);
    /* Qwen3-Next de-interleave: qkvz [n, Hk·(2Dk + 2rDv)] grouped per key head into qkv
     * [n, 2·Hk·Dk + Hv·Dv] (q ‖ k ‖ v) and z [n, Hv·Dv]; ba [n, Hk·2r] into b, a [n, Hv]. */
    void (*split_qkvz)(bs_backend *be, const float *qkvz, float *qkv, float *z, size_t n, size_t hk,
                       size_t dk, size_t r, size_t dv);
    void (*split_ba)(bs_backend *be, const float *ba, float *b, float *a, size_t n, size_t hk,
                     size_t r);

    /* ---- mixture of experts ---- */
    /* Per token: p = softmax(logits) over E (fp32), the k largest (ties: lower index),
     * renormalised to sum 1 if norm. logits [n, E] with row stride ld. Writes host
     * idx[n·k] and weight[n·k] (descending probability per token). */
    void (*moe_route)(bs_backend *be, const float *logits, size_t ld, size_t n, size_t n_experts,
                      size_t k, int norm, int32_t *idx, float *weight);
    /* dst[i, :] = src[rows[i], :] for i < m (host rows); src, dst row width `width`. */
    void (*gather_rows)(bs_backend *be, const float *src, const int32_t *rows, size_t m,
                        size_t width, float *dst);
    /* dst[rows[i], :] += scale[i] · src[i, :] for i < m, in order (host rows, scale). */
    void (*scatter_add_rows)(bs_backend *be, float *dst, const int32_t *rows, const float *scale,
                             size_t m, size_t width, const float *src);
};

#endif
