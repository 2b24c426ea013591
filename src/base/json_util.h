/* Small typed getters over jansson objects. Every error is BOSON_ERR_CONFIG and names the
 * field by its JSON path: `path` is the prefix of the object holding the key ("" for the
 * top level, "text_config." for a nested object), so messages read
 * "text_config.hidden_size must be an integer (got string)".
 * A key that is absent or JSON null is reported as not found (*found = 0) and leaves *out
 * untouched; callers decide whether that is an error or means a default. */
#ifndef BOSON_BASE_JSON_UTIL_H
#define BOSON_BASE_JSON_UTIL_H

#include "boson.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* "object", "array", "string", "integer", "real", "boolean", "null". */
const char *bs_json_type_name(const json_t *v);

/* Parses text (len bytes; NUL bytes inside are rejected) into a JSON object, rejecting
 * duplicate keys and trailing garbage. `name` names the source in messages
 * ("config.json: invalid JSON at line 3, column 7: ..."). */
boson_status bs_json_parse_object(const char *text, size_t len, const char *name, json_t **out,
                                  boson_error *err);

/* An integer (JSON integer, not real) within [lo, hi]. */
boson_status bs_json_get_i64(const json_t *obj, const char *path, const char *key, int64_t lo,
                             int64_t hi, int64_t *out, int *found, boson_error *err);

/* A finite number (integer or real) within [lo, hi]. */
boson_status bs_json_get_f64(const json_t *obj, const char *path, const char *key, double lo,
                             double hi, double *out, int *found, boson_error *err);

/* A JSON boolean (true/false only; 0/1 and strings are errors). *out is 0 or 1. */
boson_status bs_json_get_bool(const json_t *obj, const char *path, const char *key, int *out,
                              int *found, boson_error *err);

/* A string; *out points into obj (valid while obj lives). */
boson_status bs_json_get_str(const json_t *obj, const char *path, const char *key, const char **out,
                             int *found, boson_error *err);

#endif
