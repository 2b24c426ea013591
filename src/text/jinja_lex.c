#include "text/jinja_lex.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jinja_line_col(const char *src, size_t len, size_t off, int *line, int *col)
{
    int l = 1;
    size_t ls = 0;
    if (off > len)
        off = len;
    for (size_t i = 0; i < off; i++) {
        if (src[i] == '\n') {
            l++;
            ls = i + 1;
        }
    }
    *line = l;
    *col = (int)jv_utf8_count(src + ls, off - ls) + 1;
}

_Noreturn void jinja_fail_at(jv_heap *h, boson_status st, const char *src, size_t len, size_t off,
                             const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int line, col;
    jinja_line_col(src, len, off, &line, &col);
    jv_fail(h, st, "chat template line %d, column %d: %s", line, col, msg);
}

typedef struct lexer {
    jv_heap *h;
    const char *s;
    size_t n;
    jtok *toks;
    size_t ntoks, cap;
    int line_starting;
} lexer;

_Noreturn static void lfail(lexer *L, size_t off, const char *what)
{
    jinja_fail_at(L->h, BOSON_ERR_FORMAT, L->s, L->n, off, "%s", what);
}

static jtok *push(lexer *L, jtok_kind k, size_t off)
{
    if (L->ntoks == L->cap) {
        size_t nc = L->cap ? L->cap * 2 : 256;
        jtok *nt = jv_alloc(L->h, nc * sizeof *nt);
        if (L->ntoks)
            memcpy(nt, L->toks, L->ntoks * sizeof *nt);
        L->toks = nt;
        L->cap = nc;
    }
    jtok *t = &L->toks[L->ntoks++];
    memset(t, 0, sizeof *t);
    t->kind = k;
    t->off = off;
    return t;
}

/* Whitespace code point at s[i] (Python's \s); returns its byte length or 0. */
static size_t ws_at(const char *s, size_t n, size_t i)
{
    if (i >= n)
        return 0;
    size_t k = i;
    uint32_t c = jv_utf8_next(s, n, &k);
    return jv_isspace(c) ? k - i : 0;
}

static size_t skip_ws(const char *s, size_t n, size_t i)
{
    size_t w;
    while ((w = ws_at(s, n, i)) != 0)
        i += w;
    return i;
}

/* Length of text[a..b) after removing trailing (Unicode) whitespace. */
static size_t rstrip_end(const char *s, size_t a, size_t b)
{
    while (b > a) {
        size_t p = b - 1;
        while (p > a && ((unsigned char)s[p] & 0xC0) == 0x80)
            p--;
        size_t k = p;
        uint32_t c = jv_utf8_next(s, b, &k);
        if (!jv_isspace(c))
            break;
        b = p;
    }
    return b;
}

/* Emits text s[a..b) as data before a tag with the given sign ('-', '+' or 0). */
static void emit_text(lexer *L, size_t a, size_t b, char sign, int lstrip_ok)
{
    if (sign == '-') {
        b = rstrip_end(L->s, a, b);
    } else if (sign != '+' && lstrip_ok) {
        size_t lpos = a;
        for (size_t i = b; i > a; i--) {
            if (L->s[i - 1] == '\n') {
                lpos = i;
                break;
            }
        }
        if ((lpos > a || L->line_starting) && lpos < b && skip_ws(L->s, b, lpos) == b)
            b = lpos;
    }
    if (b > a) {
        jtok *t = push(L, JT_TEXT, a);
        t->s = L->s + a;
        t->n = b - a;
    }
}

static int is_name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int hexval(char c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return c - 'A' + 10;
}

/* Digits with single '_' separators: (_?D)* after a first digit. Returns the end. */
static size_t digit_run(const char *s, size_t n, size_t i, int (*ok)(char))
{
    while (i < n) {
        if (ok(s[i])) {
            i++;
        } else if (s[i] == '_' && i + 1 < n && ok(s[i + 1])) {
            i += 2;
        } else {
            break;
        }
    }
    return i;
}

static int is_bin(char c)
{
    return c == '0' || c == '1';
}

static int is_oct(char c)
{
    return c >= '0' && c <= '7';
}

static void put_cp(jv_buf *b, uint32_t cp)
{
    char t[4];
    jv_buf_put(b, t, jv_utf8_encode(cp, t));
}

/* Decodes a string literal body with Python's unicode-escape rules. */
static void decode_string(lexer *L, size_t a, size_t b, jtok *t)
{
    jv_buf out;
    jv_buf_init(&out, L->h, L->h->limit);
    const char *s = L->s;
    size_t i = a;
    while (i < b) {
        if (s[i] != '\\') {
            size_t j = i;
            while (j < b && s[j] != '\\')
                j++;
            jv_buf_put(&out, s + i, j - i);
            i = j;
            continue;
        }
        size_t esc = i;
        i++;
        if (i >= b)
            lfail(L, esc, "\\ at end of string");
        char c = s[i];
        uint32_t cp;
        switch (c) {
        case '\n': i++; continue;
        case '\\':
            jv_buf_putc(&out, '\\');
            i++;
            continue;
        case '\'':
            jv_buf_putc(&out, '\'');
            i++;
            continue;
        case '"':
            jv_buf_putc(&out, '"');
            i++;
            continue;
        case 'a':
            jv_buf_putc(&out, '\a');
            i++;
            continue;
        case 'b':
            jv_buf_putc(&out, '\b');
            i++;
            continue;
        case 'f':
            jv_buf_putc(&out, '\f');
            i++;
            continue;
        case 'n':
            jv_buf_putc(&out, '\n');
            i++;
            continue;
        case 'r':
            jv_buf_putc(&out, '\r');
            i++;
            continue;
        case 't':
            jv_buf_putc(&out, '\t');
            i++;
            continue;
        case 'v':
            jv_buf_putc(&out, '\v');
            i++;
            continue;
        case 'x':
        case 'u':
        case 'U': {
            int nd = c == 'x' ? 2 : c == 'u' ? 4 : 8;
            i++;
            cp = 0;
            for (int k = 0; k < nd; k++) {
                if (i >= b || !is_hex(s[i]))
                    lfail(L, esc, "truncated \\xXX / \\uXXXX escape in string");
                cp = cp * 16 + (uint32_t)hexval(s[i]);
                i++;
            }
            if (cp > 0x10FFFF)
                lfail(L, esc, "illegal Unicode character in string escape");
            if (cp >= 0xD800 && cp <= 0xDFFF)
                lfail(L, esc, "surrogate code points in string escapes are not supported");
            put_cp(&out, cp);
            continue;
        }
        case 'N': lfail(L, esc, "\\N{...} escapes are not supported");
        default: break;
        }
        if (is_oct(c)) {
            cp = 0;
            for (int k = 0; k < 3 && i < b && is_oct(s[i]); k++, i++)
                cp = cp * 8 + (uint32_t)(s[i] - '0');
            put_cp(&out, cp);
            continue;
        }
        if ((unsigned char)c >= 0x80) {
            /* Python first writes the character as \xNN / \uNNNN / \UNNNNNNNN, then the
             * backslash before it escapes the backslash of that form */
            size_t k = i;
            uint32_t u = jv_utf8_next(s, b, &k);
            char tmp[16];
            if (u < 0x100)
                snprintf(tmp, sizeof tmp, "\\x%02x", u);
            else if (u < 0x10000)
                snprintf(tmp, sizeof tmp, "\\u%04x", u);
            else
                snprintf(tmp, sizeof tmp, "\\U%08x", u);
            jv_buf_puts(&out, tmp);
            i = k;
            continue;
        }
        /* unknown escape: kept as written */
        jv_buf_putc(&out, '\\');
    }
    t->s = out.p ? out.p : "";
    t->n = out.len;
}

static const char *const ops2[] = {"//", "**", "==", "!=", ">=", "<="};
static const char ops1[] = "+-/*%~[](){}><=.:|,;";

/* Lexes the inside of a {{ }} or {% %} tag starting at i; returns the offset after the end. */
static size_t lex_tag(lexer *L, size_t i, int is_block, size_t tag_off)
{
    const char *s = L->s;
    size_t n = L->n;
    char stack[256];
    int depth = 0;
    for (;;) {
        if (i >= n)
            lfail(L, tag_off,
                  is_block ? "unexpected end of template, '%}' expected"
                           : "unexpected end of template, '}}' expected");
        if (depth == 0) {
            /* end of tag: "+%}", "-%}\s*", "%}\n?" (blocks) or "-}}\s*", "}}" (variables) */
            if (is_block) {
                if ((s[i] == '-' || s[i] == '+') && i + 2 < n && s[i + 1] == '%' &&
                    s[i + 2] == '}') {
                    push(L, JT_BLOCK_END, i);
                    size_t e = i + 3;
                    if (s[i] == '-')
                        e = skip_ws(s, n, e);
                    L->line_starting = s[e - 1] == '\n';
                    return e;
                }
                if (s[i] == '%' && i + 1 < n && s[i + 1] == '}') {
                    push(L, JT_BLOCK_END, i);
                    size_t e = i + 2;
                    if (e < n && s[e] == '\n')
                        e++;
                    L->line_starting = s[e - 1] == '\n';
                    return e;
                }
            } else {
                if (s[i] == '-' && i + 2 < n && s[i + 1] == '}' && s[i + 2] == '}') {
                    push(L, JT_VAR_END, i);
                    size_t e = skip_ws(s, n, i + 3);
                    L->line_starting = s[e - 1] == '\n';
                    return e;
                }
                if (s[i] == '}' && i + 1 < n && s[i + 1] == '}') {
                    push(L, JT_VAR_END, i);
                    L->line_starting = 0;
                    return i + 2;
                }
            }
        }
        size_t w = ws_at(s, n, i);
        if (w) {
            i = skip_ws(s, n, i);
            continue;
        }
        char c = s[i];
        /* float: (\d+_)*\d+ ((\.(\d+_)*\d+)? e[+-]?(\d+_)*\d+ | \.(\d+_)*\d+), not after '.' */
        if (is_digit(c)) {
            size_t a = i;
            size_t e = digit_run(s, n, i, is_digit);
            size_t f = e;
            int is_float = 0;
            if (!(a > 0 && s[a - 1] == '.')) {
                size_t p = e;
                if (p + 1 < n && s[p] == '.' && is_digit(s[p + 1])) {
                    p = digit_run(s, n, p + 1, is_digit);
                    is_float = 1;
                }
                if (p < n && (s[p] == 'e' || s[p] == 'E')) {
                    size_t q = p + 1;
                    if (q < n && (s[q] == '+' || s[q] == '-'))
                        q++;
                    if (q < n && is_digit(s[q])) {
                        p = digit_run(s, n, q, is_digit);
                        is_float = 1;
                    }
                }
                if (is_float)
                    f = p;
            }
            if (is_float) {
                char buf[128];
                size_t k = 0;
                for (size_t x = a; x < f && k + 1 < sizeof buf; x++)
                    if (s[x] != '_')
                        buf[k++] = s[x];
                buf[k] = '\0';
                jtok *t = push(L, JT_FLOAT, a);
                t->f = strtod(buf, NULL);
                t->s = s + a;
                t->n = f - a;
                i = f;
                continue;
            }
            /* integer: 0b.., 0o.., 0x.., [1-9](_?\d)*, 0(_?0)* */
            int base = 10;
            size_t p = a;
            if (c == '0' && a + 1 < n) {
                char x = s[a + 1];
                int (*ok)(char) = NULL;
                if (x == 'b' || x == 'B') {
                    base = 2;
                    ok = is_bin;
                } else if (x == 'o' || x == 'O') {
                    base = 8;
                    ok = is_oct;
                } else if (x == 'x' || x == 'X') {
                    base = 16;
                    ok = is_hex;
                }
                if (ok) {
                    size_t q = a + 2;
                    if (q < n && s[q] == '_')
                        q++;
                    if (q < n && ok(s[q])) {
                        p = digit_run(s, n, q, ok);
                    } else {
                        base = 10;
                    }
                }
            }
            if (base == 10) {
                if (c == '0') {
                    p = a + 1;
                    while (p < n && (s[p] == '0' || (s[p] == '_' && p + 1 < n && s[p + 1] == '0')))
                        p += s[p] == '_' ? 2 : 1;
                } else {
                    p = e;
                }
            }
            uint64_t v = 0;
            size_t start = base == 10 ? a : a + 2;
            for (size_t x = start; x < p; x++) {
                if (s[x] == '_')
                    continue;
                uint64_t d = (uint64_t)hexval(s[x]);
                if (v > (UINT64_MAX - d) / (uint64_t)base || v * (uint64_t)base + d > INT64_MAX)
                    lfail(L, a, "integer literal too large");
                v = v * (uint64_t)base + d;
            }
            jtok *t = push(L, JT_INT, a);
            t->i = (int64_t)v;
            t->s = s + a;
            t->n = p - a;
            i = p;
            continue;
        }
        if (is_name_start(c)) {
            size_t a = i;
            while (i < n && (is_name_start(s[i]) || is_digit(s[i])))
                i++;
            jtok *t = push(L, JT_NAME, a);
            t->s = s + a;
            t->n = i - a;
            continue;
        }
        if (c == '\'' || c == '"') {
            size_t a = i;
            size_t k = i + 1;
            while (k < n && s[k] != c) {
                if (s[k] == '\\') {
                    if (k + 1 >= n)
                        break;
                    /* skip the escaped character (which may be multi-byte) */
                    k++;
                    jv_utf8_next(s, n, &k);
                    continue;
                }
                k++;
            }
            if (k >= n)
                lfail(L, a, "unterminated string literal");
            jtok *t = push(L, JT_STRING, a);
            decode_string(L, a + 1, k, t);
            i = k + 1;
            continue;
        }
        size_t oplen = 0;
        for (size_t k = 0; k < sizeof ops2 / sizeof ops2[0]; k++) {
            if (i + 1 < n && s[i] == ops2[k][0] && s[i + 1] == ops2[k][1]) {
                oplen = 2;
                break;
            }
        }
        if (!oplen && c && strchr(ops1, c))
            oplen = 1;
        if (!oplen) {
            char msg[64];
            if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7F)
                snprintf(msg, sizeof msg, "unexpected character (byte 0x%02x)", (unsigned char)c);
            else
                snprintf(msg, sizeof msg, "unexpected character '%c'", c);
            lfail(L, i, msg);
        }
        if (oplen == 1 && (c == '(' || c == '[' || c == '{')) {
            if (depth >= (int)sizeof stack)
                lfail(L, i, "brackets nested too deeply");
            stack[depth++] = c == '(' ? ')' : c == '[' ? ']' : '}';
        } else if (oplen == 1 && (c == ')' || c == ']' || c == '}')) {
            if (depth > 0 && stack[depth - 1] == c) {
                depth--;
            } else {
                char msg[48];
                if (depth > 0)
                    snprintf(msg, sizeof msg, "unexpected '%c', expected '%c'", c,
                             stack[depth - 1]);
                else
                    snprintf(msg, sizeof msg, "unexpected '%c'", c);
                lfail(L, i, msg);
            }
        }
        jtok *t = push(L, JT_OP, i);
        t->s = s + i;
        t->n = oplen;
        i += oplen;
    }
}

/* {%(-|+|)\s*raw\s*(-%}\s*|%}) at i? Returns the end offset or 0. */
static size_t match_raw_begin(lexer *L, size_t i, char *sign)
{
    const char *s = L->s;
    size_t n = L->n;
    size_t p = i + 2;
    *sign = 0;
    if (p < n && (s[p] == '-' || s[p] == '+'))
        *sign = s[p++];
    p = skip_ws(s, n, p);
    if (p + 3 > n || memcmp(s + p, "raw", 3) != 0)
        return 0;
    p = skip_ws(s, n, p + 3);
    if (p + 3 <= n && s[p] == '-' && s[p + 1] == '%' && s[p + 2] == '}')
        return skip_ws(s, n, p + 3);
    if (p + 2 <= n && s[p] == '%' && s[p + 1] == '}')
        return p + 2;
    return 0;
}

/* Finds {%(-|+|)\s*endraw\s*(+%}|-%}\s*|%}\n?) from i. Sets the tag start, sign and end. */
static int find_endraw(lexer *L, size_t i, size_t *tag, char *sign, size_t *end)
{
    const char *s = L->s;
    size_t n = L->n;
    for (size_t p = i; p + 1 < n; p++) {
        if (s[p] != '{' || s[p + 1] != '%')
            continue;
        size_t q = p + 2;
        char sg = 0;
        if (q < n && (s[q] == '-' || s[q] == '+'))
            sg = s[q++];
        q = skip_ws(s, n, q);
        if (q + 6 > n || memcmp(s + q, "endraw", 6) != 0)
            continue;
        q = skip_ws(s, n, q + 6);
        size_t e = 0;
        if (q + 3 <= n && s[q] == '+' && s[q + 1] == '%' && s[q + 2] == '}')
            e = q + 3;
        else if (q + 3 <= n && s[q] == '-' && s[q + 1] == '%' && s[q + 2] == '}')
            e = skip_ws(s, n, q + 3);
        else if (q + 2 <= n && s[q] == '%' && s[q + 1] == '}')
            e = (q + 2 < n && s[q + 2] == '\n') ? q + 3 : q + 2;
        if (!e)
            continue;
        *tag = p;
        *sign = sg;
        *end = e;
        return 1;
    }
    return 0;
}

void jinja_lex(jv_heap *h, const char *text, size_t len, jlex_out *out)
{
    /* normalise newlines, drop one trailing newline */
    char *src = jv_alloc(h, len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\r') {
            src[n++] = '\n';
            if (i + 1 < len && text[i + 1] == '\n')
                i++;
        } else {
            src[n++] = text[i];
        }
    }
    if (n > 0 && src[n - 1] == '\n')
        n--;
    src[n] = '\0';

    lexer L = {.h = h, .s = src, .n = n, .line_starting = 1};
    out->src = src;
    out->src_len = n;
    size_t bad = jv_utf8_check(src, n);
    if (bad != n)
        lfail(&L, bad, "template is not valid UTF-8");

    size_t pos = 0;
    while (pos < n) {
        /* earliest tag start */
        size_t p = pos;
        while (p + 1 < n &&
               !(src[p] == '{' && (src[p + 1] == '{' || src[p + 1] == '%' || src[p + 1] == '#')))
            p++;
        if (p + 1 >= n) {
            jtok *t = push(&L, JT_TEXT, pos);
            t->s = src + pos;
            t->n = n - pos;
            break;
        }
        char kind = src[p + 1];
        char sign = 0;
        if (kind == '%') {
            size_t re = match_raw_begin(&L, p, &sign);
            if (re) {
                emit_text(&L, pos, p, sign, 1);
                size_t tag, end;
                char esign;
                if (!find_endraw(&L, re, &tag, &esign, &end))
                    lfail(&L, p, "missing end of raw directive");
                L.line_starting = 0;
                emit_text(&L, re, tag, esign, 1);
                L.line_starting = src[end - 1] == '\n';
                pos = end;
                continue;
            }
        }
        size_t q = p + 2;
        if (q < n && (src[q] == '-' || src[q] == '+'))
            sign = src[q++];
        emit_text(&L, pos, p, sign, kind != '{');
        if (kind == '#') {
            size_t e = q;
            for (;;) {
                if (e + 1 >= n)
                    lfail(&L, p, "missing end of comment tag");
                if (src[e] == '#' && src[e + 1] == '}')
                    break;
                e++;
            }
            char esign = e > q ? src[e - 1] : 0;
            size_t end = e + 2;
            if (esign == '-')
                end = skip_ws(src, n, end);
            else if (esign != '+' && end < n && src[end] == '\n')
                end++;
            L.line_starting = src[end - 1] == '\n';
            pos = end;
            continue;
        }
        push(&L, kind == '%' ? JT_BLOCK_BEGIN : JT_VAR_BEGIN, p);
        L.line_starting = 0;
        pos = lex_tag(&L, q, kind == '%', p);
    }
    push(&L, JT_EOF, n);
    out->toks = L.toks;
    out->ntoks = L.ntoks;
}
