#include "text/tokenizer.h"

#include "text/tokenizer_impl.h"
#include "text/utf8.h"

#include <stdlib.h>
#include <string.h>

void bs_tokenizer_free(bs_tokenizer *tok)
{
    if (!tok)
        return;
    free(tok->flags);
    free(tok->off);
    free(tok->len);
    free(tok->blob);
    bs_bpe_free(&tok->bpe);
    bs_pretok_free(&tok->pretok);
    for (size_t i = 0; i < tok->n_added; i++)
        free(tok->added[i].content);
    free(tok->added);
    bs_added_set_free(&tok->raw_set);
    bs_added_set_free(&tok->norm_set);
    free(tok);
}

size_t bs_tokenizer_n_ids(const bs_tokenizer *tok)
{
    return tok->n_ids;
}

int32_t bs_tokenizer_added_id(const bs_tokenizer *tok, const char *s, size_t n)
{
    for (size_t i = 0; i < tok->n_added; i++)
        if (tok->added[i].len == n && memcmp(tok->added[i].content, s, n) == 0)
            return tok->added[i].id;
    return -1;
}

int32_t bs_tokenizer_vocab_id(const bs_tokenizer *tok, const void *s, size_t n)
{
    return bs_bpe_lookup(&tok->bpe, (const uint8_t *)s, n);
}

int bs_tokenizer_is_special(const bs_tokenizer *tok, int32_t id)
{
    return id >= 0 && (size_t)id < tok->n_ids && (tok->flags[id] & BS_TOKF_SPECIAL);
}

const uint8_t *bs_tokenizer_token_bytes(const bs_tokenizer *tok, int32_t id, size_t *len)
{
    if (id < 0 || (size_t)id >= tok->n_ids || !(tok->flags[id] & BS_TOKF_EXISTS))
        return NULL;
    *len = tok->len[id];
    return tok->blob + tok->off[id];
}

boson_status bs_tok_state_new(const bs_tokenizer *tok, bs_tok_state **out, boson_error *err)
{
    *out = NULL;
    bs_tok_state *st = (bs_tok_state *)calloc(1, sizeof *st);
    if (!st)
        return bs_error_set(err, BOSON_ERR_NOMEM, "tokenizer: cannot allocate encoder state");
    st->tok = tok;
    boson_status s = bs_pretok_scratch_init(&st->pre, err);
    if (s != BOSON_OK) {
        free(st);
        return s;
    }
    *out = st;
    return BOSON_OK;
}

void bs_tok_state_free(bs_tok_state *st)
{
    if (!st)
        return;
    bs_pretok_scratch_free(&st->pre);
    bs_bpe_scratch_free(&st->bpe);
    bs_bpe_cache_free(&st->cache);
    bs_bytes_free(&st->clean);
    bs_bytes_free(&st->norm);
    bs_bytes_free(&st->tmp);
    free(st);
}

/* ---- encode ---- */

typedef struct enc_ctx {
    const bs_tokenizer *tok;
    bs_tok_state *st;
    unsigned flags;
    bs_ids *out;
    boson_error *err;
} enc_ctx;

static boson_status on_piece(void *vctx, const uint8_t *s, size_t n)
{
    enc_ctx *c = (enc_ctx *)vctx;
    return bs_bpe_encode(&c->tok->bpe, &c->st->bpe, &c->st->cache, s, n, c->out, c->err);
}

static boson_status push_added(enc_ctx *c, int32_t t)
{
    if (!bs_ids_push(c->out, c->tok->added[t].id))
        return bs_error_set(c->err, BOSON_ERR_NOMEM, "tokenizer: out of memory");
    return BOSON_OK;
}

static boson_status on_normalized_segment(void *vctx, int32_t t, const uint8_t *s, size_t n)
{
    enc_ctx *c = (enc_ctx *)vctx;
    if (t >= 0)
        return push_added(c, t);
    return bs_pretok_split(&c->tok->pretok, &c->st->pre, s, n, on_piece, c, c->err);
}

static boson_status on_raw_segment(void *vctx, int32_t t, const uint8_t *s, size_t n)
{
    enc_ctx *c = (enc_ctx *)vctx;
    if (t >= 0)
        return push_added(c, t);
    const bs_tokenizer *tok = c->tok;
    const uint8_t *ns = s;
    size_t nn = n;
    if (tok->norm.n_steps > 0) {
        c->st->norm.n = 0;
        if (!bs_normalize_append(&tok->norm, s, n, &c->st->norm, &c->st->tmp))
            return bs_error_set(c->err, BOSON_ERR_NOMEM, "tokenizer: out of memory (normalizer)");
        ns = c->st->norm.p;
        nn = c->st->norm.n;
    }
    if (nn == 0)
        return BOSON_OK;
    if (tok->norm_set.n_patterns && !(c->flags & BS_TOK_LITERAL))
        return bs_added_split(&tok->norm_set, tok->added, (c->flags & BS_TOK_SPLIT_SPECIAL) != 0,
                              ns, nn, on_normalized_segment, c);
    return bs_pretok_split(&tok->pretok, &c->st->pre, ns, nn, on_piece, c, c->err);
}

boson_status bs_tokenizer_encode(const bs_tokenizer *tok, bs_tok_state *st, const char *text,
                                 size_t len, unsigned flags, bs_ids *out, boson_error *err)
{
    if (!tok || !out || (!text && len))
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "tokenizer: encode: NULL argument");
    bs_tok_state *own = NULL;
    if (!st) {
        boson_status s = bs_tok_state_new(tok, &own, err);
        if (s != BOSON_OK)
            return s;
        st = own;
    } else if (st->tok != tok) {
        return bs_error_set(err, BOSON_ERR_INVALID_ARG,
                            "tokenizer: encode: state belongs to another tokenizer");
    }
    const uint8_t *s = (const uint8_t *)text;
    size_t n = len;
    boson_status rc = BOSON_OK;
    if (bs_utf8_valid_prefix(s, n) != n) {
        /* replaced once, then every later stage may assume valid UTF-8 */
        st->clean.n = 0;
        if (n > SIZE_MAX / 3 || !bs_bytes_reserve(&st->clean, 3 * n)) {
            rc = bs_error_set(err, BOSON_ERR_NOMEM, "tokenizer: out of memory (%zu bytes)", n);
            goto done;
        }
        st->clean.n = bs_utf8_sanitize(s, n, st->clean.p);
        s = st->clean.p;
        n = st->clean.n;
    }
    size_t before = out->n;
    enc_ctx c = {tok, st, flags, out, err};
    if (flags & BS_TOK_LITERAL)
        rc = on_raw_segment(&c, -1, s, n);
    else
        rc = bs_added_split(&tok->raw_set, tok->added, (flags & BS_TOK_SPLIT_SPECIAL) != 0, s, n,
                            on_raw_segment, &c);
    if (rc != BOSON_OK)
        out->n = before;
done:
    bs_tok_state_free(own);
    return rc;
}

/* ---- decode ---- */

boson_status bs_tokenizer_decode(const bs_tokenizer *tok, const int32_t *ids, size_t n,
                                 unsigned flags, bs_bytes_buf *out, boson_error *err)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = ids[i];
        if (id < 0 || (size_t)id >= tok->n_ids || !(tok->flags[id] & BS_TOKF_EXISTS))
            return bs_error_set(err, BOSON_ERR_INVALID_ARG,
                                "tokenizer: decode: id %ld at position %zu is not a token "
                                "(ids run from 0 to %zu)",
                                (long)id, i, tok->n_ids - 1);
        if ((flags & BS_DECODE_SKIP_SPECIAL) && (tok->flags[id] & BS_TOKF_SPECIAL))
            continue;
        total += tok->len[id];
    }
    if (total == 0)
        return BOSON_OK;
    bs_bytes_buf raw = {0};
    if (!bs_bytes_reserve(&raw, total) || !bs_bytes_reserve(out, 3 * total)) {
        bs_bytes_free(&raw);
        return bs_error_set(err, BOSON_ERR_NOMEM, "tokenizer: decode: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        int32_t id = ids[i];
        if ((flags & BS_DECODE_SKIP_SPECIAL) && (tok->flags[id] & BS_TOKF_SPECIAL))
            continue;
        memcpy(raw.p + raw.n, tok->blob + tok->off[id], tok->len[id]);
        raw.n += tok->len[id];
    }
    out->n += bs_utf8_sanitize(raw.p, raw.n, out->p + out->n);
    bs_bytes_free(&raw);
    return BOSON_OK;
}
