/* tokenizer.json (+ tokenizer_config.json) parsing into a bs_tokenizer. */
#include "text/tokenizer.h"

#include "base/checked.h"
#include "text/bytelevel.h"
#include "text/tokenizer_impl.h"
#include "base/readfile.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The regex HF's ByteLevel pre-tokenizer applies when use_regex is true (GPT-2). */
static const char GPT2_PATTERN[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

typedef struct loader {
    const char *name;
    boson_error *err;
    bs_tokenizer *tok;
} loader;

static boson_status lerr(loader *ld, boson_status st, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static boson_status lerr(loader *ld, boson_status st, const char *path, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return bs_error_set(ld->err, st, "%s: %s: %s", ld->name, path, msg);
}

static boson_status nomem(loader *ld)
{
    return bs_error_set(ld->err, BOSON_ERR_NOMEM, "%s: out of memory", ld->name);
}

/* Optional boolean member: missing or null gives def. */
static boson_status get_bool(loader *ld, json_t *obj, const char *key, int def, int *out,
                             const char *path)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        *out = def;
        return BOSON_OK;
    }
    if (!json_is_boolean(v))
        return lerr(ld, BOSON_ERR_FORMAT, path, "\"%s\" must be true or false", key);
    *out = json_is_true(v);
    return BOSON_OK;
}

/* ---- added tokens ---- */

static boson_status parse_added_entry(loader *ld, json_t *e, long long id, const char *path,
                                      bs_added_token *out)
{
    if (!json_is_object(e))
        return lerr(ld, BOSON_ERR_FORMAT, path, "must be an object");
    if (id < 0 || id >= INT32_MAX)
        return lerr(ld, BOSON_ERR_FORMAT, path, "id %lld is out of range", id);
    json_t *c = json_object_get(e, "content");
    if (!json_is_string(c))
        return lerr(ld, BOSON_ERR_FORMAT, path, "\"content\" must be a string");
    int special = 0, lstrip = 0, rstrip = 0, single = 0, normalized = 0;
    boson_status st;
    if ((st = get_bool(ld, e, "special", 0, &special, path)) != BOSON_OK ||
        (st = get_bool(ld, e, "lstrip", 0, &lstrip, path)) != BOSON_OK ||
        (st = get_bool(ld, e, "rstrip", 0, &rstrip, path)) != BOSON_OK ||
        (st = get_bool(ld, e, "single_word", 0, &single, path)) != BOSON_OK ||
        (st = get_bool(ld, e, "normalized", !special, &normalized, path)) != BOSON_OK)
        return st;
    size_t len = json_string_length(c);
    if (memchr(json_string_value(c), 0, len))
        return lerr(ld, BOSON_ERR_FORMAT, path, "\"content\" contains a NUL character");
    out->content = (char *)malloc(len + 1);
    if (!out->content)
        return nomem(ld);
    memcpy(out->content, json_string_value(c), len + 1);
    out->len = len;
    out->id = (int32_t)id;
    out->special = (uint8_t)special;
    out->lstrip = (uint8_t)lstrip;
    out->rstrip = (uint8_t)rstrip;
    out->single_word = (uint8_t)single;
    out->normalized = (uint8_t)normalized;
    return BOSON_OK;
}

static boson_status parse_added(loader *ld, json_t *root, json_t *config)
{
    bs_tokenizer *tok = ld->tok;
    json_t *arr = json_object_get(root, "added_tokens");
    json_t *dec = config ? json_object_get(config, "added_tokens_decoder") : NULL;
    size_t cap = 0;
    if (arr && !json_is_null(arr)) {
        if (!json_is_array(arr))
            return lerr(ld, BOSON_ERR_FORMAT, "added_tokens", "must be an array");
        cap += json_array_size(arr);
    }
    if (dec && !json_is_null(dec)) {
        if (!json_is_object(dec))
            return bs_error_set(ld->err, BOSON_ERR_FORMAT,
                                "tokenizer_config.json: added_tokens_decoder: must be an object");
        cap += json_object_size(dec);
    }
    tok->added = (bs_added_token *)calloc(cap ? cap : 1, sizeof *tok->added);
    if (!tok->added)
        return nomem(ld);
    char path[128];
    for (size_t i = 0; arr && json_is_array(arr) && i < json_array_size(arr); i++) {
        json_t *e = json_array_get(arr, i);
        snprintf(path, sizeof path, "added_tokens[%zu]", i);
        json_t *idv = json_is_object(e) ? json_object_get(e, "id") : NULL;
        if (!json_is_integer(idv))
            return lerr(ld, BOSON_ERR_FORMAT, path, "\"id\" must be an integer");
        bs_added_token t = {0};
        boson_status st = parse_added_entry(ld, e, json_integer_value(idv), path, &t);
        if (st != BOSON_OK)
            return st;
        if (t.len == 0) { /* HF ignores empty added tokens */
            free(t.content);
            continue;
        }
        tok->added[tok->n_added++] = t;
    }
    if (dec && json_is_object(dec)) {
        const char *key;
        json_t *e;
        json_object_foreach(dec, key, e)
        {
            char *end = NULL;
            long long id = strtoll(key, &end, 10);
            char cpath[200];
            snprintf(cpath, sizeof cpath, "added_tokens_decoder[\"%.64s\"]", key);
            if (!*key || *end)
                return bs_error_set(ld->err, BOSON_ERR_FORMAT,
                                    "tokenizer_config.json: %s: key must be a token id", cpath);
            int known = 0;
            for (size_t k = 0; k < tok->n_added; k++)
                known |= tok->added[k].id == id;
            if (known) /* tokenizer.json is authoritative for ids it lists */
                continue;
            bs_added_token t = {0};
            const char *saved = ld->name;
            ld->name = "tokenizer_config.json";
            boson_status st = parse_added_entry(ld, e, id, cpath, &t);
            ld->name = saved;
            if (st != BOSON_OK)
                return st;
            if (t.len == 0) {
                free(t.content);
                continue;
            }
            tok->added[tok->n_added++] = t;
        }
    }
    return BOSON_OK;
}

/* ---- normalizer ---- */

static boson_status parse_normalizer(loader *ld, json_t *n, const char *path)
{
    if (!n || json_is_null(n))
        return BOSON_OK;
    json_t *tv = json_is_object(n) ? json_object_get(n, "type") : NULL;
    if (!json_is_string(tv))
        return lerr(ld, BOSON_ERR_FORMAT, path, "must be an object with a string \"type\"");
    const char *type = json_string_value(tv);
    bs_normalizer *norm = &ld->tok->norm;
    if (strcmp(type, "Sequence") == 0) {
        json_t *list = json_object_get(n, "normalizers");
        if (!json_is_array(list))
            return lerr(ld, BOSON_ERR_FORMAT, path, "\"normalizers\" must be an array");
        for (size_t i = 0; i < json_array_size(list); i++) {
            char sub[160];
            snprintf(sub, sizeof sub, "%s.normalizers[%zu]", path, i);
            boson_status st = parse_normalizer(ld, json_array_get(list, i), sub);
            if (st != BOSON_OK)
                return st;
        }
        return BOSON_OK;
    }
    bs_norm_form f;
    if (strcmp(type, "NFC") == 0)
        f = BS_NORM_NFC;
    else if (strcmp(type, "NFD") == 0)
        f = BS_NORM_NFD;
    else if (strcmp(type, "NFKC") == 0)
        f = BS_NORM_NFKC;
    else if (strcmp(type, "NFKD") == 0)
        f = BS_NORM_NFKD;
    else
        return lerr(ld, BOSON_ERR_UNSUPPORTED, path, "normalizer type \"%s\" is not supported",
                    type);
    if (norm->n_steps >= BS_NORM_MAX_STEPS)
        return lerr(ld, BOSON_ERR_UNSUPPORTED, path, "more than %d normalizers", BS_NORM_MAX_STEPS);
    norm->steps[norm->n_steps++] = f;
    return BOSON_OK;
}

/* ---- pre_tokenizer ---- */

static boson_status parse_pretok(loader *ld, json_t *p, const char *path, int *bytelevel)
{
    if (!p || json_is_null(p))
        return BOSON_OK;
    json_t *tv = json_is_object(p) ? json_object_get(p, "type") : NULL;
    if (!json_is_string(tv))
        return lerr(ld, BOSON_ERR_FORMAT, path, "must be an object with a string \"type\"");
    const char *type = json_string_value(tv);
    if (*bytelevel)
        return lerr(ld, BOSON_ERR_UNSUPPORTED, path,
                    "a \"%s\" pre-tokenizer after ByteLevel is not supported", type);
    char where[200];
    boson_status st;
    if (strcmp(type, "Sequence") == 0) {
        json_t *list = json_object_get(p, "pretokenizers");
        if (!json_is_array(list))
            return lerr(ld, BOSON_ERR_FORMAT, path, "\"pretokenizers\" must be an array");
        for (size_t i = 0; i < json_array_size(list); i++) {
            char sub[160];
            snprintf(sub, sizeof sub, "%s.pretokenizers[%zu]", path, i);
            if ((st = parse_pretok(ld, json_array_get(list, i), sub, bytelevel)) != BOSON_OK)
                return st;
        }
        return BOSON_OK;
    }
    if (strcmp(type, "Split") == 0) {
        json_t *pat = json_object_get(p, "pattern");
        json_t *re = json_is_object(pat) ? json_object_get(pat, "Regex") : NULL;
        json_t *lit = json_is_object(pat) ? json_object_get(pat, "String") : NULL;
        json_t *sv = re ? re : lit;
        if (!json_is_string(sv))
            return lerr(ld, BOSON_ERR_FORMAT, path,
                        "\"pattern\" must be {\"Regex\": string} or {\"String\": string}");
        json_t *beh = json_object_get(p, "behavior");
        if (!json_is_string(beh))
            return lerr(ld, BOSON_ERR_FORMAT, path, "\"behavior\" must be a string");
        if (strcmp(json_string_value(beh), "Isolated") != 0)
            return lerr(ld, BOSON_ERR_UNSUPPORTED, path,
                        "Split behavior \"%s\" is not supported (only Isolated)",
                        json_string_value(beh));
        int invert = 0;
        if ((st = get_bool(ld, p, "invert", 0, &invert, path)) != BOSON_OK)
            return st;
        if (invert)
            return lerr(ld, BOSON_ERR_UNSUPPORTED, path,
                        "Split with invert: true is not supported");
        snprintf(where, sizeof where, "%s: %s.pattern", ld->name, path);
        return bs_pretok_add(&ld->tok->pretok, json_string_value(sv), json_string_length(sv),
                             re == NULL, where, ld->err);
    }
    if (strcmp(type, "ByteLevel") == 0) {
        int prefix = 1, use_regex = 1;
        if ((st = get_bool(ld, p, "add_prefix_space", 1, &prefix, path)) != BOSON_OK ||
            (st = get_bool(ld, p, "use_regex", 1, &use_regex, path)) != BOSON_OK)
            return st;
        if (prefix)
            return lerr(ld, BOSON_ERR_UNSUPPORTED, path,
                        "ByteLevel with add_prefix_space: true is not supported");
        if (use_regex) {
            snprintf(where, sizeof where, "%s: %s (GPT-2 regex)", ld->name, path);
            st = bs_pretok_add(&ld->tok->pretok, GPT2_PATTERN, sizeof GPT2_PATTERN - 1, 0, where,
                               ld->err);
            if (st != BOSON_OK)
                return st;
        }
        *bytelevel = 1;
        return BOSON_OK;
    }
    return lerr(ld, BOSON_ERR_UNSUPPORTED, path, "pre-tokenizer type \"%s\" is not supported",
                type);
}

/* ---- model ---- */

static boson_status check_model_options(loader *ld, json_t *model, int *unk_set, int *byte_fb)
{
    json_t *v = json_object_get(model, "dropout");
    if (v && !json_is_null(v) && !(json_is_number(v) && json_number_value(v) == 0.0))
        return lerr(ld, BOSON_ERR_UNSUPPORTED, "model.dropout", "BPE dropout is not supported");
    static const char *const empty_keys[] = {"continuing_subword_prefix", "end_of_word_suffix"};
    for (int i = 0; i < 2; i++) {
        v = json_object_get(model, empty_keys[i]);
        if (v && !json_is_null(v) && !(json_is_string(v) && json_string_length(v) == 0))
            return bs_error_set(ld->err, BOSON_ERR_UNSUPPORTED, "%s: model.%s: must be empty",
                                ld->name, empty_keys[i]);
    }
    v = json_object_get(model, "unk_token");
    *unk_set = v && !json_is_null(v);
    boson_status st = get_bool(ld, model, "byte_fallback", 0, byte_fb, "model");
    if (st != BOSON_OK)
        return st;
    return get_bool(ld, model, "ignore_merges", 0, &ld->tok->bpe.ignore_merges, "model");
}

static boson_status parse_merges(loader *ld, json_t *vocab, json_t *merges)
{
    bs_tokenizer *tok = ld->tok;
    size_t n = json_array_size(merges);
    boson_status st = bs_bpe_init_merges(&tok->bpe, n, ld->err);
    if (st != BOSON_OK)
        return st;
    char *cat = NULL;
    size_t cat_cap = 0;
    char path[64];
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(merges, i);
        snprintf(path, sizeof path, "model.merges[%zu]", i);
        const char *a, *b;
        size_t an, bn;
        if (json_is_string(e)) {
            const char *s = json_string_value(e);
            const char *sp = strchr(s, ' ');
            if (!sp || strchr(sp + 1, ' ')) {
                free(cat);
                return lerr(ld, BOSON_ERR_FORMAT, path,
                            "\"%.80s\" must be two tokens separated by one space", s);
            }
            a = s;
            an = (size_t)(sp - s);
            b = sp + 1;
            bn = strlen(b);
        } else if (json_is_array(e) && json_array_size(e) == 2 &&
                   json_is_string(json_array_get(e, 0)) && json_is_string(json_array_get(e, 1))) {
            a = json_string_value(json_array_get(e, 0));
            an = json_string_length(json_array_get(e, 0));
            b = json_string_value(json_array_get(e, 1));
            bn = json_string_length(json_array_get(e, 1));
        } else {
            free(cat);
            return lerr(ld, BOSON_ERR_FORMAT, path,
                        "must be a string \"a b\" or an array of two strings");
        }
        if (an + bn + 1 > cat_cap) {
            cat_cap = 2 * (an + bn + 1);
            char *p = (char *)realloc(cat, cat_cap);
            if (!p) {
                free(cat);
                return nomem(ld);
            }
            cat = p;
        }
        memcpy(cat, a, an);
        memcpy(cat + an, b, bn);
        cat[an + bn] = 0;
        json_t *ia = json_object_getn(vocab, a, an);
        json_t *ib = json_object_getn(vocab, b, bn);
        json_t *im = json_object_getn(vocab, cat, an + bn);
        const char *missing = !ia ? "left" : !ib ? "right" : !im ? "merged" : NULL;
        if (missing) {
            st =
                lerr(ld, BOSON_ERR_FORMAT, path, "%s token \"%.*s\" is not in model.vocab", missing,
                     (int)(!ia   ? an
                           : !ib ? bn
                                 : an + bn),
                     !ia   ? a
                     : !ib ? b
                           : cat);
            free(cat);
            return st;
        }
        bs_bpe_add_merge(&tok->bpe, (int32_t)json_integer_value(ia),
                         (int32_t)json_integer_value(ib), (uint32_t)i,
                         (int32_t)json_integer_value(im));
    }
    free(cat);
    return BOSON_OK;
}

/* Writes the decode bytes of a token string: the bytes it stands for when it is byte-level text,
 * else its UTF-8 as is (HF ByteLevel decoder). Returns 1 if it was byte-level text. */
static int put_token_bytes(bs_tokenizer *tok, int32_t id, const char *s, size_t n)
{
    uint8_t *dst = tok->blob + tok->blob_n;
    long r = bs_bytelevel_to_bytes(s, n, dst);
    int bytelevel = r >= 0;
    if (!bytelevel) {
        memcpy(dst, s, n);
        r = (long)n;
    }
    tok->off[id] = tok->blob_n;
    tok->len[id] = (uint32_t)r;
    tok->blob_n += (size_t)r;
    return bytelevel;
}

static boson_status build(loader *ld, json_t *root, json_t *config)
{
    bs_tokenizer *tok = ld->tok;
    json_t *model = json_object_get(root, "model");
    if (!json_is_object(model))
        return lerr(ld, BOSON_ERR_FORMAT, "model", "must be an object");
    json_t *type = json_object_get(model, "type");
    if (type && !json_is_string(type))
        return lerr(ld, BOSON_ERR_FORMAT, "model.type", "must be a string");
    if (type && strcmp(json_string_value(type), "BPE") != 0)
        return lerr(ld, BOSON_ERR_UNSUPPORTED, "model.type",
                    "model \"%s\" is not supported (only BPE)", json_string_value(type));
    json_t *vocab = json_object_get(model, "vocab");
    if (!json_is_object(vocab))
        return lerr(ld, BOSON_ERR_FORMAT, "model.vocab", "must be an object");
    json_t *merges = json_object_get(model, "merges");
    if (!json_is_array(merges))
        return lerr(ld, BOSON_ERR_FORMAT, "model.merges", "must be an array");
    int unk_set = 0, byte_fb = 0;
    boson_status st = check_model_options(ld, model, &unk_set, &byte_fb);
    if (st != BOSON_OK)
        return st;

    /* id space and blob size */
    long long max_id = -1;
    uint64_t blob_cap = 0;
    const char *key;
    json_t *v;
    json_object_foreach(vocab, key, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) >= INT32_MAX) {
            char path[160];
            snprintf(path, sizeof path, "model.vocab[\"%.64s\"]", key);
            return lerr(ld, BOSON_ERR_FORMAT, path, "id must be an integer in [0, 2^31 - 1)");
        }
        if (json_integer_value(v) > max_id)
            max_id = json_integer_value(v);
        if (!bs_add_u64(blob_cap, strlen(key), &blob_cap))
            return nomem(ld);
    }
    if ((st = parse_added(ld, root, config)) != BOSON_OK)
        return st;
    for (size_t i = 0; i < tok->n_added; i++) {
        if (tok->added[i].id > max_id)
            max_id = tok->added[i].id;
        if (!bs_add_u64(blob_cap, tok->added[i].len, &blob_cap))
            return nomem(ld);
    }
    if (max_id < 0)
        return lerr(ld, BOSON_ERR_FORMAT, "model.vocab", "is empty");
    /* Tables are indexed by id: a lying file must not make them huge (real vocabularies are
     * a few hundred thousand ids). */
    if (max_id >= (1ll << 24))
        return lerr(ld, BOSON_ERR_FORMAT, "model.vocab / added_tokens",
                    "token id %lld is too large (ids must be below 16777216)", max_id);
    tok->n_ids = (size_t)max_id + 1;
    tok->flags = (uint8_t *)calloc(tok->n_ids, 1);
    tok->off = (uint64_t *)calloc(tok->n_ids, sizeof *tok->off);
    tok->len = (uint32_t *)calloc(tok->n_ids, sizeof *tok->len);
    tok->blob = (uint8_t *)malloc(blob_cap ? blob_cap : 1);
    uint8_t *in_vocab = (uint8_t *)calloc(tok->n_ids, 1);
    if (!tok->flags || !tok->off || !tok->len || !tok->blob || !in_vocab) {
        free(in_vocab);
        return nomem(ld);
    }
    for (int b = 0; b < 256; b++)
        tok->bpe.byte_id[b] = -1;
    json_object_foreach(vocab, key, v)
    {
        int32_t id = (int32_t)json_integer_value(v);
        if (tok->flags[id] & BS_TOKF_EXISTS) {
            free(in_vocab);
            char path[160];
            snprintf(path, sizeof path, "model.vocab[\"%.64s\"]", key);
            return lerr(ld, BOSON_ERR_FORMAT, path, "id %ld is used by another token", (long)id);
        }
        tok->flags[id] = BS_TOKF_EXISTS;
        if (put_token_bytes(tok, id, key, strlen(key))) {
            in_vocab[id] = 1;
            if (tok->len[id] == 1)
                tok->bpe.byte_id[tok->blob[tok->off[id]]] = id;
        }
    }
    int all_bytes = 1;
    for (int b = 0; b < 256; b++)
        all_bytes &= tok->bpe.byte_id[b] >= 0;
    if ((unk_set || byte_fb) && !all_bytes) {
        free(in_vocab);
        return lerr(ld, BOSON_ERR_UNSUPPORTED, "model",
                    "unk_token / byte_fallback with a vocabulary that lacks some byte tokens "
                    "is not supported");
    }
    st = bs_bpe_init_vocab(&tok->bpe, tok->n_ids, in_vocab, tok->blob, tok->off, tok->len, ld->err);
    free(in_vocab);
    if (st != BOSON_OK)
        return st;
    if ((st = parse_merges(ld, vocab, merges)) != BOSON_OK)
        return st;
    if ((st = parse_normalizer(ld, json_object_get(root, "normalizer"), "normalizer")) != BOSON_OK)
        return st;
    int bytelevel = 0;
    st = parse_pretok(ld, json_object_get(root, "pre_tokenizer"), "pre_tokenizer", &bytelevel);
    if (st != BOSON_OK)
        return st;
    if (!bytelevel)
        return lerr(ld, BOSON_ERR_UNSUPPORTED, "pre_tokenizer",
                    "no ByteLevel pre-tokenizer: only byte-level BPE is supported");
    json_t *dec = json_object_get(root, "decoder");
    json_t *dt = json_is_object(dec) ? json_object_get(dec, "type") : NULL;
    if (!json_is_string(dt) || strcmp(json_string_value(dt), "ByteLevel") != 0)
        return lerr(ld, BOSON_ERR_UNSUPPORTED, "decoder", "only a ByteLevel decoder is supported");

    /* added tokens: decode bytes, flags, matchers */
    bs_bytes_buf normc = {0}, tmp = {0};
    for (size_t i = 0; i < tok->n_added; i++) {
        bs_added_token *t = &tok->added[i];
        put_token_bytes(tok, t->id, t->content, t->len);
        tok->flags[t->id] = BS_TOKF_EXISTS | BS_TOKF_ADDED | (t->special ? BS_TOKF_SPECIAL : 0);
        if (!t->normalized) {
            st = bs_added_set_add(&tok->raw_set, (const uint8_t *)t->content, t->len, (int32_t)i,
                                  ld->err);
        } else {
            normc.n = 0;
            if (!bs_normalize_append(&tok->norm, (const uint8_t *)t->content, t->len, &normc, &tmp))
                st = nomem(ld);
            else
                st = bs_added_set_add(&tok->norm_set, normc.p, normc.n, (int32_t)i, ld->err);
        }
        if (st != BOSON_OK)
            break;
    }
    bs_bytes_free(&normc);
    bs_bytes_free(&tmp);
    return st;
}

boson_status bs_tokenizer_load_mem(const char *json, size_t json_len, const char *config,
                                   size_t config_len, const char *name, bs_tokenizer **out,
                                   boson_error *err)
{
    *out = NULL;
    if (!name)
        name = "tokenizer.json";
    json_error_t je;
    json_t *root = json_loadb(json, json_len, 0, &je);
    if (!root)
        return bs_error_set(err, BOSON_ERR_FORMAT, "%s: invalid JSON at line %d, column %d: %s",
                            name, je.line, je.column, je.text);
    json_t *cfg = NULL;
    if (config) {
        cfg = json_loadb(config, config_len, 0, &je);
        if (!cfg) {
            json_decref(root);
            return bs_error_set(err, BOSON_ERR_FORMAT,
                                "tokenizer_config.json: invalid JSON at line %d, column %d: %s",
                                je.line, je.column, je.text);
        }
    }
    boson_status st;
    bs_tokenizer *tok = (bs_tokenizer *)calloc(1, sizeof *tok);
    loader ld = {name, err, tok};
    if (!tok)
        st = nomem(&ld);
    else if (!json_is_object(root))
        st = lerr(&ld, BOSON_ERR_FORMAT, "(root)", "must be an object");
    else if (cfg && !json_is_object(cfg))
        st =
            bs_error_set(err, BOSON_ERR_FORMAT, "tokenizer_config.json: (root): must be an object");
    else
        st = build(&ld, root, cfg);
    json_decref(root);
    json_decref(cfg);
    if (st != BOSON_OK) {
        bs_tokenizer_free(tok);
        return st;
    }
    *out = tok;
    return BOSON_OK;
}

static boson_status read_file(const char *path, char **data, size_t *len, boson_error *err)
{
    return bs_read_file(path, (uint64_t)1 << 31, data, len, err);
}

boson_status bs_tokenizer_load(const char *json_path, const char *config_path, bs_tokenizer **out,
                               boson_error *err)
{
    *out = NULL;
    char *js = NULL, *cs = NULL;
    size_t jn = 0, cn = 0;
    boson_status st = read_file(json_path, &js, &jn, err);
    if (st == BOSON_OK && config_path)
        st = read_file(config_path, &cs, &cn, err);
    if (st == BOSON_OK)
        st = bs_tokenizer_load_mem(js, jn, cs, cn, json_path, out, err);
    free(js);
    free(cs);
    return st;
}
