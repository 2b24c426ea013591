/* Engine (loaded model + kernels + thread pool + backend + model parameters + text side) and
 * sessions (state + work buffers + token history + prefix-reuse anchor), the public API of
 * include/boson.h. */
#include "boson.h"

#include "backend/cpu/backend_cpu.h"
#include "base/error.h"
#include "engine/engine_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_PREFILL_CHUNK 256

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
    if (e->gen_cfg_ok)
        bs_config_free(&e->gen_cfg);
    bs_engine_text_free(&e->text);
    free(e->path);
    free(e->model_id);
    free(e);
}

static boson_status set_names(boson_engine *e, const char *path, boson_error *err)
{
    e->path = strdup(path);
    e->model_id = bs_model_id_from_path(path);
    if (!e->path || !e->model_id)
        return bs_error_set(err, BOSON_ERR_NOMEM, "engine: out of memory");
    return BOSON_OK;
}

const bs_config *bs_engine_config(const boson_engine *e)
{
    if (e->loaded_ok)
        return &e->loaded.cfg;
    return e->gen_cfg_ok ? &e->gen_cfg : NULL;
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
    if (st == BOSON_OK)
        st = set_names(e, o->model_path, err);
    if (st == BOSON_OK)
        st = bs_engine_text_load(&e->text, o->model_path, err);
    if (st != BOSON_OK) {
        boson_engine_close(e);
        return st;
    }
    *out = e;
    return BOSON_OK;
}

int64_t boson_engine_vocab_size(const boson_engine *e)
{
    return e && e->loaded_ok ? e->loaded.cfg.vocab_size : 0;
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
    boson_session_free_snapshot(s->anchor);
    bs_fw_work_free(&s->work, &s->engine->model);
    bs_state_free(&s->state);
    free(s->last_logits);
    free(s->hist);
    free(s);
}

boson_status boson_session_create(boson_engine *e, const boson_session_options *o,
                                  boson_session **out, boson_error *err)
{
    *out = NULL;
    if (!e)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "session: no engine");
    if (!e->model_ok)
        return bs_error_set(err, BOSON_ERR_UNSUPPORTED,
                            "session: %s was opened without weights (text only)", e->path);
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

static boson_status hist_reserve(boson_session *s, size_t extra, boson_error *err)
{
    size_t need = (size_t)s->state.pos + extra;
    if (need <= s->hist_cap)
        return BOSON_OK;
    size_t cap = s->hist_cap ? s->hist_cap : 256;
    while (cap < need)
        cap *= 2;
    int32_t *h = realloc(s->hist, cap * sizeof *h);
    if (!h)
        return bs_error_set(err, BOSON_ERR_NOMEM, "session: out of memory for token history");
    s->hist = h;
    s->hist_cap = cap;
    return BOSON_OK;
}

/* One forward call of at most s->chunk tokens (ids already validated). */
static boson_status forward_chunk(boson_session *s, const int32_t *tokens, size_t cnt,
                                  bs_logits_mode mode, float *dst, boson_error *err)
{
    boson_status st = hist_reserve(s, cnt, err);
    if (st != BOSON_OK)
        return st;
    int64_t pos0 = s->state.pos;
    st = bs_forward(&s->engine->model, &s->work, &s->state, tokens, cnt, mode, dst, &s->stats, err);
    if (st != BOSON_OK)
        return st;
    memcpy(s->hist + pos0, tokens, cnt * sizeof *tokens);
    return BOSON_OK;
}

static boson_status check_ids(const boson_session *s, const int32_t *tokens, size_t n,
                              boson_error *err)
{
    int64_t V = s->engine->loaded.cfg.vocab_size;
    for (size_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= V)
            return bs_error_set(err, BOSON_ERR_INVALID_ARG,
                                "eval: token %zu is %ld, outside the vocabulary [0, %lld)", i,
                                (long)tokens[i], (long long)V);
    return BOSON_OK;
}

boson_status boson_session_eval(boson_session *s, const int32_t *tokens, size_t n,
                                float *logits_out, int all_logits, boson_error *err)
{
    if (!s || (!tokens && n))
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "eval: no session or no tokens");
    if (n == 0)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "eval: empty token list");
    boson_status st = check_ids(s, tokens, n, err);
    if (st != BOSON_OK)
        return st;
    int64_t V = s->engine->loaded.cfg.vocab_size;
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
        st = forward_chunk(s, tokens + t0, cnt, mode, dst, err);
        if (st != BOSON_OK)
            return st;
    }
    return BOSON_OK;
}

boson_status bs_session_eval_chunk(boson_session *s, const int32_t *tokens, size_t n,
                                   float *logits_last, boson_error *err)
{
    if (n == 0 || n > s->chunk)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "eval: chunk of %zu tokens (1..%zu)", n,
                            s->chunk);
    boson_status st = check_ids(s, tokens, n, err);
    if (st != BOSON_OK)
        return st;
    return forward_chunk(s, tokens, n, logits_last ? BS_LOGITS_LAST : BS_LOGITS_NONE, logits_last,
                         err);
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
    *out = NULL;
    if (!s)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "snapshot: no session");
    boson_snapshot *w = calloc(1, sizeof *w);
    size_t n = (size_t)s->state.pos;
    if (w && n) {
        w->tokens = malloc(n * sizeof *w->tokens);
        if (!w->tokens) {
            free(w);
            w = NULL;
        }
    }
    if (!w)
        return bs_error_set(err, BOSON_ERR_NOMEM, "snapshot: out of memory");
    boson_status st = bs_state_snapshot(&s->state, include_kv, &w->snap, err);
    if (st != BOSON_OK) {
        free(w->tokens);
        free(w);
        return st;
    }
    if (n)
        memcpy(w->tokens, s->hist, n * sizeof *w->tokens);
    w->n = n;
    *out = w;
    return BOSON_OK;
}

boson_status boson_session_restore(boson_session *s, const boson_snapshot *snap, boson_error *err)
{
    if (!s || !snap)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "restore: no session or snapshot");
    boson_status st = hist_reserve(s, snap->n > (size_t)s->state.pos ? snap->n : 0, err);
    if (st != BOSON_OK)
        return st;
    st = bs_state_restore(&s->state, snap->snap, err);
    if (st != BOSON_OK)
        return st;
    if (snap->n)
        memcpy(s->hist, snap->tokens, snap->n * sizeof *snap->tokens);
    return BOSON_OK;
}

int64_t boson_snapshot_position(const boson_snapshot *snap)
{
    return snap ? bs_snapshot_position(snap->snap) : 0;
}

void boson_session_free_snapshot(boson_snapshot *snap)
{
    if (!snap)
        return;
    bs_snapshot_free(snap->snap);
    free(snap->tokens);
    free(snap);
}

size_t boson_session_history(const boson_session *s, const int32_t **tokens)
{
    if (!s) {
        *tokens = NULL;
        return 0;
    }
    *tokens = s->hist;
    return (size_t)s->state.pos;
}

boson_engine *boson_session_engine(const boson_session *s)
{
    return s ? s->engine : NULL;
}

static size_t common_prefix(const int32_t *a, size_t na, const int32_t *b, size_t nb)
{
    size_t n = na < nb ? na : nb, i = 0;
    while (i < n && a[i] == b[i])
        i++;
    return i;
}

boson_status boson_session_sync(boson_session *s, const int32_t *ids, size_t n, size_t *n_kept,
                                boson_error *err)
{
    *n_kept = 0;
    if (!s || (!ids && n))
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "sync: no session or no tokens");
    size_t pos = (size_t)s->state.pos;
    if (pos < n && common_prefix(s->hist, pos, ids, n) == pos) {
        *n_kept = pos;
        return BOSON_OK;
    }
    const boson_snapshot *a = s->anchor;
    if (a && a->n < n && common_prefix(a->tokens, a->n, ids, n) == a->n) {
        boson_error tmp = {0};
        if (boson_session_restore(s, a, &tmp) == BOSON_OK) {
            *n_kept = a->n;
            return BOSON_OK;
        }
        /* a stale anchor is simply not reusable */
    }
    boson_session_reset(s);
    return BOSON_OK;
}

boson_status bs_session_set_anchor(boson_session *s, boson_error *err)
{
    boson_session_free_snapshot(s->anchor);
    s->anchor = NULL;
    return boson_session_snapshot(s, 0, &s->anchor, err);
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

boson_status boson_engine_open_text(boson_engine **out, const char *path, boson_error *err)
{
    *out = NULL;
    if (!path)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "engine: no tokenizer path given");
    boson_engine *e = calloc(1, sizeof *e);
    if (!e)
        return bs_error_set(err, BOSON_ERR_NOMEM, "engine: out of memory");
    e->text_only = 1;
    boson_status st = set_names(e, path, err);
    if (st == BOSON_OK)
        st = bs_engine_text_load(&e->text, path, err);
    if (st == BOSON_OK && !e->text.tok)
        st = bs_error_set(err, BOSON_ERR_IO, "%s", e->text.missing);
    if (st != BOSON_OK) {
        boson_engine_close(e);
        return st;
    }
    /* generation defaults and eos ids when the directory also has a config */
    boson_error ignored = {0};
    e->gen_cfg_ok = bs_config_load(path, &e->gen_cfg, &ignored) == BOSON_OK;
    *out = e;
    return BOSON_OK;
}

static float gen_float(double v)
{
    return v == v ? (float)v : NAN;
}

void boson_engine_info(const boson_engine *e, boson_model_info *o)
{
    memset(o, 0, sizeof *o);
    boson_sampling_init(&o->defaults);
    o->bos_id = o->pad_id = -1;
    o->architecture = "";
    if (!e)
        return;
    o->path = e->path;
    o->model_id = e->model_id;
    const bs_config *c = bs_engine_config(e);
    if (c) {
        o->architecture = c->model_type;
        o->context_length = c->max_position_embeddings;
        o->n_eos = c->n_eos < 8 ? c->n_eos : 8;
        for (int i = 0; i < o->n_eos; i++)
            o->eos_ids[i] = c->eos_ids[i];
        o->bos_id = c->bos_id;
        o->pad_id = c->pad_id;
        o->defaults.temperature = gen_float(c->gen_temperature);
        o->defaults.top_p = gen_float(c->gen_top_p);
        o->defaults.min_p = gen_float(c->gen_min_p);
        o->defaults.repetition_penalty = gen_float(c->gen_repetition_penalty);
        o->defaults.top_k = c->gen_top_k >= 0 && c->gen_top_k <= INT32_MAX ? (int)c->gen_top_k : -1;
    }
    if (e->loaded_ok) {
        o->vocab_size = e->loaded.cfg.vocab_size;
        bs_plan_stats ps;
        bs_plan_stats_compute(&e->loaded.plan, &ps);
        o->weight_bytes = ps.weight_bytes;
        o->bytes_per_token = ps.bytes_per_token;
    }
    if (e->pool)
        o->n_threads = bs_pool_threads(e->pool);
    o->has_tokenizer = e->text.tok != NULL;
    if (e->text.tok)
        o->tokenizer_ids = (int64_t)bs_tokenizer_n_ids(e->text.tok);
    o->chat_template_source = e->text.tmpl_source ? e->text.tmpl_source : "";
    o->think_tokens = e->text.think_open >= 0 && e->text.think_close >= 0;
}
