/* Read-only whole-file memory mapping (MAP_PRIVATE, PROT_READ, no read-ahead advice).
 * Mapping touches no data pages: a 20 GB shard maps in microseconds. */
#ifndef BOSON_BASE_MAPFILE_H
#define BOSON_BASE_MAPFILE_H

#include "boson.h"

#include <stdint.h>

typedef struct bs_mapfile {
    uint8_t *data; /* NULL for an empty file */
    uint64_t size; /* file size in bytes */
} bs_mapfile;

/* Opens path and maps it whole. A zero-length file gives data == NULL, size == 0 (mmap
 * cannot map nothing); the caller decides whether that is an error. Directories and
 * other non-regular files are rejected. Errors: BOSON_ERR_IO naming the path and the
 * system error. out is zeroed on failure. */
boson_status bs_mapfile_open(const char *path, bs_mapfile *out, boson_error *err);

/* Unmaps; safe on a zeroed struct. */
void bs_mapfile_close(bs_mapfile *m);

/* Unmaps a region obtained from bs_mapfile_open (for owners that keep data/size only). */
void bs_mapfile_unmap(uint8_t *data, uint64_t size);

#endif
