/* Pre-tokenisation: the tokenizer.json "Split" regex (behaviour Isolated) run with PCRE2.
 *
 * HF tokenizers compiles its patterns with Oniguruma, where \s is the Unicode White_Space
 * property; PCRE2's \s (UCP) also matches U+180E. bs_regex_translate spells \s and \S out as
 * White_Space classes so both engines agree; everything else (\p{L}, \p{N}, \p{M}, (?i:...),
 * (?!...)) means the same in both. Patterns are compiled with PCRE2_UTF | PCRE2_UCP and
 * JIT-compiled when the JIT is available; subjects must be valid UTF-8 (they are matched with
 * PCRE2_NO_UTF_CHECK).
 *
 * A bs_pretok is immutable once built and may be shared between threads; each thread passes
 * its own bs_pretok_scratch. */
#ifndef BOSON_TEXT_PRETOKENIZE_H
#define BOSON_TEXT_PRETOKENIZE_H

#include "base/error.h"
#include "text/textbuf.h"

#include <stddef.h>
#include <stdint.h>

#define BS_PRETOK_MAX_STAGES 4

typedef struct bs_pretok {
    int n_stages;
    void *code[BS_PRETOK_MAX_STAGES]; /* pcre2_code_8 * */
    int jit[BS_PRETOK_MAX_STAGES];    /* 1 if JIT compilation succeeded */
} bs_pretok;

typedef struct bs_pretok_scratch {
    void *match_data; /* pcre2_match_data_8 * */
    void *jit_stack;  /* pcre2_jit_stack_8 * */
    void *mcontext;   /* pcre2_match_context_8 * */
} bs_pretok_scratch;

/* Rewrites an Oniguruma-syntax pattern for PCRE2 (see above). where names the pattern in
 * errors (e.g. a JSON path). */
boson_status bs_regex_translate(const char *pat, size_t n, bs_bytes_buf *out, const char *where,
                                boson_error *err);

/* Appends one split stage. literal: the pattern is a plain string (HF {"String": ...}). */
boson_status bs_pretok_add(bs_pretok *p, const char *pattern, size_t n, int literal,
                           const char *where, boson_error *err);

void bs_pretok_free(bs_pretok *p);

boson_status bs_pretok_scratch_init(bs_pretok_scratch *sc, boson_error *err);
void bs_pretok_scratch_free(bs_pretok_scratch *sc);

/* Called for each piece, in order; a non-OK return stops the split and is passed back. */
typedef boson_status (*bs_piece_fn)(void *ctx, const uint8_t *s, size_t n);

/* Splits the valid UTF-8 text s[0..n) through every stage (Isolated: each match and each
 * non-empty gap between matches is a piece; empty matches only separate) and calls fn per
 * non-empty piece. With no stages the whole text is one piece. */
boson_status bs_pretok_split(const bs_pretok *p, bs_pretok_scratch *sc, const uint8_t *s, size_t n,
                             bs_piece_fn fn, void *ctx, boson_error *err);

#endif
