/* The forward pass of Qwen3.5 (dense and MoE) and Qwen3-Next, written once against the
 * backend interface (backend.h) and following mlx-lm (qwen3_5.py, qwen3_next.py,
 * gated_delta.py) in fp32.
 *
 * bs_model holds what is derived from the plan once: the effective fp32 norm weights (HF
 * layouts get their +1 here, rounded in the tensor's dtype like mlx-lm's sanitize), conv
 * weights as [C, Kc], A_log, dt_bias, biases, all in backend memory. bs_fw_work holds the
 * activation buffers for chunks of up to max_tokens tokens. bs_forward runs one chunk: the
 * projections of all its tokens as matmuls (one backend dispatch per dispatch group of the
 * plan), conv and delta rule sequential over tokens. */
#ifndef BOSON_MODEL_FORWARD_H
#define BOSON_MODEL_FORWARD_H

#include "backend/backend.h"
#include "boson.h"
#include "format/config.h"
#include "model/cache.h"
#include "model/plan.h"

#include <stddef.h>
#include <stdint.h>

#define BS_FW_SET_KINDS 6 /* bs_set_kind values */

/* Weight dispatches (backend matmul calls) counted per projection-set kind; `single` counts
 * the matrices that are no set's member (out_proj, o_proj, down projections, lm_head). */
typedef struct bs_fw_stats {
    uint64_t set_dispatch[BS_FW_SET_KINDS];
    uint64_t single_dispatch;
    uint64_t chunks; /* bs_forward calls */
    uint64_t tokens;
} bs_fw_stats;

typedef struct bs_fw_layer {
    float *in_norm, *post_norm;               /* [H] effective weights */
    float *q_norm, *k_norm;                   /* [D] */
    float *conv_w;                            /* [C, Kc] */
    float *a_log, *dt_bias;                   /* [Hv] */
    float *gdn_norm;                          /* [Dv] (never shifted) */
    float *bias_q, *bias_k, *bias_v, *bias_o; /* attention_bias only */
} bs_fw_layer;

typedef struct bs_model {
    bs_backend *be;
    const bs_config *cfg;
    const bs_model_plan *plan;
    int is_next; /* Qwen3-Next fused qkvz / ba projections */
    size_t H, V, L, D, Nh, Nkv, R;
    size_t Hk, Hv, Dk, Dv, Kc, key_dim, value_dim, conv_dim;
    size_t I, E, topk, Im, Is;
    float eps;
    bs_fw_layer *layers; /* [L] */
    float *final_norm;   /* [H] */
} bs_model;

boson_status bs_model_init(bs_model *m, bs_backend *be, const bs_config *cfg,
                           const bs_model_plan *plan, boson_error *err);
void bs_model_free(bs_model *m);

typedef struct bs_fw_work {
    size_t max_tokens;
    size_t logit_rows; /* rows of `logits` (lm_head runs in slices of this many) */
    /* [N, H] */
    float *x, *xn, *r;
    /* GDN: qkvz [N, 2kd+2vd] (Next), ba [N, 2Hv] (Next), qkv/conv [N, C], z/y/o [N, vd],
     * b/a/beta/g [N, Hv] */
    float *qkvz, *ba, *qkv, *conv, *z, *y, *o, *b, *a, *beta, *g;
    /* attention: qg [N, Nh·2D], q/att [N, Nh·D] */
    float *qg, *q, *att;
    /* MLP: gate/up [N, I]; MoE: router [N, E], shg [N, 1], xe/ye/sy [N, H], ge/ue [N, Im],
     * sg/su [N, Is] */
    float *gate, *up, *router, *shg, *xe, *ye, *sy, *ge, *ue, *sg, *su;
    float *logits; /* [logit_rows, V] */
    /* host: routing results and per-expert token lists */
    int32_t *route_idx, *rows;
    float *route_w, *scales;
    size_t *counts; /* [E + 1] */
} bs_fw_work;

boson_status bs_fw_work_init(bs_fw_work *w, const bs_model *m, size_t max_tokens, boson_error *err);
void bs_fw_work_free(bs_fw_work *w, const bs_model *m);

typedef enum bs_logits_mode {
    BS_LOGITS_NONE,
    BS_LOGITS_LAST, /* logits_host [V]: the last token's */
    BS_LOGITS_ALL   /* logits_host [n, V] */
} bs_logits_mode;

/* Runs tokens[0..n) (n <= w->max_tokens, ids already checked < V) at positions st->pos ..
 * st->pos + n - 1 and advances st->pos. */
boson_status bs_forward(const bs_model *m, bs_fw_work *w, bs_state *st, const int32_t *tokens,
                        size_t n, bs_logits_mode mode, float *logits_host, bs_fw_stats *stats,
                        boson_error *err);

#endif
