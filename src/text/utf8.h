/* UTF-8 decoding with the Unicode "maximal subpart" rule for ill-formed input.
 *
 * The rule (Unicode 15 §3.9, Table 3-7; also what Python's errors="replace" and Rust's
 * from_utf8_lossy do): an ill-formed sequence is replaced by one U+FFFD per maximal subpart,
 * i.e. per longest prefix of a well-formed sequence (at least one byte). Surrogates (ED A0..BF)
 * and code points above U+10FFFF (F4 90.., F5..FF) are ill-formed. */
#ifndef BOSON_TEXT_UTF8_H
#define BOSON_TEXT_UTF8_H

#include <stddef.h>
#include <stdint.h>

typedef enum bs_utf8_result {
    BS_UTF8_OK,         /* *len bytes form one code point, stored in *cp */
    BS_UTF8_INVALID,    /* the first *len bytes are a maximal ill-formed subpart */
    BS_UTF8_INCOMPLETE, /* all *len (= n) bytes are a valid but unfinished prefix */
} bs_utf8_result;

/* Decodes the sequence at s[0..n), n >= 1. */
bs_utf8_result bs_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp, size_t *len);

/* Writes cp (<= U+10FFFF, not a surrogate) as UTF-8 into out; returns the byte count (1..4). */
size_t bs_utf8_encode(uint32_t cp, uint8_t out[4]);

/* Length of the longest well-formed prefix of s[0..n). */
size_t bs_utf8_valid_prefix(const uint8_t *s, size_t n);

/* Copies s[0..n) to out replacing every maximal ill-formed subpart (and an unfinished sequence
 * at the end) by U+FFFD (EF BF BD). out must hold 3 * n bytes. Returns the bytes written. */
size_t bs_utf8_sanitize(const uint8_t *s, size_t n, uint8_t *out);

#endif
