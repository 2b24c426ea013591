/* A checkpoint directory: every shard mapped, tensor names normalised to one internal
 * spelling, non-text tensors skipped and counted, the HF layout detected.
 *
 * Internal spelling (all input spellings map onto it):
 *   model.embed_tokens.*, model.norm.weight, model.layers.N.<module>.<param>, lm_head.*
 * from  language_model.model.*  (mlx-lm Qwen3.5), model.language_model.* (HF Qwen3.5),
 *       model.* (Qwen3-Next, text-only conversions), language_model.lm_head.* / lm_head.*.
 * Skipped: vision_tower.*, model.visual.*, mtp.*, language_model.mtp.*, model.mtp.*, and MTP
 * sidecar shards (mtp.safetensors, model-mtp.safetensors). */
#ifndef BOSON_FORMAT_CHECKPOINT_H
#define BOSON_FORMAT_CHECKPOINT_H

#include "boson.h"
#include "format/safetensors.h"

#include <stddef.h>

typedef struct bs_ckpt_tensor {
    char *name;         /* normalised name (owned) */
    const bs_tensor *t; /* the stored tensor (t->name is the stored spelling) */
} bs_ckpt_tensor;

/* Layout conversions the model must apply (detected from the tensors, HF checkpoints).
 *
 * Rule (same signals as mlx-lm's sanitize, never norm statistics: AWQ-style ports fold
 * activation scales into norms, so their values say nothing about the layout):
 *   conv_c1k           some *.linear_attn.conv1d.weight is 3-D with shape[1] == 1 and
 *                      shape[2] > 1 (HF [C, 1, K]); a file mixing [C, 1, K] and [C, K, 1]
 *                      is rejected. [C, 1, 1] is ambiguous and ignored.
 *   experts_unstacked  some normalised name starts with model.layers.N.mlp.experts.
 *                      (HF per-expert tensors, or HF Qwen3.5-MoE fused experts.gate_up_proj)
 *   norms_zero_centred = conv_c1k || experts_unstacked  (mlx-lm's conversion does the
 *                      conv transpose, the expert stacking and the +1 together, so either
 *                      leftover means the +1 was not applied either)
 *   hf_layout          = norms_zero_centred
 *   hf_names           stored names used the model.language_model. prefix. Informational
 *                      only: exports that keep HF names but hold MLX-converted tensors
 *                      exist, so the prefix alone does not decide the norm convention. */
typedef struct bs_ckpt_layout {
    int hf_layout;          /* 1 if any conversion below is needed */
    int norms_zero_centred; /* add 1 to the five norm kinds (not linear_attn.norm) */
    int conv_c1k;           /* conv1d stored [C, 1, K] instead of [C, K, 1] */
    int experts_unstacked;  /* mlp.experts.E.* per-expert tensors (or fused gate_up_proj) */
    int hf_names;           /* stored names used model.language_model.* (see above) */
} bs_ckpt_layout;

typedef struct bs_checkpoint {
    char *dir;
    bs_st_file *shards;
    size_t n_shards;
    bs_ckpt_tensor *tensors; /* sorted by normalised name */
    size_t n_tensors;
    size_t n_skipped_vision; /* vision_tower.* / model.visual.* tensors ignored */
    size_t n_skipped_mtp;    /* MTP tensors ignored: in mapped shards, plus index entries
                                that point into sidecars (sidecars themselves are not read) */
    size_t n_sidecars;       /* MTP sidecar files in the directory, never mapped */
    uint64_t bytes_on_disk;  /* sum of mapped shard sizes */
    bs_ckpt_layout layout;
} bs_checkpoint;

/* Opens dir: shards from model.safetensors.index.json when present (every file it names
 * must exist; every weight_map entry must be found in its file), else every
 * model*.safetensors in the directory (sorted; sidecars excluded). Rejects a directory with
 * no shards, duplicate normalised names across shards, and an index that disagrees with the
 * files. Errors name the directory or file. */
boson_status bs_ckpt_open(const char *dir, bs_checkpoint *out, boson_error *err);

/* Lookup by normalised name; NULL if absent. */
const bs_tensor *bs_ckpt_find(const bs_checkpoint *c, const char *name);

/* Normalises one stored name into buf. Returns 1 if the tensor belongs to the text model,
 * 0 if it is to be skipped (*why set to "vision" or "mtp"), -1 if buf is too small. */
int bs_ckpt_normalise_name(const char *stored, char *buf, size_t bufsize, const char **why);

void bs_ckpt_close(bs_checkpoint *c);

#endif
