/* Scalar fp32 operators of the CPU backend. */
#include "backend/cpu/ops.h"

#include <math.h>

float bs_op_sigmoid(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

float bs_op_silu(float x)
{
    return x * bs_op_sigmoid(x);
}

float bs_op_softplus(float x)
{
    /* logaddexp(x, 0) = max(x, 0) + log1p(exp(-|x|)) */
    return fmaxf(x, 0.0f) + log1pf(expf(-fabsf(x)));
}

void bs_op_rmsnorm(const float *x, float *y, size_t dim, const float *w, float eps, float scale)
{
    float ss = 0.0f;
    for (size_t i = 0; i < dim; i++)
        ss += x[i] * x[i];
    float inv = 1.0f / sqrtf(ss / (float)dim + eps);
    if (w) {
        for (size_t i = 0; i < dim; i++)
            y[i] = scale * (x[i] * inv) * w[i];
    } else {
        for (size_t i = 0; i < dim; i++)
            y[i] = scale * (x[i] * inv);
    }
}

void bs_op_gated_rmsnorm(const float *x, const float *z, float *y, size_t dim, const float *w,
                         float eps)
{
    float ss = 0.0f;
    for (size_t i = 0; i < dim; i++)
        ss += x[i] * x[i];
    float inv = 1.0f / sqrtf(ss / (float)dim + eps);
    for (size_t i = 0; i < dim; i++)
        y[i] = bs_op_silu(z[i]) * ((x[i] * inv) * w[i]);
}

void bs_op_rope(float *x, size_t rot, int64_t pos, double theta)
{
    size_t half = rot / 2;
    for (size_t i = 0; i < half; i++) {
        double inv_freq = pow(theta, -(double)(2 * i) / (double)rot);
        double ang = (double)pos * inv_freq;
        float c = (float)cos(ang), s = (float)sin(ang);
        float a = x[i], b = x[i + half];
        x[i] = a * c - b * s;
        x[i + half] = a * s + b * c;
    }
}

void bs_op_attention_head(const float *q, const float *k, const float *v, size_t ld, size_t n_keys,
                          size_t dim, float scale, float *out)
{
    /* pass 1: the maximum score */
    float mx = -INFINITY;
    for (size_t j = 0; j < n_keys; j++) {
        const float *kj = k + j * ld;
        float s = 0.0f;
        for (size_t d = 0; d < dim; d++)
            s += q[d] * kj[d];
        s *= scale;
        if (s > mx)
            mx = s;
    }
    /* pass 2: exp-weights and the weighted sum of values */
    for (size_t d = 0; d < dim; d++)
        out[d] = 0.0f;
    float sum = 0.0f;
    for (size_t j = 0; j < n_keys; j++) {
        const float *kj = k + j * ld;
        float s = 0.0f;
        for (size_t d = 0; d < dim; d++)
            s += q[d] * kj[d];
        float p = expf(s * scale - mx);
        sum += p;
        const float *vj = v + j * ld;
        for (size_t d = 0; d < dim; d++)
            out[d] += p * vj[d];
    }
    float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
    for (size_t d = 0; d < dim; d++)
        out[d] *= inv;
}

void bs_op_conv1d(const float *x, size_t ldx, float *state, const float *w, float *out, size_t n,
                  size_t channels, size_t kernel, size_t c0, size_t c1)
{
    size_t ks = kernel - 1; /* state rows */
    for (size_t c = c0; c < c1; c++) {
        const float *wc = w + c * kernel;
        for (size_t t = 0; t < n; t++) {
            /* window u[t .. t+K-1] over concat(state, x): index j < ks - t reads the state */
            float acc = 0.0f;
            for (size_t j = 0; j < kernel; j++) {
                size_t u = t + j; /* position in the concatenation */
                float xv = u < ks ? state[u * channels + c] : x[(u - ks) * ldx + c];
                acc += wc[j] * xv;
            }
            out[t * channels + c] = bs_op_silu(acc);
        }
        /* new state: the last ks rows of concat(state, x) */
        if (ks == 0)
            continue;
        if (n >= ks) {
            for (size_t j = 0; j < ks; j++)
                state[j * channels + c] = x[(n - ks + j) * ldx + c];
        } else {
            for (size_t j = 0; j < ks - n; j++)
                state[j * channels + c] = state[(j + n) * channels + c];
            for (size_t j = 0; j < n; j++)
                state[(ks - n + j) * channels + c] = x[j * ldx + c];
        }
    }
}

float bs_op_gdn_decay(float a, float a_log, float dt_bias)
{
    return expf(-expf(a_log) * bs_op_softplus(a + dt_bias));
}

void bs_op_delta_rule_head(const float *q, const float *k, const float *v, size_t ld,
                           const float *g, const float *beta, size_t ldg, float *state, float *y,
                           size_t ldy, size_t n, size_t dk, size_t dv)
{
    for (size_t t = 0; t < n; t++) {
        const float *qt = q + t * ld, *kt = k + t * ld, *vt = v + t * ld;
        float gt = g[t * ldg], bt = beta[t * ldg];
        float *yt = y + t * ldy;
        for (size_t i = 0; i < dv; i++) {
            float *s = state + i * dk;
            float m = 0.0f;
            for (size_t j = 0; j < dk; j++) {
                s[j] *= gt;
                m += s[j] * kt[j];
            }
            float delta = (vt[i] - m) * bt;
            float o = 0.0f;
            for (size_t j = 0; j < dk; j++) {
                s[j] += kt[j] * delta;
                o += s[j] * qt[j];
            }
            yt[i] = o;
        }
    }
}

void bs_op_route(const float *logits, size_t n_experts, size_t k, int norm, int32_t *idx,
                 float *weight)
{
    float mx = -INFINITY;
    for (size_t e = 0; e < n_experts; e++)
        if (logits[e] > mx)
            mx = logits[e];
    float sum = 0.0f;
    for (size_t e = 0; e < n_experts; e++)
        sum += expf(logits[e] - mx);
    /* selection of the k largest by repeated scan (E is small: <= a few hundred) */
    for (size_t j = 0; j < k; j++) {
        size_t best = n_experts;
        for (size_t e = 0; e < n_experts; e++) {
            int taken = 0;
            for (size_t i = 0; i < j; i++)
                if ((size_t)idx[i] == e)
                    taken = 1;
            if (taken)
                continue;
            if (best == n_experts || logits[e] > logits[best])
                best = e;
        }
        idx[j] = (int32_t)best;
        weight[j] = expf(logits[best] - mx) / sum;
    }
    if (norm) {
        float s = 0.0f;
        for (size_t j = 0; j < k; j++)
            s += weight[j];
        for (size_t j = 0; j < k; j++)
            weight[j] /= s;
    }
}
