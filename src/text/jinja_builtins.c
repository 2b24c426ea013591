/* Filters, tests, global functions and methods of the chat-template interpreter, with the
 * semantics of jinja2 3.1 and CPython's str/list/dict methods (plus the functions Hugging Face
 * registers: tojson with json.dumps options, raise_exception, strftime_now, namespace, dict). */
#include "text/jinja_eval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* ---------------------------------------------------------------- argument binding */

/* Binds positional and keyword arguments to parameter names; out[i].kind is 0xFF when the
 * argument was not given. */
enum { ARG_MISSING = 0xFF };

static void bind(jctx *c, const char *what, const jargs *a, const char *const *params, jv *out)
{
    size_t np = 0;
    while (params[np])
        np++;
    for (size_t i = 0; i < np; i++)
        out[i].kind = ARG_MISSING;
    if (a->npos > np)
        jx_fail(c, BOSON_ERR_RUNTIME, "%s takes at most %zu argument(s) (%zu given)", what, np,
                a->npos);
    for (size_t i = 0; i < a->npos; i++)
        out[i] = a->pos[i];
    for (size_t k = 0; k < a->nkw; k++) {
        size_t i;
        for (i = 0; i < np; i++)
            if (!strcmp(params[i], a->kwnames[k]))
                break;
        if (i == np)
            jx_fail(c, BOSON_ERR_RUNTIME, "%s got an unexpected keyword argument '%s'", what,
                    a->kwnames[k]);
        if (out[i].kind != ARG_MISSING)
            jx_fail(c, BOSON_ERR_RUNTIME, "%s got multiple values for argument '%s'", what,
                    a->kwnames[k]);
        out[i] = a->kw[k];
    }
}

static int given(jv v)
{
    return v.kind != ARG_MISSING;
}

static jv or_default(jv v, jv d)
{
    return given(v) ? v : d;
}

static const jv_str *need_str(jctx *c, jv v, const char *what)
{
    if (v.kind != JV_STRING)
        jx_fail(c, BOSON_ERR_RUNTIME, "%s must be a string, not '%s'", what, jv_type_name(v));
    return v.u.s;
}

static int64_t need_int(jctx *c, jv v, const char *what)
{
    if (v.kind == JV_INT)
        return v.u.i;
    if (v.kind == JV_BOOL)
        return v.u.b;
    jx_fail(c, BOSON_ERR_RUNTIME, "%s must be an integer, not '%s'", what, jv_type_name(v));
}

/* ---------------------------------------------------------------- string helpers */

typedef struct cps {
    uint32_t *cp;
    size_t *off; /* byte offset of each code point, off[n] = len */
    size_t n;
} cps;

static cps decode(jctx *c, const jv_str *s)
{
    cps r;
    size_t cnt = jv_utf8_count(s->s, s->len);
    r.cp = jv_alloc(c->h, (cnt + 1) * sizeof *r.cp);
    r.off = jv_alloc(c->h, (cnt + 1) * sizeof *r.off);
    size_t i = 0, k = 0;
    while (i < s->len) {
        r.off[k] = i;
        r.cp[k++] = jv_utf8_next(s->s, s->len, &i);
    }
    r.off[k] = s->len;
    r.n = k;
    return r;
}

static int in_set(uint32_t cp, const cps *set)
{
    if (!set)
        return jv_isspace(cp);
    for (size_t i = 0; i < set->n; i++)
        if (set->cp[i] == cp)
            return 1;
    return 0;
}

/* str.strip/lstrip/rstrip; chars NULL or none → whitespace. */
static jv str_strip(jctx *c, jv v, jv chars, int left, int right)
{
    const jv_str *s = v.u.s;
    cps set, *setp = NULL;
    if (given(chars) && chars.kind != JV_NONE) {
        set = decode(c, need_str(c, chars, "strip argument"));
        setp = &set;
    }
    cps d = decode(c, s);
    size_t a = 0, b = d.n;
    if (left)
        while (a < b && in_set(d.cp[a], setp))
            a++;
    if (right)
        while (b > a && in_set(d.cp[b - 1], setp))
            b--;
    if (a == 0 && b == d.n)
        return v;
    return jv_str_n(c->h, s->s + d.off[a], d.off[b] - d.off[a]);
}

static jv case_map(jctx *c, jv v, int mode /* 0 lower, 1 upper */)
{
    const jv_str *s = v.u.s;
    jv_buf o;
    jv_buf_init(&o, c->h, c->h->limit);
    size_t i = 0;
    while (i < s->len) {
        uint32_t cp = jv_utf8_next(s->s, s->len, &i);
        uint32_t m = (uint32_t)(mode ? utf8proc_toupper((utf8proc_int32_t)cp)
                                     : utf8proc_tolower((utf8proc_int32_t)cp));
        char t[4];
        jv_buf_put(&o, t, jv_utf8_encode(m, t));
    }
    return jv_buf_to_str(&o);
}

static int is_cased(uint32_t cp)
{
    int cat = (int)utf8proc_category((utf8proc_int32_t)cp);
    return cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL ||
           cat == UTF8PROC_CATEGORY_LT;
}

/* str.title() (method == 1), str.capitalize() (method == 2). */
static jv str_title(jctx *c, jv v, int method)
{
    const jv_str *s = v.u.s;
    jv_buf o;
    jv_buf_init(&o, c->h, c->h->limit);
    size_t i = 0;
    int prev_cased = 0, first = 1;
    while (i < s->len) {
        uint32_t cp = jv_utf8_next(s->s, s->len, &i);
        uint32_t m;
        if (method == 1)
            m = (uint32_t)(prev_cased ? utf8proc_tolower((utf8proc_int32_t)cp)
                                      : utf8proc_totitle((utf8proc_int32_t)cp));
        else
            m = (uint32_t)(first ? utf8proc_totitle((utf8proc_int32_t)cp)
                                 : utf8proc_tolower((utf8proc_int32_t)cp));
        prev_cased = is_cased(cp);
        first = 0;
        char t[4];
        jv_buf_put(&o, t, jv_utf8_encode(m, t));
    }
    return jv_buf_to_str(&o);
}

/* jinja's title filter: words start after runs of [-\s({\[<]. */
static jv filter_title(jctx *c, jv v)
{
    const jv_str *s = v.u.s;
    jv_buf o;
    jv_buf_init(&o, c->h, c->h->limit);
    size_t i = 0;
    int at_start = 1;
    while (i < s->len) {
        uint32_t cp = jv_utf8_next(s->s, s->len, &i);
        int sep = jv_isspace(cp) || cp == '-' || cp == '(' || cp == '{' || cp == '[' || cp == '<';
        uint32_t m;
        if (sep) {
            m = cp;
            at_start = 1;
        } else {
            m = (uint32_t)(at_start ? utf8proc_toupper((utf8proc_int32_t)cp)
                                    : utf8proc_tolower((utf8proc_int32_t)cp));
            at_start = 0;
        }
        char t[4];
        jv_buf_put(&o, t, jv_utf8_encode(m, t));
    }
    return jv_buf_to_str(&o);
}

static const char *find_bytes(const jv_str *h, size_t from, const jv_str *n)
{
    if (from > h->len)
        return NULL;
    if (n->len == 0)
        return h->s + from;
    return memmem(h->s + from, h->len - from, n->s, n->len);
}

static jv str_replace(jctx *c, jv v, jv oldv, jv newv, jv countv)
{
    const jv_str *s = v.u.s;
    const jv_str *old = need_str(c, oldv, "replace() argument 1");
    const jv_str *nw = need_str(c, newv, "replace() argument 2");
    int64_t count = -1;
    if (given(countv) && countv.kind != JV_NONE)
        count = need_int(c, countv, "replace() count");
    jv_buf o;
    jv_buf_init(&o, c->h, c->max_output);
    if (old->len == 0) {
        /* inserts new before every character and at the end */
        size_t i = 0;
        int64_t done = 0;
        while (i <= s->len) {
            if (count < 0 || done < count) {
                jv_buf_put(&o, nw->s, nw->len);
                done++;
            }
            if (i == s->len)
                break;
            size_t a = i;
            jv_utf8_next(s->s, s->len, &i);
            jv_buf_put(&o, s->s + a, i - a);
        }
        return jv_buf_to_str(&o);
    }
    size_t pos = 0;
    int64_t done = 0;
    while (count < 0 || done < count) {
        const char *f = find_bytes(s, pos, old);
        if (!f)
            break;
        size_t at = (size_t)(f - s->s);
        jv_buf_put(&o, s->s + pos, at - pos);
        jv_buf_put(&o, nw->s, nw->len);
        pos = at + old->len;
        done++;
    }
    jv_buf_put(&o, s->s + pos, s->len - pos);
    return jv_buf_to_str(&o);
}

static jv str_split(jctx *c, jv v, jv sepv, jv maxv, int from_right)
{
    const jv_str *s = v.u.s;
    int64_t maxsplit = -1;
    if (given(maxv) && maxv.kind != JV_NONE)
        maxsplit = need_int(c, maxv, "maxsplit");
    jv out = jv_list_new(c->h, 0);
    if (!given(sepv) || sepv.kind == JV_NONE) {
        cps d = decode(c, s);
        /* collect words; with maxsplit the remainder keeps its inner whitespace */
        if (!from_right) {
            size_t i = 0;
            int64_t splits = 0;
            while (i < d.n) {
                while (i < d.n && jv_isspace(d.cp[i]))
                    i++;
                if (i == d.n)
                    break;
                if (maxsplit >= 0 && splits >= maxsplit) {
                    /* the remainder is kept as is, trailing whitespace included */
                    jv_list_push(c->h, out, jv_str_n(c->h, s->s + d.off[i], s->len - d.off[i]));
                    break;
                }
                size_t a = i;
                while (i < d.n && !jv_isspace(d.cp[i]))
                    i++;
                jv_list_push(c->h, out, jv_str_n(c->h, s->s + d.off[a], d.off[i] - d.off[a]));
                splits++;
            }
            return out;
        }
        jv rev = jv_list_new(c->h, 0);
        size_t i = d.n;
        int64_t splits = 0;
        while (i > 0) {
            while (i > 0 && jv_isspace(d.cp[i - 1]))
                i--;
            if (i == 0)
                break;
            if (maxsplit >= 0 && splits >= maxsplit) {
                jv_list_push(c->h, rev, jv_str_n(c->h, s->s, d.off[i]));
                break;
            }
            size_t e = i;
            while (i > 0 && !jv_isspace(d.cp[i - 1]))
                i--;
            jv_list_push(c->h, rev, jv_str_n(c->h, s->s + d.off[i], d.off[e] - d.off[i]));
            splits++;
        }
        for (size_t k = rev.u.l->len; k > 0; k--)
            jv_list_push(c->h, out, rev.u.l->v[k - 1]);
        return out;
    }
    const jv_str *sep = need_str(c, sepv, "separator");
    if (sep->len == 0)
        jx_fail(c, BOSON_ERR_RUNTIME, "empty separator");
    if (!from_right) {
        size_t pos = 0;
        int64_t splits = 0;
        for (;;) {
            const char *f = (maxsplit < 0 || splits < maxsplit) ? find_bytes(s, pos, sep) : NULL;
            if (!f) {
                jv_list_push(c->h, out, jv_str_n(c->h, s->s + pos, s->len - pos));
                return out;
            }
            size_t at = (size_t)(f - s->s);
            jv_list_push(c->h, out, jv_str_n(c->h, s->s + pos, at - pos));
            pos = at + sep->len;
            splits++;
        }
    }
    /* rsplit: scan from the right */
    jv rev = jv_list_new(c->h, 0);
    size_t end = s->len;
    int64_t splits = 0;
    for (;;) {
        size_t at = SIZE_MAX;
        if ((maxsplit < 0 || splits < maxsplit) && end >= sep->len) {
            for (size_t p = end - sep->len + 1; p > 0; p--) {
                if (memcmp(s->s + p - 1, sep->s, sep->len) == 0) {
                    at = p - 1;
                    break;
                }
            }
        }
        if (at == SIZE_MAX) {
            jv_list_push(c->h, rev, jv_str_n(c->h, s->s, end));
            break;
        }
        jv_list_push(c->h, rev, jv_str_n(c->h, s->s + at + sep->len, end - at - sep->len));
        end = at;
        splits++;
    }
    for (size_t k = rev.u.l->len; k > 0; k--)
        jv_list_push(c->h, out, rev.u.l->v[k - 1]);
    return out;
}

static int is_linebreak(uint32_t cp)
{
    return cp == '\n' || cp == '\r' || cp == 0x0B || cp == 0x0C || cp == 0x1C || cp == 0x1D ||
           cp == 0x1E || cp == 0x85 || cp == 0x2028 || cp == 0x2029;
}

static jv str_splitlines(jctx *c, jv v, int keepends)
{
    const jv_str *s = v.u.s;
    cps d = decode(c, s);
    jv out = jv_list_new(c->h, 0);
    size_t i = 0;
    while (i < d.n) {
        size_t a = i;
        while (i < d.n && !is_linebreak(d.cp[i]))
            i++;
        size_t e = i;
        if (i < d.n) {
            if (d.cp[i] == '\r' && i + 1 < d.n && d.cp[i + 1] == '\n')
                i += 2;
            else
                i++;
        }
        size_t stop = keepends ? i : e;
        jv_list_push(c->h, out, jv_str_n(c->h, s->s + d.off[a], d.off[stop] - d.off[a]));
    }
    return out;
}

static int prefix_match(jctx *c, const jv_str *s, jv arg, int suffix)
{
    if (arg.kind == JV_LIST && (arg.flags & JV_FLAG_TUPLE)) {
        for (size_t i = 0; i < arg.u.l->len; i++)
            if (prefix_match(c, s, arg.u.l->v[i], suffix))
                return 1;
        return 0;
    }
    if (arg.kind != JV_STRING)
        jx_fail(c, BOSON_ERR_RUNTIME, "%s first arg must be str or a tuple of str, not %s",
                suffix ? "endswith" : "startswith", jv_type_name(arg));
    const jv_str *p = arg.u.s;
    if (p->len > s->len)
        return 0;
    return memcmp(suffix ? s->s + s->len - p->len : s->s, p->s, p->len) == 0;
}

static int64_t cp_index_of(const jv_str *s, size_t byte_off)
{
    return (int64_t)jv_utf8_count(s->s, byte_off);
}

static jv join_values(jctx *c, jv sep, jv seq)
{
    jv items = jx_iter_list(c, seq);
    jv_buf o;
    jv_buf_init(&o, c->h, c->max_output);
    for (size_t i = 0; i < items.u.l->len; i++) {
        if (i && sep.kind == JV_STRING)
            jv_buf_put(&o, sep.u.s->s, sep.u.s->len);
        jv_write_str(&o, items.u.l->v[i]);
    }
    return jv_buf_to_str(&o);
}

static jv html_escape(jctx *c, jv v)
{
    jv s = jv_to_str(c->h, v);
    jv_buf o;
    jv_buf_init(&o, c->h, c->max_output);
    for (size_t i = 0; i < s.u.s->len; i++) {
        char ch = s.u.s->s[i];
        switch (ch) {
        case '&': jv_buf_puts(&o, "&amp;"); break;
        case '<': jv_buf_puts(&o, "&lt;"); break;
        case '>': jv_buf_puts(&o, "&gt;"); break;
        case '"': jv_buf_puts(&o, "&#34;"); break;
        case '\'': jv_buf_puts(&o, "&#39;"); break;
        default: jv_buf_putc(&o, ch);
        }
    }
    return jv_buf_to_str(&o);
}

/* Python int(str, 10) / float(str). */
static int parse_py_int(const jv_str *s, int64_t *out)
{
    size_t i = 0, n = s->len;
    while (i < n && jv_isspace((unsigned char)s->s[i]))
        i++;
    while (n > i && jv_isspace((unsigned char)s->s[n - 1]))
        n--;
    int neg = 0;
    if (i < n && (s->s[i] == '+' || s->s[i] == '-'))
        neg = s->s[i++] == '-';
    if (i >= n)
        return 0;
    uint64_t v = 0;
    int prev_digit = 0;
    for (; i < n; i++) {
        char ch = s->s[i];
        if (ch == '_' && prev_digit && i + 1 < n && s->s[i + 1] >= '0' && s->s[i + 1] <= '9') {
            prev_digit = 0;
            continue;
        }
        if (ch < '0' || ch > '9')
            return 0;
        if (v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(ch - '0');
        prev_digit = 1;
    }
    if (v > (uint64_t)INT64_MAX + (neg ? 1 : 0))
        return -1;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 1;
}

static int parse_py_float(jctx *c, const jv_str *s, double *out)
{
    size_t i = 0, n = s->len;
    while (i < n && jv_isspace((unsigned char)s->s[i]))
        i++;
    while (n > i && jv_isspace((unsigned char)s->s[n - 1]))
        n--;
    if (i >= n)
        return 0;
    char *buf = jv_alloc(c->h, n - i + 1);
    size_t k = 0;
    for (size_t p = i; p < n; p++) {
        char ch = s->s[p];
        if (ch == 'x' || ch == 'X' || ch == 'p' || ch == 'P' || (unsigned char)ch >= 0x80)
            return 0;
        if (ch == '_') {
            if (p == i || p + 1 >= n || !(s->s[p - 1] >= '0' && s->s[p - 1] <= '9') ||
                !(s->s[p + 1] >= '0' && s->s[p + 1] <= '9'))
                return 0;
            continue;
        }
        buf[k++] = ch;
    }
    buf[k] = '\0';
    const char *b = buf;
    if (*b == '+' || *b == '-')
        b++;
    if (!strcasecmp(b, "inf") || !strcasecmp(b, "infinity") || !strcasecmp(b, "nan")) {
        *out = strtod(buf, NULL);
        return 1;
    }
    if (!((*b >= '0' && *b <= '9') || *b == '.'))
        return 0;
    char *end;
    *out = strtod(buf, &end);
    return *end == '\0';
}

/* ---------------------------------------------------------------- tests */

enum {
    T_BOOLEAN,
    T_CALLABLE,
    T_DEFINED,
    T_DIVISIBLEBY,
    T_EQ,
    T_ESCAPED,
    T_EVEN,
    T_FALSE,
    T_FILTER,
    T_FLOAT,
    T_GE,
    T_GT,
    T_IN,
    T_INTEGER,
    T_ITERABLE,
    T_LE,
    T_LOWER,
    T_LT,
    T_MAPPING,
    T_NE,
    T_NONE,
    T_NUMBER,
    T_ODD,
    T_SAMEAS,
    T_SEQUENCE,
    T_STRING,
    T_TEST,
    T_TRUE,
    T_UNDEFINED,
    T_UPPER
};

static const struct {
    const char *name;
    int id;
} test_names[] = {
    {"boolean", T_BOOLEAN},
    {"callable", T_CALLABLE},
    {"defined", T_DEFINED},
    {"divisibleby", T_DIVISIBLEBY},
    {"eq", T_EQ},
    {"equalto", T_EQ},
    {"==", T_EQ},
    {"escaped", T_ESCAPED},
    {"even", T_EVEN},
    {"false", T_FALSE},
    {"filter", T_FILTER},
    {"float", T_FLOAT},
    {"ge", T_GE},
    {">=", T_GE},
    {"gt", T_GT},
    {"greaterthan", T_GT},
    {">", T_GT},
    {"in", T_IN},
    {"integer", T_INTEGER},
    {"iterable", T_ITERABLE},
    {"le", T_LE},
    {"<=", T_LE},
    {"lower", T_LOWER},
    {"lt", T_LT},
    {"lessthan", T_LT},
    {"<", T_LT},
    {"mapping", T_MAPPING},
    {"ne", T_NE},
    {"!=", T_NE},
    {"none", T_NONE},
    {"number", T_NUMBER},
    {"odd", T_ODD},
    {"sameas", T_SAMEAS},
    {"sequence", T_SEQUENCE},
    {"string", T_STRING},
    {"test", T_TEST},
    {"true", T_TRUE},
    {"undefined", T_UNDEFINED},
    {"upper", T_UPPER},
};

int jinja_test_lookup(const char *name)
{
    for (size_t i = 0; i < sizeof test_names / sizeof test_names[0]; i++)
        if (!strcmp(test_names[i].name, name))
            return test_names[i].id;
    return -1;
}

static int cmp_values(jctx *c, jv a, jv b, const char *op)
{
    if (a.kind == JV_UNDEFINED)
        jx_undefined_error(c, a);
    if (b.kind == JV_UNDEFINED)
        jx_undefined_error(c, b);
    return jv_compare(c->h, a, b, op);
}

static int str_all_case(jctx *c, jv v, int upper)
{
    jv s = jv_to_str(c->h, v);
    int cased = 0;
    size_t i = 0;
    while (i < s.u.s->len) {
        uint32_t cp = jv_utf8_next(s.u.s->s, s.u.s->len, &i);
        int cat = (int)utf8proc_category((utf8proc_int32_t)cp);
        if (cat == UTF8PROC_CATEGORY_LT)
            return 0;
        if (cat == UTF8PROC_CATEGORY_LU) {
            if (!upper)
                return 0;
            cased = 1;
        } else if (cat == UTF8PROC_CATEGORY_LL) {
            if (upper)
                return 0;
            cased = 1;
        }
    }
    return cased;
}

int jinja_apply_test(jctx *c, int id, jv v, const jargs *a)
{
    static const char *const p_other[] = {"other", NULL};
    static const char *const p_num[] = {"num", NULL};
    static const char *const p_seq[] = {"seq", NULL};
    static const char *const p_none[] = {NULL};
    jv arg[2];
    switch (id) {
    case T_DIVISIBLEBY: bind(c, "divisibleby", a, p_num, arg); break;
    case T_EQ:
    case T_GE:
    case T_GT:
    case T_LE:
    case T_LT:
    case T_NE:
    case T_SAMEAS: bind(c, "test", a, p_other, arg); break;
    case T_IN: bind(c, "in", a, p_seq, arg); break;
    default: bind(c, "test", a, p_none, arg); break;
    }
    switch (id) {
    case T_BOOLEAN: return v.kind == JV_BOOL;
    case T_CALLABLE:
        /* jinja's Undefined defines __call__ (which raises), so callable() is true */
        return v.kind == JV_MACRO || v.kind == JV_FUNC || v.kind == JV_METHOD ||
               v.kind == JV_UNDEFINED;
    case T_DEFINED: return v.kind != JV_UNDEFINED;
    case T_UNDEFINED: return v.kind == JV_UNDEFINED;
    case T_DIVISIBLEBY: {
        if (!given(arg[0]))
            jx_fail(c, BOSON_ERR_RUNTIME, "divisibleby needs an argument");
        jv r = jv_int(0);
        if (jv_is_number(v) && jv_is_number(arg[0])) {
            if (jv_as_double(arg[0]) == 0)
                jx_fail(c, BOSON_ERR_RUNTIME, "integer division or modulo by zero");
            if (v.kind == JV_FLOAT || arg[0].kind == JV_FLOAT)
                r = jv_float(fmod(jv_as_double(v), jv_as_double(arg[0])));
            else
                r = jv_int((v.kind == JV_BOOL ? v.u.b : v.u.i) %
                           (arg[0].kind == JV_BOOL ? arg[0].u.b : arg[0].u.i));
            return jv_as_double(r) == 0;
        }
        jx_fail(c, BOSON_ERR_RUNTIME, "unsupported operand type(s) for %%: '%s' and '%s'",
                jv_type_name(v), jv_type_name(arg[0]));
    }
    case T_EQ: return given(arg[0]) && jv_equal(c->h, v, arg[0]);
    case T_NE: return !given(arg[0]) || !jv_equal(c->h, v, arg[0]);
    case T_GE:
    case T_GT:
    case T_LE:
    case T_LT: {
        if (!given(arg[0]))
            jx_fail(c, BOSON_ERR_RUNTIME, "comparison test needs an argument");
        const char *op = id == T_GE ? ">=" : id == T_GT ? ">" : id == T_LE ? "<=" : "<";
        int r = cmp_values(c, v, arg[0], op);
        if (r == 2)
            return 0;
        return id == T_GE ? r >= 0 : id == T_GT ? r > 0 : id == T_LE ? r <= 0 : r < 0;
    }
    case T_ESCAPED: return 0;
    case T_EVEN:
    case T_ODD: {
        if (v.kind == JV_INT || v.kind == JV_BOOL) {
            int64_t i = v.kind == JV_BOOL ? v.u.b : v.u.i;
            return id == T_EVEN ? (i % 2 == 0) : (i % 2 != 0);
        }
        if (v.kind == JV_FLOAT) {
            double m = fmod(v.u.f, 2.0);
            if (m < 0)
                m += 2.0;
            return id == T_EVEN ? m == 0.0 : m == 1.0;
        }
        if (v.kind == JV_UNDEFINED)
            jx_undefined_error(c, v);
        jx_fail(c, BOSON_ERR_RUNTIME, "unsupported operand type(s) for %%: '%s' and 'int'",
                jv_type_name(v));
    }
    case T_FALSE: return v.kind == JV_BOOL && !v.u.b;
    case T_TRUE: return v.kind == JV_BOOL && v.u.b;
    case T_FILTER: return v.kind == JV_STRING && jinja_filter_lookup(v.u.s->s) >= 0;
    case T_TEST: return v.kind == JV_STRING && jinja_test_lookup(v.u.s->s) >= 0;
    case T_FLOAT: return v.kind == JV_FLOAT;
    case T_INTEGER: return v.kind == JV_INT;
    case T_NUMBER: return jv_is_number(v);
    case T_IN: {
        if (!given(arg[0]))
            jx_fail(c, BOSON_ERR_RUNTIME, "the 'in' test needs an argument");
        jv seq = arg[0];
        if (seq.kind == JV_STRING) {
            if (v.kind != JV_STRING)
                jx_fail(c, BOSON_ERR_RUNTIME, "'in <string>' requires string as left operand");
            return v.u.s->len == 0 || find_bytes(seq.u.s, 0, v.u.s) != NULL;
        }
        if (seq.kind == JV_UNDEFINED)
            return 0;
        if (seq.kind == JV_DICT)
            return jv_hashable(v) && jv_dict_get(c->h, seq, v, NULL);
        jv items = jx_iter_list(c, seq);
        for (size_t i = 0; i < items.u.l->len; i++)
            if (jv_equal(c->h, items.u.l->v[i], v))
                return 1;
        return 0;
    }
    case T_ITERABLE:
        return v.kind == JV_LIST || v.kind == JV_DICT || v.kind == JV_STRING ||
               v.kind == JV_UNDEFINED || v.kind == JV_LOOP;
    case T_SEQUENCE:
        /* jinja's Undefined has __len__ and __iter__ and passes the sequence test */
        return v.kind == JV_LIST || v.kind == JV_DICT || v.kind == JV_STRING ||
               v.kind == JV_UNDEFINED;
    case T_MAPPING: return v.kind == JV_DICT;
    case T_STRING: return v.kind == JV_STRING;
    case T_NONE: return v.kind == JV_NONE;
    case T_LOWER: return str_all_case(c, v, 0);
    case T_UPPER: return str_all_case(c, v, 1);
    case T_SAMEAS:
        if (!given(arg[0]))
            return 0;
        if (v.kind != arg[0].kind)
            return 0;
        switch ((jv_kind)v.kind) {
        case JV_NONE:
        case JV_UNDEFINED: return 1;
        case JV_BOOL: return v.u.b == arg[0].u.b;
        case JV_INT: return v.u.i == arg[0].u.i && v.u.i >= -5 && v.u.i <= 256;
        case JV_STRING: return v.u.s == arg[0].u.s;
        case JV_FLOAT:
        case JV_LIST:
        case JV_DICT:
        case JV_NAMESPACE:
        case JV_LOOP:
        case JV_MACRO:
        case JV_FUNC:
        case JV_METHOD: return v.u.p == arg[0].u.p;
        }
        return 0;
    default: break;
    }
    jx_fail(c, BOSON_ERR_UNSUPPORTED, "unsupported test");
}

/* ---------------------------------------------------------------- filters */

enum {
    F_ABS,
    F_ATTR,
    F_CAPITALIZE,
    F_COUNT,
    F_DEFAULT,
    F_DICTSORT,
    F_ESCAPE,
    F_FIRST,
    F_FLOAT,
    F_INDENT,
    F_INT,
    F_ITEMS,
    F_JOIN,
    F_LAST,
    F_LENGTH,
    F_LIST,
    F_LOWER,
    F_MAP,
    F_MAX,
    F_MIN,
    F_REJECT,
    F_REJECTATTR,
    F_REPLACE,
    F_REVERSE,
    F_ROUND,
    F_SAFE,
    F_SELECT,
    F_SELECTATTR,
    F_SORT,
    F_STRING,
    F_SUM,
    F_TITLE,
    F_TOJSON,
    F_TRIM,
    F_UNIQUE,
    F_UPPER
};

static const struct {
    const char *name;
    int id;
} filter_names[] = {
    {"abs", F_ABS},           {"attr", F_ATTR},       {"capitalize", F_CAPITALIZE},
    {"count", F_COUNT},       {"d", F_DEFAULT},       {"default", F_DEFAULT},
    {"dictsort", F_DICTSORT}, {"e", F_ESCAPE},        {"escape", F_ESCAPE},
    {"first", F_FIRST},       {"float", F_FLOAT},     {"indent", F_INDENT},
    {"int", F_INT},           {"items", F_ITEMS},     {"join", F_JOIN},
    {"last", F_LAST},         {"length", F_LENGTH},   {"list", F_LIST},
    {"lower", F_LOWER},       {"map", F_MAP},         {"max", F_MAX},
    {"min", F_MIN},           {"reject", F_REJECT},   {"rejectattr", F_REJECTATTR},
    {"replace", F_REPLACE},   {"reverse", F_REVERSE}, {"round", F_ROUND},
    {"safe", F_SAFE},         {"select", F_SELECT},   {"selectattr", F_SELECTATTR},
    {"sort", F_SORT},         {"string", F_STRING},   {"sum", F_SUM},
    {"title", F_TITLE},       {"tojson", F_TOJSON},   {"trim", F_TRIM},
    {"unique", F_UNIQUE},     {"upper", F_UPPER},
};

int jinja_filter_lookup(const char *name)
{
    for (size_t i = 0; i < sizeof filter_names / sizeof filter_names[0]; i++)
        if (!strcmp(filter_names[i].name, name))
            return filter_names[i].id;
    return -1;
}

/* jinja make_attrgetter: "a.b.0" → getitem per part (integers for digit parts). */
static jv attr_get(jctx *c, jv item, jv attr)
{
    if (attr.kind != JV_STRING)
        return jx_getitem(c, item, attr);
    const jv_str *s = attr.u.s;
    size_t a = 0;
    for (;;) {
        size_t b = a;
        while (b < s->len && s->s[b] != '.')
            b++;
        jv part = jv_str_n(c->h, s->s + a, b - a);
        int64_t iv;
        if (b > a && parse_py_int(part.u.s, &iv) == 1 && s->s[a] >= '0' && s->s[a] <= '9')
            part = jv_int(iv);
        item = jx_getitem(c, item, part);
        if (b >= s->len)
            return item;
        a = b + 1;
    }
}

/* Sort key: attribute and case folding as jinja's sort/unique/min/max do. */
static jv sort_key(jctx *c, jv item, jv attr, int case_sensitive)
{
    jv k = given(attr) && attr.kind != JV_NONE ? attr_get(c, item, attr) : item;
    if (!case_sensitive && k.kind == JV_STRING)
        k = case_map(c, k, 0);
    return k;
}

static void stable_sort(jctx *c, jv *vals, jv *keys, size_t n, int reverse)
{
    /* insertion sort (stable); reverse keeps Python's stable descending order */
    for (size_t i = 1; i < n; i++) {
        jv v = vals[i], k = keys[i];
        size_t j = i;
        while (j > 0) {
            int r = cmp_values(c, k, keys[j - 1], "<");
            if (r == 2)
                r = 0;
            if (reverse ? !(r > 0) : !(r < 0))
                break;
            vals[j] = vals[j - 1];
            keys[j] = keys[j - 1];
            j--;
        }
        vals[j] = v;
        keys[j] = k;
        if ((i & 63) == 0)
            c->steps += i;
    }
}

static jv select_impl(jctx *c, jv seq, const jargs *a, int with_attr, int reject)
{
    jv items = jx_iter_list(c, seq);
    size_t p = 0;
    jv attr = jv_none();
    if (with_attr) {
        if (a->npos < 1)
            jx_fail(c, BOSON_ERR_RUNTIME, "selectattr/rejectattr need an attribute name");
        attr = a->pos[p++];
    }
    int test = -1;
    jargs targs = {0};
    if (p < a->npos) {
        const jv_str *tn = need_str(c, a->pos[p++], "test name");
        test = jinja_test_lookup(tn->s);
        if (test < 0)
            jx_fail(c, BOSON_ERR_RUNTIME, "No test named '%s'", tn->s);
        targs.pos = a->pos + p;
        targs.npos = a->npos - p;
        targs.kwnames = a->kwnames;
        targs.kw = a->kw;
        targs.nkw = a->nkw;
    }
    jv out = jv_list_new(c->h, 0);
    for (size_t i = 0; i < items.u.l->len; i++) {
        jv item = items.u.l->v[i];
        jv probe = with_attr ? attr_get(c, item, attr) : item;
        int ok = test < 0 ? jv_truthy(probe) : jinja_apply_test(c, test, probe, &targs);
        if (ok != reject)
            jv_list_push(c->h, out, item);
    }
    return out;
}

static jv map_impl(jctx *c, jv seq, const jargs *a)
{
    jv items = jx_iter_list(c, seq);
    jv out = jv_list_new(c->h, items.u.l->len);
    if (a->npos == 0) {
        jv attr = jv_none(), def = {.kind = ARG_MISSING};
        for (size_t k = 0; k < a->nkw; k++) {
            if (!strcmp(a->kwnames[k], "attribute"))
                attr = a->kw[k];
            else if (!strcmp(a->kwnames[k], "default"))
                def = a->kw[k];
            else
                jx_fail(c, BOSON_ERR_RUNTIME, "map got an unexpected keyword argument '%s'",
                        a->kwnames[k]);
        }
        if (attr.kind == JV_NONE)
            jx_fail(c, BOSON_ERR_RUNTIME, "map needs a filter name or attribute=");
        for (size_t i = 0; i < items.u.l->len; i++) {
            jv v = attr_get(c, items.u.l->v[i], attr);
            if (v.kind == JV_UNDEFINED && given(def))
                v = def;
            jv_list_push(c->h, out, v);
        }
        return out;
    }
    const jv_str *fn = need_str(c, a->pos[0], "filter name");
    int f = jinja_filter_lookup(fn->s);
    if (f < 0)
        jx_fail(c, BOSON_ERR_RUNTIME, "No filter named '%s'", fn->s);
    jargs fa = {a->pos + 1, a->npos - 1, a->kwnames, a->kw, a->nkw};
    for (size_t i = 0; i < items.u.l->len; i++)
        jv_list_push(c->h, out, jinja_apply_filter(c, f, items.u.l->v[i], &fa));
    return out;
}

static jv do_round(jctx *c, jv v, jv prec, jv method)
{
    int64_t p = given(prec) ? need_int(c, prec, "round precision") : 0;
    const char *m = given(method) ? need_str(c, method, "round method")->s : "common";
    if (strcmp(m, "common") && strcmp(m, "ceil") && strcmp(m, "floor"))
        jx_fail(c, BOSON_ERR_RUNTIME, "method must be common, ceil or floor");
    if (!jv_is_number(v))
        jx_fail(c, BOSON_ERR_RUNTIME, "type %s doesn't define __round__ method", jv_type_name(v));
    if (p < -308 || p > 308)
        jx_fail(c, BOSON_ERR_UNSUPPORTED, "round precision out of range");
    double x = jv_as_double(v);
    if (!strcmp(m, "common")) {
        if (v.kind != JV_FLOAT && p >= 0)
            return jv_int(v.kind == JV_BOOL ? v.u.b : v.u.i);
        if (!isfinite(x))
            return jv_float(x);
        if (p >= 0) {
            char buf[400];
            snprintf(buf, sizeof buf, "%.*f", (int)p, x);
            return jv_float(strtod(buf, NULL));
        }
        double f = pow(10.0, (double)-p);
        double r = nearbyint(x / f) * f;
        if (v.kind != JV_FLOAT)
            return jv_int((int64_t)r);
        return jv_float(r);
    }
    double f = pow(10.0, (double)p);
    double r = (!strcmp(m, "ceil") ? ceil(x * f) : floor(x * f)) / f;
    return jv_float(r);
}

static jv do_tojson(jctx *c, jv v, const jargs *a)
{
    static const char *const params[] = {"ensure_ascii", "indent", "separators", "sort_keys", NULL};
    jv arg[4];
    bind(c, "tojson", a, params, arg);
    jv_json_opts o = {.indent = -1};
    o.ensure_ascii = given(arg[0]) && jv_truthy(arg[0]);
    if (given(arg[1]) && arg[1].kind != JV_NONE) {
        if (arg[1].kind == JV_STRING) {
            o.indent_str = arg[1].u.s->s;
        } else {
            int64_t ind = need_int(c, arg[1], "indent");
            if (ind > 1000)
                jx_fail(c, BOSON_ERR_UNSUPPORTED, "indent too large");
            o.indent = ind < 0 ? 0 : (int)ind;
        }
    }
    if (given(arg[2]) && arg[2].kind != JV_NONE) {
        jv sep = arg[2];
        if (sep.kind != JV_LIST || sep.u.l->len != 2 || sep.u.l->v[0].kind != JV_STRING ||
            sep.u.l->v[1].kind != JV_STRING)
            jx_fail(c, BOSON_ERR_RUNTIME, "separators must be a pair of strings");
        o.item_sep = sep.u.l->v[0].u.s->s;
        o.key_sep = sep.u.l->v[1].u.s->s;
    }
    o.sort_keys = given(arg[3]) && jv_truthy(arg[3]);
    jv_buf b;
    jv_buf_init(&b, c->h, c->max_output);
    jv_write_json(&b, v, &o);
    return jv_buf_to_str(&b);
}

static jv do_indent(jctx *c, jv v, const jargs *a)
{
    static const char *const params[] = {"width", "first", "blank", NULL};
    jv arg[3];
    bind(c, "indent", a, params, arg);
    jv_buf ind;
    jv_buf_init(&ind, c->h, c->max_output);
    if (given(arg[0]) && arg[0].kind == JV_STRING) {
        jv_buf_put(&ind, arg[0].u.s->s, arg[0].u.s->len);
    } else {
        int64_t w = given(arg[0]) ? need_int(c, arg[0], "indent width") : 4;
        for (int64_t i = 0; i < w && i < 4096; i++)
            jv_buf_putc(&ind, ' ');
    }
    int first = given(arg[1]) && jv_truthy(arg[1]);
    int blank = given(arg[2]) && jv_truthy(arg[2]);
    jv s = jv_to_str(c->h, v);
    jv_buf tmp;
    jv_buf_init(&tmp, c->h, c->max_output);
    jv_buf_put(&tmp, s.u.s->s, s.u.s->len);
    jv_buf_putc(&tmp, '\n');
    jv lines = str_splitlines(c, jv_buf_to_str(&tmp), 0);
    jv_buf o;
    jv_buf_init(&o, c->h, c->max_output);
    if (first)
        jv_buf_put(&o, ind.p ? ind.p : "", ind.len);
    for (size_t i = 0; i < lines.u.l->len; i++) {
        const jv_str *ln = lines.u.l->v[i].u.s;
        if (i) {
            jv_buf_putc(&o, '\n');
            if (blank || ln->len)
                jv_buf_put(&o, ind.p ? ind.p : "", ind.len);
        }
        jv_buf_put(&o, ln->s, ln->len);
    }
    return jv_buf_to_str(&o);
}

static jv min_max(jctx *c, jv v, const jargs *a, int want_max)
{
    static const char *const params[] = {"case_sensitive", "attribute", NULL};
    jv arg[2];
    bind(c, want_max ? "max" : "min", a, params, arg);
    int cs = given(arg[0]) && jv_truthy(arg[0]);
    jv items = jx_iter_list(c, v);
    if (items.u.l->len == 0)
        return jv_undef("No aggregated item, sequence was empty.");
    jv best = items.u.l->v[0];
    jv bk = sort_key(c, best, arg[1], cs);
    for (size_t i = 1; i < items.u.l->len; i++) {
        jv k = sort_key(c, items.u.l->v[i], arg[1], cs);
        int r = cmp_values(c, k, bk, "<");
        if (r != 2 && (want_max ? r > 0 : r < 0)) {
            best = items.u.l->v[i];
            bk = k;
        }
    }
    return best;
}

jv jinja_apply_filter(jctx *c, int id, jv v, const jargs *a)
{
    jv_heap *h = c->h;
    static const char *const p_none[] = {NULL};
    jv arg[6];
    switch (id) {
    case F_ABS:
        bind(c, "abs", a, p_none, arg);
        if (v.kind == JV_INT) {
            if (v.u.i == INT64_MIN)
                jx_fail(c, BOSON_ERR_UNSUPPORTED, "integer overflow (beyond 64 bits)");
            return jv_int(v.u.i < 0 ? -v.u.i : v.u.i);
        }
        if (v.kind == JV_BOOL)
            return jv_int(v.u.b);
        if (v.kind == JV_FLOAT)
            return jv_float(fabs(v.u.f));
        jx_fail(c, BOSON_ERR_RUNTIME, "bad operand type for abs(): '%s'", jv_type_name(v));
    case F_ATTR: {
        static const char *const p[] = {"name", NULL};
        bind(c, "attr", a, p, arg);
        if (!given(arg[0]))
            jx_fail(c, BOSON_ERR_RUNTIME, "attr needs a name");
        const jv_str *nm = need_str(c, arg[0], "attribute name");
        if (v.kind == JV_UNDEFINED)
            jx_undefined_error(c, v);
        jv out;
        if (v.kind == JV_NAMESPACE && jv_dict_get_s(v, nm->s, nm->len, &out))
            return out;
        if (jinja_method_lookup(c, v, nm->s, &out))
            return out;
        return jv_undef("no such attribute");
    }
    case F_CAPITALIZE:
        bind(c, "capitalize", a, p_none, arg);
        return str_title(c, jv_to_str(h, v), 2);
    case F_COUNT:
    case F_LENGTH:
        bind(c, "length", a, p_none, arg);
        switch ((jv_kind)v.kind) {
        case JV_UNDEFINED: return jv_int(0);
        case JV_STRING: return jv_int((int64_t)jv_utf8_count(v.u.s->s, v.u.s->len));
        case JV_LIST: return jv_int((int64_t)v.u.l->len);
        case JV_DICT: return jv_int((int64_t)v.u.d->len);
        case JV_LOOP: return jv_int((int64_t)((jloop *)v.u.p)->items.u.l->len);
        case JV_NONE:
        case JV_BOOL:
        case JV_INT:
        case JV_FLOAT:
        case JV_NAMESPACE:
        case JV_MACRO:
        case JV_FUNC:
        case JV_METHOD: break;
        }
        jx_fail(c, BOSON_ERR_RUNTIME, "object of type '%s' has no len()", jv_type_name(v));
    case F_DEFAULT: {
        static const char *const p[] = {"default_value", "boolean", NULL};
        bind(c, "default", a, p, arg);
        jv d = or_default(arg[0], jv_str_c(h, ""));
        int boolean = given(arg[1]) && jv_truthy(arg[1]);
        if (v.kind == JV_UNDEFINED || (boolean && !jv_truthy(v)))
            return d;
        return v;
    }
    case F_DICTSORT: {
        static const char *const p[] = {"case_sensitive", "by", "reverse", NULL};
        bind(c, "dictsort", a, p, arg);
        if (v.kind != JV_DICT)
            jx_fail(c, BOSON_ERR_RUNTIME, "dictsort needs a mapping, not '%s'", jv_type_name(v));
        int cs = given(arg[0]) && jv_truthy(arg[0]);
        int by_value = 0;
        if (given(arg[1])) {
            const jv_str *by = need_str(c, arg[1], "by");
            if (!strcmp(by->s, "value"))
                by_value = 1;
            else if (strcmp(by->s, "key"))
                jx_fail(c, BOSON_ERR_RUNTIME, "You can only sort by either \"key\" or \"value\"");
        }
        size_t n = v.u.d->len;
        jv *vals = jv_alloc(h, (n + 1) * sizeof(jv)), *keys = jv_alloc(h, (n + 1) * sizeof(jv));
        for (size_t i = 0; i < n; i++) {
            jv pair = jv_list_new(h, 2);
            pair.flags = JV_FLAG_TUPLE;
            jv_list_push(h, pair, v.u.d->k[i]);
            jv_list_push(h, pair, v.u.d->v[i]);
            vals[i] = pair;
            keys[i] = sort_key(c, by_value ? v.u.d->v[i] : v.u.d->k[i], jv_none(), cs);
        }
        stable_sort(c, vals, keys, n, given(arg[2]) && jv_truthy(arg[2]));
        jv out = jv_list_new(h, n);
        for (size_t i = 0; i < n; i++)
            jv_list_push(h, out, vals[i]);
        return out;
    }
    case F_ESCAPE: bind(c, "escape", a, p_none, arg); return html_escape(c, v);
    case F_FIRST: {
        bind(c, "first", a, p_none, arg);
        jv items = jx_iter_list(c, v);
        if (items.u.l->len == 0)
            return jv_undef("No first item, sequence was empty.");
        return items.u.l->v[0];
    }
    case F_LAST: {
        bind(c, "last", a, p_none, arg);
        if (v.kind == JV_UNDEFINED)
            jx_fail(c, BOSON_ERR_RUNTIME, "'Undefined' object is not reversible");
        jv items = jx_iter_list(c, v);
        if (items.u.l->len == 0)
            return jv_undef("No last item, sequence was empty.");
        return items.u.l->v[items.u.l->len - 1];
    }
    case F_FLOAT: {
        static const char *const p[] = {"default", NULL};
        bind(c, "float", a, p, arg);
        jv d = or_default(arg[0], jv_float(0.0));
        if (jv_is_number(v))
            return jv_float(jv_as_double(v));
        double f;
        if (v.kind == JV_STRING && parse_py_float(c, v.u.s, &f))
            return jv_float(f);
        return d;
    }
    case F_INT: {
        static const char *const p[] = {"default", "base", NULL};
        bind(c, "int", a, p, arg);
        jv d = or_default(arg[0], jv_int(0));
        if (given(arg[1]) && need_int(c, arg[1], "base") != 10)
            jx_fail(c, BOSON_ERR_UNSUPPORTED, "int filter: only base 10 is supported");
        if (v.kind == JV_INT)
            return v;
        if (v.kind == JV_BOOL)
            return jv_int(v.u.b);
        if (v.kind == JV_FLOAT) {
            if (isnan(v.u.f))
                return d;
            if (!isfinite(v.u.f) || fabs(v.u.f) >= 9.2e18)
                jx_fail(c, BOSON_ERR_UNSUPPORTED, "cannot convert float to a 64-bit integer");
            return jv_int((int64_t)v.u.f);
        }
        if (v.kind == JV_STRING) {
            int64_t i;
            int r = parse_py_int(v.u.s, &i);
            if (r == 1)
                return jv_int(i);
            if (r < 0)
                jx_fail(c, BOSON_ERR_UNSUPPORTED, "integer beyond 64 bits");
            double f;
            if (parse_py_float(c, v.u.s, &f)) {
                if (isnan(f))
                    return d;
                if (!isfinite(f) || fabs(f) >= 9.2e18)
                    jx_fail(c, BOSON_ERR_UNSUPPORTED, "cannot convert float to a 64-bit integer");
                return jv_int((int64_t)f);
            }
        }
        return d;
    }
    case F_INDENT: return do_indent(c, v, a);
    case F_ITEMS: {
        bind(c, "items", a, p_none, arg);
        if (v.kind == JV_UNDEFINED)
            return jv_list_new(h, 0);
        if (v.kind != JV_DICT)
            jx_fail(c, BOSON_ERR_RUNTIME, "Can only get item pairs from a mapping.");
        jv out = jv_list_new(h, v.u.d->len);
        for (size_t i = 0; i < v.u.d->len; i++) {
            jv pair = jv_list_new(h, 2);
            pair.flags = JV_FLAG_TUPLE;
            jv_list_push(h, pair, v.u.d->k[i]);
            jv_list_push(h, pair, v.u.d->v[i]);
            jv_list_push(h, out, pair);
        }
        return out;
    }
    case F_JOIN: {
        static const char *const p[] = {"d", "attribute", NULL};
        bind(c, "join", a, p, arg);
        jv sep = or_default(arg[0], jv_str_c(h, ""));
        if (given(arg[1]) && arg[1].kind != JV_NONE) {
            jv items = jx_iter_list(c, v);
            jv mapped = jv_list_new(h, items.u.l->len);
            for (size_t i = 0; i < items.u.l->len; i++)
                jv_list_push(h, mapped, attr_get(c, items.u.l->v[i], arg[1]));
            v = mapped;
        }
        return join_values(c, jv_to_str(h, sep), v);
    }
    case F_LIST: {
        bind(c, "list", a, p_none, arg);
        jv items = jx_iter_list(c, v);
        jv out = jv_list_new(h, items.u.l->len);
        for (size_t i = 0; i < items.u.l->len; i++)
            jv_list_push(h, out, items.u.l->v[i]);
        return out;
    }
    case F_LOWER: bind(c, "lower", a, p_none, arg); return case_map(c, jv_to_str(h, v), 0);
    case F_UPPER: bind(c, "upper", a, p_none, arg); return case_map(c, jv_to_str(h, v), 1);
    case F_TITLE: bind(c, "title", a, p_none, arg); return filter_title(c, jv_to_str(h, v));
    case F_MAP: return map_impl(c, v, a);
    case F_MAX: return min_max(c, v, a, 1);
    case F_MIN: return min_max(c, v, a, 0);
    case F_SELECT: return select_impl(c, v, a, 0, 0);
    case F_REJECT: return select_impl(c, v, a, 0, 1);
    case F_SELECTATTR: return select_impl(c, v, a, 1, 0);
    case F_REJECTATTR: return select_impl(c, v, a, 1, 1);
    case F_REPLACE: {
        static const char *const p[] = {"old", "new", "count", NULL};
        bind(c, "replace", a, p, arg);
        if (!given(arg[0]) || !given(arg[1]))
            jx_fail(c, BOSON_ERR_RUNTIME, "replace needs old and new");
        return str_replace(c, jv_to_str(h, v), jv_to_str(h, arg[0]), jv_to_str(h, arg[1]), arg[2]);
    }
    case F_REVERSE: {
        bind(c, "reverse", a, p_none, arg);
        if (v.kind == JV_STRING) {
            cps d = decode(c, v.u.s);
            jv_buf o;
            jv_buf_init(&o, h, c->max_output);
            for (size_t i = d.n; i > 0; i--)
                jv_buf_put(&o, v.u.s->s + d.off[i - 1], d.off[i] - d.off[i - 1]);
            return jv_buf_to_str(&o);
        }
        jv items = jx_iter_list(c, v);
        jv out = jv_list_new(h, items.u.l->len);
        for (size_t i = items.u.l->len; i > 0; i--)
            jv_list_push(h, out, items.u.l->v[i - 1]);
        return out;
    }
    case F_ROUND: {
        static const char *const p[] = {"precision", "method", NULL};
        bind(c, "round", a, p, arg);
        return do_round(c, v, arg[0], arg[1]);
    }
    case F_SAFE: bind(c, "safe", a, p_none, arg); return v;
    case F_SORT: {
        static const char *const p[] = {"reverse", "case_sensitive", "attribute", NULL};
        bind(c, "sort", a, p, arg);
        jv items = jx_iter_list(c, v);
        size_t n = items.u.l->len;
        jv *vals = jv_alloc(h, (n + 1) * sizeof(jv)), *keys = jv_alloc(h, (n + 1) * sizeof(jv));
        int cs = given(arg[1]) && jv_truthy(arg[1]);
        for (size_t i = 0; i < n; i++) {
            vals[i] = items.u.l->v[i];
            keys[i] = sort_key(c, vals[i], arg[2], cs);
        }
        stable_sort(c, vals, keys, n, given(arg[0]) && jv_truthy(arg[0]));
        jv out = jv_list_new(h, n);
        for (size_t i = 0; i < n; i++)
            jv_list_push(h, out, vals[i]);
        return out;
    }
    case F_STRING: bind(c, "string", a, p_none, arg); return jv_to_str(h, v);
    case F_SUM: {
        static const char *const p[] = {"attribute", "start", NULL};
        bind(c, "sum", a, p, arg);
        jv items = jx_iter_list(c, v);
        jv acc = or_default(arg[1], jv_int(0));
        for (size_t i = 0; i < items.u.l->len; i++) {
            jv x = given(arg[0]) && arg[0].kind != JV_NONE ? attr_get(c, items.u.l->v[i], arg[0])
                                                           : items.u.l->v[i];
            if (!jv_is_number(acc) || !jv_is_number(x))
                jx_fail(c, BOSON_ERR_RUNTIME, "unsupported operand type(s) for +: '%s' and '%s'",
                        jv_type_name(acc), jv_type_name(x));
            if (acc.kind == JV_FLOAT || x.kind == JV_FLOAT) {
                acc = jv_float(jv_as_double(acc) + jv_as_double(x));
            } else {
                int64_t r;
                if (__builtin_add_overflow(acc.kind == JV_BOOL ? acc.u.b : acc.u.i,
                                           x.kind == JV_BOOL ? x.u.b : x.u.i, &r))
                    jx_fail(c, BOSON_ERR_UNSUPPORTED, "integer overflow (beyond 64 bits)");
                acc = jv_int(r);
            }
        }
        return acc;
    }
    case F_TOJSON: return do_tojson(c, v, a);
    case F_TRIM: {
        static const char *const p[] = {"chars", NULL};
        bind(c, "trim", a, p, arg);
        return str_strip(c, jv_to_str(h, v), arg[0], 1, 1);
    }
    case F_UNIQUE: {
        static const char *const p[] = {"case_sensitive", "attribute", NULL};
        bind(c, "unique", a, p, arg);
        int cs = given(arg[0]) && jv_truthy(arg[0]);
        jv items = jx_iter_list(c, v);
        jv out = jv_list_new(h, 0), seen = jv_list_new(h, 0);
        for (size_t i = 0; i < items.u.l->len; i++) {
            jv k = sort_key(c, items.u.l->v[i], arg[1], cs);
            int dup = 0;
            for (size_t j = 0; j < seen.u.l->len && !dup; j++)
                dup = jv_equal(h, seen.u.l->v[j], k);
            if (!dup) {
                jv_list_push(h, seen, k);
                jv_list_push(h, out, items.u.l->v[i]);
            }
        }
        return out;
    }
    default: break;
    }
    jx_fail(c, BOSON_ERR_UNSUPPORTED, "unsupported filter");
}

/* ---------------------------------------------------------------- global functions */

enum { FN_RANGE, FN_NAMESPACE, FN_DICT, FN_RAISE, FN_STRFTIME };

int jinja_func_lookup(const char *name)
{
    if (!strcmp(name, "range"))
        return FN_RANGE;
    if (!strcmp(name, "namespace"))
        return FN_NAMESPACE;
    if (!strcmp(name, "dict"))
        return FN_DICT;
    if (!strcmp(name, "raise_exception"))
        return FN_RAISE;
    if (!strcmp(name, "strftime_now"))
        return FN_STRFTIME;
    return -1;
}

static void dict_update_from(jctx *c, jv d, jv src)
{
    if (src.kind == JV_DICT || src.kind == JV_NAMESPACE) {
        for (size_t i = 0; i < src.u.d->len; i++)
            jv_dict_set(c->h, d, src.u.d->k[i], src.u.d->v[i]);
        return;
    }
    jv items = jx_iter_list(c, src);
    for (size_t i = 0; i < items.u.l->len; i++) {
        jv pair = items.u.l->v[i];
        jv kv = jx_iter_list(c, pair);
        if (kv.u.l->len != 2)
            jx_fail(c, BOSON_ERR_RUNTIME,
                    "dictionary update sequence element #%zu has length %zu; 2 is required", i,
                    kv.u.l->len);
        jv_dict_set(c->h, d, kv.u.l->v[0], kv.u.l->v[1]);
    }
}

jv jinja_call_func(jctx *c, int id, const jargs *a)
{
    jv_heap *h = c->h;
    switch (id) {
    case FN_RANGE: {
        if (a->nkw)
            jx_fail(c, BOSON_ERR_RUNTIME, "range() takes no keyword arguments");
        if (a->npos < 1 || a->npos > 3)
            jx_fail(c, BOSON_ERR_RUNTIME, "range expected 1 to 3 arguments, got %zu", a->npos);
        int64_t start = 0, stop, step = 1;
        if (a->npos == 1) {
            stop = need_int(c, a->pos[0], "range() argument");
        } else {
            start = need_int(c, a->pos[0], "range() argument");
            stop = need_int(c, a->pos[1], "range() argument");
            if (a->npos == 3)
                step = need_int(c, a->pos[2], "range() argument");
        }
        if (step == 0)
            jx_fail(c, BOSON_ERR_RUNTIME, "range() arg 3 must not be zero");
        /* jinja's sandbox refuses ranges longer than 100000 items */
        double count = step > 0 ? ceil(((double)stop - (double)start) / (double)step)
                                : ceil(((double)start - (double)stop) / (double)-step);
        if (count > 100000)
            jx_fail(c, BOSON_ERR_RUNTIME,
                    "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
        jv l = jv_list_new(h, count > 0 ? (size_t)count : 0);
        for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
            jv_list_push(h, l, jv_int(i));
            if (__builtin_add_overflow(i, step, &(int64_t){0}))
                break;
        }
        return l;
    }
    case FN_NAMESPACE:
    case FN_DICT: {
        jv d = jv_dict_new(h, a->nkw);
        if (a->npos > 1)
            jx_fail(c, BOSON_ERR_RUNTIME, "%s expected at most 1 positional argument",
                    id == FN_DICT ? "dict" : "namespace");
        if (a->npos == 1)
            dict_update_from(c, d, a->pos[0]);
        for (size_t k = 0; k < a->nkw; k++)
            jv_dict_set(h, d, jv_str_c(h, a->kwnames[k]), a->kw[k]);
        if (id == FN_NAMESPACE) {
            for (size_t i = 0; i < d.u.d->len; i++) {
                jv k = d.u.d->k[i];
                if (k.kind == JV_STRING && k.u.s->len && k.u.s->s[0] == '_')
                    jx_fail(c, BOSON_ERR_RUNTIME,
                            "Chat templates cannot store underscore-prefixed attributes on a "
                            "namespace, but got '%s'.",
                            k.u.s->s);
            }
            d.kind = JV_NAMESPACE;
        }
        return d;
    }
    case FN_RAISE: {
        if (a->npos < 1)
            jx_fail(c, BOSON_ERR_RUNTIME, "raise_exception() missing 1 required argument");
        jv msg = jv_to_str(h, a->pos[0]);
        jx_fail(c, BOSON_ERR_INVALID_ARG, "%s", msg.u.s->s);
    }
    case FN_STRFTIME: {
        if (a->npos != 1 || a->nkw)
            jx_fail(c, BOSON_ERR_RUNTIME, "strftime_now() takes exactly one argument");
        const jv_str *fmt = need_str(c, a->pos[0], "strftime_now format");
        if (memchr(fmt->s, '\0', fmt->len))
            jx_fail(c, BOSON_ERR_RUNTIME, "embedded null character in strftime format");
        size_t cap = fmt->len * 64 + 64;
        if (cap > 1 << 20)
            jx_fail(c, BOSON_ERR_UNSUPPORTED, "strftime format too long");
        char *buf = jv_alloc(h, cap);
        size_t n = fmt->len ? strftime(buf, cap, fmt->s, &c->now) : 0;
        return jv_str_n(h, buf, n);
    }
    default: break;
    }
    jx_fail(c, BOSON_ERR_UNSUPPORTED, "unsupported function");
}

/* ---------------------------------------------------------------- methods */

enum {
    M_UNSUPPORTED,
    M_UNSAFE,
    /* str */
    M_CAPITALIZE,
    M_COUNT,
    M_ENDSWITH,
    M_FIND,
    M_INDEX,
    M_ISALNUM,
    M_ISALPHA,
    M_ISDIGIT,
    M_ISLOWER,
    M_ISSPACE,
    M_ISUPPER,
    M_JOIN,
    M_LOWER,
    M_LSTRIP,
    M_REMOVEPREFIX,
    M_REMOVESUFFIX,
    M_REPLACE,
    M_RFIND,
    M_RSPLIT,
    M_RSTRIP,
    M_SPLIT,
    M_SPLITLINES,
    M_STARTSWITH,
    M_STRIP,
    M_TITLE,
    M_UPPER,
    /* dict */
    M_GET,
    M_ITEMS,
    M_KEYS,
    M_VALUES,
    M_COPY,
    /* list */
    M_LCOUNT,
    M_LINDEX,
    /* loop */
    M_CYCLE,
    M_CHANGED
};

static const struct {
    const char *name;
    int id;
} str_methods[] = {
    {"capitalize", M_CAPITALIZE},
    {"count", M_COUNT},
    {"endswith", M_ENDSWITH},
    {"find", M_FIND},
    {"index", M_INDEX},
    {"isalnum", M_ISALNUM},
    {"isalpha", M_ISALPHA},
    {"isdigit", M_ISDIGIT},
    {"islower", M_ISLOWER},
    {"isspace", M_ISSPACE},
    {"isupper", M_ISUPPER},
    {"join", M_JOIN},
    {"lower", M_LOWER},
    {"lstrip", M_LSTRIP},
    {"removeprefix", M_REMOVEPREFIX},
    {"removesuffix", M_REMOVESUFFIX},
    {"replace", M_REPLACE},
    {"rfind", M_RFIND},
    {"rsplit", M_RSPLIT},
    {"rstrip", M_RSTRIP},
    {"split", M_SPLIT},
    {"splitlines", M_SPLITLINES},
    {"startswith", M_STARTSWITH},
    {"strip", M_STRIP},
    {"title", M_TITLE},
    {"upper", M_UPPER},
    /* Python str methods this interpreter does not implement: calling them is an error */
    {"casefold", M_UNSUPPORTED},
    {"center", M_UNSUPPORTED},
    {"encode", M_UNSUPPORTED},
    {"expandtabs", M_UNSUPPORTED},
    {"format", M_UNSUPPORTED},
    {"format_map", M_UNSUPPORTED},
    {"isascii", M_UNSUPPORTED},
    {"isdecimal", M_UNSUPPORTED},
    {"isidentifier", M_UNSUPPORTED},
    {"isnumeric", M_UNSUPPORTED},
    {"isprintable", M_UNSUPPORTED},
    {"istitle", M_UNSUPPORTED},
    {"ljust", M_UNSUPPORTED},
    {"maketrans", M_UNSUPPORTED},
    {"partition", M_UNSUPPORTED},
    {"rindex", M_UNSUPPORTED},
    {"rjust", M_UNSUPPORTED},
    {"rpartition", M_UNSUPPORTED},
    {"swapcase", M_UNSUPPORTED},
    {"translate", M_UNSUPPORTED},
    {"zfill", M_UNSUPPORTED},
};

static const struct {
    const char *name;
    int id;
} dict_methods[] = {
    {"get", M_GET},
    {"items", M_ITEMS},
    {"keys", M_KEYS},
    {"values", M_VALUES},
    {"copy", M_COPY},
    {"clear", M_UNSAFE},
    {"pop", M_UNSAFE},
    {"popitem", M_UNSAFE},
    {"setdefault", M_UNSAFE},
    {"update", M_UNSAFE},
    {"fromkeys", M_UNSUPPORTED},
};

static const struct {
    const char *name;
    int id;
} list_methods[] = {
    {"count", M_LCOUNT},  {"index", M_LINDEX},   {"copy", M_COPY},     {"append", M_UNSAFE},
    {"clear", M_UNSAFE},  {"extend", M_UNSAFE},  {"insert", M_UNSAFE}, {"pop", M_UNSAFE},
    {"remove", M_UNSAFE}, {"reverse", M_UNSAFE}, {"sort", M_UNSAFE},
};

static jv bound(jctx *c, jv self, int id, const char *name)
{
    jv_method *m = jv_alloc(c->h, sizeof *m);
    m->self = self;
    m->id = id;
    m->name = name;
    jv v = {.kind = JV_METHOD};
    v.u.m = m;
    return v;
}

#define FIND_METHOD(table)                                        \
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) { \
        if (!strcmp(table[i].name, name)) {                       \
            *out = bound(c, obj, table[i].id, table[i].name);     \
            return 1;                                             \
        }                                                         \
    }

int jinja_method_lookup(jctx *c, jv obj, const char *name, jv *out)
{
    switch ((jv_kind)obj.kind) {
    case JV_STRING: FIND_METHOD(str_methods) return 0;
    case JV_DICT: FIND_METHOD(dict_methods) return 0;
    case JV_LIST:
        if (obj.flags & JV_FLAG_TUPLE) {
            if (!strcmp(name, "count") || !strcmp(name, "index")) {
                *out = bound(c, obj, name[0] == 'c' ? M_LCOUNT : M_LINDEX, name);
                return 1;
            }
            return 0;
        }
        FIND_METHOD(list_methods) return 0;
    case JV_LOOP: {
        const jloop *lp = obj.u.p;
        size_t len = lp->items.u.l->len, i = lp->index0;
        if (!strcmp(name, "index"))
            *out = jv_int((int64_t)i + 1);
        else if (!strcmp(name, "index0"))
            *out = jv_int((int64_t)i);
        else if (!strcmp(name, "revindex"))
            *out = jv_int((int64_t)(len - i));
        else if (!strcmp(name, "revindex0"))
            *out = jv_int((int64_t)(len - i - 1));
        else if (!strcmp(name, "first"))
            *out = jv_bool(i == 0);
        else if (!strcmp(name, "last"))
            *out = jv_bool(i + 1 == len);
        else if (!strcmp(name, "length"))
            *out = jv_int((int64_t)len);
        else if (!strcmp(name, "depth"))
            *out = jv_int(1);
        else if (!strcmp(name, "depth0"))
            *out = jv_int(0);
        else if (!strcmp(name, "previtem"))
            *out = i > 0 ? lp->items.u.l->v[i - 1] : jv_undef("there is no previous item");
        else if (!strcmp(name, "nextitem"))
            *out = i + 1 < len ? lp->items.u.l->v[i + 1] : jv_undef("there is no next item");
        else if (!strcmp(name, "cycle"))
            *out = bound(c, obj, M_CYCLE, "cycle");
        else if (!strcmp(name, "changed"))
            *out = bound(c, obj, M_CHANGED, "changed");
        else
            return 0;
        return 1;
    }
    case JV_UNDEFINED:
    case JV_NONE:
    case JV_BOOL:
    case JV_INT:
    case JV_FLOAT:
    case JV_NAMESPACE:
    case JV_MACRO:
    case JV_FUNC:
    case JV_METHOD: break;
    }
    return 0;
}

static jv str_find(jctx *c, const jv_str *s, jv sub, int from_right)
{
    const jv_str *n = need_str(c, sub, "find argument");
    if (n->len > s->len)
        return jv_int(-1);
    if (!from_right) {
        const char *f = find_bytes(s, 0, n);
        return jv_int(f ? cp_index_of(s, (size_t)(f - s->s)) : -1);
    }
    for (size_t p = s->len - n->len + 1; p > 0; p--)
        if (memcmp(s->s + p - 1, n->s, n->len) == 0)
            return jv_int(cp_index_of(s, p - 1));
    return jv_int(-1);
}

static int str_all(jctx *c, const jv_str *s, int kind)
{
    (void)c;
    if (s->len == 0)
        return 0;
    size_t i = 0;
    while (i < s->len) {
        uint32_t cp = jv_utf8_next(s->s, s->len, &i);
        int cat = (int)utf8proc_category((utf8proc_int32_t)cp);
        int letter = cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO;
        int digit = cat == UTF8PROC_CATEGORY_ND;
        int ok = kind == 0   ? (letter || digit || cat == UTF8PROC_CATEGORY_NL ||
                              cat == UTF8PROC_CATEGORY_NO)
                 : kind == 1 ? letter
                 : kind == 2 ? digit
                             : jv_isspace(cp);
        if (!ok)
            return 0;
    }
    return 1;
}

jv jinja_call_method(jctx *c, const jv_method *m, const jargs *a)
{
    jv_heap *h = c->h;
    jv self = m->self;
    jv arg[4];
    static const char *const p_none[] = {NULL};
    static const char *const p_chars[] = {"chars", NULL};
    static const char *const p_sep[] = {"sep", "maxsplit", NULL};
    static const char *const p_x[] = {"x", NULL};
    static const char *const p_x2[] = {"x", "y", NULL};
    static const char *const p_rep[] = {"old", "new", "count", NULL};
    static const char *const p_keep[] = {"keepends", NULL};
    const jv_str *s = self.kind == JV_STRING ? self.u.s : NULL;
    switch (m->id) {
    case M_UNSUPPORTED:
        jx_fail(c, BOSON_ERR_UNSUPPORTED, "the %s method '%s' is not supported", jv_type_name(self),
                m->name);
    case M_UNSAFE:
        jx_fail(c, BOSON_ERR_RUNTIME, "access to attribute '%s' of '%s' object is unsafe.", m->name,
                jv_type_name(self));
    case M_CAPITALIZE: bind(c, "capitalize", a, p_none, arg); return str_title(c, self, 2);
    case M_TITLE: bind(c, "title", a, p_none, arg); return str_title(c, self, 1);
    case M_LOWER: bind(c, "lower", a, p_none, arg); return case_map(c, self, 0);
    case M_UPPER: bind(c, "upper", a, p_none, arg); return case_map(c, self, 1);
    case M_STRIP: bind(c, "strip", a, p_chars, arg); return str_strip(c, self, arg[0], 1, 1);
    case M_LSTRIP: bind(c, "lstrip", a, p_chars, arg); return str_strip(c, self, arg[0], 1, 0);
    case M_RSTRIP: bind(c, "rstrip", a, p_chars, arg); return str_strip(c, self, arg[0], 0, 1);
    case M_SPLIT: bind(c, "split", a, p_sep, arg); return str_split(c, self, arg[0], arg[1], 0);
    case M_RSPLIT: bind(c, "rsplit", a, p_sep, arg); return str_split(c, self, arg[0], arg[1], 1);
    case M_SPLITLINES:
        bind(c, "splitlines", a, p_keep, arg);
        return str_splitlines(c, self, given(arg[0]) && jv_truthy(arg[0]));
    case M_REPLACE:
        bind(c, "replace", a, p_rep, arg);
        if (!given(arg[0]) || !given(arg[1]))
            jx_fail(c, BOSON_ERR_RUNTIME, "replace expected at least 2 arguments");
        return str_replace(c, self, arg[0], arg[1], arg[2]);
    case M_STARTSWITH:
    case M_ENDSWITH:
        bind(c, m->name, a, p_x, arg);
        if (!given(arg[0]))
            jx_fail(c, BOSON_ERR_RUNTIME, "%s takes at least 1 argument", m->name);
        return jv_bool(prefix_match(c, s, arg[0], m->id == M_ENDSWITH));
    case M_FIND:
    case M_RFIND:
    case M_INDEX: {
        bind(c, m->name, a, p_x, arg);
        if (!given(arg[0]))
            jx_fail(c, BOSON_ERR_RUNTIME, "%s takes at least 1 argument", m->name);
        jv r = str_find(c, s, arg[0], m->id == M_RFIND);
        if (m->id == M_INDEX && r.u.i < 0)
            jx_fail(c, BOSON_ERR_RUNTIME, "substring not found");
        return r;
    }
    case M_COUNT: {
        bind(c, "count", a, p_x, arg);
        const jv_str *n = need_str(c, given(arg[0]) ? arg[0] : jv_none(), "count argument");
        if (n->len == 0)
            return jv_int((int64_t)jv_utf8_count(s->s, s->len) + 1);
        int64_t cnt = 0;
        size_t pos = 0;
        const char *f;
        while ((f = find_bytes(s, pos, n)) != NULL) {
            cnt++;
            pos = (size_t)(f - s->s) + n->len;
        }
        return jv_int(cnt);
    }
    case M_ISALNUM: bind(c, m->name, a, p_none, arg); return jv_bool(str_all(c, s, 0));
    case M_ISALPHA: bind(c, m->name, a, p_none, arg); return jv_bool(str_all(c, s, 1));
    case M_ISDIGIT: bind(c, m->name, a, p_none, arg); return jv_bool(str_all(c, s, 2));
    case M_ISSPACE: bind(c, m->name, a, p_none, arg); return jv_bool(str_all(c, s, 3));
    case M_ISLOWER: bind(c, m->name, a, p_none, arg); return jv_bool(str_all_case(c, self, 0));
    case M_ISUPPER: bind(c, m->name, a, p_none, arg); return jv_bool(str_all_case(c, self, 1));
    case M_JOIN: {
        bind(c, "join", a, p_x, arg);
        if (!given(arg[0]))
            jx_fail(c, BOSON_ERR_RUNTIME, "join() takes exactly one argument");
        jv items = jx_iter_list(c, arg[0]);
        for (size_t i = 0; i < items.u.l->len; i++)
            if (items.u.l->v[i].kind != JV_STRING)
                jx_fail(c, BOSON_ERR_RUNTIME, "sequence item %zu: expected str instance, %s found",
                        i, jv_type_name(items.u.l->v[i]));
        return join_values(c, self, items);
    }
    case M_REMOVEPREFIX:
    case M_REMOVESUFFIX: {
        bind(c, m->name, a, p_x, arg);
        const jv_str *p = need_str(c, given(arg[0]) ? arg[0] : jv_none(), m->name);
        int suffix = m->id == M_REMOVESUFFIX;
        if (p->len == 0 || !prefix_match(c, s, arg[0], suffix))
            return self;
        return jv_str_n(h, suffix ? s->s : s->s + p->len, s->len - p->len);
    }
    case M_GET: {
        bind(c, "get", a, p_x2, arg);
        if (!given(arg[0]))
            jx_fail(c, BOSON_ERR_RUNTIME, "get expected at least 1 argument, got 0");
        jv out;
        if (jv_hashable(arg[0]) && jv_dict_get(h, self, arg[0], &out))
            return out;
        if (!jv_hashable(arg[0]))
            jx_fail(c, BOSON_ERR_RUNTIME, "unhashable type: '%s'", jv_type_name(arg[0]));
        return or_default(arg[1], jv_none());
    }
    case M_ITEMS:
    case M_KEYS:
    case M_VALUES: {
        bind(c, m->name, a, p_none, arg);
        const jv_dict *d = self.u.d;
        jv out = jv_list_new(h, d->len);
        for (size_t i = 0; i < d->len; i++) {
            if (m->id == M_KEYS) {
                jv_list_push(h, out, d->k[i]);
            } else if (m->id == M_VALUES) {
                jv_list_push(h, out, d->v[i]);
            } else {
                jv pair = jv_list_new(h, 2);
                pair.flags = JV_FLAG_TUPLE;
                jv_list_push(h, pair, d->k[i]);
                jv_list_push(h, pair, d->v[i]);
                jv_list_push(h, out, pair);
            }
        }
        return out;
    }
    case M_COPY: {
        bind(c, "copy", a, p_none, arg);
        if (self.kind == JV_DICT) {
            jv d = jv_dict_new(h, self.u.d->len);
            for (size_t i = 0; i < self.u.d->len; i++)
                jv_dict_set(h, d, self.u.d->k[i], self.u.d->v[i]);
            return d;
        }
        jv l = jv_list_new(h, self.u.l->len);
        for (size_t i = 0; i < self.u.l->len; i++)
            jv_list_push(h, l, self.u.l->v[i]);
        return l;
    }
    case M_LCOUNT:
    case M_LINDEX: {
        bind(c, m->name, a, p_x, arg);
        if (!given(arg[0]))
            jx_fail(c, BOSON_ERR_RUNTIME, "%s() takes exactly one argument", m->name);
        int64_t cnt = 0;
        for (size_t i = 0; i < self.u.l->len; i++) {
            if (jv_equal(h, self.u.l->v[i], arg[0])) {
                if (m->id == M_LINDEX)
                    return jv_int((int64_t)i);
                cnt++;
            }
        }
        if (m->id == M_LINDEX)
            jx_fail(c, BOSON_ERR_RUNTIME, "value is not in list");
        return jv_int(cnt);
    }
    case M_CYCLE: {
        if (a->nkw)
            jx_fail(c, BOSON_ERR_RUNTIME, "loop.cycle takes no keyword arguments");
        const jloop *lp = self.u.p;
        if (a->npos > 0)
            return a->pos[lp->index0 % a->npos];
        jx_fail(c, BOSON_ERR_RUNTIME, "no items for cycling given");
    }
    case M_CHANGED: {
        jloop *lp = self.u.p;
        jv cur = jv_list_new(h, a->npos);
        for (size_t i = 0; i < a->npos; i++)
            jv_list_push(h, cur, a->pos[i]);
        if (lp->has_changed && jv_equal(h, lp->last_changed, cur))
            return jv_bool(0);
        lp->last_changed = cur;
        lp->has_changed = 1;
        return jv_bool(1);
    }
    default: break;
    }
    jx_fail(c, BOSON_ERR_UNSUPPORTED, "unsupported method '%s'", m->name);
}
