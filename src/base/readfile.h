/* Reading a whole small file (JSON, templates) into memory. */
#ifndef BOSON_BASE_READFILE_H
#define BOSON_BASE_READFILE_H

#include "boson.h"

#include <stddef.h>
#include <stdint.h>

/* Reads path into a NUL-terminated malloc'd buffer (*out, *len without the NUL). Only regular
 * files are read (a FIFO or device named like a model file is an error, never a hang); files
 * larger than max_bytes are rejected with a message naming the limit. */
boson_status bs_read_file(const char *path, uint64_t max_bytes, char **out, size_t *len,
                          boson_error *err);

#endif
