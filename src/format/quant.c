/* Storage-format helpers for quantized and dense weight matrices (see quant.h and
 * reference/mlx-format.md §6-§9). */
#include "format/quant.h"

#include "base/checked.h"
#include "base/error.h"

#include <stdio.h>

/* Size in bytes of one scale (and bias) element, 0 for dense. */
static uint64_t scale_elem_size(const bs_wformat *f)
{
    switch (f->kind) {
    case BS_W_DENSE: return 0;
    case BS_W_AFFINE: return (uint64_t)bs_dtype_size(f->dtype);
    case BS_W_MXFP4:
    case BS_W_NVFP4:
    case BS_W_MXFP8: return 1;
    }
    return 0;
}

static const char *float_dtype_short(bs_dtype dt)
{
    switch (dt) {
    case BS_DT_F32: return "f32";
    case BS_DT_F16: return "f16";
    case BS_DT_BF16: return "bf16";
    case BS_DT_U32:
    case BS_DT_U8:
    case BS_DT_I32:
    case BS_DT_I64:
    case BS_DT_F8_E4M3:
    case BS_DT_F8_E8M0:
    case BS_DT_BOOL:
    case BS_DT_COUNT_: break;
    }
    return "?";
}

const char *bs_wformat_str(const bs_wformat *f, char *buf, int bufsize)
{
    if (!buf || bufsize <= 0)
        return "";
    switch (f->kind) {
    case BS_W_DENSE: snprintf(buf, (size_t)bufsize, "%s", float_dtype_short(f->dtype)); break;
    case BS_W_AFFINE:
        if (f->dtype == BS_DT_BF16)
            snprintf(buf, (size_t)bufsize, "affine%d/g%d", f->bits, f->group_size);
        else
            snprintf(buf, (size_t)bufsize, "affine%d/g%d/%s", f->bits, f->group_size,
                     float_dtype_short(f->dtype));
        break;
    case BS_W_MXFP4: snprintf(buf, (size_t)bufsize, "mxfp4"); break;
    case BS_W_NVFP4: snprintf(buf, (size_t)bufsize, "nvfp4"); break;
    case BS_W_MXFP8: snprintf(buf, (size_t)bufsize, "mxfp8"); break;
    }
    return buf;
}

int bs_wformat_equal(const bs_wformat *a, const bs_wformat *b)
{
    return a->kind == b->kind && a->bits == b->bits && a->group_size == b->group_size &&
           a->dtype == b->dtype;
}

uint64_t bs_wformat_row_bytes(const bs_wformat *f, uint64_t cols)
{
    uint64_t bits_total;
    if (f->bits <= 0 || !bs_mul_u64(cols, (uint64_t)f->bits, &bits_total))
        return 0;
    return bits_total / 8 + (bits_total % 8 != 0);
}

uint64_t bs_wformat_matrix_bytes(const bs_wformat *f, uint64_t rows, uint64_t cols)
{
    uint64_t row_bytes = bs_wformat_row_bytes(f, cols), total;
    if (row_bytes == 0 && cols != 0)
        return 0;
    if (!bs_mul_u64(rows, row_bytes, &total))
        return 0;
    uint64_t es = scale_elem_size(f);
    if (es == 0)
        return total;
    if (f->group_size <= 0)
        return 0;
    uint64_t per_row = cols / (uint64_t)f->group_size, meta;
    if (!bs_mul_u64(rows, per_row, &meta) || !bs_mul_u64(meta, es, &meta))
        return 0;
    if (f->kind == BS_W_AFFINE && !bs_mul_u64(meta, 2, &meta))
        return 0;
    if (!bs_add_u64(total, meta, &total))
        return 0;
    return total;
}

boson_status bs_wformat_check(const bs_wformat *f, boson_error *err)
{
    switch (f->kind) {
    case BS_W_DENSE:
        if ((f->dtype == BS_DT_F32 && f->bits == 32) ||
            ((f->dtype == BS_DT_F16 || f->dtype == BS_DT_BF16) && f->bits == 16))
            return BOSON_OK;
        return bs_error_set(err, BOSON_ERR_UNSUPPORTED,
                            "dense weight format: dtype %s with %d bits is not F32/F16/BF16",
                            bs_dtype_name(f->dtype), f->bits);
    case BS_W_AFFINE:
        if (f->bits != 2 && f->bits != 3 && f->bits != 4 && f->bits != 5 && f->bits != 6 &&
            f->bits != 8)
            return bs_error_set(err, BOSON_ERR_UNSUPPORTED,
                                "affine format: bits %d not in {2,3,4,5,6,8}", f->bits);
        if (f->group_size != 32 && f->group_size != 64 && f->group_size != 128)
            return bs_error_set(err, BOSON_ERR_UNSUPPORTED,
                                "affine format: group size %d not in {32,64,128}", f->group_size);
        if (f->dtype != BS_DT_F32 && f->dtype != BS_DT_F16 && f->dtype != BS_DT_BF16)
            return bs_error_set(err, BOSON_ERR_UNSUPPORTED,
                                "affine format: scales dtype %s is not F32/F16/BF16",
                                bs_dtype_name(f->dtype));
        return BOSON_OK;
    case BS_W_MXFP4:
    case BS_W_NVFP4:
    case BS_W_MXFP8: {
        int want_bits = f->kind == BS_W_MXFP8 ? 8 : 4;
        int want_group = f->kind == BS_W_NVFP4 ? 16 : 32;
        if (f->bits != want_bits || f->group_size != want_group || f->dtype != BS_DT_U8) {
            char name[32];
            return bs_error_set(err, BOSON_ERR_UNSUPPORTED,
                                "%s format: got bits %d group %d scales %s, want bits %d group "
                                "%d scales U8",
                                bs_wformat_str(f, name, (int)sizeof name), f->bits, f->group_size,
                                bs_dtype_name(f->dtype), want_bits, want_group);
        }
        return BOSON_OK;
    }
    }
    return bs_error_set(err, BOSON_ERR_INVALID_ARG, "weight format: unknown kind %d", (int)f->kind);
}

boson_status bs_qmat_check(const bs_qmat *m, boson_error *err)
{
    boson_status st = bs_wformat_check(&m->fmt, err);
    if (st != BOSON_OK)
        return st;
    if (m->fmt.kind != BS_W_DENSE && m->cols % (uint64_t)m->fmt.group_size != 0)
        return bs_error_set(err, BOSON_ERR_FORMAT,
                            "quantized matrix: %llu input columns not a multiple of group size %d",
                            (unsigned long long)m->cols, m->fmt.group_size);
    if (bs_wformat_matrix_bytes(&m->fmt, m->rows, m->cols) == 0 && m->rows != 0 && m->cols != 0)
        return bs_error_set(err, BOSON_ERR_FORMAT, "matrix %llu x %llu: size overflows 64 bits",
                            (unsigned long long)m->rows, (unsigned long long)m->cols);
    if (!m->w || (m->fmt.kind != BS_W_DENSE && !m->scales) ||
        (m->fmt.kind == BS_W_AFFINE && !m->biases))
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "matrix: missing codes, scales or biases");
    return BOSON_OK;
}

boson_status bs_qmat_slice_expert(const bs_qmat *stack, uint64_t e, uint64_t rows_per_expert,
                                  bs_qmat *out, boson_error *err)
{
    uint64_t first_row, end_row, row_bytes = bs_wformat_row_bytes(&stack->fmt, stack->cols);
    if (rows_per_expert == 0 || !bs_mul_u64(e, rows_per_expert, &first_row) ||
        !bs_add_u64(first_row, rows_per_expert, &end_row) || end_row > stack->rows)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG,
                            "expert %llu of %llu rows each is outside the stack of %llu rows",
                            (unsigned long long)e, (unsigned long long)rows_per_expert,
                            (unsigned long long)stack->rows);
    uint64_t w_off, meta_off = 0;
    if (!bs_mul_u64(first_row, row_bytes, &w_off))
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "expert %llu: code offset overflows",
                            (unsigned long long)e);
    uint64_t es = scale_elem_size(&stack->fmt);
    if (es != 0) {
        uint64_t per_row = stack->cols / (uint64_t)stack->fmt.group_size;
        if (!bs_mul_u64(first_row, per_row, &meta_off) || !bs_mul_u64(meta_off, es, &meta_off))
            return bs_error_set(err, BOSON_ERR_INVALID_ARG, "expert %llu: scale offset overflows",
                                (unsigned long long)e);
    }
    *out = *stack;
    out->rows = rows_per_expert;
    out->w = stack->w + w_off;
    out->scales = stack->scales ? stack->scales + meta_off : NULL;
    out->biases = stack->biases ? stack->biases + meta_off : NULL;
    return BOSON_OK;
}
