/* Stop strings over a growing generated text: finds the earliest occurrence of any stop string
 * (also when it spans token boundaries) and says how much of the text is safe to release, holding
 * back a tail that may still become the start of a stop string. */
#ifndef BOSON_ENGINE_STOPSTR_H
#define BOSON_ENGINE_STOPSTR_H

#include "boson.h"

#include <stddef.h>

typedef struct bs_stopstr {
    char **s;
    size_t *len;
    size_t n;
    size_t max_len;
    size_t scanned; /* text length at the previous scan */
} bs_stopstr;

/* Copies the strings (empty ones are ignored). */
boson_status bs_stopstr_init(bs_stopstr *m, const char *const *stop, size_t n, boson_error *err);
void bs_stopstr_free(bs_stopstr *m);

/* text[0..n) is the whole generated text so far (it only grows). Returns the index of the stop
 * string found (earliest position, then the longest... first in the list) with *pos its offset,
 * or -1 with *safe the length of the prefix that can be released: it never ends inside a
 * possible stop-string start or inside a UTF-8 character. */
int bs_stopstr_scan(bs_stopstr *m, const char *text, size_t n, size_t *pos, size_t *safe);

#endif
