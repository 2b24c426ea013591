/* Scalar reference kernels: the definition every SIMD kernel is tested against. */
#include "backend/cpu/qdecode.h"
#include "backend/cpu/qmatvec.h"

static float dense_elem(const bs_qmat *m, const uint8_t *row, uint64_t k)
{
    return bs_load_float_elem(row, k, m->fmt.dtype);
}

/* Element value (before scaling) of code i of a quantized row. */
static float qelem(const bs_wformat *f, const uint8_t *row, uint64_t i)
{
    switch (f->kind) {
    case BS_W_AFFINE: return (float)bs_qcode_get(row, i, f->bits);
    case BS_W_MXFP4:
    case BS_W_NVFP4: return bs_fp4_e2m1_table[bs_qcode_get(row, i, 4)];
    case BS_W_MXFP8: return bs_e4m3_to_f32(row[i]);
    case BS_W_DENSE: break;
    }
    return NAN;
}

void bs_qmat_dequant_span_ref(const bs_qmat *m, uint64_t row, uint64_t col_begin, uint64_t n,
                              float *out)
{
    const bs_wformat *f = &m->fmt;
    const uint8_t *wrow = m->w + row * bs_wformat_row_bytes(f, m->cols);
    if (f->kind == BS_W_DENSE) {
        for (uint64_t k = 0; k < n; k++)
            out[k] = dense_elem(m, wrow, col_begin + k);
        return;
    }
    uint64_t meta = row * bs_qmeta_row_bytes(f, m->cols);
    const uint8_t *srow = m->scales + meta;
    const uint8_t *brow = f->kind == BS_W_AFFINE ? m->biases + meta : NULL;
    uint64_t gs = (uint64_t)f->group_size;
    for (uint64_t k = 0; k < n; k++) {
        uint64_t i = col_begin + k, g = i / gs;
        float s = bs_qscale_get(f, srow, g);
        float q = qelem(f, wrow, i);
        if (brow) {
            float b = bs_load_float_elem(brow, g, f->dtype);
            float sq = s * q; /* product, then sum: no fused multiply-add */
            out[k] = sq + b;
        } else {
            out[k] = q * s;
        }
    }
}

void bs_qmat_dequant_row(const bs_qmat *m, uint64_t row, float *out)
{
    bs_qmat_dequant_span_ref(m, row, 0, m->cols, out);
}

static float matvec_row(const bs_qmat *m, const float *x, uint64_t r)
{
    const bs_wformat *f = &m->fmt;
    const uint8_t *wrow = m->w + r * bs_wformat_row_bytes(f, m->cols);
    float y = 0.0f;
    if (f->kind == BS_W_DENSE) {
        for (uint64_t k = 0; k < m->cols; k++)
            y += dense_elem(m, wrow, k) * x[k];
        return y;
    }
    uint64_t meta = r * bs_qmeta_row_bytes(f, m->cols);
    const uint8_t *srow = m->scales + meta;
    uint64_t gs = (uint64_t)f->group_size, ng = m->cols / gs;
    for (uint64_t g = 0; g < ng; g++) {
        const float *xg = x + g * gs;
        float s = bs_qscale_get(f, srow, g), acc = 0.0f;
        if (f->kind == BS_W_AFFINE) {
            float xsum = 0.0f;
            for (uint64_t i = 0; i < gs; i++) {
                acc += xg[i] * (float)bs_qcode_get(wrow, g * gs + i, f->bits);
                xsum += xg[i];
            }
            float b = bs_load_float_elem(m->biases + meta, g, f->dtype);
            y += s * acc + b * xsum;
        } else {
            for (uint64_t i = 0; i < gs; i++)
                acc += xg[i] * qelem(f, wrow, g * gs + i);
            y += s * acc;
        }
    }
    return y;
}

void bs_qmat_matvec_ref(const bs_qmat *m, const float *x, float *y, uint64_t row_begin,
                        uint64_t row_end)
{
    for (uint64_t r = row_begin; r < row_end; r++)
        y[r] = matvec_row(m, x, r);
}

float bs_dot_ref(const float *a, const float *b, uint64_t n)
{
    float s = 0.0f;
    for (uint64_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}
