/* Python str operations for the chat-template interpreter (strip, split, replace, case
 * mapping, find, int()/float() parsing), on UTF-8 strings indexed by code point. */
#include "text/jinja_builtins.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

cps jstr_decode(jctx *c, const jv_str *s)
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

static int jstr_in_set(uint32_t cp, const cps *set)
{
    if (!set)
        return jv_isspace(cp);
    for (size_t i = 0; i < set->n; i++)
        if (set->cp[i] == cp)
            return 1;
    return 0;
}

/* str.strip/lstrip/rstrip; chars NULL or none → whitespace. */
jv jstr_strip(jctx *c, jv v, jv chars, int left, int right)
{
    const jv_str *s = v.u.s;
    cps set, *setp = NULL;
    if (jb_given(chars) && chars.kind != JV_NONE) {
        set = jstr_decode(c, jb_need_str(c, chars, "strip argument"));
        setp = &set;
    }
    cps d = jstr_decode(c, s);
    size_t a = 0, b = d.n;
    if (left)
        while (a < b && jstr_in_set(d.cp[a], setp))
            a++;
    if (right)
        while (b > a && jstr_in_set(d.cp[b - 1], setp))
            b--;
    if (a == 0 && b == d.n)
        return v;
    return jv_str_n(c->h, s->s + d.off[a], d.off[b] - d.off[a]);
}

jv jstr_case_map(jctx *c, jv v, int mode /* 0 lower, 1 upper */)
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

int jstr_is_cased(uint32_t cp)
{
    int cat = (int)utf8proc_category((utf8proc_int32_t)cp);
    return cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL ||
           cat == UTF8PROC_CATEGORY_LT;
}

/* str.title() (method == 1), str.capitalize() (method == 2). */
jv jstr_title(jctx *c, jv v, int method)
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
        prev_cased = jstr_is_cased(cp);
        first = 0;
        char t[4];
        jv_buf_put(&o, t, jv_utf8_encode(m, t));
    }
    return jv_buf_to_str(&o);
}

/* jinja's title filter: words start after runs of [-\s({\[<]. */
jv jstr_filter_title(jctx *c, jv v)
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

const char *jstr_find_bytes(const jv_str *h, size_t from, const jv_str *n)
{
    if (from > h->len)
        return NULL;
    if (n->len == 0)
        return h->s + from;
    return memmem(h->s + from, h->len - from, n->s, n->len);
}

jv jstr_replace(jctx *c, jv v, jv oldv, jv newv, jv countv)
{
    const jv_str *s = v.u.s;
    const jv_str *old = jb_need_str(c, oldv, "replace() argument 1");
    const jv_str *nw = jb_need_str(c, newv, "replace() argument 2");
    int64_t count = -1;
    if (jb_given(countv) && countv.kind != JV_NONE)
        count = jb_need_int(c, countv, "replace() count");
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
        const char *f = jstr_find_bytes(s, pos, old);
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

jv jstr_split(jctx *c, jv v, jv sepv, jv maxv, int from_right)
{
    const jv_str *s = v.u.s;
    int64_t maxsplit = -1;
    if (jb_given(maxv) && maxv.kind != JV_NONE)
        maxsplit = jb_need_int(c, maxv, "maxsplit");
    jv out = jv_list_new(c->h, 0);
    if (!jb_given(sepv) || sepv.kind == JV_NONE) {
        cps d = jstr_decode(c, s);
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
    const jv_str *sep = jb_need_str(c, sepv, "separator");
    if (sep->len == 0)
        jx_fail(c, BOSON_ERR_RUNTIME, "empty separator");
    if (!from_right) {
        size_t pos = 0;
        int64_t splits = 0;
        for (;;) {
            const char *f =
                (maxsplit < 0 || splits < maxsplit) ? jstr_find_bytes(s, pos, sep) : NULL;
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

static int jstr_is_linebreak(uint32_t cp)
{
    return cp == '\n' || cp == '\r' || cp == 0x0B || cp == 0x0C || cp == 0x1C || cp == 0x1D ||
           cp == 0x1E || cp == 0x85 || cp == 0x2028 || cp == 0x2029;
}

jv jstr_splitlines(jctx *c, jv v, int keepends)
{
    const jv_str *s = v.u.s;
    cps d = jstr_decode(c, s);
    jv out = jv_list_new(c->h, 0);
    size_t i = 0;
    while (i < d.n) {
        size_t a = i;
        while (i < d.n && !jstr_is_linebreak(d.cp[i]))
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

int jstr_prefix_match(jctx *c, const jv_str *s, jv arg, int suffix)
{
    if (arg.kind == JV_LIST && (arg.flags & JV_FLAG_TUPLE)) {
        for (size_t i = 0; i < arg.u.l->len; i++)
            if (jstr_prefix_match(c, s, arg.u.l->v[i], suffix))
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

int64_t jstr_cp_index_of(const jv_str *s, size_t byte_off)
{
    return (int64_t)jv_utf8_count(s->s, byte_off);
}

jv jstr_join(jctx *c, jv sep, jv seq)
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

jv jstr_html_escape(jctx *c, jv v)
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
int jstr_parse_int(const jv_str *s, int64_t *out)
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

int jstr_parse_float(jctx *c, const jv_str *s, double *out)
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

jv jstr_find(jctx *c, const jv_str *s, jv sub, int from_right)
{
    const jv_str *n = jb_need_str(c, sub, "find argument");
    if (n->len > s->len)
        return jv_int(-1);
    if (!from_right) {
        const char *f = jstr_find_bytes(s, 0, n);
        return jv_int(f ? jstr_cp_index_of(s, (size_t)(f - s->s)) : -1);
    }
    for (size_t p = s->len - n->len + 1; p > 0; p--)
        if (memcmp(s->s + p - 1, n->s, n->len) == 0)
            return jv_int(jstr_cp_index_of(s, p - 1));
    return jv_int(-1);
}

int jstr_all(jctx *c, const jv_str *s, int kind)
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

int jstr_all_case(jctx *c, jv v, int upper)
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
