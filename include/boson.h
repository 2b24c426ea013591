/* boson — public engine API.
 *
 * Kept narrow on purpose: the CLI and the HTTP server use only this header and never
 * see tensors, kernels or checkpoint internals. Every call returns a status and, on
 * failure, fills a message that names what was wrong and where. Nothing in the library
 * exits the process.
 */
#ifndef BOSON_H
#define BOSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BOSON_VERSION "0.1.0"

typedef enum boson_status {
    BOSON_OK = 0,
    BOSON_ERR_INVALID_ARG, /* caller passed something unusable */
    BOSON_ERR_IO,          /* open/read/mmap failed */
    BOSON_ERR_FORMAT,      /* malformed checkpoint file (safetensors, index) */
    BOSON_ERR_CONFIG,      /* malformed or inconsistent config.json / quantization entry */
    BOSON_ERR_UNSUPPORTED, /* well-formed but not something boson runs */
    BOSON_ERR_NOMEM,       /* allocation failed */
    BOSON_ERR_RUNTIME,     /* failure while computing */
    BOSON_ERR_CANCELLED    /* stopped by the caller */
} boson_status;

/* Error detail filled by every call that can fail. */
typedef struct boson_error {
    boson_status status;
    char message[1024];
} boson_error;

/* Human-readable name of a status ("format error", ...). Never NULL. */
const char *boson_status_name(boson_status status);

/* Opaque handles. */
typedef struct boson_engine boson_engine;
typedef struct boson_session boson_session;

typedef struct boson_engine_options {
    const char *model_path; /* checkpoint directory */
    int n_threads;          /* 0 = number of online CPUs */
    int quiet;              /* no load log on stderr */
} boson_engine_options;

/* Fills options with defaults. */
void boson_engine_options_init(boson_engine_options *options);

/* Opens a checkpoint directory: maps shards, parses the config, resolves the per-tensor
 * quantization plan and the projection dispatch groups. */
boson_status boson_engine_open(boson_engine **out, const boson_engine_options *options,
                               boson_error *err);
void boson_engine_close(boson_engine *engine);

/* Checkpoint report (what `boson inspect` prints): architecture, layer schedule, format of
 * every weight (with counts per format), the dispatch-group plan of every layer, bytes on
 * disk, bytes read per decoded token and the state size per sequence at `ctx` positions.
 * json != 0 writes one JSON document instead of text. */
typedef struct boson_inspect_options {
    int json;
    int64_t ctx;     /* context length for the state-size line (default 4096) */
    int all_tensors; /* text mode: list every weight, not one line per role */
} boson_inspect_options;

boson_status boson_inspect(const char *model_dir, const boson_inspect_options *options, FILE *out,
                           boson_error *err);

/* ---- sessions: one sequence's state (KV cache + GDN state) over an engine ---- */

/* Vocabulary size V of the loaded model (logits have V entries per position). */
int64_t boson_engine_vocab_size(const boson_engine *engine);

typedef struct boson_session_options {
    int prefill_chunk; /* tokens per prefill batch (0 = default 256) */
} boson_session_options;

void boson_session_options_init(boson_session_options *options);

boson_status boson_session_create(boson_engine *engine, const boson_session_options *options,
                                  boson_session **out, boson_error *err);
void boson_session_free(boson_session *session);

/* Appends n tokens (prefilled in batches of prefill_chunk) and writes logits: with
 * all_logits, [n, V] floats (one row per appended token); else [V] for the last token.
 * logits_out may be NULL (state update only). Token ids must be in [0, V). */
boson_status boson_session_eval(boson_session *session, const int32_t *tokens, size_t n,
                                float *logits_out, int all_logits, boson_error *err);

/* Number of tokens consumed (the position of the next token). */
int64_t boson_session_position(const boson_session *session);

/* Back to an empty sequence. */
void boson_session_reset(boson_session *session);

/* Snapshots of the whole state. include_kv != 0 copies the KV cache too (restorable from
 * any later state); include_kv == 0 copies only the recurrent state and restores by
 * truncating the KV cache to the snapshot's position (fails, naming the reason, if the KV
 * entries below it were rewritten since). Restoring then replaying tokens gives
 * bit-identical logits. A snapshot must be freed before its session. */
typedef struct boson_snapshot boson_snapshot;
boson_status boson_session_snapshot(boson_session *session, int include_kv, boson_snapshot **out,
                                    boson_error *err);
boson_status boson_session_restore(boson_session *session, const boson_snapshot *snapshot,
                                   boson_error *err);
int64_t boson_snapshot_position(const boson_snapshot *snapshot);
void boson_session_free_snapshot(boson_snapshot *snapshot);

/* Weight dispatches (kernel calls) since the session was created, per projection-set kind
 * of the model plan, plus the matrices outside any set. */
typedef struct boson_stats {
    uint64_t gdn_in;         /* GDN input projections */
    uint64_t attn_qkv;       /* attention q/k/v */
    uint64_t mlp_gate_up;    /* dense MLP gate/up */
    uint64_t shared_gate_up; /* shared expert gate/up */
    uint64_t router;         /* router + shared-expert gate */
    uint64_t expert_gate_up; /* routed experts gate/up (per selected expert) */
    uint64_t single;         /* out_proj, o_proj, down projections, lm_head */
    uint64_t chunks;         /* forward calls (prefill batches + decode steps) */
    uint64_t tokens;         /* tokens processed */
    int gdn_layers, attn_layers;
} boson_stats;

void boson_session_stats(const boson_session *session, boson_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* BOSON_H */
