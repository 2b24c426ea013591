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

/* ======================================================================================
 * Text, chat templates and generation.
 *
 * An engine opened with boson_engine_open also loads the model's text side when the
 * directory has a tokenizer.json: the tokenizer (plus tokenizer_config.json's
 * added_tokens_decoder), and the chat template from chat_template.jinja, else
 * tokenizer_config.json "chat_template" (a string, or the entry named "default" of a list),
 * else a built-in copy of the Qwen3.5 template. A checkpoint without tokenizer.json still
 * opens; the text calls then fail with BOSON_ERR_UNSUPPORTED naming the missing file.
 *
 * Threads: an engine is immutable after opening except through boson_engine_set_*; the
 * text calls (tokenize, detokenize, render) may run from any thread at once. A session (and
 * a generation on it) is used by one thread at a time; different sessions of one engine may
 * run on different threads.
 *
 * Memory: strings and arrays returned through `char **` / `int32_t **` out-parameters are
 * malloc'd; release them with boson_free. Results own their memory until
 * boson_gen_result_free.
 * ====================================================================================== */

/* Releases memory returned by the calls below (NULL is fine). */
void boson_free(void *p);

/* Resolves a model argument to a directory: `spec` is used as is when it names an existing
 * directory (or, for text-only calls, a tokenizer.json file); otherwise, when it looks like
 * a Hugging Face id ("org/name"), it is looked up in the Hugging Face cache:
 * $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub, entry
 * models--org--name/snapshots/<rev>, where <rev> is the commit in refs/main when that file
 * exists, else the only (or most recently modified) snapshot. *path_out (boson_free) is the
 * resolved path. On failure (BOSON_ERR_IO) the message names every place looked at and how
 * to download the model ("hf download org/name" or "huggingface-cli download org/name"). */
boson_status boson_model_resolve(const char *spec, char **path_out, boson_error *err);

/* Opens only the text side of a model (no weights): `path` is a model directory or a
 * tokenizer.json file (then no chat template beyond the built-in one and no generation
 * defaults). The engine supports the text calls and boson_engine_info; session calls fail
 * with BOSON_ERR_UNSUPPORTED. Close with boson_engine_close. */
boson_status boson_engine_open_text(boson_engine **out, const char *path, boson_error *err);

/* Replaces the chat template (Jinja text, len bytes) used by boson_render_chat. Syntax
 * errors name line and column. Not thread-safe against concurrent renders. */
boson_status boson_engine_set_chat_template(boson_engine *engine, const char *text, size_t len,
                                            boson_error *err);

/* Sampling options. Every field has an "unset" value; unset fields take the model's
 * generation_config.json value when it has one, else mlx-lm's default (shown in brackets).
 * boson_sampling_init sets every field unset. */
typedef struct boson_sampling {
    float temperature;             /* NAN unset [0]; 0 = greedy (argmax) */
    float top_p;                   /* NAN unset [1 = off]; active when 0 < top_p < 1 */
    float min_p;                   /* NAN unset [0 = off]; in [0, 1] */
    int top_k;                     /* -1 unset [0 = off]; 0 = off */
    float repetition_penalty;      /* NAN unset [1 = off]; multiplicative, sign-aware */
    float presence_penalty;        /* NAN unset [0 = off]; additive per distinct token */
    float frequency_penalty;       /* NAN unset [0 = off]; additive per occurrence */
    int penalty_window;            /* -1 unset [20]; tokens of history (prompt + output) the three
                                      penalties look at */
    int64_t seed;                  /* -1 unset: a seed is drawn from the OS (then reported in the
                                      result); equal seeds with equal inputs give equal tokens */
    const int32_t *logit_bias_ids; /* added to the logits of these ids (copied at begin) */
    const float *logit_bias_values;
    size_t n_logit_bias;
    int logprobs;     /* 1: report each sampled token's log-probability (on_token) */
    int top_logprobs; /* 0..20 alternatives per token with their log-probabilities */
} boson_sampling;

void boson_sampling_init(boson_sampling *s);

/* Thinking switch of chat templates (the template's `enable_thinking` variable). */
typedef enum boson_think {
    BOSON_THINK_DEFAULT = 0, /* variable not passed: the template's own default */
    BOSON_THINK_ON,          /* enable_thinking = true */
    BOSON_THINK_OFF          /* enable_thinking = false */
} boson_think;

/* What the model and its text side look like. Strings are owned by the engine. */
typedef struct boson_model_info {
    const char *path;         /* directory given to open (after resolution) */
    const char *model_id;     /* "org/name" for a Hugging Face cache snapshot, else the
                                 directory's base name */
    const char *architecture; /* config model_type ("qwen3_5", ...); "" for text-only */
    int64_t vocab_size;       /* logits per position (0 for text-only) */
    int64_t tokenizer_ids;    /* 1 + largest tokenizer id (0 without tokenizer) */
    int64_t context_length;   /* max_position_embeddings (0 when unknown) */
    int32_t eos_ids[8];       /* stop ids: generation_config eos_token_id, else config's */
    int n_eos;
    int32_t bos_id, pad_id;           /* -1 when absent */
    int has_tokenizer;                /* tokenizer.json loaded */
    const char *chat_template_source; /* "chat_template.jinja", "tokenizer_config.json",
                                         "built-in (Qwen3.5)" or "set by caller" */
    int think_tokens;                 /* the tokenizer has <think> and </think> */
    boson_sampling defaults;          /* generation_config.json values (unset where absent) */
    uint64_t weight_bytes;            /* all weights on disk */
    uint64_t bytes_per_token;         /* weight bytes read per decoded token (top-k experts only) */
    int n_threads;                    /* math threads */
} boson_model_info;

void boson_engine_info(const boson_engine *engine, boson_model_info *out);

/* Tokenizer flags. */
enum {
    /* Added tokens are never matched: "<|im_end|>" in the text stays ordinary text. For
     * untrusted text such as user messages. */
    BOSON_TOKENIZE_LITERAL = 1u << 0,
    /* Special added tokens stay text; non-special ones (<think>, <tool_call>) still match. */
    BOSON_TOKENIZE_SPLIT_SPECIAL = 1u << 1,
};

/* Encodes text[0..len) (any bytes; invalid UTF-8 becomes U+FFFD as in HF) into token ids
 * exactly as Hugging Face tokenizers does (no BOS/EOS added). *ids_out: boson_free. */
boson_status boson_tokenize(const boson_engine *engine, const char *text, size_t len,
                            unsigned flags, int32_t **ids_out, size_t *n_out, boson_error *err);

enum { BOSON_DETOKENIZE_SKIP_SPECIAL = 1u << 0 }; /* drop special added tokens */

/* Decodes ids to valid UTF-8 (invalid byte sequences become U+FFFD); *text_out is
 * NUL-terminated, boson_free. An id outside the tokenizer is an error naming its index. */
boson_status boson_detokenize(const boson_engine *engine, const int32_t *ids, size_t n,
                              unsigned flags, char **text_out, size_t *len_out, boson_error *err);

/* The raw bytes of one token (may be part of a UTF-8 character), or NULL if id is not a
 * token. Owned by the engine. */
const uint8_t *boson_token_bytes(const boson_engine *engine, int32_t id, size_t *len);

/* Chat rendering options. */
typedef struct boson_chat_options {
    const char *messages_json; /* OpenAI-style messages array (required) */
    const char *tools_json;    /* OpenAI tools array, or NULL */
    const char *extra_json;    /* object of further template variables (chat_template_kwargs),
                                  or NULL; its keys override the standard ones */
    int add_generation_prompt; /* default 1 */
    boson_think enable_thinking;
} boson_chat_options;

void boson_chat_options_init(boson_chat_options *o);

/* Renders the chat template byte for byte as transformers' apply_chat_template(...,
 * tokenize=False) does (jinja2, HF settings, message normalisation), with bos_token /
 * eos_token / pad_token from tokenizer_config.json as variables. *prompt_out: boson_free. */
boson_status boson_render_chat(const boson_engine *engine, const boson_chat_options *o,
                               char **prompt_out, size_t *len_out, boson_error *err);

/* Renders and tokenizes a chat for generation. User-controlled text must not become control
 * tokens: the rendered prompt is tokenized exactly as HF would, except when the content of a
 * user, tool or system message itself contains an added token's text (e.g. a typed
 * "<|im_end|>"); then the occurrences of that content in the rendered prompt are encoded in
 * literal mode and the rest normally (so such a prompt may differ from HF's ids around those
 * spans, by design). *ids_out: boson_free; prompt_out may be NULL, else gets the text. */
boson_status boson_chat_tokens(const boson_engine *engine, const boson_chat_options *o,
                               int32_t **ids_out, size_t *n_out, char **prompt_out,
                               size_t *prompt_len, boson_error *err);

/* ---- generation ---- */

/* A prompt: token ids when ids != NULL, else text (tokenized with tokenize_flags). */
typedef struct boson_prompt {
    const int32_t *ids;
    size_t n_ids;
    const char *text;
    size_t text_len;
    unsigned tokenize_flags; /* BOSON_TOKENIZE_* for text */
} boson_prompt;

typedef struct boson_gen_options {
    boson_sampling sampling;
    int64_t max_tokens;      /* <= 0: until a stop or the end of the context */
    const char *const *stop; /* stop strings (matched on the generated text, also across
                                token boundaries; the match and what follows are not
                                emitted) */
    size_t n_stop;
    const int32_t *stop_ids; /* stop token ids in addition to the model's eos ids */
    size_t n_stop_ids;
    int ignore_eos;    /* 1: the model's eos ids do not stop (stop_ids still do) */
    int prefill_chunk; /* tokens per prefill step (0: the session's chunk) */
    int reuse_prefix;  /* 1 (default): keep the part of the session that matches the
                          prompt (boson_session_sync); 0: start from an empty state */
    /* Output parsing into reasoning / content / tool calls. */
    int parse_reasoning;    /* -1 (default) auto: on when the tokenizer has <think>
                               tokens; 0 off (all text is content); 1 on */
    int starts_in_think;    /* -1 (default) auto: on when the prompt's text ends with an
                               open "<think>" (plus whitespace); 0 / 1 force */
    int parse_tool_calls;   /* -1 (default) auto: on when tools_json is given; 0 off;
                               1 on (untyped arguments without tools_json) */
    const char *tools_json; /* the request's tools, to type tool-call arguments */
} boson_gen_options;

void boson_gen_options_init(boson_gen_options *o);

/* What the streaming callback receives. Text is valid UTF-8 and not NUL-terminated. Content
 * and reasoning deltas concatenate to the result's content / reasoning. A tool call arrives
 * as BEGIN (index, id, name), ARGS fragments (JSON text that concatenates to the arguments
 * object) and END (arguments = the whole object). */
typedef enum boson_delta_kind {
    BOSON_DELTA_CONTENT,
    BOSON_DELTA_REASONING,
    BOSON_DELTA_TOOL_CALL_BEGIN,
    BOSON_DELTA_TOOL_CALL_ARGS,
    BOSON_DELTA_TOOL_CALL_END
} boson_delta_kind;

typedef struct boson_delta {
    boson_delta_kind kind;
    const char *text; /* CONTENT / REASONING / TOOL_CALL_ARGS: the text; END: the arguments */
    size_t len;
    size_t tool_index;     /* tool-call kinds: 0, 1, ... in order of appearance */
    const char *tool_id;   /* BEGIN: NUL-terminated id ("call_<index>" unless set) */
    const char *tool_name; /* BEGIN: NUL-terminated function name */
} boson_delta;

/* One sampled token with log-probabilities (only when sampling.logprobs or top_logprobs). */
typedef struct boson_token_info {
    int32_t token;
    float logprob;        /* log softmax of the raw logits (before penalties and filters) */
    const uint8_t *bytes; /* token bytes (engine-owned), may be part of a UTF-8 character */
    size_t n_bytes;
    int n_top; /* alternatives below, most likely first */
    int32_t top_ids[20];
    float top_logprobs[20];
} boson_token_info;

/* Callbacks; every member may be NULL. A nonzero return from on_delta or on_token, or from
 * should_cancel, stops the generation with finish reason BOSON_FINISH_CANCELLED (not an
 * error). should_cancel is polled before every prefill chunk and every decoded token.
 * on_prefill reports progress after each prefill chunk (done of total prompt tokens that
 * needed evaluation). */
typedef struct boson_gen_callbacks {
    void *user;
    int (*on_delta)(void *user, const boson_delta *d);
    int (*on_token)(void *user, const boson_token_info *t);
    int (*should_cancel)(void *user);
    void (*on_prefill)(void *user, int64_t done, int64_t total);
} boson_gen_callbacks;

typedef enum boson_finish {
    BOSON_FINISH_NONE = 0,   /* not finished (or failed) */
    BOSON_FINISH_STOP,       /* eos / stop id / stop string */
    BOSON_FINISH_LENGTH,     /* max_tokens or the context length reached */
    BOSON_FINISH_TOOL_CALLS, /* stopped after the model produced tool calls */
    BOSON_FINISH_CANCELLED   /* callback or boson_gen_end before completion */
} boson_finish;

const char *boson_finish_name(boson_finish f); /* "stop", "length", "tool_calls", ... */

typedef struct boson_tool_call_result {
    char *id, *name, *arguments; /* NUL-terminated; arguments is a compact JSON object */
} boson_tool_call_result;

typedef struct boson_gen_result {
    boson_finish finish;
    int stop_index;             /* index into options.stop of the stop string hit, else -1 */
    int32_t stop_token;         /* the eos / stop id that ended generation, else -1 */
    uint64_t seed;              /* the seed used (drawn one when unset) */
    int64_t prompt_tokens;      /* prompt length */
    int64_t cached_tokens;      /* prompt tokens already in the session (not evaluated again) */
    int64_t completion_tokens;  /* tokens sampled (including a final stop token) */
    double ttft_s;              /* begin -> first token sampled */
    double prefill_s, decode_s; /* wall time evaluating the prompt / decoding */
    double prefill_tok_s;       /* (prompt_tokens - cached_tokens) / prefill_s */
    double decode_tok_s;        /* tokens evaluated while decoding / decode_s */
    uint64_t bytes_per_token;   /* weight bytes read per decoded token (quant plan) */
    double decode_gb_s;         /* bytes_per_token * decode_tok_s / 1e9 */
    char *text;                 /* raw generated text (stop string and stop token excluded) */
    size_t text_len;
    char *content; /* parsed: answer text */
    size_t content_len;
    char *reasoning; /* parsed: <think> text */
    size_t reasoning_len;
    boson_tool_call_result *tool_calls;
    size_t n_tool_calls;
    int32_t *tokens; /* generated ids (stop token included when one ended it) */
    size_t n_tokens;
} boson_gen_result;

void boson_gen_result_free(boson_gen_result *r);

/* Step-wise generation, for callers that interleave several sessions on one thread:
 *
 *   boson_gen *g;
 *   boson_gen_begin(session, &prompt, &opts, &cb, &g, &err);
 *   int done = 0;
 *   while (!done && boson_gen_step(g, &done, &err) == BOSON_OK) {}
 *   boson_gen_end(g, &result, &err);    // always call; frees g
 *
 * begin tokenizes the prompt, syncs the session with it (reuse_prefix) and validates the
 * options; it evaluates nothing. Each step does one unit of work: one prefill chunk, or one
 * decoded token (sample, emit, evaluate). A step that ends the generation sets *done. A
 * failing step returns the error (the session is then reset); end still releases. Ending
 * before done finishes with BOSON_FINISH_CANCELLED; the session stays usable either way
 * (its history is what was evaluated). options, callbacks and the prompt are copied: they
 * need not outlive begin. At most one generation per session at a time. */
typedef struct boson_gen boson_gen;

boson_status boson_gen_begin(boson_session *session, const boson_prompt *prompt,
                             const boson_gen_options *options, const boson_gen_callbacks *callbacks,
                             boson_gen **out, boson_error *err);
boson_status boson_gen_step(boson_gen *gen, int *done, boson_error *err);
/* Fills result (may be NULL) and frees gen. */
boson_status boson_gen_end(boson_gen *gen, boson_gen_result *result, boson_error *err);

/* Progress of a generation: prompt tokens still to evaluate and tokens generated. */
void boson_gen_progress(const boson_gen *gen, int64_t *prefill_left, int64_t *generated);

/* Blocking form: begin, step until done, end. */
boson_status boson_session_generate(boson_session *session, const boson_prompt *prompt,
                                    const boson_gen_options *options,
                                    const boson_gen_callbacks *callbacks, boson_gen_result *result,
                                    boson_error *err);

/* ---- prefix reuse ----
 * A session keeps the ids of every token it evaluated (its history, boson_session_eval
 * included) and one "anchor": a snapshot taken at the end of the last generation's prompt.
 * boson_session_sync prepares the session for a new prompt of n ids:
 *   - if the history is a prefix of ids (and shorter), nothing changes;
 *   - else if the anchor's tokens are a prefix of ids (and shorter), the anchor is restored
 *     (the state right after the earlier prompt: chat turns reuse everything before the
 *     previous answer, whose rendering the template may change);
 *   - else the session is reset.
 * At least the last prompt token is always left to evaluate (its logits start decoding).
 * *n_kept receives the number of prompt tokens already in the state. boson_gen_begin calls
 * this when reuse_prefix is set; a server keeping one session per conversation gets prompt
 * caching from it. */
boson_status boson_session_sync(boson_session *session, const int32_t *ids, size_t n,
                                size_t *n_kept, boson_error *err);

/* The session's token history: *tokens points into the session (valid until the next call
 * on it); returns its length (== boson_session_position). */
size_t boson_session_history(const boson_session *session, const int32_t **tokens);

/* The engine a session belongs to. */
boson_engine *boson_session_engine(const boson_session *session);

#ifdef __cplusplus
}
#endif

#endif /* BOSON_H */
