/* config.json / generation_config.json parsing for qwen3_5, qwen3_5_moe and qwen3_next.
 *
 * Sources of truth: mlx-lm TextModelArgs (qwen3_5.py) and ModelArgs (qwen3_next.py) for
 * field names and defaults; mlx-lm utils.py load_model / quantize_model for the
 * quantization dict. Departures from mlx-lm, on purpose:
 *   - rope_theta / partial_rotary_factor come from rope_parameters (or rope_scaling), then
 *     the top-level keys, then mlx-lm's defaults (mlx-lm skips the top-level keys);
 *   - layer_types, hidden_act and attn_output_gate are checked instead of ignored;
 *   - every size is bounded so that later shape arithmetic cannot overflow. */
#include "format/config.h"

#include "base/error.h"
#include "base/json_util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Upper bounds for a config to be believed. Real values: H <= 8192, heads <= 64, head dims
 * <= 256, E <= 512, L <= 64, V = 248320. With these bounds a product of three sizes such as
 * E * Im * H stays below 2^62. */
#define CFG_MAX_FILE_BYTES ((size_t)64 << 20)
#define CFG_MAX_DIM ((int64_t)1 << 24)
#define CFG_MAX_HEADS ((int64_t)1 << 16)
#define CFG_MAX_HEAD_DIM ((int64_t)1 << 16)
#define CFG_MAX_LAYERS ((int64_t)4096)
#define CFG_MAX_VOCAB ((int64_t)1 << 24)
#define CFG_MAX_EXPERTS ((int64_t)1 << 14)
#define CFG_MAX_CONV ((int64_t)1024)
#define CFG_MAX_POS ((int64_t)INT32_MAX)
#define CFG_MAX_TOKEN_ID ((int64_t)INT32_MAX)

static const char k_supported[] = "qwen3_5, qwen3_5_moe, qwen3_next";

const char *bs_arch_name(bs_arch a)
{
    switch (a) {
    case BS_ARCH_QWEN3_5: return "qwen3_5";
    case BS_ARCH_QWEN3_5_MOE: return "qwen3_5_moe";
    case BS_ARCH_QWEN3_NEXT: return "qwen3_next";
    }
    return "unknown";
}

static const struct {
    const char *name;
    bs_arch arch;
} k_model_types[] = {
    {"qwen3_5", BS_ARCH_QWEN3_5},
    {"qwen3_5_moe", BS_ARCH_QWEN3_5_MOE},
    {"qwen3_next", BS_ARCH_QWEN3_NEXT},
    /* text-only spellings */
    {"qwen3_5_text", BS_ARCH_QWEN3_5},
    {"qwen3_5_moe_text", BS_ARCH_QWEN3_5_MOE},
    {"qwen3_5_text_moe", BS_ARCH_QWEN3_5_MOE},
};

/* ---------------------------------------------------------------------------------------
 * Quantization specs */

static const char *qmode_name(bs_qmode m)
{
    switch (m) {
    case BS_QMODE_NONE: return "none";
    case BS_QMODE_AFFINE: return "affine";
    case BS_QMODE_MXFP4: return "mxfp4";
    case BS_QMODE_NVFP4: return "nvfp4";
    case BS_QMODE_MXFP8: return "mxfp8";
    }
    return "unknown";
}

/* Default (group, bits) of a mode (mlx nn/quantized.py _defaults_for_mode). */
static void qmode_defaults(bs_qmode m, int *group, int *bits)
{
    switch (m) {
    case BS_QMODE_NONE: *group = 0, *bits = 0; return;
    case BS_QMODE_AFFINE: *group = 64, *bits = 4; return;
    case BS_QMODE_MXFP4: *group = 32, *bits = 4; return;
    case BS_QMODE_NVFP4: *group = 16, *bits = 4; return;
    case BS_QMODE_MXFP8: *group = 32, *bits = 8; return;
    }
    *group = 0, *bits = 0;
}

static int qmode_parse(const char *s, bs_qmode *out)
{
    static const struct {
        const char *name;
        bs_qmode mode;
    } modes[] = {{"affine", BS_QMODE_AFFINE},
                 {"mxfp4", BS_QMODE_MXFP4},
                 {"nvfp4", BS_QMODE_NVFP4},
                 {"mxfp8", BS_QMODE_MXFP8}};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        if (strcmp(s, modes[i].name) == 0) {
            *out = modes[i].mode;
            return 1;
        }
    return 0;
}

static void qspec_str(const bs_qspec *s, char *buf, size_t n)
{
    if (s->mode == BS_QMODE_NONE)
        snprintf(buf, n, "not quantized");
    else
        snprintf(buf, n, "%s %d-bit g%d", qmode_name(s->mode), s->bits, s->group_size);
}

static int qspec_equal(const bs_qspec *a, const bs_qspec *b)
{
    return a->mode == b->mode && a->bits == b->bits && a->group_size == b->group_size;
}

/* Reads an optional integer-or-null member of a quantization spec. */
static boson_status qspec_int(const json_t *o, const char *name, const char *key, int64_t *out,
                              int *found, boson_error *err)
{
    const json_t *v = json_object_get(o, key);
    *found = 0;
    if (!v || json_is_null(v))
        return BOSON_OK;
    if (!json_is_integer(v))
        return bs_error_set(err, BOSON_ERR_CONFIG, "%s: %s must be an integer or null (got %s)",
                            name, key, bs_json_type_name(v));
    *out = (int64_t)json_integer_value(v);
    *found = 1;
    return BOSON_OK;
}

/* Parses and validates one spec object (the global dict or a per-module dict). `name` is
 * how messages name it: "quantization" or "quantization['model.layers.3.mlp.gate']".
 * A missing or null mode means affine, in both places (a per-module dict without mode is
 * affine even inside an mxfp4 file). Missing or null group_size / bits: the mode's default. */
static boson_status qspec_parse(const json_t *o, const char *name, bs_qspec *out, boson_error *err)
{
    bs_qmode mode = BS_QMODE_AFFINE;
    const json_t *m = json_object_get(o, "mode");
    if (m && !json_is_null(m)) {
        if (!json_is_string(m))
            return bs_error_set(err, BOSON_ERR_CONFIG, "%s: mode must be a string (got %s)", name,
                                bs_json_type_name(m));
        if (!qmode_parse(json_string_value(m), &mode))
            return bs_error_set(err, BOSON_ERR_CONFIG,
                                "%s: mode '%.64s' is unknown (affine, mxfp4, nvfp4, mxfp8)", name,
                                json_string_value(m));
    }
    int def_group, def_bits;
    qmode_defaults(mode, &def_group, &def_bits);
    int64_t group = def_group, bits = def_bits;
    int found;
    boson_status st = qspec_int(o, name, "group_size", &group, &found, err);
    if (st)
        return st;
    st = qspec_int(o, name, "bits", &bits, &found, err);
    if (st)
        return st;

    switch (mode) {
    case BS_QMODE_AFFINE:
        if (!(bits == 2 || bits == 3 || bits == 4 || bits == 5 || bits == 6 || bits == 8))
            return bs_error_set(err, BOSON_ERR_CONFIG,
                                "%s: bits %lld is not valid for affine (2, 3, 4, 5, 6, 8)", name,
                                (long long)bits);
        if (!(group == 32 || group == 64 || group == 128))
            return bs_error_set(err, BOSON_ERR_CONFIG,
                                "%s: group_size %lld is not valid for affine (32, 64, 128)", name,
                                (long long)group);
        break;
    case BS_QMODE_MXFP4:
    case BS_QMODE_NVFP4:
    case BS_QMODE_MXFP8:
        if (group != def_group || bits != def_bits)
            return bs_error_set(err, BOSON_ERR_CONFIG,
                                "%s: %s requires group_size %d and bits %d (got group_size %lld, "
                                "bits %lld)",
                                name, qmode_name(mode), def_group, def_bits, (long long)group,
                                (long long)bits);
        break;
    case BS_QMODE_NONE: BS_ASSERT(!"qmode_parse never yields NONE"); break;
    }
    out->mode = mode;
    out->bits = (int)bits;
    out->group_size = (int)group;
    return BOSON_OK;
}

int bs_config_normalise_module(const char *key, char *buf, size_t bufsize)
{
    static const struct {
        const char *from, *to;
    } rules[] = {
        {"language_model.model.", "model."},
        {"model.language_model.", "model."},
        {"language_model.lm_head", "lm_head"},
    };
    const char *prefix = "", *rest = key;
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        size_t n = strlen(rules[i].from);
        if (strncmp(key, rules[i].from, n) == 0) {
            /* "language_model.lm_head" must end there or continue with a dot */
            if (rules[i].from[n - 1] != '.' && key[n] != '\0' && key[n] != '.')
                continue;
            prefix = rules[i].to;
            rest = key + n;
            break;
        }
    }
    size_t np = strlen(prefix), nr = strlen(rest);
    if (bufsize == 0 || np + nr >= bufsize)
        return 0;
    memcpy(buf, prefix, np);
    memcpy(buf + np, rest, nr + 1);
    return 1;
}

/* Entries for modules outside the text model (vision tower, MTP head) are dropped. */
static int module_is_text(const char *module)
{
    static const char *const skip[] = {
        "vision_tower.",          "visual.", "model.visual.", "model.vision_tower.",
        "multi_modal_projector.", "mtp.",    "model.mtp.",    "language_model.mtp."};
    for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
        if (strncmp(module, skip[i], strlen(skip[i])) == 0)
            return 0;
    return 1;
}

/* Sort helper for duplicate detection: by module, then by file order. */
static int cmp_override_idx(const void *a, const void *b, void *ctx)
{
    const bs_qoverride *ov = ctx;
    size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
    int c = strcmp(ov[ia].module, ov[ib].module);
    if (c)
        return c;
    return ia < ib ? -1 : ia > ib;
}

static void free_overrides(bs_config *c)
{
    for (size_t i = 0; i < c->n_overrides; i++) {
        free(c->overrides[i].module);
        free(c->overrides[i].raw_key);
    }
    free(c->overrides);
    c->overrides = NULL;
    c->n_overrides = 0;
}

/* Removes later duplicates with an identical spec; fails on conflicting ones. Keeps file
 * order. */
static boson_status dedupe_overrides(bs_config *c, const char *dict, boson_error *err)
{
    size_t n = c->n_overrides;
    if (n < 2)
        return BOSON_OK;
    size_t *idx = malloc(n * sizeof *idx);
    uint8_t *drop = calloc(n, 1);
    if (!idx || !drop) {
        free(idx);
        free(drop);
        return bs_error_set(err, BOSON_ERR_NOMEM, "out of memory for %zu quantization entries", n);
    }
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    qsort_r(idx, n, sizeof *idx, cmp_override_idx, c->overrides);
    boson_status st = BOSON_OK;
    size_t g = 0; /* first sorted position of the current module's group: the one kept */
    for (size_t i = 1; i < n && st == BOSON_OK; i++) {
        const bs_qoverride *keep = &c->overrides[idx[g]];
        const bs_qoverride *o = &c->overrides[idx[i]];
        if (strcmp(keep->module, o->module) != 0) {
            g = i;
            continue;
        }
        if (!qspec_equal(&keep->spec, &o->spec)) {
            char a[64], b[64];
            qspec_str(&keep->spec, a, sizeof a);
            qspec_str(&o->spec, b, sizeof b);
            st = bs_error_set(err, BOSON_ERR_CONFIG,
                              "%s['%.200s'] and %s['%.200s'] both name module %.200s with "
                              "different formats (%s vs %s)",
                              dict, keep->raw_key, dict, o->raw_key, o->module, a, b);
        }
        drop[idx[i]] = 1;
    }
    if (st == BOSON_OK) {
        size_t w = 0;
        for (size_t i = 0; i < n; i++) {
            if (drop[i]) {
                free(c->overrides[i].module);
                free(c->overrides[i].raw_key);
            } else {
                c->overrides[w++] = c->overrides[i];
            }
        }
        c->n_overrides = w;
    }
    free(idx);
    free(drop);
    return st;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* Parses the chosen quantization dict `q` named `dict` in messages. */
static boson_status parse_quant_dict(const json_t *q, const char *dict, bs_config *c,
                                     boson_error *err)
{
    boson_status st = qspec_parse(q, dict, &c->quant_default, err);
    if (st)
        return st;
    c->has_quantization = 1;

    size_t cap = json_object_size(q);
    if (cap == 0)
        return BOSON_OK;
    c->overrides = calloc(cap, sizeof *c->overrides);
    if (!c->overrides)
        return bs_error_set(err, BOSON_ERR_NOMEM, "out of memory for %zu quantization entries",
                            cap);
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)q, key, v)
    {
        if (strcmp(key, "group_size") == 0 || strcmp(key, "bits") == 0 || strcmp(key, "mode") == 0)
            continue;
        if (!json_is_object(v) && !json_is_false(v))
            continue; /* other scalars (e.g. quant_method): not module entries */
        size_t klen = strlen(key);
        char *module = malloc(klen + 1);
        if (!module)
            return bs_error_set(err, BOSON_ERR_NOMEM, "out of memory");
        if (!bs_config_normalise_module(key, module, klen + 1))
            BS_ASSERT(!"normalisation never lengthens a key");
        if (!module_is_text(module)) {
            free(module);
            continue;
        }
        bs_qspec spec = {BS_QMODE_NONE, 0, 0};
        if (json_is_object(v)) {
            char name[320];
            snprintf(name, sizeof name, "%s['%.256s']", dict, key);
            st = qspec_parse(v, name, &spec, err);
            if (st) {
                free(module);
                return st;
            }
        }
        char *raw = dup_str(key);
        if (!raw) {
            free(module);
            return bs_error_set(err, BOSON_ERR_NOMEM, "out of memory");
        }
        bs_qoverride *o = &c->overrides[c->n_overrides++];
        o->module = module;
        o->raw_key = raw;
        o->spec = spec;
    }
    return dedupe_overrides(c, dict, err);
}

/* Picks the quantization dict: top-level "quantization", else "quantization_config", else
 * the same two inside text_config (mlx-lm copies text_config.quantization_config up). When
 * both top-level dicts exist, "quantization" is used (mlx-lm writes quantization_config as
 * its copy for HF tooling). */
static boson_status parse_quantization(const json_t *root, const json_t *tc, bs_config *c,
                                       boson_error *err)
{
    static const struct {
        int nested;
        const char *key, *name;
    } where[] = {
        {0, "quantization", "quantization"},
        {0, "quantization_config", "quantization_config"},
        {1, "quantization", "text_config.quantization"},
        {1, "quantization_config", "text_config.quantization_config"},
    };
    for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
        const json_t *obj = where[i].nested ? tc : root;
        const json_t *q = obj ? json_object_get(obj, where[i].key) : NULL;
        if (!q || json_is_null(q))
            continue;
        if (!json_is_object(q))
            return bs_error_set(err, BOSON_ERR_CONFIG, "%s must be an object (got %s)",
                                where[i].name, bs_json_type_name(q));
        const json_t *qm = json_object_get(q, "quant_method");
        if (qm && !json_object_get(q, "bits") && !json_object_get(q, "group_size"))
            return bs_error_set(err, BOSON_ERR_UNSUPPORTED,
                                "%s has quant_method '%.64s' but no MLX bits/group_size: "
                                "Hugging Face quantized checkpoints are not supported",
                                where[i].name,
                                json_is_string(qm) ? json_string_value(qm) : "(not a string)");
        return parse_quant_dict(q, where[i].name, c, err);
    }
    return BOSON_OK;
}

/* ---------------------------------------------------------------------------------------
 * Hyper-parameters */

typedef struct hp_ctx {
    const json_t *obj; /* text_config, or the top level of a flat config */
    const char *path;  /* "text_config." or "" */
    int strict;        /* qwen3_next: fields without a default must be present */
    const char *arch;  /* for "required for ..." */
    boson_error *err;
} hp_ctx;

static boson_status missing(const hp_ctx *h, const char *key)
{
    return bs_error_set(h->err, BOSON_ERR_CONFIG, "%s%s is missing (required for %s)", h->path, key,
                        h->arch);
}

/* An integer field; `req` marks fields without a default in the strict (qwen3_next) case. */
static boson_status hp_int(const hp_ctx *h, const char *key, int req, int64_t def, int64_t lo,
                           int64_t hi, int64_t *out)
{
    int found;
    boson_status st = bs_json_get_i64(h->obj, h->path, key, lo, hi, out, &found, h->err);
    if (st || found)
        return st;
    if (req && h->strict)
        return missing(h, key);
    *out = def;
    return BOSON_OK;
}

static boson_status hp_num(const hp_ctx *h, const char *key, int req, double def, double lo,
                           double hi, double *out)
{
    int found;
    boson_status st = bs_json_get_f64(h->obj, h->path, key, lo, hi, out, &found, h->err);
    if (st || found)
        return st;
    if (req && h->strict)
        return missing(h, key);
    *out = def;
    return BOSON_OK;
}

static boson_status hp_bool(const hp_ctx *h, const char *key, int def, int *out)
{
    int found;
    boson_status st = bs_json_get_bool(h->obj, h->path, key, out, &found, h->err);
    if (!st && !found)
        *out = def;
    return st;
}

/* A boolean read from text_config when it is there, else from the top level; -1 absent. */
static boson_status bool_either(const json_t *root, const json_t *tc, const char *key, int *out,
                                boson_error *err)
{
    int found = 0;
    *out = -1;
    if (tc) {
        boson_status st = bs_json_get_bool(tc, "text_config.", key, out, &found, err);
        if (st || found)
            return st;
    }
    boson_status st = bs_json_get_bool(root, "", key, out, &found, err);
    if (!st && !found)
        *out = -1;
    return st;
}

static boson_status parse_rope(const hp_ctx *h, bs_config *c)
{
    const char *rp_key = "rope_parameters";
    const json_t *rp = json_object_get(h->obj, rp_key);
    if (!rp || json_is_null(rp)) {
        rp_key = "rope_scaling";
        rp = json_object_get(h->obj, rp_key);
    }
    if (rp && json_is_null(rp))
        rp = NULL;
    if (rp && !json_is_object(rp))
        return bs_error_set(h->err, BOSON_ERR_CONFIG, "%s%s must be an object (got %s)", h->path,
                            rp_key, bs_json_type_name(rp));
    char rpath[64];
    snprintf(rpath, sizeof rpath, "%s%s.", h->path, rp_key);
    boson_status st;
    int found = 0;
    if (rp) {
        const char *type = NULL;
        const char *tkey = "type";
        st = bs_json_get_str(rp, rpath, tkey, &type, &found, h->err);
        if (st)
            return st;
        if (!found) {
            tkey = "rope_type";
            st = bs_json_get_str(rp, rpath, tkey, &type, &found, h->err);
            if (st)
                return st;
        }
        if (found && strcmp(type, "default") != 0 && strcmp(type, "mrope") != 0)
            return bs_error_set(h->err, BOSON_ERR_UNSUPPORTED,
                                "%s%s '%.64s' is not supported (default, mrope)", rpath, tkey,
                                type);
    }

    /* rope_theta: rope_parameters, then the top-level key, then mlx-lm's default */
    found = 0;
    if (rp) {
        st = bs_json_get_f64(rp, rpath, "rope_theta", 1e-3, 1e15, &c->rope_theta, &found, h->err);
        if (st)
            return st;
    }
    if (!found) {
        st = hp_num(h, "rope_theta", 1, 100000.0, 1e-3, 1e15, &c->rope_theta);
        if (st)
            return st;
    }
    found = 0;
    if (rp) {
        st = bs_json_get_f64(rp, rpath, "partial_rotary_factor", 0.0, 1.0,
                             &c->partial_rotary_factor, &found, h->err);
        if (st)
            return st;
    }
    if (!found) {
        st = hp_num(h, "partial_rotary_factor", 1, 0.25, 0.0, 1.0, &c->partial_rotary_factor);
        if (st)
            return st;
    }
    c->rotary_dim = (int64_t)((double)c->head_dim * c->partial_rotary_factor);
    if (c->rotary_dim < 2 || c->rotary_dim % 2 != 0 || c->rotary_dim > c->head_dim)
        return bs_error_set(h->err, BOSON_ERR_CONFIG,
                            "%spartial_rotary_factor %g with head_dim %lld gives %lld rotary "
                            "dims; it must be even, at least 2 and at most head_dim",
                            h->path, c->partial_rotary_factor, (long long)c->head_dim,
                            (long long)c->rotary_dim);
    return BOSON_OK;
}

static boson_status parse_layer_schedule(const hp_ctx *h, bs_config *c)
{
    int64_t L = c->num_hidden_layers;
    c->layer_is_attention = calloc((size_t)L, 1);
    c->layer_is_moe = calloc((size_t)L, 1);
    if (!c->layer_is_attention || !c->layer_is_moe)
        return bs_error_set(h->err, BOSON_ERR_NOMEM, "out of memory for %lld layers", (long long)L);
    for (int64_t i = 0; i < L; i++)
        c->layer_is_attention[i] = (i + 1) % c->full_attention_interval == 0;

    const json_t *lt = json_object_get(h->obj, "layer_types");
    if (lt && !json_is_null(lt)) {
        if (!json_is_array(lt))
            return bs_error_set(h->err, BOSON_ERR_CONFIG, "%slayer_types must be an array (got %s)",
                                h->path, bs_json_type_name(lt));
        if ((int64_t)json_array_size(lt) != L)
            return bs_error_set(h->err, BOSON_ERR_CONFIG,
                                "%slayer_types has %zu entries but num_hidden_layers is %lld",
                                h->path, json_array_size(lt), (long long)L);
        for (int64_t i = 0; i < L; i++) {
            const json_t *e = json_array_get(lt, (size_t)i);
            const char *s = json_is_string(e) ? json_string_value(e) : NULL;
            int attn;
            if (s && strcmp(s, "full_attention") == 0)
                attn = 1;
            else if (s && strcmp(s, "linear_attention") == 0)
                attn = 0;
            else
                return bs_error_set(h->err, BOSON_ERR_CONFIG,
                                    "%slayer_types[%lld] must be \"linear_attention\" or "
                                    "\"full_attention\" (got %s%.64s%s)",
                                    h->path, (long long)i, s ? "'" : "",
                                    s ? s : bs_json_type_name(e), s ? "'" : "");
            if (attn != c->layer_is_attention[i])
                return bs_error_set(h->err, BOSON_ERR_CONFIG,
                                    "%slayer_types[%lld] is '%s' but full_attention_interval %lld "
                                    "makes layer %lld %s",
                                    h->path, (long long)i, s, (long long)c->full_attention_interval,
                                    (long long)i, attn ? "linear attention" : "full attention");
        }
    }

    /* MoE layers */
    uint8_t *mlp_only = NULL;
    if (c->arch == BS_ARCH_QWEN3_NEXT) {
        const json_t *mo = json_object_get(h->obj, "mlp_only_layers");
        if (!mo || json_is_null(mo))
            return missing(h, "mlp_only_layers");
        if (!json_is_array(mo))
            return bs_error_set(h->err, BOSON_ERR_CONFIG,
                                "%smlp_only_layers must be an array of layer indices (got %s)",
                                h->path, bs_json_type_name(mo));
        mlp_only = calloc((size_t)L, 1);
        if (!mlp_only)
            return bs_error_set(h->err, BOSON_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < json_array_size(mo); i++) {
            const json_t *e = json_array_get(mo, i);
            if (!json_is_integer(e) || json_integer_value(e) < 0 || json_integer_value(e) >= L) {
                free(mlp_only);
                return bs_error_set(h->err, BOSON_ERR_CONFIG,
                                    "%smlp_only_layers[%zu] must be a layer index in [0, %lld)",
                                    h->path, i, (long long)L);
            }
            mlp_only[json_integer_value(e)] = 1;
        }
    }
    for (int64_t i = 0; i < L; i++) {
        switch (c->arch) {
        case BS_ARCH_QWEN3_5:
        case BS_ARCH_QWEN3_5_MOE: c->layer_is_moe[i] = c->num_experts > 0; break;
        case BS_ARCH_QWEN3_NEXT:
            c->layer_is_moe[i] =
                !mlp_only[i] && c->num_experts > 0 && (i + 1) % c->decoder_sparse_step == 0;
            break;
        }
    }
    free(mlp_only);
    return BOSON_OK;
}

static boson_status check_product(const hp_ctx *h, const char *na, int64_t a, const char *nb,
                                  int64_t b)
{
    if (a * b > CFG_MAX_DIM)
        return bs_error_set(h->err, BOSON_ERR_CONFIG, "%s%s * %s = %lld exceeds %lld", h->path, na,
                            nb, (long long)(a * b), (long long)CFG_MAX_DIM);
    return BOSON_OK;
}

static boson_status parse_hparams(const hp_ctx *h, bs_config *c)
{
    boson_status st;
    int64_t hd = 0;
    int hd_found = 0;
#define TRY(x)         \
    do {               \
        st = (x);      \
        if (st)        \
            return st; \
    } while (0)
    TRY(hp_int(h, "hidden_size", 1, 4096, 1, CFG_MAX_DIM, &c->hidden_size));
    TRY(hp_int(h, "intermediate_size", 1, 14336, 0, CFG_MAX_DIM, &c->intermediate_size));
    TRY(hp_int(h, "num_hidden_layers", 1, 32, 1, CFG_MAX_LAYERS, &c->num_hidden_layers));
    TRY(hp_int(h, "num_attention_heads", 1, 32, 1, CFG_MAX_HEADS, &c->num_attention_heads));
    TRY(hp_int(h, "num_key_value_heads", 1, 8, 1, CFG_MAX_HEADS, &c->num_key_value_heads));
    TRY(bs_json_get_i64(h->obj, h->path, "head_dim", 1, CFG_MAX_HEAD_DIM, &hd, &hd_found, h->err));
    TRY(hp_num(h, "rms_norm_eps", 1, 1e-6, 0.0, 1.0, &c->rms_norm_eps));
    TRY(hp_int(h, "vocab_size", 1, 151936, 1, CFG_MAX_VOCAB, &c->vocab_size));
    TRY(hp_int(h, "max_position_embeddings", 1, 131072, 1, CFG_MAX_POS,
               &c->max_position_embeddings));
    TRY(hp_int(h, "linear_num_value_heads", 1, 64, 1, CFG_MAX_HEADS, &c->linear_num_value_heads));
    TRY(hp_int(h, "linear_num_key_heads", 1, 16, 1, CFG_MAX_HEADS, &c->linear_num_key_heads));
    TRY(hp_int(h, "linear_key_head_dim", 1, 192, 1, CFG_MAX_HEAD_DIM, &c->linear_key_head_dim));
    TRY(hp_int(h, "linear_value_head_dim", 1, 128, 1, CFG_MAX_HEAD_DIM, &c->linear_value_head_dim));
    TRY(hp_int(h, "linear_conv_kernel_dim", 1, 4, 1, CFG_MAX_CONV, &c->linear_conv_kernel_dim));
    TRY(hp_bool(h, "attention_bias", 0, &c->attention_bias));
    TRY(hp_int(h, "full_attention_interval", 0, 4, 1, CFG_MAX_LAYERS, &c->full_attention_interval));
    TRY(hp_int(h, "num_experts", 1, 0, 0, CFG_MAX_EXPERTS, &c->num_experts));
    TRY(hp_int(h, "num_experts_per_tok", 1, 0, 0, CFG_MAX_EXPERTS, &c->num_experts_per_tok));
    TRY(hp_int(h, "moe_intermediate_size", 1, 0, 0, CFG_MAX_DIM, &c->moe_intermediate_size));
    TRY(hp_int(h, "shared_expert_intermediate_size", 1, 0, 0, CFG_MAX_DIM,
               &c->shared_expert_intermediate_size));
    TRY(hp_int(h, "decoder_sparse_step", 1, 1, 1, CFG_MAX_LAYERS, &c->decoder_sparse_step));
    TRY(hp_bool(h, "norm_topk_prob", c->arch != BS_ARCH_QWEN3_NEXT, &c->norm_topk_prob));

    if (!(c->rms_norm_eps > 0.0))
        return bs_error_set(h->err, BOSON_ERR_CONFIG, "%srms_norm_eps must be > 0 (got %g)",
                            h->path, c->rms_norm_eps);

    /* head_dim: required for qwen3_next, else H / Nh */
    if (hd_found) {
        c->head_dim = hd;
    } else if (h->strict) {
        return missing(h, "head_dim");
    } else {
        if (c->hidden_size % c->num_attention_heads != 0)
            return bs_error_set(h->err, BOSON_ERR_CONFIG,
                                "%shead_dim is absent and num_attention_heads (%lld) does not "
                                "divide hidden_size (%lld)",
                                h->path, (long long)c->num_attention_heads,
                                (long long)c->hidden_size);
        c->head_dim = c->hidden_size / c->num_attention_heads;
        if (c->head_dim > CFG_MAX_HEAD_DIM)
            return bs_error_set(h->err, BOSON_ERR_CONFIG,
                                "%shead_dim (hidden_size / num_attention_heads = %lld) exceeds "
                                "%lld",
                                h->path, (long long)c->head_dim, (long long)CFG_MAX_HEAD_DIM);
    }

    if (c->num_attention_heads % c->num_key_value_heads != 0)
        return bs_error_set(h->err, BOSON_ERR_CONFIG,
                            "%snum_key_value_heads must divide num_attention_heads (%lld vs %lld)",
                            h->path, (long long)c->num_key_value_heads,
                            (long long)c->num_attention_heads);
    if (c->linear_num_value_heads % c->linear_num_key_heads != 0)
        return bs_error_set(h->err, BOSON_ERR_CONFIG,
                            "%slinear_num_key_heads must divide linear_num_value_heads (%lld vs "
                            "%lld)",
                            h->path, (long long)c->linear_num_key_heads,
                            (long long)c->linear_num_value_heads);

    /* products that size the projections (each factor <= 2^16: no overflow) */
    TRY(check_product(h, "num_attention_heads", c->num_attention_heads, "head_dim", c->head_dim));
    TRY(check_product(h, "linear_num_key_heads", c->linear_num_key_heads, "linear_key_head_dim",
                      c->linear_key_head_dim));
    TRY(check_product(h, "linear_num_value_heads", c->linear_num_value_heads,
                      "linear_value_head_dim", c->linear_value_head_dim));

    /* MoE */
    if (c->arch == BS_ARCH_QWEN3_5_MOE && c->num_experts == 0)
        return bs_error_set(h->err, BOSON_ERR_CONFIG,
                            "%snum_experts must be > 0 for qwen3_5_moe (got 0)", h->path);
    if (c->num_experts > 0) {
        if (c->num_experts_per_tok < 1 || c->num_experts_per_tok > c->num_experts)
            return bs_error_set(h->err, BOSON_ERR_CONFIG,
                                "%snum_experts_per_tok (%lld) must be between 1 and "
                                "num_experts (%lld)",
                                h->path, (long long)c->num_experts_per_tok,
                                (long long)c->num_experts);
        if (c->moe_intermediate_size < 1)
            return bs_error_set(h->err, BOSON_ERR_CONFIG,
                                "%smoe_intermediate_size must be > 0 when num_experts is %lld",
                                h->path, (long long)c->num_experts);
    }

    /* activation and gating: mlx-lm always uses SiLU and a gated attention output */
    const char *act = NULL;
    int found;
    TRY(bs_json_get_str(h->obj, h->path, "hidden_act", &act, &found, h->err));
    if (found && strcmp(act, "silu") != 0)
        return bs_error_set(h->err, BOSON_ERR_UNSUPPORTED,
                            "%shidden_act '%.64s' is not supported (only silu)", h->path, act);
    int gate = 1;
    TRY(hp_bool(h, "attn_output_gate", 1, &gate));
    if (!gate)
        return bs_error_set(h->err, BOSON_ERR_UNSUPPORTED,
                            "%sattn_output_gate false is not supported (Qwen3.5 attention is "
                            "always gated)",
                            h->path);

    TRY(parse_rope(h, c));
    TRY(parse_layer_schedule(h, c));

    for (int64_t i = 0; i < c->num_hidden_layers; i++)
        if (!c->layer_is_moe[i] && c->intermediate_size < 1)
            return bs_error_set(h->err, BOSON_ERR_CONFIG,
                                "%sintermediate_size must be > 0 (layer %lld has a dense MLP)",
                                h->path, (long long)i);
#undef TRY
    return BOSON_OK;
}

/* ---------------------------------------------------------------------------------------
 * Token ids and generation defaults */

static boson_status add_token_ids(bs_config *c, const json_t *v, const char *name, boson_error *err)
{
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    if (!json_is_array(v) && !json_is_integer(v))
        return bs_error_set(err, BOSON_ERR_CONFIG,
                            "%s must be an integer or a list of integers (got %s)", name,
                            bs_json_type_name(v));
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_is_array(v) ? json_array_get(v, i) : v;
        if (!json_is_integer(e) || json_integer_value(e) < 0 ||
            json_integer_value(e) > CFG_MAX_TOKEN_ID)
            return bs_error_set(err, BOSON_ERR_CONFIG,
                                "%s: entry %zu must be a token id in [0, %lld] (got %s)", name, i,
                                (long long)CFG_MAX_TOKEN_ID, bs_json_type_name(e));
        int32_t id = (int32_t)json_integer_value(e);
        int dup = 0;
        for (int k = 0; k < c->n_eos; k++)
            dup |= c->eos_ids[k] == id;
        if (dup)
            continue;
        if (c->n_eos >= BS_MAX_EOS)
            return bs_error_set(err, BOSON_ERR_CONFIG, "%s: more than %d distinct eos ids", name,
                                BS_MAX_EOS);
        c->eos_ids[c->n_eos++] = id;
    }
    return BOSON_OK;
}

/* bos / pad: text_config, then the top level, then generation_config.json. -1 absent. */
static boson_status token_id_either(const json_t *tc, const json_t *root, const json_t *gen,
                                    const char *key, int32_t *out, boson_error *err)
{
    const struct {
        const json_t *obj;
        const char *path;
    } src[] = {{tc, "text_config."}, {root, ""}, {gen, "generation_config.json: "}};
    for (size_t i = 0; i < sizeof src / sizeof src[0]; i++) {
        if (!src[i].obj)
            continue;
        int64_t v;
        int found;
        boson_status st =
            bs_json_get_i64(src[i].obj, src[i].path, key, -1, CFG_MAX_TOKEN_ID, &v, &found, err);
        if (st)
            return st;
        if (found) {
            *out = (int32_t)v;
            return BOSON_OK;
        }
    }
    *out = -1;
    return BOSON_OK;
}

static boson_status parse_tokens(const json_t *root, const json_t *tc, const json_t *gen,
                                 bs_config *c, boson_error *err)
{
    boson_status st;
    const json_t *v = json_object_get(root, "eos_token_id");
    if (v && !json_is_null(v) && (st = add_token_ids(c, v, "eos_token_id", err)))
        return st;
    v = tc ? json_object_get(tc, "eos_token_id") : NULL;
    if (v && !json_is_null(v) && (st = add_token_ids(c, v, "text_config.eos_token_id", err)))
        return st;
    /* generation_config.json's list replaces config.json's (an empty list does not) */
    v = gen ? json_object_get(gen, "eos_token_id") : NULL;
    if (v && !json_is_null(v) && !(json_is_array(v) && json_array_size(v) == 0)) {
        c->n_eos = 0;
        if ((st = add_token_ids(c, v, "generation_config.json: eos_token_id", err)))
            return st;
    }
    if ((st = token_id_either(tc, root, gen, "bos_token_id", &c->bos_id, err)))
        return st;
    if ((st = token_id_either(tc, root, gen, "pad_token_id", &c->pad_id, err)))
        return st;
    if (!gen)
        return BOSON_OK;

    const char *gp = "generation_config.json: ";
    int found;
    if ((st = bs_json_get_f64(gen, gp, "temperature", 0.0, 1e6, &c->gen_temperature, &found, err)))
        return st;
    if ((st = bs_json_get_f64(gen, gp, "top_p", 0.0, 1.0, &c->gen_top_p, &found, err)))
        return st;
    if ((st = bs_json_get_f64(gen, gp, "min_p", 0.0, 1.0, &c->gen_min_p, &found, err)))
        return st;
    if ((st = bs_json_get_f64(gen, gp, "repetition_penalty", 0.0, 1e6, &c->gen_repetition_penalty,
                              &found, err)))
        return st;
    if (found && !(c->gen_repetition_penalty > 0.0))
        return bs_error_set(err, BOSON_ERR_CONFIG,
                            "generation_config.json: repetition_penalty must be > 0");
    if ((st = bs_json_get_i64(gen, gp, "top_k", 0, INT32_MAX, &c->gen_top_k, &found, err)))
        return st;
    return BOSON_OK;
}

/* ---------------------------------------------------------------------------------------
 * Entry points */

static void config_init(bs_config *c)
{
    memset(c, 0, sizeof *c);
    c->separate_gdn_proj = -1;
    c->bos_id = -1;
    c->pad_id = -1;
    c->gen_temperature = NAN;
    c->gen_top_p = NAN;
    c->gen_min_p = NAN;
    c->gen_repetition_penalty = NAN;
    c->gen_top_k = -1;
}

static boson_status parse_model_type(const json_t *root, const json_t *tc, bs_config *c,
                                     boson_error *err)
{
    const char *mt = NULL;
    int found = 0;
    boson_status st = bs_json_get_str(root, "", "model_type", &mt, &found, err);
    if (!st && !found && tc)
        st = bs_json_get_str(tc, "text_config.", "model_type", &mt, &found, err);
    if (st)
        return st;
    if (!found)
        return bs_error_set(err, BOSON_ERR_CONFIG, "model_type is missing (supported: %s)",
                            k_supported);
    for (size_t i = 0; i < sizeof k_model_types / sizeof k_model_types[0]; i++) {
        if (strcmp(mt, k_model_types[i].name) == 0) {
            c->arch = k_model_types[i].arch;
            snprintf(c->model_type, sizeof c->model_type, "%s", k_model_types[i].name);
            return BOSON_OK;
        }
    }
    return bs_error_set(err, BOSON_ERR_UNSUPPORTED,
                        "model_type '%.64s' is not supported; supported: %s", mt, k_supported);
}

static boson_status parse_root(const json_t *root, const json_t *gen, bs_config *c,
                               boson_error *err)
{
    const json_t *tc = json_object_get(root, "text_config");
    if (tc && json_is_null(tc))
        tc = NULL;
    if (tc && !json_is_object(tc))
        return bs_error_set(err, BOSON_ERR_CONFIG, "text_config must be an object (got %s)",
                            bs_json_type_name(tc));
    c->has_text_config = tc != NULL;

    boson_status st = parse_model_type(root, tc, c, err);
    if (st)
        return st;

    hp_ctx h = {tc ? tc : root, tc ? "text_config." : "", c->arch == BS_ARCH_QWEN3_NEXT,
                bs_arch_name(c->arch), err};
    if ((st = parse_hparams(&h, c)))
        return st;

    int tie;
    if ((st = bool_either(root, tc, "tie_word_embeddings", &tie, err)))
        return st;
    c->tie_word_embeddings = tie == 1;
    if ((st = bool_either(root, tc, "use_separate_gdn_projections", &c->separate_gdn_proj, err)))
        return st;
    if ((st = parse_quantization(root, tc, c, err)))
        return st;
    return parse_tokens(root, tc, gen, c, err);
}

boson_status bs_config_parse(const char *json, size_t len, const char *gen_json, size_t gen_len,
                             const char *where, bs_config *out, boson_error *err)
{
    config_init(out);
    if (!where)
        where = "config.json";
    if (!json)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "%s: no text given", where);
    if (len > CFG_MAX_FILE_BYTES)
        return bs_error_set(err, BOSON_ERR_CONFIG, "%s: %zu bytes is larger than the %zu MiB limit",
                            where, len, CFG_MAX_FILE_BYTES >> 20);
    if (gen_json && gen_len > CFG_MAX_FILE_BYTES)
        return bs_error_set(err, BOSON_ERR_CONFIG,
                            "generation_config.json: %zu bytes is larger than the %zu MiB limit",
                            gen_len, CFG_MAX_FILE_BYTES >> 20);

    json_t *root = NULL, *gen = NULL;
    boson_status st = bs_json_parse_object(json, len, where, &root, err);
    if (st)
        return st;
    if (gen_json) {
        st = bs_json_parse_object(gen_json, gen_len, "generation_config.json", &gen, err);
        if (st) {
            json_decref(root);
            return st;
        }
    }
    st = parse_root(root, gen, out, err);
    json_decref(root);
    json_decref(gen);
    if (st) {
        if (err && strncmp(err->message, "generation_config.json", 22) != 0)
            bs_error_prefix(err, "%s: ", where);
        bs_config_free(out);
        config_init(out);
    }
    return st;
}

/* Reads a whole small file. *missing is set when it does not exist. */
static boson_status read_small_file(const char *path, char **out, size_t *len, int *missing,
                                    boson_error *err)
{
    *out = NULL;
    *len = 0;
    *missing = 0;
    /* O_NONBLOCK: a FIFO in place of the file must not hang the open */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT) {
            *missing = 1;
            return BOSON_ERR_IO;
        }
        return bs_error_set(err, BOSON_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return bs_error_set(err, BOSON_ERR_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)sb.st_size > CFG_MAX_FILE_BYTES) {
        close(fd);
        return bs_error_set(err, BOSON_ERR_CONFIG,
                            "%s: %lld bytes is larger than the %zu MiB limit", path,
                            (long long)sb.st_size, CFG_MAX_FILE_BYTES >> 20);
    }
    size_t n = (size_t)sb.st_size;
    char *buf = malloc(n + 1);
    if (!buf) {
        close(fd);
        return bs_error_set(err, BOSON_ERR_NOMEM, "%s: out of memory for %zu bytes", path, n);
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int e = r < 0 ? errno : 0;
            free(buf);
            close(fd);
            return bs_error_set(err, BOSON_ERR_IO, "%s: read failed after %zu of %zu bytes%s%s",
                                path, got, n, e ? ": " : "", e ? strerror(e) : "");
        }
        got += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return BOSON_OK;
}

boson_status bs_config_load(const char *dir, bs_config *out, boson_error *err)
{
    config_init(out);
    if (!dir)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "no checkpoint directory given");
    size_t dn = strlen(dir);
    char *path = malloc(dn + sizeof "/generation_config.json");
    if (!path)
        return bs_error_set(err, BOSON_ERR_NOMEM, "out of memory");
    char *text = NULL, *gen = NULL;
    size_t len = 0, gen_len = 0;
    int missing;

    sprintf(path, "%s/config.json", dir);
    boson_status st = read_small_file(path, &text, &len, &missing, err);
    if (st) {
        if (missing)
            bs_error_set(err, BOSON_ERR_IO, "no config.json in %s", dir);
        free(path);
        return st;
    }
    char *cfg_path = dup_str(path);
    sprintf(path, "%s/generation_config.json", dir);
    st = read_small_file(path, &gen, &gen_len, &missing, err);
    if (st && missing)
        st = BOSON_OK; /* optional */
    if (!st && !cfg_path)
        st = bs_error_set(err, BOSON_ERR_NOMEM, "out of memory");
    if (!st)
        st = bs_config_parse(text, len, gen, gen_len, cfg_path, out, err);
    free(cfg_path);
    free(path);
    free(text);
    free(gen);
    return st;
}

const bs_qoverride *bs_config_find_override(const bs_config *c, const char *module)
{
    for (size_t i = 0; i < c->n_overrides; i++)
        if (strcmp(c->overrides[i].module, module) == 0)
            return &c->overrides[i];
    return NULL;
}

void bs_config_free(bs_config *c)
{
    if (!c)
        return;
    free_overrides(c);
    free(c->layer_is_attention);
    free(c->layer_is_moe);
    c->layer_is_attention = NULL;
    c->layer_is_moe = NULL;
}
