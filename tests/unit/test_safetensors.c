/* safetensors reader: hand-built byte images (valid, unaligned, every dtype; and one per
 * failure mode, each asserting its specific message). */
#include "check.h"

#include "format/safetensors.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- image builder (independent of the reader: own dtype table, own layout) ---- */

static uint8_t *image_from_json(const char *json, size_t data_len, size_t *size_out)
{
    size_t n = strlen(json);
    uint8_t *b = malloc(8 + n + data_len + 1);
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)((uint64_t)n >> (8 * i));
    memcpy(b + 8, json, n);
    for (size_t i = 0; i < data_len; i++)
        b[8 + n + i] = (uint8_t)(i * 7 + 3);
    *size_out = 8 + n + data_len;
    return b;
}

static int write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    int ok = fwrite(data, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

static char tmpdir[64];

static const char *tmp_path(const char *name)
{
    static char p[256];
    if (!tmpdir[0]) {
        strcpy(tmpdir, "/tmp/boson-st-XXXXXX");
        if (!mkdtemp(tmpdir))
            abort();
    }
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    return p;
}

static void remove_tmpdir(void)
{
    if (!tmpdir[0])
        return;
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(tmpdir);
}

/* Parses json + data_len pattern bytes in memory as "model.safetensors"; expects failure
 * with BOSON_ERR_FORMAT and returns the message (static). */
static const char *parse_error(const char *json, size_t data_len)
{
    static boson_error err;
    size_t size;
    uint8_t *img = image_from_json(json, data_len, &size);
    bs_st_file f;
    memset(&f, 0x5a, sizeof f);
    boson_status st = bs_st_parse(img, size, "model.safetensors", &f, &err);
    int zeroed = f.tensors == NULL && f.n_tensors == 0 && f.path == NULL;
    if (st == BOSON_OK)
        bs_st_close(&f);
    free(img);
    if (st == BOSON_OK)
        return "(parse succeeded)";
    if (st != BOSON_ERR_FORMAT)
        return "(wrong status)";
    if (!zeroed)
        return "(output not zeroed on failure)";
    return err.message;
}

/* ---- valid files ---- */

typedef struct spec {
    const char *name, *dtype;
    size_t esize;
    int ndim;
    uint64_t shape[3];
} spec;

/* Every dtype, back to back, names deliberately out of order; odd header length. */
static const spec all_dtypes[] = {
    {"w.f32", "F32", 4, 2, {2, 3}},     {"a.f16", "F16", 2, 1, {3}},
    {"m.bf16", "BF16", 2, 2, {1, 5}},   {"q.u32", "U32", 4, 1, {2}},
    {"c.u8", "U8", 1, 1, {7}},          {"k.i32", "I32", 4, 1, {1}},
    {"z.i64", "I64", 8, 1, {2}},        {"e4.f8", "F8_E4M3", 1, 1, {3}},
    {"e8.f8", "F8_E8M0", 1, 2, {2, 2}}, {"b.bool", "BOOL", 1, 1, {5}},
    {"s.scalar", "F32", 4, 0, {0}},     {"empty.bf16", "BF16", 2, 2, {0, 4}},
};
#define N_ALL (sizeof all_dtypes / sizeof all_dtypes[0])

static char *all_dtypes_json(uint64_t *begins, size_t *data_len)
{
    char *j = malloc(8192);
    size_t pos = (size_t)sprintf(j, "{\"__metadata__\":{\"format\":\"mlx\"}");
    uint64_t off = 0;
    for (size_t i = 0; i < N_ALL; i++) {
        const spec *s = &all_dtypes[i];
        uint64_t n = s->esize;
        pos += (size_t)sprintf(j + pos, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", s->name, s->dtype);
        for (int d = 0; d < s->ndim; d++) {
            pos += (size_t)sprintf(j + pos, "%s%" PRIu64, d ? "," : "", s->shape[d]);
            n *= s->shape[d];
        }
        begins[i] = off;
        pos +=
            (size_t)sprintf(j + pos, "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}", off, off + n);
        off += n;
    }
    pos += (size_t)sprintf(j + pos, "}");
    if (pos % 2 == 0) /* make the data buffer start at an odd address */
        strcpy(j + pos, " ");
    *data_len = (size_t)off;
    return j;
}

static void check_all_dtypes(check_ctx *ctx_, const bs_st_file *f, const uint8_t *img, size_t hdr,
                             const uint64_t *begins)
{
    REQUIRE(f->n_tensors == N_ALL);
    CHECK_EQ_U64(f->header_len, hdr);
    CHECK(hdr % 2 == 1);
    for (size_t i = 1; i < f->n_tensors; i++)
        CHECK(strcmp(f->tensors[i - 1].name, f->tensors[i].name) < 0);
    for (size_t i = 0; i < N_ALL; i++) {
        const spec *s = &all_dtypes[i];
        const bs_tensor *t = bs_st_find(f, s->name);
        REQUIRE(t != NULL);
        CHECK_STR_EQ(t->name, s->name);
        CHECK_STR_EQ(bs_dtype_name(t->dtype), s->dtype);
        CHECK_EQ_U64(bs_dtype_size(t->dtype), s->esize);
        CHECK_EQ_I64(t->ndim, s->ndim);
        uint64_t n = s->esize;
        for (int d = 0; d < s->ndim; d++) {
            CHECK_EQ_U64(t->shape[d], s->shape[d]);
            n *= s->shape[d];
        }
        CHECK_EQ_U64(t->nbytes, n);
        CHECK_EQ_U64(t->offset, 8 + hdr + begins[i]);
        CHECK(t->file != NULL && strcmp(t->file, f->path) == 0);
        for (uint64_t b = 0; b < n; b++) /* the pattern written at data byte begin + b */
            CHECK(t->data[b] == (uint8_t)((begins[i] + b) * 7 + 3));
        if (img)
            CHECK(t->data == img + 8 + hdr + begins[i]);
    }
    /* U32 tensor starts at an odd file offset: the unaligned MLX layout. */
    CHECK(bs_st_find(f, "q.u32")->offset % 2 == 1);
    CHECK(bs_st_find(f, "nope") == NULL);
    CHECK(bs_st_find(f, "") == NULL);
}

CHECK_TEST(parses_every_dtype_unaligned)
{
    uint64_t begins[N_ALL];
    size_t data_len, size;
    char *j = all_dtypes_json(begins, &data_len);
    uint8_t *img = image_from_json(j, data_len, &size);
    bs_st_file f;
    boson_error err = {0};
    boson_status st = bs_st_parse(img, size, "mem.safetensors", &f, &err);
    CHECK(st == BOSON_OK);
    if (st == BOSON_OK) {
        CHECK(f.map == NULL);
        CHECK_EQ_U64(f.size, size);
        check_all_dtypes(ctx_, &f, img, strlen(j), begins);
        bs_st_close(&f);
    } else {
        fprintf(stderr, "  %s\n", err.message);
    }
    CHECK(f.tensors == NULL && f.path == NULL); /* close zeroes */
    free(img);
    free(j);
}

CHECK_TEST(opens_mapped_file)
{
    uint64_t begins[N_ALL];
    size_t data_len, size;
    char *j = all_dtypes_json(begins, &data_len);
    uint8_t *img = image_from_json(j, data_len, &size);
    const char *p = tmp_path("all.safetensors");
    REQUIRE(write_file(p, img, size));
    bs_st_file f;
    boson_error err = {0};
    boson_status st = bs_st_open(p, &f, &err);
    CHECK(st == BOSON_OK);
    if (st == BOSON_OK) {
        CHECK(f.map != NULL);
        CHECK_STR_EQ(f.path, p);
        CHECK_EQ_U64(f.size, size);
        check_all_dtypes(ctx_, &f, NULL, strlen(j), begins);
        bs_st_close(&f);
    } else {
        fprintf(stderr, "  %s\n", err.message);
    }
    bs_st_close(&f); /* second close of a zeroed struct is harmless */
    unlink(p);
    free(img);
    free(j);
}

CHECK_TEST(accepts_padding_null_metadata_and_empty_object)
{
    /* HF writer pads the header with spaces to a multiple of 8. */
    const char *j = "{\"x\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}     ";
    size_t size;
    uint8_t *img = image_from_json(j, 2, &size);
    bs_st_file f;
    boson_error err = {0};
    CHECK(bs_st_parse(img, size, "p.safetensors", &f, &err) == BOSON_OK);
    CHECK_EQ_U64(f.n_tensors, 1);
    CHECK_EQ_U64(f.header_len, strlen(j));
    bs_st_close(&f);
    free(img);

    /* mx.save_safetensors without metadata writes "__metadata__":null. */
    img = image_from_json("{\"__metadata__\":null,\"x\":{\"data_offsets\":[0,1],\"dtype\":"
                          "\"U8\",\"shape\":[1]}}",
                          1, &size);
    CHECK(bs_st_parse(img, size, "n.safetensors", &f, &err) == BOSON_OK);
    CHECK_EQ_U64(f.n_tensors, 1);
    bs_st_close(&f);
    free(img);

    img = image_from_json("{}", 0, &size);
    CHECK(bs_st_parse(img, size, "e.safetensors", &f, &err) == BOSON_OK);
    CHECK_EQ_U64(f.n_tensors, 0);
    bs_st_close(&f);
    free(img);
}

CHECK_TEST(zero_size_tensor_inside_another_range_is_not_an_overlap)
{
    const char *j = "{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]},"
                    "\"b\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,4]}}";
    size_t size;
    uint8_t *img = image_from_json(j, 8, &size);
    bs_st_file f;
    boson_error err = {0};
    CHECK(bs_st_parse(img, size, "z.safetensors", &f, &err) == BOSON_OK);
    bs_st_close(&f);
    free(img);
}

/* ---- failure modes ---- */

CHECK_TEST(rejects_short_files)
{
    boson_error err = {0};
    bs_st_file f;
    const char *p = tmp_path("short.safetensors");
    REQUIRE(write_file(p, "\x10\0\0\0\0", 5));
    CHECK(bs_st_open(p, &f, &err) == BOSON_ERR_FORMAT);
    CHECK_CONTAINS(err.message, "truncated: 5 bytes, need at least 8");
    CHECK_CONTAINS(err.message, p);
    REQUIRE(write_file(p, "", 0));
    CHECK(bs_st_open(p, &f, &err) == BOSON_ERR_FORMAT);
    CHECK_CONTAINS(err.message, "truncated: 0 bytes, need at least 8");
    unlink(p);
}

CHECK_TEST(rejects_truncated_shard)
{
    /* A valid file cut short inside the data buffer, then inside the header. */
    const char *j = "{\"w\":{\"dtype\":\"BF16\",\"shape\":[4,4],\"data_offsets\":[0,32]}}";
    size_t size;
    uint8_t *img = image_from_json(j, 32, &size);
    const char *p = tmp_path("cut.safetensors");
    REQUIRE(write_file(p, img, size - 3));
    bs_st_file f;
    boson_error err = {0};
    CHECK(bs_st_open(p, &f, &err) == BOSON_ERR_FORMAT);
    CHECK_CONTAINS(err.message, "tensor 'w': data_offsets [0, 32) extend past the end of the "
                                "29-byte data buffer");
    CHECK_CONTAINS(err.message, p);
    REQUIRE(write_file(p, img, 20));
    CHECK(bs_st_open(p, &f, &err) == BOSON_ERR_FORMAT);
    char want[96];
    snprintf(want, sizeof want, "header length %zu exceeds file size 20", strlen(j));
    CHECK_CONTAINS(err.message, want);
    unlink(p);
    free(img);
}

CHECK_TEST(rejects_header_length_beyond_file)
{
    uint8_t b[1234] = {0};
    b[0] = 0x3f; /* 999999 = 0x0f423f */
    b[1] = 0x42;
    b[2] = 0x0f;
    boson_error err = {0};
    bs_st_file f;
    CHECK(bs_st_parse(b, sizeof b, "model.safetensors", &f, &err) == BOSON_ERR_FORMAT);
    CHECK_CONTAINS(err.message, "model.safetensors: header length 999999 exceeds file size 1234");
    /* 2^64-1: must not wrap around when adding 8. */
    memset(b, 0xff, 8);
    CHECK(bs_st_parse(b, sizeof b, "model.safetensors", &f, &err) == BOSON_ERR_FORMAT);
    CHECK_CONTAINS(err.message, "header length 18446744073709551615 exceeds file size 1234");
}

CHECK_TEST(rejects_huge_header_in_sparse_file)
{
    /* 150 MiB header in a 200 MiB sparse file: refused before any JSON parsing. */
    const char *p = tmp_path("huge.safetensors");
    int fd = open(p, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    REQUIRE(fd >= 0);
    uint8_t len[8] = {0, 0, 0x60, 0x09, 0, 0, 0, 0}; /* 0x09600000 = 150 MiB */
    CHECK(write(fd, len, 8) == 8);
    CHECK(ftruncate(fd, (off_t)200 << 20) == 0);
    close(fd);
    bs_st_file f;
    boson_error err = {0};
    CHECK(bs_st_open(p, &f, &err) == BOSON_ERR_FORMAT);
    CHECK_CONTAINS(err.message, "header length 157286400 exceeds the 104857600-byte limit");
    unlink(p);
}

CHECK_TEST(rejects_bad_json)
{
    CHECK_CONTAINS(parse_error("{\"a\": [1, 2", 0), "model.safetensors: header is not valid JSON");
    CHECK_CONTAINS(parse_error("not json at all", 0), "header is not valid JSON");
    CHECK_CONTAINS(parse_error("{\"\xff\xfe\":{}}", 0), "header is not valid JSON");
    CHECK_CONTAINS(parse_error("[1, 2]", 0), "header is a JSON array, not an object");
    CHECK_CONTAINS(parse_error("\"x\"", 0), "header is not valid JSON");
    CHECK_CONTAINS(parse_error("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                               "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
                               2),
                   "duplicate");
}

CHECK_TEST(rejects_overlapping_ranges)
{
    CHECK_CONTAINS(parse_error("{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]},"
                               "\"b\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[4,12]}}",
                               12),
                   "model.safetensors: tensors 'a' and 'b' overlap at bytes [4, 8)");
    /* b sits wholly inside a; c starts after b ends but inside a. */
    CHECK_CONTAINS(parse_error("{\"a\":{\"dtype\":\"U8\",\"shape\":[16],\"data_offsets\":[0,16]},"
                               "\"c\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[10,12]}}",
                               16),
                   "tensors 'a' and 'c' overlap at bytes [10, 12)");
    /* Same range twice. */
    CHECK_CONTAINS(parse_error("{\"x\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]},"
                               "\"y\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]}}",
                               3),
                   "tensors 'x' and 'y' overlap at bytes [0, 3)");
}

CHECK_TEST(rejects_bad_offsets)
{
    CHECK_CONTAINS(
        parse_error("{\"w\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]}}", 4),
        "model.safetensors: tensor 'w': data_offsets [0, 8) extend past the end of "
        "the 4-byte data buffer");
    CHECK_CONTAINS(
        parse_error("{\"w\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[9,9]}}", 4),
        "tensor 'w': data_offsets [9, 9) extend past the end");
    CHECK_CONTAINS(
        parse_error("{\"w\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[6,4]}}", 8),
        "tensor 'w': data_offsets [6, 4) has end < begin");
    CHECK_CONTAINS(parse_error("{\"w\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0]}}", 8),
                   "tensor 'w': \"data_offsets\" must be [begin, end]");
    CHECK_CONTAINS(
        parse_error("{\"w\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[-2,0]}}", 8),
        "tensor 'w': \"data_offsets\" must be [begin, end]");
    CHECK_CONTAINS(parse_error("{\"w\":{\"dtype\":\"U8\",\"shape\":[2]}}", 8),
                   "tensor 'w': missing \"data_offsets\"");
    /* Offsets near 2^63 must not wrap when added to the data start. */
    CHECK_CONTAINS(parse_error("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":"
                               "[9223372036854775806,9223372036854775807]}}",
                               8),
                   "tensor 'w': data_offsets [9223372036854775806, 9223372036854775807) extend "
                   "past the end");
}

CHECK_TEST(rejects_size_mismatch_and_overflow)
{
    CHECK_CONTAINS(
        parse_error("{\"x.weight\":{\"dtype\":\"BF16\",\"shape\":[3,4],\"data_offsets\":[0,100]}}",
                    100),
        "model.safetensors: tensor 'x.weight': data_offsets [0, 100) but shape [3, 4] x BF16 "
        "needs 24 bytes");
    CHECK_CONTAINS(
        parse_error("{\"x\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,2]}}", 2),
        "tensor 'x': data_offsets [0, 2) but shape [] x F32 needs 4 bytes");
    CHECK_CONTAINS(parse_error("{\"big\":{\"dtype\":\"U8\",\"shape\":[1099511627776,"
                               "1099511627776],\"data_offsets\":[0,0]}}",
                               0),
                   "tensor 'big': shape [1099511627776, 1099511627776] x U8 overflows a 64-bit "
                   "byte count");
    /* The element count fits, the byte count does not. */
    CHECK_CONTAINS(parse_error("{\"big\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],"
                               "\"data_offsets\":[0,0]}}",
                               0),
                   "tensor 'big': shape [4611686018427387904] x F32 overflows");
    /* Overflow mod 2^64 to a small value must not pass: 2^32 * 2^32 * 2 = 0 mod 2^64. */
    CHECK_CONTAINS(parse_error("{\"w\":{\"dtype\":\"BF16\",\"shape\":[4294967296,4294967296],"
                               "\"data_offsets\":[0,0]}}",
                               0),
                   "overflows a 64-bit byte count");
}

CHECK_TEST(rejects_bad_dtype_and_shape)
{
    CHECK_CONTAINS(
        parse_error("{\"q\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,1]}}", 1),
        "model.safetensors: unknown dtype 'Q4' for tensor 'q'");
    CHECK_CONTAINS(
        parse_error("{\"q\":{\"dtype\":\"bf16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4),
        "unknown dtype 'bf16' for tensor 'q'");
    CHECK_CONTAINS(parse_error("{\"q\":{\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,4]}}", 4),
                   "tensor 'q': \"dtype\" is a JSON integer, not a string");
    CHECK_CONTAINS(parse_error("{\"q\":{\"shape\":[2],\"data_offsets\":[0,4]}}", 4),
                   "tensor 'q': missing \"dtype\"");
    CHECK_CONTAINS(parse_error("{\"d9\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],"
                               "\"data_offsets\":[0,1]}}",
                               1),
                   "tensor 'd9': shape has 9 dims, more than the 8 supported");
    CHECK_CONTAINS(
        parse_error("{\"n\":{\"dtype\":\"U8\",\"shape\":[2,-3],\"data_offsets\":[0,1]}}", 1),
        "tensor 'n': shape[1] is -3, not a non-negative integer");
    CHECK_CONTAINS(
        parse_error("{\"n\":{\"dtype\":\"U8\",\"shape\":[2.5],\"data_offsets\":[0,1]}}", 1),
        "tensor 'n': shape[0] is a JSON number, not a non-negative integer");
    CHECK_CONTAINS(parse_error("{\"n\":{\"dtype\":\"U8\",\"shape\":4,\"data_offsets\":[0,4]}}", 4),
                   "tensor 'n': \"shape\" is a JSON integer, not an array");
    CHECK_CONTAINS(parse_error("{\"n\":[1,2]}", 0),
                   "tensor 'n': entry is a JSON array, not an object");
    CHECK_CONTAINS(parse_error("{\"\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1),
                   "empty tensor name");
}

CHECK_TEST(checks_metadata)
{
    CHECK_CONTAINS(parse_error("{\"__metadata__\":{\"format\":1}}", 0),
                   "\"__metadata__\" entry 'format' is a JSON integer, not a string");
    CHECK_CONTAINS(parse_error("{\"__metadata__\":[]}", 0),
                   "\"__metadata__\" is a JSON array, not an object of strings");
}

CHECK_TEST(io_errors_name_the_path)
{
    bs_st_file f;
    boson_error err = {0};
    const char *p = tmp_path("does-not-exist.safetensors");
    CHECK(bs_st_open(p, &f, &err) == BOSON_ERR_IO);
    CHECK_CONTAINS(err.message, p);
    CHECK_CONTAINS(err.message, "No such file or directory");
    CHECK(bs_st_open(tmpdir, &f, &err) == BOSON_ERR_IO);
    CHECK_CONTAINS(err.message, "not a regular file");
    CHECK(f.tensors == NULL && f.map == NULL);
}

CHECK_TEST(dtype_table)
{
    bs_dtype d;
    CHECK(bs_dtype_parse("F8_E8M0", &d) && d == BS_DT_F8_E8M0);
    CHECK(!bs_dtype_parse("F64", &d));
    CHECK(!bs_dtype_parse(NULL, &d));
    CHECK(bs_dtype_is_float(BS_DT_BF16) && bs_dtype_is_float(BS_DT_F16) &&
          bs_dtype_is_float(BS_DT_F32));
    CHECK(!bs_dtype_is_float(BS_DT_U32) && !bs_dtype_is_float(BS_DT_F8_E4M3));
    CHECK_EQ_U64(bs_dtype_size(BS_DT_COUNT_), 0);
}

int main(void)
{
    int rc = check_main("test_safetensors",
                        (const check_case[]){
                            CHECK_CASE(parses_every_dtype_unaligned),
                            CHECK_CASE(opens_mapped_file),
                            CHECK_CASE(accepts_padding_null_metadata_and_empty_object),
                            CHECK_CASE(zero_size_tensor_inside_another_range_is_not_an_overlap),
                            CHECK_CASE(rejects_short_files),
                            CHECK_CASE(rejects_truncated_shard),
                            CHECK_CASE(rejects_header_length_beyond_file),
                            CHECK_CASE(rejects_huge_header_in_sparse_file),
                            CHECK_CASE(rejects_bad_json),
                            CHECK_CASE(rejects_overlapping_ranges),
                            CHECK_CASE(rejects_bad_offsets),
                            CHECK_CASE(rejects_size_mismatch_and_overflow),
                            CHECK_CASE(rejects_bad_dtype_and_shape),
                            CHECK_CASE(checks_metadata),
                            CHECK_CASE(io_errors_name_the_path),
                            CHECK_CASE(dtype_table),
                            {0},
                        });
    remove_tmpdir();
    return rc;
}
