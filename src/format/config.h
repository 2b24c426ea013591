/* config.json (+ generation_config.json) for qwen3_5, qwen3_5_moe and qwen3_next.
 * Hyper-parameters are read from text_config when present, else from the top level.
 * The quantization dict is read at the top level ("quantization", else
 * "quantization_config"); per-module override keys are normalised to the internal module
 * spelling of checkpoint.h (e.g. "model.layers.3.linear_attn.in_proj_a", "lm_head"). */
#ifndef BOSON_FORMAT_CONFIG_H
#define BOSON_FORMAT_CONFIG_H

#include "boson.h"
#include "format/quant.h"

#include <stddef.h>
#include <stdint.h>

typedef enum bs_arch { BS_ARCH_QWEN3_5, BS_ARCH_QWEN3_5_MOE, BS_ARCH_QWEN3_NEXT } bs_arch;

const char *bs_arch_name(bs_arch a); /* "qwen3_5", ... */

/* A quantization spec as written in config.json (global or per module). */
typedef enum bs_qmode {
    BS_QMODE_NONE, /* explicit `false`: module is not quantized */
    BS_QMODE_AFFINE,
    BS_QMODE_MXFP4,
    BS_QMODE_NVFP4,
    BS_QMODE_MXFP8
} bs_qmode;

typedef struct bs_qspec {
    bs_qmode mode;
    int bits;       /* resolved: mode default when absent/null */
    int group_size; /* resolved: mode default when absent/null */
} bs_qspec;

typedef struct bs_qoverride {
    char *module;  /* normalised module path, e.g. "model.layers.3.linear_attn.in_proj_a" */
    char *raw_key; /* the key exactly as written in config.json */
    bs_qspec spec;
} bs_qoverride;

#define BS_MAX_EOS 8

typedef struct bs_config {
    bs_arch arch;
    char model_type[48];
    int has_text_config; /* hyper-parameters came from a nested text_config */

    int64_t hidden_size;         /* H */
    int64_t intermediate_size;   /* I, dense MLP width */
    int64_t num_hidden_layers;   /* L */
    int64_t num_attention_heads; /* Nh */
    int64_t num_key_value_heads; /* Nkv */
    int64_t head_dim;            /* D (default H/Nh) */
    int64_t vocab_size;          /* V */
    int64_t max_position_embeddings;
    double rms_norm_eps;
    double rope_theta;
    double partial_rotary_factor;
    int64_t rotary_dim; /* R = (int)(D * partial_rotary_factor) */
    int attention_bias;
    int tie_word_embeddings;

    int64_t linear_num_value_heads; /* Hv */
    int64_t linear_num_key_heads;   /* Hk (Hv % Hk == 0) */
    int64_t linear_key_head_dim;    /* Dk */
    int64_t linear_value_head_dim;  /* Dv */
    int64_t linear_conv_kernel_dim; /* Kc */

    int64_t full_attention_interval;
    uint8_t *layer_is_attention; /* [L]: 1 = full attention, 0 = GDN */
    uint8_t *layer_is_moe;       /* [L]: 1 = sparse MoE MLP, 0 = dense MLP */

    int64_t num_experts;         /* E (0 = dense model) */
    int64_t num_experts_per_tok; /* top-k */
    int64_t moe_intermediate_size;
    int64_t shared_expert_intermediate_size; /* 0 = no shared expert */
    int64_t decoder_sparse_step;
    int norm_topk_prob;

    /* quantization */
    int has_quantization;    /* a quantization dict is present */
    bs_qspec quant_default;  /* global mode/bits/group */
    bs_qoverride *overrides; /* per-module entries, in file order */
    size_t n_overrides;

    int separate_gdn_proj; /* use_separate_gdn_projections: -1 absent, 0 false, 1 true */

    /* token ids; generation_config.json's eos_token_id replaces config's when present */
    int32_t eos_ids[BS_MAX_EOS];
    int n_eos;
    int32_t bos_id; /* -1 when absent */
    int32_t pad_id; /* -1 when absent */

    /* generation_config.json sampling defaults; NaN / -1 when absent */
    double gen_temperature, gen_top_p, gen_min_p, gen_repetition_penalty;
    int64_t gen_top_k;
} bs_config;

/* Parses config.json text (and generation_config.json text, may be NULL). `where` names the
 * source in messages. Validates required fields, positive sizes, divisibility (Hv % Hk,
 * H % Nh when head_dim is absent, Nh % Nkv), layer_types vs interval when present,
 * hidden_act == silu when present, and every quantization entry (bits 2,3,4,5,6,8 and group
 * 32/64/128 for affine; fixed group/bits for fp modes). Unknown model_type -> error listing
 * the supported ones. Errors are BOSON_ERR_CONFIG naming the field. */
boson_status bs_config_parse(const char *json, size_t len, const char *gen_json, size_t gen_len,
                             const char *where, bs_config *out, boson_error *err);

/* Reads dir/config.json and (if present) dir/generation_config.json. */
boson_status bs_config_load(const char *dir, bs_config *out, boson_error *err);

/* Override for a normalised module path, or NULL. */
const bs_qoverride *bs_config_find_override(const bs_config *c, const char *module);

/* Normalises a quantization key spelling to the internal module path into buf.
 * Returns 0 if buf is too small. */
int bs_config_normalise_module(const char *key, char *buf, size_t bufsize);

void bs_config_free(bs_config *c);

#endif
