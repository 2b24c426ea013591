/* Byte-level JSON validation and compaction (see json_scan.h). */
#include "text/json_scan.h"

#include <stdint.h>
#include <string.h>

typedef struct jcur {
    const unsigned char *s;
    size_t n, pos;
    bs_bytes_buf *out; /* NULL: validate only */
    int nomem;
} jcur;

size_t bs_json_utf8_seq(const unsigned char *s, size_t n)
{
    if (n == 0)
        return 0;
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    uint32_t cp, min;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2, cp = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, cp = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_ws(jcur *c)
{
    while (c->pos < c->n && is_ws(c->s[c->pos]))
        c->pos++;
}

static int emit(jcur *c, const unsigned char *p, size_t len)
{
    if (!c->out)
        return 1;
    if (!bs_bytes_append(c->out, p, len)) {
        c->nomem = 1;
        return 0;
    }
    return 1;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* A string literal starting at the opening quote; emitted verbatim. */
static int scan_string(jcur *c)
{
    size_t start = c->pos;
    c->pos++; /* opening quote */
    while (c->pos < c->n) {
        unsigned char ch = c->s[c->pos];
        if (ch == '"') {
            c->pos++;
            return emit(c, c->s + start, c->pos - start);
        }
        if (ch < 0x20)
            return 0;
        if (ch == '\\') {
            if (c->pos + 1 >= c->n)
                return 0;
            unsigned char e = c->s[c->pos + 1];
            if (e == 'u') {
                if (c->pos + 6 > c->n)
                    return 0;
                for (size_t i = 2; i < 6; i++)
                    if (hexval(c->s[c->pos + i]) < 0)
                        return 0;
                c->pos += 6;
            } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' ||
                       e == 'r' || e == 't') {
                c->pos += 2;
            } else {
                return 0;
            }
            continue;
        }
        size_t l = bs_json_utf8_seq(c->s + c->pos, c->n - c->pos);
        if (l == 0)
            return 0;
        c->pos += l;
    }
    return 0; /* unterminated */
}

static int is_digit(unsigned char ch)
{
    return ch >= '0' && ch <= '9';
}

static int scan_number(jcur *c)
{
    size_t start = c->pos;
    if (c->pos < c->n && c->s[c->pos] == '-')
        c->pos++;
    if (c->pos >= c->n || !is_digit(c->s[c->pos]))
        return 0;
    if (c->s[c->pos] == '0') {
        c->pos++;
    } else {
        while (c->pos < c->n && is_digit(c->s[c->pos]))
            c->pos++;
    }
    if (c->pos < c->n && c->s[c->pos] == '.') {
        c->pos++;
        if (c->pos >= c->n || !is_digit(c->s[c->pos]))
            return 0;
        while (c->pos < c->n && is_digit(c->s[c->pos]))
            c->pos++;
    }
    if (c->pos < c->n && (c->s[c->pos] == 'e' || c->s[c->pos] == 'E')) {
        c->pos++;
        if (c->pos < c->n && (c->s[c->pos] == '+' || c->s[c->pos] == '-'))
            c->pos++;
        if (c->pos >= c->n || !is_digit(c->s[c->pos]))
            return 0;
        while (c->pos < c->n && is_digit(c->s[c->pos]))
            c->pos++;
    }
    return emit(c, c->s + start, c->pos - start);
}

static int scan_word(jcur *c, const char *w)
{
    size_t len = strlen(w);
    if (c->n - c->pos < len || memcmp(c->s + c->pos, w, len) != 0)
        return 0;
    c->pos += len;
    return emit(c, (const unsigned char *)w, len);
}

static int scan_value(jcur *c, int depth, bs_jkind *kind);

static int scan_container(jcur *c, int depth, int is_object)
{
    if (depth >= BS_JSON_MAX_DEPTH)
        return 0;
    unsigned char close = is_object ? '}' : ']';
    if (!emit(c, c->s + c->pos, 1))
        return 0;
    c->pos++;
    skip_ws(c);
    if (c->pos < c->n && c->s[c->pos] == close) {
        c->pos++;
        return emit(c, &close, 1);
    }
    for (;;) {
        skip_ws(c);
        if (is_object) {
            if (c->pos >= c->n || c->s[c->pos] != '"' || !scan_string(c))
                return 0;
            skip_ws(c);
            if (c->pos >= c->n || c->s[c->pos] != ':')
                return 0;
            c->pos++;
            if (!emit(c, (const unsigned char *)":", 1))
                return 0;
            skip_ws(c);
        }
        bs_jkind k;
        if (!scan_value(c, depth + 1, &k))
            return 0;
        skip_ws(c);
        if (c->pos >= c->n)
            return 0;
        unsigned char ch = c->s[c->pos++];
        if (ch == close)
            return emit(c, &close, 1);
        if (ch != ',' || !emit(c, &ch, 1))
            return 0;
    }
}

/* One value at c->pos (no leading whitespace). */
static int scan_value(jcur *c, int depth, bs_jkind *kind)
{
    if (c->pos >= c->n)
        return 0;
    switch (c->s[c->pos]) {
    case '{': *kind = BS_JK_OBJECT; return scan_container(c, depth, 1);
    case '[': *kind = BS_JK_ARRAY; return scan_container(c, depth, 0);
    case '"': *kind = BS_JK_STRING; return scan_string(c);
    case 't': *kind = BS_JK_TRUE; return scan_word(c, "true");
    case 'f': *kind = BS_JK_FALSE; return scan_word(c, "false");
    case 'n': *kind = BS_JK_NULL; return scan_word(c, "null");
    default: *kind = BS_JK_NUMBER; return scan_number(c);
    }
}

bs_jscan bs_json_compact(const char *s, size_t n, bs_bytes_buf *out, bs_jkind *kind)
{
    jcur c = {(const unsigned char *)s, n, 0, out, 0};
    size_t keep = out ? out->n : 0;
    bs_jkind k = BS_JK_INVALID;
    skip_ws(&c);
    int ok = scan_value(&c, 0, &k);
    if (ok) {
        skip_ws(&c);
        ok = c.pos == n;
    }
    if (!ok) {
        if (out)
            out->n = keep;
        if (kind)
            *kind = BS_JK_INVALID;
        return c.nomem ? BS_JSCAN_NOMEM : BS_JSCAN_INVALID;
    }
    if (kind)
        *kind = k;
    return BS_JSCAN_OK;
}

/* Does the raw string literal s[0..n) (with quotes) decode to key? */
static int key_equals(const unsigned char *s, size_t n, const char *key, int *nomem)
{
    if (!memchr(s, '\\', n)) {
        size_t kl = strlen(key);
        return n - 2 == kl && memcmp(s + 1, key, kl) == 0;
    }
    bs_bytes_buf tmp = {0};
    if (!bs_json_decode_string((const char *)s, n, &tmp)) {
        *nomem = 1;
        return 0;
    }
    size_t kl = strlen(key);
    int eq = tmp.n == kl && (kl == 0 || memcmp(tmp.p, key, kl) == 0);
    bs_bytes_free(&tmp);
    return eq;
}

bs_jscan bs_json_object_member(const char *s, size_t n, const char *key, int *found,
                               const char **val, size_t *val_len, bs_jkind *kind)
{
    jcur c = {(const unsigned char *)s, n, 0, NULL, 0};
    *found = 0;
    skip_ws(&c);
    if (c.pos >= n || c.s[c.pos] != '{')
        return BS_JSCAN_INVALID;
    c.pos++;
    skip_ws(&c);
    if (c.pos < n && c.s[c.pos] == '}') {
        c.pos++;
    } else {
        for (;;) {
            skip_ws(&c);
            size_t ks = c.pos;
            if (c.pos >= n || c.s[c.pos] != '"' || !scan_string(&c))
                return BS_JSCAN_INVALID;
            size_t ke = c.pos;
            skip_ws(&c);
            if (c.pos >= n || c.s[c.pos] != ':')
                return BS_JSCAN_INVALID;
            c.pos++;
            skip_ws(&c);
            size_t vs = c.pos;
            bs_jkind k;
            if (!scan_value(&c, 1, &k))
                return BS_JSCAN_INVALID;
            if (key_equals(c.s + ks, ke - ks, key, &c.nomem)) {
                *found = 1;
                *val = s + vs;
                *val_len = c.pos - vs;
                *kind = k;
            }
            if (c.nomem)
                return BS_JSCAN_NOMEM;
            skip_ws(&c);
            if (c.pos >= n)
                return BS_JSCAN_INVALID;
            unsigned char ch = c.s[c.pos++];
            if (ch == '}')
                break;
            if (ch != ',')
                return BS_JSCAN_INVALID;
        }
    }
    skip_ws(&c);
    if (c.pos != n) {
        *found = 0;
        return BS_JSCAN_INVALID;
    }
    return BS_JSCAN_OK;
}

static int put_cp(bs_bytes_buf *out, uint32_t cp)
{
    unsigned char b[4];
    size_t len;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp, len = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xC0 | (cp >> 6));
        b[1] = (unsigned char)(0x80 | (cp & 0x3F)), len = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xE0 | (cp >> 12));
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp & 0x3F)), len = 3;
    } else {
        b[0] = (unsigned char)(0xF0 | (cp >> 18));
        b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (unsigned char)(0x80 | (cp & 0x3F)), len = 4;
    }
    return bs_bytes_append(out, b, len);
}

static uint32_t hex4(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v = (v << 4) | (uint32_t)hexval(p[i]);
    return v;
}

int bs_json_decode_string(const char *str, size_t n, bs_bytes_buf *out)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 1, end = n - 1; /* between the quotes */
    while (i < end) {
        size_t run = i;
        while (run < end && s[run] != '\\')
            run++;
        if (!bs_bytes_append(out, s + i, run - i))
            return 0;
        i = run;
        if (i >= end)
            break;
        unsigned char e = s[i + 1];
        int ok = 1;
        switch (e) {
        case 'b': ok = bs_bytes_append(out, "\b", 1); break;
        case 'f': ok = bs_bytes_append(out, "\f", 1); break;
        case 'n': ok = bs_bytes_append(out, "\n", 1); break;
        case 'r': ok = bs_bytes_append(out, "\r", 1); break;
        case 't': ok = bs_bytes_append(out, "\t", 1); break;
        case 'u': {
            uint32_t cp = hex4(s + i + 2);
            i += 6;
            if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 <= end && s[i] == '\\' && s[i + 1] == 'u') {
                uint32_t lo = hex4(s + i + 2);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                }
            }
            if (cp >= 0xD800 && cp <= 0xDFFF)
                cp = 0xFFFD;
            if (!put_cp(out, cp))
                return 0;
            continue;
        }
        default: ok = bs_bytes_append(out, &e, 1); break; /* \" \\ \/ */
        }
        if (!ok)
            return 0;
        i += 2;
    }
    return 1;
}

int bs_json_write_string(bs_bytes_buf *out, const char *str, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    if (!bs_bytes_append(out, "\"", 1))
        return 0;
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        for (;;) {
            if (run >= n || s[run] < 0x20 || s[run] == '"' || s[run] == '\\')
                break;
            size_t l = bs_json_utf8_seq(s + run, n - run);
            if (l == 0)
                break;
            run += l;
        }
        if (!bs_bytes_append(out, s + i, run - i))
            return 0;
        i = run;
        if (i >= n)
            break;
        unsigned char ch = s[i];
        char esc[6];
        size_t el = 2;
        esc[0] = '\\';
        if (ch == '"' || ch == '\\') {
            esc[1] = (char)ch;
        } else if (ch == '\n') {
            esc[1] = 'n';
        } else if (ch == '\r') {
            esc[1] = 'r';
        } else if (ch == '\t') {
            esc[1] = 't';
        } else if (ch == '\b') {
            esc[1] = 'b';
        } else if (ch == '\f') {
            esc[1] = 'f';
        } else if (ch < 0x20) {
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[ch >> 4];
            esc[5] = hex[ch & 15];
            el = 6;
        } else {
            memcpy(esc, "\xEF\xBF\xBD", 3); /* invalid UTF-8 byte -> U+FFFD */
            el = 3;
        }
        if (!bs_bytes_append(out, esc, el))
            return 0;
        i++;
    }
    return bs_bytes_append(out, "\"", 1);
}
