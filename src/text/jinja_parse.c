#include "text/jinja_parse.h"

#include <stdio.h>
#include <string.h>

enum { PARSE_DEPTH_LIMIT = 100 };

typedef struct parser {
    jv_heap *h;
    const jlex_out *lx;
    size_t pos;
    int depth;
} parser;

_Noreturn static void pfail(parser *P, size_t off, const char *fmt, const char *arg)
{
    jinja_fail_at(P->h, BOSON_ERR_FORMAT, P->lx->src, P->lx->src_len, off, fmt, arg);
}

static const jtok *cur(parser *P)
{
    return &P->lx->toks[P->pos];
}

static const jtok *peek(parser *P, size_t k)
{
    size_t i = P->pos + k;
    if (i >= P->lx->ntoks)
        i = P->lx->ntoks - 1;
    return &P->lx->toks[i];
}

static void advance(parser *P)
{
    if (P->pos + 1 < P->lx->ntoks)
        P->pos++;
}

static int tok_is(const jtok *t, jtok_kind k, const char *s)
{
    if (t->kind != k)
        return 0;
    if (!s)
        return 1;
    size_t n = strlen(s);
    return t->n == n && memcmp(t->s, s, n) == 0;
}

static int is_op(parser *P, const char *op)
{
    return tok_is(cur(P), JT_OP, op);
}

static int is_name(parser *P, const char *name)
{
    return tok_is(cur(P), JT_NAME, name);
}

static const char *describe(const jtok *t, char *buf, size_t n)
{
    switch (t->kind) {
    case JT_TEXT: return "template data";
    case JT_VAR_BEGIN: return "begin of print statement";
    case JT_VAR_END: return "end of print statement";
    case JT_BLOCK_BEGIN: return "begin of statement block";
    case JT_BLOCK_END: return "end of statement block";
    case JT_STRING: return "string";
    case JT_INT: return "integer";
    case JT_FLOAT: return "float";
    case JT_EOF: return "end of template";
    case JT_NAME:
    case JT_OP: snprintf(buf, n, "'%.*s'", (int)(t->n < 40 ? t->n : 40), t->s); return buf;
    }
    return "token";
}

_Noreturn static void unexpected(parser *P, const char *expected)
{
    char b1[64], msg[160];
    const char *d = describe(cur(P), b1, sizeof b1);
    if (expected)
        snprintf(msg, sizeof msg, "expected %s, got %s", expected, d);
    else
        snprintf(msg, sizeof msg, "unexpected %s", d);
    pfail(P, cur(P)->off, "%s", msg);
}

static void expect_op(parser *P, const char *op)
{
    if (!is_op(P, op)) {
        char e[16];
        snprintf(e, sizeof e, "'%s'", op);
        unexpected(P, e);
    }
    advance(P);
}

static void expect_kind(parser *P, jtok_kind k, const char *what)
{
    if (cur(P)->kind != k)
        unexpected(P, what);
    advance(P);
}

static const char *dup_name(parser *P, const jtok *t)
{
    char *s = jv_alloc(P->h, t->n + 1);
    memcpy(s, t->s, t->n);
    s[t->n] = '\0';
    return s;
}

static jnode *mk(parser *P, jnode_kind k, size_t off)
{
    jnode *n = jv_alloc(P->h, sizeof *n);
    n->kind = k;
    n->off = off;
    return n;
}

typedef struct nvec {
    jnode **v;
    size_t n, cap;
    const char **names;
} nvec;

static void nv_push(parser *P, nvec *v, jnode *x, const char *name)
{
    if (v->n == v->cap) {
        size_t nc = v->cap ? v->cap * 2 : 4;
        jnode **nn = jv_alloc(P->h, nc * sizeof *nn);
        const char **nm = jv_alloc(P->h, nc * sizeof *nm);
        if (v->n) {
            memcpy(nn, v->v, v->n * sizeof *nn);
            memcpy(nm, v->names, v->n * sizeof *nm);
        }
        v->v = nn;
        v->names = nm;
        v->cap = nc;
    }
    v->v[v->n] = x;
    v->names[v->n] = name;
    v->n++;
}

static jnode_list nv_list(nvec *v)
{
    jnode_list l = {v->v, v->n};
    return l;
}

static void enter(parser *P)
{
    if (++P->depth > PARSE_DEPTH_LIMIT)
        pfail(P, cur(P)->off, "%s", "expression nested too deeply");
}

static jnode *parse_expression(parser *P, int with_condexpr);
static jnode *parse_tuple(parser *P, int simplified, int with_condexpr, const char *extra_end,
                          int explicit_parens);
static jnode *parse_unary(parser *P, int with_filter);
static jnode *parse_primary(parser *P);
static jnode *parse_postfix(parser *P, jnode *node);

/* ( args, name=kw ) */
static void parse_call_args(parser *P, jnode *call)
{
    size_t open = cur(P)->off;
    expect_op(P, "(");
    nvec args = {0}, kw = {0};
    int require_comma = 0;
    while (!is_op(P, ")")) {
        if (require_comma) {
            expect_op(P, ",");
            if (is_op(P, ")"))
                break;
        }
        if (is_op(P, "*") || is_op(P, "**"))
            pfail(P, cur(P)->off, "%s", "*args and **kwargs in calls are not supported");
        if (cur(P)->kind == JT_NAME && tok_is(peek(P, 1), JT_OP, "=")) {
            const char *key = dup_name(P, cur(P));
            advance(P);
            advance(P);
            nv_push(P, &kw, parse_expression(P, 1), key);
        } else {
            if (kw.n)
                pfail(P, open, "%s", "invalid syntax for function call expression");
            nv_push(P, &args, parse_expression(P, 1), NULL);
        }
        require_comma = 1;
    }
    expect_op(P, ")");
    call->args = nv_list(&args);
    call->kw = nv_list(&kw);
    call->kwnames = kw.names;
}

static jnode *parse_filter(parser *P, jnode *node, int start_inline)
{
    while (is_op(P, "|") || start_inline) {
        if (!start_inline)
            advance(P);
        start_inline = 0;
        const jtok *t = cur(P);
        if (t->kind != JT_NAME)
            unexpected(P, "filter name");
        const char *name = dup_name(P, t);
        advance(P);
        if (is_op(P, "."))
            pfail(P, t->off, "%s", "dotted filter names are not supported");
        int id = jinja_filter_lookup(name);
        if (id < 0)
            pfail(P, t->off, "unknown filter '%s'", name);
        jnode *f = mk(P, JN_FILTER, t->off);
        f->a = node;
        f->name = name;
        f->id = id;
        if (is_op(P, "("))
            parse_call_args(P, f);
        node = f;
    }
    return node;
}

static jnode *parse_test(parser *P, jnode *node)
{
    size_t off = cur(P)->off;
    advance(P); /* is */
    int negated = 0;
    if (is_name(P, "not")) {
        advance(P);
        negated = 1;
    }
    const jtok *t = cur(P);
    if (t->kind != JT_NAME)
        unexpected(P, "test name");
    const char *name = dup_name(P, t);
    advance(P);
    if (is_op(P, "."))
        pfail(P, t->off, "%s", "dotted test names are not supported");
    int id = jinja_test_lookup(name);
    if (id < 0)
        pfail(P, t->off, "unknown test '%s'", name);
    jnode *n = mk(P, JN_TEST, off);
    n->a = node;
    n->name = name;
    n->id = id;
    const jtok *c = cur(P);
    if (is_op(P, "(")) {
        parse_call_args(P, n);
    } else if ((c->kind == JT_NAME || c->kind == JT_STRING || c->kind == JT_INT ||
                c->kind == JT_FLOAT || is_op(P, "[") || is_op(P, "{")) &&
               !is_name(P, "else") && !is_name(P, "or") && !is_name(P, "and")) {
        if (is_name(P, "is"))
            pfail(P, c->off, "%s", "You cannot chain multiple tests with is");
        nvec args = {0};
        jnode *arg = parse_postfix(P, parse_primary(P));
        nv_push(P, &args, arg, NULL);
        n->args = nv_list(&args);
    }
    if (negated) {
        jnode *nn = mk(P, JN_NOT, off);
        nn->a = n;
        return nn;
    }
    return n;
}

static jnode *parse_filter_expr(parser *P, jnode *node)
{
    for (;;) {
        if (is_op(P, "|")) {
            node = parse_filter(P, node, 0);
        } else if (is_name(P, "is")) {
            node = parse_test(P, node);
        } else if (is_op(P, "(")) {
            jnode *c = mk(P, JN_CALL, node->off);
            c->a = node;
            parse_call_args(P, c);
            node = c;
        } else {
            return node;
        }
    }
}

static jnode *parse_subscribed(parser *P)
{
    size_t off = cur(P)->off;
    jnode *args[3] = {NULL, NULL, NULL};
    if (is_op(P, ":")) {
        advance(P);
    } else {
        jnode *node = parse_expression(P, 1);
        if (!is_op(P, ":"))
            return node;
        advance(P);
        args[0] = node;
    }
    if (!is_op(P, ":") && !is_op(P, "]") && !is_op(P, ","))
        args[1] = parse_expression(P, 1);
    if (is_op(P, ":")) {
        advance(P);
        if (!is_op(P, "]") && !is_op(P, ","))
            args[2] = parse_expression(P, 1);
    }
    jnode *s = mk(P, JN_SLICE, off);
    s->a = args[0];
    s->b = args[1];
    s->c = args[2];
    return s;
}

static jnode *parse_postfix(parser *P, jnode *node)
{
    for (;;) {
        const jtok *t = cur(P);
        if (is_op(P, ".")) {
            advance(P);
            const jtok *a = cur(P);
            if (a->kind == JT_NAME) {
                jnode *g = mk(P, JN_GETATTR, t->off);
                g->a = node;
                g->name = dup_name(P, a);
                advance(P);
                node = g;
            } else if (a->kind == JT_INT) {
                jnode *g = mk(P, JN_GETITEM, t->off);
                g->a = node;
                g->b = mk(P, JN_CONST, a->off);
                g->b->val = jv_int(a->i);
                advance(P);
                node = g;
            } else {
                unexpected(P, "name or number");
            }
        } else if (is_op(P, "[")) {
            advance(P);
            nvec args = {0};
            while (!is_op(P, "]")) {
                if (args.n)
                    expect_op(P, ",");
                nv_push(P, &args, parse_subscribed(P), NULL);
            }
            expect_op(P, "]");
            jnode *g = mk(P, JN_GETITEM, t->off);
            g->a = node;
            if (args.n == 1) {
                g->b = args.v[0];
            } else {
                jnode *tup = mk(P, JN_TUPLE, t->off);
                tup->args = nv_list(&args);
                g->b = tup;
            }
            node = g;
        } else if (is_op(P, "(")) {
            jnode *c = mk(P, JN_CALL, node->off);
            c->a = node;
            parse_call_args(P, c);
            node = c;
        } else {
            return node;
        }
    }
}

static jnode *parse_primary(parser *P)
{
    enter(P);
    const jtok *t = cur(P);
    jnode *node;
    if (t->kind == JT_NAME) {
        advance(P);
        if (tok_is(t, JT_NAME, "true") || tok_is(t, JT_NAME, "True") ||
            tok_is(t, JT_NAME, "false") || tok_is(t, JT_NAME, "False")) {
            node = mk(P, JN_CONST, t->off);
            node->val = jv_bool(t->s[0] == 't' || t->s[0] == 'T');
        } else if (tok_is(t, JT_NAME, "none") || tok_is(t, JT_NAME, "None")) {
            node = mk(P, JN_CONST, t->off);
            node->val = jv_none();
        } else {
            node = mk(P, JN_NAME, t->off);
            node->name = dup_name(P, t);
        }
    } else if (t->kind == JT_STRING) {
        jv_buf b;
        jv_buf_init(&b, P->h, P->h->limit);
        jv_buf_put(&b, t->s, t->n);
        advance(P);
        while (cur(P)->kind == JT_STRING) {
            jv_buf_put(&b, cur(P)->s, cur(P)->n);
            advance(P);
        }
        node = mk(P, JN_CONST, t->off);
        node->val = jv_buf_to_str(&b);
    } else if (t->kind == JT_INT || t->kind == JT_FLOAT) {
        advance(P);
        node = mk(P, JN_CONST, t->off);
        node->val = t->kind == JT_INT ? jv_int(t->i) : jv_float(t->f);
    } else if (is_op(P, "(")) {
        advance(P);
        node = parse_tuple(P, 0, 1, NULL, 1);
        expect_op(P, ")");
    } else if (is_op(P, "[")) {
        advance(P);
        nvec items = {0};
        while (!is_op(P, "]")) {
            if (items.n)
                expect_op(P, ",");
            if (is_op(P, "]"))
                break;
            nv_push(P, &items, parse_expression(P, 1), NULL);
        }
        expect_op(P, "]");
        node = mk(P, JN_LIST, t->off);
        node->args = nv_list(&items);
    } else if (is_op(P, "{")) {
        advance(P);
        nvec keys = {0}, vals = {0};
        while (!is_op(P, "}")) {
            if (keys.n)
                expect_op(P, ",");
            if (is_op(P, "}"))
                break;
            nv_push(P, &keys, parse_expression(P, 1), NULL);
            expect_op(P, ":");
            nv_push(P, &vals, parse_expression(P, 1), NULL);
        }
        expect_op(P, "}");
        node = mk(P, JN_DICT, t->off);
        node->args = nv_list(&keys);
        node->kw = nv_list(&vals);
    } else {
        unexpected(P, NULL);
    }
    P->depth--;
    return node;
}

static jnode *parse_unary(parser *P, int with_filter)
{
    enter(P);
    const jtok *t = cur(P);
    jnode *node;
    if (is_op(P, "-") || is_op(P, "+")) {
        advance(P);
        node = mk(P, t->s[0] == '-' ? JN_NEG : JN_POS, t->off);
        node->a = parse_unary(P, 0);
    } else {
        node = parse_primary(P);
    }
    node = parse_postfix(P, node);
    if (with_filter)
        node = parse_filter_expr(P, node);
    P->depth--;
    return node;
}

static jnode *binop(parser *P, int op, jnode *a, jnode *b, size_t off)
{
    jnode *n = mk(P, JN_BINOP, off);
    n->id = op;
    n->a = a;
    n->b = b;
    return n;
}

static jnode *parse_pow(parser *P)
{
    jnode *left = parse_unary(P, 1);
    while (is_op(P, "**")) {
        size_t off = cur(P)->off;
        advance(P);
        left = binop(P, JOP_POW, left, parse_unary(P, 1), off);
    }
    return left;
}

static jnode *parse_math2(parser *P)
{
    jnode *left = parse_pow(P);
    for (;;) {
        int op;
        if (is_op(P, "*"))
            op = JOP_MUL;
        else if (is_op(P, "/"))
            op = JOP_DIV;
        else if (is_op(P, "//"))
            op = JOP_FLOORDIV;
        else if (is_op(P, "%"))
            op = JOP_MOD;
        else
            return left;
        size_t off = cur(P)->off;
        advance(P);
        left = binop(P, op, left, parse_pow(P), off);
    }
}

static jnode *parse_concat(parser *P)
{
    size_t off = cur(P)->off;
    jnode *first = parse_math2(P);
    if (!is_op(P, "~"))
        return first;
    nvec args = {0};
    nv_push(P, &args, first, NULL);
    while (is_op(P, "~")) {
        advance(P);
        nv_push(P, &args, parse_math2(P), NULL);
    }
    jnode *n = mk(P, JN_CONCAT, off);
    n->args = nv_list(&args);
    return n;
}

static jnode *parse_math1(parser *P)
{
    jnode *left = parse_concat(P);
    while (is_op(P, "+") || is_op(P, "-")) {
        int op = is_op(P, "+") ? JOP_ADD : JOP_SUB;
        size_t off = cur(P)->off;
        advance(P);
        left = binop(P, op, left, parse_concat(P), off);
    }
    return left;
}

static jnode *parse_compare(parser *P)
{
    size_t off = cur(P)->off;
    jnode *expr = parse_math1(P);
    nvec operands = {0};
    int ops[64];
    int nops = 0;
    for (;;) {
        int op;
        if (is_op(P, "=="))
            op = JCMP_EQ;
        else if (is_op(P, "!="))
            op = JCMP_NE;
        else if (is_op(P, "<"))
            op = JCMP_LT;
        else if (is_op(P, "<="))
            op = JCMP_LE;
        else if (is_op(P, ">"))
            op = JCMP_GT;
        else if (is_op(P, ">="))
            op = JCMP_GE;
        else if (is_name(P, "in"))
            op = JCMP_IN;
        else if (is_name(P, "not") && tok_is(peek(P, 1), JT_NAME, "in"))
            op = JCMP_NOTIN;
        else
            break;
        if (nops == 64)
            pfail(P, cur(P)->off, "%s", "too many chained comparisons");
        advance(P);
        if (op == JCMP_NOTIN)
            advance(P);
        ops[nops++] = op;
        nv_push(P, &operands, parse_math1(P), NULL);
    }
    if (!nops)
        return expr;
    jnode *n = mk(P, JN_COMPARE, off);
    n->a = expr;
    n->args = nv_list(&operands);
    n->ops = jv_alloc(P->h, (size_t)nops * sizeof(int));
    memcpy(n->ops, ops, (size_t)nops * sizeof(int));
    return n;
}

static jnode *parse_not(parser *P)
{
    if (is_name(P, "not")) {
        enter(P);
        jnode *n = mk(P, JN_NOT, cur(P)->off);
        advance(P);
        n->a = parse_not(P);
        P->depth--;
        return n;
    }
    return parse_compare(P);
}

static jnode *parse_and(parser *P)
{
    jnode *left = parse_not(P);
    while (is_name(P, "and")) {
        jnode *n = mk(P, JN_AND, cur(P)->off);
        advance(P);
        n->a = left;
        n->b = parse_not(P);
        left = n;
    }
    return left;
}

static jnode *parse_or(parser *P)
{
    jnode *left = parse_and(P);
    while (is_name(P, "or")) {
        jnode *n = mk(P, JN_OR, cur(P)->off);
        advance(P);
        n->a = left;
        n->b = parse_and(P);
        left = n;
    }
    return left;
}

static jnode *parse_condexpr(parser *P)
{
    enter(P);
    jnode *expr1 = parse_or(P);
    while (is_name(P, "if")) {
        jnode *n = mk(P, JN_COND, cur(P)->off);
        advance(P);
        n->a = parse_or(P);
        n->b = expr1;
        if (is_name(P, "else")) {
            advance(P);
            n->c = parse_condexpr(P);
        }
        expr1 = n;
    }
    P->depth--;
    return expr1;
}

static jnode *parse_expression(parser *P, int with_condexpr)
{
    return with_condexpr ? parse_condexpr(P) : parse_or(P);
}

static int is_tuple_end(parser *P, const char *extra_end)
{
    const jtok *t = cur(P);
    if (t->kind == JT_VAR_END || t->kind == JT_BLOCK_END || t->kind == JT_EOF || is_op(P, ")"))
        return 1;
    return extra_end && is_name(P, extra_end);
}

static jnode *parse_tuple(parser *P, int simplified, int with_condexpr, const char *extra_end,
                          int explicit_parens)
{
    size_t off = cur(P)->off;
    nvec args = {0};
    int is_tuple = 0;
    for (;;) {
        if (args.n)
            expect_op(P, ",");
        if (is_tuple_end(P, extra_end))
            break;
        nv_push(P, &args, simplified ? parse_primary(P) : parse_expression(P, with_condexpr), NULL);
        if (is_op(P, ","))
            is_tuple = 1;
        else
            break;
    }
    if (!is_tuple) {
        if (args.n)
            return args.v[0];
        if (!explicit_parens)
            unexpected(P, "an expression");
    }
    jnode *n = mk(P, JN_TUPLE, off);
    n->args = nv_list(&args);
    return n;
}

/* ---------------------------------------------------------------- statements */

static void check_target(parser *P, jnode *t)
{
    if (t->kind == JN_NAME || t->kind == JN_NSREF) {
        if (t->kind == JN_NAME &&
            (!strcmp(t->name, "true") || !strcmp(t->name, "false") || !strcmp(t->name, "none")))
            pfail(P, t->off, "cannot assign to '%s'", t->name);
        return;
    }
    if (t->kind == JN_TUPLE) {
        for (size_t i = 0; i < t->args.n; i++) {
            if (t->args.v[i]->kind != JN_NAME)
                pfail(P, t->args.v[i]->off, "%s", "can only assign to names in a tuple target");
        }
        return;
    }
    pfail(P, t->off, "%s", "cannot assign to this expression");
}

static jnode *parse_assign_target(parser *P, const char *extra_end, int with_namespace)
{
    jnode *t;
    if (with_namespace && cur(P)->kind == JT_NAME && tok_is(peek(P, 1), JT_OP, ".")) {
        const jtok *nt = cur(P);
        advance(P);
        advance(P);
        if (cur(P)->kind != JT_NAME)
            unexpected(P, "attribute name");
        t = mk(P, JN_NSREF, nt->off);
        t->name = dup_name(P, nt);
        t->attr = dup_name(P, cur(P));
        advance(P);
    } else {
        t = parse_tuple(P, 1, 1, extra_end, 0);
    }
    check_target(P, t);
    return t;
}

static jnode_list parse_body(parser *P, const char *const *ends, const char **which,
                             const char *tag, size_t tag_off);

static void end_of_statement(parser *P)
{
    expect_kind(P, JT_BLOCK_END, "end of statement block");
}

static jnode *parse_statement(parser *P)
{
    const jtok *t = cur(P); /* the name after {% */
    size_t off = t->off;
    if (t->kind != JT_NAME)
        unexpected(P, "statement name");
    static const char *const for_ends[] = {"endfor", "else", NULL};
    static const char *const endfor[] = {"endfor", NULL};
    static const char *const if_ends[] = {"elif", "else", "endif", NULL};
    static const char *const endif[] = {"endif", NULL};
    static const char *const endset[] = {"endset", NULL};
    static const char *const endmacro[] = {"endmacro", NULL};
    static const char *const endfilter[] = {"endfilter", NULL};
    static const char *const endwith[] = {"endwith", NULL};
    static const char *const endgen[] = {"endgeneration", NULL};
    const char *which = NULL;
    enter(P);
    jnode *n;
    if (tok_is(t, JT_NAME, "for")) {
        advance(P);
        n = mk(P, JN_FOR, off);
        n->a = parse_assign_target(P, "in", 0);
        if (n->a->kind == JN_NSREF)
            pfail(P, n->a->off, "%s", "cannot use a namespace attribute as a loop variable");
        if (!is_name(P, "in"))
            unexpected(P, "'in'");
        advance(P);
        n->b = parse_tuple(P, 0, 0, "recursive", 0);
        if (is_name(P, "if")) {
            advance(P);
            n->c = parse_expression(P, 1);
        }
        if (is_name(P, "recursive"))
            pfail(P, cur(P)->off, "%s", "recursive for loops are not supported");
        end_of_statement(P);
        n->body = parse_body(P, for_ends, &which, "for", off);
        if (!strcmp(which, "else")) {
            end_of_statement(P);
            n->body2 = parse_body(P, endfor, &which, "for", off);
        }
        end_of_statement(P);
    } else if (tok_is(t, JT_NAME, "if")) {
        advance(P);
        n = mk(P, JN_IF, off);
        jnode *node = n;
        for (;;) {
            node->a = parse_tuple(P, 0, 0, NULL, 0);
            end_of_statement(P);
            node->body = parse_body(P, if_ends, &which, "if", off);
            if (!strcmp(which, "elif")) {
                jnode *e = mk(P, JN_IF, cur(P)->off);
                jnode **one = jv_alloc(P->h, sizeof *one);
                one[0] = e;
                node->body2.v = one;
                node->body2.n = 1;
                node = e;
                continue;
            }
            if (!strcmp(which, "else")) {
                end_of_statement(P);
                node->body2 = parse_body(P, endif, &which, "if", off);
            }
            break;
        }
        end_of_statement(P);
    } else if (tok_is(t, JT_NAME, "set")) {
        advance(P);
        jnode *target = parse_assign_target(P, NULL, 1);
        if (is_op(P, "=")) {
            advance(P);
            n = mk(P, JN_SET, off);
            n->a = target;
            n->b = parse_tuple(P, 0, 1, NULL, 0);
            end_of_statement(P);
        } else {
            n = mk(P, JN_SETBLOCK, off);
            n->a = target;
            if (is_op(P, "|"))
                n->c = parse_filter(P, NULL, 0);
            end_of_statement(P);
            n->body = parse_body(P, endset, &which, "set", off);
            end_of_statement(P);
        }
    } else if (tok_is(t, JT_NAME, "macro")) {
        advance(P);
        n = mk(P, JN_MACRO, off);
        if (cur(P)->kind != JT_NAME)
            unexpected(P, "macro name");
        n->name = dup_name(P, cur(P));
        advance(P);
        expect_op(P, "(");
        nvec params = {0};
        while (!is_op(P, ")")) {
            if (params.n)
                expect_op(P, ",");
            if (cur(P)->kind != JT_NAME)
                unexpected(P, "parameter name");
            const char *pname = dup_name(P, cur(P));
            advance(P);
            jnode *def = NULL;
            if (is_op(P, "=")) {
                advance(P);
                def = parse_expression(P, 1);
            } else if (params.n && params.v[params.n - 1]) {
                pfail(P, cur(P)->off, "%s", "non-default argument follows default argument");
            }
            nv_push(P, &params, def, pname);
        }
        expect_op(P, ")");
        n->kw = nv_list(&params);
        n->kwnames = params.names;
        end_of_statement(P);
        n->body = parse_body(P, endmacro, &which, "macro", off);
        if (cur(P)->kind == JT_NAME)
            advance(P); /* {% endmacro name %} */
        end_of_statement(P);
    } else if (tok_is(t, JT_NAME, "filter")) {
        advance(P);
        n = mk(P, JN_FILTERBLOCK, off);
        n->c = parse_filter(P, NULL, 1);
        end_of_statement(P);
        n->body = parse_body(P, endfilter, &which, "filter", off);
        end_of_statement(P);
    } else if (tok_is(t, JT_NAME, "with")) {
        advance(P);
        n = mk(P, JN_WITH, off);
        nvec assigns = {0};
        while (cur(P)->kind != JT_BLOCK_END) {
            if (assigns.n)
                expect_op(P, ",");
            if (cur(P)->kind != JT_NAME)
                unexpected(P, "variable name");
            const char *vname = dup_name(P, cur(P));
            advance(P);
            expect_op(P, "=");
            nv_push(P, &assigns, parse_expression(P, 1), vname);
        }
        n->kw = nv_list(&assigns);
        n->kwnames = assigns.names;
        end_of_statement(P);
        n->body = parse_body(P, endwith, &which, "with", off);
        end_of_statement(P);
    } else if (tok_is(t, JT_NAME, "generation")) {
        advance(P);
        n = mk(P, JN_BLOCK, off);
        end_of_statement(P);
        n->body = parse_body(P, endgen, &which, "generation", off);
        end_of_statement(P);
    } else if (tok_is(t, JT_NAME, "break") || tok_is(t, JT_NAME, "continue")) {
        n = mk(P, t->s[0] == 'b' ? JN_BREAK : JN_CONTINUE, off);
        advance(P);
        end_of_statement(P);
    } else {
        static const char *const unsupported[] = {"call",    "include", "import",     "from",
                                                  "extends", "block",   "autoescape", NULL};
        const char *name = dup_name(P, t);
        for (int i = 0; unsupported[i]; i++)
            if (!strcmp(name, unsupported[i]))
                pfail(P, off, "the '%s' tag is not supported", name);
        pfail(P, off, "unknown tag '%s'", name);
    }
    P->depth--;
    return n;
}

/* Reads statements until {% <one of ends> (consumed: the begin and the name); *which names the
 * end found. ends == NULL: until the end of the template. */
static jnode_list parse_body(parser *P, const char *const *ends, const char **which,
                             const char *tag, size_t tag_off)
{
    nvec body = {0};
    for (;;) {
        const jtok *t = cur(P);
        switch (t->kind) {
        case JT_EOF:
            if (ends) {
                char msg[160];
                snprintf(msg, sizeof msg,
                         "unexpected end of template: the '%s' tag was never closed "
                         "(expected '%s')",
                         tag, ends[0]);
                pfail(P, tag_off, "%s", msg);
            }
            return nv_list(&body);
        case JT_TEXT: {
            jnode *n = mk(P, JN_TEXT, t->off);
            n->val.kind = JV_STRING;
            jv_str *s = jv_alloc(P->h, sizeof *s + t->n + 1);
            s->len = t->n;
            memcpy(s->s, t->s, t->n);
            n->val.u.s = s;
            nv_push(P, &body, n, NULL);
            advance(P);
            break;
        }
        case JT_VAR_BEGIN: {
            jnode *n = mk(P, JN_OUTPUT, t->off);
            advance(P);
            n->a = parse_tuple(P, 0, 1, NULL, 0);
            expect_kind(P, JT_VAR_END, "end of print statement");
            nv_push(P, &body, n, NULL);
            break;
        }
        case JT_BLOCK_BEGIN: {
            const jtok *name = peek(P, 1);
            if (name->kind == JT_NAME && ends) {
                for (int i = 0; ends[i]; i++) {
                    if (tok_is(name, JT_NAME, ends[i])) {
                        *which = ends[i];
                        advance(P);
                        advance(P);
                        return nv_list(&body);
                    }
                }
            }
            if (name->kind == JT_NAME && name->n >= 3 &&
                (memcmp(name->s, "end", 3) == 0 || tok_is(name, JT_NAME, "else") ||
                 tok_is(name, JT_NAME, "elif"))) {
                char msg[160];
                snprintf(msg, sizeof msg, "unexpected '%.*s'%s%s%s", (int)name->n, name->s,
                         ends ? " (expected '" : "", ends ? ends[0] : "", ends ? "')" : "");
                pfail(P, name->off, "%s", msg);
            }
            advance(P);
            nv_push(P, &body, parse_statement(P), NULL);
            break;
        }
        case JT_VAR_END:
        case JT_BLOCK_END:
        case JT_NAME:
        case JT_STRING:
        case JT_INT:
        case JT_FLOAT:
        case JT_OP: unexpected(P, NULL);
        }
    }
}

jnode *jinja_parse(jv_heap *h, const jlex_out *lx)
{
    parser P = {.h = h, .lx = lx};
    jnode *root = mk(&P, JN_BLOCK, 0);
    const char *which = NULL;
    root->body = parse_body(&P, NULL, &which, "", 0);
    return root;
}
