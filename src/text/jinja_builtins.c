/* Filters and tests of the chat-template interpreter, with the semantics of jinja2 3.1 (plus
 * Hugging Face's tojson with json.dumps options), and the argument binding they share with
 * the global functions and methods (jinja_methods.c). */
#include "text/jinja_builtins.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* ---------------------------------------------------------------- argument binding */

void jb_bind(jctx *c, const char *what, const jargs *a, const char *const *params, jv *out)
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

int jb_given(jv v)
{
    return v.kind != ARG_MISSING;
}

jv jb_or_default(jv v, jv d)
{
    return jb_given(v) ? v : d;
}

const jv_str *jb_need_str(jctx *c, jv v, const char *what)
{
    if (v.kind != JV_STRING)
        jx_fail(c, BOSON_ERR_RUNTIME, "%s must be a string, not '%s'", what, jv_type_name(v));
    return v.u.s;
}

int64_t jb_need_int(jctx *c, jv v, const char *what)
{
    if (v.kind == JV_INT)
        return v.u.i;
    if (v.kind == JV_BOOL)
        return v.u.b;
    jx_fail(c, BOSON_ERR_RUNTIME, "%s must be an integer, not '%s'", what, jv_type_name(v));
}

int jb_cmp_values(jctx *c, jv a, jv b, const char *op)
{
    if (a.kind == JV_UNDEFINED)
        jx_undefined_error(c, a);
    if (b.kind == JV_UNDEFINED)
        jx_undefined_error(c, b);
    return jv_compare(c->h, a, b, op);
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

int jinja_apply_test(jctx *c, int id, jv v, const jargs *a)
{
    static const char *const p_other[] = {"other", NULL};
    static const char *const p_num[] = {"num", NULL};
    static const char *const p_seq[] = {"seq", NULL};
    static const char *const p_none[] = {NULL};
    jv arg[2];
    switch (id) {
    case T_DIVISIBLEBY: jb_bind(c, "divisibleby", a, p_num, arg); break;
    case T_EQ:
    case T_GE:
    case T_GT:
    case T_LE:
    case T_LT:
    case T_NE:
    case T_SAMEAS: jb_bind(c, "test", a, p_other, arg); break;
    case T_IN: jb_bind(c, "in", a, p_seq, arg); break;
    default: jb_bind(c, "test", a, p_none, arg); break;
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
        if (!jb_given(arg[0]))
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
    case T_EQ: return jb_given(arg[0]) && jv_equal(c->h, v, arg[0]);
    case T_NE: return !jb_given(arg[0]) || !jv_equal(c->h, v, arg[0]);
    case T_GE:
    case T_GT:
    case T_LE:
    case T_LT: {
        if (!jb_given(arg[0]))
            jx_fail(c, BOSON_ERR_RUNTIME, "comparison test needs an argument");
        const char *op = id == T_GE ? ">=" : id == T_GT ? ">" : id == T_LE ? "<=" : "<";
        int r = jb_cmp_values(c, v, arg[0], op);
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
        if (!jb_given(arg[0]))
            jx_fail(c, BOSON_ERR_RUNTIME, "the 'in' test needs an argument");
        jv seq = arg[0];
        if (seq.kind == JV_STRING) {
            if (v.kind != JV_STRING)
                jx_fail(c, BOSON_ERR_RUNTIME, "'in <string>' requires string as left operand");
            return v.u.s->len == 0 || jstr_find_bytes(seq.u.s, 0, v.u.s) != NULL;
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
    case T_LOWER: return jstr_all_case(c, v, 0);
    case T_UPPER: return jstr_all_case(c, v, 1);
    case T_SAMEAS:
        if (!jb_given(arg[0]))
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
        if (b > a && jstr_parse_int(part.u.s, &iv) == 1 && s->s[a] >= '0' && s->s[a] <= '9')
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
    jv k = jb_given(attr) && attr.kind != JV_NONE ? attr_get(c, item, attr) : item;
    if (!case_sensitive && k.kind == JV_STRING)
        k = jstr_case_map(c, k, 0);
    return k;
}

static void stable_sort(jctx *c, jv *vals, jv *keys, size_t n, int reverse)
{
    /* insertion sort (stable); reverse keeps Python's stable descending order */
    for (size_t i = 1; i < n; i++) {
        jv v = vals[i], k = keys[i];
        size_t j = i;
        while (j > 0) {
            int r = jb_cmp_values(c, k, keys[j - 1], "<");
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
        const jv_str *tn = jb_need_str(c, a->pos[p++], "test name");
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
            if (v.kind == JV_UNDEFINED && jb_given(def))
                v = def;
            jv_list_push(c->h, out, v);
        }
        return out;
    }
    const jv_str *fn = jb_need_str(c, a->pos[0], "filter name");
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
    int64_t p = jb_given(prec) ? jb_need_int(c, prec, "round precision") : 0;
    const char *m = jb_given(method) ? jb_need_str(c, method, "round method")->s : "common";
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
    jb_bind(c, "tojson", a, params, arg);
    jv_json_opts o = {.indent = -1};
    o.ensure_ascii = jb_given(arg[0]) && jv_truthy(arg[0]);
    if (jb_given(arg[1]) && arg[1].kind != JV_NONE) {
        if (arg[1].kind == JV_STRING) {
            o.indent_str = arg[1].u.s->s;
        } else {
            int64_t ind = jb_need_int(c, arg[1], "indent");
            if (ind > 1000)
                jx_fail(c, BOSON_ERR_UNSUPPORTED, "indent too large");
            o.indent = ind < 0 ? 0 : (int)ind;
        }
    }
    if (jb_given(arg[2]) && arg[2].kind != JV_NONE) {
        jv sep = arg[2];
        if (sep.kind != JV_LIST || sep.u.l->len != 2 || sep.u.l->v[0].kind != JV_STRING ||
            sep.u.l->v[1].kind != JV_STRING)
            jx_fail(c, BOSON_ERR_RUNTIME, "separators must be a pair of strings");
        o.item_sep = sep.u.l->v[0].u.s->s;
        o.key_sep = sep.u.l->v[1].u.s->s;
    }
    o.sort_keys = jb_given(arg[3]) && jv_truthy(arg[3]);
    jv_buf b;
    jv_buf_init(&b, c->h, c->max_output);
    jv_write_json(&b, v, &o);
    return jv_buf_to_str(&b);
}

static jv do_indent(jctx *c, jv v, const jargs *a)
{
    static const char *const params[] = {"width", "first", "blank", NULL};
    jv arg[3];
    jb_bind(c, "indent", a, params, arg);
    jv_buf ind;
    jv_buf_init(&ind, c->h, c->max_output);
    if (jb_given(arg[0]) && arg[0].kind == JV_STRING) {
        jv_buf_put(&ind, arg[0].u.s->s, arg[0].u.s->len);
    } else {
        int64_t w = jb_given(arg[0]) ? jb_need_int(c, arg[0], "indent width") : 4;
        for (int64_t i = 0; i < w && i < 4096; i++)
            jv_buf_putc(&ind, ' ');
    }
    int first = jb_given(arg[1]) && jv_truthy(arg[1]);
    int blank = jb_given(arg[2]) && jv_truthy(arg[2]);
    jv s = jv_to_str(c->h, v);
    jv_buf tmp;
    jv_buf_init(&tmp, c->h, c->max_output);
    jv_buf_put(&tmp, s.u.s->s, s.u.s->len);
    jv_buf_putc(&tmp, '\n');
    jv lines = jstr_splitlines(c, jv_buf_to_str(&tmp), 0);
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
    jb_bind(c, want_max ? "max" : "min", a, params, arg);
    int cs = jb_given(arg[0]) && jv_truthy(arg[0]);
    jv items = jx_iter_list(c, v);
    if (items.u.l->len == 0)
        return jv_undef("No aggregated item, sequence was empty.");
    jv best = items.u.l->v[0];
    jv bk = sort_key(c, best, arg[1], cs);
    for (size_t i = 1; i < items.u.l->len; i++) {
        jv k = sort_key(c, items.u.l->v[i], arg[1], cs);
        int r = jb_cmp_values(c, k, bk, "<");
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
        jb_bind(c, "abs", a, p_none, arg);
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
        jb_bind(c, "attr", a, p, arg);
        if (!jb_given(arg[0]))
            jx_fail(c, BOSON_ERR_RUNTIME, "attr needs a name");
        const jv_str *nm = jb_need_str(c, arg[0], "attribute name");
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
        jb_bind(c, "capitalize", a, p_none, arg);
        return jstr_title(c, jv_to_str(h, v), 2);
    case F_COUNT:
    case F_LENGTH:
        jb_bind(c, "length", a, p_none, arg);
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
        jb_bind(c, "default", a, p, arg);
        jv d = jb_or_default(arg[0], jv_str_c(h, ""));
        int boolean = jb_given(arg[1]) && jv_truthy(arg[1]);
        if (v.kind == JV_UNDEFINED || (boolean && !jv_truthy(v)))
            return d;
        return v;
    }
    case F_DICTSORT: {
        static const char *const p[] = {"case_sensitive", "by", "reverse", NULL};
        jb_bind(c, "dictsort", a, p, arg);
        if (v.kind != JV_DICT)
            jx_fail(c, BOSON_ERR_RUNTIME, "dictsort needs a mapping, not '%s'", jv_type_name(v));
        int cs = jb_given(arg[0]) && jv_truthy(arg[0]);
        int by_value = 0;
        if (jb_given(arg[1])) {
            const jv_str *by = jb_need_str(c, arg[1], "by");
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
        stable_sort(c, vals, keys, n, jb_given(arg[2]) && jv_truthy(arg[2]));
        jv out = jv_list_new(h, n);
        for (size_t i = 0; i < n; i++)
            jv_list_push(h, out, vals[i]);
        return out;
    }
    case F_ESCAPE: jb_bind(c, "escape", a, p_none, arg); return jstr_html_escape(c, v);
    case F_FIRST: {
        jb_bind(c, "first", a, p_none, arg);
        jv items = jx_iter_list(c, v);
        if (items.u.l->len == 0)
            return jv_undef("No first item, sequence was empty.");
        return items.u.l->v[0];
    }
    case F_LAST: {
        jb_bind(c, "last", a, p_none, arg);
        if (v.kind == JV_UNDEFINED)
            jx_fail(c, BOSON_ERR_RUNTIME, "'Undefined' object is not reversible");
        jv items = jx_iter_list(c, v);
        if (items.u.l->len == 0)
            return jv_undef("No last item, sequence was empty.");
        return items.u.l->v[items.u.l->len - 1];
    }
    case F_FLOAT: {
        static const char *const p[] = {"default", NULL};
        jb_bind(c, "float", a, p, arg);
        jv d = jb_or_default(arg[0], jv_float(0.0));
        if (jv_is_number(v))
            return jv_float(jv_as_double(v));
        double f;
        if (v.kind == JV_STRING && jstr_parse_float(c, v.u.s, &f))
            return jv_float(f);
        return d;
    }
    case F_INT: {
        static const char *const p[] = {"default", "base", NULL};
        jb_bind(c, "int", a, p, arg);
        jv d = jb_or_default(arg[0], jv_int(0));
        if (jb_given(arg[1]) && jb_need_int(c, arg[1], "base") != 10)
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
            int r = jstr_parse_int(v.u.s, &i);
            if (r == 1)
                return jv_int(i);
            if (r < 0)
                jx_fail(c, BOSON_ERR_UNSUPPORTED, "integer beyond 64 bits");
            double f;
            if (jstr_parse_float(c, v.u.s, &f)) {
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
        jb_bind(c, "items", a, p_none, arg);
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
        jb_bind(c, "join", a, p, arg);
        jv sep = jb_or_default(arg[0], jv_str_c(h, ""));
        if (jb_given(arg[1]) && arg[1].kind != JV_NONE) {
            jv items = jx_iter_list(c, v);
            jv mapped = jv_list_new(h, items.u.l->len);
            for (size_t i = 0; i < items.u.l->len; i++)
                jv_list_push(h, mapped, attr_get(c, items.u.l->v[i], arg[1]));
            v = mapped;
        }
        return jstr_join(c, jv_to_str(h, sep), v);
    }
    case F_LIST: {
        jb_bind(c, "list", a, p_none, arg);
        jv items = jx_iter_list(c, v);
        jv out = jv_list_new(h, items.u.l->len);
        for (size_t i = 0; i < items.u.l->len; i++)
            jv_list_push(h, out, items.u.l->v[i]);
        return out;
    }
    case F_LOWER: jb_bind(c, "lower", a, p_none, arg); return jstr_case_map(c, jv_to_str(h, v), 0);
    case F_UPPER: jb_bind(c, "upper", a, p_none, arg); return jstr_case_map(c, jv_to_str(h, v), 1);
    case F_TITLE: jb_bind(c, "title", a, p_none, arg); return jstr_filter_title(c, jv_to_str(h, v));
    case F_MAP: return map_impl(c, v, a);
    case F_MAX: return min_max(c, v, a, 1);
    case F_MIN: return min_max(c, v, a, 0);
    case F_SELECT: return select_impl(c, v, a, 0, 0);
    case F_REJECT: return select_impl(c, v, a, 0, 1);
    case F_SELECTATTR: return select_impl(c, v, a, 1, 0);
    case F_REJECTATTR: return select_impl(c, v, a, 1, 1);
    case F_REPLACE: {
        static const char *const p[] = {"old", "new", "count", NULL};
        jb_bind(c, "replace", a, p, arg);
        if (!jb_given(arg[0]) || !jb_given(arg[1]))
            jx_fail(c, BOSON_ERR_RUNTIME, "replace needs old and new");
        return jstr_replace(c, jv_to_str(h, v), jv_to_str(h, arg[0]), jv_to_str(h, arg[1]), arg[2]);
    }
    case F_REVERSE: {
        jb_bind(c, "reverse", a, p_none, arg);
        if (v.kind == JV_STRING) {
            cps d = jstr_decode(c, v.u.s);
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
        jb_bind(c, "round", a, p, arg);
        return do_round(c, v, arg[0], arg[1]);
    }
    case F_SAFE: jb_bind(c, "safe", a, p_none, arg); return v;
    case F_SORT: {
        static const char *const p[] = {"reverse", "case_sensitive", "attribute", NULL};
        jb_bind(c, "sort", a, p, arg);
        jv items = jx_iter_list(c, v);
        size_t n = items.u.l->len;
        jv *vals = jv_alloc(h, (n + 1) * sizeof(jv)), *keys = jv_alloc(h, (n + 1) * sizeof(jv));
        int cs = jb_given(arg[1]) && jv_truthy(arg[1]);
        for (size_t i = 0; i < n; i++) {
            vals[i] = items.u.l->v[i];
            keys[i] = sort_key(c, vals[i], arg[2], cs);
        }
        stable_sort(c, vals, keys, n, jb_given(arg[0]) && jv_truthy(arg[0]));
        jv out = jv_list_new(h, n);
        for (size_t i = 0; i < n; i++)
            jv_list_push(h, out, vals[i]);
        return out;
    }
    case F_STRING: jb_bind(c, "string", a, p_none, arg); return jv_to_str(h, v);
    case F_SUM: {
        static const char *const p[] = {"attribute", "start", NULL};
        jb_bind(c, "sum", a, p, arg);
        jv items = jx_iter_list(c, v);
        jv acc = jb_or_default(arg[1], jv_int(0));
        for (size_t i = 0; i < items.u.l->len; i++) {
            jv x = jb_given(arg[0]) && arg[0].kind != JV_NONE ? attr_get(c, items.u.l->v[i], arg[0])
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
        jb_bind(c, "trim", a, p, arg);
        return jstr_strip(c, jv_to_str(h, v), arg[0], 1, 1);
    }
    case F_UNIQUE: {
        static const char *const p[] = {"case_sensitive", "attribute", NULL};
        jb_bind(c, "unique", a, p, arg);
        int cs = jb_given(arg[0]) && jv_truthy(arg[0]);
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
