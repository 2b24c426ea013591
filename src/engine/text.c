/* The engine's text side: tokenizer.json, tokenizer_config.json special tokens, the chat template
 * (chat_template.jinja, tokenizer_config.json "chat_template" or the built-in Qwen3.5 one), and
 * the public tokenize / detokenize / render calls. */
#include "base/error.h"
#include "base/readfile.h"
#include "engine/builtin_template.h"
#include "engine/engine_impl.h"
#include "text/textbuf.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* snprintf that reports truncation (1 = fits). */
static int fmt_path(char *buf, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fmt_path(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    return r >= 0 && (size_t)r < n;
}

void boson_free(void *p)
{
    free(p);
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static boson_status read_all(const char *path, char **out, size_t *len, boson_error *err)
{
    return bs_read_file(path, (uint64_t)1 << 30, out, len, err);
}

/* tokenizer_config.json token entries are a string or {"content": ...}. */
static char *token_string(json_t *cfg, const char *key)
{
    json_t *v = json_object_get(cfg, key);
    if (json_is_object(v))
        v = json_object_get(v, "content");
    return json_is_string(v) ? strdup(json_string_value(v)) : NULL;
}

/* "chat_template" of tokenizer_config.json: a string, or a list of {name, template} (the
 * entry named "default" is used). */
static const char *config_template(json_t *cfg)
{
    json_t *v = json_object_get(cfg, "chat_template");
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            json_t *name = json_object_get(e, "name");
            json_t *t = json_object_get(e, "template");
            if (json_is_string(name) && !strcmp(json_string_value(name), "default") &&
                json_is_string(t))
                return json_string_value(t);
        }
    }
    return NULL;
}

static boson_status load_template(bs_engine_text *t, const char *dir, json_t *cfg, boson_error *err)
{
    char path[4096];
    boson_status st;
    if (dir) {
        fmt_path(path, sizeof path, "%s/chat_template.jinja", dir);
        if (is_file(path)) {
            char *text;
            size_t len = 0;
            st = read_all(path, &text, &len, err);
            if (st != BOSON_OK)
                return st;
            st = bs_chat_template_load(&t->tmpl, text, len, err);
            free(text);
            t->tmpl_source = "chat_template.jinja";
            return st != BOSON_OK ? bs_error_prefix(err, "%s: ", path) : st;
        }
    }
    const char *ct = cfg ? config_template(cfg) : NULL;
    if (ct) {
        t->tmpl_source = "tokenizer_config.json";
        st = bs_chat_template_load(&t->tmpl, ct, strlen(ct), err);
        return st != BOSON_OK ? bs_error_prefix(err, "tokenizer_config.json chat_template: ") : st;
    }
    t->tmpl_source = "built-in (Qwen3.5)";
    return bs_chat_template_load(&t->tmpl, bs_builtin_qwen35_template,
                                 bs_builtin_qwen35_template_len, err);
}

boson_status bs_engine_text_load(bs_engine_text *t, const char *path, boson_error *err)
{
    memset(t, 0, sizeof *t);
    t->think_open = t->think_close = -1;
    char dir[4096], tok_path[4096 + 32], cfg_path[4096 + 32];
    if (is_dir(path)) {
        fmt_path(dir, sizeof dir, "%s", path);
        fmt_path(tok_path, sizeof tok_path, "%s/tokenizer.json", dir);
    } else {
        fmt_path(tok_path, sizeof tok_path, "%s", path);
        fmt_path(dir, sizeof dir, "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = 0;
        else
            fmt_path(dir, sizeof dir, ".");
    }
    fmt_path(cfg_path, sizeof cfg_path, "%s/tokenizer_config.json", dir);
    json_t *cfg = NULL;
    if (is_file(cfg_path)) {
        json_error_t je;
        cfg = json_load_file(cfg_path, 0, &je);
        if (!cfg || !json_is_object(cfg)) {
            json_decref(cfg);
            return bs_error_set(err, BOSON_ERR_FORMAT, "%s: line %d: %s", cfg_path, je.line,
                                cfg ? "not a JSON object" : je.text);
        }
        t->bos_token = token_string(cfg, "bos_token");
        t->eos_token = token_string(cfg, "eos_token");
        t->pad_token = token_string(cfg, "pad_token");
        t->unk_token = token_string(cfg, "unk_token");
    }
    boson_status st = BOSON_OK;
    if (is_file(tok_path)) {
        st = bs_tokenizer_load(tok_path, cfg ? cfg_path : NULL, &t->tok, err);
        if (st == BOSON_OK) {
            t->think_open = bs_tokenizer_added_id(t->tok, "<think>", 7);
            t->think_close = bs_tokenizer_added_id(t->tok, "</think>", 8);
        }
    } else {
        fmt_path(t->missing, sizeof t->missing, "%s: no tokenizer (file not found)", tok_path);
    }
    if (st == BOSON_OK)
        st = load_template(t, is_dir(path) ? dir : NULL, cfg, err);
    json_decref(cfg);
    if (st != BOSON_OK)
        bs_engine_text_free(t);
    return st;
}

void bs_engine_text_free(bs_engine_text *t)
{
    bs_tokenizer_free(t->tok);
    bs_chat_template_free(t->tmpl);
    free(t->bos_token);
    free(t->eos_token);
    free(t->pad_token);
    free(t->unk_token);
    memset(t, 0, sizeof *t);
    t->think_open = t->think_close = -1;
}

boson_status bs_engine_need_tok(const boson_engine *e, boson_error *err)
{
    if (!e)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "text: no engine");
    if (!e->text.tok)
        return bs_error_set(err, BOSON_ERR_UNSUPPORTED, "%s", e->text.missing);
    return BOSON_OK;
}

boson_status boson_engine_set_chat_template(boson_engine *e, const char *text, size_t len,
                                            boson_error *err)
{
    if (!e || !text)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "chat template: no engine or text");
    bs_chat_template *t;
    boson_status st = bs_chat_template_load(&t, text, len, err);
    if (st != BOSON_OK)
        return st;
    bs_chat_template_free(e->text.tmpl);
    e->text.tmpl = t;
    e->text.tmpl_source = "set by caller";
    return BOSON_OK;
}

static unsigned tok_flags(unsigned flags)
{
    unsigned f = 0;
    if (flags & BOSON_TOKENIZE_LITERAL)
        f |= BS_TOK_LITERAL;
    if (flags & BOSON_TOKENIZE_SPLIT_SPECIAL)
        f |= BS_TOK_SPLIT_SPECIAL;
    return f;
}

boson_status boson_tokenize(const boson_engine *e, const char *text, size_t len, unsigned flags,
                            int32_t **ids_out, size_t *n_out, boson_error *err)
{
    *ids_out = NULL;
    *n_out = 0;
    boson_status st = bs_engine_need_tok(e, err);
    if (st != BOSON_OK)
        return st;
    if (!text && len)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "tokenize: no text");
    bs_ids ids = {0};
    st = bs_tokenizer_encode(e->text.tok, NULL, text ? text : "", len, tok_flags(flags), &ids, err);
    if (st != BOSON_OK) {
        free(ids.ids);
        return st;
    }
    *ids_out = ids.ids;
    *n_out = ids.n;
    return BOSON_OK;
}

boson_status boson_detokenize(const boson_engine *e, const int32_t *ids, size_t n, unsigned flags,
                              char **text_out, size_t *len_out, boson_error *err)
{
    *text_out = NULL;
    if (len_out)
        *len_out = 0;
    boson_status st = bs_engine_need_tok(e, err);
    if (st != BOSON_OK)
        return st;
    bs_bytes_buf b = {0};
    unsigned f = (flags & BOSON_DETOKENIZE_SKIP_SPECIAL) ? BS_DECODE_SKIP_SPECIAL : 0;
    st = bs_tokenizer_decode(e->text.tok, ids, n, f, &b, err);
    if (st == BOSON_OK && !bs_bytes_append(&b, "", 1))
        st = bs_error_set(err, BOSON_ERR_NOMEM, "detokenize: out of memory");
    if (st != BOSON_OK) {
        bs_bytes_free(&b);
        return st;
    }
    *text_out = (char *)b.p;
    if (len_out)
        *len_out = b.n - 1;
    return BOSON_OK;
}

const uint8_t *boson_token_bytes(const boson_engine *e, int32_t id, size_t *len)
{
    *len = 0;
    if (!e || !e->text.tok)
        return NULL;
    return bs_tokenizer_token_bytes(e->text.tok, id, len);
}

void boson_chat_options_init(boson_chat_options *o)
{
    memset(o, 0, sizeof *o);
    o->add_generation_prompt = 1;
    o->enable_thinking = BOSON_THINK_DEFAULT;
}

static json_t *parse_obj(const char *text, const char *what, boson_error *err)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
    if (!v) {
        bs_error_set(err, BOSON_ERR_INVALID_ARG, "%s: invalid JSON at line %d, column %d: %s", what,
                     je.line, je.column, je.text);
        return NULL;
    }
    return v;
}

/* The template variables besides messages / tools / add_generation_prompt. */
static json_t *build_extra(const boson_engine *e, const boson_chat_options *o, boson_error *err)
{
    json_t *x = json_object();
    if (!x) {
        bs_error_set(err, BOSON_ERR_NOMEM, "chat: out of memory");
        return NULL;
    }
    const char *names[4] = {"bos_token", "eos_token", "pad_token", "unk_token"};
    const char *vals[4] = {e->text.bos_token, e->text.eos_token, e->text.pad_token,
                           e->text.unk_token};
    for (int i = 0; i < 4; i++)
        if (vals[i])
            json_object_set_new(x, names[i], json_string(vals[i]));
    switch (o->enable_thinking) {
    case BOSON_THINK_DEFAULT: break;
    case BOSON_THINK_ON: json_object_set_new(x, "enable_thinking", json_true()); break;
    case BOSON_THINK_OFF: json_object_set_new(x, "enable_thinking", json_false()); break;
    }
    if (o->extra_json) {
        json_t *u = parse_obj(o->extra_json, "chat template kwargs", err);
        if (!u) {
            json_decref(x);
            return NULL;
        }
        if (!json_is_object(u)) {
            json_decref(u);
            json_decref(x);
            bs_error_set(err, BOSON_ERR_INVALID_ARG, "chat template kwargs: not a JSON object");
            return NULL;
        }
        json_object_update(x, u);
        json_decref(u);
    }
    return x;
}

boson_status boson_render_chat(const boson_engine *e, const boson_chat_options *o,
                               char **prompt_out, size_t *len_out, boson_error *err)
{
    *prompt_out = NULL;
    if (len_out)
        *len_out = 0;
    if (!e || !o || !o->messages_json)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "chat: no engine or no messages");
    if (!e->text.tmpl)
        return bs_error_set(err, BOSON_ERR_UNSUPPORTED, "chat: %s has no chat template",
                            e->path ? e->path : "engine");
    json_t *extra = build_extra(e, o, err);
    if (!extra)
        return err ? err->status : BOSON_ERR_INVALID_ARG;
    bs_chat_render_opts ro;
    bs_chat_render_opts_init(&ro);
    ro.messages_json = o->messages_json;
    ro.tools_json = o->tools_json;
    ro.extra = extra;
    ro.add_generation_prompt = o->add_generation_prompt;
    size_t n = 0;
    boson_status st = bs_chat_template_render(e->text.tmpl, &ro, prompt_out, &n, err);
    json_decref(extra);
    if (st == BOSON_OK && len_out)
        *len_out = n;
    return st;
}
