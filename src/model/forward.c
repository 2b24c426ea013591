/* Forward pass over the backend interface: model init (effective fp32 parameters), work
 * buffers, and the per-layer math of Qwen3.5 / Qwen3.5-MoE / Qwen3-Next. */
#include "model/forward.h"

#include "base/bytes.h"
#include "base/checked.h"
#include "base/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- parameters ---- */

/* v rounded to IEEE binary16 precision (round to nearest even; normal range). */
static float round_f16(float v)
{
    if (v == 0.0f || !isfinite(v))
        return v;
    int e;
    (void)frexpf(v, &e); /* v = m·2^e, 0.5 <= |m| < 1: 11 significant bits */
    if (e < -13)
        e = -13; /* subnormal spacing 2^-24 */
    return ldexpf(nearbyintf(ldexpf(v, 11 - e)), e - 11);
}

static float tensor_elem(const bs_tensor *t, uint64_t i)
{
    return bs_load_float_elem(t->data, i, t->dtype);
}

/* 1 + w computed in the tensor's own dtype, as mlx-lm's sanitize does for HF files. */
static float add_one_in_dtype(float w, bs_dtype dt)
{
    float v = 1.0f + w;
    switch (dt) {
    case BS_DT_BF16: return bs_bf16_to_f32(bs_f32_to_bf16(v));
    case BS_DT_F16: return round_f16(v);
    case BS_DT_F32:
    case BS_DT_U32:
    case BS_DT_U8:
    case BS_DT_I32:
    case BS_DT_I64:
    case BS_DT_F8_E4M3:
    case BS_DT_F8_E8M0:
    case BS_DT_BOOL:
    case BS_DT_COUNT_: break;
    }
    return v;
}

/* Uploads a dense float tensor of exactly n elements as fp32 (optionally 1 + w). */
static boson_status upload_param(bs_backend *be, const bs_tensor *t, size_t n, int add_one,
                                 const char *what, int layer, float **out, boson_error *err)
{
    *out = NULL;
    if (!t)
        return bs_error_set(err, BOSON_ERR_FORMAT, "layer %d: %s is missing", layer, what);
    uint64_t count = 0;
    if (!bs_prod_u64(t->shape, t->ndim, &count) || count != n || !bs_dtype_is_float(t->dtype))
        return bs_error_set(err, BOSON_ERR_FORMAT,
                            "%s: tensor '%s' (layer %d, %s) has %llu %s elements, expected %zu "
                            "float elements",
                            t->file ? t->file : "?", t->name ? t->name : "?", layer, what,
                            (unsigned long long)count, bs_dtype_name(t->dtype), n);
    float *host = malloc((n ? n : 1) * sizeof(float));
    float *dev = be->alloc(be, n);
    if (!host || !dev) {
        free(host);
        be->free(be, dev);
        return bs_error_set(err, BOSON_ERR_NOMEM, "out of memory for %s of layer %d", what, layer);
    }
    for (size_t i = 0; i < n; i++) {
        float v = tensor_elem(t, i);
        host[i] = add_one ? add_one_in_dtype(v, t->dtype) : v;
    }
    be->upload(be, dev, host, n);
    free(host);
    *out = dev;
    return BOSON_OK;
}

#define TRY(x)                  \
    do {                        \
        boson_status st_ = (x); \
        if (st_ != BOSON_OK) {  \
            bs_model_free(m);   \
            return st_;         \
        }                       \
    } while (0)

boson_status bs_model_init(bs_model *m, bs_backend *be, const bs_config *cfg,
                           const bs_model_plan *plan, boson_error *err)
{
    memset(m, 0, sizeof *m);
    m->be = be;
    m->cfg = cfg;
    m->plan = plan;
    m->H = (size_t)cfg->hidden_size;
    m->V = (size_t)cfg->vocab_size;
    m->L = (size_t)cfg->num_hidden_layers;
    m->D = (size_t)cfg->head_dim;
    m->Nh = (size_t)cfg->num_attention_heads;
    m->Nkv = (size_t)cfg->num_key_value_heads;
    m->R = (size_t)cfg->rotary_dim;
    m->Hk = (size_t)cfg->linear_num_key_heads;
    m->Hv = (size_t)cfg->linear_num_value_heads;
    m->Dk = (size_t)cfg->linear_key_head_dim;
    m->Dv = (size_t)cfg->linear_value_head_dim;
    m->Kc = (size_t)cfg->linear_conv_kernel_dim;
    m->key_dim = m->Hk * m->Dk;
    m->value_dim = m->Hv * m->Dv;
    m->conv_dim = 2 * m->key_dim + m->value_dim;
    m->I = (size_t)cfg->intermediate_size;
    m->E = (size_t)cfg->num_experts;
    m->topk = (size_t)cfg->num_experts_per_tok;
    m->Im = (size_t)cfg->moe_intermediate_size;
    m->Is = (size_t)cfg->shared_expert_intermediate_size;
    m->eps = (float)cfg->rms_norm_eps;
    m->is_next = cfg->arch == BS_ARCH_QWEN3_NEXT;
    if (m->R > m->D || m->R % 2 || m->Nkv == 0 || m->Nh % m->Nkv || m->Hk == 0 || m->Hv % m->Hk ||
        m->Kc == 0 || (m->E && m->topk > m->E))
        return bs_error_set(err, BOSON_ERR_CONFIG,
                            "config: inconsistent sizes (rotary_dim %zu, head_dim %zu, heads "
                            "%zu/%zu, GDN heads %zu/%zu, conv kernel %zu, experts %zu top-%zu)",
                            m->R, m->D, m->Nh, m->Nkv, m->Hk, m->Hv, m->Kc, m->E, m->topk);
    m->layers = calloc(m->L, sizeof *m->layers);
    if (!m->layers)
        return bs_error_set(err, BOSON_ERR_NOMEM, "out of memory for the model parameters");
    int add1 = plan->norms_add_one;
    for (size_t i = 0; i < m->L; i++) {
        const bs_layer_plan *lp = &plan->layers[i];
        bs_fw_layer *fl = &m->layers[i];
        int li = (int)i;
        TRY(upload_param(be, lp->p.input_norm, m->H, add1, "input_layernorm", li, &fl->in_norm,
                         err));
        TRY(upload_param(be, lp->p.post_attn_norm, m->H, add1, "post_attention_layernorm", li,
                         &fl->post_norm, err));
        if (lp->is_attention) {
            TRY(upload_param(be, lp->p.q_norm, m->D, add1, "q_norm", li, &fl->q_norm, err));
            TRY(upload_param(be, lp->p.k_norm, m->D, add1, "k_norm", li, &fl->k_norm, err));
            const bs_weight *bw[4] = {lp->q_proj, lp->k_proj, lp->v_proj, lp->o_proj};
            float **bd[4] = {&fl->bias_q, &fl->bias_k, &fl->bias_v, &fl->bias_o};
            for (int j = 0; j < 4; j++)
                if (bw[j] && bw[j]->bias)
                    TRY(upload_param(be, bw[j]->bias, (size_t)bw[j]->rows, 0, "attention bias", li,
                                     bd[j], err));
        } else {
            TRY(upload_param(be, lp->p.conv1d, m->conv_dim * m->Kc, 0, "conv1d", li, &fl->conv_w,
                             err));
            TRY(upload_param(be, lp->p.a_log, m->Hv, 0, "A_log", li, &fl->a_log, err));
            TRY(upload_param(be, lp->p.dt_bias, m->Hv, 0, "dt_bias", li, &fl->dt_bias, err));
            TRY(upload_param(be, lp->p.gdn_norm, m->Dv, 0, "linear_attn.norm", li, &fl->gdn_norm,
                             err));
        }
    }
    TRY(upload_param(be, plan->final_norm, m->H, add1, "model.norm", -1, &m->final_norm, err));
    return BOSON_OK;
}

void bs_model_free(bs_model *m)
{
    if (!m || !m->be)
        return;
    bs_backend *be = m->be;
    if (m->layers) {
        for (size_t i = 0; i < m->L; i++) {
            bs_fw_layer *l = &m->layers[i];
            float *ps[] = {l->in_norm, l->post_norm, l->q_norm, l->k_norm, l->conv_w, l->a_log,
                           l->dt_bias, l->gdn_norm,  l->bias_q, l->bias_k, l->bias_v, l->bias_o};
            for (size_t j = 0; j < sizeof ps / sizeof ps[0]; j++)
                be->free(be, ps[j]);
        }
        free(m->layers);
    }
    be->free(be, m->final_norm);
    memset(m, 0, sizeof *m);
}

#undef TRY

/* ---- work buffers ---- */

#define LOGIT_SLICE 16

boson_status bs_fw_work_init(bs_fw_work *w, const bs_model *m, size_t N, boson_error *err)
{
    memset(w, 0, sizeof *w);
    if (N == 0)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "forward: chunk size 0");
    w->max_tokens = N;
    w->logit_rows = N < LOGIT_SLICE ? N : LOGIT_SLICE;
    bs_backend *be = m->be;
    struct {
        float **p;
        size_t width;
        size_t rows;
    } bufs[] = {
        {&w->x, m->H, N},
        {&w->xn, m->H, N},
        {&w->r, m->H, N},
        {&w->qkvz, m->is_next ? 2 * m->key_dim + 2 * m->value_dim : 0, N},
        {&w->ba, m->is_next ? 2 * m->Hv : 0, N},
        {&w->qkv, m->conv_dim, N},
        {&w->conv, m->conv_dim, N},
        {&w->z, m->value_dim, N},
        {&w->y, m->value_dim, N},
        {&w->o, m->value_dim, N},
        {&w->b, m->Hv, N},
        {&w->a, m->Hv, N},
        {&w->beta, m->Hv, N},
        {&w->g, m->Hv, N},
        {&w->qg, 2 * m->Nh * m->D, N},
        {&w->q, m->Nh * m->D, N},
        {&w->att, m->Nh * m->D, N},
        {&w->gate, m->I, N},
        {&w->up, m->I, N},
        {&w->router, m->E, N},
        {&w->shg, m->E ? 1 : 0, N},
        {&w->xe, m->E ? m->H : 0, N},
        {&w->ye, m->E ? m->H : 0, N},
        {&w->sy, m->E ? m->H : 0, N},
        {&w->ge, m->Im, N},
        {&w->ue, m->Im, N},
        {&w->sg, m->Is, N},
        {&w->su, m->Is, N},
        {&w->logits, m->V, w->logit_rows},
    };
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
        uint64_t n;
        if (!bs_mul_u64(bufs[i].width, bufs[i].rows, &n) || n > SIZE_MAX / sizeof(float)) {
            bs_fw_work_free(w, m);
            return bs_error_set(err, BOSON_ERR_NOMEM, "forward: buffer size overflow");
        }
        if (n == 0)
            continue;
        *bufs[i].p = be->alloc(be, (size_t)n);
        if (!*bufs[i].p) {
            bs_fw_work_free(w, m);
            return bs_error_set(err, BOSON_ERR_NOMEM,
                                "forward: out of memory for activations of %zu tokens", N);
        }
    }
    if (m->E) {
        size_t nk = N * m->topk;
        w->route_idx = calloc(nk ? nk : 1, sizeof *w->route_idx);
        w->rows = calloc(nk ? nk : 1, sizeof *w->rows);
        w->route_w = calloc(nk ? nk : 1, sizeof *w->route_w);
        w->scales = calloc(nk ? nk : 1, sizeof *w->scales);
        w->counts = calloc(m->E + 1, sizeof *w->counts);
        if (!w->route_idx || !w->rows || !w->route_w || !w->scales || !w->counts) {
            bs_fw_work_free(w, m);
            return bs_error_set(err, BOSON_ERR_NOMEM, "forward: out of memory for routing");
        }
    }
    return BOSON_OK;
}

void bs_fw_work_free(bs_fw_work *w, const bs_model *m)
{
    if (!w || !m || !m->be)
        return;
    bs_backend *be = m->be;
    float *ps[] = {w->x,   w->xn,   w->r,  w->qkvz,   w->ba,    w->qkv, w->conv, w->z,
                   w->y,   w->o,    w->b,  w->a,      w->beta,  w->g,   w->qg,   w->q,
                   w->att, w->gate, w->up, w->router, w->shg,   w->xe,  w->ye,   w->sy,
                   w->ge,  w->ue,   w->sg, w->su,     w->logits};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
        if (ps[i])
            be->free(be, ps[i]);
    free(w->route_idx);
    free(w->rows);
    free(w->route_w);
    free(w->scales);
    free(w->counts);
    memset(w, 0, sizeof *w);
}

/* ---- dispatch ---- */

typedef struct fw_ctx {
    const bs_model *m;
    bs_fw_work *w;
    bs_fw_stats *stats;
    boson_error *err;
    int layer;
} fw_ctx;

static boson_status mat_of(fw_ctx *c, const bs_weight *wt, uint64_t index, bs_qmat *q)
{
    if (bs_weight_mat(wt, index, q) != 0)
        return bs_error_set(c->err, BOSON_ERR_RUNTIME,
                            "forward: cannot address matrix %llu of weight %s (layer %d)",
                            (unsigned long long)index, wt->module, wt->layer);
    return BOSON_OK;
}

/* One set: every dispatch group is one backend matmul; member `members[i]` writes outs[i]
 * ([n, rows], row stride rows). `index` picks the expert of stacked weights. */
static boson_status run_set(fw_ctx *c, const bs_proj_set *set, int n_members,
                            const bs_weight *const *members, float *const *outs, uint64_t index,
                            const float *x, size_t n, size_t ldx)
{
    bs_backend *be = c->m->be;
    for (int g = 0; g < set->n_groups; g++) {
        const bs_dispatch_group *grp = &set->groups[g];
        bs_qmat qm[BS_SET_MAX];
        const bs_qmat *qp[BS_SET_MAX];
        float *op[BS_SET_MAX];
        for (int j = 0; j < grp->n; j++) {
            int found = -1;
            for (int i = 0; i < n_members; i++)
                if (members[i] == grp->mats[j])
                    found = i;
            if (found < 0)
                return bs_error_set(c->err, BOSON_ERR_RUNTIME,
                                    "forward: layer %d: %s set member %s has no output", c->layer,
                                    bs_set_kind_name(set->kind), grp->mats[j]->module);
            boson_status st = mat_of(c, grp->mats[j], index, &qm[j]);
            if (st != BOSON_OK)
                return st;
            qp[j] = &qm[j];
            op[j] = outs[found];
        }
        be->matmul(be, grp->n, qp, op, x, n, ldx);
        c->stats->set_dispatch[set->kind]++;
    }
    return BOSON_OK;
}

static const bs_proj_set *find_set(const bs_layer_plan *lp, bs_set_kind kind)
{
    for (int i = 0; i < lp->n_sets; i++)
        if (lp->sets[i].kind == kind)
            return &lp->sets[i];
    return NULL;
}

static boson_status need_set(fw_ctx *c, const bs_layer_plan *lp, bs_set_kind kind,
                             const bs_proj_set **out)
{
    *out = find_set(lp, kind);
    if (!*out)
        return bs_error_set(c->err, BOSON_ERR_RUNTIME, "forward: layer %d has no %s set", c->layer,
                            bs_set_kind_name(kind));
    return BOSON_OK;
}

static boson_status run_single(fw_ctx *c, const bs_weight *wt, uint64_t index, const float *x,
                               size_t n, float *out)
{
    bs_qmat q;
    boson_status st = mat_of(c, wt, index, &q);
    if (st != BOSON_OK)
        return st;
    const bs_qmat *qp = &q;
    c->m->be->matmul(c->m->be, 1, &qp, &out, x, n, (size_t)wt->cols);
    c->stats->single_dispatch++;
    return BOSON_OK;
}

#define CHECK_ST(x)             \
    do {                        \
        boson_status st_ = (x); \
        if (st_ != BOSON_OK)    \
            return st_;         \
    } while (0)

/* ---- mixers ---- */

/* Gated DeltaNet: xn [n, H] -> r [n, H]. */
static boson_status gdn_layer(fw_ctx *c, const bs_layer_plan *lp, const bs_fw_layer *fl,
                              bs_state_layer *sl, size_t n)
{
    const bs_model *m = c->m;
    bs_backend *be = m->be;
    bs_fw_work *w = c->w;
    const bs_proj_set *set;
    CHECK_ST(need_set(c, lp, BS_SET_GDN_IN, &set));
    if (m->is_next) {
        const bs_weight *mem[2] = {lp->in_proj_qkvz, lp->in_proj_ba};
        float *outs[2] = {w->qkvz, w->ba};
        CHECK_ST(run_set(c, set, 2, mem, outs, 0, w->xn, n, m->H));
        size_t r = m->Hv / m->Hk;
        be->split_qkvz(be, w->qkvz, w->qkv, w->z, n, m->Hk, m->Dk, r, m->Dv);
        be->split_ba(be, w->ba, w->b, w->a, n, m->Hk, r);
    } else {
        const bs_weight *mem[4] = {lp->in_proj_qkv, lp->in_proj_z, lp->in_proj_b, lp->in_proj_a};
        float *outs[4] = {w->qkv, w->z, w->b, w->a};
        CHECK_ST(run_set(c, set, 4, mem, outs, 0, w->xn, n, m->H));
    }
    size_t C = m->conv_dim;
    be->conv1d(be, w->qkv, C, sl->conv, fl->conv_w, w->conv, n, C, m->Kc);
    /* q, k: weight-less RMS norm with eps 1e-6/Dk (= l2norm with eps 1e-6 on Σx²), then
     * q·(1/Dk), k·(1/sqrt(Dk)) -- mlx-lm normalize_qk */
    double inv_scale = 1.0 / sqrt((double)m->Dk);
    float rms_eps = (float)(1e-6 * inv_scale * inv_scale);
    be->rmsnorm(be, w->conv, C, m->Dk, w->conv, C, m->Dk, n, m->Hk, m->Dk, NULL, rms_eps,
                (float)(inv_scale * inv_scale));
    be->rmsnorm(be, w->conv + m->key_dim, C, m->Dk, w->conv + m->key_dim, C, m->Dk, n, m->Hk, m->Dk,
                NULL, rms_eps, (float)inv_scale);
    be->gdn_gates(be, w->b, w->a, fl->a_log, fl->dt_bias, w->beta, w->g, n, m->Hv);
    be->delta_rule(be, w->conv, C, w->g, w->beta, sl->ssm, w->y, n, m->Hk, m->Hv, m->Dk, m->Dv);
    be->gated_rmsnorm(be, w->y, w->z, w->o, n * m->Hv, m->Dv, fl->gdn_norm, m->eps);
    return run_single(c, lp->out_proj, 0, w->o, n, w->r);
}

/* Gated full attention: xn [n, H] -> r [n, H]; appends n positions to the KV cache. */
static boson_status attn_layer(fw_ctx *c, const bs_layer_plan *lp, const bs_fw_layer *fl,
                               bs_state_layer *sl, int64_t pos, size_t n)
{
    const bs_model *m = c->m;
    bs_backend *be = m->be;
    bs_fw_work *w = c->w;
    size_t D = m->D, Nh = m->Nh, Nkv = m->Nkv, kvw = Nkv * D;
    float *kc = sl->k + (size_t)pos * kvw, *vc = sl->v + (size_t)pos * kvw;
    const bs_proj_set *set;
    CHECK_ST(need_set(c, lp, BS_SET_ATTN_QKV, &set));
    const bs_weight *mem[3] = {lp->q_proj, lp->k_proj, lp->v_proj};
    float *outs[3] = {w->qg, kc, vc};
    CHECK_ST(run_set(c, set, 3, mem, outs, 0, w->xn, n, m->H));
    if (fl->bias_q)
        be->add_bias(be, w->qg, fl->bias_q, n, 2 * Nh * D);
    if (fl->bias_k)
        be->add_bias(be, kc, fl->bias_k, n, kvw);
    if (fl->bias_v)
        be->add_bias(be, vc, fl->bias_v, n, kvw);
    /* q_proj rows per head: D query rows then D gate rows */
    be->rmsnorm(be, w->qg, 2 * Nh * D, 2 * D, w->q, Nh * D, D, n, Nh, D, fl->q_norm, m->eps, 1.0f);
    be->rmsnorm(be, kc, kvw, D, kc, kvw, D, n, Nkv, D, fl->k_norm, m->eps, 1.0f);
    be->rope(be, w->q, Nh * D, n, Nh, D, m->R, pos, m->cfg->rope_theta);
    be->rope(be, kc, kvw, n, Nkv, D, m->R, pos, m->cfg->rope_theta);
    be->attention(be, w->q, sl->k, sl->v, w->att, n, (size_t)pos + n, Nh, Nkv, D,
                  (float)(1.0 / sqrt((double)D)));
    be->mul_sigmoid(be, w->att, D, w->qg + D, 2 * D, 1, n * Nh, D);
    CHECK_ST(run_single(c, lp->o_proj, 0, w->att, n, w->r));
    if (fl->bias_o)
        be->add_bias(be, w->r, fl->bias_o, n, m->H);
    return BOSON_OK;
}

/* ---- MLPs ---- */

static boson_status dense_mlp(fw_ctx *c, const bs_layer_plan *lp, size_t n)
{
    const bs_model *m = c->m;
    bs_backend *be = m->be;
    bs_fw_work *w = c->w;
    const bs_proj_set *set;
    CHECK_ST(need_set(c, lp, BS_SET_MLP_GATE_UP, &set));
    const bs_weight *mem[2] = {lp->gate_proj, lp->up_proj};
    float *outs[2] = {w->gate, w->up};
    CHECK_ST(run_set(c, set, 2, mem, outs, 0, w->xn, n, m->H));
    size_t I = (size_t)lp->gate_proj->rows;
    be->swiglu(be, w->gate, w->up, w->gate, n * I);
    return run_single(c, lp->down_proj, 0, w->gate, n, w->r);
}

static boson_status moe_mlp(fw_ctx *c, const bs_layer_plan *lp, size_t n)
{
    const bs_model *m = c->m;
    bs_backend *be = m->be;
    bs_fw_work *w = c->w;
    size_t H = m->H, E = m->E, k = m->topk, Im = m->Im;
    const bs_proj_set *rset, *eset;
    CHECK_ST(need_set(c, lp, BS_SET_ROUTER, &rset));
    CHECK_ST(need_set(c, lp, BS_SET_EXPERT_GATE_UP, &eset));
    const bs_weight *rmem[2] = {lp->router, lp->sh_expert_gate};
    float *routs[2] = {w->router, w->shg};
    CHECK_ST(run_set(c, rset, 2, rmem, routs, 0, w->xn, n, H));
    be->moe_route(be, w->router, E, n, E, k, m->cfg->norm_topk_prob, w->route_idx, w->route_w);

    /* tokens per expert (counting sort over the n·k assignments, token order kept) */
    memset(w->counts, 0, (E + 1) * sizeof *w->counts);
    for (size_t i = 0; i < n * k; i++)
        w->counts[(size_t)w->route_idx[i] + 1]++;
    for (size_t e = 0; e < E; e++)
        w->counts[e + 1] += w->counts[e];
    for (size_t i = 0; i < n * k; i++) {
        size_t e = (size_t)w->route_idx[i];
        size_t slot = w->counts[e]++;
        w->rows[slot] = (int32_t)(i / k);
        w->scales[slot] = w->route_w[i];
    }
    /* counts[e] is now the end of expert e's list; its start is counts[e-1] (0 for e = 0) */
    be->fill(be, w->r, 0.0f, n * H);
    const bs_weight *emem[2] = {lp->exp_gate, lp->exp_up};
    float *eouts[2] = {w->ge, w->ue};
    for (size_t e = 0; e < E; e++) {
        size_t begin = e ? w->counts[e - 1] : 0, cnt = w->counts[e] - begin;
        if (!cnt)
            continue;
        be->gather_rows(be, w->xn, w->rows + begin, cnt, H, w->xe);
        CHECK_ST(run_set(c, eset, 2, emem, eouts, e, w->xe, cnt, H));
        be->swiglu(be, w->ge, w->ue, w->ge, cnt * Im);
        CHECK_ST(run_single(c, lp->exp_down, e, w->ge, cnt, w->ye));
        be->scatter_add_rows(be, w->r, w->rows + begin, w->scales + begin, cnt, H, w->ye);
    }
    if (lp->sh_gate && lp->sh_up && lp->sh_down) {
        const bs_proj_set *sset;
        CHECK_ST(need_set(c, lp, BS_SET_SHARED_GATE_UP, &sset));
        const bs_weight *smem[2] = {lp->sh_gate, lp->sh_up};
        float *souts[2] = {w->sg, w->su};
        CHECK_ST(run_set(c, sset, 2, smem, souts, 0, w->xn, n, H));
        size_t Is = (size_t)lp->sh_gate->rows;
        be->swiglu(be, w->sg, w->su, w->sg, n * Is);
        CHECK_ST(run_single(c, lp->sh_down, 0, w->sg, n, w->sy));
        if (lp->sh_expert_gate)
            be->mul_sigmoid(be, w->sy, H, w->shg, 1, 0, n, H);
        be->add(be, w->r, w->sy, n * H);
    }
    return BOSON_OK;
}

/* ---- top level ---- */

boson_status bs_forward(const bs_model *m, bs_fw_work *w, bs_state *st, const int32_t *tokens,
                        size_t n, bs_logits_mode mode, float *logits_host, bs_fw_stats *stats,
                        boson_error *err)
{
    if (n == 0 || n > w->max_tokens)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG,
                            "forward: %zu tokens in one chunk (1 .. %zu allowed)", n,
                            w->max_tokens);
    boson_status s = bs_state_reserve(st, st->pos + (int64_t)n, err);
    if (s != BOSON_OK)
        return s;
    bs_fw_stats dummy;
    fw_ctx c = {m, w, stats ? stats : &dummy, err, -1};
    bs_backend *be = m->be;
    size_t H = m->H;
    int64_t pos = st->pos;

    bs_qmat emb;
    CHECK_ST(mat_of(&c, m->plan->embed, 0, &emb));
    be->embed(be, &emb, tokens, n, w->x);

    for (size_t i = 0; i < m->L; i++) {
        const bs_layer_plan *lp = &m->plan->layers[i];
        const bs_fw_layer *fl = &m->layers[i];
        bs_state_layer *sl = &st->layers[i];
        c.layer = (int)i;
        be->rmsnorm(be, w->x, H, 0, w->xn, H, 0, n, 1, H, fl->in_norm, m->eps, 1.0f);
        if (lp->is_attention)
            CHECK_ST(attn_layer(&c, lp, fl, sl, pos, n));
        else
            CHECK_ST(gdn_layer(&c, lp, fl, sl, n));
        be->add(be, w->x, w->r, n * H);
        be->rmsnorm(be, w->x, H, 0, w->xn, H, 0, n, 1, H, fl->post_norm, m->eps, 1.0f);
        if (lp->is_moe)
            CHECK_ST(moe_mlp(&c, lp, n));
        else
            CHECK_ST(dense_mlp(&c, lp, n));
        be->add(be, w->x, w->r, n * H);
    }
    st->pos = pos + (int64_t)n;
    c.stats->chunks++;
    c.stats->tokens += n;

    if (mode == BS_LOGITS_NONE)
        return BOSON_OK;
    size_t first = mode == BS_LOGITS_ALL ? 0 : n - 1;
    c.layer = -1;
    for (size_t t0 = first; t0 < n; t0 += w->logit_rows) {
        size_t rows = n - t0 < w->logit_rows ? n - t0 : w->logit_rows;
        be->rmsnorm(be, w->x + t0 * H, H, 0, w->xn, H, 0, rows, 1, H, m->final_norm, m->eps, 1.0f);
        CHECK_ST(run_single(&c, m->plan->lm_head, 0, w->xn, rows, w->logits));
        be->download(be, logits_host + (t0 - first) * m->V, w->logits, rows * m->V);
    }
    return BOSON_OK;
}
