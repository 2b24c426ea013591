/* Checkpoint directories: index vs glob, sidecars, skipped tensors, name spellings,
 * duplicates, HF layout detection. Shards are hand-built safetensors files in a temp dir. */
#include "check.h"

#include "format/checkpoint.h"

#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct tdef {
    const char *name, *dtype;
    int ndim;
    uint64_t shape[3];
} tdef;

static size_t esize(const char *dtype)
{
    if (!strcmp(dtype, "F32") || !strcmp(dtype, "U32") || !strcmp(dtype, "I32"))
        return 4;
    if (!strcmp(dtype, "BF16") || !strcmp(dtype, "F16"))
        return 2;
    return 1;
}

static char root[64];

static void rm_tree(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        rm_tree(p);
    }
    closedir(d);
    rmdir(path);
}

/* A fresh empty checkpoint directory under the test root. */
static const char *new_dir(const char *name)
{
    static char p[256];
    if (!root[0]) {
        strcpy(root, "/tmp/boson-ckpt-XXXXXX");
        if (!mkdtemp(root))
            abort();
    }
    snprintf(p, sizeof p, "%s/%s", root, name);
    rm_tree(p);
    if (mkdir(p, 0700) != 0)
        abort();
    return p;
}

static int write_text(const char *dir, const char *file, const char *text, size_t n)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    FILE *f = fopen(p, "wb");
    if (!f)
        return 0;
    int ok = fwrite(text, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

/* Writes a safetensors shard holding the given tensors back to back; returns its size. */
static long write_shard(const char *dir, const char *file, const tdef *t, size_t n)
{
    char json[8192];
    size_t pos = (size_t)snprintf(json, sizeof json, "{\"__metadata__\":{\"format\":\"mlx\"}");
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t bytes = esize(t[i].dtype);
        pos += (size_t)snprintf(json + pos, sizeof json - pos,
                                ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", t[i].name, t[i].dtype);
        for (int d = 0; d < t[i].ndim; d++) {
            pos += (size_t)snprintf(json + pos, sizeof json - pos, "%s%" PRIu64, d ? "," : "",
                                    t[i].shape[d]);
            bytes *= t[i].shape[d];
        }
        pos += (size_t)snprintf(json + pos, sizeof json - pos,
                                "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}", off, off + bytes);
        off += bytes;
    }
    pos += (size_t)snprintf(json + pos, sizeof json - pos, "}");
    size_t total = 8 + pos + (size_t)off;
    uint8_t *b = calloc(1, total);
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)((uint64_t)pos >> (8 * i));
    memcpy(b + 8, json, pos);
    for (uint64_t i = 0; i < off; i++)
        b[8 + pos + i] = (uint8_t)(i + 1);
    int ok = write_text(dir, file, (const char *)b, total);
    free(b);
    return ok ? (long)total : -1;
}

/* Writes model.safetensors.index.json from "name", "file" pairs. */
static int write_index(const char *dir, const char *const *pairs, size_t n_pairs)
{
    char json[8192];
    size_t pos =
        (size_t)snprintf(json, sizeof json, "{\"metadata\":{\"total_size\":0},\"weight_map\":{");
    for (size_t i = 0; i < n_pairs; i++)
        pos += (size_t)snprintf(json + pos, sizeof json - pos, "%s\"%s\":\"%s\"", i ? "," : "",
                                pairs[2 * i], pairs[2 * i + 1]);
    pos += (size_t)snprintf(json + pos, sizeof json - pos, "}}");
    return write_text(dir, "model.safetensors.index.json", json, pos);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Opens dir expecting failure with BOSON_ERR_FORMAT; returns the message. */
static const char *open_error(const char *dir)
{
    static boson_error err;
    bs_checkpoint c;
    boson_status st = bs_ckpt_open(dir, &c, &err);
    if (st == BOSON_OK) {
        bs_ckpt_close(&c);
        return "(open succeeded)";
    }
    if (c.tensors || c.shards || c.dir)
        return "(output not zeroed on failure)";
    return st == BOSON_ERR_FORMAT ? err.message : "(wrong status)";
}

/* ---- tests ---- */

static const tdef mlx_dense[] = {
    {"language_model.model.embed_tokens.weight", "BF16", 2, {8, 4}},
    {"language_model.model.layers.0.input_layernorm.weight", "BF16", 1, {4}},
    {"language_model.model.layers.0.linear_attn.conv1d.weight", "BF16", 3, {6, 4, 1}},
    {"language_model.model.layers.0.mlp.down_proj.weight", "U32", 2, {4, 1}},
    {"language_model.model.norm.weight", "BF16", 1, {4}},
    {"language_model.lm_head.weight", "BF16", 2, {8, 4}},
};

CHECK_TEST(single_shard_mlx_names)
{
    const char *d = new_dir("single");
    long size = write_shard(d, "model.safetensors", mlx_dense, N(mlx_dense));
    REQUIRE(size > 0);
    bs_checkpoint c;
    boson_error err = {0};
    boson_status st = bs_ckpt_open(d, &c, &err);
    if (st != BOSON_OK)
        fprintf(stderr, "  %s\n", err.message);
    REQUIRE(st == BOSON_OK);
    CHECK_EQ_U64(c.n_shards, 1);
    CHECK_EQ_U64(c.n_tensors, N(mlx_dense));
    CHECK_EQ_U64(c.bytes_on_disk, (uint64_t)size);
    CHECK_STR_EQ(c.dir, d);
    const char *want[] = {"model.embed_tokens.weight",
                          "model.layers.0.input_layernorm.weight",
                          "model.layers.0.linear_attn.conv1d.weight",
                          "model.layers.0.mlp.down_proj.weight",
                          "model.norm.weight",
                          "lm_head.weight"};
    for (size_t i = 0; i < N(want); i++) {
        const bs_tensor *t = bs_ckpt_find(&c, want[i]);
        CHECK(t != NULL);
        if (t)
            CHECK_STR_EQ(t->name, mlx_dense[i].name); /* stored spelling kept */
    }
    for (size_t i = 1; i < c.n_tensors; i++)
        CHECK(strcmp(c.tensors[i - 1].name, c.tensors[i].name) < 0);
    CHECK(bs_ckpt_find(&c, "language_model.lm_head.weight") == NULL);
    CHECK(bs_ckpt_find(&c, "model.layers.1.input_layernorm.weight") == NULL);
    CHECK(!c.layout.hf_layout && !c.layout.norms_zero_centred && !c.layout.conv_c1k &&
          !c.layout.experts_unstacked && !c.layout.hf_names);
    const bs_tensor *conv = bs_ckpt_find(&c, "model.layers.0.linear_attn.conv1d.weight");
    REQUIRE(conv != NULL);
    CHECK_EQ_U64(conv->shape[1], 4);
    CHECK(conv->data[0] != 0); /* mapped bytes are readable */
    bs_ckpt_close(&c);
    CHECK(c.tensors == NULL && c.n_tensors == 0);
}

CHECK_TEST(glob_multiple_shards_sorted)
{
    const char *d = new_dir("glob");
    REQUIRE(write_shard(d, "model-00002-of-00002.safetensors", mlx_dense + 3, 3) > 0);
    REQUIRE(write_shard(d, "model-00001-of-00002.safetensors", mlx_dense, 3) > 0);
    REQUIRE(write_text(d, "config.json", "{}", 2));
    REQUIRE(write_text(d, "weights.safetensors", "junk", 4)); /* not model*: not read */
    bs_checkpoint c;
    boson_error err = {0};
    REQUIRE(bs_ckpt_open(d, &c, &err) == BOSON_OK);
    CHECK_EQ_U64(c.n_shards, 2);
    CHECK_CONTAINS(c.shards[0].path, "model-00001-of-00002.safetensors");
    CHECK_CONTAINS(c.shards[1].path, "model-00002-of-00002.safetensors");
    CHECK_EQ_U64(c.n_tensors, 6);
    CHECK(bs_ckpt_find(&c, "lm_head.weight") != NULL);
    CHECK(bs_ckpt_find(&c, "model.embed_tokens.weight") != NULL);
    bs_ckpt_close(&c);
}

CHECK_TEST(index_present_is_authoritative)
{
    const char *d = new_dir("index");
    REQUIRE(write_shard(d, "model-00001-of-00002.safetensors", mlx_dense, 3) > 0);
    REQUIRE(write_shard(d, "model-00002-of-00002.safetensors", mlx_dense + 3, 3) > 0);
    /* A stale shard not named by the index would duplicate every name if globbed. */
    REQUIRE(write_shard(d, "model.safetensors", mlx_dense, N(mlx_dense)) > 0);
    const char *pairs[12];
    for (size_t i = 0; i < 6; i++) {
        pairs[2 * i] = mlx_dense[i].name;
        pairs[2 * i + 1] =
            i < 3 ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
    }
    REQUIRE(write_index(d, pairs, 6));
    bs_checkpoint c;
    boson_error err = {0};
    boson_status st = bs_ckpt_open(d, &c, &err);
    if (st != BOSON_OK)
        fprintf(stderr, "  %s\n", err.message);
    REQUIRE(st == BOSON_OK);
    CHECK_EQ_U64(c.n_shards, 2);
    CHECK_EQ_U64(c.n_tensors, 6);
    const bs_tensor *t = bs_ckpt_find(&c, "model.norm.weight");
    REQUIRE(t != NULL);
    CHECK_CONTAINS(t->file, "model-00002-of-00002.safetensors");
    bs_ckpt_close(&c);

    /* Without the index, the stale shard is globbed and the duplicate is caught. */
    char p[512];
    snprintf(p, sizeof p, "%s/model.safetensors.index.json", d);
    unlink(p);
    const char *msg = open_error(d);
    /* lm_head.weight sorts first among the duplicated names */
    CHECK_CONTAINS(msg, "tensor 'lm_head.weight' appears twice");
    CHECK_CONTAINS(msg, "model-00002-of-00002.safetensors and as");
    CHECK_CONTAINS(msg, "/model.safetensors");
}

CHECK_TEST(index_disagreements)
{
    const char *d = new_dir("index-missing-file");
    REQUIRE(write_shard(d, "model-00001-of-00002.safetensors", mlx_dense, 3) > 0);
    const char *pairs[] = {mlx_dense[0].name, "model-00001-of-00002.safetensors",
                           mlx_dense[1].name, "model-00001-of-00002.safetensors",
                           mlx_dense[2].name, "model-00001-of-00002.safetensors",
                           mlx_dense[3].name, "model-00002-of-00002.safetensors"};
    REQUIRE(write_index(d, pairs, 4));
    const char *msg = open_error(d);
    CHECK_CONTAINS(msg, "model.safetensors.index.json: weight_map places tensor "
                        "'language_model.model.layers.0.mlp.down_proj.weight' in "
                        "'model-00002-of-00002.safetensors', which cannot be found");

    d = new_dir("index-entry-missing");
    REQUIRE(write_shard(d, "model-00001-of-00001.safetensors", mlx_dense, 3) > 0);
    REQUIRE(write_index(d, pairs, 3));
    /* index claims a 4th tensor lives in the shard */
    const char *pairs2[] = {mlx_dense[0].name,
                            "model-00001-of-00001.safetensors",
                            mlx_dense[1].name,
                            "model-00001-of-00001.safetensors",
                            mlx_dense[2].name,
                            "model-00001-of-00001.safetensors",
                            "language_model.model.ghost.weight",
                            "model-00001-of-00001.safetensors"};
    REQUIRE(write_index(d, pairs2, 4));
    msg = open_error(d);
    CHECK_CONTAINS(msg, "weight_map places tensor 'language_model.model.ghost.weight' in "
                        "'model-00001-of-00001.safetensors', but");
    CHECK_CONTAINS(msg, "model-00001-of-00001.safetensors has no such tensor");

    /* a tensor in the shard that the index does not list */
    REQUIRE(write_index(d, pairs2, 2));
    msg = open_error(d);
    CHECK_CONTAINS(msg, "model-00001-of-00001.safetensors: tensor "
                        "'language_model.model.layers.0.linear_attn.conv1d.weight' is not listed "
                        "in");
    CHECK_CONTAINS(msg, "model.safetensors.index.json");

    /* listed under another shard that does exist */
    REQUIRE(write_shard(d, "model-extra.safetensors", mlx_dense + 5, 1) > 0);
    const char *pairs3[] = {mlx_dense[0].name, "model-00001-of-00001.safetensors",
                            mlx_dense[1].name, "model-00001-of-00001.safetensors",
                            mlx_dense[2].name, "model-extra.safetensors",
                            mlx_dense[5].name, "model-extra.safetensors"};
    REQUIRE(write_index(d, pairs3, 4));
    msg = open_error(d);
    CHECK_CONTAINS(msg, "weight_map places tensor "
                        "'language_model.model.layers.0.linear_attn.conv1d.weight' in "
                        "'model-extra.safetensors', but");

    /* unsafe file names and malformed index */
    const char *pairs4[] = {mlx_dense[0].name, "../model.safetensors"};
    REQUIRE(write_index(d, pairs4, 1));
    CHECK_CONTAINS(open_error(d), "'../model.safetensors', which is not a plain file name");
    REQUIRE(write_text(d, "model.safetensors.index.json", "{\"weight_map\": [", 16));
    CHECK_CONTAINS(open_error(d), "model.safetensors.index.json: not valid JSON");
    REQUIRE(write_text(d, "model.safetensors.index.json", "{\"metadata\":{}}", 15));
    CHECK_CONTAINS(open_error(d), "model.safetensors.index.json: no \"weight_map\" object");
    REQUIRE(write_text(d, "model.safetensors.index.json", "{\"weight_map\":{\"a\":3}}", 22));
    CHECK_CONTAINS(open_error(d), "weight_map entry for tensor 'a' is not a file name string");
    REQUIRE(write_text(d, "model.safetensors.index.json", "{\"weight_map\":{}}", 17));
    CHECK_CONTAINS(open_error(d), "no model*.safetensors shards named in");
}

CHECK_TEST(sidecars_are_never_read)
{
    const char *d = new_dir("sidecar");
    REQUIRE(write_shard(d, "model.safetensors", mlx_dense, N(mlx_dense)) > 0);
    /* Garbage sidecars: opening them would fail, so success proves they were skipped. */
    REQUIRE(write_text(d, "model-mtp.safetensors", "garbage", 7));
    REQUIRE(write_text(d, "mtp.safetensors", "garbage", 7));
    bs_checkpoint c;
    boson_error err = {0};
    boson_status st = bs_ckpt_open(d, &c, &err);
    if (st != BOSON_OK)
        fprintf(stderr, "  %s\n", err.message);
    REQUIRE(st == BOSON_OK);
    CHECK_EQ_U64(c.n_sidecars, 2);
    CHECK_EQ_U64(c.n_shards, 1);
    CHECK_EQ_U64(c.n_skipped_mtp, 0);
    bs_ckpt_close(&c);

    /* An index may route MTP tensors into a sidecar: counted, not opened. */
    const char *pairs[14];
    for (size_t i = 0; i < 6; i++) {
        pairs[2 * i] = mlx_dense[i].name;
        pairs[2 * i + 1] = "model.safetensors";
    }
    pairs[12] = "mtp.fc.weight";
    pairs[13] = "model-mtp.safetensors";
    REQUIRE(write_index(d, pairs, 7));
    st = bs_ckpt_open(d, &c, &err);
    if (st != BOSON_OK)
        fprintf(stderr, "  %s\n", err.message);
    REQUIRE(st == BOSON_OK);
    CHECK_EQ_U64(c.n_shards, 1);
    CHECK_EQ_U64(c.n_sidecars, 2);
    CHECK_EQ_U64(c.n_skipped_mtp, 1);
    bs_ckpt_close(&c);
}

CHECK_TEST(vision_and_mtp_skipped_and_counted)
{
    const char *d = new_dir("skip");
    const tdef t[] = {
        {"vision_tower.blocks.0.attn.qkv.weight", "BF16", 2, {2, 2}},
        {"model.visual.merger.weight", "BF16", 1, {2}},
        {"mtp.fc.weight", "BF16", 2, {2, 2}},
        {"language_model.mtp.norm.weight", "BF16", 1, {2}},
        {"model.mtp.layers.0.input_layernorm.weight", "BF16", 1, {2}},
        {"language_model.model.mtp.pre_fc_norm_hidden.weight", "BF16", 1, {2}},
        {"model.norm.weight", "BF16", 1, {2}},
    };
    REQUIRE(write_shard(d, "model.safetensors", t, N(t)) > 0);
    bs_checkpoint c;
    boson_error err = {0};
    REQUIRE(bs_ckpt_open(d, &c, &err) == BOSON_OK);
    CHECK_EQ_U64(c.n_tensors, 1);
    CHECK_EQ_U64(c.n_skipped_vision, 2);
    CHECK_EQ_U64(c.n_skipped_mtp, 4);
    CHECK(bs_ckpt_find(&c, "model.norm.weight") != NULL);
    CHECK(bs_ckpt_find(&c, "model.mtp.layers.0.input_layernorm.weight") == NULL);
    bs_ckpt_close(&c);

    d = new_dir("only-vision");
    REQUIRE(write_shard(d, "model.safetensors", t, 3) > 0);
    CHECK_CONTAINS(open_error(d), "no text-model tensors (2 vision and 1 MTP tensors skipped)");
}

CHECK_TEST(all_spellings_normalise)
{
    const char *d = new_dir("spellings");
    const tdef a[] = {
        {"language_model.model.layers.0.self_attn.q_proj.weight", "BF16", 2, {4, 2}},
        {"language_model.lm_head.weight", "BF16", 2, {3, 2}},
    };
    const tdef b[] = {
        {"model.language_model.layers.0.self_attn.k_proj.weight", "BF16", 2, {2, 2}},
        {"model.layers.0.self_attn.v_proj.weight", "BF16", 2, {2, 2}},
        {"model.norm.weight", "BF16", 1, {2}},
    };
    REQUIRE(write_shard(d, "model-00001-of-00002.safetensors", a, N(a)) > 0);
    REQUIRE(write_shard(d, "model-00002-of-00002.safetensors", b, N(b)) > 0);
    bs_checkpoint c;
    boson_error err = {0};
    REQUIRE(bs_ckpt_open(d, &c, &err) == BOSON_OK);
    CHECK_EQ_U64(c.n_tensors, 5);
    const char *want[] = {"model.layers.0.self_attn.q_proj.weight", "lm_head.weight",
                          "model.layers.0.self_attn.k_proj.weight",
                          "model.layers.0.self_attn.v_proj.weight", "model.norm.weight"};
    for (size_t i = 0; i < N(want); i++)
        CHECK(bs_ckpt_find(&c, want[i]) != NULL);
    CHECK_EQ_U64(bs_ckpt_find(&c, "lm_head.weight")->shape[0], 3);
    CHECK(c.layout.hf_names);
    CHECK(!c.layout.norms_zero_centred && !c.layout.hf_layout); /* names alone decide nothing */
    bs_ckpt_close(&c);
}

CHECK_TEST(duplicate_across_shards_rejected)
{
    const char *d = new_dir("dup");
    const tdef a[] = {{"language_model.model.embed_tokens.weight", "BF16", 2, {2, 2}}};
    const tdef b[] = {{"model.embed_tokens.weight", "BF16", 2, {2, 2}}};
    REQUIRE(write_shard(d, "model-00001-of-00002.safetensors", a, 1) > 0);
    REQUIRE(write_shard(d, "model-00002-of-00002.safetensors", b, 1) > 0);
    const char *msg = open_error(d);
    CHECK_CONTAINS(msg, "tensor 'model.embed_tokens.weight' appears twice");
    CHECK_CONTAINS(msg, "'language_model.model.embed_tokens.weight' in ");
    CHECK_CONTAINS(msg, "model-00001-of-00002.safetensors");
    CHECK_CONTAINS(msg, "'model.embed_tokens.weight' in ");
    CHECK_CONTAINS(msg, "model-00002-of-00002.safetensors");

    /* two spellings of one tensor inside one shard */
    d = new_dir("dup-one-shard");
    const tdef c2[] = {{"lm_head.weight", "BF16", 1, {2}},
                       {"language_model.lm_head.weight", "BF16", 1, {2}}};
    REQUIRE(write_shard(d, "model.safetensors", c2, 2) > 0);
    CHECK_CONTAINS(open_error(d), "tensor 'lm_head.weight' appears twice");
}

CHECK_TEST(empty_and_missing_dirs_rejected)
{
    const char *d = new_dir("empty");
    CHECK_CONTAINS(open_error(d), "no model*.safetensors shards found");
    REQUIRE(write_text(d, "model-mtp.safetensors", "x", 1)); /* a sidecar alone is not a model */
    CHECK_CONTAINS(open_error(d), "no model*.safetensors shards found");

    bs_checkpoint c;
    boson_error err = {0};
    char p[300];
    snprintf(p, sizeof p, "%s/nope", root);
    CHECK(bs_ckpt_open(p, &c, &err) == BOSON_ERR_IO);
    CHECK_CONTAINS(err.message, p);
    CHECK_CONTAINS(err.message, "No such file or directory");
    CHECK(c.dir == NULL);
}

CHECK_TEST(broken_shard_names_its_file)
{
    const char *d = new_dir("broken");
    REQUIRE(write_shard(d, "model-00001-of-00002.safetensors", mlx_dense, 2) > 0);
    REQUIRE(write_text(d, "model-00002-of-00002.safetensors", "\x03\0\0\0\0\0\0\0{}", 10));
    const char *msg = open_error(d);
    CHECK_CONTAINS(msg, "model-00002-of-00002.safetensors: header length 3 exceeds file size 10");
}

CHECK_TEST(hf_layout_detection)
{
    const char *d = new_dir("hf-conv");
    const tdef hf[] = {
        {"model.language_model.layers.0.linear_attn.conv1d.weight", "BF16", 3, {6, 1, 4}},
        {"model.language_model.layers.0.input_layernorm.weight", "BF16", 1, {4}},
        {"model.visual.blocks.0.norm1.weight", "BF16", 1, {4}},
        {"mtp.fc.weight", "BF16", 2, {4, 4}},
    };
    REQUIRE(write_shard(d, "model.safetensors", hf, N(hf)) > 0);
    bs_checkpoint c;
    boson_error err = {0};
    REQUIRE(bs_ckpt_open(d, &c, &err) == BOSON_OK);
    CHECK(c.layout.conv_c1k && c.layout.norms_zero_centred && c.layout.hf_layout);
    CHECK(!c.layout.experts_unstacked);
    CHECK(c.layout.hf_names);
    CHECK_EQ_U64(c.n_skipped_vision, 1);
    CHECK_EQ_U64(c.n_skipped_mtp, 1);
    bs_ckpt_close(&c);

    /* Qwen3-Next HF: model.* names, per-expert tensors. */
    d = new_dir("hf-experts");
    const tdef nx[] = {
        {"model.layers.0.mlp.experts.0.gate_proj.weight", "BF16", 2, {2, 2}},
        {"model.layers.0.mlp.experts.1.gate_proj.weight", "BF16", 2, {2, 2}},
        {"model.layers.0.linear_attn.conv1d.weight", "BF16", 3, {6, 4, 1}},
    };
    REQUIRE(write_shard(d, "model.safetensors", nx, N(nx)) > 0);
    REQUIRE(bs_ckpt_open(d, &c, &err) == BOSON_OK);
    CHECK(c.layout.experts_unstacked && c.layout.norms_zero_centred && c.layout.hf_layout);
    CHECK(!c.layout.conv_c1k && !c.layout.hf_names);
    bs_ckpt_close(&c);

    /* HF Qwen3.5-MoE fused experts also count as unstacked; stacked switch_mlp does not. */
    d = new_dir("hf-fused");
    const tdef fu[] = {
        {"model.language_model.layers.3.mlp.experts.gate_up_proj", "BF16", 3, {2, 4, 2}},
    };
    REQUIRE(write_shard(d, "model.safetensors", fu, N(fu)) > 0);
    REQUIRE(bs_ckpt_open(d, &c, &err) == BOSON_OK);
    CHECK(c.layout.experts_unstacked);
    bs_ckpt_close(&c);
    d = new_dir("mlx-moe");
    const tdef sw[] = {
        {"language_model.model.layers.3.mlp.switch_mlp.gate_proj.weight", "U32", 3, {2, 4, 1}},
        {"language_model.model.layers.3.mlp.experts_not.weight", "U32", 1, {1}},
    };
    REQUIRE(write_shard(d, "model.safetensors", sw, N(sw)) > 0);
    REQUIRE(bs_ckpt_open(d, &c, &err) == BOSON_OK);
    CHECK(!c.layout.experts_unstacked && !c.layout.hf_layout && !c.layout.norms_zero_centred);
    bs_ckpt_close(&c);

    /* [C, 1, 1] (K == 1) says nothing; mixing [C, 1, K] and [C, K, 1] is an error. */
    d = new_dir("conv-k1");
    const tdef k1[] = {{"model.layers.0.linear_attn.conv1d.weight", "BF16", 3, {6, 1, 1}}};
    REQUIRE(write_shard(d, "model.safetensors", k1, N(k1)) > 0);
    REQUIRE(bs_ckpt_open(d, &c, &err) == BOSON_OK);
    CHECK(!c.layout.conv_c1k && !c.layout.hf_layout);
    bs_ckpt_close(&c);
    d = new_dir("conv-mixed");
    const tdef mx[] = {
        {"model.layers.0.linear_attn.conv1d.weight", "BF16", 3, {6, 1, 4}},
        {"model.layers.1.linear_attn.conv1d.weight", "BF16", 3, {6, 4, 1}},
    };
    REQUIRE(write_shard(d, "model.safetensors", mx, N(mx)) > 0);
    CHECK_CONTAINS(open_error(d), "conv1d layouts disagree: "
                                  "'model.layers.0.linear_attn.conv1d.weight' in");
}

CHECK_TEST(normalise_name_table)
{
    static const struct {
        const char *in, *out, *why;
    } cases[] = {
        {"language_model.model.layers.7.mlp.gate.weight", "model.layers.7.mlp.gate.weight", NULL},
        {"model.language_model.norm.weight", "model.norm.weight", NULL},
        {"model.embed_tokens.scales", "model.embed_tokens.scales", NULL},
        {"language_model.lm_head.biases", "lm_head.biases", NULL},
        {"language_model.lm_head", "lm_head", NULL},
        {"lm_head.weight", "lm_head.weight", NULL},
        {"language_model.lm_headx.weight", "language_model.lm_headx.weight", NULL},
        {"vision_tower.patch_embed.proj.weight", NULL, "vision"},
        {"model.visual.blocks.0.attn.qkv.weight", NULL, "vision"},
        {"mtp.layers.0.mlp.gate.weight", NULL, "mtp"},
        {"language_model.mtp.fc.weight", NULL, "mtp"},
        {"model.mtp.norm.weight", NULL, "mtp"},
        {"model.language_model.mtp.fc.weight", NULL, "mtp"},
        {"language_model.model.mtp.fc.weight", NULL, "mtp"},
    };
    for (size_t i = 0; i < N(cases); i++) {
        char buf[128];
        const char *why = "unset";
        int r = bs_ckpt_normalise_name(cases[i].in, buf, sizeof buf, &why);
        if (cases[i].out) {
            CHECK_EQ_I64(r, 1);
            CHECK_STR_EQ(buf, cases[i].out);
            CHECK(why == NULL);
        } else {
            CHECK_EQ_I64(r, 0);
            CHECK_STR_EQ(why, cases[i].why);
        }
    }
    char small[8];
    CHECK_EQ_I64(bs_ckpt_normalise_name("model.norm.weight", small, sizeof small, NULL), -1);
    CHECK_EQ_I64(bs_ckpt_normalise_name("mtp.fc.weight", small, sizeof small, NULL), 0);
}

/* Real MLX-written checkpoints from the fixture generator (build/fixtures/<name>/), when
 * BOSON_FIXTURES points at them. */
CHECK_TEST(opens_fixture_checkpoints)
{
    const char *fx = getenv("BOSON_FIXTURES");
    if (!fx || !fx[0])
        return;
    DIR *d = opendir(fx);
    REQUIRE(d != NULL);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char p[1024];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", fx, e->d_name);
        if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        bs_checkpoint c;
        boson_error err = {0};
        boson_status s = bs_ckpt_open(p, &c, &err);
        if (s != BOSON_OK) {
            CHECK_FAIL_("fixture %s: %s", p, err.message);
            continue;
        }
        CHECK(c.n_tensors > 0);
        CHECK(c.bytes_on_disk > 0);
        CHECK(bs_ckpt_find(&c, "model.embed_tokens.weight") != NULL);
        bs_ckpt_close(&c);
        n++;
    }
    closedir(d);
    CHECK(n > 0);
    printf("  opened %d fixture checkpoints from %s\n", n, fx);
}

int main(void)
{
    int rc = check_main("test_checkpoint", (const check_case[]){
                                               CHECK_CASE(single_shard_mlx_names),
                                               CHECK_CASE(glob_multiple_shards_sorted),
                                               CHECK_CASE(index_present_is_authoritative),
                                               CHECK_CASE(index_disagreements),
                                               CHECK_CASE(sidecars_are_never_read),
                                               CHECK_CASE(vision_and_mtp_skipped_and_counted),
                                               CHECK_CASE(all_spellings_normalise),
                                               CHECK_CASE(duplicate_across_shards_rejected),
                                               CHECK_CASE(empty_and_missing_dirs_rejected),
                                               CHECK_CASE(broken_shard_names_its_file),
                                               CHECK_CASE(hf_layout_detection),
                                               CHECK_CASE(normalise_name_table),
                                               CHECK_CASE(opens_fixture_checkpoints),
                                               {0},
                                           });
    rm_tree(root);
    return rc;
}
