#include "text/bytelevel.h"

#include "text/utf8.h"

static int byte_is_printable(unsigned b)
{
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

uint32_t bs_bytelevel_char(uint8_t b)
{
    if (byte_is_printable(b))
        return b;
    /* Remapped bytes in increasing order: 0x00-0x20 (33), 0x7F-0xA0 (34), 0xAD (1). */
    if (b <= 0x20)
        return 0x100u + b;
    if (b >= 0x7F && b <= 0xA0)
        return 0x100u + 33u + (uint32_t)(b - 0x7F);
    return 0x100u + 67u; /* 0xAD */
}

int bs_bytelevel_byte(uint32_t cp)
{
    if (cp < 0x100)
        return byte_is_printable(cp) ? (int)cp : -1;
    if (cp > 0x143)
        return -1;
    uint32_t k = cp - 0x100;
    if (k <= 32)
        return (int)k;
    if (k <= 66)
        return (int)(0x7F + (k - 33));
    return 0xAD;
}

long bs_bytelevel_to_bytes(const char *s, size_t n, uint8_t *out)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t i = 0, o = 0;
    while (i < n) {
        uint32_t cp;
        size_t len;
        if (bs_utf8_decode(p + i, n - i, &cp, &len) != BS_UTF8_OK)
            return -1;
        int b = bs_bytelevel_byte(cp);
        if (b < 0)
            return -1;
        out[o++] = (uint8_t)b;
        i += len;
    }
    return (long)o;
}
