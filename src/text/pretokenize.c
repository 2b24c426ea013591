#define PCRE2_CODE_UNIT_WIDTH 8
#include "text/pretokenize.h"

#include "text/utf8.h"

#include <pcre2.h>
#include <string.h>

/* Unicode White_Space, the meaning of \s in Oniguruma (and Rust). PCRE2's UCP \s also
 * matches U+180E, which stopped being a space in Unicode 6.3, so \s is spelled out. */
#define WS_CLASS_BODY                                                                     \
    "\\t-\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}" \
    "\\x{205F}\\x{3000}"

boson_status bs_regex_translate(const char *pat, size_t n, bs_bytes_buf *out, const char *where,
                                boson_error *err)
{
    out->n = 0;
    int in_class = 0;
    size_t i = 0;
    while (i < n) {
        char c = pat[i];
        if (c == '\\' && i + 1 < n) {
            char e = pat[i + 1];
            const char *rep = NULL;
            if (e == 's')
                rep = in_class ? WS_CLASS_BODY : "[" WS_CLASS_BODY "]";
            else if (e == 'S' && !in_class)
                rep = "[^" WS_CLASS_BODY "]";
            else if (e == 'S')
                return bs_error_set(
                    err, BOSON_ERR_UNSUPPORTED,
                    "%s: \\S inside a character class (offset %zu) is not supported", where, i);
            if (rep) {
                if (!bs_bytes_append(out, rep, strlen(rep)))
                    return bs_error_set(err, BOSON_ERR_NOMEM, "%s: out of memory", where);
            } else if (!bs_bytes_append(out, pat + i, 2)) {
                return bs_error_set(err, BOSON_ERR_NOMEM, "%s: out of memory", where);
            }
            i += 2;
            continue;
        }
        size_t len = 1;
        if (!in_class && c == '[') {
            in_class = 1;
            /* "[^]" and "[]" open with a literal ']' */
            if (i + 1 < n && pat[i + 1] == '^')
                len++;
            if (i + len < n && pat[i + len] == ']')
                len++;
        } else if (in_class && c == '[' && i + 1 < n && pat[i + 1] == ':') {
            const char *end = NULL;
            for (size_t k = i + 2; k + 1 < n; k++)
                if (pat[k] == ':' && pat[k + 1] == ']') {
                    end = pat + k + 2;
                    break;
                }
            if (end)
                len = (size_t)(end - (pat + i));
        } else if (in_class && c == ']') {
            in_class = 0;
        }
        if (!bs_bytes_append(out, pat + i, len))
            return bs_error_set(err, BOSON_ERR_NOMEM, "%s: out of memory", where);
        i += len;
    }
    return BOSON_OK;
}

boson_status bs_pretok_add(bs_pretok *p, const char *pattern, size_t n, int literal,
                           const char *where, boson_error *err)
{
    if (p->n_stages >= BS_PRETOK_MAX_STAGES)
        return bs_error_set(err, BOSON_ERR_UNSUPPORTED, "%s: more than %d split stages", where,
                            BS_PRETOK_MAX_STAGES);
    bs_bytes_buf tr = {0};
    const char *src = pattern;
    size_t src_n = n;
    uint32_t opts = PCRE2_UTF | PCRE2_UCP;
    if (literal) {
        opts |= PCRE2_LITERAL;
    } else {
        boson_status st = bs_regex_translate(pattern, n, &tr, where, err);
        if (st != BOSON_OK) {
            bs_bytes_free(&tr);
            return st;
        }
        src = (const char *)tr.p;
        src_n = tr.n;
    }
    int ec = 0;
    PCRE2_SIZE eo = 0;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)(src ? src : ""), src_n, opts, &ec, &eo, NULL);
    bs_bytes_free(&tr);
    if (!code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(ec, msg, sizeof msg);
        return bs_error_set(err, BOSON_ERR_FORMAT, "%s: bad regular expression at offset %zu: %s",
                            where, (size_t)eo, (const char *)msg);
    }
    int k = p->n_stages++;
    p->code[k] = code;
    p->jit[k] = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
    return BOSON_OK;
}

void bs_pretok_free(bs_pretok *p)
{
    for (int k = 0; k < p->n_stages; k++)
        pcre2_code_free((pcre2_code *)p->code[k]);
    p->n_stages = 0;
}

boson_status bs_pretok_scratch_init(bs_pretok_scratch *sc, boson_error *err)
{
    memset(sc, 0, sizeof *sc);
    sc->match_data = pcre2_match_data_create(1, NULL);
    sc->mcontext = pcre2_match_context_create(NULL);
    /* Starts at 32 KiB, grows on demand; the address space is reserved lazily. */
    sc->jit_stack = pcre2_jit_stack_create(32 * 1024, 64 * 1024 * 1024, NULL);
    if (!sc->match_data || !sc->mcontext) {
        bs_pretok_scratch_free(sc);
        return bs_error_set(err, BOSON_ERR_NOMEM, "tokenizer: cannot allocate regex match data");
    }
    if (sc->jit_stack)
        pcre2_jit_stack_assign((pcre2_match_context *)sc->mcontext, NULL,
                               (pcre2_jit_stack *)sc->jit_stack);
    return BOSON_OK;
}

void bs_pretok_scratch_free(bs_pretok_scratch *sc)
{
    pcre2_match_data_free((pcre2_match_data *)sc->match_data);
    pcre2_match_context_free((pcre2_match_context *)sc->mcontext);
    pcre2_jit_stack_free((pcre2_jit_stack *)sc->jit_stack);
    memset(sc, 0, sizeof *sc);
}

static boson_status split_stage(const bs_pretok *p, int k, bs_pretok_scratch *sc, const uint8_t *s,
                                size_t n, bs_piece_fn fn, void *ctx, boson_error *err);

static boson_status emit(const bs_pretok *p, int k, bs_pretok_scratch *sc, const uint8_t *s,
                         size_t n, bs_piece_fn fn, void *ctx, boson_error *err)
{
    if (n == 0)
        return BOSON_OK;
    if (k + 1 < p->n_stages)
        return split_stage(p, k + 1, sc, s, n, fn, ctx, err);
    return fn(ctx, s, n);
}

static boson_status split_stage(const bs_pretok *p, int k, bs_pretok_scratch *sc, const uint8_t *s,
                                size_t n, bs_piece_fn fn, void *ctx, boson_error *err)
{
    const pcre2_code *code = (const pcre2_code *)p->code[k];
    pcre2_match_data *md = (pcre2_match_data *)sc->match_data;
    pcre2_match_context *mc = (pcre2_match_context *)sc->mcontext;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    size_t pos = 0, prev = 0;
    while (pos <= n) {
        int rc;
        if (p->jit[k])
            rc = pcre2_jit_match(code, s, n, pos, 0, md, mc);
        else
            rc = pcre2_match(code, s, n, pos, PCRE2_NO_UTF_CHECK, md, mc);
        if (rc == PCRE2_ERROR_NOMATCH)
            break;
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            return bs_error_set(err, BOSON_ERR_RUNTIME,
                                "tokenizer: split regex failed at byte %zu: %s", pos,
                                (const char *)msg);
        }
        size_t a = ov[0], b = ov[1];
        if (a < prev || b < a || b > n) /* cannot happen; keep the loop safe */
            return bs_error_set(err, BOSON_ERR_RUNTIME, "tokenizer: bad regex match offsets");
        boson_status st = emit(p, k, sc, s + prev, a - prev, fn, ctx, err);
        if (st != BOSON_OK)
            return st;
        if (b > a) {
            st = emit(p, k, sc, s + a, b - a, fn, ctx, err);
            if (st != BOSON_OK)
                return st;
            prev = pos = b;
        } else {
            prev = a;
            if (a >= n)
                break;
            uint32_t cp;
            size_t len;
            bs_utf8_decode(s + a, n - a, &cp, &len);
            pos = a + len;
        }
    }
    return emit(p, k, sc, s + prev, n - prev, fn, ctx, err);
}

boson_status bs_pretok_split(const bs_pretok *p, bs_pretok_scratch *sc, const uint8_t *s, size_t n,
                             bs_piece_fn fn, void *ctx, boson_error *err)
{
    if (n == 0)
        return BOSON_OK;
    if (p->n_stages == 0)
        return fn(ctx, s, n);
    return split_stage(p, 0, sc, s, n, fn, ctx, err);
}
