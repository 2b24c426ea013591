/* JSON text helpers for tool-call arguments, working on bytes (no tree):
 *  - a strict RFC 8259 validator that re-emits one value in compact form: whitespace between
 *    tokens removed, every token kept byte for byte (numbers of any size or precision survive
 *    unchanged, strings keep the escapes they were written with);
 *  - a lookup of one member of a top-level object (for {"name": ..., "arguments": ...});
 *  - a decoder for the raw text of a string literal and a writer of string literals.
 * Strings must be valid UTF-8 without raw control characters (RFC 8259 §7, §8.1); nesting is
 * limited to BS_JSON_MAX_DEPTH so hostile input cannot exhaust the stack. */
#ifndef BOSON_TEXT_JSON_SCAN_H
#define BOSON_TEXT_JSON_SCAN_H

#include "text/textbuf.h"

#include <stddef.h>

#define BS_JSON_MAX_DEPTH 128

typedef enum bs_jkind {
    BS_JK_INVALID = 0,
    BS_JK_OBJECT,
    BS_JK_ARRAY,
    BS_JK_STRING,
    BS_JK_NUMBER,
    BS_JK_TRUE,
    BS_JK_FALSE,
    BS_JK_NULL
} bs_jkind;

/* Result of the scanning calls. */
typedef enum bs_jscan {
    BS_JSCAN_OK = 0,
    BS_JSCAN_INVALID, /* not exactly one valid JSON value */
    BS_JSCAN_NOMEM    /* out could not grow */
} bs_jscan;

/* Checks that s[0..n) is one JSON value with optional surrounding whitespace and appends its
 * compact form to out (out may be NULL: validate only). On anything but BS_JSCAN_OK, out is
 * restored to its previous length. *kind (may be NULL) receives the kind of the value. */
bs_jscan bs_json_compact(const char *s, size_t n, bs_bytes_buf *out, bs_jkind *kind);

/* Checks that s[0..n) is one JSON object (optional surrounding whitespace) and finds the last
 * member whose decoded name equals key (NUL-terminated UTF-8). *found = 0 if absent; otherwise
 * *val / *val_len span the member's value text (no surrounding whitespace) and *kind its kind. */
bs_jscan bs_json_object_member(const char *s, size_t n, const char *key, int *found,
                               const char **val, size_t *val_len, bs_jkind *kind);

/* Decodes a validated string literal (s[0..n) including the quotes) to UTF-8 and appends it
 * to out. A lone surrogate escape becomes U+FFFD. Returns 0 on allocation failure. */
int bs_json_decode_string(const char *s, size_t n, bs_bytes_buf *out);

/* Appends s[0..n) as a JSON string literal: quotes, \" \\ \n \r \t \b \f, \u00XX for other
 * control bytes, other UTF-8 kept raw; each byte of an invalid UTF-8 sequence becomes U+FFFD so
 * the result is always valid JSON. Returns 0 on allocation failure. */
int bs_json_write_string(bs_bytes_buf *out, const char *s, size_t n);

/* Length (1..4) of the well-formed UTF-8 sequence at s[0..n), 0 if it is not one
 * (overlong forms, surrogates and code points above U+10FFFF are not well-formed). */
size_t bs_json_utf8_seq(const unsigned char *s, size_t n);

#endif
