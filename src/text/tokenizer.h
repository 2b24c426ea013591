/* Byte-level BPE tokenizer with Hugging Face `tokenizers` semantics (Qwen2/3, Qwen3-Next,
 * Qwen3.5 tokenizer.json files): same token ids for the same text.
 *
 * Encoding pipeline (HF order):
 *   1. invalid UTF-8 in the input is replaced by U+FFFD, one per maximal ill-formed subpart
 *      (what Python's bytes.decode("utf-8", errors="replace") gives, HF only accepts str);
 *   2. added tokens with normalized == false are cut out of the raw text (leftmost-longest,
 *      special and non-special alike) unless BS_TOK_LITERAL / BS_TOK_SPLIT_SPECIAL say otherwise;
 *   3. each remaining segment is normalised (tokenizer.json "normalizer": NFC for Qwen), then
 *      added tokens with normalized == true are cut out of it;
 *   4. the Split regex(es) of the pre_tokenizer cut it into pieces (PCRE2, see pretokenize.h);
 *   5. each piece's bytes are merged by BPE rank (bpe.h). Nothing is added around the result
 *      (no BOS/EOS; the post_processor is not applied).
 *
 * Decoding: each id gives bytes — a token whose string is byte-level text gives the bytes it
 * stands for, any other token (e.g. an added token holding a space) its UTF-8 string as is, which
 * is HF's ByteLevel decoder rule — the bytes are concatenated and invalid UTF-8 becomes U+FFFD
 * (maximal subparts). Unlike HF, ids outside the vocabulary are an error rather than skipped.
 *
 * Threads: a bs_tokenizer is immutable after loading; share it freely. Encoding needs mutable
 * scratch (regex match data, merge heap, piece cache): every thread that encodes owns one
 * bs_tok_state (never used by two threads at once). Passing NULL makes a temporary state for
 * the call (correct, slower: no cache reuse). Decoding needs no state.
 *
 * Known divergences from HF tokenizers (documented, tested where possible):
 *   - Unicode versions: the split regex uses PCRE2's tables (10.42: Unicode 14) while HF's
 *     regex engine knows later versions (letters and digits added in Unicode 15/16, such as
 *     U+1C89 or the Kaktovik digits U+1D2C0.., can split differently), and NFC uses utf8proc
 *     (Unicode 15) where HF has older normalisation tables (decompositions added after about
 *     Unicode 9, such as U+11935 U+11930, compose here and not in HF). Text made of code points
 *     assigned in Unicode 14 gives HF's ids (tested on every such code point below U+3400).
 *   - single_word uses a category-based word test (letters, marks, Nd, Nl, Pc, ZWNJ/ZWJ).
 */
#ifndef BOSON_TEXT_TOKENIZER_H
#define BOSON_TEXT_TOKENIZER_H

#include "base/error.h"
#include "text/bpe.h"
#include "text/textbuf.h"

#include <stddef.h>
#include <stdint.h>

typedef struct bs_tokenizer bs_tokenizer;
typedef struct bs_tok_state bs_tok_state;

/* Encode flags. */
enum {
    /* Added tokens are never matched: all input is ordinary text. Use for untrusted text
     * (user messages), so that "<|im_end|>" typed by a user cannot become the control token. */
    BS_TOK_LITERAL = 1u << 0,
    /* Only special added tokens are left as text; non-special ones (<think>, <tool_call>, ...)
     * are still matched. Same as HF `encode_special_tokens = True`. */
    BS_TOK_SPLIT_SPECIAL = 1u << 1,
};

/* Decode flags. */
enum {
    BS_DECODE_SKIP_SPECIAL =
        1u << 0, /* drop added tokens marked special (HF skip_special_tokens) */
};

/* Loads tokenizer.json; config_path (tokenizer_config.json, may be NULL) adds the tokens of its
 * "added_tokens_decoder" that tokenizer.json lacks. Errors name the file and the JSON path. */
boson_status bs_tokenizer_load(const char *json_path, const char *config_path, bs_tokenizer **out,
                               boson_error *err);

/* Same from memory; name is used in error messages. config may be NULL. */
boson_status bs_tokenizer_load_mem(const char *json, size_t json_len, const char *config,
                                   size_t config_len, const char *name, bs_tokenizer **out,
                                   boson_error *err);

void bs_tokenizer_free(bs_tokenizer *tok);

/* 1 + the largest id in use (model vocabulary and added tokens). */
size_t bs_tokenizer_n_ids(const bs_tokenizer *tok);

/* Id of the added token whose content is s[0..n), or -1. */
int32_t bs_tokenizer_added_id(const bs_tokenizer *tok, const char *s, size_t n);

/* Id of the model (BPE) token made of the raw bytes s[0..n), or -1. */
int32_t bs_tokenizer_vocab_id(const bs_tokenizer *tok, const void *s, size_t n);

/* 1 if id exists and is an added token marked special. */
int bs_tokenizer_is_special(const bs_tokenizer *tok, int32_t id);

/* The bytes id decodes to (not NUL-terminated), or NULL for an id that does not exist. */
const uint8_t *bs_tokenizer_token_bytes(const bs_tokenizer *tok, int32_t id, size_t *len);

/* Per-thread encoder state (see "Threads" above). */
boson_status bs_tok_state_new(const bs_tokenizer *tok, bs_tok_state **out, boson_error *err);
void bs_tok_state_free(bs_tok_state *st);

/* Encodes text[0..len) (any bytes) and appends the ids to out. st may be NULL. */
boson_status bs_tokenizer_encode(const bs_tokenizer *tok, bs_tok_state *st, const char *text,
                                 size_t len, unsigned flags, bs_ids *out, boson_error *err);

/* Decodes ids and appends valid UTF-8 to out. An id that does not exist is an error naming its
 * position; out is then left as it was. */
boson_status bs_tokenizer_decode(const bs_tokenizer *tok, const int32_t *ids, size_t n,
                                 unsigned flags, bs_bytes_buf *out, boson_error *err);

#endif
