#include "text/jvalue.h"

#include "base/error.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* ---------------------------------------------------------------- heap */

struct jv_heap_block {
    jv_heap_block *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
};

enum { JV_BLOCK = 64 * 1024 };

void jv_heap_init(jv_heap *h, size_t limit)
{
    memset(h, 0, sizeof *h);
    h->limit = limit;
    h->depth_limit = 200;
}

void jv_heap_free(jv_heap *h)
{
    jv_heap_block *b = h->head;
    while (b) {
        jv_heap_block *next = b->next;
        free(b);
        b = next;
    }
    h->head = NULL;
    h->used = 0;
}

_Noreturn void jv_fail(jv_heap *h, boson_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->msg, sizeof h->msg, fmt, ap);
    va_end(ap);
    h->status = st;
    if (h->jb)
        longjmp(*h->jb, 1);
    bs_assert_fail("h->jb != NULL", __FILE__, __LINE__);
}

void *jv_alloc(jv_heap *h, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n == 0)
        n = 16;
    jv_heap_block *b = h->head;
    if (b && b->size - b->used >= n) {
        void *p = b->data + b->used;
        b->used += n;
        memset(p, 0, n);
        return p;
    }
    size_t size = n > JV_BLOCK / 4 ? n : JV_BLOCK;
    if (size > h->limit || h->used > h->limit - size)
        jv_fail(h, BOSON_ERR_NOMEM, "template memory limit of %zu bytes reached", h->limit);
    jv_heap_block *nb = malloc(sizeof *nb + size);
    if (!nb)
        jv_fail(h, BOSON_ERR_NOMEM, "out of memory (%zu bytes)", size);
    nb->size = size;
    nb->used = n;
    h->used += size;
    if (b && size != JV_BLOCK) {
        /* a large block goes behind the current one so the current keeps serving small ones */
        nb->next = b->next;
        b->next = nb;
    } else {
        nb->next = b;
        h->head = nb;
    }
    memset(nb->data, 0, n);
    return nb->data;
}

/* ---------------------------------------------------------------- utf-8 */

uint32_t jv_utf8_next(const char *s, size_t n, size_t *i)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t k = *i;
    uint32_t c = u[k];
    if (c < 0x80 || k + 1 >= n) {
        *i = k + 1;
        return c;
    }
    if (c < 0xE0) {
        *i = k + 2;
        return ((c & 0x1F) << 6) | (u[k + 1] & 0x3F);
    }
    if (c < 0xF0 || k + 3 > n) {
        *i = k + 3 <= n ? k + 3 : n;
        if (k + 2 >= n)
            return 0xFFFD;
        return ((c & 0x0F) << 12) | ((uint32_t)(u[k + 1] & 0x3F) << 6) | (u[k + 2] & 0x3F);
    }
    *i = k + 4 <= n ? k + 4 : n;
    if (k + 3 >= n)
        return 0xFFFD;
    return ((c & 0x07) << 18) | ((uint32_t)(u[k + 1] & 0x3F) << 12) |
           ((uint32_t)(u[k + 2] & 0x3F) << 6) | (u[k + 3] & 0x3F);
}

size_t jv_utf8_encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t jv_utf8_check(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = u[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint32_t cp, min;
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
            cp = c & 0x1F;
            min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            cp = c & 0x0F;
            min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            cp = c & 0x07;
            min = 0x10000;
        } else {
            return i;
        }
        if (n - i <= need)
            return i;
        for (size_t k = 1; k <= need; k++) {
            if ((u[i + k] & 0xC0) != 0x80)
                return i;
            cp = (cp << 6) | (u[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += need + 1;
    }
    return n;
}

size_t jv_utf8_count(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            c++;
    return c;
}

int jv_isspace(uint32_t c)
{
    if (c < 0x80)
        return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
           c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* ---------------------------------------------------------------- constructors */

jv jv_undef(const char *hint)
{
    jv v = {.kind = JV_UNDEFINED};
    v.u.hint = hint;
    return v;
}

jv jv_none(void)
{
    jv v = {.kind = JV_NONE};
    return v;
}

jv jv_bool(int b)
{
    jv v = {.kind = JV_BOOL};
    v.u.b = b ? 1 : 0;
    return v;
}

jv jv_int(int64_t i)
{
    jv v = {.kind = JV_INT};
    v.u.i = i;
    return v;
}

jv jv_float(double f)
{
    jv v = {.kind = JV_FLOAT};
    v.u.f = f;
    return v;
}

jv jv_str_n(jv_heap *h, const char *s, size_t n)
{
    if (n > h->limit)
        jv_fail(h, BOSON_ERR_NOMEM, "template memory limit of %zu bytes reached", h->limit);
    jv_str *p = jv_alloc(h, sizeof *p + n + 1);
    p->len = n;
    if (n)
        memcpy(p->s, s, n);
    p->s[n] = '\0';
    jv v = {.kind = JV_STRING};
    v.u.s = p;
    return v;
}

jv jv_str_c(jv_heap *h, const char *s)
{
    return jv_str_n(h, s, strlen(s));
}

jv jv_list_new(jv_heap *h, size_t cap)
{
    jv_list *l = jv_alloc(h, sizeof *l);
    if (cap) {
        if (cap > h->limit / sizeof(jv))
            jv_fail(h, BOSON_ERR_NOMEM, "template memory limit of %zu bytes reached", h->limit);
        l->v = jv_alloc(h, cap * sizeof(jv));
        l->cap = cap;
    }
    jv v = {.kind = JV_LIST};
    v.u.l = l;
    return v;
}

void jv_list_push(jv_heap *h, jv list, jv item)
{
    jv_list *l = list.u.l;
    if (l->len == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 4;
        if (nc > h->limit / sizeof(jv))
            jv_fail(h, BOSON_ERR_NOMEM, "template memory limit of %zu bytes reached", h->limit);
        jv *nv = jv_alloc(h, nc * sizeof(jv));
        if (l->len)
            memcpy(nv, l->v, l->len * sizeof(jv));
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->len++] = item;
}

jv jv_dict_new(jv_heap *h, size_t cap)
{
    jv_dict *d = jv_alloc(h, sizeof *d);
    if (cap) {
        if (cap > h->limit / sizeof(jv))
            jv_fail(h, BOSON_ERR_NOMEM, "template memory limit of %zu bytes reached", h->limit);
        d->k = jv_alloc(h, cap * sizeof(jv));
        d->v = jv_alloc(h, cap * sizeof(jv));
        d->cap = cap;
    }
    jv v = {.kind = JV_DICT};
    v.u.d = d;
    return v;
}

int jv_dict_get(jv_heap *h, jv dict, jv key, jv *out)
{
    const jv_dict *d = dict.u.d;
    for (size_t i = 0; i < d->len; i++) {
        if (jv_equal(h, d->k[i], key)) {
            if (out)
                *out = d->v[i];
            return 1;
        }
    }
    return 0;
}

int jv_dict_get_s(jv dict, const char *key, size_t klen, jv *out)
{
    const jv_dict *d = dict.u.d;
    for (size_t i = 0; i < d->len; i++) {
        const jv k = d->k[i];
        if (k.kind == JV_STRING && k.u.s->len == klen && memcmp(k.u.s->s, key, klen) == 0) {
            if (out)
                *out = d->v[i];
            return 1;
        }
    }
    return 0;
}

int jv_hashable(jv v)
{
    switch ((jv_kind)v.kind) {
    case JV_LIST:
        if (!(v.flags & JV_FLAG_TUPLE))
            return 0;
        for (size_t i = 0; i < v.u.l->len; i++)
            if (!jv_hashable(v.u.l->v[i]))
                return 0;
        return 1;
    case JV_DICT:
    case JV_NAMESPACE: return 0;
    case JV_UNDEFINED:
    case JV_NONE:
    case JV_BOOL:
    case JV_INT:
    case JV_FLOAT:
    case JV_STRING:
    case JV_LOOP:
    case JV_MACRO:
    case JV_FUNC:
    case JV_METHOD: return 1;
    }
    return 0;
}

void jv_dict_set(jv_heap *h, jv dict, jv key, jv val)
{
    jv_dict *d = dict.u.d;
    if (!jv_hashable(key))
        jv_fail(h, BOSON_ERR_RUNTIME, "unhashable type: '%s'", jv_type_name(key));
    for (size_t i = 0; i < d->len; i++) {
        if (jv_equal(h, d->k[i], key)) {
            d->v[i] = val;
            return;
        }
    }
    if (d->len == d->cap) {
        size_t nc = d->cap ? d->cap * 2 : 4;
        if (nc > h->limit / sizeof(jv))
            jv_fail(h, BOSON_ERR_NOMEM, "template memory limit of %zu bytes reached", h->limit);
        jv *nk = jv_alloc(h, nc * sizeof(jv));
        jv *nv = jv_alloc(h, nc * sizeof(jv));
        if (d->len) {
            memcpy(nk, d->k, d->len * sizeof(jv));
            memcpy(nv, d->v, d->len * sizeof(jv));
        }
        d->k = nk;
        d->v = nv;
        d->cap = nc;
    }
    d->k[d->len] = key;
    d->v[d->len] = val;
    d->len++;
}

static jv from_json_rec(jv_heap *h, const json_t *j, int depth)
{
    if (depth > h->depth_limit)
        jv_fail(h, BOSON_ERR_INVALID_ARG, "input JSON nested deeper than %d levels",
                h->depth_limit);
    switch (json_typeof(j)) {
    case JSON_NULL: return jv_none();
    case JSON_TRUE: return jv_bool(1);
    case JSON_FALSE: return jv_bool(0);
    case JSON_INTEGER: return jv_int((int64_t)json_integer_value(j));
    case JSON_REAL: return jv_float(json_real_value(j));
    case JSON_STRING: {
        const char *s = json_string_value(j);
        size_t n = json_string_length(j);
        size_t bad = jv_utf8_check(s, n);
        if (bad != n)
            jv_fail(h, BOSON_ERR_INVALID_ARG, "input string is not valid UTF-8 at byte %zu", bad);
        return jv_str_n(h, s, n);
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(j);
        jv l = jv_list_new(h, n);
        for (size_t i = 0; i < n; i++)
            jv_list_push(h, l, from_json_rec(h, json_array_get(j, i), depth + 1));
        return l;
    }
    case JSON_OBJECT: {
        jv d = jv_dict_new(h, json_object_size(j));
        const char *key;
        size_t klen;
        json_t *val;
        json_object_keylen_foreach((json_t *)j, key, klen, val)
        {
            jv k = jv_str_n(h, key, klen);
            jv_dict *dd = d.u.d;
            /* keys are unique in a jansson object: append without the equality scan */
            if (dd->len < dd->cap) {
                dd->k[dd->len] = k;
                dd->v[dd->len] = from_json_rec(h, val, depth + 1);
                dd->len++;
            } else {
                jv_dict_set(h, d, k, from_json_rec(h, val, depth + 1));
            }
        }
        return d;
    }
    }
    return jv_none();
}

jv jv_from_json(jv_heap *h, const json_t *j)
{
    return from_json_rec(h, j, 0);
}

/* ---------------------------------------------------------------- semantics */

const char *jv_type_name(jv v)
{
    switch ((jv_kind)v.kind) {
    case JV_UNDEFINED: return "Undefined";
    case JV_NONE: return "NoneType";
    case JV_BOOL: return "bool";
    case JV_INT: return "int";
    case JV_FLOAT: return "float";
    case JV_STRING: return "str";
    case JV_LIST: return (v.flags & JV_FLAG_TUPLE) ? "tuple" : "list";
    case JV_DICT: return "dict";
    case JV_NAMESPACE: return "Namespace";
    case JV_LOOP: return "LoopContext";
    case JV_MACRO: return "Macro";
    case JV_FUNC: return "function";
    case JV_METHOD: return "builtin_function_or_method";
    }
    return "object";
}

int jv_truthy(jv v)
{
    switch ((jv_kind)v.kind) {
    case JV_UNDEFINED:
    case JV_NONE: return 0;
    case JV_BOOL: return v.u.b;
    case JV_INT: return v.u.i != 0;
    case JV_FLOAT: return v.u.f != 0.0;
    case JV_STRING: return v.u.s->len != 0;
    case JV_LIST: return v.u.l->len != 0;
    case JV_DICT: return v.u.d->len != 0;
    case JV_NAMESPACE:
    case JV_LOOP:
    case JV_MACRO:
    case JV_FUNC:
    case JV_METHOD: return 1;
    }
    return 0;
}

int jv_is_number(jv v)
{
    return v.kind == JV_BOOL || v.kind == JV_INT || v.kind == JV_FLOAT;
}

double jv_as_double(jv v)
{
    switch ((jv_kind)v.kind) {
    case JV_BOOL: return v.u.b;
    case JV_INT: return (double)v.u.i;
    case JV_FLOAT: return v.u.f;
    case JV_UNDEFINED:
    case JV_NONE:
    case JV_STRING:
    case JV_LIST:
    case JV_DICT:
    case JV_NAMESPACE:
    case JV_LOOP:
    case JV_MACRO:
    case JV_FUNC:
    case JV_METHOD: return 0.0;
    }
    return 0.0;
}

static int64_t as_i64(jv v)
{
    return v.kind == JV_BOOL ? v.u.b : v.u.i;
}

/* Exact comparison of an int with a double, as Python does. */
static int cmp_int_float(int64_t i, double f)
{
    if (isnan(f))
        return 2; /* unordered */
    if (f >= 9223372036854775808.0)
        return -1;
    if (f < -9223372036854775808.0)
        return 1;
    double fl = floor(f);
    int64_t fi = (int64_t)fl;
    if (i < fi)
        return -1;
    if (i > fi)
        return 1;
    return fl < f ? -1 : 0;
}

static int num_cmp(jv a, jv b)
{
    if (a.kind != JV_FLOAT && b.kind != JV_FLOAT) {
        int64_t x = as_i64(a), y = as_i64(b);
        return x < y ? -1 : x > y ? 1 : 0;
    }
    if (a.kind == JV_FLOAT && b.kind == JV_FLOAT) {
        if (isnan(a.u.f) || isnan(b.u.f))
            return 2;
        return a.u.f < b.u.f ? -1 : a.u.f > b.u.f ? 1 : 0;
    }
    if (a.kind == JV_FLOAT) {
        int c = cmp_int_float(as_i64(b), a.u.f);
        return c == 2 ? 2 : -c;
    }
    return cmp_int_float(as_i64(a), b.u.f);
}

static int str_cmp(const jv_str *a, const jv_str *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    int c = n ? memcmp(a->s, b->s, n) : 0;
    if (c)
        return c < 0 ? -1 : 1;
    return a->len < b->len ? -1 : a->len > b->len ? 1 : 0;
}

static int equal_rec(jv_heap *h, jv a, jv b, int depth)
{
    if (depth > h->depth_limit)
        jv_fail(h, BOSON_ERR_RUNTIME, "values nested deeper than %d levels", h->depth_limit);
    if (jv_is_number(a) && jv_is_number(b))
        return num_cmp(a, b) == 0;
    if (a.kind != b.kind)
        return 0;
    switch ((jv_kind)a.kind) {
    case JV_UNDEFINED:
    case JV_NONE: return 1;
    case JV_STRING: return str_cmp(a.u.s, b.u.s) == 0;
    case JV_LIST:
        if ((a.flags & JV_FLAG_TUPLE) != (b.flags & JV_FLAG_TUPLE) || a.u.l->len != b.u.l->len)
            return 0;
        for (size_t i = 0; i < a.u.l->len; i++)
            if (!equal_rec(h, a.u.l->v[i], b.u.l->v[i], depth + 1))
                return 0;
        return 1;
    case JV_DICT:
        if (a.u.d->len != b.u.d->len)
            return 0;
        for (size_t i = 0; i < a.u.d->len; i++) {
            int found = 0;
            for (size_t k = 0; k < b.u.d->len; k++) {
                if (equal_rec(h, a.u.d->k[i], b.u.d->k[k], depth + 1)) {
                    if (!equal_rec(h, a.u.d->v[i], b.u.d->v[k], depth + 1))
                        return 0;
                    found = 1;
                    break;
                }
            }
            if (!found)
                return 0;
        }
        return 1;
    case JV_NAMESPACE: return a.u.d == b.u.d;
    case JV_LOOP:
    case JV_MACRO: return a.u.p == b.u.p;
    case JV_FUNC: return a.aux == b.aux;
    case JV_METHOD: return a.u.m == b.u.m;
    case JV_BOOL:
    case JV_INT:
    case JV_FLOAT: return 0; /* handled above */
    }
    return 0;
}

int jv_equal(jv_heap *h, jv a, jv b)
{
    return equal_rec(h, a, b, 0);
}

static int compare_rec(jv_heap *h, jv a, jv b, const char *op, int depth)
{
    if (depth > h->depth_limit)
        jv_fail(h, BOSON_ERR_RUNTIME, "values nested deeper than %d levels", h->depth_limit);
    if (jv_is_number(a) && jv_is_number(b)) {
        int c = num_cmp(a, b);
        return c == 2 ? 2 : c;
    }
    if (a.kind == JV_STRING && b.kind == JV_STRING)
        return str_cmp(a.u.s, b.u.s);
    if (a.kind == JV_LIST && b.kind == JV_LIST &&
        (a.flags & JV_FLAG_TUPLE) == (b.flags & JV_FLAG_TUPLE)) {
        size_t n = a.u.l->len < b.u.l->len ? a.u.l->len : b.u.l->len;
        for (size_t i = 0; i < n; i++) {
            if (!equal_rec(h, a.u.l->v[i], b.u.l->v[i], depth + 1))
                return compare_rec(h, a.u.l->v[i], b.u.l->v[i], op, depth + 1);
        }
        return a.u.l->len < b.u.l->len ? -1 : a.u.l->len > b.u.l->len ? 1 : 0;
    }
    jv_fail(h, BOSON_ERR_RUNTIME, "'%s' not supported between instances of '%s' and '%s'", op,
            jv_type_name(a), jv_type_name(b));
}

int jv_compare(jv_heap *h, jv a, jv b, const char *op)
{
    return compare_rec(h, a, b, op, 0);
}

/* ---------------------------------------------------------------- buffers */

void jv_buf_init(jv_buf *b, jv_heap *h, size_t limit)
{
    b->h = h;
    b->p = NULL;
    b->len = b->cap = 0;
    b->limit = limit;
}

void jv_buf_put(jv_buf *b, const char *s, size_t n)
{
    if (n == 0)
        return;
    if (n > b->limit || b->len > b->limit - n)
        jv_fail(b->h, BOSON_ERR_RUNTIME, "rendered text exceeds the output limit of %zu bytes",
                b->limit);
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 64;
        while (nc < b->len + n + 1)
            nc *= 2;
        char *np = jv_alloc(b->h, nc);
        if (b->len)
            memcpy(np, b->p, b->len);
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void jv_buf_putc(jv_buf *b, char c)
{
    jv_buf_put(b, &c, 1);
}

void jv_buf_puts(jv_buf *b, const char *s)
{
    jv_buf_put(b, s, strlen(s));
}

jv jv_buf_to_str(jv_buf *b)
{
    return jv_str_n(b->h, b->p ? b->p : "", b->len);
}

/* ---------------------------------------------------------------- formatting */

void jv_float_repr(double f, char *out)
{
    if (isnan(f)) {
        strcpy(out, "nan");
        return;
    }
    if (isinf(f)) {
        strcpy(out, f < 0 ? "-inf" : "inf");
        return;
    }
    if (f == 0.0) {
        strcpy(out, signbit(f) ? "-0.0" : "0.0");
        return;
    }
    char buf[40];
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, sizeof buf, "%.*e", p - 1, f);
        if (strtod(buf, NULL) == f)
            break;
    }
    /* buf: [-]d[.ddd]e[+-]XX → sign, digits, decimal exponent */
    const char *s = buf;
    int neg = 0;
    if (*s == '-') {
        neg = 1;
        s++;
    }
    char digits[24];
    int nd = 0;
    while (*s && *s != 'e') {
        if (*s != '.')
            digits[nd++] = *s;
        s++;
    }
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    int exp10 = atoi(s + 1);
    char *o = out;
    if (neg)
        *o++ = '-';
    if (exp10 >= -4 && exp10 < 16) {
        if (exp10 >= 0) {
            for (int i = 0; i <= exp10; i++)
                *o++ = i < nd ? digits[i] : '0';
            *o++ = '.';
            if (nd > exp10 + 1) {
                for (int i = exp10 + 1; i < nd; i++)
                    *o++ = digits[i];
            } else {
                *o++ = '0';
            }
        } else {
            *o++ = '0';
            *o++ = '.';
            for (int i = 0; i < -exp10 - 1; i++)
                *o++ = '0';
            for (int i = 0; i < nd; i++)
                *o++ = digits[i];
        }
        *o = '\0';
    } else {
        *o++ = digits[0];
        if (nd > 1) {
            *o++ = '.';
            for (int i = 1; i < nd; i++)
                *o++ = digits[i];
        }
        int e = exp10 < 0 ? -exp10 : exp10; /* |e| <= 324 */
        *o++ = 'e';
        *o++ = exp10 < 0 ? '-' : '+';
        if (e >= 100)
            *o++ = (char)('0' + e / 100);
        *o++ = (char)('0' + (e / 10) % 10);
        *o++ = (char)('0' + e % 10);
        *o = '\0';
    }
}

static void write_int(jv_buf *b, int64_t i)
{
    char t[32];
    int n = snprintf(t, sizeof t, "%lld", (long long)i);
    jv_buf_put(b, t, (size_t)n);
}

static int py_isprintable(uint32_t cp)
{
    if (cp < 0x80)
        return cp >= 0x20 && cp < 0x7F;
    int c = (int)utf8proc_category((utf8proc_int32_t)cp);
    return !(c == UTF8PROC_CATEGORY_CC || c == UTF8PROC_CATEGORY_CF || c == UTF8PROC_CATEGORY_CS ||
             c == UTF8PROC_CATEGORY_CO || c == UTF8PROC_CATEGORY_CN || c == UTF8PROC_CATEGORY_ZL ||
             c == UTF8PROC_CATEGORY_ZP || c == UTF8PROC_CATEGORY_ZS);
}

static void write_str_repr(jv_buf *b, const jv_str *s)
{
    int has_sq = memchr(s->s, '\'', s->len) != NULL;
    int has_dq = memchr(s->s, '"', s->len) != NULL;
    char q = (has_sq && !has_dq) ? '"' : '\'';
    jv_buf_putc(b, q);
    size_t i = 0;
    while (i < s->len) {
        size_t start = i;
        uint32_t c = jv_utf8_next(s->s, s->len, &i);
        char t[16];
        if (c == (uint32_t)q || c == '\\') {
            t[0] = '\\';
            t[1] = (char)c;
            jv_buf_put(b, t, 2);
        } else if (c == '\n') {
            jv_buf_put(b, "\\n", 2);
        } else if (c == '\r') {
            jv_buf_put(b, "\\r", 2);
        } else if (c == '\t') {
            jv_buf_put(b, "\\t", 2);
        } else if (py_isprintable(c)) {
            jv_buf_put(b, s->s + start, i - start);
        } else if (c < 0x100) {
            snprintf(t, sizeof t, "\\x%02x", c);
            jv_buf_puts(b, t);
        } else if (c < 0x10000) {
            snprintf(t, sizeof t, "\\u%04x", c);
            jv_buf_puts(b, t);
        } else {
            snprintf(t, sizeof t, "\\U%08x", c);
            jv_buf_puts(b, t);
        }
    }
    jv_buf_putc(b, q);
}

static void write_rec(jv_buf *b, jv v, int repr, int depth)
{
    jv_heap *h = b->h;
    if (depth > h->depth_limit)
        jv_fail(h, BOSON_ERR_RUNTIME, "values nested deeper than %d levels", h->depth_limit);
    char t[40];
    switch ((jv_kind)v.kind) {
    case JV_UNDEFINED:
        if (repr)
            jv_buf_puts(b, "Undefined");
        return;
    case JV_NONE: jv_buf_puts(b, "None"); return;
    case JV_BOOL: jv_buf_puts(b, v.u.b ? "True" : "False"); return;
    case JV_INT: write_int(b, v.u.i); return;
    case JV_FLOAT:
        jv_float_repr(v.u.f, t);
        jv_buf_puts(b, t);
        return;
    case JV_STRING:
        if (repr)
            write_str_repr(b, v.u.s);
        else
            jv_buf_put(b, v.u.s->s, v.u.s->len);
        return;
    case JV_LIST: {
        int tuple = v.flags & JV_FLAG_TUPLE;
        jv_buf_putc(b, tuple ? '(' : '[');
        for (size_t i = 0; i < v.u.l->len; i++) {
            if (i)
                jv_buf_put(b, ", ", 2);
            write_rec(b, v.u.l->v[i], 1, depth + 1);
        }
        if (tuple && v.u.l->len == 1)
            jv_buf_putc(b, ',');
        jv_buf_putc(b, tuple ? ')' : ']');
        return;
    }
    case JV_NAMESPACE:
    case JV_DICT:
        if (v.kind == JV_NAMESPACE)
            jv_buf_puts(b, "<Namespace ");
        jv_buf_putc(b, '{');
        for (size_t i = 0; i < v.u.d->len; i++) {
            if (i)
                jv_buf_put(b, ", ", 2);
            write_rec(b, v.u.d->k[i], 1, depth + 1);
            jv_buf_put(b, ": ", 2);
            write_rec(b, v.u.d->v[i], 1, depth + 1);
        }
        jv_buf_putc(b, '}');
        if (v.kind == JV_NAMESPACE)
            jv_buf_putc(b, '>');
        return;
    case JV_LOOP: jv_buf_puts(b, "<LoopContext>"); return;
    case JV_MACRO: jv_buf_puts(b, "<Macro>"); return;
    case JV_FUNC: jv_buf_puts(b, "<function>"); return;
    case JV_METHOD:
        jv_buf_puts(b, "<built-in method ");
        jv_buf_puts(b, v.u.m->name);
        jv_buf_puts(b, ">");
        return;
    }
}

void jv_write_str(jv_buf *b, jv v)
{
    write_rec(b, v, 0, 0);
}

void jv_write_repr(jv_buf *b, jv v)
{
    write_rec(b, v, 1, 0);
}

jv jv_to_str(jv_heap *h, jv v)
{
    if (v.kind == JV_STRING)
        return v;
    jv_buf b;
    jv_buf_init(&b, h, h->limit);
    jv_write_str(&b, v);
    return jv_buf_to_str(&b);
}

static void json_write_string(jv_buf *b, const char *s, size_t n, int ensure_ascii)
{
    jv_buf_putc(b, '"');
    size_t i = 0, run = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char t[16];
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c == '\b')
            esc = "\\b";
        else if (c == '\f')
            esc = "\\f";
        else if (c < 0x20 || (ensure_ascii && c == 0x7F)) {
            snprintf(t, sizeof t, "\\u%04x", c);
            esc = t;
        } else if (ensure_ascii && c >= 0x80) {
            jv_buf_put(b, s + run, i - run);
            uint32_t cp = jv_utf8_next(s, n, &i);
            if (cp >= 0x10000) {
                uint32_t v = cp - 0x10000;
                snprintf(t, sizeof t, "\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
            } else {
                snprintf(t, sizeof t, "\\u%04x", cp);
            }
            jv_buf_puts(b, t);
            run = i;
            continue;
        }
        if (esc) {
            jv_buf_put(b, s + run, i - run);
            jv_buf_puts(b, esc);
            run = i + 1;
        }
        i++;
    }
    jv_buf_put(b, s + run, n - run);
    jv_buf_putc(b, '"');
}

static void json_newline(jv_buf *b, const jv_json_opts *o, int level)
{
    jv_buf_putc(b, '\n');
    for (int i = 0; i < level; i++) {
        if (o->indent_str)
            jv_buf_puts(b, o->indent_str);
        else
            for (int k = 0; k < o->indent; k++)
                jv_buf_putc(b, ' ');
    }
}

static void json_key(jv_buf *b, jv k, const jv_json_opts *o)
{
    char t[40];
    switch ((jv_kind)k.kind) {
    case JV_STRING: json_write_string(b, k.u.s->s, k.u.s->len, o->ensure_ascii); return;
    case JV_INT:
        jv_buf_putc(b, '"');
        write_int(b, k.u.i);
        jv_buf_putc(b, '"');
        return;
    case JV_FLOAT:
        jv_float_repr(k.u.f, t);
        jv_buf_putc(b, '"');
        jv_buf_puts(b, strcmp(t, "nan") == 0    ? "NaN"
                       : strcmp(t, "inf") == 0  ? "Infinity"
                       : strcmp(t, "-inf") == 0 ? "-Infinity"
                                                : t);
        jv_buf_putc(b, '"');
        return;
    case JV_BOOL: jv_buf_puts(b, k.u.b ? "\"true\"" : "\"false\""); return;
    case JV_NONE: jv_buf_puts(b, "\"null\""); return;
    case JV_UNDEFINED:
    case JV_LIST:
    case JV_DICT:
    case JV_NAMESPACE:
    case JV_LOOP:
    case JV_MACRO:
    case JV_FUNC:
    case JV_METHOD: break;
    }
    jv_fail(b->h, BOSON_ERR_RUNTIME, "keys must be str, int, float, bool or None, not %s",
            jv_type_name(k));
}

static int key_order(jv_heap *h, jv a, jv b)
{
    return jv_compare(h, a, b, "<");
}

static void json_rec(jv_buf *b, jv v, const jv_json_opts *o, int level)
{
    jv_heap *h = b->h;
    if (level > h->depth_limit)
        jv_fail(h, BOSON_ERR_RUNTIME, "values nested deeper than %d levels", h->depth_limit);
    const char *isep = o->item_sep ? o->item_sep : (o->indent >= 0 || o->indent_str) ? "," : ", ";
    const char *ksep = o->key_sep ? o->key_sep : ": ";
    int pretty = o->indent >= 0 || o->indent_str != NULL;
    char t[40];
    switch ((jv_kind)v.kind) {
    case JV_NONE: jv_buf_puts(b, "null"); return;
    case JV_BOOL: jv_buf_puts(b, v.u.b ? "true" : "false"); return;
    case JV_INT: write_int(b, v.u.i); return;
    case JV_FLOAT:
        jv_float_repr(v.u.f, t);
        jv_buf_puts(b, strcmp(t, "nan") == 0    ? "NaN"
                       : strcmp(t, "inf") == 0  ? "Infinity"
                       : strcmp(t, "-inf") == 0 ? "-Infinity"
                                                : t);
        return;
    case JV_STRING: json_write_string(b, v.u.s->s, v.u.s->len, o->ensure_ascii); return;
    case JV_LIST:
        if (v.u.l->len == 0) {
            jv_buf_puts(b, "[]");
            return;
        }
        jv_buf_putc(b, '[');
        for (size_t i = 0; i < v.u.l->len; i++) {
            if (i)
                jv_buf_puts(b, isep);
            if (pretty)
                json_newline(b, o, level + 1);
            json_rec(b, v.u.l->v[i], o, level + 1);
        }
        if (pretty)
            json_newline(b, o, level);
        jv_buf_putc(b, ']');
        return;
    case JV_DICT: {
        const jv_dict *d = v.u.d;
        if (d->len == 0) {
            jv_buf_puts(b, "{}");
            return;
        }
        size_t *order = jv_alloc(h, d->len * sizeof(size_t));
        for (size_t i = 0; i < d->len; i++)
            order[i] = i;
        if (o->sort_keys) {
            /* insertion sort: stable, and dicts in templates are small */
            for (size_t i = 1; i < d->len; i++) {
                size_t x = order[i], k = i;
                while (k > 0 && key_order(h, d->k[x], d->k[order[k - 1]]) < 0) {
                    order[k] = order[k - 1];
                    k--;
                }
                order[k] = x;
            }
        }
        jv_buf_putc(b, '{');
        for (size_t i = 0; i < d->len; i++) {
            if (i)
                jv_buf_puts(b, isep);
            if (pretty)
                json_newline(b, o, level + 1);
            json_key(b, d->k[order[i]], o);
            jv_buf_puts(b, ksep);
            json_rec(b, d->v[order[i]], o, level + 1);
        }
        if (pretty)
            json_newline(b, o, level);
        jv_buf_putc(b, '}');
        return;
    }
    case JV_UNDEFINED:
    case JV_NAMESPACE:
    case JV_LOOP:
    case JV_MACRO:
    case JV_FUNC:
    case JV_METHOD: break;
    }
    jv_fail(h, BOSON_ERR_RUNTIME, "Object of type %s is not JSON serializable", jv_type_name(v));
}

void jv_write_json(jv_buf *b, jv v, const jv_json_opts *o)
{
    json_rec(b, v, o, 0);
}
