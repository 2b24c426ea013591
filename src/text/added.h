/* Added tokens (tokenizer.json "added_tokens" + tokenizer_config.json "added_tokens_decoder"):
 * matched on the text before the BPE pipeline, as HF tokenizers does.
 *
 * Matching is leftmost-longest over all patterns of one set (the earliest start wins, then the
 * longest pattern starting there), non-overlapping, like HF's Aho-Corasick LeftmostLongest.
 * HF keeps two sets: tokens with normalized == false are matched on the raw text; tokens with
 * normalized == true are matched (with their normalised content) on each normalised segment.
 * Per-token options follow HF: single_word (skip the match when a word character touches it),
 * lstrip / rstrip (the token also swallows the whitespace on its left / right). */
#ifndef BOSON_TEXT_ADDED_H
#define BOSON_TEXT_ADDED_H

#include "base/error.h"

#include <stddef.h>
#include <stdint.h>

typedef struct bs_added_token {
    int32_t id;
    char *content; /* UTF-8, NUL-terminated */
    size_t len;
    uint8_t special, lstrip, rstrip, single_word, normalized;
} bs_added_token;

typedef struct bs_added_set {
    /* byte trie: node 0 is the root */
    int32_t *child, *sibling, *term; /* term: token index or -1 */
    uint8_t *byte;
    size_t n_nodes, cap;
    uint8_t first[256]; /* bytes that start some pattern */
    size_t n_patterns;
} bs_added_set;

/* Adds pattern (len > 0) for token index tok. A pattern added twice keeps its first token. */
boson_status bs_added_set_add(bs_added_set *set, const uint8_t *pattern, size_t len, int32_t tok,
                              boson_error *err);
void bs_added_set_free(bs_added_set *set);

/* One piece of a split: tok >= 0 is an added token (index into the token array), tok < 0 text. */
typedef boson_status (*bs_added_piece_fn)(void *ctx, int32_t tok, const uint8_t *s, size_t n);

/* Splits s[0..n) (valid UTF-8) on the tokens of set, calling fn for every text gap (non-empty)
 * and every token, in order. skip_special: special tokens that match are left as text (HF
 * encode_special_tokens / split_special_tokens). */
boson_status bs_added_split(const bs_added_set *set, const bs_added_token *tokens, int skip_special,
                            const uint8_t *s, size_t n, bs_added_piece_fn fn, void *ctx);

#endif
