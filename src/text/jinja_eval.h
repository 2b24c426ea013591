/* Tree-walking evaluator of the chat-template Jinja subset, with Python semantics for values
 * (see jvalue.h) and jinja2's rules for undefined values, scoping (a for-loop iteration and a
 * macro call open a scope; if does not), namespaces and loop objects.
 *
 * Errors jump through the heap's jmp_buf; the message names line and column of the node being
 * evaluated. raise_exception(msg) fails with BOSON_ERR_INVALID_ARG and carries msg verbatim. */
#ifndef BOSON_TEXT_JINJA_EVAL_H
#define BOSON_TEXT_JINJA_EVAL_H

#include "text/jinja_parse.h"

#include <time.h>

typedef struct jscope {
    struct jscope *parent;
    size_t n, cap;
    const char **names;
    jv *vals;
} jscope;

typedef struct jloop {
    jv items; /* list being iterated */
    size_t index0;
    jv last_changed;
    int has_changed;
    size_t cycle_pos;
} jloop;

typedef struct jmacro {
    const jnode *def;
    jscope *closure;
} jmacro;

typedef struct jctx {
    jv_heap *h;
    const char *src;
    size_t src_len;
    size_t off; /* offset of the node being evaluated */
    int depth;  /* evaluation recursion depth */
    int max_depth;
    uint64_t steps, max_steps;
    size_t max_output;
    struct tm now; /* strftime_now's clock */
} jctx;

/* Positional and keyword arguments of a call. */
typedef struct jargs {
    jv *pos;
    size_t npos;
    const char **kwnames;
    jv *kw;
    size_t nkw;
} jargs;

/* Renders root with variables in globals; appends to out. */
void jinja_render(jctx *c, const jnode *root, jscope *globals, jv_buf *out);

/* Scopes. */
jscope *jscope_new(jv_heap *h, jscope *parent);
void jscope_set(jv_heap *h, jscope *s, const char *name, jv v);

/* Evaluator services used by the built-ins. */
_Noreturn void jx_fail(jctx *c, boson_status st, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));
/* Raises the error an undefined value carries ("'x' is undefined"). */
_Noreturn void jx_undefined_error(jctx *c, jv v);
jv jx_call(jctx *c, jv callee, const jargs *a);
/* jinja getattr (a.b): Python attribute (methods) first, then item. */
jv jx_getattr(jctx *c, jv obj, const char *name);
/* jinja getitem (a[b]): item first, then attribute for string keys. */
jv jx_getitem(jctx *c, jv obj, jv key);
/* Iterates like Python's iter(): list/tuple items, dict keys, string characters, nothing for
 * undefined; other types fail. Returns a list (the input itself when it is one). */
jv jx_iter_list(jctx *c, jv v);

/* Built-ins (jinja_builtins.c). */
jv jinja_apply_filter(jctx *c, int id, jv val, const jargs *a);
int jinja_apply_test(jctx *c, int id, jv val, const jargs *a);
/* Global functions: range, namespace, dict, raise_exception, strftime_now. -1 if unknown. */
int jinja_func_lookup(const char *name);
jv jinja_call_func(jctx *c, int id, const jargs *a);
/* Method of a str/list/dict/loop value; 0 when the type has no such attribute. */
int jinja_method_lookup(jctx *c, jv obj, const char *name, jv *out);
jv jinja_call_method(jctx *c, const jv_method *m, const jargs *a);

#endif
