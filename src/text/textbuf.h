/* Small growable buffers used by the text pipeline (bytes and token ids). */
#ifndef BOSON_TEXT_TEXTBUF_H
#define BOSON_TEXT_TEXTBUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct bs_bytes_buf {
    uint8_t *p;
    size_t n, cap;
} bs_bytes_buf;

/* Makes room for extra more bytes; returns 0 on allocation failure. */
static inline int bs_bytes_reserve(bs_bytes_buf *b, size_t extra)
{
    if (extra <= b->cap - b->n)
        return 1;
    if (extra > SIZE_MAX / 2 - b->n)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap - b->n < extra)
        cap *= 2;
    uint8_t *p = (uint8_t *)realloc(b->p, cap);
    if (!p)
        return 0;
    b->p = p;
    b->cap = cap;
    return 1;
}

static inline int bs_bytes_append(bs_bytes_buf *b, const void *src, size_t n)
{
    if (!bs_bytes_reserve(b, n))
        return 0;
    if (n)
        memcpy(b->p + b->n, src, n);
    b->n += n;
    return 1;
}

static inline void bs_bytes_free(bs_bytes_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

#endif
