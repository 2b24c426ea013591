/* Parser of the chat-template Jinja subset: tokens → AST, following jinja2's grammar and
 * operator precedence (condexpr < or < and < not < compare/in < + - < ~ < * / // % < ** <
 * unary - + < postfix . [] () and | filters / is tests).
 *
 * Statements: for (tuple targets, inline `if` filter, else), if/elif/else, set (expression,
 * namespace attribute, tuple targets, block form with filters), macro, filter blocks, with,
 * break/continue (loopcontrols), generation (Hugging Face's assistant-mask tag), raw.
 * Unknown filters and tests are rejected here, at load time, with line and column. */
#ifndef BOSON_TEXT_JINJA_PARSE_H
#define BOSON_TEXT_JINJA_PARSE_H

#include "text/jinja_lex.h"

typedef enum jnode_kind {
    /* expressions */
    JN_CONST,   /* val */
    JN_NAME,    /* name */
    JN_GETATTR, /* a.name */
    JN_GETITEM, /* a[b] */
    JN_SLICE,   /* a:b:c (any may be NULL), only as b of JN_GETITEM */
    JN_CALL,    /* a(args, kw) */
    JN_FILTER,  /* a|name(args, kw); id = filter id; a NULL in filter blocks */
    JN_TEST,    /* a is name(args, kw); id = test id */
    JN_BINOP,   /* a op b; op = one of JOP_* */
    JN_NEG,
    JN_POS,
    JN_NOT,
    JN_AND,
    JN_OR,
    JN_COMPARE, /* a then (ops[i], args[i]) */
    JN_CONCAT,  /* args joined with ~ */
    JN_COND,    /* b if a else c (c may be NULL) */
    JN_LIST,    /* args */
    JN_TUPLE,   /* args */
    JN_DICT,    /* keys in args, values in kw */
    JN_NSREF,   /* name.attr as an assignment target */
    /* statements */
    JN_TEXT,        /* val (string) */
    JN_OUTPUT,      /* {{ a }} */
    JN_IF,          /* if a: body else: body2 (elif nested in body2) */
    JN_FOR,         /* for a in b [if c]: body else body2 */
    JN_SET,         /* a = b */
    JN_SETBLOCK,    /* a = body, filtered by c (a JN_FILTER chain with NULL at its root) */
    JN_MACRO,       /* name(params: kwnames, defaults: kw (NULL entries)) body */
    JN_FILTERBLOCK, /* c (filter chain) applied to body */
    JN_WITH,        /* kwnames = kw, then body */
    JN_BREAK,
    JN_CONTINUE,
    JN_BLOCK /* plain body (generation tag, template root) */
} jnode_kind;

enum { JOP_ADD, JOP_SUB, JOP_MUL, JOP_DIV, JOP_FLOORDIV, JOP_MOD, JOP_POW };
enum { JCMP_EQ, JCMP_NE, JCMP_LT, JCMP_LE, JCMP_GT, JCMP_GE, JCMP_IN, JCMP_NOTIN };

typedef struct jnode jnode;

typedef struct jnode_list {
    jnode **v;
    size_t n;
} jnode_list;

struct jnode {
    jnode_kind kind;
    size_t off; /* source offset for errors */
    int id;     /* operator, filter or test id */
    jv val;
    const char *name; /* NUL-terminated */
    const char *attr; /* JN_NSREF attribute */
    jnode *a, *b, *c;
    jnode_list args; /* positional arguments, items, operands, keys */
    jnode_list kw;   /* keyword argument values, dict values, macro defaults */
    const char **kwnames;
    int *ops; /* JN_COMPARE operators */
    jnode_list body, body2;
};

/* Parses tokens into the template root (a JN_BLOCK); jumps through h->jb on error. */
jnode *jinja_parse(jv_heap *h, const jlex_out *lx);

/* Filter and test tables (defined with the built-ins); -1 when unknown. */
int jinja_filter_lookup(const char *name);
int jinja_test_lookup(const char *name);

#endif
