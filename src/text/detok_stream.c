#include "text/detok_stream.h"

#include "text/utf8.h"

#include <string.h>

static const uint8_t REPLACEMENT[3] = {0xEF, 0xBF, 0xBD};

void bs_detok_init(bs_detok *d, const bs_tokenizer *tok, unsigned flags)
{
    memset(d, 0, sizeof *d);
    d->tok = tok;
    d->flags = flags;
}

boson_status bs_detok_feed(bs_detok *d, int32_t id, bs_bytes_buf *out, boson_error *err)
{
    size_t n;
    const uint8_t *s = bs_tokenizer_token_bytes(d->tok, id, &n);
    if (!s)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG,
                            "tokenizer: stream decode: id %ld is not a token", (long)id);
    if ((d->flags & BS_DECODE_SKIP_SPECIAL) && bs_tokenizer_is_special(d->tok, id))
        return BOSON_OK;
    /* worst case: every held and new byte becomes U+FFFD */
    if (!bs_bytes_reserve(out, 3 * (n + d->n_pend)))
        return bs_error_set(err, BOSON_ERR_NOMEM, "tokenizer: stream decode: out of memory");
    size_t i = 0;
    /* First finish the held sequence with bytes of this token (one at a time: at most 3). */
    while (d->n_pend && i < n) {
        d->pend[d->n_pend++] = s[i++];
        uint32_t cp;
        size_t len;
        bs_utf8_result r = bs_utf8_decode(d->pend, d->n_pend, &cp, &len);
        if (r == BS_UTF8_INCOMPLETE)
            continue;
        if (r == BS_UTF8_OK) {
            memcpy(out->p + out->n, d->pend, len);
            out->n += len;
            d->n_pend = 0;
            break;
        }
        /* invalid: the held prefix (len bytes) becomes U+FFFD; the rest is looked at again */
        memcpy(out->p + out->n, REPLACEMENT, 3);
        out->n += 3;
        size_t rest = d->n_pend - len;
        i -= rest; /* those bytes all came from s, since the held prefix alone was incomplete */
        d->n_pend = 0;
        break;
    }
    if (d->n_pend) /* token exhausted, still incomplete */
        return BOSON_OK;
    /* Then the rest of the token: emit complete text, hold an unfinished tail. */
    while (i < n) {
        size_t ok = bs_utf8_valid_prefix(s + i, n - i);
        memcpy(out->p + out->n, s + i, ok);
        out->n += ok;
        i += ok;
        if (i >= n)
            break;
        uint32_t cp;
        size_t len;
        bs_utf8_result r = bs_utf8_decode(s + i, n - i, &cp, &len);
        if (r == BS_UTF8_INCOMPLETE) {
            memcpy(d->pend, s + i, len);
            d->n_pend = len;
            break;
        }
        memcpy(out->p + out->n, REPLACEMENT, 3);
        out->n += 3;
        i += len;
    }
    return BOSON_OK;
}

boson_status bs_detok_flush(bs_detok *d, bs_bytes_buf *out, boson_error *err)
{
    if (!d->n_pend)
        return BOSON_OK;
    if (!bs_bytes_append(out, REPLACEMENT, 3))
        return bs_error_set(err, BOSON_ERR_NOMEM, "tokenizer: stream decode: out of memory");
    d->n_pend = 0;
    return BOSON_OK;
}
