/* safetensors container: 8-byte little-endian header length N, N bytes of JSON, then the
 * data buffer. Only the header is read; tensors are views into the caller's buffer or the
 * file mapping. Every number in the header is untrusted: all range and size arithmetic is
 * checked 64-bit. */
#include "format/safetensors.h"

#include "base/checked.h"
#include "base/error.h"
#include "base/mapfile.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A header larger than this is refused before JSON parsing (the reference Rust reader
 * uses the same bound); real shards have headers of a few hundred KB. */
#define ST_MAX_HEADER ((uint64_t)100 << 20)

typedef unsigned long long ull;

/* Sets a BOSON_ERR_FORMAT error "<path>: <message>". */
static boson_status st_fail(boson_error *err, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static boson_status st_fail(boson_error *err, const char *path, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return bs_error_set(err, BOSON_ERR_FORMAT, "%s: %s", path, msg);
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    case JSON_NULL: return "null";
    }
    return "value";
}

/* "[3, 4]" (truncated with "..." if buf is too small). */
static void format_shape(char *buf, size_t bufsize, const uint64_t *shape, int ndim)
{
    size_t pos = 0;
    int n = snprintf(buf, bufsize, "[");
    pos = n > 0 ? (size_t)n : 0;
    for (int i = 0; i < ndim && pos < bufsize; i++) {
        n = snprintf(buf + pos, bufsize - pos, "%s%llu", i ? ", " : "", (ull)shape[i]);
        if (n < 0)
            break;
        pos += (size_t)n;
    }
    if (pos < bufsize)
        snprintf(buf + pos, bufsize - pos, "]");
    else if (bufsize >= 4)
        memcpy(buf + bufsize - 4, "...", 4);
}

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void free_tensors(bs_tensor *t, size_t n)
{
    if (!t)
        return;
    for (size_t i = 0; i < n; i++)
        free(t[i].name);
    free(t);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const bs_tensor *)a)->name, ((const bs_tensor *)b)->name);
}

static int cmp_offset(const void *a, const void *b)
{
    const bs_tensor *x = *(const bs_tensor *const *)a, *y = *(const bs_tensor *const *)b;
    if (x->offset != y->offset)
        return x->offset < y->offset ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* "__metadata__" maps strings to strings; MLX writes null when it has none. */
static boson_status check_metadata(const json_t *meta, const char *path, boson_error *err)
{
    if (json_is_null(meta))
        return BOSON_OK;
    if (!json_is_object(meta))
        return st_fail(err, path, "\"__metadata__\" is a JSON %s, not an object of strings",
                       json_kind(meta));
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)meta, k, v)
    {
        if (!json_is_string(v))
            return st_fail(err, path, "\"__metadata__\" entry '%s' is a JSON %s, not a string", k,
                           json_kind(v));
    }
    return BOSON_OK;
}

/* Reads one non-negative JSON integer. */
static int get_u64(const json_t *v, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return 0;
    *out = (uint64_t)json_integer_value(v);
    return 1;
}

/* Parses one "name": {dtype, shape, data_offsets} entry into t (name already set). */
static boson_status parse_entry(const json_t *e, uint64_t data_start, uint64_t data_size,
                                const char *path, bs_tensor *t, boson_error *err)
{
    const char *name = t->name;
    if (!json_is_object(e))
        return st_fail(err, path, "tensor '%s': entry is a JSON %s, not an object", name,
                       json_kind(e));

    const json_t *jd = json_object_get(e, "dtype");
    if (!jd)
        return st_fail(err, path, "tensor '%s': missing \"dtype\"", name);
    if (!json_is_string(jd))
        return st_fail(err, path, "tensor '%s': \"dtype\" is a JSON %s, not a string", name,
                       json_kind(jd));
    if (!bs_dtype_parse(json_string_value(jd), &t->dtype))
        return st_fail(err, path, "unknown dtype '%s' for tensor '%s'", json_string_value(jd),
                       name);

    const json_t *js = json_object_get(e, "shape");
    if (!js)
        return st_fail(err, path, "tensor '%s': missing \"shape\"", name);
    if (!json_is_array(js))
        return st_fail(err, path, "tensor '%s': \"shape\" is a JSON %s, not an array", name,
                       json_kind(js));
    size_t nd = json_array_size(js);
    if (nd > BS_MAX_DIMS)
        return st_fail(err, path, "tensor '%s': shape has %zu dims, more than the %d supported",
                       name, nd, BS_MAX_DIMS);
    t->ndim = (int)nd;
    for (size_t i = 0; i < nd; i++) {
        const json_t *d = json_array_get(js, i);
        if (!get_u64(d, &t->shape[i])) {
            if (json_is_integer(d))
                return st_fail(err, path,
                               "tensor '%s': shape[%zu] is %lld, not a non-negative integer", name,
                               i, (long long)json_integer_value(d));
            return st_fail(err, path,
                           "tensor '%s': shape[%zu] is a JSON %s, not a non-negative integer", name,
                           i, json_kind(d));
        }
    }

    const json_t *jo = json_object_get(e, "data_offsets");
    uint64_t begin, end;
    if (!jo)
        return st_fail(err, path, "tensor '%s': missing \"data_offsets\"", name);
    if (!json_is_array(jo) || json_array_size(jo) != 2 || !get_u64(json_array_get(jo, 0), &begin) ||
        !get_u64(json_array_get(jo, 1), &end))
        return st_fail(err, path,
                       "tensor '%s': \"data_offsets\" must be [begin, end] with two "
                       "non-negative integers",
                       name);
    if (end < begin)
        return st_fail(err, path, "tensor '%s': data_offsets [%llu, %llu) has end < begin", name,
                       (ull)begin, (ull)end);

    char shp[160];
    uint64_t nelem;
    if (!bs_prod_u64(t->shape, t->ndim, &nelem) ||
        !bs_mul_u64(nelem, bs_dtype_size(t->dtype), &t->nbytes)) {
        format_shape(shp, sizeof shp, t->shape, t->ndim);
        return st_fail(err, path, "tensor '%s': shape %s x %s overflows a 64-bit byte count", name,
                       shp, bs_dtype_name(t->dtype));
    }
    if (end - begin != t->nbytes) {
        format_shape(shp, sizeof shp, t->shape, t->ndim);
        return st_fail(err, path,
                       "tensor '%s': data_offsets [%llu, %llu) but shape %s x %s needs %llu bytes",
                       name, (ull)begin, (ull)end, shp, bs_dtype_name(t->dtype), (ull)t->nbytes);
    }
    if (end > data_size)
        return st_fail(
            err, path,
            "tensor '%s': data_offsets [%llu, %llu) extend past the end of the %llu-byte "
            "data buffer (file offset %llu, file size %llu)",
            name, (ull)begin, (ull)end, (ull)data_size, (ull)data_start,
            (ull)(data_start + data_size));
    t->offset = data_start + begin;
    return BOSON_OK;
}

/* Sorted by begin, each non-empty range must start at or after the furthest end so far. */
static boson_status check_overlaps(bs_tensor *t, size_t n, uint64_t data_start, const char *path,
                                   boson_error *err)
{
    if (n < 2)
        return BOSON_OK;
    bs_tensor **by_off = malloc(n * sizeof *by_off);
    if (!by_off)
        return bs_error_set(err, BOSON_ERR_NOMEM, "%s: out of memory sorting %zu tensors", path, n);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (t[i].nbytes)
            by_off[m++] = &t[i];
    qsort(by_off, m, sizeof *by_off, cmp_offset);
    boson_status st = BOSON_OK;
    const bs_tensor *far = NULL; /* the range reaching furthest so far */
    for (size_t i = 0; i < m; i++) {
        const bs_tensor *c = by_off[i];
        if (far && c->offset < far->offset + far->nbytes) {
            uint64_t lo = c->offset - data_start;
            uint64_t fe = far->offset + far->nbytes, ce = c->offset + c->nbytes;
            uint64_t hi = (fe < ce ? fe : ce) - data_start;
            st = st_fail(err, path,
                         "tensors '%s' and '%s' overlap at bytes [%llu, %llu) of the data buffer",
                         far->name, c->name, (ull)lo, (ull)hi);
            break;
        }
        if (!far || c->offset + c->nbytes > far->offset + far->nbytes)
            far = c;
    }
    free(by_off);
    return st;
}

boson_status bs_st_parse(const uint8_t *buf, uint64_t size, const char *path, bs_st_file *out,
                         boson_error *err)
{
    memset(out, 0, sizeof *out);
    if (!path)
        path = "(memory)";
    if (size < 8 || !buf)
        return st_fail(err, path, "truncated: %llu bytes, need at least 8", (ull)size);
    uint64_t n = load_le64(buf);
    if (n > size - 8)
        return st_fail(err, path, "header length %llu exceeds file size %llu", (ull)n, (ull)size);
    if (n > ST_MAX_HEADER)
        return st_fail(err, path, "header length %llu exceeds the %llu-byte limit", (ull)n,
                       (ull)ST_MAX_HEADER);
    uint64_t data_start = 8 + n, data_size = size - data_start;

    json_error_t jerr;
    json_t *root = json_loadb((const char *)buf + 8, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return st_fail(err, path, "header is not valid JSON (header byte %d, line %d): %s",
                       jerr.position, jerr.line, jerr.text);
    if (!json_is_object(root)) {
        boson_status st = st_fail(err, path, "header is a JSON %s, not an object", json_kind(root));
        json_decref(root);
        return st;
    }

    boson_status st = BOSON_OK;
    size_t cap = json_object_size(root), nt = 0;
    bs_tensor *t = calloc(cap ? cap : 1, sizeof *t);
    char *path_copy = strdup(path);
    if (!t || !path_copy) {
        st = bs_error_set(err, BOSON_ERR_NOMEM, "%s: out of memory for %zu tensors", path, cap);
        goto fail;
    }

    const char *key;
    json_t *val;
    json_object_foreach(root, key, val)
    {
        size_t klen = json_object_iter_key_len(json_object_key_to_iter(key));
        if (klen != strlen(key)) {
            st = st_fail(err, path, "a tensor name contains a NUL byte");
            goto fail;
        }
        if (strcmp(key, "__metadata__") == 0) {
            st = check_metadata(val, path, err);
            if (st != BOSON_OK)
                goto fail;
            continue;
        }
        if (klen == 0) {
            st = st_fail(err, path, "empty tensor name");
            goto fail;
        }
        bs_tensor *ti = &t[nt];
        ti->name = strdup(key);
        if (!ti->name) {
            st = bs_error_set(err, BOSON_ERR_NOMEM, "%s: out of memory", path);
            goto fail;
        }
        nt++;
        st = parse_entry(val, data_start, data_size, path, ti, err);
        if (st != BOSON_OK)
            goto fail;
        ti->data = buf + ti->offset;
        ti->file = path_copy;
    }

    qsort(t, nt, sizeof *t, cmp_name);
    for (size_t i = 1; i < nt; i++) {
        if (strcmp(t[i - 1].name, t[i].name) == 0) {
            st = st_fail(err, path, "duplicate tensor name '%s'", t[i].name);
            goto fail;
        }
    }
    st = check_overlaps(t, nt, data_start, path, err);
    if (st != BOSON_OK)
        goto fail;

    json_decref(root);
    out->path = path_copy;
    out->size = size;
    out->header_len = n;
    out->tensors = t;
    out->n_tensors = nt;
    return BOSON_OK;

fail:
    json_decref(root);
    free_tensors(t, nt);
    free(path_copy);
    return st;
}

boson_status bs_st_open(const char *path, bs_st_file *out, boson_error *err)
{
    memset(out, 0, sizeof *out);
    bs_mapfile m;
    boson_status st = bs_mapfile_open(path, &m, err);
    if (st != BOSON_OK)
        return st;
    st = bs_st_parse(m.data, m.size, path, out, err);
    if (st != BOSON_OK) {
        bs_mapfile_close(&m);
        return st;
    }
    out->map = m.data;
    return BOSON_OK;
}

const bs_tensor *bs_st_find(const bs_st_file *f, const char *name)
{
    size_t lo = 0, hi = f->n_tensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, f->tensors[mid].name);
        if (c == 0)
            return &f->tensors[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

void bs_st_close(bs_st_file *f)
{
    if (!f)
        return;
    free_tensors(f->tensors, f->n_tensors);
    if (f->map)
        bs_mapfile_unmap(f->map, f->size);
    free(f->path);
    memset(f, 0, sizeof *f);
}
