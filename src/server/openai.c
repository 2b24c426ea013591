/* OpenAI request parsing: /v1/chat/completions and /v1/completions bodies into an
 * sv_request. Messages are normalised for the chat template: developer -> system,
 * content-part arrays joined into one string, tool-call arguments given as JSON text
 * turned into objects (templates iterate them), unknown keys dropped. */
#include "server/request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char JSON_INSTRUCTION[] = "Respond with a single valid JSON object and nothing else.";

/* Joins a content value (string or array of text parts) into a new JSON string. */
static json_t *join_content(const json_t *c, const char *where, sv_error *e)
{
    if (json_is_string(c))
        return json_incref((json_t *)c);
    char name[96];
    snprintf(name, sizeof name, "%s.content", where);
    if (!json_is_array(c)) {
        sv_error_set(e, 400, name, "invalid_type",
                     "'%s' must be a string or an array of content parts, got %s", name,
                     sv_type_name(c));
        return NULL;
    }
    size_t total = 0, i;
    json_t *part;
    json_array_foreach(c, i, part)
    {
        char pn[128];
        snprintf(pn, sizeof pn, "%s[%zu]", name, i);
        const char *type = NULL;
        if (!json_is_object(part)) {
            sv_error_set(e, 400, pn, "invalid_type", "'%s' must be an object, got %s", pn,
                         sv_type_name(part));
            return NULL;
        }
        if (sv_get_str(part, "type", pn, &type, e) < 0)
            return NULL;
        if (!type || (strcmp(type, "text") && strcmp(type, "input_text"))) {
            sv_error_set(e, 400, pn, "unsupported_content",
                         "'%s': content part type '%s' is not supported (only text)", pn,
                         type ? type : "(missing)");
            return NULL;
        }
        json_t *t = json_object_get(part, "text");
        if (!json_is_string(t)) {
            sv_error_set(e, 400, pn, "invalid_type", "'%s.text' must be a string", pn);
            return NULL;
        }
        total += json_string_length(t) + 1;
    }
    char *buf = malloc(total + 1);
    if (!buf) {
        sv_error_set(e, 500, NULL, NULL, "out of memory");
        return NULL;
    }
    size_t n = 0;
    json_array_foreach(c, i, part)
    {
        json_t *t = json_object_get(part, "text");
        if (i > 0)
            buf[n++] = '\n';
        memcpy(buf + n, json_string_value(t), json_string_length(t));
        n += json_string_length(t);
    }
    json_t *s = json_stringn_nocheck(buf, n);
    free(buf);
    if (!s)
        sv_error_set(e, 500, NULL, NULL, "out of memory");
    return s;
}

static int set_new(json_t *obj, const char *key, json_t *v, sv_error *e)
{
    if (!v || json_object_set_new(obj, key, v))
        return sv_error_set(e, 500, NULL, NULL, "out of memory");
    return 0;
}

/* {"id","type":"function","function":{"name","arguments":{...}}} from an assistant's call. */
static json_t *norm_tool_call(const json_t *tc, const char *where, sv_error *e)
{
    if (!json_is_object(tc)) {
        sv_error_set(e, 400, where, "invalid_type", "'%s' must be an object", where);
        return NULL;
    }
    char fn[160];
    snprintf(fn, sizeof fn, "%s.function", where);
    json_t *f = json_object_get(tc, "function");
    if (!json_is_object(f)) {
        sv_error_set(e, 400, fn, "invalid_type", "'%s' must be an object", fn);
        return NULL;
    }
    const char *name = NULL, *id = NULL;
    char nn[192];
    snprintf(nn, sizeof nn, "%s.name", fn);
    if (sv_get_str(f, "name", nn, &name, e) < 0 || sv_get_str(tc, "id", where, &id, e) < 0)
        return NULL;
    if (!name) {
        sv_error_set(e, 400, nn, "missing_field", "'%s' is required", nn);
        return NULL;
    }
    char an[192];
    snprintf(an, sizeof an, "%s.arguments", fn);
    json_t *a = sv_opt(f, "arguments"), *args;
    if (!a) {
        args = json_object();
    } else if (json_is_object(a)) {
        args = json_incref(a);
    } else if (json_is_string(a)) {
        args = json_loadb(json_string_value(a), json_string_length(a), 0, NULL);
        if (!args || !json_is_object(args)) {
            json_decref(args);
            sv_error_set(e, 400, an, "invalid_value", "'%s' must be a JSON object (or its text)",
                         an);
            return NULL;
        }
    } else {
        sv_error_set(e, 400, an, "invalid_type", "'%s' must be a string or an object, got %s", an,
                     sv_type_name(a));
        return NULL;
    }
    json_t *out = json_object(), *fo = json_object();
    if (!out || !fo || !args) {
        json_decref(out);
        json_decref(fo);
        json_decref(args);
        sv_error_set(e, 500, NULL, NULL, "out of memory");
        return NULL;
    }
    int bad = 0;
    if (id)
        bad |= set_new(out, "id", json_string(id), e);
    bad |= set_new(out, "type", json_string("function"), e);
    bad |= set_new(fo, "name", json_string(name), e);
    bad |= set_new(fo, "arguments", args, e);
    bad |= set_new(out, "function", fo, e);
    if (bad) {
        json_decref(out);
        return NULL;
    }
    return out;
}

static json_t *norm_message(const json_t *m, size_t index, sv_error *e)
{
    char where[64];
    snprintf(where, sizeof where, "messages[%zu]", index);
    if (!json_is_object(m)) {
        sv_error_set(e, 400, where, "invalid_type", "'%s' must be an object, got %s", where,
                     sv_type_name(m));
        return NULL;
    }
    char rn[80];
    snprintf(rn, sizeof rn, "%s.role", where);
    const char *role = NULL;
    if (sv_get_str(m, "role", rn, &role, e) < 0)
        return NULL;
    if (!role) {
        sv_error_set(e, 400, rn, "missing_field", "'%s' is required", rn);
        return NULL;
    }
    int is_asst = !strcmp(role, "assistant");
    if (!strcmp(role, "developer"))
        role = "system";
    if (strcmp(role, "system") && strcmp(role, "user") && !is_asst && strcmp(role, "tool")) {
        sv_error_set(e, 400, rn, "invalid_value",
                     "'%s' must be one of system, developer, user, assistant, tool; got '%.64s'",
                     rn, role);
        return NULL;
    }
    json_t *out = json_object();
    if (!out || set_new(out, "role", json_string(role), e)) {
        json_decref(out);
        return NULL;
    }
    json_t *c = sv_opt(m, "content");
    json_t *calls = sv_opt(m, "tool_calls");
    if (c) {
        json_t *s = join_content(c, where, e);
        if (!s || set_new(out, "content", s, e))
            goto fail;
    } else if (!is_asst || !calls) {
        if (!is_asst) {
            char cn[80];
            snprintf(cn, sizeof cn, "%s.content", where);
            sv_error_set(e, 400, cn, "missing_field", "'%s' is required for role %s", cn, role);
            goto fail;
        }
        if (set_new(out, "content", json_string(""), e))
            goto fail;
    }
    const char *str = NULL;
    if (sv_get_str(m, "name", "name", &str, e) < 0)
        goto fail;
    if (str && set_new(out, "name", json_string(str), e))
        goto fail;
    if (!strcmp(role, "tool")) {
        str = NULL;
        if (sv_get_str(m, "tool_call_id", "tool_call_id", &str, e) < 0)
            goto fail;
        if (str && set_new(out, "tool_call_id", json_string(str), e))
            goto fail;
    }
    if (is_asst) {
        static const char *const rkeys[] = {"reasoning_content", "reasoning", "thinking"};
        for (size_t k = 0; k < 3; k++) {
            str = NULL;
            if (sv_get_str(m, rkeys[k], rkeys[k], &str, e) < 0)
                goto fail;
            if (str) {
                if (set_new(out, "reasoning_content", json_string(str), e))
                    goto fail;
                break;
            }
        }
        if (calls) {
            char tn[80];
            snprintf(tn, sizeof tn, "%s.tool_calls", where);
            if (!json_is_array(calls)) {
                sv_error_set(e, 400, tn, "invalid_type", "'%s' must be an array", tn);
                goto fail;
            }
            json_t *arr = json_array();
            if (!arr || set_new(out, "tool_calls", arr, e))
                goto fail;
            size_t j;
            json_t *tc;
            json_array_foreach(calls, j, tc)
            {
                char cw[112];
                snprintf(cw, sizeof cw, "%s[%zu]", tn, j);
                json_t *n = norm_tool_call(tc, cw, e);
                if (!n || json_array_append_new(arr, n)) {
                    if (n)
                        sv_error_set(e, 500, NULL, NULL, "out of memory");
                    goto fail;
                }
            }
        }
    }
    return out;
fail:
    json_decref(out);
    return NULL;
}

static int add_json_instruction(json_t *msgs, sv_error *e)
{
    json_t *first = json_array_get(msgs, 0);
    json_t *role = json_object_get(first, "role");
    json_t *content = json_object_get(first, "content");
    if (json_is_string(role) && !strcmp(json_string_value(role), "system") &&
        json_is_string(content)) {
        size_t n = json_string_length(content);
        char *buf = malloc(n + sizeof JSON_INSTRUCTION + 2);
        if (!buf)
            return sv_error_set(e, 500, NULL, NULL, "out of memory");
        memcpy(buf, json_string_value(content), n);
        memcpy(buf + n, "\n\n", 2);
        memcpy(buf + n + 2, JSON_INSTRUCTION, sizeof JSON_INSTRUCTION);
        json_t *s = json_stringn_nocheck(buf, n + 2 + sizeof JSON_INSTRUCTION - 1);
        free(buf);
        return set_new(first, "content", s, e);
    }
    json_t *sys = json_pack("{s:s,s:s}", "role", "system", "content", JSON_INSTRUCTION);
    if (!sys || json_array_insert_new(msgs, 0, sys))
        return sv_error_set(e, 500, NULL, NULL, "out of memory");
    return 0;
}

static int parse_messages(const json_t *body, sv_request *r, sv_error *e)
{
    json_t *msgs = json_object_get(body, "messages");
    if (!msgs || json_is_null(msgs))
        return sv_error_set(e, 400, "messages", "missing_field", "'messages' is required");
    if (!json_is_array(msgs))
        return sv_error_set(e, 400, "messages", "invalid_type",
                            "'messages' must be an array, got %s", sv_type_name(msgs));
    size_t n = json_array_size(msgs);
    if (n == 0)
        return sv_error_set(e, 400, "messages", "invalid_value", "'messages' must not be empty");
    if (n > SV_MAX_MESSAGES)
        return sv_error_set(e, 400, "messages", "invalid_value",
                            "'messages' has %zu entries; at most %d are accepted", n,
                            SV_MAX_MESSAGES);
    json_t *out = json_array();
    if (!out)
        return sv_error_set(e, 500, NULL, NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *m = norm_message(json_array_get(msgs, i), i, e);
        if (!m || json_array_append_new(out, m)) {
            json_decref(out);
            return m ? sv_error_set(e, 500, NULL, NULL, "out of memory") : -1;
        }
    }
    if (r->json_mode && add_json_instruction(out, e)) {
        json_decref(out);
        return -1;
    }
    r->messages_json = sv_dump(out, e);
    json_decref(out);
    return r->messages_json ? 0 : -1;
}

static int parse_tools(const json_t *body, sv_request *r, sv_error *e)
{
    json_t *tools = sv_opt(body, "tools");
    json_t *choice = sv_opt(body, "tool_choice");
    if (choice && !json_is_string(choice) && !json_is_object(choice))
        return sv_error_set(e, 400, "tool_choice", "invalid_type",
                            "'tool_choice' must be a string or an object, got %s",
                            sv_type_name(choice));
    if (json_is_string(choice)) {
        const char *c = json_string_value(choice);
        if (strcmp(c, "none") && strcmp(c, "auto") && strcmp(c, "required"))
            return sv_error_set(e, 400, "tool_choice", "invalid_value",
                                "'tool_choice' must be none, auto or required; got '%.64s'", c);
    }
    if (!tools)
        return 0;
    if (!json_is_array(tools))
        return sv_error_set(e, 400, "tools", "invalid_type", "'tools' must be an array, got %s",
                            sv_type_name(tools));
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t)
    {
        char w[48];
        snprintf(w, sizeof w, "tools[%zu]", i);
        json_t *f = json_object_get(t, "function");
        json_t *name = json_object_get(f, "name");
        if (!json_is_object(t) || !json_is_object(f) || !json_is_string(name))
            return sv_error_set(e, 400, w, "invalid_value",
                                "'%s' must be {\"type\": \"function\", \"function\": {\"name\": "
                                "string, ...}}",
                                w);
        json_t *p = sv_opt(f, "parameters");
        if (p && !json_is_object(p))
            return sv_error_set(e, 400, w, "invalid_type",
                                "'%s.function.parameters' must be an object", w);
    }
    if (json_array_size(tools) == 0)
        return 0;
    if (json_is_string(choice) && !strcmp(json_string_value(choice), "none"))
        return 0; /* the tools stay out of the prompt and no calls are parsed */
    r->tools_json = sv_dump(tools, e);
    return r->tools_json ? 0 : -1;
}

static int parse_common(const json_t *body, sv_request *r, sv_error *e)
{
    const char *model = NULL;
    if (sv_get_str(body, "model", "model", &model, e) < 0)
        return -1;
    if (model && !(r->model = sv_strdup(model, e)))
        return -1;
    if (sv_get_bool(body, "stream", "stream", &r->stream, e) < 0)
        return -1;
    json_t *so = sv_opt(body, "stream_options");
    if (so) {
        if (!json_is_object(so))
            return sv_error_set(e, 400, "stream_options", "invalid_type",
                                "'stream_options' must be an object, got %s", sv_type_name(so));
        if (!r->stream) /* as OpenAI answers */
            return sv_error_set(e, 400, "stream_options", "invalid_value",
                                "'stream_options' is only allowed when 'stream' is true");
        if (sv_get_bool(so, "include_usage", "stream_options.include_usage", &r->include_usage, e) <
            0)
            return -1;
    }
    int64_t n = 1;
    if (sv_get_int(body, "n", "n", 1, INT32_MAX, &n, e) < 0)
        return -1;
    if (n != 1)
        return sv_error_set(e, 400, "n", "unsupported_value",
                            "'n' = %lld is not supported: this server returns one choice per "
                            "request (send n = 1, or several requests)",
                            (long long)n);
    if (sv_get_int(body, "max_tokens", "max_tokens", 1, INT32_MAX, &r->max_tokens, e) < 0)
        return -1;
    if (sv_get_sampling(body, r, e) < 0 || sv_get_stop(body, "stop", r, e) < 0 ||
        sv_get_logit_bias(body, r, e) < 0)
        return -1;
    return 0;
}

int sv_parse_chat(const char *body, size_t len, sv_request *r, sv_error *e)
{
    json_t *b;
    if (sv_body_object(body, len, &b, e))
        return -1;
    int rc = -1;
    if (parse_common(b, r, e))
        goto out;
    if (sv_get_int(b, "max_completion_tokens", "max_completion_tokens", 1, INT32_MAX,
                   &r->max_tokens, e) < 0)
        goto out;
    int lp = 0;
    int64_t top = 0;
    if (sv_get_bool(b, "logprobs", "logprobs", &lp, e) < 0 ||
        sv_get_int(b, "top_logprobs", "top_logprobs", 0, 20, &top, e) < 0)
        goto out;
    if (top > 0 && !lp) {
        sv_error_set(e, 400, "top_logprobs", "invalid_value",
                     "'top_logprobs' needs 'logprobs': true");
        goto out;
    }
    r->samp.logprobs = lp;
    r->samp.top_logprobs = lp ? (int)top : 0;
    json_t *rf = sv_opt(b, "response_format");
    if (rf) {
        const char *type = NULL;
        if (!json_is_object(rf)) {
            sv_error_set(e, 400, "response_format", "invalid_type",
                         "'response_format' must be an object, got %s", sv_type_name(rf));
            goto out;
        }
        if (sv_get_str(rf, "type", "response_format.type", &type, e) < 0)
            goto out;
        if (!type ||
            (strcmp(type, "text") && strcmp(type, "json_object") && strcmp(type, "json_schema"))) {
            sv_error_set(e, 400, "response_format.type", "invalid_value",
                         "'response_format.type' must be text, json_object or json_schema");
            goto out;
        }
        r->json_mode = strcmp(type, "text") != 0;
    }
    json_t *kw = sv_opt(b, "chat_template_kwargs");
    if (kw) {
        if (!json_is_object(kw)) {
            sv_error_set(e, 400, "chat_template_kwargs", "invalid_type",
                         "'chat_template_kwargs' must be an object, got %s", sv_type_name(kw));
            goto out;
        }
        int think = 0;
        int found =
            sv_get_bool(kw, "enable_thinking", "chat_template_kwargs.enable_thinking", &think, e);
        if (found < 0)
            goto out;
        if (found)
            r->think = think ? BOSON_THINK_ON : BOSON_THINK_OFF;
        if (!(r->extra_json = sv_dump(kw, e)))
            goto out;
    }
    if (parse_tools(b, r, e) || parse_messages(b, r, e))
        goto out;
    rc = 0;
out:
    json_decref(b);
    return rc;
}

static int prompt_ids(const json_t *arr, const char *name, sv_request *r, sv_error *e)
{
    size_t n = json_array_size(arr);
    if (n == 0)
        return sv_error_set(e, 400, name, "invalid_value", "'%s' must not be empty", name);
    r->prompt_ids = malloc(n * sizeof *r->prompt_ids);
    if (!r->prompt_ids)
        return sv_error_set(e, 500, NULL, NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(arr, i);
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX)
            return sv_error_set(e, 400, name, "invalid_value",
                                "'%s[%zu]' must be a non-negative token id", name, i);
        r->prompt_ids[i] = (int32_t)json_integer_value(v);
    }
    r->n_prompt_ids = n;
    return 0;
}

int sv_parse_completion(const char *body, size_t len, sv_request *r, sv_error *e)
{
    json_t *b;
    if (sv_body_object(body, len, &b, e))
        return -1;
    int rc = -1;
    if (parse_common(b, r, e))
        goto out;
    if (sv_get_int(b, "logprobs", "logprobs", 0, 20, &r->logprobs_n, e) < 0)
        goto out;
    if (r->logprobs_n >= 0) {
        r->samp.logprobs = 1;
        r->samp.top_logprobs = (int)r->logprobs_n;
    }
    int64_t best = 1;
    if (sv_get_int(b, "best_of", "best_of", 1, 1, &best, e) < 0)
        goto out;
    int echo = 0;
    const char *suffix = NULL;
    if (sv_get_bool(b, "echo", "echo", &echo, e) < 0 ||
        sv_get_str(b, "suffix", "suffix", &suffix, e) < 0)
        goto out;
    if (echo) {
        sv_error_set(e, 400, "echo", "unsupported_value", "'echo': true is not supported");
        goto out;
    }
    if (suffix && suffix[0]) {
        sv_error_set(e, 400, "suffix", "unsupported_value",
                     "'suffix' (insertion) is not supported by this model's completions");
        goto out;
    }
    json_t *p = sv_opt(b, "prompt");
    if (!p) {
        sv_error_set(e, 400, "prompt", "missing_field", "'prompt' is required");
        goto out;
    }
    if (json_is_array(p) && json_array_size(p) == 1 &&
        (json_is_string(json_array_get(p, 0)) || json_is_array(json_array_get(p, 0))))
        p = json_array_get(p, 0); /* a batch of one */
    if (json_is_string(p)) {
        r->prompt_len = json_string_length(p);
        r->prompt_text = malloc(r->prompt_len + 1);
        if (!r->prompt_text) {
            sv_error_set(e, 500, NULL, NULL, "out of memory");
            goto out;
        }
        memcpy(r->prompt_text, json_string_value(p), r->prompt_len + 1);
        if (r->prompt_len == 0) {
            sv_error_set(e, 400, "prompt", "invalid_value", "'prompt' must not be empty");
            goto out;
        }
    } else if (json_is_array(p)) {
        if (prompt_ids(p, "prompt", r, e))
            goto out;
    } else {
        sv_error_set(e, 400, "prompt", "invalid_type",
                     "'prompt' must be a string or an array of token ids (one prompt per "
                     "request), got %s",
                     sv_type_name(p));
        goto out;
    }
    rc = 0;
out:
    json_decref(b);
    return rc;
}
