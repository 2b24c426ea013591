/* Generation over a session: chunked prefill, sampling, stop ids / stop strings / max_tokens,
 * streaming UTF-8 deltas split into reasoning, content and tool calls, timing. Step-wise
 * (boson_gen_begin / step / end) with the blocking boson_session_generate as a loop over it. */
#include "base/error.h"
#include "engine/engine_impl.h"
#include "engine/sampler.h"
#include "engine/sampling.h"
#include "engine/stopstr.h"
#include "text/detok_stream.h"
#include "text/output_parser.h"
#include "text/textbuf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef enum gen_phase { PHASE_PREFILL, PHASE_DECODE, PHASE_DONE } gen_phase;

typedef struct gen_tool {
    char *id, *name, *arguments;
} gen_tool;

struct boson_gen {
    boson_session *s;
    boson_engine *e;
    boson_gen_callbacks cb;
    int64_t max_tokens;
    int32_t *stop_ids;
    size_t n_stop_ids;
    bs_stopstr stops;
    size_t chunk;

    int32_t *prompt;
    size_t n_prompt, n_kept, at; /* at: next prompt index to evaluate */
    int64_t ctx_limit;           /* positions available (0: unbounded) */

    bs_sampler sampler;
    int sampler_ok;
    int want_lp, n_top;
    uint64_t seed;
    float *logits;

    bs_detok detok;
    bs_bytes_buf text; /* all generated text (stop string excluded once found) */
    size_t released;   /* bytes of text handed to the parser */
    bs_outparse *parser;
    bs_bytes_buf content, reasoning;
    gen_tool *tools;
    size_t n_tools;

    int32_t *out;
    size_t n_out, cap_out;

    gen_phase phase;
    boson_finish finish;
    int stop_index;
    int32_t stop_token;
    int cancelled_by_cb;

    double t_begin, t_first, prefill_s, decode_s;
    int64_t decode_evals;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void boson_gen_options_init(boson_gen_options *o)
{
    memset(o, 0, sizeof *o);
    boson_sampling_init(&o->sampling);
    o->reuse_prefix = 1;
    o->parse_reasoning = -1;
    o->starts_in_think = -1;
    o->parse_tool_calls = -1;
}

const char *boson_finish_name(boson_finish f)
{
    switch (f) {
    case BOSON_FINISH_NONE: return "none";
    case BOSON_FINISH_STOP: return "stop";
    case BOSON_FINISH_LENGTH: return "length";
    case BOSON_FINISH_TOOL_CALLS: return "tool_calls";
    case BOSON_FINISH_CANCELLED: return "cancelled";
    }
    return "unknown";
}

/* ---- parser sink: deltas to the caller and into the result ---- */

static boson_status emit(boson_gen *g, const boson_delta *d)
{
    if (g->cancelled_by_cb)
        return BOSON_OK; /* the caller asked to stop: no more callbacks */
    if (g->cb.on_delta && g->cb.on_delta(g->cb.user, d)) {
        g->cancelled_by_cb = 1;
        return BOSON_ERR_CANCELLED;
    }
    return BOSON_OK;
}

static boson_status sink_text(boson_gen *g, bs_bytes_buf *dst, boson_delta_kind kind, const char *t,
                              size_t n)
{
    if (!n)
        return BOSON_OK;
    if (!bs_bytes_append(dst, t, n))
        return BOSON_ERR_NOMEM;
    boson_delta d = {.kind = kind, .text = t, .len = n};
    return emit(g, &d);
}

static boson_status on_content(void *ctx, const char *t, size_t n)
{
    boson_gen *g = ctx;
    return sink_text(g, &g->content, BOSON_DELTA_CONTENT, t, n);
}

static boson_status on_reasoning(void *ctx, const char *t, size_t n)
{
    boson_gen *g = ctx;
    return sink_text(g, &g->reasoning, BOSON_DELTA_REASONING, t, n);
}

static boson_status on_tool_begin(void *ctx, size_t index, const char *id, const char *name)
{
    boson_gen *g = ctx;
    gen_tool *t = realloc(g->tools, (g->n_tools + 1) * sizeof *t);
    if (!t)
        return BOSON_ERR_NOMEM;
    g->tools = t;
    t = &g->tools[g->n_tools++];
    t->id = strdup(id);
    t->name = strdup(name);
    t->arguments = NULL;
    if (!t->id || !t->name)
        return BOSON_ERR_NOMEM;
    boson_delta d = {
        .kind = BOSON_DELTA_TOOL_CALL_BEGIN, .tool_index = index, .tool_id = id, .tool_name = name};
    return emit(g, &d);
}

static boson_status on_tool_args(void *ctx, size_t index, const char *frag, size_t n)
{
    boson_delta d = {
        .kind = BOSON_DELTA_TOOL_CALL_ARGS, .text = frag, .len = n, .tool_index = index};
    return emit(ctx, &d);
}

static boson_status on_tool_end(void *ctx, size_t index, const char *args)
{
    boson_gen *g = ctx;
    if (index < g->n_tools) {
        free(g->tools[index].arguments);
        g->tools[index].arguments = strdup(args);
        if (!g->tools[index].arguments)
            return BOSON_ERR_NOMEM;
    }
    boson_delta d = {
        .kind = BOSON_DELTA_TOOL_CALL_END, .text = args, .len = strlen(args), .tool_index = index};
    return emit(g, &d);
}

/* Hands text[released..upto) to the parser (or straight to content). */
static boson_status release(boson_gen *g, size_t upto, boson_error *err)
{
    if (upto <= g->released)
        return BOSON_OK;
    const char *t = (const char *)g->text.p + g->released;
    size_t n = upto - g->released;
    g->released = upto;
    boson_status st;
    if (g->parser) {
        bs_outparse_sink sink = {g,          on_content, on_reasoning, on_tool_begin, on_tool_args,
                                 on_tool_end};
        st = bs_outparse_feed(g->parser, t, n, &sink, err);
    } else {
        st = on_content(g, t, n);
    }
    if (st == BOSON_ERR_CANCELLED || st == BOSON_OK)
        return st;
    return err && err->status == st ? st : bs_error_set(err, st, "generate: emitting text failed");
}

/* End of the text: flush the detokenizer, release what is held, finish the parser. */
static boson_status finish_text(boson_gen *g, int flush_held, boson_error *err)
{
    boson_status st = BOSON_OK;
    if (flush_held) {
        size_t before = g->text.n;
        st = bs_detok_flush(&g->detok, &g->text, err);
        if (st == BOSON_OK && g->text.n > before && g->stops.n) {
            size_t pos, safe;
            int k = bs_stopstr_scan(&g->stops, (const char *)g->text.p, g->text.n, &pos, &safe);
            if (k >= 0) {
                g->text.n = pos;
                g->stop_index = k;
                g->finish = BOSON_FINISH_STOP;
            }
        }
        if (st == BOSON_OK)
            st = release(g, g->text.n, err);
    }
    if (st == BOSON_OK && g->parser) {
        bs_outparse_sink sink = {g,          on_content, on_reasoning, on_tool_begin, on_tool_args,
                                 on_tool_end};
        st = bs_outparse_finish(g->parser, &sink, err);
        if (st != BOSON_OK && st != BOSON_ERR_CANCELLED && (!err || err->status != st))
            st = bs_error_set(err, st, "generate: finishing the output parser failed");
    }
    if (st == BOSON_ERR_CANCELLED)
        st = BOSON_OK; /* the answer is complete anyway */
    return st;
}

static void set_done(boson_gen *g, boson_finish f)
{
    g->phase = PHASE_DONE;
    if (g->finish == BOSON_FINISH_NONE)
        g->finish = f;
}

/* ---- begin ---- */

static int cancelled(boson_gen *g)
{
    return g->cb.should_cancel && g->cb.should_cancel(g->cb.user);
}

/* 1 if the prompt text ends with an open <think> (trailing whitespace allowed). */
static int prompt_in_think(const boson_engine *e, const int32_t *ids, size_t n)
{
    size_t k = n < 8 ? n : 8;
    bs_bytes_buf b = {0};
    int r = 0;
    if (bs_tokenizer_decode(e->text.tok, ids + n - k, k, 0, &b, NULL) == BOSON_OK) {
        size_t m = b.n;
        while (m && (b.p[m - 1] == ' ' || b.p[m - 1] == '\n' || b.p[m - 1] == '\r' ||
                     b.p[m - 1] == '\t'))
            m--;
        r = m >= 7 && !memcmp(b.p + m - 7, "<think>", 7);
    }
    bs_bytes_free(&b);
    return r;
}

static void gen_free(boson_gen *g)
{
    if (!g)
        return;
    if (g->s)
        g->s->generating = 0;
    free(g->stop_ids);
    bs_stopstr_free(&g->stops);
    free(g->prompt);
    if (g->sampler_ok)
        bs_sampler_free(&g->sampler);
    free(g->logits);
    bs_bytes_free(&g->text);
    bs_outparse_free(g->parser);
    bs_bytes_free(&g->content);
    bs_bytes_free(&g->reasoning);
    for (size_t i = 0; i < g->n_tools; i++) {
        free(g->tools[i].id);
        free(g->tools[i].name);
        free(g->tools[i].arguments);
    }
    free(g->tools);
    free(g->out);
    free(g);
}

static boson_status setup_prompt(boson_gen *g, const boson_prompt *p, boson_error *err)
{
    if (!p)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "generate: no prompt");
    if (p->ids) {
        if (!p->n_ids)
            return bs_error_set(err, BOSON_ERR_INVALID_ARG, "generate: empty prompt");
        g->prompt = malloc(p->n_ids * sizeof *g->prompt);
        if (!g->prompt)
            return bs_error_set(err, BOSON_ERR_NOMEM, "generate: out of memory");
        memcpy(g->prompt, p->ids, p->n_ids * sizeof *g->prompt);
        g->n_prompt = p->n_ids;
    } else {
        boson_status st = boson_tokenize(g->e, p->text, p->text_len, p->tokenize_flags, &g->prompt,
                                         &g->n_prompt, err);
        if (st != BOSON_OK)
            return st;
        if (!g->n_prompt)
            return bs_error_set(err, BOSON_ERR_INVALID_ARG, "generate: empty prompt");
    }
    int64_t V = g->e->loaded.cfg.vocab_size;
    for (size_t i = 0; i < g->n_prompt; i++)
        if (g->prompt[i] < 0 || g->prompt[i] >= V)
            return bs_error_set(err, BOSON_ERR_INVALID_ARG,
                                "generate: prompt token %zu is %ld, outside the vocabulary "
                                "[0, %lld)",
                                i, (long)g->prompt[i], (long long)V);
    if (g->ctx_limit > 0 && (int64_t)g->n_prompt >= g->ctx_limit)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG,
                            "generate: prompt of %zu tokens leaves no room in the context of "
                            "%lld tokens",
                            g->n_prompt, (long long)g->ctx_limit);
    return BOSON_OK;
}

static boson_status setup_options(boson_gen *g, const boson_gen_options *o, boson_error *err)
{
    boson_model_info info;
    boson_engine_info(g->e, &info);
    bs_sampler_params sp;
    boson_status st = bs_sampling_resolve(&o->sampling, &info.defaults, &sp, &g->seed, err);
    if (st != BOSON_OK)
        return st;
    st = bs_sampler_init(&g->sampler, &sp, (size_t)info.vocab_size, err);
    if (st != BOSON_OK)
        return st;
    g->sampler_ok = 1;
    g->want_lp = o->sampling.logprobs || o->sampling.top_logprobs > 0;
    g->n_top = o->sampling.top_logprobs;
    g->max_tokens = o->max_tokens;
    size_t n_ids = o->n_stop_ids + (o->ignore_eos ? 0 : (size_t)info.n_eos);
    g->stop_ids = malloc((n_ids ? n_ids : 1) * sizeof *g->stop_ids);
    if (!g->stop_ids)
        return bs_error_set(err, BOSON_ERR_NOMEM, "generate: out of memory");
    if (o->n_stop_ids && !o->stop_ids)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "generate: stop_ids missing");
    for (size_t i = 0; i < o->n_stop_ids; i++)
        g->stop_ids[g->n_stop_ids++] = o->stop_ids[i];
    if (!o->ignore_eos)
        for (int i = 0; i < info.n_eos; i++)
            g->stop_ids[g->n_stop_ids++] = info.eos_ids[i];
    st = bs_stopstr_init(&g->stops, o->stop, o->n_stop, err);
    if (st != BOSON_OK)
        return st;
    size_t chunk = g->s->chunk;
    if (o->prefill_chunk < 0)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "generate: prefill_chunk %d < 0",
                            o->prefill_chunk);
    g->chunk =
        o->prefill_chunk > 0 && (size_t)o->prefill_chunk < chunk ? (size_t)o->prefill_chunk : chunk;
    g->logits = malloc((size_t)info.vocab_size * sizeof *g->logits);
    if (!g->logits)
        return bs_error_set(err, BOSON_ERR_NOMEM, "generate: out of memory");
    g->ctx_limit = info.context_length;
    return BOSON_OK;
}

static boson_status setup_parser(boson_gen *g, const boson_gen_options *o, boson_error *err)
{
    const bs_engine_text *t = &g->e->text;
    int reasoning = o->parse_reasoning < 0 ? (t->think_open >= 0 && t->think_close >= 0)
                                           : o->parse_reasoning != 0;
    int tools = o->parse_tool_calls < 0 ? o->tools_json != NULL : o->parse_tool_calls != 0;
    if (!reasoning && !tools)
        return BOSON_OK;
    bs_outparse_options po;
    memset(&po, 0, sizeof po);
    po.no_think = !reasoning;
    if (reasoning)
        po.starts_in_think = o->starts_in_think < 0 ? prompt_in_think(g->e, g->prompt, g->n_prompt)
                                                    : o->starts_in_think != 0;
    po.tool_format = tools ? BS_TOOL_FORMAT_AUTO : BS_TOOL_FORMAT_NONE;
    po.tools_json = o->tools_json;
    po.tools_json_len = o->tools_json ? strlen(o->tools_json) : 0;
    g->parser = bs_outparse_new(&po, err);
    return g->parser ? BOSON_OK : (err && err->status ? err->status : BOSON_ERR_NOMEM);
}

boson_status boson_gen_begin(boson_session *s, const boson_prompt *prompt,
                             const boson_gen_options *options, const boson_gen_callbacks *callbacks,
                             boson_gen **out, boson_error *err)
{
    *out = NULL;
    if (!s)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "generate: no session");
    if (s->generating)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG,
                            "generate: the session already has a generation in progress");
    boson_status st = bs_engine_need_tok(s->engine, err);
    if (st != BOSON_OK && prompt && !prompt->ids)
        return st;
    boson_gen_options defaults;
    if (!options) {
        boson_gen_options_init(&defaults);
        options = &defaults;
    }
    boson_gen *g = calloc(1, sizeof *g);
    if (!g)
        return bs_error_set(err, BOSON_ERR_NOMEM, "generate: out of memory");
    g->s = s;
    g->e = s->engine;
    g->t_begin = now_s();
    g->stop_index = -1;
    g->stop_token = -1;
    if (callbacks)
        g->cb = *callbacks;
    s->generating = 1;
    st = setup_options(g, options, err);
    if (st == BOSON_OK)
        st = setup_prompt(g, prompt, err);
    if (st == BOSON_OK && g->e->text.tok)
        st = setup_parser(g, options, err);
    if (st == BOSON_OK && g->e->text.tok)
        bs_detok_init(&g->detok, g->e->text.tok, 0);
    if (st == BOSON_OK) {
        if (options->reuse_prefix)
            st = boson_session_sync(s, g->prompt, g->n_prompt, &g->n_kept, err);
        else
            boson_session_reset(s);
    }
    if (st != BOSON_OK) {
        gen_free(g);
        return st;
    }
    g->at = g->n_kept;
    g->phase = PHASE_PREFILL;
    *out = g;
    return BOSON_OK;
}

/* ---- steps ---- */

static int is_stop_id(const boson_gen *g, int32_t t)
{
    for (size_t i = 0; i < g->n_stop_ids; i++)
        if (g->stop_ids[i] == t)
            return 1;
    return 0;
}

static boson_status prefill_step(boson_gen *g, boson_error *err)
{
    size_t left = g->n_prompt - g->at;
    size_t cnt = left < g->chunk ? left : g->chunk;
    int last = cnt == left;
    double t0 = now_s();
    boson_status st =
        bs_session_eval_chunk(g->s, g->prompt + g->at, cnt, last ? g->logits : NULL, err);
    g->prefill_s += now_s() - t0;
    if (st != BOSON_OK)
        return st;
    g->at += cnt;
    if (g->cb.on_prefill)
        g->cb.on_prefill(g->cb.user, (int64_t)(g->at - g->n_kept),
                         (int64_t)(g->n_prompt - g->n_kept));
    if (last) {
        st = bs_session_set_anchor(g->s, err);
        if (st != BOSON_OK)
            return st;
        g->phase = PHASE_DECODE;
    }
    return BOSON_OK;
}

static boson_status push_token(boson_gen *g, int32_t t, boson_error *err)
{
    if (g->n_out == g->cap_out) {
        size_t cap = g->cap_out ? g->cap_out * 2 : 64;
        int32_t *o = realloc(g->out, cap * sizeof *o);
        if (!o)
            return bs_error_set(err, BOSON_ERR_NOMEM, "generate: out of memory");
        g->out = o;
        g->cap_out = cap;
    }
    g->out[g->n_out++] = t;
    return BOSON_OK;
}

/* Text of a sampled (non-stop) token through the stop-string matcher to the parser. */
static boson_status token_text(boson_gen *g, int32_t t, boson_error *err)
{
    if (!g->e->text.tok)
        return BOSON_OK;
    size_t nb;
    /* Embedding rows beyond the tokenizer's ids (real checkpoints pad the vocabulary) have no
     * text: they decode to nothing, as in mlx-lm and HF. */
    if (!bs_tokenizer_token_bytes(g->e->text.tok, t, &nb))
        return BOSON_OK;
    boson_status st = bs_detok_feed(&g->detok, t, &g->text, err);
    if (st != BOSON_OK)
        return st;
    size_t pos, safe = g->text.n;
    if (g->stops.n) {
        int k = bs_stopstr_scan(&g->stops, (const char *)g->text.p, g->text.n, &pos, &safe);
        if (k >= 0) {
            g->text.n = pos;
            g->stop_index = k;
            st = release(g, pos, err);
            set_done(g, BOSON_FINISH_STOP);
            return st;
        }
    }
    return release(g, safe, err);
}

static boson_status decode_step(boson_gen *g, boson_error *err)
{
    double t0 = now_s();
    const int32_t *hist;
    size_t n_hist = boson_session_history(g->s, &hist);
    bs_sample_info info;
    int32_t t = bs_sampler_sample(&g->sampler, g->logits, hist, n_hist, g->want_lp ? g->n_top : 0,
                                  g->want_lp ? &info : NULL);
    if (g->n_out == 0)
        g->t_first = now_s();
    boson_status st = push_token(g, t, err);
    if (st != BOSON_OK)
        return st;
    if (g->want_lp && g->cb.on_token) {
        boson_token_info ti;
        memset(&ti, 0, sizeof ti);
        ti.token = t;
        ti.logprob = info.logprob;
        ti.bytes = boson_token_bytes(g->e, t, &ti.n_bytes);
        ti.n_top = info.n_top;
        for (int i = 0; i < info.n_top; i++) {
            ti.top_ids[i] = info.top_ids[i];
            ti.top_logprobs[i] = info.top_logprobs[i];
        }
        if (g->cb.on_token(g->cb.user, &ti)) {
            g->cancelled_by_cb = 1;
            set_done(g, BOSON_FINISH_CANCELLED);
            return BOSON_OK;
        }
    }
    if (is_stop_id(g, t)) {
        g->stop_token = t;
        set_done(g, BOSON_FINISH_STOP);
        return BOSON_OK;
    }
    st = token_text(g, t, err);
    if (st == BOSON_ERR_CANCELLED) {
        set_done(g, BOSON_FINISH_CANCELLED);
        return BOSON_OK;
    }
    if (st != BOSON_OK || g->phase == PHASE_DONE)
        return st;
    if (g->max_tokens > 0 && (int64_t)g->n_out >= g->max_tokens) {
        set_done(g, BOSON_FINISH_LENGTH);
        return BOSON_OK;
    }
    if (g->ctx_limit > 0 && boson_session_position(g->s) + 1 >= g->ctx_limit) {
        set_done(g, BOSON_FINISH_LENGTH);
        return BOSON_OK;
    }
    st = bs_session_eval_chunk(g->s, &t, 1, g->logits, err);
    g->decode_s += now_s() - t0;
    g->decode_evals++;
    return st;
}

boson_status boson_gen_step(boson_gen *g, int *done, boson_error *err)
{
    *done = 1;
    if (!g)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "generate: no generation");
    if (g->phase == PHASE_DONE)
        return BOSON_OK;
    boson_status st = BOSON_OK;
    if (cancelled(g)) {
        set_done(g, BOSON_FINISH_CANCELLED);
    } else if (g->phase == PHASE_PREFILL) {
        st = prefill_step(g, err);
    } else {
        st = decode_step(g, err);
    }
    if (st != BOSON_OK) {
        /* the state may be half-updated: start the session over */
        boson_session_reset(g->s);
        g->phase = PHASE_DONE;
        return st;
    }
    *done = g->phase == PHASE_DONE;
    return BOSON_OK;
}

void boson_gen_progress(const boson_gen *g, int64_t *prefill_left, int64_t *generated)
{
    if (prefill_left)
        *prefill_left = g ? (int64_t)(g->n_prompt - g->at) : 0;
    if (generated)
        *generated = g ? (int64_t)g->n_out : 0;
}

/* ---- end ---- */

static char *dup_buf(const bs_bytes_buf *b, size_t *len)
{
    char *p = malloc(b->n + 1);
    if (p) {
        if (b->n)
            memcpy(p, b->p, b->n);
        p[b->n] = 0;
    }
    *len = b->n;
    return p;
}

static boson_status fill_result(boson_gen *g, boson_gen_result *r, boson_error *err)
{
    memset(r, 0, sizeof *r);
    r->finish = g->finish;
    if (r->finish == BOSON_FINISH_STOP && g->n_tools > 0)
        r->finish = BOSON_FINISH_TOOL_CALLS;
    r->stop_index = g->stop_index;
    r->stop_token = g->stop_token;
    r->seed = g->seed;
    r->prompt_tokens = (int64_t)g->n_prompt;
    r->cached_tokens = (int64_t)g->n_kept;
    r->completion_tokens = (int64_t)g->n_out;
    r->ttft_s = g->n_out ? g->t_first - g->t_begin : 0;
    r->prefill_s = g->prefill_s;
    r->decode_s = g->decode_s;
    r->prefill_tok_s = g->prefill_s > 0 ? (double)(g->at - g->n_kept) / g->prefill_s : 0;
    r->decode_tok_s = g->decode_s > 0 ? (double)g->decode_evals / g->decode_s : 0;
    boson_model_info info;
    boson_engine_info(g->e, &info);
    r->bytes_per_token = info.bytes_per_token;
    r->decode_gb_s = (double)info.bytes_per_token * r->decode_tok_s / 1e9;
    r->text = dup_buf(&g->text, &r->text_len);
    r->content = dup_buf(&g->content, &r->content_len);
    r->reasoning = dup_buf(&g->reasoning, &r->reasoning_len);
    r->tokens = malloc((g->n_out ? g->n_out : 1) * sizeof *r->tokens);
    r->n_tokens = g->n_out;
    int bad = !r->text || !r->content || !r->reasoning || !r->tokens;
    if (r->tokens && g->n_out)
        memcpy(r->tokens, g->out, g->n_out * sizeof *r->tokens);
    if (g->n_tools) {
        r->tool_calls = calloc(g->n_tools, sizeof *r->tool_calls);
        bad |= !r->tool_calls;
        for (size_t i = 0; r->tool_calls && i < g->n_tools; i++) {
            r->tool_calls[i].id = strdup(g->tools[i].id);
            r->tool_calls[i].name = strdup(g->tools[i].name);
            r->tool_calls[i].arguments =
                strdup(g->tools[i].arguments ? g->tools[i].arguments : "{}");
            r->n_tool_calls = i + 1;
            bad |= !r->tool_calls[i].id || !r->tool_calls[i].name || !r->tool_calls[i].arguments;
        }
    }
    if (bad) {
        boson_gen_result_free(r);
        return bs_error_set(err, BOSON_ERR_NOMEM, "generate: out of memory for the result");
    }
    return BOSON_OK;
}

boson_status boson_gen_end(boson_gen *g, boson_gen_result *result, boson_error *err)
{
    if (result)
        memset(result, 0, sizeof *result);
    if (!g)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "generate: no generation");
    if (g->phase != PHASE_DONE)
        set_done(g, BOSON_FINISH_CANCELLED);
    if (g->finish == BOSON_FINISH_NONE)
        g->finish = BOSON_FINISH_CANCELLED;
    boson_status st = BOSON_OK;
    if (g->e->text.tok) {
        /* a stop-string hit already released everything before it */
        st = finish_text(g, g->stop_index < 0, err);
    }
    if (st == BOSON_OK && result)
        st = fill_result(g, result, err);
    gen_free(g);
    return st;
}

void boson_gen_result_free(boson_gen_result *r)
{
    if (!r)
        return;
    free(r->text);
    free(r->content);
    free(r->reasoning);
    free(r->tokens);
    for (size_t i = 0; i < r->n_tool_calls; i++) {
        free(r->tool_calls[i].id);
        free(r->tool_calls[i].name);
        free(r->tool_calls[i].arguments);
    }
    free(r->tool_calls);
    memset(r, 0, sizeof *r);
}

boson_status boson_session_generate(boson_session *s, const boson_prompt *prompt,
                                    const boson_gen_options *options,
                                    const boson_gen_callbacks *callbacks, boson_gen_result *result,
                                    boson_error *err)
{
    if (result)
        memset(result, 0, sizeof *result);
    boson_gen *g;
    boson_status st = boson_gen_begin(s, prompt, options, callbacks, &g, err);
    if (st != BOSON_OK)
        return st;
    int done = 0;
    while (!done && st == BOSON_OK)
        st = boson_gen_step(g, &done, err);
    if (st != BOSON_OK) {
        boson_gen_end(g, NULL, NULL);
        return st;
    }
    return boson_gen_end(g, result, err);
}
