/* Per-sequence model state (DESIGN.md decision 4): the KV cache of every attention layer
 * (fp32, keys after q/k-norm and RoPE, values raw) and the conv + recurrent state of every
 * GDN layer. All buffers come from the backend.
 *
 *   k, v of an attention layer   [kv_cap, Nkv, D]      (position-major: truncation is free)
 *   conv of a GDN layer          [Kc-1, conv_dim]      raw pre-conv projections, oldest first
 *   ssm of a GDN layer           [Hv, Dv, Dk]          fp32 recurrent state (mlx-lm layout)
 *
 * Snapshots: a full snapshot copies everything (KV up to pos included) and restores exactly
 * from any later state. A light snapshot copies only the GDN state and the position: the KV
 * entries below its position are reused in place, so restoring it truncates the KV cache to
 * that position. That is exact as long as those entries were not rewritten since, which the
 * state tracks: restoring to a lower position (or any full restore) marks the light snapshots
 * it invalidates as stale, and restoring a stale snapshot fails. */
#ifndef BOSON_MODEL_CACHE_H
#define BOSON_MODEL_CACHE_H

#include "backend/backend.h"
#include "boson.h"
#include "format/config.h"

#include <stddef.h>
#include <stdint.h>

typedef struct bs_snapshot bs_snapshot;

typedef struct bs_state_layer {
    float *k, *v;      /* attention layers, else NULL */
    float *conv, *ssm; /* GDN layers, else NULL */
} bs_state_layer;

typedef struct bs_state {
    bs_backend *be;
    int n_layers;
    int64_t pos;      /* tokens consumed = RoPE position of the next token */
    int64_t kv_cap;   /* positions allocated in every k, v buffer */
    size_t kv_width;  /* Nkv * D floats per position */
    size_t conv_size; /* (Kc-1) * conv_dim floats */
    size_t ssm_size;  /* Hv * Dv * Dk floats */
    bs_state_layer *layers;
    bs_snapshot *light; /* live snapshots (linked through their `next`) */
} bs_state;

boson_status bs_state_init(bs_state *s, bs_backend *be, const bs_config *cfg, boson_error *err);
void bs_state_free(bs_state *s);
/* Makes room for positions [0, n_pos) in the KV caches (grows geometrically). */
boson_status bs_state_reserve(bs_state *s, int64_t n_pos, boson_error *err);
/* Back to position 0 with zero GDN state (light snapshots above 0 become stale). */
void bs_state_reset(bs_state *s);

boson_status bs_state_snapshot(bs_state *s, int with_kv, bs_snapshot **out, boson_error *err);
boson_status bs_state_restore(bs_state *s, const bs_snapshot *snap, boson_error *err);
int64_t bs_snapshot_position(const bs_snapshot *snap);
void bs_snapshot_free(bs_snapshot *snap);

#endif
