/* Model plan: binding of every text-model weight to its tensors with a resolved format.
 * Projection sets, dispatch groups and statistics are in plan_groups.c. */
#include "model/plan.h"

#include "base/checked.h"
#include "base/error.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct plan_ctx {
    const bs_config *cfg;
    const bs_checkpoint *ck;
    bs_model_plan *plan;
    uint8_t *used;          /* [ck->n_tensors]: tensor consumed by the plan */
    uint8_t *override_used; /* [cfg->n_overrides] */
    size_t next_weight;
    size_t cap_weights;
    boson_error *err;
} plan_ctx;

int bs_parse_bool(const char *s)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    if (!s)
        return -1;
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (!strcasecmp(s, yes[i]))
            return 1;
        if (!strcasecmp(s, no[i]))
            return 0;
    }
    return -1;
}

static void shape_str(const uint64_t *dims, int n, char *buf, size_t size)
{
    size_t pos = 0;
    buf[0] = '\0';
    pos += (size_t)snprintf(buf + pos, size - pos, "[");
    for (int i = 0; i < n && pos < size; i++)
        pos += (size_t)snprintf(buf + pos, size - pos, "%s%llu", i ? ", " : "",
                                (unsigned long long)dims[i]);
    if (pos < size)
        snprintf(buf + pos, size - pos, "]");
}

/* Index of a normalised name in the checkpoint's sorted table, or -1. */
static long find_idx(const bs_checkpoint *ck, const char *name)
{
    size_t lo = 0, hi = ck->n_tensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(ck->tensors[mid].name, name);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* Looks up module + suffix, marks it used, returns the tensor or NULL. */
static const bs_tensor *take(plan_ctx *c, const char *module, const char *suffix)
{
    char name[BS_NAME_MAX + 32];
    snprintf(name, sizeof name, "%s%s", module, suffix);
    long i = find_idx(c->ck, name);
    if (i < 0)
        return NULL;
    c->used[i] = 1;
    return c->ck->tensors[i].t;
}

static int exists(const plan_ctx *c, const char *module, const char *suffix)
{
    char name[BS_NAME_MAX + 32];
    snprintf(name, sizeof name, "%s%s", module, suffix);
    return find_idx(c->ck, name) >= 0;
}

static bs_weight *new_weight(plan_ctx *c)
{
    BS_ASSERT(c->next_weight < c->cap_weights);
    bs_weight *w = &c->plan->weights[c->next_weight++];
    memset(w, 0, sizeof *w);
    return w;
}

static const bs_qoverride *lookup_override(plan_ctx *c, const char *module)
{
    const bs_qoverride *o = bs_config_find_override(c->cfg, module);
    if (o)
        c->override_used[o - c->cfg->overrides] = 1;
    return o;
}

static bs_wformat spec_format(const bs_qspec *s, bs_dtype scale_dtype)
{
    bs_wformat f;
    memset(&f, 0, sizeof f);
    f.bits = s->bits;
    f.group_size = s->group_size;
    switch (s->mode) {
    case BS_QMODE_AFFINE:
        f.kind = BS_W_AFFINE;
        f.dtype = scale_dtype;
        break;
    case BS_QMODE_MXFP4:
        f.kind = BS_W_MXFP4;
        f.dtype = BS_DT_U8;
        break;
    case BS_QMODE_NVFP4:
        f.kind = BS_W_NVFP4;
        f.dtype = BS_DT_U8;
        break;
    case BS_QMODE_MXFP8:
        f.kind = BS_W_MXFP8;
        f.dtype = BS_DT_U8;
        break;
    case BS_QMODE_NONE: f.kind = BS_W_DENSE; break;
    }
    return f;
}

/* Expected leading dims: [n_stack] for stacks, none otherwise. */
static int expect_dims(uint64_t *dims, int stacked, uint64_t n_stack, uint64_t rows, uint64_t cols)
{
    int n = 0;
    if (stacked)
        dims[n++] = n_stack;
    dims[n++] = rows;
    dims[n++] = cols;
    return n;
}

static int same_shape(const bs_tensor *t, const uint64_t *dims, int n)
{
    if (t->ndim != n)
        return 0;
    for (int i = 0; i < n; i++)
        if (t->shape[i] != dims[i])
            return 0;
    return 1;
}

static boson_status mismatch(plan_ctx *c, const bs_tensor *t, const char *what,
                             const uint64_t *dims, int n, const char *expect_dtype,
                             const bs_weight *w)
{
    char exp_s[96], got_s[96], fmt_s[32];
    shape_str(dims, n, exp_s, sizeof exp_s);
    shape_str(t->shape, t->ndim, got_s, sizeof got_s);
    bs_wformat_str(&w->fmt, fmt_s, sizeof fmt_s);
    return bs_error_set(c->err, BOSON_ERR_FORMAT,
                        "%s: tensor '%s' (%s of %s as %s, from %s): expected %s %s but found %s %s",
                        t->file ? t->file : "?", t->name, what, w->module, fmt_s, w->source,
                        expect_dtype, exp_s, bs_dtype_name(t->dtype), got_s);
}

static int is_byte_dtype(bs_dtype d)
{
    return d == BS_DT_U8 || d == BS_DT_F8_E4M3 || d == BS_DT_F8_E8M0;
}

/* Checks the stored tensors of a quantized weight against spec; fills w->fmt, scales, biases. */
static boson_status check_quantized(plan_ctx *c, bs_weight *w, const bs_qspec *spec,
                                    const bs_tensor *wt, const bs_tensor *sc, const bs_tensor *bi,
                                    int stacked, uint64_t n_stack)
{
    const char *module = w->module;
    uint64_t rows = w->rows, cols = w->cols, dims[3];
    int nd;
    w->fmt = spec_format(spec, sc->dtype);
    if (cols % (uint64_t)spec->group_size != 0)
        return bs_error_set(c->err, BOSON_ERR_FORMAT,
                            "%s: input width %llu of '%s' is not a multiple of group size %d (%s)",
                            wt->file, (unsigned long long)cols, module, spec->group_size,
                            w->source);
    uint64_t packed = cols * (uint64_t)spec->bits / 32; /* cols <= 2^24 by config limits */
    nd = expect_dims(dims, stacked, n_stack, rows, packed);
    if (wt->dtype != BS_DT_U32 || !same_shape(wt, dims, nd))
        return mismatch(c, wt, "packed codes", dims, nd, "U32", w);
    nd = expect_dims(dims, stacked, n_stack, rows, cols / (uint64_t)spec->group_size);
    if (w->fmt.kind == BS_W_AFFINE) {
        if (!bs_dtype_is_float(sc->dtype) || !same_shape(sc, dims, nd))
            return mismatch(c, sc, "scales", dims, nd, "F32/F16/BF16", w);
        if (!bi)
            return bs_error_set(c->err, BOSON_ERR_FORMAT,
                                "missing tensor '%s.biases': affine quantization (%s) needs biases",
                                module, w->source);
        if (bi->dtype != sc->dtype || !same_shape(bi, dims, nd))
            return mismatch(c, bi, "biases", dims, nd, bs_dtype_name(sc->dtype), w);
        w->biases = bi;
    } else {
        /* MLX reads F8_E4M3 / F8_E8M0 scales as plain bytes */
        if (!is_byte_dtype(sc->dtype) || !same_shape(sc, dims, nd))
            return mismatch(c, sc, "scales", dims, nd, "U8", w);
        if (bi)
            return bs_error_set(c->err, BOSON_ERR_FORMAT,
                                "%s: tensor '%s' present but %s (%s) has no biases", bi->file,
                                bi->name, module, w->source);
    }
    w->scales = sc;
    return BOSON_OK;
}

/* The format implied by the shapes (bits = 32 * packed / K, group = K / scale columns, mode
 * from the scales' dtype and the presence of biases), if it is a legal MLX format. */
static int infer_spec(const bs_tensor *wt, const bs_tensor *sc, const bs_tensor *bi, uint64_t cols,
                      bs_qspec *out)
{
    if (wt->ndim < 2 || sc->ndim < 2 || cols == 0)
        return 0;
    uint64_t pc = wt->shape[wt->ndim - 1], sg = sc->shape[sc->ndim - 1];
    if (pc == 0 || sg == 0 || (pc * 32) % cols || cols % sg)
        return 0;
    uint64_t bits = pc * 32 / cols, group = cols / sg;
    if (bi && bs_dtype_is_float(sc->dtype)) {
        if ((bits < 2 || bits > 8 || bits == 7) || (group != 32 && group != 64 && group != 128))
            return 0;
        out->mode = BS_QMODE_AFFINE;
    } else if (!bi && is_byte_dtype(sc->dtype)) {
        if (group == 16 && bits == 4)
            out->mode = BS_QMODE_NVFP4;
        else if (group == 32 && bits == 4)
            out->mode = BS_QMODE_MXFP4;
        else if (group == 32 && bits == 8)
            out->mode = BS_QMODE_MXFP8;
        else
            return 0;
    } else {
        return 0;
    }
    out->bits = (int)bits;
    out->group_size = (int)group;
    return 1;
}

/* Resolves and checks one weight whose tensors are module.weight/.scales/.biases.
 * stacked: a 3-D expert stack [n_stack, rows, cols]. Returns OK with w->w == NULL when the
 * tensor is absent and optional. */
static boson_status bind_weight(plan_ctx *c, bs_weight *w, const char *module, const char *role,
                                int layer, int stacked, uint64_t n_stack, uint64_t rows,
                                uint64_t cols, int optional)
{
    snprintf(w->module, sizeof w->module, "%s", module);
    w->role = role;
    w->layer = layer;
    w->n_stack = stacked ? n_stack : 1;
    w->rows = rows;
    w->cols = cols;
    w->stack_rows = rows;

    const bs_tensor *wt = take(c, module, ".weight");
    const bs_tensor *sc = take(c, module, ".scales");
    const bs_tensor *bi = take(c, module, ".biases");
    if (!wt) {
        if (optional && !sc && !bi)
            return BOSON_OK;
        return bs_error_set(c->err, BOSON_ERR_FORMAT, "missing tensor '%s.weight' in %s", module,
                            c->ck->dir);
    }
    w->w = wt;

    const bs_qoverride *o = lookup_override(c, module);
    bs_qspec spec;
    if (o) {
        spec = o->spec;
        snprintf(w->source, sizeof w->source, "config quantization['%s']", o->raw_key);
    } else if (sc) {
        if (!c->cfg->has_quantization)
            return bs_error_set(c->err, BOSON_ERR_FORMAT,
                                "%s: tensor '%s' exists but config.json has no quantization "
                                "entry to say how '%s' is quantized",
                                sc->file, sc->name, module);
        spec = c->cfg->quant_default;
        snprintf(w->source, sizeof w->source, "global quantization (.scales present)");
    } else {
        spec.mode = BS_QMODE_NONE;
        spec.bits = 0;
        spec.group_size = 0;
        snprintf(w->source, sizeof w->source, "no .scales tensor: unquantized");
    }

    uint64_t dims[3];
    int nd;
    if (spec.mode == BS_QMODE_NONE) {
        w->fmt.kind = BS_W_DENSE;
        w->fmt.dtype = wt->dtype;
        w->fmt.bits = (int)(bs_dtype_size(wt->dtype) * 8);
        w->fmt.group_size = 0;
        nd = expect_dims(dims, stacked, n_stack, rows, cols);
        if (!bs_dtype_is_float(wt->dtype) || !same_shape(wt, dims, nd))
            return mismatch(c, wt, "weight", dims, nd, "F32/F16/BF16", w);
        if (sc || bi)
            return bs_error_set(c->err, BOSON_ERR_FORMAT,
                                "%s: tensor '%s' present but %s is unquantized per %s",
                                (sc ? sc : bi)->file, (sc ? sc : bi)->name, module, w->source);
        return BOSON_OK;
    }

    if (!sc)
        return bs_error_set(c->err, BOSON_ERR_FORMAT,
                            "missing tensor '%s.scales': %s is quantized per %s", module, module,
                            w->source);
    boson_status st = check_quantized(c, w, &spec, wt, sc, bi, stacked, n_stack);
    if (st == BOSON_OK || o)
        return st;
    /* No config entry and the global format does not fit: like mlx-lm, take the format the
     * shapes imply when it is a legal one, and say so; otherwise report the mismatch. */
    bs_qspec inferred;
    if (!infer_spec(wt, sc, bi, cols, &inferred))
        return st;
    char glob[32];
    bs_wformat gf = spec_format(&spec, sc->dtype);
    bs_wformat_str(&gf, glob, sizeof glob);
    boson_error saved = *c->err;
    snprintf(w->source, sizeof w->source,
             "inferred from tensor shapes (no config entry; the global format %s does not fit)",
             glob);
    if (check_quantized(c, w, &inferred, wt, sc, bi, stacked, n_stack) != BOSON_OK) {
        *c->err = saved;
        return st;
    }
    c->plan->n_inferred++;
    bs_error_clear(c->err);
    return BOSON_OK;
}

/* A 1-D (or fixed-shape) dense parameter. */
static boson_status bind_param(plan_ctx *c, const bs_tensor **out, const char *module,
                               const char *suffix, const uint64_t *dims, int nd)
{
    const bs_tensor *t = take(c, module, suffix);
    if (!t)
        return bs_error_set(c->err, BOSON_ERR_FORMAT, "missing tensor '%s%s' in %s", module, suffix,
                            c->ck->dir);
    if (!bs_dtype_is_float(t->dtype) || !same_shape(t, dims, nd)) {
        char e[96], g[96];
        shape_str(dims, nd, e, sizeof e);
        shape_str(t->shape, t->ndim, g, sizeof g);
        return bs_error_set(c->err, BOSON_ERR_FORMAT,
                            "%s: tensor '%s': expected a float tensor %s but found %s %s", t->file,
                            t->name, e, bs_dtype_name(t->dtype), g);
    }
    *out = t;
    return BOSON_OK;
}

static boson_status bind_vec(plan_ctx *c, const bs_tensor **out, const char *module,
                             const char *suffix, uint64_t n)
{
    return bind_param(c, out, module, suffix, &n, 1);
}

/* Linear with optional additive bias. */
static boson_status bind_linear(plan_ctx *c, bs_weight **out, const char *prefix, const char *role,
                                int layer, uint64_t rows, uint64_t cols, int with_bias)
{
    char module[BS_NAME_MAX];
    snprintf(module, sizeof module, "%s%s", prefix, role);
    bs_weight *w = new_weight(c);
    boson_status st = bind_weight(c, w, module, role, layer, 0, 1, rows, cols, 0);
    if (st)
        return st;
    if (with_bias) {
        st = bind_vec(c, &w->bias, module, ".bias", rows);
        if (st)
            return st;
    }
    *out = w;
    return BOSON_OK;
}

/* Routed experts: stacked switch_mlp tensors (MLX), fused experts.gate_up_proj (HF
 * Qwen3.5-MoE) or per-expert experts.E.*.weight (HF Qwen3-Next). */
static boson_status bind_experts(plan_ctx *c, bs_layer_plan *lp, const char *prefix, int layer)
{
    const bs_config *cfg = c->cfg;
    uint64_t E = (uint64_t)cfg->num_experts, H = (uint64_t)cfg->hidden_size;
    uint64_t Im = (uint64_t)cfg->moe_intermediate_size;
    char m[BS_NAME_MAX];
    static const char *const roles[3] = {"gate_proj", "up_proj", "down_proj"};
    bs_weight **dst[3] = {&lp->exp_gate, &lp->exp_up, &lp->exp_down};

    snprintf(m, sizeof m, "%smlp.switch_mlp.gate_proj", prefix);
    if (exists(c, m, ".weight")) {
        for (int i = 0; i < 3; i++) {
            snprintf(m, sizeof m, "%smlp.switch_mlp.%s", prefix, roles[i]);
            bs_weight *w = new_weight(c);
            boson_status st =
                bind_weight(c, w, m, roles[i], layer, 1, E, i == 2 ? H : Im, i == 2 ? Im : H, 0);
            if (st)
                return st;
            *dst[i] = w;
        }
        return BOSON_OK;
    }

    snprintf(m, sizeof m, "%smlp.experts.gate_up_proj", prefix);
    if (exists(c, m, "")) {
        const bs_tensor *gu = take(c, m, "");
        snprintf(m, sizeof m, "%smlp.experts.down_proj", prefix);
        const bs_tensor *dn = take(c, m, "");
        uint64_t gdims[3] = {E, 2 * Im, H}, ddims[3] = {E, H, Im};
        bs_weight tmp;
        memset(&tmp, 0, sizeof tmp);
        snprintf(tmp.module, sizeof tmp.module, "%smlp.experts", prefix);
        snprintf(tmp.source, sizeof tmp.source, "HF fused experts: unquantized");
        if (!dn)
            return bs_error_set(c->err, BOSON_ERR_FORMAT, "missing tensor '%s' in %s", m,
                                c->ck->dir);
        if (!bs_dtype_is_float(gu->dtype) || !same_shape(gu, gdims, 3))
            return mismatch(c, gu, "weight", gdims, 3, "F32/F16/BF16", &tmp);
        if (!bs_dtype_is_float(dn->dtype) || !same_shape(dn, ddims, 3))
            return mismatch(c, dn, "weight", ddims, 3, "F32/F16/BF16", &tmp);
        for (int i = 0; i < 3; i++) {
            bs_weight *w = new_weight(c);
            snprintf(w->module, sizeof w->module, "%smlp.switch_mlp.%s", prefix, roles[i]);
            snprintf(w->source, sizeof w->source, "HF fused experts tensor: unquantized");
            w->role = roles[i];
            w->layer = layer;
            w->n_stack = E;
            w->rows = i == 2 ? H : Im;
            w->cols = i == 2 ? Im : H;
            w->w = i == 2 ? dn : gu;
            w->stack_rows = i == 2 ? H : 2 * Im;
            w->row_offset = i == 1 ? Im : 0;
            w->fmt.kind = BS_W_DENSE;
            w->fmt.dtype = w->w->dtype;
            w->fmt.bits = (int)(bs_dtype_size(w->w->dtype) * 8);
            *dst[i] = w;
        }
        return BOSON_OK;
    }

    snprintf(m, sizeof m, "%smlp.experts.0.gate_proj", prefix);
    if (exists(c, m, ".weight")) {
        for (int i = 0; i < 3; i++) {
            bs_weight *w = new_weight(c);
            w->parts = calloc((size_t)E, sizeof *w->parts);
            if (!w->parts)
                return bs_error_set(c->err, BOSON_ERR_NOMEM, "out of memory binding experts");
            for (uint64_t e = 0; e < E; e++) {
                bs_weight one;
                memset(&one, 0, sizeof one);
                snprintf(m, sizeof m, "%smlp.experts.%llu.%s", prefix, (unsigned long long)e,
                         roles[i]);
                boson_status st = bind_weight(c, &one, m, roles[i], layer, 0, 1, i == 2 ? H : Im,
                                              i == 2 ? Im : H, 0);
                if (st)
                    return st;
                if (one.fmt.kind != BS_W_DENSE)
                    return bs_error_set(c->err, BOSON_ERR_UNSUPPORTED,
                                        "'%s' is quantized; per-expert tensors are supported "
                                        "only unquantized (HF layout)",
                                        m);
                if (e > 0 && one.fmt.dtype != w->fmt.dtype)
                    return bs_error_set(c->err, BOSON_ERR_FORMAT,
                                        "'%s' has dtype %s but expert 0 has %s", m,
                                        bs_dtype_name(one.fmt.dtype), bs_dtype_name(w->fmt.dtype));
                w->parts[e] = one.w;
                w->fmt = one.fmt;
            }
            snprintf(w->module, sizeof w->module, "%smlp.switch_mlp.%s", prefix, roles[i]);
            snprintf(w->source, sizeof w->source, "HF per-expert tensors: unquantized");
            w->role = roles[i];
            w->layer = layer;
            w->n_stack = E;
            w->rows = i == 2 ? H : Im;
            w->cols = i == 2 ? Im : H;
            w->stack_rows = w->rows;
            w->w = w->parts[0];
            *dst[i] = w;
        }
        return BOSON_OK;
    }
    return bs_error_set(c->err, BOSON_ERR_FORMAT,
                        "missing routed experts of layer %d: none of '%smlp.switch_mlp.gate_proj."
                        "weight', '%smlp.experts.gate_up_proj', '%smlp.experts.0.gate_proj.weight' "
                        "in %s",
                        layer, prefix, prefix, prefix, c->ck->dir);
}

static boson_status bind_layer(plan_ctx *c, int i)
{
    const bs_config *cfg = c->cfg;
    bs_layer_plan *lp = &c->plan->layers[i];
    char prefix[64], mod[BS_NAME_MAX];
    boson_status st;
    uint64_t H = (uint64_t)cfg->hidden_size;
    snprintf(prefix, sizeof prefix, "model.layers.%d.", i);
    lp->is_attention = cfg->layer_is_attention[i];
    lp->is_moe = cfg->layer_is_moe[i];

    snprintf(mod, sizeof mod, "%sinput_layernorm", prefix);
    if ((st = bind_vec(c, &lp->p.input_norm, mod, ".weight", H)))
        return st;
    snprintf(mod, sizeof mod, "%spost_attention_layernorm", prefix);
    if ((st = bind_vec(c, &lp->p.post_attn_norm, mod, ".weight", H)))
        return st;

    if (lp->is_attention) {
        uint64_t D = (uint64_t)cfg->head_dim, Nh = (uint64_t)cfg->num_attention_heads;
        uint64_t Nkv = (uint64_t)cfg->num_key_value_heads;
        int b = cfg->attention_bias;
        snprintf(mod, sizeof mod, "%sself_attn.", prefix);
        if ((st = bind_linear(c, &lp->q_proj, mod, "q_proj", i, 2 * Nh * D, H, b)) ||
            (st = bind_linear(c, &lp->k_proj, mod, "k_proj", i, Nkv * D, H, b)) ||
            (st = bind_linear(c, &lp->v_proj, mod, "v_proj", i, Nkv * D, H, b)) ||
            (st = bind_linear(c, &lp->o_proj, mod, "o_proj", i, H, Nh * D, b)))
            return st;
        snprintf(mod, sizeof mod, "%sself_attn.q_norm", prefix);
        if ((st = bind_vec(c, &lp->p.q_norm, mod, ".weight", D)))
            return st;
        snprintf(mod, sizeof mod, "%sself_attn.k_norm", prefix);
        if ((st = bind_vec(c, &lp->p.k_norm, mod, ".weight", D)))
            return st;
    } else {
        uint64_t Hk = (uint64_t)cfg->linear_num_key_heads,
                 Hv = (uint64_t)cfg->linear_num_value_heads;
        uint64_t Dk = (uint64_t)cfg->linear_key_head_dim, Dv = (uint64_t)cfg->linear_value_head_dim;
        uint64_t key_dim = Hk * Dk, value_dim = Hv * Dv, conv_dim = 2 * key_dim + value_dim;
        uint64_t Kc = (uint64_t)cfg->linear_conv_kernel_dim;
        snprintf(mod, sizeof mod, "%slinear_attn.", prefix);
        if (cfg->arch == BS_ARCH_QWEN3_NEXT) {
            if ((st = bind_linear(c, &lp->in_proj_qkvz, mod, "in_proj_qkvz", i,
                                  2 * key_dim + 2 * value_dim, H, 0)) ||
                (st = bind_linear(c, &lp->in_proj_ba, mod, "in_proj_ba", i, 2 * Hv, H, 0)))
                return st;
        } else {
            if ((st = bind_linear(c, &lp->in_proj_qkv, mod, "in_proj_qkv", i, conv_dim, H, 0)) ||
                (st = bind_linear(c, &lp->in_proj_z, mod, "in_proj_z", i, value_dim, H, 0)) ||
                (st = bind_linear(c, &lp->in_proj_b, mod, "in_proj_b", i, Hv, H, 0)) ||
                (st = bind_linear(c, &lp->in_proj_a, mod, "in_proj_a", i, Hv, H, 0)))
                return st;
        }
        if ((st = bind_linear(c, &lp->out_proj, mod, "out_proj", i, H, value_dim, 0)))
            return st;
        uint64_t cdims[3] = {conv_dim, Kc, 1};
        if (c->plan->conv_c1k) {
            cdims[1] = 1;
            cdims[2] = Kc;
        }
        snprintf(mod, sizeof mod, "%slinear_attn.conv1d", prefix);
        if ((st = bind_param(c, &lp->p.conv1d, mod, ".weight", cdims, 3)))
            return st;
        snprintf(mod, sizeof mod, "%slinear_attn.", prefix);
        if ((st = bind_vec(c, &lp->p.dt_bias, mod, "dt_bias", Hv)) ||
            (st = bind_vec(c, &lp->p.a_log, mod, "A_log", Hv)))
            return st;
        snprintf(mod, sizeof mod, "%slinear_attn.norm", prefix);
        if ((st = bind_vec(c, &lp->p.gdn_norm, mod, ".weight", Dv)))
            return st;
    }

    snprintf(mod, sizeof mod, "%smlp.", prefix);
    if (lp->is_moe) {
        uint64_t E = (uint64_t)cfg->num_experts,
                 Is = (uint64_t)cfg->shared_expert_intermediate_size;
        if ((st = bind_linear(c, &lp->router, mod, "gate", i, E, H, 0)))
            return st;
        if ((st = bind_experts(c, lp, prefix, i)))
            return st;
        if (Is > 0) {
            snprintf(mod, sizeof mod, "%smlp.shared_expert.", prefix);
            if ((st = bind_linear(c, &lp->sh_gate, mod, "gate_proj", i, Is, H, 0)) ||
                (st = bind_linear(c, &lp->sh_up, mod, "up_proj", i, Is, H, 0)) ||
                (st = bind_linear(c, &lp->sh_down, mod, "down_proj", i, H, Is, 0)))
                return st;
            snprintf(mod, sizeof mod, "%smlp.", prefix);
            if ((st = bind_linear(c, &lp->sh_expert_gate, mod, "shared_expert_gate", i, 1, H, 0)))
                return st;
        }
    } else {
        uint64_t I = (uint64_t)cfg->intermediate_size;
        if ((st = bind_linear(c, &lp->gate_proj, mod, "gate_proj", i, I, H, 0)) ||
            (st = bind_linear(c, &lp->up_proj, mod, "up_proj", i, I, H, 0)) ||
            (st = bind_linear(c, &lp->down_proj, mod, "down_proj", i, H, I, 0)))
            return st;
    }
    return BOSON_OK;
}

/* Upper bound of bs_weight entries: per layer at most 4+1+... < 16, plus 2 globals. */
#define WEIGHTS_PER_LAYER 16

boson_status bs_plan_groups_build(bs_model_plan *p, boson_error *err); /* plan_groups.c */

boson_status bs_plan_build(const bs_config *cfg, const bs_checkpoint *ck, const char *env_separate,
                           bs_model_plan *out, boson_error *err)
{
    memset(out, 0, sizeof *out);
    out->cfg = cfg;
    out->ck = ck;
    int env = -1;
    if (env_separate) {
        env = bs_parse_bool(env_separate);
        if (env < 0)
            return bs_error_set(err, BOSON_ERR_INVALID_ARG,
                                "BOSON_SEPARATE_GDN_PROJ='%s' is not a boolean (use 1/true/yes/on "
                                "or 0/false/no/off)",
                                env_separate);
    }
    if (env >= 0) {
        out->separate_gdn = env;
        out->separate_why = env ? "BOSON_SEPARATE_GDN_PROJ forces separate projections"
                                : "BOSON_SEPARATE_GDN_PROJ=off: fused where formats allow";
    } else if (cfg->separate_gdn_proj >= 0) {
        out->separate_gdn = cfg->separate_gdn_proj;
        out->separate_why = cfg->separate_gdn_proj
                                ? "config use_separate_gdn_projections=true"
                                : "config use_separate_gdn_projections=false: fused where formats "
                                  "allow";
    } else {
        out->separate_gdn = 0;
        out->separate_why = "";
    }
    out->conv_c1k = ck->layout.conv_c1k;
    out->norms_add_one = ck->layout.conv_c1k || ck->layout.experts_unstacked;

    plan_ctx c;
    memset(&c, 0, sizeof c);
    c.cfg = cfg;
    c.ck = ck;
    c.plan = out;
    c.err = err;
    uint64_t cap;
    if (!bs_mul_u64((uint64_t)cfg->num_hidden_layers, WEIGHTS_PER_LAYER, &cap) ||
        !bs_add_u64(cap, 2, &cap))
        return bs_error_set(err, BOSON_ERR_CONFIG, "too many layers");
    c.cap_weights = (size_t)cap;
    out->weights = calloc(c.cap_weights, sizeof *out->weights);
    out->layers = calloc((size_t)cfg->num_hidden_layers, sizeof *out->layers);
    c.used = calloc(ck->n_tensors ? ck->n_tensors : 1, 1);
    c.override_used = calloc(cfg->n_overrides ? cfg->n_overrides : 1, 1);
    boson_status st = BOSON_OK;
    if (!out->weights || !out->layers || !c.used || !c.override_used) {
        st = bs_error_set(err, BOSON_ERR_NOMEM, "out of memory building the model plan");
        goto done;
    }

    uint64_t V = (uint64_t)cfg->vocab_size, H = (uint64_t)cfg->hidden_size;
    out->embed = new_weight(&c);
    if ((st = bind_weight(&c, out->embed, "model.embed_tokens", "embed_tokens", -1, 0, 1, V, H, 0)))
        goto done;
    if ((st = bind_vec(&c, &out->final_norm, "model.norm", ".weight", H)))
        goto done;
    if (cfg->tie_word_embeddings) {
        out->lm_head = out->embed;
        /* mlx-lm drops a stored lm_head of a tied model; so do we. */
        take(&c, "lm_head", ".weight");
        take(&c, "lm_head", ".scales");
        take(&c, "lm_head", ".biases");
    } else {
        out->lm_head = new_weight(&c);
        if ((st = bind_weight(&c, out->lm_head, "lm_head", "lm_head", -1, 0, 1, V, H, 1)))
            goto done;
        if (!out->lm_head->w) {
            st = bs_error_set(err, BOSON_ERR_FORMAT,
                              "missing tensor 'lm_head.weight' in %s: tie_word_embeddings is "
                              "false (config.json%s)",
                              ck->dir, cfg->has_text_config ? " text_config" : "");
            goto done;
        }
    }
    for (int i = 0; i < (int)cfg->num_hidden_layers; i++)
        if ((st = bind_layer(&c, i))) {
            bs_error_prefix(err, "layer %d: ", i);
            goto done;
        }
    for (size_t i = 0; i < ck->n_tensors; i++)
        if (!c.used[i]) {
            size_t extra = 0;
            for (size_t j = i + 1; j < ck->n_tensors; j++)
                extra += !c.used[j];
            st = bs_error_set(err, BOSON_ERR_FORMAT,
                              "%s: unexpected tensor '%s' (stored as '%s') is not part of a %s "
                              "model with this config%s",
                              ck->tensors[i].t->file, ck->tensors[i].name, ck->tensors[i].t->name,
                              bs_arch_name(cfg->arch), extra ? " (and more)" : "");
            goto done;
        }

    for (size_t i = 0; i < cfg->n_overrides; i++)
        if (!c.override_used[i])
            out->n_unused_overrides++;
    if (out->n_unused_overrides) {
        out->unused_overrides = calloc(out->n_unused_overrides, sizeof(char *));
        if (!out->unused_overrides) {
            st = bs_error_set(err, BOSON_ERR_NOMEM, "out of memory");
            goto done;
        }
        size_t k = 0;
        for (size_t i = 0; i < cfg->n_overrides; i++)
            if (!c.override_used[i])
                out->unused_overrides[k++] = cfg->overrides[i].raw_key;
    }
    st = bs_plan_groups_build(out, err);
done:
    out->n_weights = c.next_weight;
    free(c.used);
    free(c.override_used);
    if (st)
        bs_plan_free(out);
    return st;
}

void bs_plan_free(bs_model_plan *p)
{
    if (!p)
        return;
    if (p->weights)
        for (size_t i = 0; i < p->n_weights; i++)
            free(p->weights[i].parts);
    free(p->weights);
    free(p->layers);
    free(p->unused_overrides);
    memset(p, 0, sizeof *p);
}

int bs_weight_mat(const bs_weight *w, uint64_t index, bs_qmat *out)
{
    if (index >= w->n_stack || !w->w)
        return -1;
    memset(out, 0, sizeof *out);
    out->fmt = w->fmt;
    out->rows = w->rows;
    out->cols = w->cols;
    if (w->parts) {
        out->w = w->parts[index]->data;
        return 0;
    }
    uint64_t row_bytes = bs_wformat_row_bytes(&w->fmt, w->cols);
    uint64_t groups = w->fmt.group_size ? w->cols / (uint64_t)w->fmt.group_size : 0;
    uint64_t sc_row = groups * bs_dtype_size(w->fmt.dtype);
    uint64_t first_row, off;
    if (!bs_mul_u64(index, w->stack_rows, &first_row) ||
        !bs_add_u64(first_row, w->row_offset, &first_row) ||
        !bs_mul_u64(first_row, row_bytes, &off) || off > w->w->nbytes)
        return -1;
    out->w = w->w->data + off;
    if (w->scales) {
        if (!bs_mul_u64(first_row, sc_row, &off) || off > w->scales->nbytes)
            return -1;
        out->scales = w->scales->data + off;
        if (w->biases)
            out->biases = w->biases->data + off;
    }
    return 0;
}
