/* Private layout of the public engine, session and snapshot handles, shared by the engine's
 * files (engine.c: model and sessions; text.c: tokenizer and chat template; generate.c:
 * generation). */
#ifndef BOSON_ENGINE_ENGINE_IMPL_H
#define BOSON_ENGINE_ENGINE_IMPL_H

#include "backend/cpu/qmatvec.h"
#include "base/threadpool.h"
#include "boson.h"
#include "engine/load.h"
#include "model/cache.h"
#include "model/forward.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"

#include <stddef.h>
#include <stdint.h>

/* The text side: tokenizer, chat template and the special-token strings the template sees. */
typedef struct bs_engine_text {
    bs_tokenizer *tok;       /* NULL: no tokenizer.json */
    char missing[512];       /* why tok is NULL (for error messages) */
    bs_chat_template *tmpl;  /* always set once the text side is loaded */
    const char *tmpl_source; /* static string */
    char *bos_token, *eos_token, *pad_token, *unk_token; /* tokenizer_config strings or NULL */
    int32_t think_open, think_close;                     /* ids of <think> / </think>, or -1 */
} bs_engine_text;

struct boson_engine {
    bs_loaded loaded;
    int loaded_ok;
    int text_only; /* opened by boson_engine_open_text: no weights */
    bs_cpu_kernels kernels;
    bs_pool *pool;
    bs_backend *be;
    bs_model model;
    int model_ok;
    bs_engine_text text;
    char *path;        /* resolved directory (or tokenizer.json for text-only) */
    char *model_id;    /* "org/name" or base name */
    bs_config gen_cfg; /* text-only engines: generation_config.json / config.json if present */
    int gen_cfg_ok;
};

struct boson_snapshot {
    bs_snapshot *snap;
    int32_t *tokens; /* the session history at the snapshot */
    size_t n;
};

struct boson_session {
    boson_engine *engine;
    bs_state state;
    bs_fw_work work;
    size_t chunk;
    bs_fw_stats stats;
    float *last_logits; /* host scratch [V] when the caller wants only the last row */
    int32_t *hist;      /* ids of every evaluated token: hist[0..state.pos) */
    size_t hist_cap;
    struct boson_snapshot *anchor; /* end of the last generation's prompt, or NULL */
    int generating;                /* a boson_gen is attached */
};

/* The engine's config (model or text-only; NULL when neither has one). */
const bs_config *bs_engine_config(const boson_engine *e);

/* text.c: loads the text side of dir (a directory) or of a tokenizer.json file. A missing
 * tokenizer.json is not an error (text.tok stays NULL with text.missing set). */
boson_status bs_engine_text_load(bs_engine_text *t, const char *path, boson_error *err);
void bs_engine_text_free(bs_engine_text *t);
/* BOSON_ERR_UNSUPPORTED naming why there is no tokenizer, or OK. */
boson_status bs_engine_need_tok(const boson_engine *e, boson_error *err);

/* engine.c: evaluates tokens and records them in the history; logits of the last token to
 * logits_last when non-NULL. */
boson_status bs_session_eval_chunk(boson_session *s, const int32_t *tokens, size_t n,
                                   float *logits_last, boson_error *err);

/* engine.c: replaces the session's anchor by a light snapshot of its current state. */
boson_status bs_session_set_anchor(boson_session *s, boson_error *err);

/* resolve.c: "org/name" for a path inside a Hugging Face cache entry, else the base name;
 * malloc'd (NULL on allocation failure). */
char *bs_model_id_from_path(const char *path);

#endif
