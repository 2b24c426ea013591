#include "base/json_util.h"

#include "base/error.h"

#include <math.h>
#include <string.h>

const char *bs_json_type_name(const json_t *v)
{
    if (!v)
        return "nothing";
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "real";
    case JSON_TRUE: return "boolean";
    case JSON_FALSE: return "boolean";
    case JSON_NULL: return "null";
    }
    return "unknown";
}

boson_status bs_json_parse_object(const char *text, size_t len, const char *name, json_t **out,
                                  boson_error *err)
{
    *out = NULL;
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return bs_error_set(err, BOSON_ERR_CONFIG, "%s: invalid JSON at line %d, column %d: %s",
                            name, jerr.line, jerr.column, jerr.text);
    if (!json_is_object(root)) {
        boson_status st =
            bs_error_set(err, BOSON_ERR_CONFIG, "%s: top level must be a JSON object (got %s)",
                         name, bs_json_type_name(root));
        json_decref(root);
        return st;
    }
    *out = root;
    return BOSON_OK;
}

/* Looks key up; returns NULL for absent or null. */
static const json_t *lookup(const json_t *obj, const char *key)
{
    const json_t *v = obj ? json_object_get(obj, key) : NULL;
    return (v && !json_is_null(v)) ? v : NULL;
}

boson_status bs_json_get_i64(const json_t *obj, const char *path, const char *key, int64_t lo,
                             int64_t hi, int64_t *out, int *found, boson_error *err)
{
    const json_t *v = lookup(obj, key);
    *found = 0;
    if (!v)
        return BOSON_OK;
    if (!json_is_integer(v))
        return bs_error_set(err, BOSON_ERR_CONFIG, "%s%s must be an integer (got %s)", path, key,
                            bs_json_type_name(v));
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi)
        return bs_error_set(err, BOSON_ERR_CONFIG, "%s%s = %lld is out of range [%lld, %lld]", path,
                            key, (long long)x, (long long)lo, (long long)hi);
    *out = (int64_t)x;
    *found = 1;
    return BOSON_OK;
}

boson_status bs_json_get_f64(const json_t *obj, const char *path, const char *key, double lo,
                             double hi, double *out, int *found, boson_error *err)
{
    const json_t *v = lookup(obj, key);
    *found = 0;
    if (!v)
        return BOSON_OK;
    if (!json_is_number(v))
        return bs_error_set(err, BOSON_ERR_CONFIG, "%s%s must be a number (got %s)", path, key,
                            bs_json_type_name(v));
    double x = json_number_value(v);
    if (!isfinite(x) || x < lo || x > hi)
        return bs_error_set(err, BOSON_ERR_CONFIG, "%s%s = %g is out of range [%g, %g]", path, key,
                            x, lo, hi);
    *out = x;
    *found = 1;
    return BOSON_OK;
}

boson_status bs_json_get_bool(const json_t *obj, const char *path, const char *key, int *out,
                              int *found, boson_error *err)
{
    const json_t *v = lookup(obj, key);
    *found = 0;
    if (!v)
        return BOSON_OK;
    if (!json_is_boolean(v))
        return bs_error_set(err, BOSON_ERR_CONFIG,
                            "%s%s must be a JSON boolean true/false (got %s)", path, key,
                            bs_json_type_name(v));
    *out = json_is_true(v) ? 1 : 0;
    *found = 1;
    return BOSON_OK;
}

boson_status bs_json_get_str(const json_t *obj, const char *path, const char *key, const char **out,
                             int *found, boson_error *err)
{
    const json_t *v = lookup(obj, key);
    *found = 0;
    if (!v)
        return BOSON_OK;
    if (!json_is_string(v))
        return bs_error_set(err, BOSON_ERR_CONFIG, "%s%s must be a string (got %s)", path, key,
                            bs_json_type_name(v));
    *out = json_string_value(v);
    *found = 1;
    return BOSON_OK;
}
