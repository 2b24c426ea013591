/* Element types that can appear in a safetensors file. */
#ifndef BOSON_FORMAT_DTYPE_H
#define BOSON_FORMAT_DTYPE_H

#include <stddef.h>

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

#endif
