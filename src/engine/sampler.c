#include "engine/sampler.h"

#include "base/error.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void bs_sampler_params_default(bs_sampler_params *p)
{
    memset(p, 0, sizeof *p);
    p->min_tokens_to_keep = 1;
    p->repetition_window = 20;
    p->presence_window = 20;
    p->frequency_window = 20;
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t next_u64(uint64_t *s)
{
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double bs_sampler_uniform(bs_sampler *s)
{
    return (double)(next_u64(s->rng) >> 11) * 0x1.0p-53;
}

boson_status bs_sampler_init(bs_sampler *s, const bs_sampler_params *p, size_t vocab,
                             boson_error *err)
{
    memset(s, 0, sizeof *s);
    if (vocab == 0 || vocab > (1u << 30))
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "sampler: vocabulary size %zu", vocab);
    if (!(p->temperature >= 0.0f) || !isfinite(p->temperature))
        return bs_error_set(err, BOSON_ERR_INVALID_ARG,
                            "temperature must be a finite number >= 0 (got %g)",
                            (double)p->temperature);
    if (!(p->top_p >= 0.0f && p->top_p <= 1.0f))
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "top_p must be in [0, 1] (got %g)",
                            (double)p->top_p);
    if (!(p->min_p >= 0.0f && p->min_p <= 1.0f))
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "min_p must be in [0, 1] (got %g)",
                            (double)p->min_p);
    if (p->top_k < 0)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "top_k must be >= 0 (got %d)", p->top_k);
    if (p->min_tokens_to_keep < 1)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "min_tokens_to_keep must be >= 1");
    if (!(p->repetition_penalty >= 0.0f) || !isfinite(p->repetition_penalty))
        return bs_error_set(err, BOSON_ERR_INVALID_ARG,
                            "repetition_penalty must be a finite number >= 0 (got %g)",
                            (double)p->repetition_penalty);
    if (!isfinite(p->presence_penalty) || !isfinite(p->frequency_penalty))
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "penalties must be finite numbers");
    if (p->repetition_window < 0 || p->presence_window < 0 || p->frequency_window < 0)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "penalty windows must be >= 0");
    for (size_t i = 0; i < p->n_bias; i++) {
        if (p->bias_ids[i] < 0 || (size_t)p->bias_ids[i] >= vocab)
            return bs_error_set(err, BOSON_ERR_INVALID_ARG,
                                "logit_bias token id %d is outside the vocabulary (0..%zu)",
                                p->bias_ids[i], vocab - 1);
        if (!isfinite(p->bias_values[i]) && !(isinf(p->bias_values[i]) && p->bias_values[i] < 0))
            return bs_error_set(err, BOSON_ERR_INVALID_ARG,
                                "logit_bias value for token %d is not a number", p->bias_ids[i]);
    }
    s->p = *p;
    s->vocab = vocab;
    s->work = malloc(vocab * sizeof *s->work);
    s->order = malloc(vocab * sizeof *s->order);
    s->counts = calloc(vocab, sizeof *s->counts);
    if (p->n_bias) {
        s->bias_ids = malloc(p->n_bias * sizeof *s->bias_ids);
        s->bias_values = malloc(p->n_bias * sizeof *s->bias_values);
    }
    if (!s->work || !s->order || !s->counts || (p->n_bias && (!s->bias_ids || !s->bias_values))) {
        bs_sampler_free(s);
        return bs_error_set(err, BOSON_ERR_NOMEM, "sampler: out of memory");
    }
    if (p->n_bias) {
        memcpy(s->bias_ids, p->bias_ids, p->n_bias * sizeof *s->bias_ids);
        memcpy(s->bias_values, p->bias_values, p->n_bias * sizeof *s->bias_values);
    }
    s->p.bias_ids = s->bias_ids;
    s->p.bias_values = s->bias_values;
    uint64_t x = p->seed;
    for (int i = 0; i < 4; i++)
        s->rng[i] = splitmix64(&x);
    return BOSON_OK;
}

void bs_sampler_free(bs_sampler *s)
{
    if (!s)
        return;
    free(s->work);
    free(s->order);
    free(s->counts);
    free(s->bias_ids);
    free(s->bias_values);
    memset(s, 0, sizeof *s);
}

/* Tokens of the last `window` history entries, valid ids only. */
static size_t window_start(size_t n_history, int window)
{
    return n_history > (size_t)window ? n_history - (size_t)window : 0;
}

static void apply_processors(bs_sampler *s, const int32_t *hist, size_t n)
{
    float *x = s->work;
    const bs_sampler_params *p = &s->p;
    for (size_t i = 0; i < p->n_bias; i++)
        x[p->bias_ids[i]] += p->bias_values[i];
    if (p->repetition_penalty != 0.0f && p->repetition_penalty != 1.0f) {
        /* each distinct token once, as a gather/scatter over the window does */
        size_t b = window_start(n, p->repetition_window);
        for (size_t i = b; i < n; i++)
            if (hist[i] >= 0 && (size_t)hist[i] < s->vocab && !s->counts[hist[i]]++) {
                float v = x[hist[i]];
                x[hist[i]] = v < 0 ? v * p->repetition_penalty : v / p->repetition_penalty;
            }
        for (size_t i = b; i < n; i++)
            if (hist[i] >= 0 && (size_t)hist[i] < s->vocab)
                s->counts[hist[i]] = 0;
    }
    if (p->presence_penalty != 0.0f) {
        size_t b = window_start(n, p->presence_window);
        for (size_t i = b; i < n; i++)
            if (hist[i] >= 0 && (size_t)hist[i] < s->vocab && !s->counts[hist[i]]++)
                x[hist[i]] -= p->presence_penalty;
        for (size_t i = b; i < n; i++)
            if (hist[i] >= 0 && (size_t)hist[i] < s->vocab)
                s->counts[hist[i]] = 0;
    }
    if (p->frequency_penalty != 0.0f) {
        size_t b = window_start(n, p->frequency_window);
        for (size_t i = b; i < n; i++)
            if (hist[i] >= 0 && (size_t)hist[i] < s->vocab)
                x[hist[i]] -= p->frequency_penalty;
    }
}

static void to_logprobs(float *x, size_t n)
{
    float m = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (x[i] > m)
            m = x[i];
    if (m == -INFINITY)
        return;
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += exp((double)x[i] - m);
    if (!(sum > 0)) /* cannot happen: the maximum contributes exp(0) = 1 */
        return;
    float lse = m + (float)log(sum);
    for (size_t i = 0; i < n; i++)
        x[i] -= lse;
}

/* Sorts indices by value, descending; ties by index ascending (deterministic). */
static int cmp_desc(const void *a, const void *b, void *ctx)
{
    const float *v = ctx;
    int32_t i = *(const int32_t *)a, j = *(const int32_t *)b;
    if (v[i] > v[j])
        return -1;
    if (v[i] < v[j])
        return 1;
    return (i > j) - (i < j);
}

static void sort_desc(bs_sampler *s)
{
    for (size_t i = 0; i < s->vocab; i++)
        s->order[i] = (int32_t)i;
    qsort_r(s->order, s->vocab, sizeof *s->order, cmp_desc, s->work);
}

static void apply_filters(bs_sampler *s)
{
    float *x = s->work;
    size_t n = s->vocab;
    const bs_sampler_params *p = &s->p;
    if (p->top_p > 0.0f && p->top_p < 1.0f) {
        /* keep the smallest prefix (by descending probability) whose mass reaches top_p:
         * a token survives iff the mass strictly above it is < top_p * total */
        sort_desc(s);
        double total = 0;
        for (size_t i = 0; i < n; i++)
            total += exp((double)x[s->order[i]]);
        double above = 0;
        float threshold = -INFINITY;
        for (size_t i = 0; i < n; i++) {
            float v = x[s->order[i]];
            if (above >= (double)p->top_p * total)
                break;
            threshold = v;
            above += exp((double)v);
        }
        for (size_t i = 0; i < n; i++)
            if (x[i] < threshold)
                x[i] = -INFINITY;
    }
    if (p->min_p > 0.0f) {
        float top = -INFINITY;
        for (size_t i = 0; i < n; i++)
            if (x[i] > top)
                top = x[i];
        float cut = top + logf(p->min_p);
        size_t keep = (size_t)p->min_tokens_to_keep;
        if (keep > 1) {
            /* the min_tokens_to_keep most likely tokens always survive */
            sort_desc(s);
            for (size_t r = keep; r < n; r++)
                if (x[s->order[r]] < cut)
                    x[s->order[r]] = -INFINITY;
        } else {
            for (size_t i = 0; i < n; i++)
                if (x[i] < cut)
                    x[i] = -INFINITY;
        }
    }
    if (p->top_k > 0 && (size_t)p->top_k < n) {
        sort_desc(s);
        for (size_t i = (size_t)p->top_k; i < n; i++)
            x[s->order[i]] = -INFINITY;
    }
}

void bs_sampler_filter(bs_sampler *s, const float *logits, const int32_t *history, size_t n_history,
                       float *out)
{
    memcpy(s->work, logits, s->vocab * sizeof *s->work);
    apply_processors(s, history, n_history);
    to_logprobs(s->work, s->vocab);
    apply_filters(s);
    if (out != s->work)
        memcpy(out, s->work, s->vocab * sizeof *out);
}

static int32_t argmax(const float *x, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return (int32_t)best;
}

int32_t bs_sampler_sample(bs_sampler *s, const float *logits, const int32_t *history,
                          size_t n_history, int n_top, bs_sample_info *info)
{
    int32_t tok;
    if (s->p.temperature == 0.0f) {
        memcpy(s->work, logits, s->vocab * sizeof *s->work);
        apply_processors(s, history, n_history);
        tok = argmax(s->work, s->vocab);
    } else {
        bs_sampler_filter(s, logits, history, n_history, s->work);
        double inv_t = 1.0 / (double)s->p.temperature, m = -INFINITY, sum = 0;
        for (size_t i = 0; i < s->vocab; i++)
            if (s->work[i] > m)
                m = s->work[i];
        for (size_t i = 0; i < s->vocab; i++)
            sum += exp(((double)s->work[i] - m) * inv_t);
        double r = bs_sampler_uniform(s) * sum, acc = 0;
        tok = -1;
        for (size_t i = 0; i < s->vocab; i++) {
            double w = exp(((double)s->work[i] - m) * inv_t);
            if (w == 0)
                continue;
            tok = (int32_t)i;
            acc += w;
            if (acc > r)
                break;
        }
        if (tok < 0)
            tok = argmax(s->work, s->vocab);
    }
    if (info) {
        memcpy(s->work, logits, s->vocab * sizeof *s->work);
        to_logprobs(s->work, s->vocab);
        info->token = tok;
        info->logprob = s->work[tok];
        if (n_top < 0)
            n_top = 0;
        if (n_top > BS_TOP_LOGPROBS_MAX)
            n_top = BS_TOP_LOGPROBS_MAX;
        if ((size_t)n_top > s->vocab)
            n_top = (int)s->vocab;
        info->n_top = n_top;
        if (n_top) {
            sort_desc(s);
            for (int i = 0; i < n_top; i++) {
                info->top_ids[i] = s->order[i];
                info->top_logprobs[i] = s->work[s->order[i]];
            }
        }
    }
    return tok;
}
