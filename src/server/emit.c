/* OpenAI response shapes: chat.completion / text_completion bodies, their streamed chunks
 * (SSE "data:" events ending with "data: [DONE]"), logprobs and error bodies. */
#include "server/job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sv_job *sv_job_new(void)
{
    sv_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    pthread_mutex_init(&j->mu, NULL);
    j->refs = 1;
    j->http_status = 200;
    j->session_slot = -1;
    j->fd = -1;
    atomic_init(&j->cancelled, 0);
    return j;
}

void sv_job_ref(sv_job *j)
{
    pthread_mutex_lock(&j->mu);
    j->refs++;
    pthread_mutex_unlock(&j->mu);
}

void sv_job_unref(sv_job *j)
{
    if (!j)
        return;
    pthread_mutex_lock(&j->mu);
    int left = --j->refs;
    pthread_mutex_unlock(&j->mu);
    if (left > 0)
        return;
    sv_request_free(&j->req);
    boson_free(j->ids);
    sv_buf_free(&j->out);
    sv_buf_free(&j->lp);
    sv_buf_free(&j->lp_tok);
    sv_buf_free(&j->lp_val);
    sv_buf_free(&j->lp_top);
    pthread_mutex_destroy(&j->mu);
    free(j);
}

void sv_error_body(sv_buf *b, const sv_error *e, int anthropic)
{
    sv_jw w;
    sv_jw_init(&w, b);
    sv_jw_obj(&w);
    if (anthropic) {
        sv_jw_key(&w, "type");
        sv_jw_str(&w, "error");
        sv_jw_key(&w, "error");
        sv_jw_obj(&w);
        sv_jw_key(&w, "type");
        sv_jw_str(&w, e->type);
        sv_jw_key(&w, "message");
        sv_jw_str(&w, e->message);
        sv_jw_obj_end(&w);
    } else {
        sv_jw_key(&w, "error");
        sv_jw_obj(&w);
        sv_jw_key(&w, "message");
        sv_jw_str(&w, e->message);
        sv_jw_key(&w, "type");
        sv_jw_str(&w, e->type);
        sv_jw_key(&w, "param");
        if (e->param[0])
            sv_jw_str(&w, e->param);
        else
            sv_jw_null(&w);
        sv_jw_key(&w, "code");
        if (e->code[0])
            sv_jw_str(&w, e->code);
        else
            sv_jw_null(&w);
        sv_jw_obj_end(&w);
    }
    sv_jw_obj_end(&w);
}

static int is_chat(const sv_job *j)
{
    return j->req.api == SV_API_CHAT;
}

static int is_anthropic(const sv_job *j)
{
    return j->req.api == SV_API_MESSAGES || j->req.api == SV_API_COUNT;
}

/* Opens `data: {"id",...,"choices":[{"index":0,` of a streamed chunk. */
static void chunk_open(sv_job *j, sv_jw *w)
{
    sv_buf_puts(&j->out, "data: ");
    sv_jw_init(w, &j->out);
    sv_jw_obj(w);
    sv_jw_key(w, "id");
    sv_jw_str(w, j->id);
    sv_jw_key(w, "object");
    sv_jw_str(w, is_chat(j) ? "chat.completion.chunk" : "text_completion");
    sv_jw_key(w, "created");
    sv_jw_int(w, j->created);
    sv_jw_key(w, "model");
    sv_jw_str(w, j->model);
    sv_jw_key(w, "system_fingerprint");
    sv_jw_str(w, "boson-" BOSON_VERSION);
    sv_jw_key(w, "choices");
    sv_jw_arr(w);
    sv_jw_obj(w);
    sv_jw_key(w, "index");
    sv_jw_int(w, 0);
}

static void chunk_close(sv_jw *w, const char *finish)
{
    sv_jw_key(w, "finish_reason");
    if (finish)
        sv_jw_str(w, finish);
    else
        sv_jw_null(w);
    sv_jw_obj_end(w);
    sv_jw_arr_end(w);
    sv_jw_obj_end(w);
    sv_buf_puts(w->b, "\n\n");
}

/* "logprobs": {...} or null, from the pending entries (which are then cleared). */
static void write_logprobs(sv_job *j, sv_jw *w)
{
    sv_jw_key(w, "logprobs");
    if (!j->req.samp.logprobs) {
        sv_jw_null(w);
        return;
    }
    sv_jw_obj(w);
    if (is_chat(j)) {
        sv_jw_key(w, "content");
        sv_jw_arr(w);
        sv_buf_put(w->b, j->lp.p ? j->lp.p : "", j->lp.len);
        w->has_item[w->depth - 1] = j->lp.len > 0;
        sv_jw_arr_end(w);
    } else {
        const char *keys[3] = {"tokens", "token_logprobs", "top_logprobs"};
        sv_buf *vals[3] = {&j->lp_tok, &j->lp_val, &j->lp_top};
        for (int k = 0; k < 3; k++) {
            sv_buf a = {0};
            sv_buf_puts(&a, "[");
            sv_buf_put(&a, vals[k]->p ? vals[k]->p : "", vals[k]->len);
            sv_buf_puts(&a, "]");
            sv_jw_key(w, keys[k]);
            sv_jw_raw(w, sv_buf_cstr(&a), a.oom ? 0 : a.len);
            sv_buf_free(&a);
        }
    }
    sv_jw_obj_end(w);
    j->lp.len = j->lp_tok.len = j->lp_val.len = j->lp_top.len = 0;
    j->n_lp = 0;
}

void sv_emit_keepalive(sv_job *j)
{
    if (j->req.stream)
        sv_buf_puts(&j->out, ": keepalive\n\n");
}

void sv_emit_start(sv_job *j)
{
    if (is_anthropic(j)) {
        sv_anth_start(j);
        return;
    }
    if (!j->req.stream || !is_chat(j))
        return;
    sv_jw w;
    chunk_open(j, &w);
    sv_jw_key(&w, "delta");
    sv_jw_obj(&w);
    sv_jw_key(&w, "role");
    sv_jw_str(&w, "assistant");
    sv_jw_key(&w, "content");
    sv_jw_str(&w, "");
    sv_jw_obj_end(&w);
    sv_jw_key(&w, "logprobs");
    sv_jw_null(&w);
    chunk_close(&w, NULL);
}

void sv_emit_delta(sv_job *j, const boson_delta *d)
{
    if (is_anthropic(j)) {
        sv_anth_delta(j, d);
        return;
    }
    if (!j->req.stream)
        return;
    sv_jw w;
    if (!is_chat(j)) {
        if (d->kind != BOSON_DELTA_CONTENT)
            return;
        chunk_open(j, &w);
        sv_jw_key(&w, "text");
        sv_jw_strn(&w, d->text, d->len);
        write_logprobs(j, &w);
        chunk_close(&w, NULL);
        return;
    }
    if (d->kind == BOSON_DELTA_TOOL_CALL_END)
        return;
    chunk_open(j, &w);
    sv_jw_key(&w, "delta");
    sv_jw_obj(&w);
    switch (d->kind) {
    case BOSON_DELTA_CONTENT:
        sv_jw_key(&w, "content");
        sv_jw_strn(&w, d->text, d->len);
        break;
    case BOSON_DELTA_REASONING:
        sv_jw_key(&w, "reasoning_content");
        sv_jw_strn(&w, d->text, d->len);
        break;
    case BOSON_DELTA_TOOL_CALL_BEGIN:
    case BOSON_DELTA_TOOL_CALL_ARGS:
        sv_jw_key(&w, "tool_calls");
        sv_jw_arr(&w);
        sv_jw_obj(&w);
        sv_jw_key(&w, "index");
        sv_jw_int(&w, (int64_t)d->tool_index);
        if (d->kind == BOSON_DELTA_TOOL_CALL_BEGIN) {
            sv_jw_key(&w, "id");
            sv_jw_str(&w, d->tool_id);
            sv_jw_key(&w, "type");
            sv_jw_str(&w, "function");
        }
        sv_jw_key(&w, "function");
        sv_jw_obj(&w);
        if (d->kind == BOSON_DELTA_TOOL_CALL_BEGIN) {
            sv_jw_key(&w, "name");
            sv_jw_str(&w, d->tool_name);
            sv_jw_key(&w, "arguments");
            sv_jw_str(&w, "");
        } else {
            sv_jw_key(&w, "arguments");
            sv_jw_strn(&w, d->text, d->len);
        }
        sv_jw_obj_end(&w);
        sv_jw_obj_end(&w);
        sv_jw_arr_end(&w);
        break;
    case BOSON_DELTA_TOOL_CALL_END: break;
    }
    sv_jw_obj_end(&w);
    if (d->kind == BOSON_DELTA_CONTENT)
        write_logprobs(j, &w);
    else {
        sv_jw_key(&w, "logprobs");
        sv_jw_null(&w);
    }
    chunk_close(&w, NULL);
}

/* A key given as raw bytes (token text), comma handled like sv_jw_key. */
static void before_key_raw(sv_jw *w)
{
    if (w->depth > 0 && w->depth <= SV_JW_MAX_DEPTH) {
        if (w->has_item[w->depth - 1])
            sv_buf_put(w->b, ",", 1);
        w->has_item[w->depth - 1] = 1;
    }
}

void sv_emit_token(sv_job *j, const boson_token_info *t)
{
    if (!j->req.samp.logprobs)
        return;
    sv_jw w;
    if (is_chat(j) || is_anthropic(j)) {
        if (j->lp.len)
            sv_buf_puts(&j->lp, ",");
        sv_jw_init(&w, &j->lp);
        sv_jw_obj(&w);
        sv_jw_key(&w, "token");
        sv_jw_strn(&w, (const char *)t->bytes, t->n_bytes);
        sv_jw_key(&w, "logprob");
        sv_jw_num(&w, t->logprob);
        sv_jw_key(&w, "bytes");
        sv_jw_arr(&w);
        for (size_t i = 0; i < t->n_bytes; i++)
            sv_jw_int(&w, t->bytes[i]);
        sv_jw_arr_end(&w);
        sv_jw_key(&w, "top_logprobs");
        sv_jw_arr(&w);
        for (int k = 0; k < t->n_top && k < 20; k++) {
            size_t nb = 0;
            const uint8_t *b = j->engine ? boson_token_bytes(j->engine, t->top_ids[k], &nb) : NULL;
            sv_jw_obj(&w);
            sv_jw_key(&w, "token");
            sv_jw_strn(&w, b ? (const char *)b : "", b ? nb : 0);
            sv_jw_key(&w, "logprob");
            sv_jw_num(&w, t->top_logprobs[k]);
            sv_jw_key(&w, "bytes");
            sv_jw_arr(&w);
            for (size_t i = 0; b && i < nb; i++)
                sv_jw_int(&w, b[i]);
            sv_jw_arr_end(&w);
            sv_jw_obj_end(&w);
        }
        sv_jw_arr_end(&w);
        sv_jw_obj_end(&w);
    } else {
        if (j->n_lp) {
            sv_buf_puts(&j->lp_tok, ",");
            sv_buf_puts(&j->lp_val, ",");
            sv_buf_puts(&j->lp_top, ",");
        }
        sv_json_str(&j->lp_tok, (const char *)t->bytes, t->n_bytes);
        sv_jw_init(&w, &j->lp_val);
        sv_jw_num(&w, t->logprob);
        sv_jw_init(&w, &j->lp_top);
        sv_jw_obj(&w);
        for (int k = 0; k < t->n_top && k < 20; k++) {
            size_t nb = 0;
            const uint8_t *b = j->engine ? boson_token_bytes(j->engine, t->top_ids[k], &nb) : NULL;
            before_key_raw(&w);
            sv_json_str(w.b, b ? (const char *)b : "", b ? nb : 0);
            sv_buf_puts(w.b, ":");
            w.after_key = 1;
            sv_jw_num(&w, t->top_logprobs[k]);
        }
        sv_jw_obj_end(&w);
    }
    j->n_lp++;
}

static const char *finish_name(const sv_job *j, const boson_gen_result *r)
{
    if (is_chat(j) && r->n_tool_calls > 0)
        return "tool_calls";
    switch (r->finish) {
    case BOSON_FINISH_LENGTH: return "length";
    case BOSON_FINISH_TOOL_CALLS: return is_chat(j) ? "tool_calls" : "stop";
    case BOSON_FINISH_NONE:
    case BOSON_FINISH_STOP:
    case BOSON_FINISH_CANCELLED: return "stop";
    }
    return "stop";
}

static void write_usage(sv_jw *w, const boson_gen_result *r)
{
    sv_jw_key(w, "usage");
    sv_jw_obj(w);
    sv_jw_key(w, "prompt_tokens");
    sv_jw_int(w, r->prompt_tokens);
    sv_jw_key(w, "completion_tokens");
    sv_jw_int(w, r->completion_tokens);
    sv_jw_key(w, "total_tokens");
    sv_jw_int(w, r->prompt_tokens + r->completion_tokens);
    sv_jw_key(w, "prompt_tokens_details");
    sv_jw_obj(w);
    sv_jw_key(w, "cached_tokens");
    sv_jw_int(w, r->cached_tokens);
    sv_jw_obj_end(w);
    sv_jw_obj_end(w);
}

static void finish_stream(sv_job *j, const boson_gen_result *r)
{
    sv_jw w;
    chunk_open(j, &w);
    if (is_chat(j)) {
        sv_jw_key(&w, "delta");
        sv_jw_obj(&w);
        sv_jw_obj_end(&w);
    } else {
        sv_jw_key(&w, "text");
        sv_jw_str(&w, "");
    }
    write_logprobs(j, &w);
    chunk_close(&w, finish_name(j, r));
    if (j->req.include_usage) {
        sv_buf_puts(&j->out, "data: ");
        sv_jw_init(&w, &j->out);
        sv_jw_obj(&w);
        sv_jw_key(&w, "id");
        sv_jw_str(&w, j->id);
        sv_jw_key(&w, "object");
        sv_jw_str(&w, is_chat(j) ? "chat.completion.chunk" : "text_completion");
        sv_jw_key(&w, "created");
        sv_jw_int(&w, j->created);
        sv_jw_key(&w, "model");
        sv_jw_str(&w, j->model);
        sv_jw_key(&w, "choices");
        sv_jw_arr(&w);
        sv_jw_arr_end(&w);
        write_usage(&w, r);
        sv_jw_obj_end(&w);
        sv_buf_puts(&j->out, "\n\n");
    }
    sv_buf_puts(&j->out, "data: [DONE]\n\n");
}

void sv_emit_finish(sv_job *j, const boson_gen_result *r)
{
    if (is_anthropic(j)) {
        sv_anth_finish(j, r);
        return;
    }
    if (j->req.stream) {
        finish_stream(j, r);
        return;
    }
    sv_jw w;
    sv_jw_init(&w, &j->out);
    sv_jw_obj(&w);
    sv_jw_key(&w, "id");
    sv_jw_str(&w, j->id);
    sv_jw_key(&w, "object");
    sv_jw_str(&w, is_chat(j) ? "chat.completion" : "text_completion");
    sv_jw_key(&w, "created");
    sv_jw_int(&w, j->created);
    sv_jw_key(&w, "model");
    sv_jw_str(&w, j->model);
    sv_jw_key(&w, "system_fingerprint");
    sv_jw_str(&w, "boson-" BOSON_VERSION);
    sv_jw_key(&w, "choices");
    sv_jw_arr(&w);
    sv_jw_obj(&w);
    sv_jw_key(&w, "index");
    sv_jw_int(&w, 0);
    if (is_chat(j)) {
        sv_jw_key(&w, "message");
        sv_jw_obj(&w);
        sv_jw_key(&w, "role");
        sv_jw_str(&w, "assistant");
        sv_jw_key(&w, "content");
        if (r->content_len == 0 && r->n_tool_calls > 0)
            sv_jw_null(&w);
        else
            sv_jw_strn(&w, r->content, r->content_len);
        if (r->reasoning_len > 0) {
            sv_jw_key(&w, "reasoning_content");
            sv_jw_strn(&w, r->reasoning, r->reasoning_len);
        }
        if (r->n_tool_calls > 0) {
            sv_jw_key(&w, "tool_calls");
            sv_jw_arr(&w);
            for (size_t i = 0; i < r->n_tool_calls; i++) {
                const boson_tool_call_result *tc = &r->tool_calls[i];
                sv_jw_obj(&w);
                sv_jw_key(&w, "id");
                sv_jw_str(&w, tc->id);
                sv_jw_key(&w, "type");
                sv_jw_str(&w, "function");
                sv_jw_key(&w, "function");
                sv_jw_obj(&w);
                sv_jw_key(&w, "name");
                sv_jw_str(&w, tc->name);
                sv_jw_key(&w, "arguments");
                sv_jw_str(&w, tc->arguments);
                sv_jw_obj_end(&w);
                sv_jw_obj_end(&w);
            }
            sv_jw_arr_end(&w);
        }
        sv_jw_obj_end(&w);
    } else {
        sv_jw_key(&w, "text");
        sv_jw_strn(&w, r->text, r->text_len);
    }
    write_logprobs(j, &w);
    sv_jw_key(&w, "finish_reason");
    sv_jw_str(&w, finish_name(j, r));
    sv_jw_obj_end(&w);
    sv_jw_arr_end(&w);
    write_usage(&w, r);
    sv_jw_obj_end(&w);
}

void sv_emit_fail(sv_job *j, int http, const char *message)
{
    sv_error e;
    sv_error_set(&e, http, NULL, NULL, "%s", message);
    if (!j->req.stream) {
        j->out.len = 0;
        j->http_status = http;
        sv_error_body(&j->out, &e, is_anthropic(j));
        return;
    }
    if (is_anthropic(j)) {
        sv_buf_puts(&j->out, "event: error\ndata: ");
        sv_error_body(&j->out, &e, 1);
        sv_buf_puts(&j->out, "\n\n");
        return;
    }
    sv_buf_puts(&j->out, "data: ");
    sv_error_body(&j->out, &e, 0);
    sv_buf_puts(&j->out, "\n\ndata: [DONE]\n\n");
}
