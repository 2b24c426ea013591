/* Opening a checkpoint directory: config, shards, per-tensor plan. */
#ifndef BOSON_ENGINE_LOAD_H
#define BOSON_ENGINE_LOAD_H

#include "boson.h"
#include "format/checkpoint.h"
#include "format/config.h"
#include "model/plan.h"

typedef struct bs_loaded {
    bs_config cfg;
    bs_checkpoint ck;
    bs_model_plan plan;
    double open_seconds; /* wall time of the whole open */
} bs_loaded;

/* Reads the config, maps the shards and builds the plan (BOSON_SEPARATE_GDN_PROJ is read
 * from the environment). Errors are prefixed with the directory. */
boson_status bs_load(const char *dir, bs_loaded *out, boson_error *err);
void bs_loaded_free(bs_loaded *l);

/* The load log: one summary block (shards, skipped tensors, layout, GDN fusion line,
 * unused quantization entries). */
void bs_loaded_log(const bs_loaded *l, FILE *out);

#endif
