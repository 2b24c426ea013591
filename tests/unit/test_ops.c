/* CPU backend operators against straightforward double-precision formulas written here
 * (RMSNorm, gated RMSNorm, RoPE, attention with GQA and the causal offset, causal conv1d with
 * state, GDN gates, the gated delta rule, MoE routing, Qwen3-Next de-interleave), plus the
 * thread pool's partition. Tiny sizes; tolerances are relative to the values' scale. */
#include "check.h"

#include "backend/cpu/backend_cpu.h"
#include "backend/cpu/ops.h"
#include "base/threadpool.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct rng {
    uint64_t s;
} rng;

static double rnd(rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return (double)(r->s >> 11) / 9007199254740992.0 * 2.0 - 1.0; /* [-1, 1) */
}

static void fill(rng *r, float *x, size_t n, double scale)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(rnd(r) * scale);
}

static double sigm(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

/* ---- element-wise and norms ---- */

CHECK_TEST(rmsnorm_matches_formula)
{
    rng r = {1};
    float x[96], w[96], y[96];
    fill(&r, x, 96, 3.0);
    fill(&r, w, 96, 1.0);
    bs_op_rmsnorm(x, y, 96, w, 1e-6f, 0.5f);
    double ss = 0;
    for (int i = 0; i < 96; i++)
        ss += (double)x[i] * x[i];
    double inv = 1.0 / sqrt(ss / 96 + 1e-6);
    for (int i = 0; i < 96; i++)
        CHECK_NEAR(y[i], 0.5 * x[i] * inv * w[i], 1e-6);
    /* weight-less, in place */
    bs_op_rmsnorm(x, x, 96, NULL, 1e-6f, 1.0f);
    double s2 = 0;
    for (int i = 0; i < 96; i++)
        s2 += (double)x[i] * x[i];
    CHECK_NEAR(s2 / 96, 1.0, 1e-5);
}

CHECK_TEST(gated_rmsnorm_matches_formula)
{
    rng r = {2};
    float x[64], z[64], w[64], y[64];
    fill(&r, x, 64, 2.0);
    fill(&r, z, 64, 4.0);
    fill(&r, w, 64, 1.0);
    bs_op_gated_rmsnorm(x, z, y, 64, w, 1e-6f);
    double ss = 0;
    for (int i = 0; i < 64; i++)
        ss += (double)x[i] * x[i];
    double inv = 1.0 / sqrt(ss / 64 + 1e-6);
    for (int i = 0; i < 64; i++)
        CHECK_NEAR(y[i], x[i] * inv * w[i] * z[i] * sigm(z[i]), 2e-6);
}

CHECK_TEST(activations)
{
    CHECK_NEAR(bs_op_softplus(0.0f), log(2.0), 1e-7);
    CHECK_NEAR(bs_op_softplus(100.0f), 100.0, 1e-5); /* no overflow */
    CHECK_NEAR(bs_op_softplus(-100.0f), exp(-100.0), 1e-30);
    CHECK_NEAR(bs_op_softplus(1.5f), log1p(exp(1.5)), 1e-6);
    CHECK_NEAR(bs_op_silu(2.0f), 2.0 * sigm(2.0), 1e-6);
    CHECK_NEAR(bs_op_sigmoid(-3.0f), sigm(-3.0), 1e-7);
    /* g = exp(-exp(A_log) softplus(a + dt_bias)) */
    double g = exp(-exp(0.3) * log1p(exp(-0.7 + 1.2)));
    CHECK_NEAR(bs_op_gdn_decay(-0.7f, 0.3f, 1.2f), g, 1e-6);
}

/* ---- RoPE ---- */

CHECK_TEST(rope_rotate_half_partial)
{
    rng r = {3};
    enum { D = 32, R = 8 };
    float x[D], x0[D];
    fill(&r, x, D, 1.0);
    memcpy(x0, x, sizeof x);
    double theta = 1e7;
    int64_t pos = 37;
    bs_op_rope(x, R, pos, theta);
    for (int i = 0; i < R / 2; i++) {
        double ang = (double)pos * pow(theta, -2.0 * i / R);
        double a = x0[i], b = x0[i + R / 2];
        CHECK_NEAR(x[i], a * cos(ang) - b * sin(ang), 1e-6);
        CHECK_NEAR(x[i + R / 2], a * sin(ang) + b * cos(ang), 1e-6);
    }
    for (int i = R; i < D; i++)
        CHECK(x[i] == x0[i]); /* dims >= R pass through */
    float y[D];
    memcpy(y, x0, sizeof y);
    bs_op_rope(y, R, 0, theta);
    CHECK(memcmp(y, x0, sizeof y) == 0); /* position 0 is the identity */
}

/* ---- attention through the backend (GQA, causal offset) ---- */

static bs_backend *make_backend(bs_pool **pool, bs_cpu_kernels *k, int threads)
{
    boson_error err = {0};
    *k = bs_cpu_kernels_detect();
    if (bs_pool_create(threads, pool, &err) != BOSON_OK)
        return NULL;
    bs_backend *be = NULL;
    if (bs_backend_cpu_create(*pool, k, &be, &err) != BOSON_OK)
        return NULL;
    return be;
}

CHECK_TEST(attention_gqa_causal)
{
    enum { N = 3, NKV_POS = 7, NH = 4, NKV = 2, D = 8 };
    rng r = {4};
    float q[N * NH * D], kc[NKV_POS * NKV * D], vc[NKV_POS * NKV * D], out[N * NH * D];
    fill(&r, q, sizeof q / 4, 2.0);
    fill(&r, kc, sizeof kc / 4, 2.0);
    fill(&r, vc, sizeof vc / 4, 1.0);
    bs_pool *pool;
    bs_cpu_kernels k;
    bs_backend *be = make_backend(&pool, &k, 2);
    REQUIRE(be);
    float scale = 0.35f;
    be->attention(be, q, kc, vc, out, N, NKV_POS, NH, NKV, D, scale);
    for (int t = 0; t < N; t++)
        for (int h = 0; h < NH; h++) {
            int hk = h / (NH / NKV), visible = NKV_POS - N + t + 1;
            double s[NKV_POS], mx = -1e300, sum = 0;
            for (int j = 0; j < visible; j++) {
                double d = 0;
                for (int i = 0; i < D; i++)
                    d += (double)q[(t * NH + h) * D + i] * kc[(j * NKV + hk) * D + i];
                s[j] = d * scale;
                mx = fmax(mx, s[j]);
            }
            for (int j = 0; j < visible; j++)
                sum += s[j] = exp(s[j] - mx);
            for (int i = 0; i < D; i++) {
                double o = 0;
                for (int j = 0; j < visible; j++)
                    o += s[j] / sum * vc[(j * NKV + hk) * D + i];
                CHECK_NEAR(out[(t * NH + h) * D + i], o, 1e-6);
            }
        }
    be->destroy(be);
    bs_pool_destroy(pool);
}

/* ---- conv1d ---- */

/* double reference over the whole history: u = concat(zeros(K-1), all inputs) */
static double conv_ref(const float *hist, int t_abs, int c, int C, const float *w, int K)
{
    double acc = 0;
    for (int j = 0; j < K; j++) {
        int u = t_abs - (K - 1) + j;
        double xv = u >= 0 ? hist[u * C + c] : 0.0;
        acc += (double)w[c * K + j] * xv;
    }
    return acc * sigm(acc);
}

CHECK_TEST(conv1d_chunks_and_state)
{
    enum { C = 5, K = 4, T = 9 };
    rng r = {5};
    float hist[T * C], w[C * K], out[T * C], state[(K - 1) * C];
    fill(&r, hist, T * C, 1.5);
    fill(&r, w, C * K, 1.0);
    memset(state, 0, sizeof state);
    /* chunks of 1, 2 (shorter than the state), then 6: state carries across */
    int cuts[] = {0, 1, 3, 9};
    for (int ci = 0; ci < 3; ci++) {
        int t0 = cuts[ci], n = cuts[ci + 1] - t0;
        bs_op_conv1d(hist + t0 * C, C, state, w, out + t0 * C, (size_t)n, C, K, 0, C);
        /* the state holds the last K-1 raw inputs (zeros before the start) */
        for (int j = 0; j < K - 1; j++)
            for (int c = 0; c < C; c++) {
                int u = t0 + n - (K - 1) + j;
                CHECK_NEAR(state[j * C + c], u >= 0 ? hist[u * C + c] : 0.0, 0);
            }
    }
    for (int t = 0; t < T; t++)
        for (int c = 0; c < C; c++)
            CHECK_NEAR(out[t * C + c], conv_ref(hist, t, c, C, w, K), 1e-6);
}

/* ---- gated delta rule ---- */

CHECK_TEST(delta_rule_matches_recurrence)
{
    enum { T = 5, HK = 2, HV = 4, DK = 4, DV = 3, KD = HK * DK, LD = 2 * KD + HV * DV };
    rng r = {6};
    float qkv[T * LD], g[T * HV], beta[T * HV], y[T * HV * DV], state[HV * DV * DK];
    fill(&r, qkv, T * LD, 1.0);
    for (int i = 0; i < T * HV; i++) {
        g[i] = (float)(0.5 + 0.45 * rnd(&r));
        beta[i] = (float)sigm(2 * rnd(&r));
    }
    fill(&r, state, HV * DV * DK, 0.5);
    double S[HV][DV][DK];
    for (int h = 0; h < HV; h++)
        for (int i = 0; i < DV; i++)
            for (int j = 0; j < DK; j++)
                S[h][i][j] = state[(h * DV + i) * DK + j];
    bs_pool *pool;
    bs_cpu_kernels k;
    bs_backend *be = make_backend(&pool, &k, 3);
    REQUIRE(be);
    be->delta_rule(be, qkv, LD, g, beta, state, y, T, HK, HV, DK, DV);
    for (int t = 0; t < T; t++)
        for (int h = 0; h < HV; h++) {
            int hk = h / (HV / HK); /* repeat-interleave */
            const float *q = qkv + t * LD + hk * DK, *kk = qkv + t * LD + KD + hk * DK;
            const float *v = qkv + t * LD + 2 * KD + h * DV;
            double gt = g[t * HV + h], bt = beta[t * HV + h];
            for (int i = 0; i < DV; i++) {
                double m = 0;
                for (int j = 0; j < DK; j++)
                    m += gt * S[h][i][j] * kk[j];
                double delta = (v[i] - m) * bt, o = 0;
                for (int j = 0; j < DK; j++) {
                    S[h][i][j] = gt * S[h][i][j] + kk[j] * delta;
                    o += S[h][i][j] * q[j]; /* from the updated state */
                }
                CHECK_NEAR(y[(t * HV + h) * DV + i], o, 1e-5);
            }
        }
    for (int h = 0; h < HV; h++)
        for (int i = 0; i < DV; i++)
            for (int j = 0; j < DK; j++)
                CHECK_NEAR(state[(h * DV + i) * DK + j], S[h][i][j], 1e-5);
    be->destroy(be);
    bs_pool_destroy(pool);
}

/* ---- MoE routing ---- */

CHECK_TEST(route_softmax_topk_renorm)
{
    float logits[6] = {0.1f, 2.0f, -1.0f, 2.0f, 1.5f, 0.0f};
    int32_t idx[3];
    float w[3];
    bs_op_route(logits, 6, 3, 0, idx, w);
    double sum = 0;
    for (int e = 0; e < 6; e++)
        sum += exp(logits[e]);
    CHECK_EQ_I64(idx[0], 1); /* tie with 3: lower id first */
    CHECK_EQ_I64(idx[1], 3);
    CHECK_EQ_I64(idx[2], 4);
    CHECK_NEAR(w[0], exp(2.0) / sum, 1e-7);
    CHECK_NEAR(w[2], exp(1.5) / sum, 1e-7);
    bs_op_route(logits, 6, 3, 1, idx, w);
    double top = 2 * exp(2.0) + exp(1.5);
    CHECK_NEAR(w[0], exp(2.0) / top, 1e-7);
    CHECK_NEAR(w[2], exp(1.5) / top, 1e-7);
    CHECK_NEAR(w[0] + w[1] + w[2], 1.0, 1e-6);
}

/* ---- Qwen3-Next de-interleave against the explicit row map of the reference ---- */

CHECK_TEST(split_qkvz_ba_row_map)
{
    enum { HK = 2, DK = 3, R = 2, DV = 2, KD = HK * DK, VD = HK * R * DV };
    enum { W = HK * (2 * DK + 2 * R * DV), CD = 2 * KD + VD, HV = HK * R };
    float in[2 * W], qkv[2 * CD], z[2 * VD], ba[2 * 2 * HV], b[2 * HV], a[2 * HV];
    for (int i = 0; i < 2 * W; i++)
        in[i] = (float)i;
    for (int i = 0; i < 4 * HV; i++)
        ba[i] = (float)(1000 + i);
    bs_pool *pool;
    bs_cpu_kernels k;
    bs_backend *be = make_backend(&pool, &k, 1);
    REQUIRE(be);
    be->split_qkvz(be, in, qkv, z, 2, HK, DK, R, DV);
    be->split_ba(be, ba, b, a, 2, HK, R);
    int grp = 2 * DK + 2 * R * DV;
    for (int t = 0; t < 2; t++) {
        for (int g = 0; g < HK; g++)
            for (int o = 0; o < grp; o++) {
                float src = in[t * W + g * grp + o];
                if (o < DK)
                    CHECK(qkv[t * CD + g * DK + o] == src);
                else if (o < 2 * DK)
                    CHECK(qkv[t * CD + KD + g * DK + (o - DK)] == src);
                else if (o < 2 * DK + R * DV)
                    CHECK(qkv[t * CD + 2 * KD + g * R * DV + (o - 2 * DK)] == src);
                else
                    CHECK(z[t * VD + g * R * DV + (o - 2 * DK - R * DV)] == src);
            }
        for (int g = 0; g < HK; g++)
            for (int o = 0; o < 2 * R; o++) {
                float src = ba[t * 2 * HV + g * 2 * R + o];
                if (o < R)
                    CHECK(b[t * HV + g * R + o] == src);
                else
                    CHECK(a[t * HV + g * R + (o - R)] == src);
            }
    }
    be->destroy(be);
    bs_pool_destroy(pool);
}

/* ---- backend matmul == reference kernel; gather / scatter ---- */

CHECK_TEST(backend_matmul_and_rows)
{
    enum { N = 19, K = 64, T = 3 };
    rng r = {7};
    float w[N * K], x[T * K], y[T * N];
    fill(&r, w, N * K, 1.0);
    fill(&r, x, T * K, 1.0);
    bs_qmat m = {
        .fmt = {BS_W_DENSE, 32, 0, BS_DT_F32}, .rows = N, .cols = K, .w = (const uint8_t *)w};
    bs_pool *pool;
    bs_cpu_kernels k;
    bs_backend *be = make_backend(&pool, &k, 3);
    REQUIRE(be);
    const bs_qmat *mp = &m;
    float *yp = y;
    for (int n = 1; n <= T; n += 2) {
        be->matmul(be, 1, &mp, &yp, x, (size_t)n, K);
        for (int t = 0; t < n; t++)
            for (int i = 0; i < N; i++) {
                double d = 0;
                for (int j = 0; j < K; j++)
                    d += (double)w[i * K + j] * x[t * K + j];
                CHECK_NEAR(y[t * N + i], d, 1e-5);
            }
    }
    float src[4 * 3], dst[4 * 3] = {0}, g[2 * 3];
    for (int i = 0; i < 12; i++)
        src[i] = (float)i;
    int32_t rows[2] = {3, 1};
    be->gather_rows(be, src, rows, 2, 3, g);
    CHECK(g[0] == 9 && g[3] == 3);
    float sc[2] = {2.0f, -1.0f};
    be->scatter_add_rows(be, dst, rows, sc, 2, 3, g);
    CHECK(dst[9] == 18 && dst[3] == -3 && dst[0] == 0);
    be->destroy(be);
    bs_pool_destroy(pool);
}

/* ---- thread pool ---- */

typedef struct pool_ctx {
    int hits[1000];
    int bad_worker;
    int n_threads;
} pool_ctx;

static void mark(void *ctx, size_t b, size_t e, int w)
{
    pool_ctx *c = ctx;
    if (w < 0 || w >= c->n_threads)
        c->bad_worker = 1;
    for (size_t i = b; i < e; i++)
        __atomic_fetch_add(&c->hits[i], 1, __ATOMIC_RELAXED);
}

CHECK_TEST(pool_covers_every_item_once)
{
    for (int threads = 1; threads <= 4; threads++) {
        bs_pool *p;
        boson_error err = {0};
        REQUIRE(bs_pool_create(threads, &p, &err) == BOSON_OK);
        CHECK_EQ_I64(bs_pool_threads(p), threads);
        size_t sizes[] = {0, 1, 2, 7, 64, 999};
        for (size_t si = 0; si < 6; si++)
            for (size_t align = 0; align <= 8; align += 4) {
                static pool_ctx c;
                memset(&c, 0, sizeof c);
                c.n_threads = threads;
                for (int rep = 0; rep < 3; rep++)
                    bs_pool_run(p, sizes[si], align, mark, &c);
                for (size_t i = 0; i < sizes[si]; i++)
                    CHECK_EQ_I64(c.hits[i], 3);
                CHECK(!c.bad_worker);
            }
        bs_pool_destroy(p);
    }
    /* ranges: aligned starts, contiguous, covering [0, n) */
    size_t prev = 0;
    for (int w = 0; w < 3; w++) {
        size_t b, e;
        bs_pool_range(100, 8, 3, w, &b, &e);
        CHECK_EQ_U64(b, prev);
        CHECK(b % 8 == 0);
        prev = e;
    }
    CHECK_EQ_U64(prev, 100);
}

int main(void)
{
    return check_main("test_ops", (const check_case[]){CHECK_CASE(rmsnorm_matches_formula),
                                                       CHECK_CASE(gated_rmsnorm_matches_formula),
                                                       CHECK_CASE(activations),
                                                       CHECK_CASE(rope_rotate_half_partial),
                                                       CHECK_CASE(attention_gqa_causal),
                                                       CHECK_CASE(conv1d_chunks_and_state),
                                                       CHECK_CASE(delta_rule_matches_recurrence),
                                                       CHECK_CASE(route_softmax_topk_renorm),
                                                       CHECK_CASE(split_qkvz_ba_row_map),
                                                       CHECK_CASE(backend_matmul_and_rows),
                                                       CHECK_CASE(pool_covers_every_item_once),
                                                       {0}});
}
