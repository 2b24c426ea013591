/* Shared pieces of the built-ins (internal to src/text/jinja_*.c): argument binding and the
 * Python str operations used by filters and methods alike. */
#ifndef BOSON_TEXT_JINJA_BUILTINS_H
#define BOSON_TEXT_JINJA_BUILTINS_H

#include "text/jinja_eval.h"

/* jb_bind leaves out[i].kind == ARG_MISSING for parameters not given. */
enum { ARG_MISSING = 0xFF };

/* Binds positional and keyword arguments to the NULL-terminated parameter names; fails on
 * too many, unknown or repeated arguments. `what` names the callee in messages. */
void jb_bind(jctx *c, const char *what, const jargs *a, const char *const *params, jv *out);
int jb_given(jv v);
jv jb_or_default(jv v, jv d);
const jv_str *jb_need_str(jctx *c, jv v, const char *what);
int64_t jb_need_int(jctx *c, jv v, const char *what);
/* Python ordering; undefined operands raise their undefined error. */
int jb_cmp_values(jctx *c, jv a, jv b, const char *op);

/* A string decoded to code points. */
typedef struct cps {
    uint32_t *cp;
    size_t *off; /* byte offset of each code point, off[n] = len */
    size_t n;
} cps;

cps jstr_decode(jctx *c, const jv_str *s);
/* str.strip/lstrip/rstrip(chars); chars missing or None: Unicode whitespace. */
jv jstr_strip(jctx *c, jv v, jv chars, int left, int right);
/* str.lower() (mode 0) / str.upper() (mode 1), simple case mapping. */
jv jstr_case_map(jctx *c, jv v, int mode);
int jstr_is_cased(uint32_t cp);
/* str.title() (method 1) / str.capitalize() (method 2). */
jv jstr_title(jctx *c, jv v, int method);
/* jinja's title filter (words start after [-\s({[<]). */
jv jstr_filter_title(jctx *c, jv v);
const char *jstr_find_bytes(const jv_str *h, size_t from, const jv_str *n);
jv jstr_replace(jctx *c, jv v, jv oldv, jv newv, jv countv);
/* str.split / str.rsplit (from_right) with sep and maxsplit (missing/None allowed). */
jv jstr_split(jctx *c, jv v, jv sepv, jv maxv, int from_right);
jv jstr_splitlines(jctx *c, jv v, int keepends);
int jstr_prefix_match(jctx *c, const jv_str *s, jv arg, int suffix);
int64_t jstr_cp_index_of(const jv_str *s, size_t byte_off);
/* sep.join(str(x) for x in seq) */
jv jstr_join(jctx *c, jv sep, jv seq);
jv jstr_html_escape(jctx *c, jv v);
/* Python int(s) (1, 0 when invalid, -1 beyond 64 bits) and float(s) (1 or 0). */
int jstr_parse_int(const jv_str *s, int64_t *out);
int jstr_parse_float(jctx *c, const jv_str *s, double *out);
/* str.find / str.rfind: code-point index or -1. */
jv jstr_find(jctx *c, const jv_str *s, jv sub, int from_right);
/* str.isalnum (0), isalpha (1), isdigit (2), isspace (3). */
int jstr_all(jctx *c, const jv_str *s, int kind);
/* str(v).islower() (upper 0) / isupper() (upper 1). */
int jstr_all_case(jctx *c, jv v, int upper);

#endif
