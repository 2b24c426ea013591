/* boson_sampling -> bs_sampler_params with generation_config defaults. */
#include "engine/sampling.h"

#include "base/error.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

void boson_sampling_init(boson_sampling *s)
{
    memset(s, 0, sizeof *s);
    s->temperature = NAN;
    s->top_p = NAN;
    s->min_p = NAN;
    s->top_k = -1;
    s->repetition_penalty = NAN;
    s->presence_penalty = NAN;
    s->frequency_penalty = NAN;
    s->penalty_window = -1;
    s->seed = -1;
}

/* The option, else the default, else the fallback. */
static float pickf(float opt, float def, float fallback)
{
    if (!isnan(opt))
        return opt;
    return isnan(def) ? fallback : def;
}

static int picki(int opt, int def, int fallback)
{
    if (opt >= 0)
        return opt;
    return def >= 0 ? def : fallback;
}

static uint64_t os_seed(void)
{
    uint64_t s = 0;
    if (getrandom(&s, sizeof s, 0) != (ssize_t)sizeof s) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        s = (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec;
    }
    return s >> 1; /* representable as a non-negative int64 */
}

boson_status bs_sampling_resolve(const boson_sampling *opt, const boson_sampling *defaults,
                                 bs_sampler_params *p, uint64_t *seed_out, boson_error *err)
{
    boson_sampling none;
    boson_sampling_init(&none);
    if (!opt)
        opt = &none;
    if (!defaults)
        defaults = &none;
    bs_sampler_params_default(p);
    p->temperature = pickf(opt->temperature, defaults->temperature, 0.0f);
    p->top_p = pickf(opt->top_p, defaults->top_p, 1.0f);
    p->min_p = pickf(opt->min_p, defaults->min_p, 0.0f);
    p->top_k = picki(opt->top_k, defaults->top_k, 0);
    p->repetition_penalty = pickf(opt->repetition_penalty, defaults->repetition_penalty, 1.0f);
    p->presence_penalty = pickf(opt->presence_penalty, defaults->presence_penalty, 0.0f);
    p->frequency_penalty = pickf(opt->frequency_penalty, defaults->frequency_penalty, 0.0f);
    int window = picki(opt->penalty_window, defaults->penalty_window, 20);
    p->repetition_window = p->presence_window = p->frequency_window = window;
    if (!(p->temperature >= 0) || !isfinite(p->temperature))
        return bs_error_set(err, BOSON_ERR_INVALID_ARG,
                            "sampling: temperature %g must be a finite number >= 0",
                            (double)p->temperature);
    if (!(p->top_p >= 0 && p->top_p <= 1))
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "sampling: top_p %g outside [0, 1]",
                            (double)p->top_p);
    if (!(p->min_p >= 0 && p->min_p <= 1))
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "sampling: min_p %g outside [0, 1]",
                            (double)p->min_p);
    if (!isfinite(p->repetition_penalty) || p->repetition_penalty < 0)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG,
                            "sampling: repetition_penalty %g must be finite and >= 0",
                            (double)p->repetition_penalty);
    if (!isfinite(p->presence_penalty) || !isfinite(p->frequency_penalty))
        return bs_error_set(err, BOSON_ERR_INVALID_ARG,
                            "sampling: presence/frequency penalties must be finite");
    if (opt->top_logprobs < 0 || opt->top_logprobs > BS_TOP_LOGPROBS_MAX)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "sampling: top_logprobs %d outside 0..%d",
                            opt->top_logprobs, BS_TOP_LOGPROBS_MAX);
    if (opt->n_logit_bias && (!opt->logit_bias_ids || !opt->logit_bias_values))
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "sampling: logit bias arrays missing");
    p->bias_ids = opt->logit_bias_ids;
    p->bias_values = opt->logit_bias_values;
    p->n_bias = opt->n_logit_bias;
    p->seed = opt->seed >= 0 ? (uint64_t)opt->seed : os_seed();
    *seed_out = p->seed;
    return BOSON_OK;
}
