/* Global functions (range, namespace, dict, raise_exception, strftime_now) and methods of
 * str/list/dict/loop values for the chat-template interpreter, as jinja2's sandbox exposes
 * them (mutating list/dict methods are refused, like ImmutableSandboxedEnvironment). */
#include "text/jinja_builtins.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

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
            stop = jb_need_int(c, a->pos[0], "range() argument");
        } else {
            start = jb_need_int(c, a->pos[0], "range() argument");
            stop = jb_need_int(c, a->pos[1], "range() argument");
            if (a->npos == 3)
                step = jb_need_int(c, a->pos[2], "range() argument");
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
        const jv_str *fmt = jb_need_str(c, a->pos[0], "strftime_now format");
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
    case M_CAPITALIZE: jb_bind(c, "capitalize", a, p_none, arg); return jstr_title(c, self, 2);
    case M_TITLE: jb_bind(c, "title", a, p_none, arg); return jstr_title(c, self, 1);
    case M_LOWER: jb_bind(c, "lower", a, p_none, arg); return jstr_case_map(c, self, 0);
    case M_UPPER: jb_bind(c, "upper", a, p_none, arg); return jstr_case_map(c, self, 1);
    case M_STRIP: jb_bind(c, "strip", a, p_chars, arg); return jstr_strip(c, self, arg[0], 1, 1);
    case M_LSTRIP: jb_bind(c, "lstrip", a, p_chars, arg); return jstr_strip(c, self, arg[0], 1, 0);
    case M_RSTRIP: jb_bind(c, "rstrip", a, p_chars, arg); return jstr_strip(c, self, arg[0], 0, 1);
    case M_SPLIT: jb_bind(c, "split", a, p_sep, arg); return jstr_split(c, self, arg[0], arg[1], 0);
    case M_RSPLIT:
        jb_bind(c, "rsplit", a, p_sep, arg);
        return jstr_split(c, self, arg[0], arg[1], 1);
    case M_SPLITLINES:
        jb_bind(c, "splitlines", a, p_keep, arg);
        return jstr_splitlines(c, self, jb_given(arg[0]) && jv_truthy(arg[0]));
    case M_REPLACE:
        jb_bind(c, "replace", a, p_rep, arg);
        if (!jb_given(arg[0]) || !jb_given(arg[1]))
            jx_fail(c, BOSON_ERR_RUNTIME, "replace expected at least 2 arguments");
        return jstr_replace(c, self, arg[0], arg[1], arg[2]);
    case M_STARTSWITH:
    case M_ENDSWITH:
        jb_bind(c, m->name, a, p_x, arg);
        if (!jb_given(arg[0]))
            jx_fail(c, BOSON_ERR_RUNTIME, "%s takes at least 1 argument", m->name);
        return jv_bool(jstr_prefix_match(c, s, arg[0], m->id == M_ENDSWITH));
    case M_FIND:
    case M_RFIND:
    case M_INDEX: {
        jb_bind(c, m->name, a, p_x, arg);
        if (!jb_given(arg[0]))
            jx_fail(c, BOSON_ERR_RUNTIME, "%s takes at least 1 argument", m->name);
        jv r = jstr_find(c, s, arg[0], m->id == M_RFIND);
        if (m->id == M_INDEX && r.u.i < 0)
            jx_fail(c, BOSON_ERR_RUNTIME, "substring not found");
        return r;
    }
    case M_COUNT: {
        jb_bind(c, "count", a, p_x, arg);
        const jv_str *n = jb_need_str(c, jb_given(arg[0]) ? arg[0] : jv_none(), "count argument");
        if (n->len == 0)
            return jv_int((int64_t)jv_utf8_count(s->s, s->len) + 1);
        int64_t cnt = 0;
        size_t pos = 0;
        const char *f;
        while ((f = jstr_find_bytes(s, pos, n)) != NULL) {
            cnt++;
            pos = (size_t)(f - s->s) + n->len;
        }
        return jv_int(cnt);
    }
    case M_ISALNUM: jb_bind(c, m->name, a, p_none, arg); return jv_bool(jstr_all(c, s, 0));
    case M_ISALPHA: jb_bind(c, m->name, a, p_none, arg); return jv_bool(jstr_all(c, s, 1));
    case M_ISDIGIT: jb_bind(c, m->name, a, p_none, arg); return jv_bool(jstr_all(c, s, 2));
    case M_ISSPACE: jb_bind(c, m->name, a, p_none, arg); return jv_bool(jstr_all(c, s, 3));
    case M_ISLOWER: jb_bind(c, m->name, a, p_none, arg); return jv_bool(jstr_all_case(c, self, 0));
    case M_ISUPPER: jb_bind(c, m->name, a, p_none, arg); return jv_bool(jstr_all_case(c, self, 1));
    case M_JOIN: {
        jb_bind(c, "join", a, p_x, arg);
        if (!jb_given(arg[0]))
            jx_fail(c, BOSON_ERR_RUNTIME, "join() takes exactly one argument");
        jv items = jx_iter_list(c, arg[0]);
        for (size_t i = 0; i < items.u.l->len; i++)
            if (items.u.l->v[i].kind != JV_STRING)
                jx_fail(c, BOSON_ERR_RUNTIME, "sequence item %zu: expected str instance, %s found",
                        i, jv_type_name(items.u.l->v[i]));
        return jstr_join(c, self, items);
    }
    case M_REMOVEPREFIX:
    case M_REMOVESUFFIX: {
        jb_bind(c, m->name, a, p_x, arg);
        const jv_str *p = jb_need_str(c, jb_given(arg[0]) ? arg[0] : jv_none(), m->name);
        int suffix = m->id == M_REMOVESUFFIX;
        if (p->len == 0 || !jstr_prefix_match(c, s, arg[0], suffix))
            return self;
        return jv_str_n(h, suffix ? s->s : s->s + p->len, s->len - p->len);
    }
    case M_GET: {
        jb_bind(c, "get", a, p_x2, arg);
        if (!jb_given(arg[0]))
            jx_fail(c, BOSON_ERR_RUNTIME, "get expected at least 1 argument, got 0");
        jv out;
        if (jv_hashable(arg[0]) && jv_dict_get(h, self, arg[0], &out))
            return out;
        if (!jv_hashable(arg[0]))
            jx_fail(c, BOSON_ERR_RUNTIME, "unhashable type: '%s'", jv_type_name(arg[0]));
        return jb_or_default(arg[1], jv_none());
    }
    case M_ITEMS:
    case M_KEYS:
    case M_VALUES: {
        jb_bind(c, m->name, a, p_none, arg);
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
        jb_bind(c, "copy", a, p_none, arg);
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
        jb_bind(c, m->name, a, p_x, arg);
        if (!jb_given(arg[0]))
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
