/* Model plan: every weight of the text model bound to its stored tensors with one resolved
 * format, and the projection sets of each layer split into dispatch groups.
 *
 * Format of a module (DESIGN.md decision 1): its explicit entry in config.json
 * `quantization` wins (dict or false, either key spelling); otherwise the global format iff
 * `<module>.scales` exists, else dense. The result is then cross-checked against the
 * tensors' dtypes and shapes using the input width K known from the config; any
 * disagreement is an error naming the file, the tensor, expected and actual shapes and the
 * config entry used.
 *
 * Fusion (decision 2): matrices that read the same input form a projection set; each set
 * is split into dispatch groups of identical format (and input width); one group is one
 * kernel call. GDN input projections can be forced to one dispatch per matrix by
 * BOSON_SEPARATE_GDN_PROJ (boolean) or by "use_separate_gdn_projections": true in the
 * config; the environment variable takes precedence over the config, and detection never
 * changes an explicit config value. */
#ifndef BOSON_MODEL_PLAN_H
#define BOSON_MODEL_PLAN_H

#include "boson.h"
#include "format/checkpoint.h"
#include "format/config.h"
#include "format/quant.h"

#include <stddef.h>
#include <stdint.h>

#define BS_NAME_MAX 128

/* One linear (or embedding) weight: a matrix [rows, cols], or a stack of n_stack of them
 * (routed experts). */
typedef struct bs_weight {
    char
        module[BS_NAME_MAX]; /* normalised module path, e.g. model.layers.3.linear_attn.in_proj_a */
    const char *role;        /* short role name, e.g. "in_proj_a" (static) */
    int layer;               /* -1 for global weights */
    bs_wformat fmt;
    uint64_t n_stack; /* 1, or the number of experts */
    uint64_t rows;    /* output width N of one matrix */
    uint64_t cols;    /* input width K */
    /* Stored tensors. For a fused HF tensor split in two (experts.gate_up_proj), row_offset
     * is the first row inside each stacked matrix and stack_rows the stored rows per matrix. */
    const bs_tensor *w, *scales, *biases;
    uint64_t row_offset;
    uint64_t stack_rows;
    const bs_tensor **parts; /* per-expert dense tensors of an unstacked HF file, else NULL */
    const bs_tensor *bias;   /* additive linear bias [rows] (attention_bias), else NULL */
    char source[160];        /* how the format was decided, for messages and inspect */
} bs_weight;

typedef enum bs_set_kind {
    BS_SET_GDN_IN,         /* in_proj_qkv, in_proj_z, in_proj_b, in_proj_a (Next: qkvz, ba) */
    BS_SET_ATTN_QKV,       /* q_proj, k_proj, v_proj */
    BS_SET_MLP_GATE_UP,    /* dense mlp gate_proj, up_proj */
    BS_SET_SHARED_GATE_UP, /* shared_expert gate_proj, up_proj */
    BS_SET_ROUTER,         /* mlp.gate (router), shared_expert_gate */
    BS_SET_EXPERT_GATE_UP  /* switch_mlp gate_proj, up_proj (per selected expert) */
} bs_set_kind;

const char *bs_set_kind_name(bs_set_kind k);

#define BS_SET_MAX 4

typedef struct bs_dispatch_group {
    int n;                       /* members in this group */
    bs_weight *mats[BS_SET_MAX]; /* same format and input width */
} bs_dispatch_group;

typedef struct bs_proj_set {
    bs_set_kind kind;
    int n_members;
    bs_weight *members[BS_SET_MAX];
    int n_groups;
    bs_dispatch_group groups[BS_SET_MAX];
    int forced_separate; /* split one per member by switch, not by format */
} bs_proj_set;

/* Dense (never quantized) per-layer parameters. */
typedef struct bs_layer_params {
    const bs_tensor *input_norm, *post_attn_norm;         /* [H] */
    const bs_tensor *conv1d, *dt_bias, *a_log, *gdn_norm; /* GDN */
    const bs_tensor *q_norm, *k_norm;                     /* attention [D] */
} bs_layer_params;

typedef struct bs_layer_plan {
    int is_attention;
    int is_moe;
    bs_layer_params p;
    /* GDN (Qwen3.5): qkv, z, b, a; (Qwen3-Next): qkvz, ba */
    bs_weight *in_proj_qkv, *in_proj_z, *in_proj_b, *in_proj_a, *in_proj_qkvz, *in_proj_ba;
    bs_weight *out_proj;
    /* attention */
    bs_weight *q_proj, *k_proj, *v_proj, *o_proj;
    /* dense MLP */
    bs_weight *gate_proj, *up_proj, *down_proj;
    /* MoE */
    bs_weight *router, *exp_gate, *exp_up, *exp_down;
    bs_weight *sh_gate, *sh_up, *sh_down, *sh_expert_gate;
    int n_sets;
    bs_proj_set sets[5];
} bs_layer_plan;

typedef struct bs_model_plan {
    const bs_config *cfg;    /* borrowed */
    const bs_checkpoint *ck; /* borrowed */
    bs_weight *weights;      /* every linear / embedding weight */
    size_t n_weights;
    bs_layer_plan *layers; /* [L] */
    bs_weight *embed;      /* model.embed_tokens */
    bs_weight *lm_head;    /* == embed when tied */
    const bs_tensor *final_norm;
    int norms_add_one;        /* HF layout: add 1 to the five norm kinds */
    int conv_c1k;             /* conv1d stored [C, 1, K] */
    int separate_gdn;         /* 1 = one dispatch per GDN input projection */
    const char *separate_why; /* "BOSON_SEPARATE_GDN_PROJ=1", "config ...", or "" */
    size_t n_inferred;        /* weights whose format came from their shapes (no entry) */
    char **unused_overrides;  /* config entries that matched no module */
    size_t n_unused_overrides;
} bs_model_plan;

/* Builds the plan. env_separate is the value of BOSON_SEPARATE_GDN_PROJ (NULL if unset);
 * it must be a boolean word (1/true/yes/on, 0/false/no/off, any case) or the call fails. */
boson_status bs_plan_build(const bs_config *cfg, const bs_checkpoint *ck, const char *env_separate,
                           bs_model_plan *out, boson_error *err);

void bs_plan_free(bs_model_plan *p);

/* Parses a boolean switch value. Returns 1/0, or -1 if it is not a boolean word. */
int bs_parse_bool(const char *s);

/* The bs_qmat of matrix `index` (expert) of a weight; 0 on success. */
int bs_weight_mat(const bs_weight *w, uint64_t index, bs_qmat *out);

/* Summary numbers for the load log and inspect. */
typedef struct bs_plan_stats {
    uint64_t weight_bytes;     /* all weights, codes + scales + biases */
    uint64_t bytes_per_token;  /* read per decoded token: active weights incl. top-k experts */
    uint64_t gdn_state_bytes;  /* conv + recurrent state per sequence (fp32) */
    uint64_t kv_bytes_per_pos; /* KV cache bytes per position over all attention layers (fp32) */
    int gdn_layers, attn_layers;
    int gdn_fused_layers; /* GDN layers whose input projections run in one dispatch */
    int gdn_split_layers;
    int dispatches_per_token; /* projection-set dispatches per decoded token */
} bs_plan_stats;

void bs_plan_stats_compute(const bs_model_plan *p, bs_plan_stats *s);

/* One line like "GDN projections: 28 layers fused (1 dispatch), 2 split: layer 3 in_proj_a
 * affine4/g64 vs in_proj_b affine8/g64". Writes into buf (truncated with "..." if long). */
void bs_plan_gdn_summary(const bs_model_plan *p, char *buf, size_t bufsize);

#endif
