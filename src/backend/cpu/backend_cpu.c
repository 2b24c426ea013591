/* CPU backend: host memory, qmatvec kernels for the weights, ops.c for the rest, the
 * thread pool for everything that splits into independent rows, heads or channels. */
#include "backend/cpu/backend_cpu.h"

#include "backend/cpu/ops.h"
#include "backend/cpu/ops_simd.h"
#include "base/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef void (*delta_head_fn)(const float *q, const float *k, const float *v, size_t ld,
                              const float *g, const float *beta, size_t ldg, float *state, float *y,
                              size_t ldy, size_t n, size_t dk, size_t dv);

typedef void (*conv_fn)(const float *x, size_t ldx, float *state, const float *w, float *out,
                        size_t n, size_t channels, size_t kernel, size_t c0, size_t c1);
typedef void (*gated_norm_fn)(const float *x, const float *z, float *y, size_t dim, const float *w,
                              float eps);
typedef void (*swiglu_fn)(const float *gate, const float *up, float *out, size_t n);

/* The scalar operators of ops.c, or their SIMD twins (ops_simd.h) for k->isa. */
typedef struct cpu_impl {
    bs_pool *pool;
    const bs_cpu_kernels *k;
    delta_head_fn delta_head;
    conv_fn conv;
    gated_norm_fn gated_norm;
    swiglu_fn swiglu;
} cpu_impl;

static void swiglu_ref(const float *gate, const float *up, float *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = bs_op_silu(gate[i]) * up[i];
}

static cpu_impl *impl_of(bs_backend *be)
{
    return be->impl;
}

/* ---- memory ---- */

static float *cpu_alloc(bs_backend *be, size_t n)
{
    (void)be;
    return calloc(n ? n : 1, sizeof(float));
}

static void cpu_free(bs_backend *be, float *p)
{
    (void)be;
    free(p);
}

static void cpu_copy(bs_backend *be, float *dst, const float *src, size_t n)
{
    (void)be;
    if (n)
        memmove(dst, src, n * sizeof(float));
}

static void cpu_fill(bs_backend *be, float *dst, float value, size_t n)
{
    (void)be;
    for (size_t i = 0; i < n; i++)
        dst[i] = value;
}

/* ---- weights ---- */

typedef struct mm_job {
    const bs_cpu_kernels *k;
    bs_qgroup g;
    const float *x;
    size_t n, ldx;
} mm_job;

static void mm_task(void *ctx, size_t b, size_t e, int w)
{
    (void)w;
    mm_job *j = ctx;
    if (j->n == 1)
        bs_qgroup_matvec(j->k, &j->g, j->x, b, e);
    else
        bs_qgroup_matmul(j->k, &j->g, j->x, j->n, j->ldx, b, e);
}

static void cpu_matmul(bs_backend *be, int n_mats, const bs_qmat *const *mats, float *const *outs,
                       const float *x, size_t n, size_t ldx)
{
    cpu_impl *c = impl_of(be);
    BS_ASSERT(n_mats > 0 && n_mats <= BS_QGROUP_MAX);
    mm_job j = {.k = c->k, .x = x, .n = n, .ldx = ldx};
    j.g.n = n_mats;
    for (int i = 0; i < n_mats; i++) {
        j.g.mats[i] = mats[i];
        j.g.outs[i] = outs[i];
    }
    if (n == 0)
        return;
    bs_pool_run(c->pool, bs_qgroup_rows(&j.g), 8, mm_task, &j);
}

typedef struct embed_job {
    const bs_qmat *m;
    const int32_t *tokens;
    float *out;
} embed_job;

static void embed_task(void *ctx, size_t b, size_t e, int w)
{
    (void)w;
    embed_job *j = ctx;
    for (size_t t = b; t < e; t++)
        bs_qmat_dequant_row(j->m, (uint64_t)j->tokens[t], j->out + t * j->m->cols);
}

static void cpu_embed(bs_backend *be, const bs_qmat *m, const int32_t *tokens, size_t n, float *out)
{
    embed_job j = {m, tokens, out};
    bs_pool_run(impl_of(be)->pool, n, 1, embed_task, &j);
}

/* ---- normalisation and element-wise ---- */

typedef struct norm_job {
    const float *x;
    size_t ldx, hsx;
    float *y;
    size_t ldy, hsy, heads, dim;
    const float *w;
    float eps, scale;
} norm_job;

static void norm_task(void *ctx, size_t b, size_t e, int w)
{
    (void)w;
    norm_job *j = ctx;
    for (size_t i = b; i < e; i++) {
        size_t t = i / j->heads, h = i % j->heads;
        bs_op_rmsnorm(j->x + t * j->ldx + h * j->hsx, j->y + t * j->ldy + h * j->hsy, j->dim, j->w,
                      j->eps, j->scale);
    }
}

static void cpu_rmsnorm(bs_backend *be, const float *x, size_t ldx, size_t hsx, float *y,
                        size_t ldy, size_t hsy, size_t n, size_t heads, size_t dim, const float *w,
                        float eps, float scale)
{
    norm_job j = {x, ldx, hsx, y, ldy, hsy, heads, dim, w, eps, scale};
    if (n * heads * dim < 65536)
        norm_task(&j, 0, n * heads, 0);
    else
        bs_pool_run(impl_of(be)->pool, n * heads, 1, norm_task, &j);
}

static void cpu_gated_rmsnorm(bs_backend *be, const float *x, const float *z, float *y, size_t rows,
                              size_t dim, const float *w, float eps)
{
    gated_norm_fn f = impl_of(be)->gated_norm;
    for (size_t r = 0; r < rows; r++)
        f(x + r * dim, z + r * dim, y + r * dim, dim, w, eps);
}

static void cpu_add(bs_backend *be, float *x, const float *y, size_t n)
{
    (void)be;
    for (size_t i = 0; i < n; i++)
        x[i] += y[i];
}

static void cpu_add_bias(bs_backend *be, float *x, const float *b, size_t rows, size_t width)
{
    (void)be;
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < width; c++)
            x[r * width + c] += b[c];
}

static void cpu_swiglu(bs_backend *be, const float *gate, const float *up, float *out, size_t n)
{
    impl_of(be)->swiglu(gate, up, out, n);
}

static void cpu_mul_sigmoid(bs_backend *be, float *x, size_t ldx, const float *g, size_t ldg,
                            size_t gcs, size_t rows, size_t width)
{
    (void)be;
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < width; c++)
            x[r * ldx + c] *= bs_op_sigmoid(g[r * ldg + c * gcs]);
}

/* ---- attention ---- */

static void cpu_rope(bs_backend *be, float *x, size_t ldx, size_t n, size_t heads, size_t head_dim,
                     size_t rot_dim, int64_t pos0, double theta)
{
    (void)be;
    for (size_t t = 0; t < n; t++)
        for (size_t h = 0; h < heads; h++)
            bs_op_rope(x + t * ldx + h * head_dim, rot_dim, pos0 + (int64_t)t, theta);
}

typedef struct attn_job {
    const float *q, *kc, *vc;
    float *out;
    size_t n, n_kv, nh, nkv, d;
    float scale;
} attn_job;

static void attn_task(void *ctx, size_t b, size_t e, int w)
{
    (void)w;
    attn_job *j = ctx;
    size_t group = j->nh / j->nkv, ld = j->nkv * j->d;
    for (size_t i = b; i < e; i++) {
        size_t t = i / j->nh, h = i % j->nh, hk = h / group;
        size_t visible = j->n_kv - j->n + t + 1;
        bs_op_attention_head(j->q + (t * j->nh + h) * j->d, j->kc + hk * j->d, j->vc + hk * j->d,
                             ld, visible, j->d, j->scale, j->out + (t * j->nh + h) * j->d);
    }
}

static void cpu_attention(bs_backend *be, const float *q, const float *kc, const float *vc,
                          float *out, size_t n, size_t n_kv, size_t n_heads, size_t n_kv_heads,
                          size_t head_dim, float scale)
{
    BS_ASSERT(n <= n_kv && n_kv_heads > 0 && n_heads % n_kv_heads == 0);
    attn_job j = {q, kc, vc, out, n, n_kv, n_heads, n_kv_heads, head_dim, scale};
    bs_pool_run(impl_of(be)->pool, n * n_heads, 1, attn_task, &j);
}

/* ---- gated delta net ---- */

typedef struct conv_job {
    conv_fn f;
    const float *x;
    size_t ldx;
    float *state;
    const float *w;
    float *out;
    size_t n, c, k;
} conv_job;

static void conv_task(void *ctx, size_t b, size_t e, int w)
{
    (void)w;
    conv_job *j = ctx;
    j->f(j->x, j->ldx, j->state, j->w, j->out, j->n, j->c, j->k, b, e);
}

static void cpu_conv1d(bs_backend *be, const float *x, size_t ldx, float *state, const float *w,
                       float *out, size_t n, size_t channels, size_t kernel)
{
    conv_job j = {impl_of(be)->conv, x, ldx, state, w, out, n, channels, kernel};
    if (n * channels < 2048)
        conv_task(&j, 0, channels, 0);
    else
        bs_pool_run(impl_of(be)->pool, channels, 16, conv_task, &j);
}

static void cpu_gdn_gates(bs_backend *be, const float *b, const float *a, const float *a_log,
                          const float *dt_bias, float *beta, float *g, size_t n, size_t hv)
{
    (void)be;
    for (size_t t = 0; t < n; t++)
        for (size_t h = 0; h < hv; h++) {
            size_t i = t * hv + h;
            beta[i] = bs_op_sigmoid(b[i]);
            g[i] = bs_op_gdn_decay(a[i], a_log[h], dt_bias[h]);
        }
}

typedef struct delta_job {
    delta_head_fn head;
    const float *qkv;
    size_t ld;
    const float *g, *beta;
    float *state, *y;
    size_t n, hk, hv, dk, dv;
} delta_job;

static void delta_task(void *ctx, size_t b, size_t e, int w)
{
    (void)w;
    delta_job *j = ctx;
    size_t r = j->hv / j->hk, key_dim = j->hk * j->dk;
    for (size_t h = b; h < e; h++) {
        size_t kh = h / r;
        j->head(j->qkv + kh * j->dk, j->qkv + key_dim + kh * j->dk,
                j->qkv + 2 * key_dim + h * j->dv, j->ld, j->g + h, j->beta + h, j->hv,
                j->state + h * j->dv * j->dk, j->y + h * j->dv, j->hv * j->dv, j->n, j->dk, j->dv);
    }
}

static void cpu_delta_rule(bs_backend *be, const float *qkv, size_t ld, const float *g,
                           const float *beta, float *state, float *y, size_t n, size_t hk,
                           size_t hv, size_t dk, size_t dv)
{
    BS_ASSERT(hk > 0 && hv % hk == 0);
    delta_job j = {impl_of(be)->delta_head, qkv, ld, g, beta, state, y, n, hk, hv, dk, dv};
    bs_pool_run(impl_of(be)->pool, hv, 1, delta_task, &j);
}

static void cpu_split_qkvz(bs_backend *be, const float *qkvz, float *qkv, float *z, size_t n,
                           size_t hk, size_t dk, size_t r, size_t dv)
{
    (void)be;
    size_t key_dim = hk * dk, value_dim = hk * r * dv, grp = 2 * dk + 2 * r * dv;
    size_t conv_dim = 2 * key_dim + value_dim, in_w = hk * grp;
    for (size_t t = 0; t < n; t++) {
        const float *src = qkvz + t * in_w;
        float *dq = qkv + t * conv_dim, *dz = z + t * value_dim;
        for (size_t g = 0; g < hk; g++) {
            const float *s = src + g * grp;
            memcpy(dq + g * dk, s, dk * sizeof(float));
            memcpy(dq + key_dim + g * dk, s + dk, dk * sizeof(float));
            memcpy(dq + 2 * key_dim + g * r * dv, s + 2 * dk, r * dv * sizeof(float));
            memcpy(dz + g * r * dv, s + 2 * dk + r * dv, r * dv * sizeof(float));
        }
    }
}

static void cpu_split_ba(bs_backend *be, const float *ba, float *b, float *a, size_t n, size_t hk,
                         size_t r)
{
    (void)be;
    size_t hv = hk * r;
    for (size_t t = 0; t < n; t++)
        for (size_t g = 0; g < hk; g++)
            for (size_t j = 0; j < r; j++) {
                b[t * hv + g * r + j] = ba[t * 2 * hv + g * 2 * r + j];
                a[t * hv + g * r + j] = ba[t * 2 * hv + g * 2 * r + r + j];
            }
}

/* ---- mixture of experts ---- */

static void cpu_moe_route(bs_backend *be, const float *logits, size_t ld, size_t n,
                          size_t n_experts, size_t k, int norm, int32_t *idx, float *weight)
{
    (void)be;
    for (size_t t = 0; t < n; t++)
        bs_op_route(logits + t * ld, n_experts, k, norm, idx + t * k, weight + t * k);
}

static void cpu_gather_rows(bs_backend *be, const float *src, const int32_t *rows, size_t m,
                            size_t width, float *dst)
{
    (void)be;
    for (size_t i = 0; i < m; i++)
        memcpy(dst + i * width, src + (size_t)rows[i] * width, width * sizeof(float));
}

static void cpu_scatter_add_rows(bs_backend *be, float *dst, const int32_t *rows,
                                 const float *scale, size_t m, size_t width, const float *src)
{
    (void)be;
    for (size_t i = 0; i < m; i++) {
        float *d = dst + (size_t)rows[i] * width;
        const float *s = src + i * width;
        for (size_t c = 0; c < width; c++)
            d[c] += scale[i] * s[c];
    }
}

static void cpu_destroy(bs_backend *be)
{
    if (!be)
        return;
    free(be->impl);
    free(be);
}

boson_status bs_backend_cpu_create(bs_pool *pool, const bs_cpu_kernels *kernels, bs_backend **out,
                                   boson_error *err)
{
    *out = NULL;
    bs_backend *be = calloc(1, sizeof *be);
    cpu_impl *c = calloc(1, sizeof *c);
    if (!be || !c) {
        free(be);
        free(c);
        return bs_error_set(err, BOSON_ERR_NOMEM, "CPU backend: out of memory");
    }
    c->pool = pool;
    c->k = kernels;
    c->delta_head = bs_op_delta_rule_head;
    c->conv = bs_op_conv1d;
    c->gated_norm = bs_op_gated_rmsnorm;
    c->swiglu = swiglu_ref;
    switch (kernels->isa) {
    case BS_CPU_AVX512:
        c->delta_head = bs_op_delta_rule_head_avx512;
        c->conv = bs_op_conv1d_avx512;
        c->gated_norm = bs_op_gated_rmsnorm_avx512;
        c->swiglu = bs_op_swiglu_avx512;
        break;
    case BS_CPU_AVX2:
    case BS_CPU_REF: break;
    }
    be->name = "cpu";
    be->impl = c;
    be->destroy = cpu_destroy;
    be->alloc = cpu_alloc;
    be->free = cpu_free;
    be->copy = cpu_copy;
    be->fill = cpu_fill;
    be->upload = cpu_copy;
    be->download = cpu_copy;
    be->matmul = cpu_matmul;
    be->embed = cpu_embed;
    be->rmsnorm = cpu_rmsnorm;
    be->gated_rmsnorm = cpu_gated_rmsnorm;
    be->add = cpu_add;
    be->add_bias = cpu_add_bias;
    be->swiglu = cpu_swiglu;
    be->mul_sigmoid = cpu_mul_sigmoid;
    be->rope = cpu_rope;
    be->attention = cpu_attention;
    be->conv1d = cpu_conv1d;
    be->gdn_gates = cpu_gdn_gates;
    be->delta_rule = cpu_delta_rule;
    be->split_qkvz = cpu_split_qkvz;
    be->split_ba = cpu_split_ba;
    be->moe_route = cpu_moe_route;
    be->gather_rows = cpu_gather_rows;
    be->scatter_add_rows = cpu_scatter_add_rows;
    *out = be;
    return BOSON_OK;
}
