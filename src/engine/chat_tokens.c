/* boson_chat_tokens: a rendered chat prompt as token ids, with user-controlled text kept from
 * becoming control tokens.
 *
 * The prompt is tokenized exactly as HF would (added tokens matched anywhere) unless the text of
 * a user, system, developer or tool message itself contains an added token (a typed
 * "<|im_end|>", "<think>", ...). Then each such message text is located in the rendered prompt
 * (in message order, where the template copied it) and those spans are encoded in literal mode,
 * the text around them normally. Templates that transform the content (strip, split) may leave
 * an occurrence unlocated: it is then encoded normally, as HF would. */
#include "base/error.h"
#include "engine/engine_impl.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

typedef struct span {
    size_t begin, end;
} span;

/* 1 if text holds the text of an added token (normal and literal encodings differ). */
static int has_added(const bs_tokenizer *tok, const char *s, size_t n, boson_error *err, int *bad)
{
    bs_ids a = {0}, b = {0};
    int differ = 0;
    if (bs_tokenizer_encode(tok, NULL, s, n, 0, &a, err) != BOSON_OK ||
        bs_tokenizer_encode(tok, NULL, s, n, BS_TOK_LITERAL, &b, err) != BOSON_OK)
        *bad = 1;
    else
        differ = a.n != b.n || (a.n && memcmp(a.ids, b.ids, a.n * sizeof *a.ids) != 0);
    free(a.ids);
    free(b.ids);
    return differ;
}

static int protected_role(const char *role)
{
    return role && (!strcmp(role, "user") || !strcmp(role, "system") ||
                    !strcmp(role, "developer") || !strcmp(role, "tool"));
}

/* Collects the spans of protected texts that contain added tokens. */
static boson_status find_spans(const boson_engine *e, const char *prompt, size_t plen,
                               const char *messages_json, span **out, size_t *n_out,
                               boson_error *err)
{
    *out = NULL;
    *n_out = 0;
    json_error_t je;
    json_t *msgs = json_loads(messages_json, 0, &je);
    if (!json_is_array(msgs)) {
        json_decref(msgs);
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "chat: messages are not a JSON array");
    }
    span *sp = NULL;
    size_t n = 0, cap = 0, cursor = 0;
    boson_status st = BOSON_OK;
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m)
    {
        json_t *role = json_object_get(m, "role");
        if (!protected_role(json_string_value(role)))
            continue;
        json_t *content = json_object_get(m, "content");
        json_t *parts[1] = {content};
        size_t n_parts = json_is_array(content) ? json_array_size(content) : 1;
        for (size_t k = 0; k < n_parts && st == BOSON_OK; k++) {
            json_t *c = json_is_array(content) ? json_array_get(content, k) : parts[0];
            if (json_is_object(c))
                c = json_object_get(c, "text");
            if (!json_is_string(c))
                continue;
            const char *s = json_string_value(c);
            size_t len = json_string_length(c);
            int bad = 0;
            if (len == 0 || !has_added(e->text.tok, s, len, err, &bad)) {
                if (bad)
                    st = err ? err->status : BOSON_ERR_RUNTIME;
                continue;
            }
            const char *hit = cursor < plen ? memmem(prompt + cursor, plen - cursor, s, len) : NULL;
            if (!hit)
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                span *nsp = realloc(sp, cap * sizeof *sp);
                if (!nsp) {
                    st = bs_error_set(err, BOSON_ERR_NOMEM, "chat: out of memory");
                    break;
                }
                sp = nsp;
            }
            sp[n].begin = (size_t)(hit - prompt);
            sp[n].end = sp[n].begin + len;
            cursor = sp[n].end;
            n++;
        }
    }
    json_decref(msgs);
    if (st != BOSON_OK) {
        free(sp);
        return st;
    }
    *out = sp;
    *n_out = n;
    return BOSON_OK;
}

boson_status boson_chat_tokens(const boson_engine *e, const boson_chat_options *o,
                               int32_t **ids_out, size_t *n_out, char **prompt_out,
                               size_t *prompt_len, boson_error *err)
{
    *ids_out = NULL;
    *n_out = 0;
    if (prompt_out)
        *prompt_out = NULL;
    boson_status st = bs_engine_need_tok(e, err);
    if (st != BOSON_OK)
        return st;
    char *prompt;
    size_t plen;
    st = boson_render_chat(e, o, &prompt, &plen, err);
    if (st != BOSON_OK)
        return st;
    span *sp = NULL;
    size_t n_sp = 0;
    st = find_spans(e, prompt, plen, o->messages_json, &sp, &n_sp, err);
    bs_ids ids = {0};
    size_t at = 0;
    for (size_t k = 0; k <= n_sp && st == BOSON_OK; k++) {
        size_t b = k < n_sp ? sp[k].begin : plen;
        if (b > at)
            st = bs_tokenizer_encode(e->text.tok, NULL, prompt + at, b - at, 0, &ids, err);
        if (st == BOSON_OK && k < n_sp) {
            st = bs_tokenizer_encode(e->text.tok, NULL, prompt + sp[k].begin,
                                     sp[k].end - sp[k].begin, BS_TOK_LITERAL, &ids, err);
            at = sp[k].end;
        }
    }
    free(sp);
    if (st != BOSON_OK) {
        free(ids.ids);
        free(prompt);
        return st;
    }
    *ids_out = ids.ids;
    *n_out = ids.n;
    if (prompt_out) {
        *prompt_out = prompt;
        if (prompt_len)
            *prompt_len = plen;
    } else {
        free(prompt);
    }
    return BOSON_OK;
}
