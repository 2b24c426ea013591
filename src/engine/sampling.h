/* Public sampling options (boson_sampling, with "unset" values) resolved against the model's
 * generation_config.json defaults into sampler parameters. */
#ifndef BOSON_ENGINE_SAMPLING_H
#define BOSON_ENGINE_SAMPLING_H

#include "boson.h"
#include "engine/sampler.h"

/* Fills p from opt: set fields win, unset ones take defaults' value when set there, else
 * mlx-lm's default. Validates ranges (temperature >= 0, top_p in [0, 1], min_p in [0, 1],
 * top_k >= 0, penalties finite, window >= 0, top_logprobs in 0..20), naming the field.
 * *seed_out is the seed used: opt's, or one drawn from the OS when unset. Bias arrays are
 * borrowed (bs_sampler_init copies them). */
boson_status bs_sampling_resolve(const boson_sampling *opt, const boson_sampling *defaults,
                                 bs_sampler_params *p, uint64_t *seed_out, boson_error *err);

#endif
