/* Anthropic Messages API: /v1/messages and /v1/messages/count_tokens bodies converted to
 * the OpenAI-style messages the chat template takes (system, text blocks, thinking,
 * tool_use -> assistant tool_calls, tool_result -> tool messages), and the Messages
 * response shapes: one message object, or the streamed event sequence message_start,
 * content_block_start/delta/stop, message_delta, message_stop. */
#include "server/job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Text of a string or of an array of text blocks, joined by newlines (new reference). */
static json_t *block_text(const json_t *v, const char *name, sv_error *e)
{
    if (json_is_string(v))
        return json_incref((json_t *)v);
    if (!json_is_array(v)) {
        sv_error_set(e, 400, name, "invalid_type",
                     "'%s' must be a string or an array of text blocks, got %s", name,
                     sv_type_name(v));
        return NULL;
    }
    sv_buf b = {0};
    size_t i;
    json_t *blk;
    json_array_foreach(v, i, blk)
    {
        json_t *type = json_object_get(blk, "type"), *text = json_object_get(blk, "text");
        if (!json_is_string(type) || strcmp(json_string_value(type), "text") ||
            !json_is_string(text)) {
            sv_buf_free(&b);
            sv_error_set(e, 400, name, "invalid_value",
                         "'%s[%zu]' must be a text block {\"type\": \"text\", \"text\": ...}", name,
                         i);
            return NULL;
        }
        if (i)
            sv_buf_put(&b, "\n", 1);
        sv_buf_put(&b, json_string_value(text), json_string_length(text));
    }
    json_t *s = json_stringn_nocheck(b.p ? b.p : "", b.len);
    int oom = b.oom;
    sv_buf_free(&b);
    if (!s || oom) {
        json_decref(s);
        sv_error_set(e, 500, NULL, NULL, "out of memory");
        return NULL;
    }
    return s;
}

static int append(json_t *arr, json_t *v, sv_error *e)
{
    if (!v || json_array_append_new(arr, v))
        return sv_error_set(e, 500, NULL, NULL, "out of memory");
    return 0;
}

static int convert_message(const json_t *m, size_t index, json_t *out, sv_error *e)
{
    char w[64];
    snprintf(w, sizeof w, "messages[%zu]", index);
    const char *role = NULL;
    if (!json_is_object(m))
        return sv_error_set(e, 400, w, "invalid_type", "'%s' must be an object", w);
    if (sv_get_str(m, "role", w, &role, e) < 0)
        return -1;
    if (!role || (strcmp(role, "user") && strcmp(role, "assistant")))
        return sv_error_set(e, 400, w, "invalid_value", "'%s.role' must be user or assistant", w);
    json_t *c = sv_opt(m, "content");
    if (!c)
        return sv_error_set(e, 400, w, "missing_field", "'%s.content' is required", w);
    if (json_is_string(c))
        return append(out, json_pack("{s:s,s:O}", "role", role, "content", c), e);
    if (!json_is_array(c))
        return sv_error_set(e, 400, w, "invalid_type",
                            "'%s.content' must be a string or an array of blocks", w);
    int asst = !strcmp(role, "assistant");
    sv_buf text = {0}, think = {0};
    json_t *calls = json_array();
    int rc = -1, n_text = 0;
    size_t i;
    json_t *blk;
    json_array_foreach(c, i, blk)
    {
        char bw[96];
        snprintf(bw, sizeof bw, "%s.content[%zu]", w, i);
        const char *type = NULL;
        if (!json_is_object(blk)) {
            sv_error_set(e, 400, bw, "invalid_type", "'%s' must be an object", bw);
            goto out;
        }
        if (sv_get_str(blk, "type", bw, &type, e) < 0)
            goto out;
        type = type ? type : "";
        json_t *t = json_object_get(blk, "text");
        if (!strcmp(type, "text") && json_is_string(t)) {
            if (n_text++)
                sv_buf_put(&text, "\n", 1);
            sv_buf_put(&text, json_string_value(t), json_string_length(t));
        } else if (asst && !strcmp(type, "thinking") &&
                   json_is_string(json_object_get(blk, "thinking"))) {
            sv_buf_puts(&think, json_string_value(json_object_get(blk, "thinking")));
        } else if (asst && !strcmp(type, "redacted_thinking")) {
            continue;
        } else if (asst && !strcmp(type, "tool_use")) {
            json_t *id = json_object_get(blk, "id"), *name = json_object_get(blk, "name");
            json_t *input = json_object_get(blk, "input");
            if (!json_is_string(name) || (input && !json_is_object(input))) {
                sv_error_set(e, 400, bw, "invalid_value",
                             "'%s' tool_use needs a string name and an object input", bw);
                goto out;
            }
            json_t *call = json_pack("{s:s,s:{s:O,s:o}}", "type", "function", "function", "name",
                                     name, "arguments", input ? json_incref(input) : json_object());
            if (call && json_is_string(id))
                json_object_set(call, "id", id);
            if (append(calls, call, e))
                goto out;
        } else if (!asst && !strcmp(type, "tool_result")) {
            json_t *id = json_object_get(blk, "tool_use_id");
            json_t *rc_ = sv_opt(blk, "content");
            json_t *s = rc_ ? block_text(rc_, bw, e) : json_string("");
            if (!s)
                goto out;
            json_t *msg = json_pack("{s:s,s:o}", "role", "tool", "content", s);
            if (msg && json_is_string(id))
                json_object_set(msg, "tool_call_id", id);
            if (append(out, msg, e))
                goto out;
        } else {
            sv_error_set(e, 400, bw, "unsupported_content",
                         "'%s': block type '%.40s' is not supported in a %s message", bw, type,
                         role);
            goto out;
        }
    }
    if (text.oom || think.oom) {
        sv_error_set(e, 500, NULL, NULL, "out of memory");
        goto out;
    }
    if (asst || n_text) {
        json_t *msg =
            json_pack("{s:s,s:s%}", "role", role, "content", text.p ? text.p : "", text.len);
        if (msg && think.len)
            json_object_set_new(msg, "reasoning_content", json_stringn_nocheck(think.p, think.len));
        if (msg && json_array_size(calls))
            json_object_set(msg, "tool_calls", calls);
        if (append(out, msg, e))
            goto out;
    }
    rc = 0;
out:
    sv_buf_free(&text);
    sv_buf_free(&think);
    json_decref(calls);
    return rc;
}

static int convert_tools(const json_t *b, sv_request *r, sv_error *e)
{
    json_t *tools = sv_opt(b, "tools");
    json_t *choice = sv_opt(b, "tool_choice");
    if (!tools)
        return 0;
    if (!json_is_array(tools))
        return sv_error_set(e, 400, "tools", "invalid_type", "'tools' must be an array");
    json_t *type = json_object_get(choice, "type");
    if (json_is_string(type) && !strcmp(json_string_value(type), "none"))
        return 0;
    json_t *out = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t)
    {
        json_t *name = json_object_get(t, "name"), *schema = json_object_get(t, "input_schema");
        json_t *desc = json_object_get(t, "description");
        if (!json_is_string(name) || (schema && !json_is_object(schema))) {
            json_decref(out);
            return sv_error_set(e, 400, "tools", "invalid_value",
                                "'tools[%zu]' needs a string name and an object input_schema", i);
        }
        json_t *f = json_pack("{s:O}", "name", name);
        if (f && json_is_string(desc))
            json_object_set(f, "description", desc);
        if (f && schema)
            json_object_set(f, "parameters", schema);
        if (append(out, json_pack("{s:s,s:o}", "type", "function", "function", f), e)) {
            json_decref(out);
            return -1;
        }
    }
    if (json_array_size(out))
        r->tools_json = sv_dump(out, e);
    json_decref(out);
    return (json_array_size(tools) && !r->tools_json) ? -1 : 0;
}

int sv_parse_messages(const char *body, size_t len, sv_api api, sv_request *r, sv_error *e)
{
    json_t *b;
    if (sv_body_object(body, len, &b, e))
        return -1;
    int rc = -1;
    json_t *out = json_array();
    const char *model = NULL;
    if (sv_get_str(b, "model", "model", &model, e) < 0)
        goto done;
    if (model && !(r->model = sv_strdup(model, e)))
        goto done;
    int found = sv_get_int(b, "max_tokens", "max_tokens", 1, INT32_MAX, &r->max_tokens, e);
    if (found < 0)
        goto done;
    if (!found && api == SV_API_MESSAGES) {
        sv_error_set(e, 400, "max_tokens", "missing_field", "'max_tokens' is required");
        goto done;
    }
    if (sv_get_bool(b, "stream", "stream", &r->stream, e) < 0 || sv_get_sampling(b, r, e) < 0 ||
        sv_get_stop(b, "stop_sequences", r, e) < 0)
        goto done;
    json_t *th = sv_opt(b, "thinking");
    if (th) {
        json_t *type = json_object_get(th, "type");
        if (!json_is_object(th) || !json_is_string(type)) {
            sv_error_set(e, 400, "thinking", "invalid_type",
                         "'thinking' must be {\"type\": \"enabled\" | \"disabled\", ...}");
            goto done;
        }
        r->think = strcmp(json_string_value(type), "disabled") ? BOSON_THINK_ON : BOSON_THINK_OFF;
    }
    json_t *sys = sv_opt(b, "system");
    if (sys) {
        json_t *s = block_text(sys, "system", e);
        if (!s || append(out, json_pack("{s:s,s:o}", "role", "system", "content", s), e))
            goto done;
    }
    json_t *msgs = json_object_get(b, "messages");
    if (!json_is_array(msgs) || json_array_size(msgs) == 0) {
        sv_error_set(e, 400, "messages", msgs ? "invalid_value" : "missing_field",
                     "'messages' must be a non-empty array");
        goto done;
    }
    if (json_array_size(msgs) > SV_MAX_MESSAGES) {
        sv_error_set(e, 400, "messages", "invalid_value", "'messages' has too many entries");
        goto done;
    }
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m)
    {
        if (convert_message(m, i, out, e))
            goto done;
    }
    if (convert_tools(b, r, e))
        goto done;
    if (!(r->messages_json = sv_dump(out, e)))
        goto done;
    rc = 0;
done:
    json_decref(out);
    json_decref(b);
    return rc;
}

/* ---- response shapes ---- */

static void event_open(sv_job *j, sv_jw *w, const char *name)
{
    sv_buf_printf(&j->out, "event: %s\ndata: ", name);
    sv_jw_init(w, &j->out);
    sv_jw_obj(w);
    sv_jw_key(w, "type");
    sv_jw_str(w, name);
}

static void event_close(sv_jw *w)
{
    sv_jw_obj_end(w);
    sv_buf_puts(w->b, "\n\n");
}

static void close_block(sv_job *j)
{
    if (!j->block_open)
        return;
    sv_jw w;
    event_open(j, &w, "content_block_stop");
    sv_jw_key(&w, "index");
    sv_jw_int(&w, j->block_open - 1);
    event_close(&w);
    j->block_open = 0;
    j->block_kind = 0;
}

static void open_block(sv_job *j, int kind, const boson_delta *d)
{
    close_block(j);
    sv_jw w;
    event_open(j, &w, "content_block_start");
    sv_jw_key(&w, "index");
    sv_jw_int(&w, j->n_blocks);
    sv_jw_key(&w, "content_block");
    sv_jw_obj(&w);
    sv_jw_key(&w, "type");
    if (kind == 1) {
        sv_jw_str(&w, "thinking");
        sv_jw_key(&w, "thinking");
        sv_jw_str(&w, "");
        sv_jw_key(&w, "signature");
        sv_jw_str(&w, "");
    } else if (kind == 2) {
        sv_jw_str(&w, "text");
        sv_jw_key(&w, "text");
        sv_jw_str(&w, "");
    } else {
        sv_jw_str(&w, "tool_use");
        sv_jw_key(&w, "id");
        sv_jw_str(&w, d->tool_id);
        sv_jw_key(&w, "name");
        sv_jw_str(&w, d->tool_name);
        sv_jw_key(&w, "input");
        sv_jw_obj(&w);
        sv_jw_obj_end(&w);
    }
    sv_jw_obj_end(&w);
    event_close(&w);
    j->block_open = ++j->n_blocks;
    j->block_kind = kind;
}

void sv_anth_start(sv_job *j)
{
    if (!j->req.stream)
        return;
    sv_jw w;
    event_open(j, &w, "message_start");
    sv_jw_key(&w, "message");
    sv_jw_obj(&w);
    sv_jw_key(&w, "id");
    sv_jw_str(&w, j->id);
    sv_jw_key(&w, "type");
    sv_jw_str(&w, "message");
    sv_jw_key(&w, "role");
    sv_jw_str(&w, "assistant");
    sv_jw_key(&w, "model");
    sv_jw_str(&w, j->model);
    sv_jw_key(&w, "content");
    sv_jw_arr(&w);
    sv_jw_arr_end(&w);
    sv_jw_key(&w, "stop_reason");
    sv_jw_null(&w);
    sv_jw_key(&w, "stop_sequence");
    sv_jw_null(&w);
    sv_jw_key(&w, "usage");
    sv_jw_obj(&w);
    sv_jw_key(&w, "input_tokens");
    sv_jw_int(&w, (int64_t)j->n_ids);
    sv_jw_key(&w, "output_tokens");
    sv_jw_int(&w, 0);
    sv_jw_obj_end(&w);
    sv_jw_obj_end(&w);
    event_close(&w);
}

void sv_anth_delta(sv_job *j, const boson_delta *d)
{
    if (!j->req.stream)
        return;
    sv_jw w;
    switch (d->kind) {
    case BOSON_DELTA_REASONING:
    case BOSON_DELTA_CONTENT: {
        int kind = d->kind == BOSON_DELTA_REASONING ? 1 : 2;
        if (j->block_kind != kind)
            open_block(j, kind, d);
        event_open(j, &w, "content_block_delta");
        sv_jw_key(&w, "index");
        sv_jw_int(&w, j->block_open - 1);
        sv_jw_key(&w, "delta");
        sv_jw_obj(&w);
        sv_jw_key(&w, "type");
        sv_jw_str(&w, kind == 1 ? "thinking_delta" : "text_delta");
        sv_jw_key(&w, kind == 1 ? "thinking" : "text");
        sv_jw_strn(&w, d->text, d->len);
        sv_jw_obj_end(&w);
        event_close(&w);
        break;
    }
    case BOSON_DELTA_TOOL_CALL_BEGIN: open_block(j, 3, d); break;
    case BOSON_DELTA_TOOL_CALL_ARGS:
        if (j->block_kind != 3)
            break;
        event_open(j, &w, "content_block_delta");
        sv_jw_key(&w, "index");
        sv_jw_int(&w, j->block_open - 1);
        sv_jw_key(&w, "delta");
        sv_jw_obj(&w);
        sv_jw_key(&w, "type");
        sv_jw_str(&w, "input_json_delta");
        sv_jw_key(&w, "partial_json");
        sv_jw_strn(&w, d->text, d->len);
        sv_jw_obj_end(&w);
        event_close(&w);
        break;
    case BOSON_DELTA_TOOL_CALL_END: close_block(j); break;
    }
}

static const char *stop_reason(const sv_job *j, const boson_gen_result *r, const char **seq)
{
    *seq = NULL;
    if (r->n_tool_calls > 0)
        return "tool_use";
    switch (r->finish) {
    case BOSON_FINISH_LENGTH: return "max_tokens";
    case BOSON_FINISH_TOOL_CALLS: return "tool_use";
    case BOSON_FINISH_STOP:
        if (r->stop_index >= 0 && (size_t)r->stop_index < j->req.n_stop) {
            *seq = j->req.stop[r->stop_index];
            return "stop_sequence";
        }
        return "end_turn";
    case BOSON_FINISH_NONE:
    case BOSON_FINISH_CANCELLED: return "end_turn";
    }
    return "end_turn";
}

void sv_anth_finish(sv_job *j, const boson_gen_result *r)
{
    const char *seq;
    const char *reason = stop_reason(j, r, &seq);
    sv_jw w;
    if (j->req.stream) {
        close_block(j);
        event_open(j, &w, "message_delta");
        sv_jw_key(&w, "delta");
        sv_jw_obj(&w);
        sv_jw_key(&w, "stop_reason");
        sv_jw_str(&w, reason);
        sv_jw_key(&w, "stop_sequence");
        if (seq)
            sv_jw_str(&w, seq);
        else
            sv_jw_null(&w);
        sv_jw_obj_end(&w);
        sv_jw_key(&w, "usage");
        sv_jw_obj(&w);
        sv_jw_key(&w, "output_tokens");
        sv_jw_int(&w, r->completion_tokens);
        sv_jw_obj_end(&w);
        event_close(&w);
        event_open(j, &w, "message_stop");
        event_close(&w);
        return;
    }
    sv_jw_init(&w, &j->out);
    sv_jw_obj(&w);
    sv_jw_key(&w, "id");
    sv_jw_str(&w, j->id);
    sv_jw_key(&w, "type");
    sv_jw_str(&w, "message");
    sv_jw_key(&w, "role");
    sv_jw_str(&w, "assistant");
    sv_jw_key(&w, "model");
    sv_jw_str(&w, j->model);
    sv_jw_key(&w, "content");
    sv_jw_arr(&w);
    if (r->reasoning_len) {
        sv_jw_obj(&w);
        sv_jw_key(&w, "type");
        sv_jw_str(&w, "thinking");
        sv_jw_key(&w, "thinking");
        sv_jw_strn(&w, r->reasoning, r->reasoning_len);
        sv_jw_key(&w, "signature");
        sv_jw_str(&w, "");
        sv_jw_obj_end(&w);
    }
    if (r->content_len || r->n_tool_calls == 0) {
        sv_jw_obj(&w);
        sv_jw_key(&w, "type");
        sv_jw_str(&w, "text");
        sv_jw_key(&w, "text");
        sv_jw_strn(&w, r->content, r->content_len);
        sv_jw_obj_end(&w);
    }
    for (size_t i = 0; i < r->n_tool_calls; i++) {
        sv_jw_obj(&w);
        sv_jw_key(&w, "type");
        sv_jw_str(&w, "tool_use");
        sv_jw_key(&w, "id");
        sv_jw_str(&w, r->tool_calls[i].id);
        sv_jw_key(&w, "name");
        sv_jw_str(&w, r->tool_calls[i].name);
        sv_jw_key(&w, "input");
        const char *a = r->tool_calls[i].arguments;
        sv_jw_raw(&w, a && a[0] ? a : "{}", a && a[0] ? strlen(a) : 2);
        sv_jw_obj_end(&w);
    }
    sv_jw_arr_end(&w);
    sv_jw_key(&w, "stop_reason");
    sv_jw_str(&w, reason);
    sv_jw_key(&w, "stop_sequence");
    if (seq)
        sv_jw_str(&w, seq);
    else
        sv_jw_null(&w);
    sv_jw_key(&w, "usage");
    sv_jw_obj(&w);
    sv_jw_key(&w, "input_tokens");
    sv_jw_int(&w, r->prompt_tokens);
    sv_jw_key(&w, "output_tokens");
    sv_jw_int(&w, r->completion_tokens);
    sv_jw_obj_end(&w);
    sv_jw_obj_end(&w);
}
