/* Growable buffer and escaping JSON writer (see jw.h). */
#include "server/jw.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int reserve(sv_buf *b, size_t extra)
{
    if (b->oom)
        return 0;
    if (extra <= b->cap - b->len && b->cap - b->len - extra >= 1)
        return 1;
    if (extra > SIZE_MAX / 4 - b->len) {
        b->oom = 1;
        return 0;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len <= extra)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return 0;
    }
    b->p = p;
    b->cap = cap;
    return 1;
}

void sv_buf_put(sv_buf *b, const void *data, size_t n)
{
    if (!reserve(b, n))
        return;
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void sv_buf_puts(sv_buf *b, const char *s)
{
    sv_buf_put(b, s, strlen(s));
}

void sv_buf_printf(sv_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    if ((size_t)n < sizeof small) {
        sv_buf_put(b, small, (size_t)n);
        return;
    }
    if (!reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void sv_buf_consume(sv_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
    } else {
        memmove(b->p, b->p + n, b->len - n);
        b->len -= n;
    }
    if (b->p)
        b->p[b->len] = '\0';
}

void sv_buf_free(sv_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

const char *sv_buf_cstr(sv_buf *b)
{
    return (b->p && !b->oom) ? b->p : "";
}

/* Length of the valid UTF-8 sequence at s (n bytes available), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    unsigned cp = c & (0x7Fu >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

void sv_json_str(sv_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    sv_buf_put(b, "\"", 1);
    size_t run = 0; /* start of the pending run of bytes copied as they are */
    size_t i = 0;
    while (i < n) {
        unsigned c = u[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            i++;
            continue;
        }
        size_t l = c >= 0x80 ? utf8_len(u + i, n - i) : 0;
        if (l > 1) {
            i += l;
            continue;
        }
        sv_buf_put(b, s + run, i - run);
        char esc[8];
        switch (c) {
        case '"': sv_buf_put(b, "\\\"", 2); break;
        case '\\': sv_buf_put(b, "\\\\", 2); break;
        case '\n': sv_buf_put(b, "\\n", 2); break;
        case '\r': sv_buf_put(b, "\\r", 2); break;
        case '\t': sv_buf_put(b, "\\t", 2); break;
        default:
            if (c < 0x20) {
                esc[0] = '\\';
                esc[1] = 'u';
                esc[2] = '0';
                esc[3] = '0';
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
                sv_buf_put(b, esc, 6);
            } else {
                sv_buf_put(b, "\xEF\xBF\xBD", 3); /* invalid byte -> U+FFFD */
            }
            break;
        }
        i++;
        run = i;
    }
    sv_buf_put(b, s + run, n - run);
    sv_buf_put(b, "\"", 1);
}

void sv_jw_init(sv_jw *w, sv_buf *b)
{
    memset(w, 0, sizeof *w);
    w->b = b;
}

static void before_value(sv_jw *w)
{
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (w->depth > 0 && w->depth <= SV_JW_MAX_DEPTH) {
        if (w->has_item[w->depth - 1])
            sv_buf_put(w->b, ",", 1);
        w->has_item[w->depth - 1] = 1;
    }
}

static void open(sv_jw *w, const char *c)
{
    before_value(w);
    sv_buf_put(w->b, c, 1);
    if (w->depth < SV_JW_MAX_DEPTH)
        w->has_item[w->depth] = 0;
    w->depth++;
}

static void close_(sv_jw *w, const char *c)
{
    sv_buf_put(w->b, c, 1);
    if (w->depth > 0)
        w->depth--;
}

void sv_jw_obj(sv_jw *w)
{
    open(w, "{");
}

void sv_jw_obj_end(sv_jw *w)
{
    close_(w, "}");
}

void sv_jw_arr(sv_jw *w)
{
    open(w, "[");
}

void sv_jw_arr_end(sv_jw *w)
{
    close_(w, "]");
}

void sv_jw_key(sv_jw *w, const char *key)
{
    before_value(w);
    sv_json_str(w->b, key, strlen(key));
    sv_buf_put(w->b, ":", 1);
    w->after_key = 1;
}

void sv_jw_str(sv_jw *w, const char *s)
{
    sv_jw_strn(w, s ? s : "", s ? strlen(s) : 0);
}

void sv_jw_strn(sv_jw *w, const char *s, size_t n)
{
    before_value(w);
    sv_json_str(w->b, s ? s : "", s ? n : 0);
}

void sv_jw_int(sv_jw *w, int64_t v)
{
    before_value(w);
    sv_buf_printf(w->b, "%lld", (long long)v);
}

void sv_jw_num(sv_jw *w, double v)
{
    before_value(w);
    if (!isfinite(v))
        sv_buf_put(w->b, "null", 4);
    else
        sv_buf_printf(w->b, "%.9g", v);
}

void sv_jw_bool(sv_jw *w, int v)
{
    before_value(w);
    sv_buf_puts(w->b, v ? "true" : "false");
}

void sv_jw_null(sv_jw *w)
{
    before_value(w);
    sv_buf_put(w->b, "null", 4);
}

void sv_jw_raw(sv_jw *w, const char *json, size_t n)
{
    before_value(w);
    sv_buf_put(w->b, json, n);
}
