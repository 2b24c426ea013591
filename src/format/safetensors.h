/* safetensors reader: bounds-checked header parse, zero-copy tensor views into an mmap.
 * Accepts MLX's unaligned layout (no header padding, tensors back to back). */
#ifndef BOSON_FORMAT_SAFETENSORS_H
#define BOSON_FORMAT_SAFETENSORS_H

#include "boson.h"
#include "format/dtype.h"

#include <stddef.h>
#include <stdint.h>

#define BS_MAX_DIMS 8

typedef struct bs_tensor {
    char *name; /* as stored in the file (owned) */
    bs_dtype dtype;
    int ndim;
    uint64_t shape[BS_MAX_DIMS];
    uint64_t nbytes;     /* product(shape) * dtype size, checked */
    uint64_t offset;     /* absolute byte offset of the data in the file */
    const uint8_t *data; /* view into the mapping (may be unaligned) */
    const char *file;    /* path of the file holding it (owned by the bs_st_file) */
} bs_tensor;

typedef struct bs_st_file {
    char *path;
    uint8_t *map; /* whole file mapping (NULL for an in-memory parse) */
    uint64_t size;
    uint64_t header_len; /* N: JSON header length */
    bs_tensor *tensors;  /* sorted by name */
    size_t n_tensors;
} bs_st_file;

/* Parses a safetensors image held in memory (buf stays owned by the caller and must outlive
 * out). `path` is used in error messages. Validates: 8-byte length vs size, JSON object,
 * entry fields/types, known dtype, shape dims, data_offsets in range, end-begin ==
 * product(shape)*dtype size (checked 64-bit), no overlapping ranges, unique names.
 * On error returns BOSON_ERR_FORMAT with a message naming the file, the tensor and the
 * byte offset where relevant, and leaves out zeroed. */
boson_status bs_st_parse(const uint8_t *buf, uint64_t size, const char *path, bs_st_file *out,
                         boson_error *err);

/* Maps the file read-only and parses it. BOSON_ERR_IO if it cannot be opened or mapped. */
boson_status bs_st_open(const char *path, bs_st_file *out, boson_error *err);

/* Binary search by stored name; NULL if absent. */
const bs_tensor *bs_st_find(const bs_st_file *f, const char *name);

/* Unmaps and frees; safe on a zeroed struct. */
void bs_st_close(bs_st_file *f);

#endif
