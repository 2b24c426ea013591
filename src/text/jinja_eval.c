#include "text/jinja_eval.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { EXEC_NORMAL, EXEC_BREAK, EXEC_CONTINUE };

_Noreturn void jx_fail(jctx *c, boson_status st, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    jinja_fail_at(c->h, st, c->src, c->src_len, c->off, "%s", msg);
}

_Noreturn void jx_undefined_error(jctx *c, jv v)
{
    jx_fail(c, BOSON_ERR_RUNTIME, "%s", v.u.hint ? v.u.hint : "undefined value");
}

/* ---------------------------------------------------------------- scopes */

jscope *jscope_new(jv_heap *h, jscope *parent)
{
    jscope *s = jv_alloc(h, sizeof *s);
    s->parent = parent;
    return s;
}

void jscope_set(jv_heap *h, jscope *s, const char *name, jv v)
{
    for (size_t i = 0; i < s->n; i++) {
        if (!strcmp(s->names[i], name)) {
            s->vals[i] = v;
            return;
        }
    }
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 8;
        const char **nn = jv_alloc(h, nc * sizeof *nn);
        jv *nv = jv_alloc(h, nc * sizeof *nv);
        if (s->n) {
            memcpy(nn, s->names, s->n * sizeof *nn);
            memcpy(nv, s->vals, s->n * sizeof *nv);
        }
        s->names = nn;
        s->vals = nv;
        s->cap = nc;
    }
    s->names[s->n] = name;
    s->vals[s->n] = v;
    s->n++;
}

static int scope_lookup(const jscope *s, const char *name, jv *out)
{
    for (; s; s = s->parent) {
        for (size_t i = 0; i < s->n; i++) {
            if (!strcmp(s->names[i], name)) {
                *out = s->vals[i];
                return 1;
            }
        }
    }
    return 0;
}

static const char *fmt_hint(jctx *c, const char *fmt, const char *a, const char *b)
{
    char tmp[300];
    snprintf(tmp, sizeof tmp, fmt, a, b);
    jv s = jv_str_c(c->h, tmp);
    return s.u.s->s;
}

/* ---------------------------------------------------------------- helpers */

static void tick(jctx *c, size_t off)
{
    c->off = off;
    if (++c->steps > c->max_steps)
        jx_fail(c, BOSON_ERR_RUNTIME, "template evaluation exceeded %llu steps",
                (unsigned long long)c->max_steps);
}

static void enter(jctx *c)
{
    if (++c->depth > c->max_depth)
        jx_fail(c, BOSON_ERR_RUNTIME, "template recursion deeper than %d levels", c->max_depth);
}

jv jx_iter_list(jctx *c, jv v)
{
    jv_heap *h = c->h;
    switch ((jv_kind)v.kind) {
    case JV_LIST: return v;
    case JV_UNDEFINED: return jv_list_new(h, 0);
    case JV_DICT: {
        jv l = jv_list_new(h, v.u.d->len);
        for (size_t i = 0; i < v.u.d->len; i++)
            jv_list_push(h, l, v.u.d->k[i]);
        return l;
    }
    case JV_STRING: {
        const jv_str *s = v.u.s;
        jv l = jv_list_new(h, s->len);
        size_t i = 0;
        while (i < s->len) {
            size_t a = i;
            jv_utf8_next(s->s, s->len, &i);
            jv_list_push(h, l, jv_str_n(h, s->s + a, i - a));
        }
        return l;
    }
    case JV_NONE:
    case JV_BOOL:
    case JV_INT:
    case JV_FLOAT:
    case JV_NAMESPACE:
    case JV_LOOP:
    case JV_MACRO:
    case JV_FUNC:
    case JV_METHOD: break;
    }
    jx_fail(c, BOSON_ERR_RUNTIME, "'%s' object is not iterable", jv_type_name(v));
}

/* Python slice.indices() + iteration. Returns undefined for non-integer bounds. */
static int slice_index(jv v, int64_t *out)
{
    if (v.kind == JV_INT) {
        *out = v.u.i;
        return 1;
    }
    if (v.kind == JV_BOOL) {
        *out = v.u.b;
        return 1;
    }
    return 0;
}

static jv do_slice(jctx *c, jv obj, jv start, jv stop, jv step)
{
    int64_t st = 1, a, b;
    if (step.kind != JV_NONE && !slice_index(step, &st))
        return jv_undef("slice indices must be integers or None");
    if (st == 0)
        jx_fail(c, BOSON_ERR_RUNTIME, "slice step cannot be zero");
    /* code-point offsets for strings */
    size_t *cps = NULL;
    int64_t len;
    if (obj.kind == JV_STRING) {
        const jv_str *s = obj.u.s;
        size_t cnt = jv_utf8_count(s->s, s->len);
        cps = jv_alloc(c->h, (cnt + 1) * sizeof *cps);
        size_t i = 0, k = 0;
        while (i < s->len) {
            cps[k++] = i;
            jv_utf8_next(s->s, s->len, &i);
        }
        cps[k] = s->len;
        len = (int64_t)cnt;
    } else if (obj.kind == JV_LIST) {
        len = (int64_t)obj.u.l->len;
    } else {
        return jv_undef("object is not subscriptable with a slice");
    }
    int64_t lower = st > 0 ? 0 : -1, upper = st > 0 ? len : len - 1;
    if (start.kind == JV_NONE) {
        a = st < 0 ? upper : lower;
    } else {
        if (!slice_index(start, &a))
            return jv_undef("slice indices must be integers or None");
        if (a < 0) {
            a += len;
            if (a < lower)
                a = lower;
        } else if (a > upper) {
            a = upper;
        }
    }
    if (stop.kind == JV_NONE) {
        b = st < 0 ? lower : upper;
    } else {
        if (!slice_index(stop, &b))
            return jv_undef("slice indices must be integers or None");
        if (b < 0) {
            b += len;
            if (b < lower)
                b = lower;
        } else if (b > upper) {
            b = upper;
        }
    }
    if (obj.kind == JV_STRING) {
        const jv_str *s = obj.u.s;
        if (st == 1)
            return a < b ? jv_str_n(c->h, s->s + cps[a], cps[b] - cps[a]) : jv_str_c(c->h, "");
        jv_buf out;
        jv_buf_init(&out, c->h, c->h->limit);
        for (int64_t i = a; st > 0 ? i < b : i > b; i += st)
            jv_buf_put(&out, s->s + cps[i], cps[i + 1] - cps[i]);
        return jv_buf_to_str(&out);
    }
    jv l = jv_list_new(c->h, 0);
    l.flags = obj.flags;
    for (int64_t i = a; st > 0 ? i < b : i > b; i += st)
        jv_list_push(c->h, l, obj.u.l->v[i]);
    return l;
}

jv jx_getattr(jctx *c, jv obj, const char *name)
{
    jv out;
    switch ((jv_kind)obj.kind) {
    case JV_UNDEFINED: jx_undefined_error(c, obj);
    case JV_DICT:
        if (jinja_method_lookup(c, obj, name, &out))
            return out;
        if (jv_dict_get_s(obj, name, strlen(name), &out))
            return out;
        return jv_undef(fmt_hint(c, "'dict object' has no attribute '%s'%s", name, ""));
    case JV_NAMESPACE:
        if (jv_dict_get_s(obj, name, strlen(name), &out))
            return out;
        return jv_undef(fmt_hint(c, "'Namespace' object has no attribute '%s'%s", name, ""));
    case JV_STRING:
    case JV_LIST:
    case JV_LOOP:
        if (jinja_method_lookup(c, obj, name, &out))
            return out;
        return jv_undef(fmt_hint(c, "'%s object' has no attribute '%s'", jv_type_name(obj), name));
    case JV_NONE:
    case JV_BOOL:
    case JV_INT:
    case JV_FLOAT:
    case JV_MACRO:
    case JV_FUNC:
    case JV_METHOD: break;
    }
    return jv_undef(fmt_hint(c, "'%s object' has no attribute '%s'", jv_type_name(obj), name));
}

jv jx_getitem(jctx *c, jv obj, jv key)
{
    jv out;
    switch ((jv_kind)obj.kind) {
    case JV_UNDEFINED: jx_undefined_error(c, obj);
    case JV_DICT:
        if (jv_hashable(key) && jv_dict_get(c->h, obj, key, &out))
            return out;
        break;
    case JV_LIST:
    case JV_STRING: {
        int64_t i;
        if (!slice_index(key, &i))
            break;
        if (obj.kind == JV_LIST) {
            int64_t n = (int64_t)obj.u.l->len;
            if (i < 0)
                i += n;
            if (i < 0 || i >= n)
                return jv_undef(fmt_hint(c, "'%s object' has no element %s", jv_type_name(obj),
                                         "at that index"));
            return obj.u.l->v[i];
        }
        const jv_str *s = obj.u.s;
        int64_t n = (int64_t)jv_utf8_count(s->s, s->len);
        if (i < 0)
            i += n;
        if (i < 0 || i >= n)
            return jv_undef("'str object' has no element at that index");
        size_t p = 0;
        for (int64_t k = 0; k < i; k++)
            jv_utf8_next(s->s, s->len, &p);
        size_t a = p;
        jv_utf8_next(s->s, s->len, &p);
        return jv_str_n(c->h, s->s + a, p - a);
    }
    case JV_NAMESPACE:
    case JV_LOOP:
    case JV_NONE:
    case JV_BOOL:
    case JV_INT:
    case JV_FLOAT:
    case JV_MACRO:
    case JV_FUNC:
    case JV_METHOD: break;
    }
    if (key.kind == JV_STRING)
        return jx_getattr(c, obj, key.u.s->s);
    return jv_undef(fmt_hint(c, "'%s object' has no element of that key%s", jv_type_name(obj), ""));
}

/* ---------------------------------------------------------------- arithmetic */

static jv arith(jctx *c, int op, jv a, jv b)
{
    jv_heap *h = c->h;
    if (a.kind == JV_UNDEFINED)
        jx_undefined_error(c, a);
    if (b.kind == JV_UNDEFINED)
        jx_undefined_error(c, b);
    static const char *const sym[] = {"+", "-", "*", "/", "//", "%", "**"};
    if (jv_is_number(a) && jv_is_number(b)) {
        if (a.kind != JV_FLOAT && b.kind != JV_FLOAT && op != JOP_DIV) {
            int64_t x = a.kind == JV_BOOL ? a.u.b : a.u.i;
            int64_t y = b.kind == JV_BOOL ? b.u.b : b.u.i;
            int64_t r;
            switch (op) {
            case JOP_ADD:
                if (__builtin_add_overflow(x, y, &r))
                    jx_fail(c, BOSON_ERR_UNSUPPORTED, "integer overflow (beyond 64 bits)");
                return jv_int(r);
            case JOP_SUB:
                if (__builtin_sub_overflow(x, y, &r))
                    jx_fail(c, BOSON_ERR_UNSUPPORTED, "integer overflow (beyond 64 bits)");
                return jv_int(r);
            case JOP_MUL:
                if (__builtin_mul_overflow(x, y, &r))
                    jx_fail(c, BOSON_ERR_UNSUPPORTED, "integer overflow (beyond 64 bits)");
                return jv_int(r);
            case JOP_FLOORDIV:
            case JOP_MOD: {
                if (y == 0)
                    jx_fail(c, BOSON_ERR_RUNTIME, "integer division or modulo by zero");
                if (x == INT64_MIN && y == -1) {
                    if (op == JOP_MOD)
                        return jv_int(0);
                    jx_fail(c, BOSON_ERR_UNSUPPORTED, "integer overflow (beyond 64 bits)");
                }
                int64_t q = x / y, m = x % y;
                if (m != 0 && ((m < 0) != (y < 0))) {
                    q -= 1;
                    m += y;
                }
                return jv_int(op == JOP_MOD ? m : q);
            }
            case JOP_POW: {
                if (y < 0)
                    return jv_float(pow((double)x, (double)y));
                int64_t res = 1, base = x;
                int64_t e = y;
                while (e > 0) {
                    if (e & 1)
                        if (__builtin_mul_overflow(res, base, &res))
                            jx_fail(c, BOSON_ERR_UNSUPPORTED, "integer overflow (beyond 64 bits)");
                    e >>= 1;
                    if (e > 0 && __builtin_mul_overflow(base, base, &base))
                        jx_fail(c, BOSON_ERR_UNSUPPORTED, "integer overflow (beyond 64 bits)");
                }
                return jv_int(res);
            }
            default: break;
            }
        }
        double x = jv_as_double(a), y = jv_as_double(b);
        switch (op) {
        case JOP_ADD: return jv_float(x + y);
        case JOP_SUB: return jv_float(x - y);
        case JOP_MUL: return jv_float(x * y);
        case JOP_DIV:
            if (y == 0.0)
                jx_fail(c, BOSON_ERR_RUNTIME, "division by zero");
            return jv_float(x / y);
        case JOP_FLOORDIV:
        case JOP_MOD: {
            if (y == 0.0)
                jx_fail(c, BOSON_ERR_RUNTIME, "float floor division or modulo by zero");
            /* CPython float_divmod */
            double mod = fmod(x, y);
            double div = (x - mod) / y;
            if (mod != 0.0) {
                if ((y < 0) != (mod < 0)) {
                    mod += y;
                    div -= 1.0;
                }
            } else {
                mod = copysign(0.0, y);
            }
            double floordiv;
            if (div != 0.0) {
                floordiv = floor(div);
                if (div - floordiv > 0.5)
                    floordiv += 1.0;
            } else {
                floordiv = copysign(0.0, x / y);
            }
            return jv_float(op == JOP_MOD ? mod : floordiv);
        }
        case JOP_POW:
            if (x == 0.0 && y < 0)
                jx_fail(c, BOSON_ERR_RUNTIME, "0.0 cannot be raised to a negative power");
            if (x < 0 && y != floor(y))
                jx_fail(c, BOSON_ERR_UNSUPPORTED, "complex results are not supported");
            return jv_float(pow(x, y));
        default: break;
        }
    }
    if (op == JOP_ADD && a.kind == JV_STRING && b.kind == JV_STRING) {
        jv_buf o;
        jv_buf_init(&o, h, c->max_output);
        jv_buf_put(&o, a.u.s->s, a.u.s->len);
        jv_buf_put(&o, b.u.s->s, b.u.s->len);
        return jv_buf_to_str(&o);
    }
    if (op == JOP_ADD && a.kind == JV_LIST && b.kind == JV_LIST &&
        (a.flags & JV_FLAG_TUPLE) == (b.flags & JV_FLAG_TUPLE)) {
        jv l = jv_list_new(h, a.u.l->len + b.u.l->len);
        l.flags = a.flags;
        for (size_t i = 0; i < a.u.l->len; i++)
            jv_list_push(h, l, a.u.l->v[i]);
        for (size_t i = 0; i < b.u.l->len; i++)
            jv_list_push(h, l, b.u.l->v[i]);
        return l;
    }
    if (op == JOP_MUL &&
        ((a.kind == JV_STRING || a.kind == JV_LIST) && (b.kind == JV_INT || b.kind == JV_BOOL))) {
        int64_t n = b.kind == JV_BOOL ? b.u.b : b.u.i;
        if (a.kind == JV_STRING) {
            jv_buf o;
            jv_buf_init(&o, h, c->max_output);
            for (int64_t i = 0; i < n; i++)
                jv_buf_put(&o, a.u.s->s, a.u.s->len);
            return jv_buf_to_str(&o);
        }
        jv l = jv_list_new(h, 0);
        l.flags = a.flags;
        for (int64_t i = 0; i < n && a.u.l->len; i++) {
            tick(c, c->off);
            for (size_t k = 0; k < a.u.l->len; k++)
                jv_list_push(h, l, a.u.l->v[k]);
        }
        return l;
    }
    if (op == JOP_MUL && (b.kind == JV_STRING || b.kind == JV_LIST) &&
        (a.kind == JV_INT || a.kind == JV_BOOL))
        return arith(c, op, b, a);
    if (op == JOP_MOD && a.kind == JV_STRING)
        jx_fail(c, BOSON_ERR_UNSUPPORTED, "printf-style string formatting ('%%') is not supported");
    jx_fail(c, BOSON_ERR_RUNTIME, "unsupported operand type(s) for %s: '%s' and '%s'", sym[op],
            jv_type_name(a), jv_type_name(b));
}

static int contains(jctx *c, jv container, jv item)
{
    switch ((jv_kind)container.kind) {
    case JV_UNDEFINED: return 0;
    case JV_STRING: {
        if (item.kind != JV_STRING)
            jx_fail(c, BOSON_ERR_RUNTIME, "'in <string>' requires string as left operand, not %s",
                    jv_type_name(item));
        const jv_str *h = container.u.s, *n = item.u.s;
        if (n->len == 0)
            return 1;
        return memmem(h->s, h->len, n->s, n->len) != NULL;
    }
    case JV_LIST:
        for (size_t i = 0; i < container.u.l->len; i++)
            if (jv_equal(c->h, container.u.l->v[i], item))
                return 1;
        return 0;
    case JV_DICT:
        if (!jv_hashable(item))
            jx_fail(c, BOSON_ERR_RUNTIME, "unhashable type: '%s'", jv_type_name(item));
        return jv_dict_get(c->h, container, item, NULL);
    case JV_NONE:
    case JV_BOOL:
    case JV_INT:
    case JV_FLOAT:
    case JV_NAMESPACE:
    case JV_LOOP:
    case JV_MACRO:
    case JV_FUNC:
    case JV_METHOD: break;
    }
    jx_fail(c, BOSON_ERR_RUNTIME, "argument of type '%s' is not iterable", jv_type_name(container));
}

static int compare_op(jctx *c, int op, jv a, jv b)
{
    switch (op) {
    case JCMP_EQ: return jv_equal(c->h, a, b);
    case JCMP_NE: return !jv_equal(c->h, a, b);
    case JCMP_IN: return contains(c, b, a);
    case JCMP_NOTIN: return !contains(c, b, a);
    default: break;
    }
    static const char *const sym[] = {"==", "!=", "<", "<=", ">", ">="};
    if (a.kind == JV_UNDEFINED)
        jx_undefined_error(c, a);
    if (b.kind == JV_UNDEFINED)
        jx_undefined_error(c, b);
    int r = jv_compare(c->h, a, b, sym[op]);
    if (r == 2)
        return 0; /* NaN */
    switch (op) {
    case JCMP_LT: return r < 0;
    case JCMP_LE: return r <= 0;
    case JCMP_GT: return r > 0;
    case JCMP_GE: return r >= 0;
    default: return 0;
    }
}

/* ---------------------------------------------------------------- evaluation */

static jv eval(jctx *c, const jnode *n, jscope *s);
static int exec_body(jctx *c, const jnode_list *body, jscope *s, jv_buf *out);

static void eval_args(jctx *c, const jnode *n, jscope *s, jargs *a)
{
    a->npos = n->args.n;
    a->nkw = n->kw.n;
    a->pos = a->npos ? jv_alloc(c->h, a->npos * sizeof(jv)) : NULL;
    a->kw = a->nkw ? jv_alloc(c->h, a->nkw * sizeof(jv)) : NULL;
    a->kwnames = n->kwnames;
    for (size_t i = 0; i < a->npos; i++)
        a->pos[i] = eval(c, n->args.v[i], s);
    for (size_t i = 0; i < a->nkw; i++)
        a->kw[i] = eval(c, n->kw.v[i], s);
}

/* Applies a filter node (and the filters below it) to a value; base is the value at the root of
 * a filter chain whose innermost operand is NULL (filter blocks, set blocks). */
static jv eval_filter(jctx *c, const jnode *n, jscope *s, const jv *base)
{
    jv v;
    if (n->a && n->a->kind == JN_FILTER && base)
        v = eval_filter(c, n->a, s, base);
    else if (n->a)
        v = eval(c, n->a, s);
    else if (base)
        v = *base;
    else
        jx_fail(c, BOSON_ERR_FORMAT, "filter without an operand");
    jargs a;
    eval_args(c, n, s, &a);
    c->off = n->off;
    return jinja_apply_filter(c, n->id, v, &a);
}

static jv call_macro(jctx *c, const jmacro *m, const jargs *a)
{
    const jnode *def = m->def;
    size_t np = def->kw.n;
    if (a->npos > np)
        jx_fail(c, BOSON_ERR_RUNTIME, "macro '%s' takes not more than %zu argument(s)", def->name,
                np);
    jscope *s = jscope_new(c->h, m->closure);
    int *set = jv_alloc(c->h, (np + 1) * sizeof(int));
    for (size_t i = 0; i < a->npos; i++) {
        jscope_set(c->h, s, def->kwnames[i], a->pos[i]);
        set[i] = 1;
    }
    for (size_t k = 0; k < a->nkw; k++) {
        size_t i;
        for (i = 0; i < np; i++)
            if (!strcmp(def->kwnames[i], a->kwnames[k]))
                break;
        if (i == np)
            jx_fail(c, BOSON_ERR_RUNTIME, "macro '%s' takes no keyword argument '%s'", def->name,
                    a->kwnames[k]);
        if (set[i])
            jx_fail(c, BOSON_ERR_RUNTIME, "macro '%s' got multiple values for argument '%s'",
                    def->name, a->kwnames[k]);
        jscope_set(c->h, s, def->kwnames[i], a->kw[k]);
        set[i] = 1;
    }
    size_t saved = c->off;
    for (size_t i = 0; i < np; i++) {
        if (set[i])
            continue;
        if (def->kw.v[i])
            jscope_set(c->h, s, def->kwnames[i], eval(c, def->kw.v[i], s));
        else
            jscope_set(
                c->h, s, def->kwnames[i],
                jv_undef(fmt_hint(c, "parameter '%s' was not provided%s", def->kwnames[i], "")));
    }
    jv_buf out;
    jv_buf_init(&out, c->h, c->max_output);
    if (exec_body(c, &def->body, s, &out) != EXEC_NORMAL)
        jx_fail(c, BOSON_ERR_FORMAT, "'break' or 'continue' outside of a loop");
    c->off = saved;
    return jv_buf_to_str(&out);
}

jv jx_call(jctx *c, jv callee, const jargs *a)
{
    switch ((jv_kind)callee.kind) {
    case JV_MACRO: return call_macro(c, callee.u.p, a);
    case JV_FUNC: return jinja_call_func(c, callee.aux, a);
    case JV_METHOD: return jinja_call_method(c, callee.u.m, a);
    case JV_UNDEFINED: jx_undefined_error(c, callee);
    case JV_NONE:
    case JV_BOOL:
    case JV_INT:
    case JV_FLOAT:
    case JV_STRING:
    case JV_LIST:
    case JV_DICT:
    case JV_NAMESPACE:
    case JV_LOOP: break;
    }
    jx_fail(c, BOSON_ERR_RUNTIME, "'%s' object is not callable", jv_type_name(callee));
}

static jv eval_inner(jctx *c, const jnode *n, jscope *s)
{
    jv_heap *h = c->h;
    switch (n->kind) {
    case JN_CONST: return n->val;
    case JN_NAME: {
        jv v;
        if (scope_lookup(s, n->name, &v))
            return v;
        int f = jinja_func_lookup(n->name);
        if (f >= 0) {
            jv fv = {.kind = JV_FUNC};
            fv.aux = (uint16_t)f;
            return fv;
        }
        return jv_undef(fmt_hint(c, "'%s' is undefined%s", n->name, ""));
    }
    case JN_GETATTR: {
        jv obj = eval(c, n->a, s);
        c->off = n->off;
        return jx_getattr(c, obj, n->name);
    }
    case JN_GETITEM: {
        jv obj = eval(c, n->a, s);
        if (n->b->kind == JN_SLICE) {
            const jnode *sl = n->b;
            jv a = sl->a ? eval(c, sl->a, s) : jv_none();
            jv b = sl->b ? eval(c, sl->b, s) : jv_none();
            jv st = sl->c ? eval(c, sl->c, s) : jv_none();
            c->off = n->off;
            if (obj.kind == JV_UNDEFINED)
                jx_undefined_error(c, obj);
            return do_slice(c, obj, a, b, st);
        }
        jv key = eval(c, n->b, s);
        c->off = n->off;
        return jx_getitem(c, obj, key);
    }
    case JN_SLICE: jx_fail(c, BOSON_ERR_FORMAT, "slice outside of a subscript");
    case JN_CALL: {
        jv callee = eval(c, n->a, s);
        jargs a;
        eval_args(c, n, s, &a);
        c->off = n->off;
        return jx_call(c, callee, &a);
    }
    case JN_FILTER: return eval_filter(c, n, s, NULL);
    case JN_TEST: {
        jv v = eval(c, n->a, s);
        jargs a;
        eval_args(c, n, s, &a);
        c->off = n->off;
        return jv_bool(jinja_apply_test(c, n->id, v, &a));
    }
    case JN_BINOP: {
        jv a = eval(c, n->a, s);
        jv b = eval(c, n->b, s);
        c->off = n->off;
        return arith(c, n->id, a, b);
    }
    case JN_NEG:
    case JN_POS: {
        jv a = eval(c, n->a, s);
        c->off = n->off;
        if (a.kind == JV_UNDEFINED)
            jx_undefined_error(c, a);
        if (a.kind == JV_FLOAT)
            return jv_float(n->kind == JN_NEG ? -a.u.f : a.u.f);
        if (a.kind == JV_INT || a.kind == JV_BOOL) {
            int64_t i = a.kind == JV_BOOL ? a.u.b : a.u.i;
            if (n->kind == JN_POS)
                return jv_int(i);
            if (i == INT64_MIN)
                jx_fail(c, BOSON_ERR_UNSUPPORTED, "integer overflow (beyond 64 bits)");
            return jv_int(-i);
        }
        jx_fail(c, BOSON_ERR_RUNTIME, "bad operand type for unary %c: '%s'",
                n->kind == JN_NEG ? '-' : '+', jv_type_name(a));
    }
    case JN_NOT: return jv_bool(!jv_truthy(eval(c, n->a, s)));
    case JN_AND: {
        jv a = eval(c, n->a, s);
        return jv_truthy(a) ? eval(c, n->b, s) : a;
    }
    case JN_OR: {
        jv a = eval(c, n->a, s);
        return jv_truthy(a) ? a : eval(c, n->b, s);
    }
    case JN_COMPARE: {
        jv left = eval(c, n->a, s);
        for (size_t i = 0; i < n->args.n; i++) {
            jv right = eval(c, n->args.v[i], s);
            c->off = n->off;
            if (!compare_op(c, n->ops[i], left, right))
                return jv_bool(0);
            left = right;
        }
        return jv_bool(1);
    }
    case JN_CONCAT: {
        jv_buf o;
        jv_buf_init(&o, h, c->max_output);
        for (size_t i = 0; i < n->args.n; i++)
            jv_write_str(&o, eval(c, n->args.v[i], s));
        return jv_buf_to_str(&o);
    }
    case JN_COND:
        if (jv_truthy(eval(c, n->a, s)))
            return eval(c, n->b, s);
        return n->c ? eval(c, n->c, s)
                    : jv_undef("the inline if expression evaluated to false "
                               "and no else section was defined");
    case JN_LIST:
    case JN_TUPLE: {
        jv l = jv_list_new(h, n->args.n);
        if (n->kind == JN_TUPLE)
            l.flags = JV_FLAG_TUPLE;
        for (size_t i = 0; i < n->args.n; i++)
            jv_list_push(h, l, eval(c, n->args.v[i], s));
        return l;
    }
    case JN_DICT: {
        jv d = jv_dict_new(h, n->args.n);
        for (size_t i = 0; i < n->args.n; i++) {
            jv k = eval(c, n->args.v[i], s);
            jv v = eval(c, n->kw.v[i], s);
            c->off = n->args.v[i]->off;
            jv_dict_set(h, d, k, v);
        }
        return d;
    }
    case JN_NSREF:
    case JN_TEXT:
    case JN_OUTPUT:
    case JN_IF:
    case JN_FOR:
    case JN_SET:
    case JN_SETBLOCK:
    case JN_MACRO:
    case JN_FILTERBLOCK:
    case JN_WITH:
    case JN_BREAK:
    case JN_CONTINUE:
    case JN_BLOCK: break;
    }
    jx_fail(c, BOSON_ERR_FORMAT, "statement used as an expression");
}

static jv eval(jctx *c, const jnode *n, jscope *s)
{
    enter(c);
    tick(c, n->off);
    jv v = eval_inner(c, n, s);
    c->depth--;
    return v;
}

/* ---------------------------------------------------------------- statements */

static void unpack(jctx *c, const jnode *target, jv v, jscope *s)
{
    if (target->kind == JN_NAME) {
        jscope_set(c->h, s, target->name, v);
        return;
    }
    c->off = target->off;
    jv items = jx_iter_list(c, v);
    size_t want = target->args.n, got = items.u.l->len;
    if (got < want)
        jx_fail(c, BOSON_ERR_RUNTIME, "not enough values to unpack (expected %zu, got %zu)", want,
                got);
    if (got > want)
        jx_fail(c, BOSON_ERR_RUNTIME, "too many values to unpack (expected %zu)", want);
    for (size_t i = 0; i < want; i++)
        jscope_set(c->h, s, target->args.v[i]->name, items.u.l->v[i]);
}

static void assign(jctx *c, const jnode *target, jv v, jscope *s)
{
    if (target->kind == JN_NSREF) {
        jv ns;
        c->off = target->off;
        if (!scope_lookup(s, target->name, &ns) || ns.kind != JV_NAMESPACE)
            jx_fail(c, BOSON_ERR_RUNTIME, "cannot assign attribute on non-namespace object");
        jv_dict_set(c->h, ns, jv_str_c(c->h, target->attr), v);
        return;
    }
    unpack(c, target, v, s);
}

static int exec_for(jctx *c, const jnode *n, jscope *s, jv_buf *out)
{
    jv seq = eval(c, n->b, s);
    c->off = n->b->off;
    jv items = jx_iter_list(c, seq);
    if (n->c) {
        jv kept = jv_list_new(c->h, items.u.l->len);
        for (size_t i = 0; i < items.u.l->len; i++) {
            jscope *fs = jscope_new(c->h, s);
            unpack(c, n->a, items.u.l->v[i], fs);
            if (jv_truthy(eval(c, n->c, fs)))
                jv_list_push(c->h, kept, items.u.l->v[i]);
        }
        items = kept;
    }
    size_t len = items.u.l->len;
    if (len == 0) {
        if (n->body2.n)
            return exec_body(c, &n->body2, jscope_new(c->h, s), out);
        return EXEC_NORMAL;
    }
    jloop *lp = jv_alloc(c->h, sizeof *lp);
    lp->items = items;
    jv lv = {.kind = JV_LOOP};
    lv.u.p = lp;
    for (size_t i = 0; i < len; i++) {
        tick(c, n->off);
        lp->index0 = i;
        jscope *it = jscope_new(c->h, s);
        unpack(c, n->a, items.u.l->v[i], it);
        jscope_set(c->h, it, "loop", lv);
        int r = exec_body(c, &n->body, it, out);
        if (r == EXEC_BREAK)
            break;
    }
    return EXEC_NORMAL;
}

static int exec_stmt(jctx *c, const jnode *n, jscope *s, jv_buf *out)
{
    tick(c, n->off);
    switch (n->kind) {
    case JN_TEXT: jv_buf_put(out, n->val.u.s->s, n->val.u.s->len); return EXEC_NORMAL;
    case JN_OUTPUT: {
        jv v = eval(c, n->a, s);
        c->off = n->off;
        jv_write_str(out, v);
        return EXEC_NORMAL;
    }
    case JN_IF:
        if (jv_truthy(eval(c, n->a, s)))
            return exec_body(c, &n->body, s, out);
        return exec_body(c, &n->body2, s, out);
    case JN_FOR: return exec_for(c, n, s, out);
    case JN_SET: assign(c, n->a, eval(c, n->b, s), s); return EXEC_NORMAL;
    case JN_SETBLOCK:
    case JN_FILTERBLOCK: {
        jv_buf buf;
        jv_buf_init(&buf, c->h, c->max_output);
        jscope *inner = n->kind == JN_FILTERBLOCK ? jscope_new(c->h, s) : s;
        int r = exec_body(c, &n->body, inner, &buf);
        jv v = jv_buf_to_str(&buf);
        if (n->c)
            v = eval_filter(c, n->c, s, &v);
        if (n->kind == JN_SETBLOCK)
            assign(c, n->a, v, s);
        else
            jv_write_str(out, v);
        return r;
    }
    case JN_MACRO: {
        jmacro *m = jv_alloc(c->h, sizeof *m);
        m->def = n;
        m->closure = s;
        jv v = {.kind = JV_MACRO};
        v.u.p = m;
        jscope_set(c->h, s, n->name, v);
        return EXEC_NORMAL;
    }
    case JN_WITH: {
        jscope *w = jscope_new(c->h, s);
        for (size_t i = 0; i < n->kw.n; i++)
            jscope_set(c->h, w, n->kwnames[i], eval(c, n->kw.v[i], s));
        return exec_body(c, &n->body, w, out);
    }
    case JN_BREAK: return EXEC_BREAK;
    case JN_CONTINUE: return EXEC_CONTINUE;
    case JN_BLOCK: return exec_body(c, &n->body, s, out);
    case JN_CONST:
    case JN_NAME:
    case JN_GETATTR:
    case JN_GETITEM:
    case JN_SLICE:
    case JN_CALL:
    case JN_FILTER:
    case JN_TEST:
    case JN_BINOP:
    case JN_NEG:
    case JN_POS:
    case JN_NOT:
    case JN_AND:
    case JN_OR:
    case JN_COMPARE:
    case JN_CONCAT:
    case JN_COND:
    case JN_LIST:
    case JN_TUPLE:
    case JN_DICT:
    case JN_NSREF: break;
    }
    jx_fail(c, BOSON_ERR_FORMAT, "expression used as a statement");
}

static int exec_body(jctx *c, const jnode_list *body, jscope *s, jv_buf *out)
{
    enter(c);
    for (size_t i = 0; i < body->n; i++) {
        int r = exec_stmt(c, body->v[i], s, out);
        if (r != EXEC_NORMAL) {
            c->depth--;
            return r;
        }
    }
    c->depth--;
    return EXEC_NORMAL;
}

void jinja_render(jctx *c, const jnode *root, jscope *globals, jv_buf *out)
{
    jscope *top = jscope_new(c->h, globals);
    if (exec_body(c, &root->body, top, out) != EXEC_NORMAL)
        jx_fail(c, BOSON_ERR_FORMAT, "'break' or 'continue' outside of a loop");
}
