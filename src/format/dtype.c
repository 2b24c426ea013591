#include "format/dtype.h"

#include <string.h>

size_t bs_dtype_size(bs_dtype dt)
{
    switch (dt) {
    case BS_DT_F32: return 4;
    case BS_DT_F16: return 2;
    case BS_DT_BF16: return 2;
    case BS_DT_U32: return 4;
    case BS_DT_U8: return 1;
    case BS_DT_I32: return 4;
    case BS_DT_I64: return 8;
    case BS_DT_F8_E4M3: return 1;
    case BS_DT_F8_E8M0: return 1;
    case BS_DT_BOOL: return 1;
    case BS_DT_COUNT_: return 0;
    }
    return 0;
}

const char *bs_dtype_name(bs_dtype dt)
{
    switch (dt) {
    case BS_DT_F32: return "F32";
    case BS_DT_F16: return "F16";
    case BS_DT_BF16: return "BF16";
    case BS_DT_U32: return "U32";
    case BS_DT_U8: return "U8";
    case BS_DT_I32: return "I32";
    case BS_DT_I64: return "I64";
    case BS_DT_F8_E4M3: return "F8_E4M3";
    case BS_DT_F8_E8M0: return "F8_E8M0";
    case BS_DT_BOOL: return "BOOL";
    case BS_DT_COUNT_: return "?";
    }
    return "?";
}

int bs_dtype_parse(const char *s, bs_dtype *out)
{
    if (!s)
        return 0;
    for (int i = 0; i < (int)BS_DT_COUNT_; i++) {
        if (strcmp(s, bs_dtype_name((bs_dtype)i)) == 0) {
            *out = (bs_dtype)i;
            return 1;
        }
    }
    return 0;
}

int bs_dtype_is_float(bs_dtype dt)
{
    switch (dt) {
    case BS_DT_F32:
    case BS_DT_F16:
    case BS_DT_BF16: return 1;
    case BS_DT_U32:
    case BS_DT_U8:
    case BS_DT_I32:
    case BS_DT_I64:
    case BS_DT_F8_E4M3:
    case BS_DT_F8_E8M0:
    case BS_DT_BOOL:
    case BS_DT_COUNT_: return 0;
    }
    return 0;
}
