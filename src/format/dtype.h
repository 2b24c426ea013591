/* Element types that can appear in a safetensors file. */
#ifndef BOSON_FORMAT_DTYPE_H
#define BOSON_FORMAT_DTYPE_H

#include "base/bytes.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>

typedef enum bs_dtype {
    BS_DT_F32,
    BS_DT_F16,
    BS_DT_BF16,
    BS_DT_U32,
    BS_DT_U8,
    BS_DT_I32,
    BS_DT_I64,
    BS_DT_F8_E4M3,
    BS_DT_F8_E8M0,
    BS_DT_BOOL,
    BS_DT_COUNT_ /* not a dtype */
} bs_dtype;

/* Size of one element in bytes (0 for BS_DT_COUNT_). */
size_t bs_dtype_size(bs_dtype dt);
/* The safetensors spelling ("BF16", ...). */
const char *bs_dtype_name(bs_dtype dt);
/* Parses a safetensors dtype string; returns 0 if unknown. */
int bs_dtype_parse(const char *s, bs_dtype *out);
/* 1 for F32/F16/BF16. */
int bs_dtype_is_float(bs_dtype dt);

/* Element i of a float array of dtype F32/F16/BF16 (anything else reads as NaN). */
static inline float bs_load_float_elem(const uint8_t *base, uint64_t i, bs_dtype dt)
{
    switch (dt) {
    case BS_DT_F32: return bs_load_f32(base + i * 4);
    case BS_DT_F16: return bs_f16_to_f32(bs_load_u16(base + i * 2));
    case BS_DT_BF16: return bs_bf16_to_f32(bs_load_u16(base + i * 2));
    case BS_DT_U32:
    case BS_DT_U8:
    case BS_DT_I32:
    case BS_DT_I64:
    case BS_DT_F8_E4M3:
    case BS_DT_F8_E8M0:
    case BS_DT_BOOL:
    case BS_DT_COUNT_: break;
    }
    return NAN;
}

#endif
