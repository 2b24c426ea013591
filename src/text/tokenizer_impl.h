/* Internal layout of bs_tokenizer, shared by tokenizer.c (encode/decode) and
 * tokenizer_load.c (tokenizer.json parsing). Not for use outside src/text. */
#ifndef BOSON_TEXT_TOKENIZER_IMPL_H
#define BOSON_TEXT_TOKENIZER_IMPL_H

#include "text/added.h"
#include "text/bpe.h"
#include "text/normalize.h"
#include "text/pretokenize.h"
#include "text/tokenizer.h"

enum {
    BS_TOKF_EXISTS = 1u << 0,
    BS_TOKF_ADDED = 1u << 1,
    BS_TOKF_SPECIAL = 1u << 2,
};

struct bs_tokenizer {
    size_t n_ids;   /* 1 + largest id */
    uint8_t *flags; /* [n_ids] BS_TOKF_* */
    uint64_t *off;  /* [n_ids] decode bytes of id: blob[off .. off + len) */
    uint32_t *len;  /* [n_ids] */
    uint8_t *blob;  /* decode bytes of every id */
    size_t blob_n;
    bs_bpe bpe;
    bs_normalizer norm;
    bs_pretok pretok;
    bs_added_token *added; /* [n_added] */
    size_t n_added;
    bs_added_set raw_set;  /* added tokens matched on raw text (normalized == false) */
    bs_added_set norm_set; /* added tokens matched on normalised text (normalized == true) */
};

struct bs_tok_state {
    const bs_tokenizer *tok;
    bs_pretok_scratch pre;
    bs_bpe_scratch bpe;
    bs_bpe_cache cache;
    bs_bytes_buf clean, norm, tmp;
};

#endif
