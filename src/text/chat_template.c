#include "text/chat_template.h"

#include "base/error.h"
#include "text/jinja_eval.h"

#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

enum { DEFAULT_MAX_OUTPUT = 16 << 20, DEFAULT_MAX_DEPTH = 400, TEMPLATE_MAX_MEMORY = 256 << 20 };
#define DEFAULT_MAX_MEMORY ((size_t)512 << 20)
#define DEFAULT_MAX_STEPS ((uint64_t)50000000)

struct bs_chat_template {
    jv_heap heap; /* owns the normalised source and the AST */
    jlex_out lex;
    jnode *root;
};

void bs_chat_render_opts_init(bs_chat_render_opts *o)
{
    memset(o, 0, sizeof *o);
    o->hf_normalize = 1;
}

/* transformers' _normalize_chat_messages + _alias_reasoning_fields on one message. */
static jv hf_normalize_message(jv_heap *h, jv m, size_t index)
{
    if (m.kind != JV_DICT)
        jv_fail(h, BOSON_ERR_INVALID_ARG, "chat template: message %zu is not a JSON object", index);
    jv d = jv_dict_new(h, m.u.d->len + 2);
    jv reasoning = jv_none();
    static const char *const fields[] = {"reasoning_content", "thinking", "reasoning"};
    for (int f = 0; f < 3 && reasoning.kind == JV_NONE; f++) {
        jv v;
        if (jv_dict_get_s(m, fields[f], strlen(fields[f]), &v) && v.kind != JV_NONE)
            reasoning = v;
    }
    if (reasoning.kind != JV_NONE)
        jv_dict_set(h, d, jv_str_c(h, "thinking"), reasoning);
    for (size_t i = 0; i < m.u.d->len; i++)
        if (m.u.d->v[i].kind != JV_NONE)
            jv_dict_set(h, d, m.u.d->k[i], m.u.d->v[i]);
    if (reasoning.kind != JV_NONE)
        jv_dict_set(h, d, jv_str_c(h, "reasoning_content"), reasoning);
    return d;
}

/* The lexer and parser give messages with location; keep them, set the status. */
static boson_status heap_error(const jv_heap *h, boson_error *err)
{
    return bs_error_set(err, h->status == BOSON_OK ? BOSON_ERR_RUNTIME : h->status, "%s", h->msg);
}

boson_status bs_chat_template_load(bs_chat_template **out, const char *text, size_t len,
                                   boson_error *err)
{
    *out = NULL;
    if (!text && len)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "chat template: no text");
    bs_chat_template *t = calloc(1, sizeof *t);
    if (!t)
        return bs_error_set(err, BOSON_ERR_NOMEM, "chat template: out of memory");
    jv_heap_init(&t->heap, TEMPLATE_MAX_MEMORY);
    jmp_buf jb;
    t->heap.jb = &jb;
    if (setjmp(jb)) {
        boson_status st = heap_error(&t->heap, err);
        jv_heap_free(&t->heap);
        free(t);
        return st;
    }
    jinja_lex(&t->heap, text ? text : "", len, &t->lex);
    t->root = jinja_parse(&t->heap, &t->lex);
    t->heap.jb = NULL;
    *out = t;
    return BOSON_OK;
}

void bs_chat_template_free(bs_chat_template *t)
{
    if (!t)
        return;
    jv_heap_free(&t->heap);
    free(t);
}

static json_t *parse_json(const char *text, const char *what, boson_error *err)
{
    json_error_t je;
    json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (!j)
        bs_error_set(err, BOSON_ERR_INVALID_ARG,
                     "chat template %s: invalid JSON at line %d, column %d: %s", what, je.line,
                     je.column, je.text);
    return j;
}

typedef struct render_inputs {
    json_t *owned[3];
    const json_t *messages, *tools, *extra;
} render_inputs;

static boson_status load_inputs(const bs_chat_render_opts *o, render_inputs *in, boson_error *err)
{
    memset(in, 0, sizeof *in);
    in->messages = o->messages;
    in->tools = o->tools;
    in->extra = o->extra;
    if (!in->messages && o->messages_json) {
        in->owned[0] = parse_json(o->messages_json, "messages", err);
        if (!in->owned[0])
            return BOSON_ERR_INVALID_ARG;
        in->messages = in->owned[0];
    }
    if (!in->tools && o->tools_json) {
        in->owned[1] = parse_json(o->tools_json, "tools", err);
        if (!in->owned[1])
            return BOSON_ERR_INVALID_ARG;
        in->tools = in->owned[1];
    }
    if (!in->extra && o->extra_json) {
        in->owned[2] = parse_json(o->extra_json, "extra variables", err);
        if (!in->owned[2])
            return BOSON_ERR_INVALID_ARG;
        in->extra = in->owned[2];
    }
    if (!in->messages)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "chat template: no messages given");
    if (!json_is_array(in->messages))
        return bs_error_set(err, BOSON_ERR_INVALID_ARG,
                            "chat template: messages must be a JSON array");
    if (in->extra && !json_is_object(in->extra))
        return bs_error_set(err, BOSON_ERR_INVALID_ARG,
                            "chat template: extra variables must be a JSON object");
    return BOSON_OK;
}

static void free_inputs(render_inputs *in)
{
    for (int i = 0; i < 3; i++)
        if (in->owned[i])
            json_decref(in->owned[i]);
}

typedef struct render_state {
    jv_heap heap;
    jctx ctx;
    jv_buf out;
} render_state;

boson_status bs_chat_template_render(const bs_chat_template *t, const bs_chat_render_opts *o,
                                     char **out, size_t *out_len, boson_error *err)
{
    *out = NULL;
    if (out_len)
        *out_len = 0;
    if (!t || !o)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "chat template: missing argument");
    render_inputs in;
    boson_status st = load_inputs(o, &in, err);
    if (st != BOSON_OK) {
        free_inputs(&in);
        return st;
    }
    render_state *rs = calloc(1, sizeof *rs);
    if (!rs) {
        free_inputs(&in);
        return bs_error_set(err, BOSON_ERR_NOMEM, "chat template: out of memory");
    }
    jv_heap_init(&rs->heap, o->max_memory ? o->max_memory : DEFAULT_MAX_MEMORY);
    jctx *c = &rs->ctx;
    c->h = &rs->heap;
    c->src = t->lex.src;
    c->src_len = t->lex.src_len;
    c->max_depth = o->max_depth > 0 ? o->max_depth : DEFAULT_MAX_DEPTH;
    c->max_steps = o->max_steps ? o->max_steps : DEFAULT_MAX_STEPS;
    c->max_output = o->max_output ? o->max_output : DEFAULT_MAX_OUTPUT;
    rs->heap.depth_limit = c->max_depth;
    if (o->now) {
        c->now = *o->now;
    } else {
        time_t now = time(NULL);
        localtime_r(&now, &c->now);
    }
    jmp_buf jb;
    rs->heap.jb = &jb;
    if (setjmp(jb)) {
        st = heap_error(&rs->heap, err);
        if (strncmp(rs->heap.msg, "chat template", 13) != 0) {
            /* failures inside value operations carry no location: add the current node's */
            int line, col;
            jinja_line_col(c->src, c->src_len, c->off, &line, &col);
            bs_error_set(err, st, "chat template line %d, column %d: %s", line, col, rs->heap.msg);
        }
        jv_heap_free(&rs->heap);
        free(rs);
        free_inputs(&in);
        return st;
    }
    jv_heap *h = &rs->heap;
    jscope *globals = jscope_new(h, NULL);
    jv messages = jv_from_json(h, in.messages);
    if (o->hf_normalize) {
        if (messages.u.l->len == 0)
            jv_fail(h, BOSON_ERR_INVALID_ARG,
                    "Cannot apply chat template to an empty conversation. Provide at least one "
                    "message.");
        for (size_t i = 0; i < messages.u.l->len; i++)
            messages.u.l->v[i] = hf_normalize_message(h, messages.u.l->v[i], i);
    }
    jscope_set(h, globals, "messages", messages);
    jscope_set(h, globals, "tools",
               in.tools && !json_is_null(in.tools) ? jv_from_json(h, in.tools) : jv_none());
    jscope_set(h, globals, "documents", jv_none());
    jscope_set(h, globals, "add_generation_prompt", jv_bool(o->add_generation_prompt));
    if (in.extra) {
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)in.extra, key, val)
        {
            jv k = jv_str_c(h, key);
            jscope_set(h, globals, k.u.s->s, jv_from_json(h, val));
        }
    }
    jv_buf_init(&rs->out, h, c->max_output);
    jinja_render(c, t->root, globals, &rs->out);

    size_t n = rs->out.len;
    char *text = malloc(n + 1);
    if (!text) {
        jv_heap_free(&rs->heap);
        free(rs);
        free_inputs(&in);
        return bs_error_set(err, BOSON_ERR_NOMEM, "chat template: out of memory (%zu bytes)", n);
    }
    if (n)
        memcpy(text, rs->out.p, n);
    text[n] = '\0';
    jv_heap_free(&rs->heap);
    free(rs);
    free_inputs(&in);
    *out = text;
    if (out_len)
        *out_len = n;
    return BOSON_OK;
}

boson_status bs_chat_template_render_text(const char *template_text, size_t template_len,
                                          const bs_chat_render_opts *o, char **out, size_t *out_len,
                                          boson_error *err)
{
    bs_chat_template *t;
    *out = NULL;
    boson_status st = bs_chat_template_load(&t, template_text, template_len, err);
    if (st != BOSON_OK)
        return st;
    st = bs_chat_template_render(t, o, out, out_len, err);
    bs_chat_template_free(t);
    return st;
}
