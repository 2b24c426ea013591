/* Engine (loaded model + kernels + thread pool + backend + model parameters) and sessions
 * (state + work buffers), the public API of include/boson.h. */
#include "boson.h"

#include "backend/cpu/backend_cpu.h"
#include "backend/cpu/qmatvec.h"
#include "base/error.h"
#include "base/threadpool.h"
#include "engine/load.h"
#include "model/cache.h"
#include "model/forward.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_PREFILL_CHUNK 256

struct boson_engine {
    bs_loaded loaded;
    int loaded_ok;
    bs_cpu_kernels kernels;
    bs_pool *pool;
    bs_backend *be;
    bs_model model;
    int model_ok;
};

struct boson_session {
    boson_engine *engine;
    bs_state state;
    bs_fw_work work;
    size_t chunk;
    bs_fw_stats stats;
    float *last_logits; /* host scratch [V] when the caller wants only the last row */
};

void boson_engine_options_init(boson_engine_options *o)
{
    memset(o, 0, sizeof *o);
}

void boson_engine_close(boson_engine *e)
{
    if (!e)
        return;
    if (e->model_ok)
        bs_model_free(&e->model);
    if (e->be)
        e->be->destroy(e->be);
    bs_pool_destroy(e->pool);
    if (e->loaded_ok)
        bs_loaded_free(&e->loaded);
    free(e);
}

boson_status boson_engine_open(boson_engine **out, const boson_engine_options *o, boson_error *err)
{
    *out = NULL;
    if (!o || !o->model_path)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "engine: no model path given");
    if (o->n_threads < 0)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "engine: n_threads %d < 0", o->n_threads);
    boson_engine *e = calloc(1, sizeof *e);
    if (!e)
        return bs_error_set(err, BOSON_ERR_NOMEM, "engine: out of memory");
    boson_status st = bs_load(o->model_path, &e->loaded, err);
    if (st != BOSON_OK) {
        free(e);
        return st;
    }
    e->loaded_ok = 1;
    e->loaded.plan.cfg = &e->loaded.cfg;
    e->loaded.plan.ck = &e->loaded.ck;
    if (!o->quiet)
        bs_loaded_log(&e->loaded, stderr);
    e->kernels = bs_cpu_kernels_detect();
    st = bs_pool_create(o->n_threads, &e->pool, err);
    if (st == BOSON_OK)
        st = bs_backend_cpu_create(e->pool, &e->kernels, &e->be, err);
    if (st == BOSON_OK) {
        st = bs_model_init(&e->model, e->be, &e->loaded.cfg, &e->loaded.plan, err);
        e->model_ok = st == BOSON_OK;
        if (st != BOSON_OK)
            bs_error_prefix(err, "%s: ", o->model_path);
    }
    if (st != BOSON_OK) {
        boson_engine_close(e);
        return st;
    }
    *out = e;
    return BOSON_OK;
}

int64_t boson_engine_vocab_size(const boson_engine *e)
{
    return e ? e->loaded.cfg.vocab_size : 0;
}

void boson_session_options_init(boson_session_options *o)
{
    memset(o, 0, sizeof *o);
    o->prefill_chunk = DEFAULT_PREFILL_CHUNK;
}

void boson_session_free(boson_session *s)
{
    if (!s)
        return;
    bs_fw_work_free(&s->work, &s->engine->model);
    bs_state_free(&s->state);
    free(s->last_logits);
    free(s);
}

boson_status boson_session_create(boson_engine *e, const boson_session_options *o,
                                  boson_session **out, boson_error *err)
{
    *out = NULL;
    if (!e)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "session: no engine");
    int chunk = o && o->prefill_chunk > 0 ? o->prefill_chunk : DEFAULT_PREFILL_CHUNK;
    if (o && o->prefill_chunk < 0)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "session: prefill_chunk %d < 0",
                            o->prefill_chunk);
    boson_session *s = calloc(1, sizeof *s);
    if (!s)
        return bs_error_set(err, BOSON_ERR_NOMEM, "session: out of memory");
    s->engine = e;
    s->chunk = (size_t)chunk;
    boson_status st = bs_state_init(&s->state, e->be, &e->loaded.cfg, err);
    if (st == BOSON_OK)
        st = bs_fw_work_init(&s->work, &e->model, s->chunk, err);
    if (st == BOSON_OK) {
        s->last_logits = malloc((size_t)e->loaded.cfg.vocab_size * sizeof(float));
        if (!s->last_logits)
            st = bs_error_set(err, BOSON_ERR_NOMEM, "session: out of memory");
    }
    if (st != BOSON_OK) {
        boson_session_free(s);
        return st;
    }
    *out = s;
    return BOSON_OK;
}

boson_status boson_session_eval(boson_session *s, const int32_t *tokens, size_t n,
                                float *logits_out, int all_logits, boson_error *err)
{
    if (!s || (!tokens && n))
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "eval: no session or no tokens");
    if (n == 0)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "eval: empty token list");
    int64_t V = s->engine->loaded.cfg.vocab_size;
    for (size_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= V)
            return bs_error_set(err, BOSON_ERR_INVALID_ARG,
                                "eval: token %zu is %ld, outside the vocabulary [0, %lld)", i,
                                (long)tokens[i], (long long)V);
    const bs_model *m = &s->engine->model;
    for (size_t t0 = 0; t0 < n; t0 += s->chunk) {
        size_t cnt = n - t0 < s->chunk ? n - t0 : s->chunk;
        int last = t0 + cnt == n;
        bs_logits_mode mode = BS_LOGITS_NONE;
        float *dst = NULL;
        if (logits_out && all_logits) {
            mode = BS_LOGITS_ALL;
            dst = logits_out + t0 * (size_t)V;
        } else if (logits_out && last) {
            mode = BS_LOGITS_LAST;
            dst = logits_out;
        }
        boson_status st =
            bs_forward(m, &s->work, &s->state, tokens + t0, cnt, mode, dst, &s->stats, err);
        if (st != BOSON_OK)
            return st;
    }
    return BOSON_OK;
}

int64_t boson_session_position(const boson_session *s)
{
    return s ? s->state.pos : 0;
}

void boson_session_reset(boson_session *s)
{
    if (s)
        bs_state_reset(&s->state);
}

boson_status boson_session_snapshot(boson_session *s, int include_kv, boson_snapshot **out,
                                    boson_error *err)
{
    return bs_state_snapshot(&s->state, include_kv, (bs_snapshot **)out, err);
}

boson_status boson_session_restore(boson_session *s, const boson_snapshot *snap, boson_error *err)
{
    if (!s || !snap)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "restore: no session or snapshot");
    return bs_state_restore(&s->state, (const bs_snapshot *)snap, err);
}

int64_t boson_snapshot_position(const boson_snapshot *snap)
{
    return snap ? bs_snapshot_position((const bs_snapshot *)snap) : 0;
}

void boson_session_free_snapshot(boson_snapshot *snap)
{
    bs_snapshot_free((bs_snapshot *)snap);
}

void boson_session_stats(const boson_session *s, boson_stats *o)
{
    memset(o, 0, sizeof *o);
    if (!s)
        return;
    const bs_fw_stats *f = &s->stats;
    o->gdn_in = f->set_dispatch[BS_SET_GDN_IN];
    o->attn_qkv = f->set_dispatch[BS_SET_ATTN_QKV];
    o->mlp_gate_up = f->set_dispatch[BS_SET_MLP_GATE_UP];
    o->shared_gate_up = f->set_dispatch[BS_SET_SHARED_GATE_UP];
    o->router = f->set_dispatch[BS_SET_ROUTER];
    o->expert_gate_up = f->set_dispatch[BS_SET_EXPERT_GATE_UP];
    o->single = f->single_dispatch;
    o->chunks = f->chunks;
    o->tokens = f->tokens;
    const bs_config *c = &s->engine->loaded.cfg;
    for (int64_t i = 0; i < c->num_hidden_layers; i++) {
        if (c->layer_is_attention[i])
            o->attn_layers++;
        else
            o->gdn_layers++;
    }
}
