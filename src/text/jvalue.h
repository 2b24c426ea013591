/* Values of the chat-template interpreter: Python-like null/bool/int/float/str/list/tuple/dict
 * plus the interpreter's own objects (undefined, namespace, loop, macro, callables).
 *
 * Every value lives in a jv_heap: an arena with a byte limit that is freed as a whole when a
 * render ends, so values are plain structs copied by value with no ownership rules. Any failure
 * inside the heap or a value operation (limit reached, type error, nesting too deep) jumps to
 * the jmp_buf installed by the caller with the message stored in the heap; nothing leaks because
 * everything was allocated from the heap.
 *
 * Strings are UTF-8 (validated on entry), length-delimited (they may contain NUL) and also
 * NUL-terminated for convenience. Formatting follows CPython: str(), repr(), and
 * json.dumps(..., ensure_ascii=False) as Hugging Face's tojson filter calls it. */
#ifndef BOSON_TEXT_JVALUE_H
#define BOSON_TEXT_JVALUE_H

#include "boson.h"

#include <jansson.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

typedef enum jv_kind {
    JV_UNDEFINED, /* missing variable/attribute: renders empty, falsy, errors on most use */
    JV_NONE,
    JV_BOOL,
    JV_INT,
    JV_FLOAT,
    JV_STRING,
    JV_LIST, /* also tuples (flag JV_FLAG_TUPLE) */
    JV_DICT,
    JV_NAMESPACE, /* jinja namespace(): a dict with attribute assignment */
    JV_LOOP,      /* the `loop` object of a for loop */
    JV_MACRO,     /* a template macro */
    JV_FUNC,      /* a global function (range, namespace, raise_exception, ...) */
    JV_METHOD     /* a bound method of a str/list/dict/loop value */
} jv_kind;

enum { JV_FLAG_TUPLE = 1 };

typedef struct jv_str {
    size_t len;
    char s[]; /* len bytes + NUL */
} jv_str;

struct jv_list;
struct jv_dict;
struct jv_method;

typedef struct jv {
    uint8_t kind; /* jv_kind */
    uint8_t flags;
    uint16_t aux; /* JV_FUNC: function id */
    union {
        int b;
        int64_t i;
        double f;
        const jv_str *s;
        struct jv_list *l;
        struct jv_dict *d;
        struct jv_method *m;
        const char *hint; /* JV_UNDEFINED: "'x' is undefined" (may be NULL) */
        void *p;          /* JV_LOOP, JV_MACRO: interpreter objects */
    } u;
} jv;

typedef struct jv_list {
    size_t len, cap;
    jv *v;
} jv_list;

typedef struct jv_dict {
    size_t len, cap;
    jv *k;
    jv *v;
} jv_dict;

typedef struct jv_method {
    jv self;
    int id; /* interpreter-defined method id */
    const char *name;
} jv_method;

typedef struct jv_heap_block jv_heap_block;

typedef struct jv_heap {
    jv_heap_block *head;
    size_t used, limit;
    int depth_limit;     /* nesting limit for recursive value operations */
    jmp_buf *jb;         /* where failures jump (must be set before any allocation) */
    boson_status status; /* status of the failure */
    char msg[768];       /* message of the failure */
} jv_heap;

void jv_heap_init(jv_heap *h, size_t limit);
void jv_heap_free(jv_heap *h);
/* Zeroed memory; jumps on limit. */
void *jv_alloc(jv_heap *h, size_t n);
_Noreturn void jv_fail(jv_heap *h, boson_status st, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));

/* ---- constructors ---- */
jv jv_undef(const char *hint);
jv jv_none(void);
jv jv_bool(int b);
jv jv_int(int64_t i);
jv jv_float(double f);
jv jv_str_n(jv_heap *h, const char *s, size_t n);
jv jv_str_c(jv_heap *h, const char *s);
jv jv_list_new(jv_heap *h, size_t cap);
void jv_list_push(jv_heap *h, jv list, jv item);
jv jv_dict_new(jv_heap *h, size_t cap);
/* Python dict assignment: replaces the value of an equal key in place, else appends. */
void jv_dict_set(jv_heap *h, jv dict, jv key, jv val);
/* Returns 1 and *out when key is present. */
int jv_dict_get(jv_heap *h, jv dict, jv key, jv *out);
int jv_dict_get_s(jv dict, const char *key, size_t klen, jv *out);

/* From jansson; strings are validated as UTF-8, nesting bounded by the heap's depth_limit. */
jv jv_from_json(jv_heap *h, const json_t *j);

/* ---- Python semantics ---- */
const char *jv_type_name(jv v); /* 'NoneType', 'int', 'str', 'dict', ... */
int jv_truthy(jv v);
int jv_is_number(jv v); /* bool, int, float */
double jv_as_double(jv v);
/* Python ==. */
int jv_equal(jv_heap *h, jv a, jv b);
/* Python ordering: returns <0, 0, >0; jumps with a TypeError-like message when unordered. */
int jv_compare(jv_heap *h, jv a, jv b, const char *op);
int jv_hashable(jv v);

/* ---- text output (growable buffer in the heap) ---- */
typedef struct jv_buf {
    jv_heap *h;
    char *p;
    size_t len, cap, limit; /* limit: jumps when exceeded */
} jv_buf;
void jv_buf_init(jv_buf *b, jv_heap *h, size_t limit);
void jv_buf_put(jv_buf *b, const char *s, size_t n);
void jv_buf_putc(jv_buf *b, char c);
void jv_buf_puts(jv_buf *b, const char *s);
jv jv_buf_to_str(jv_buf *b);

/* str(v) appended to b (undefined → nothing). */
void jv_write_str(jv_buf *b, jv v);
/* repr(v) appended to b. */
void jv_write_repr(jv_buf *b, jv v);
/* str(v) as a value (strings returned as is). */
jv jv_to_str(jv_heap *h, jv v);

typedef struct jv_json_opts {
    int ensure_ascii;
    int indent;             /* < 0: none (compact one-line form) */
    const char *indent_str; /* when non-NULL, used instead of indent spaces */
    const char *item_sep;   /* NULL: ", " (or "," with indent) */
    const char *key_sep;    /* NULL: ": " */
    int sort_keys;
} jv_json_opts;
/* json.dumps(v, ...) appended to b; jumps on values JSON cannot hold. */
void jv_write_json(jv_buf *b, jv v, const jv_json_opts *o);

/* Python float repr ("1.0", "1e-05", "inf"); out must hold 32 bytes. */
void jv_float_repr(double f, char *out);

/* ---- UTF-8 helpers ---- */
/* Decodes one code point at s[*i] (input known valid), advancing *i. */
uint32_t jv_utf8_next(const char *s, size_t n, size_t *i);
size_t jv_utf8_encode(uint32_t cp, char out[4]);
/* Offset of the first invalid byte, or n when s is valid UTF-8 (no surrogates). */
size_t jv_utf8_check(const char *s, size_t n);
size_t jv_utf8_count(const char *s, size_t n);
/* Python str.isspace() for one code point. */
int jv_isspace(uint32_t cp);

#endif
