/* Token sampler: logits processors, then filters, then a draw, in mlx-lm's order:
 *   logit bias -> repetition penalty -> presence penalty -> frequency penalty   (on logits)
 *   logprobs = logits - logsumexp(logits)
 *   top-p -> min-p -> top-k                                                     (on logprobs)
 *   temperature 0: argmax; else a categorical draw from softmax(logprobs / temperature).
 * Each sampler owns its scratch and its RNG (xoshiro256** seeded by splitmix64), so one
 * sampler per session, and equal seeds with equal inputs give equal tokens. */
#ifndef BOSON_ENGINE_SAMPLER_H
#define BOSON_ENGINE_SAMPLER_H

#include "boson.h"

#include <stddef.h>
#include <stdint.h>

typedef struct bs_sampler_params {
    float temperature;        /* 0 = greedy */
    float top_p;              /* off unless 0 < top_p < 1 */
    float min_p;              /* off when 0; in [0, 1] */
    int min_tokens_to_keep;   /* for min-p; >= 1 */
    int top_k;                /* off when 0 or >= vocab */
    float repetition_penalty; /* off when 0 or 1; sign-aware multiplicative */
    int repetition_window;
    float presence_penalty; /* off when 0; additive, once per distinct token in the window */
    int presence_window;
    float frequency_penalty; /* off when 0; additive, per occurrence in the window */
    int frequency_window;
    const int32_t *bias_ids; /* logit bias: ids and additive values (copied at init) */
    const float *bias_values;
    size_t n_bias;
    uint64_t seed;
} bs_sampler_params;

/* mlx-lm's defaults: greedy, windows of 20, min_tokens_to_keep 1. */
void bs_sampler_params_default(bs_sampler_params *p);

typedef struct bs_sampler {
    bs_sampler_params p;
    int32_t *bias_ids;
    float *bias_values;
    size_t vocab;
    float *work;      /* [vocab] processed logits / logprobs */
    int32_t *order;   /* [vocab] scratch for sorting */
    uint32_t *counts; /* [vocab] occurrence counts in a window */
    uint64_t rng[4];
} bs_sampler;

#define BS_TOP_LOGPROBS_MAX 20

typedef struct bs_sample_info {
    int32_t token;
    float logprob; /* log-probability of the token under the model (before filters) */
    int n_top;     /* requested top alternatives filled below */
    int32_t top_ids[BS_TOP_LOGPROBS_MAX];
    float top_logprobs[BS_TOP_LOGPROBS_MAX];
} bs_sample_info;

/* Validates the parameters (ranges, bias ids inside the vocabulary) and allocates. */
boson_status bs_sampler_init(bs_sampler *s, const bs_sampler_params *p, size_t vocab,
                             boson_error *err);
void bs_sampler_free(bs_sampler *s);

/* Applies processors and filters to logits[vocab] given the token history, writing the
 * filtered logprobs (removed tokens are -inf) into out[vocab]. */
void bs_sampler_filter(bs_sampler *s, const float *logits, const int32_t *history, size_t n_history,
                       float *out);

/* Picks the next token. n_top (0..BS_TOP_LOGPROBS_MAX) alternatives with their model
 * logprobs are reported in info when info != NULL. */
int32_t bs_sampler_sample(bs_sampler *s, const float *logits, const int32_t *history,
                          size_t n_history, int n_top, bs_sample_info *info);

/* Uniform double in [0, 1) from the sampler's stream (exposed for tests). */
double bs_sampler_uniform(bs_sampler *s);

#endif
