/* Stop-string matching on generated text (see stopstr.h). */
#include "engine/stopstr.h"

#include "base/error.h"

#include <stdlib.h>
#include <string.h>

boson_status bs_stopstr_init(bs_stopstr *m, const char *const *stop, size_t n, boson_error *err)
{
    memset(m, 0, sizeof *m);
    if (!n)
        return BOSON_OK;
    if (!stop)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "stop strings: NULL list of %zu", n);
    m->s = calloc(n, sizeof *m->s);
    m->len = calloc(n, sizeof *m->len);
    if (!m->s || !m->len) {
        bs_stopstr_free(m);
        return bs_error_set(err, BOSON_ERR_NOMEM, "stop strings: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        if (!stop[i]) {
            bs_stopstr_free(m);
            return bs_error_set(err, BOSON_ERR_INVALID_ARG, "stop string %zu is NULL", i);
        }
        if (!stop[i][0])
            continue;
        m->s[m->n] = strdup(stop[i]);
        if (!m->s[m->n]) {
            bs_stopstr_free(m);
            return bs_error_set(err, BOSON_ERR_NOMEM, "stop strings: out of memory");
        }
        m->len[m->n] = strlen(stop[i]);
        if (m->len[m->n] > m->max_len)
            m->max_len = m->len[m->n];
        m->n++;
    }
    return BOSON_OK;
}

void bs_stopstr_free(bs_stopstr *m)
{
    if (m->s)
        for (size_t i = 0; i < m->n; i++)
            free(m->s[i]);
    free(m->s);
    free(m->len);
    memset(m, 0, sizeof *m);
}

int bs_stopstr_scan(bs_stopstr *m, const char *text, size_t n, size_t *pos, size_t *safe)
{
    int found = -1;
    size_t best = n;
    for (size_t i = 0; i < m->n; i++) {
        size_t L = m->len[i];
        if (!L || L > n)
            continue;
        /* a new match must end after the previous scan */
        size_t from = m->scanned >= L - 1 ? m->scanned - (L - 1) : 0;
        const char *hit = memmem(text + from, n - from, m->s[i], L);
        if (hit && (size_t)(hit - text) < best) {
            best = (size_t)(hit - text);
            found = (int)i;
        }
    }
    m->scanned = n;
    if (found >= 0) {
        *pos = best;
        *safe = best;
        return found;
    }
    /* hold the longest tail that is a proper prefix of some stop string */
    size_t hold = 0;
    for (size_t i = 0; i < m->n; i++) {
        size_t L = m->len[i];
        for (size_t k = (L - 1 < n ? L - 1 : n); k > hold; k--)
            if (!memcmp(text + n - k, m->s[i], k)) {
                hold = k;
                break;
            }
    }
    size_t cut = n - hold;
    while (cut > 0 && cut < n && ((unsigned char)text[cut] & 0xC0) == 0x80)
        cut--;
    *safe = cut;
    return -1;
}
