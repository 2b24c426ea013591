#include "text/normalize.h"

#include "text/utf8.h"

#include <utf8proc.h>

static utf8proc_option_t form_options(bs_norm_form f)
{
    switch (f) {
    case BS_NORM_NFC: return UTF8PROC_STABLE | UTF8PROC_COMPOSE;
    case BS_NORM_NFD: return UTF8PROC_STABLE | UTF8PROC_DECOMPOSE;
    case BS_NORM_NFKC: return UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
    case BS_NORM_NFKD: return UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
    }
    return UTF8PROC_STABLE | UTF8PROC_COMPOSE;
}

/* Normalises a (short) piece with utf8proc and appends it. */
static int map_append(const uint8_t *s, size_t n, bs_norm_form f, bs_bytes_buf *out)
{
    if (n == 0)
        return 1;
    utf8proc_uint8_t *dst = NULL;
    utf8proc_ssize_t r = utf8proc_map(s, (utf8proc_ssize_t)n, &dst, form_options(f));
    if (r < 0) {
        free(dst);
        /* Input is valid UTF-8, so the only failure left is memory. */
        return 0;
    }
    int ok = bs_bytes_append(out, dst, (size_t)r);
    free(dst);
    return ok;
}

/* Nothing composes with, decomposes or reorders across an inert code point (see header). */
static int nfc_inert(uint32_t cp)
{
    if (cp < 0x300) /* no code point below U+0300 is NFC_QC=No or a composition's second */
        return 1;
    if ((cp >= 0x1161 && cp <= 0x1175) || (cp >= 0x11A8 && cp <= 0x11C2))
        return 0;
    const utf8proc_property_t *p = utf8proc_get_property((utf8proc_int32_t)cp);
    if (p->combining_class != 0)
        return 0;
    if (p->category == UTF8PROC_CATEGORY_MN || p->category == UTF8PROC_CATEGORY_MC ||
        p->category == UTF8PROC_CATEGORY_ME)
        return 0;
    if (p->decomp_seqindex != UINT16_MAX && p->decomp_type == 0)
        return 0;
    return 1;
}

static int nfc_append(const uint8_t *s, size_t n, bs_bytes_buf *out)
{
    size_t copied = 0, group = 0, i = 0;
    while (i < n) {
        if (s[i] < 0x80) {
            group = i++;
            continue;
        }
        uint32_t cp;
        size_t len;
        bs_utf8_decode(s + i, n - i, &cp, &len);
        if (nfc_inert(cp)) {
            group = i;
            i += len;
            continue;
        }
        /* s[group..j): the preceding inert code point plus every non-inert one after it. */
        size_t j = i + len;
        while (j < n) {
            if (s[j] < 0x80)
                break;
            bs_utf8_decode(s + j, n - j, &cp, &len);
            if (nfc_inert(cp))
                break;
            j += len;
        }
        if (!bs_bytes_append(out, s + copied, group - copied))
            return 0;
        if (!map_append(s + group, j - group, BS_NORM_NFC, out))
            return 0;
        copied = j;
        group = j;
        i = j;
    }
    return bs_bytes_append(out, s + copied, n - copied);
}

static int step_append(bs_norm_form f, const uint8_t *s, size_t n, bs_bytes_buf *out)
{
    if (f == BS_NORM_NFC)
        return nfc_append(s, n, out);
    return map_append(s, n, f, out);
}

int bs_normalize_append(const bs_normalizer *norm, const uint8_t *s, size_t n, bs_bytes_buf *out,
                        bs_bytes_buf *tmp)
{
    if (norm->n_steps == 0)
        return bs_bytes_append(out, s, n);
    if (norm->n_steps == 1)
        return step_append(norm->steps[0], s, n, out);
    /* Several steps: ping-pong between tmp and a second scratch, last step into out. */
    bs_bytes_buf a = {0}, *cur = tmp;
    tmp->n = 0;
    if (!step_append(norm->steps[0], s, n, cur))
        return 0;
    for (int k = 1; k < norm->n_steps - 1; k++) {
        bs_bytes_buf *dst = (cur == tmp) ? &a : tmp;
        dst->n = 0;
        if (!step_append(norm->steps[k], cur->p, cur->n, dst)) {
            bs_bytes_free(&a);
            return 0;
        }
        cur = dst;
    }
    int ok = step_append(norm->steps[norm->n_steps - 1], cur->p, cur->n, out);
    bs_bytes_free(&a);
    return ok;
}
