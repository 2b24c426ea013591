/* Resolved storage format of one weight matrix (or stack of matrices).
 * Every weight of a checkpoint gets exactly one of these at load time, decided on its own
 * (explicit config entry, else presence of .scales) and cross-checked against the tensors. */
#ifndef BOSON_FORMAT_QUANT_H
#define BOSON_FORMAT_QUANT_H

#include "boson.h"
#include "format/dtype.h"

#include <stdint.h>

typedef enum bs_wkind {
    BS_W_DENSE,  /* plain float weight: dtype F32/F16/BF16 */
    BS_W_AFFINE, /* w = scale*q + bias; bits 2,3,4,5,6,8; group 32,64,128 */
    BS_W_MXFP4,  /* E2M1 codes, group 32, E8M0 scales, no biases */
    BS_W_NVFP4,  /* E2M1 codes, group 16, E4M3 scales, no biases */
    BS_W_MXFP8   /* E4M3 codes, group 32, E8M0 scales, no biases */
} bs_wkind;

typedef struct bs_wformat {
    bs_wkind kind;
    int bits;       /* code width; 16/32 for dense (element size in bits) */
    int group_size; /* elements per scale group along the input axis; 0 for dense */
    bs_dtype dtype; /* dense: weight dtype; affine: scales/biases dtype; fp modes: U8 */
} bs_wformat;

/* A view of one quantized or dense matrix [rows, cols] (cols = input width K), or of the
 * matrix `index` of a stack. Pointers point into the mapped checkpoint and may be
 * unaligned. Row r's codes start at w + r * row_bytes; its scales (and biases) at
 * scales + r * (cols / group_size) * scale_elem_size. */
typedef struct bs_qmat {
    bs_wformat fmt;
    uint64_t rows;
    uint64_t cols;
    const uint8_t *w;      /* codes (U32 words as bytes) or dense elements */
    const uint8_t *scales; /* NULL for dense */
    const uint8_t *biases; /* affine only, else NULL */
} bs_qmat;

/* "affine4/g64", "mxfp4", "nvfp4", "mxfp8", "bf16", ... (static storage). Writes into buf. */
const char *bs_wformat_str(const bs_wformat *f, char *buf, int bufsize);
/* 1 if both describe the same storage format (kind, bits, group, dtype). */
int bs_wformat_equal(const bs_wformat *a, const bs_wformat *b);
/* Bytes of one row of codes for `cols` inputs (cols*bits/8 for quantized, cols*elem for dense);
 * 0 on overflow. */
uint64_t bs_wformat_row_bytes(const bs_wformat *f, uint64_t cols);
/* Total bytes (codes + scales + biases) of a rows x cols matrix; 0 on overflow. */
uint64_t bs_wformat_matrix_bytes(const bs_wformat *f, uint64_t rows, uint64_t cols);

/* BOSON_OK if the (kind, bits, group, dtype) combination is one MLX can write. */
boson_status bs_wformat_check(const bs_wformat *f, boson_error *err);
/* Format check plus cols % group == 0, size without overflow and non-NULL pointers. */
boson_status bs_qmat_check(const bs_qmat *m, boson_error *err);
/* View of expert e of a stacked [E, rows_per_expert, cols] matrix (stack->rows = E * rows):
 * plain pointer offsets, computed with checked arithmetic. Fails if e is out of range. */
boson_status bs_qmat_slice_expert(const bs_qmat *stack, uint64_t e, uint64_t rows_per_expert,
                                  bs_qmat *out, boson_error *err);

#endif
