/* Unicode normalisation of text segments (the tokenizer.json "normalizer"), via utf8proc.
 *
 * Supported: null, NFC, NFD, NFKC, NFKD and a Sequence of those. NFC has a fast path: text is
 * cut before every "inert" code point (combining class 0, no canonical decomposition, not a mark
 * and not a Hangul vowel/trailing jamo, so nothing can compose with or reorder across it) and only
 * the pieces holding a non-inert code point are passed to utf8proc. Unicode tables are utf8proc's
 * (15.0); HF tokenizers uses older normalisation tables, so code points whose decomposition or
 * combining class changed after Unicode 9 may normalise differently (see tokenizer.h). */
#ifndef BOSON_TEXT_NORMALIZE_H
#define BOSON_TEXT_NORMALIZE_H

#include "text/textbuf.h"

#include <stddef.h>
#include <stdint.h>

typedef enum bs_norm_form {
    BS_NORM_NFC,
    BS_NORM_NFD,
    BS_NORM_NFKC,
    BS_NORM_NFKD,
} bs_norm_form;

#define BS_NORM_MAX_STEPS 8

typedef struct bs_normalizer {
    int n_steps; /* 0: no normalisation */
    bs_norm_form steps[BS_NORM_MAX_STEPS];
} bs_normalizer;

/* Appends the normalisation of the valid UTF-8 text s[0..n) to out. tmp is scratch for
 * multi-step sequences. Returns 0 on allocation failure. */
int bs_normalize_append(const bs_normalizer *norm, const uint8_t *s, size_t n, bs_bytes_buf *out,
                        bs_bytes_buf *tmp);

#endif
