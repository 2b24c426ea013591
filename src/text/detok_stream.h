/* Streaming detokenizer: feed ids one at a time, get UTF-8 text deltas.
 *
 * A byte-level token can end inside a UTF-8 sequence. Bytes that are a valid but unfinished
 * sequence are held back (at most 3); bytes that can no longer become valid are replaced by
 * U+FFFD at once (one per maximal ill-formed subpart); bs_detok_flush replaces a held tail by one
 * U+FFFD. Every delta is valid UTF-8, and the concatenation of all deltas plus the flush equals
 * bs_tokenizer_decode of all the ids with the same flags (and HF's decode).
 *
 * One bs_detok per stream, used by one thread at a time; the tokenizer is only read. */
#ifndef BOSON_TEXT_DETOK_STREAM_H
#define BOSON_TEXT_DETOK_STREAM_H

#include "text/tokenizer.h"

typedef struct bs_detok {
    const bs_tokenizer *tok;
    unsigned flags; /* BS_DECODE_* */
    uint8_t pend[4];
    size_t n_pend;
} bs_detok;

void bs_detok_init(bs_detok *d, const bs_tokenizer *tok, unsigned flags);

/* Appends the text that id completes to out (possibly nothing). An id that does not exist is
 * an error; the stream is then unchanged. */
boson_status bs_detok_feed(bs_detok *d, int32_t id, bs_bytes_buf *out, boson_error *err);

/* Ends the stream: appends U+FFFD if bytes are held back, and resets the held bytes. */
boson_status bs_detok_flush(bs_detok *d, bs_bytes_buf *out, boson_error *err);

#endif
