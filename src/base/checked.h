/* Checked 64-bit shape and size arithmetic: a lying header must not overflow anything.
 * Each returns 1 on success (result stored) and 0 on overflow (result untouched). */
#ifndef BOSON_BASE_CHECKED_H
#define BOSON_BASE_CHECKED_H

#include <stdint.h>

static inline int bs_add_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    uint64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return 0;
    *out = r;
    return 1;
}

static inline int bs_mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    uint64_t r;
    if (__builtin_mul_overflow(a, b, &r))
        return 0;
    *out = r;
    return 1;
}

/* Product of n dimensions; 1 for n == 0 (a scalar). */
static inline int bs_prod_u64(const uint64_t *dims, int n, uint64_t *out)
{
    uint64_t r = 1;
    for (int i = 0; i < n; i++)
        if (!bs_mul_u64(r, dims[i], &r))
            return 0;
    *out = r;
    return 1;
}

#endif
