/* Growable byte buffer and a small JSON writer for responses and SSE events.
 *
 * Strings are escaped per RFC 8259; bytes that are not valid UTF-8 become U+FFFD, so
 * everything written is valid JSON whatever the model emits. Allocation failure is sticky:
 * the buffer records it (oom) and ignores later writes; callers check once at the end. */
#ifndef BOSON_SERVER_JW_H
#define BOSON_SERVER_JW_H

#include <stddef.h>
#include <stdint.h>

typedef struct sv_buf {
    char *p;
    size_t len, cap;
    int oom;
} sv_buf;

void sv_buf_put(sv_buf *b, const void *data, size_t n);
void sv_buf_puts(sv_buf *b, const char *s);
void sv_buf_printf(sv_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drops the first n bytes. */
void sv_buf_consume(sv_buf *b, size_t n);
void sv_buf_free(sv_buf *b);
/* NUL-terminated view of the contents ("" when empty or out of memory). */
const char *sv_buf_cstr(sv_buf *b);

/* Appends s[0..n) as a quoted JSON string. */
void sv_json_str(sv_buf *b, const char *s, size_t n);

enum { SV_JW_MAX_DEPTH = 32 };

typedef struct sv_jw {
    sv_buf *b;
    int depth;
    int after_key;
    unsigned char has_item[SV_JW_MAX_DEPTH];
} sv_jw;

void sv_jw_init(sv_jw *w, sv_buf *b);
void sv_jw_obj(sv_jw *w);
void sv_jw_obj_end(sv_jw *w);
void sv_jw_arr(sv_jw *w);
void sv_jw_arr_end(sv_jw *w);
void sv_jw_key(sv_jw *w, const char *key);
void sv_jw_str(sv_jw *w, const char *s);
void sv_jw_strn(sv_jw *w, const char *s, size_t n);
void sv_jw_int(sv_jw *w, int64_t v);
void sv_jw_num(sv_jw *w, double v); /* non-finite values are written as null */
void sv_jw_bool(sv_jw *w, int v);
void sv_jw_null(sv_jw *w);
/* Appends already-serialised JSON text as one value. */
void sv_jw_raw(sv_jw *w, const char *json, size_t n);

#endif
