/* Lexer of the chat-template Jinja subset.
 *
 * Reproduces jinja2's lexer as Hugging Face configures it (trim_blocks=True, lstrip_blocks=True,
 * keep_trailing_newline=False): newlines are normalised to "\n" and one trailing newline is
 * dropped; "{%-"/"-%}" strip whitespace, "+" disables lstrip/trim; a block or comment tag
 * swallows one newline after it; whitespace before a block/comment tag that starts a line is
 * removed; {% raw %} bodies are literal text. String literals are decoded with Python's
 * unicode-escape rules. Every token records its byte offset in the normalised source, from
 * which errors derive line and column. */
#ifndef BOSON_TEXT_JINJA_LEX_H
#define BOSON_TEXT_JINJA_LEX_H

#include "text/jvalue.h"

#include <stddef.h>
#include <stdint.h>

typedef enum jtok_kind {
    JT_TEXT,        /* template data between tags */
    JT_VAR_BEGIN,   /* {{ */
    JT_VAR_END,     /* }} */
    JT_BLOCK_BEGIN, /* {% */
    JT_BLOCK_END,   /* %} */
    JT_NAME,
    JT_STRING, /* decoded value in s/n */
    JT_INT,
    JT_FLOAT,
    JT_OP, /* operator text in s/n: + - * / // % ** ~ == != < <= > >= = . : | , ( ) [ ] { } ; */
    JT_EOF
} jtok_kind;

typedef struct jtok {
    jtok_kind kind;
    size_t off; /* byte offset in the normalised source */
    const char *s;
    size_t n;
    int64_t i;
    double f;
} jtok;

typedef struct jlex_out {
    const char *src; /* normalised source (in the heap) */
    size_t src_len;
    jtok *toks;
    size_t ntoks;
} jlex_out;

/* Tokenises text; on error jumps through h->jb with the message in h->msg
 * ("chat template line L, column C: ..."). */
void jinja_lex(jv_heap *h, const char *text, size_t len, jlex_out *out);

/* 1-based line and column (in characters) of a byte offset in the normalised source. */
void jinja_line_col(const char *src, size_t len, size_t off, int *line, int *col);

/* Jumps with "chat template line L, column C: <message>". */
_Noreturn void jinja_fail_at(jv_heap *h, boson_status st, const char *src, size_t len, size_t off,
                             const char *fmt, ...) __attribute__((noreturn, format(printf, 6, 7)));

#endif
