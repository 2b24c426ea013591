/* boson — public engine API.
 *
 * Kept narrow on purpose: the CLI and the HTTP server use only this header and never
 * see tensors, kernels or checkpoint internals. Every call returns a status and, on
 * failure, fills a message that names what was wrong and where. Nothing in the library
 * exits the process.
 */
#ifndef BOSON_H
#define BOSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BOSON_VERSION "0.1.0"

typedef enum boson_status {
    BOSON_OK = 0,
    BOSON_ERR_INVALID_ARG, /* caller passed something unusable */
    BOSON_ERR_IO,          /* open/read/mmap failed */
    BOSON_ERR_FORMAT,      /* malformed checkpoint file (safetensors, index) */
    BOSON_ERR_CONFIG,      /* malformed or inconsistent config.json / quantization entry */
    BOSON_ERR_UNSUPPORTED, /* well-formed but not something boson runs */
    BOSON_ERR_NOMEM,       /* allocation failed */
    BOSON_ERR_RUNTIME,     /* failure while computing */
    BOSON_ERR_CANCELLED    /* stopped by the caller */
} boson_status;

/* Error detail filled by every call that can fail. */
typedef struct boson_error {
    boson_status status;
    char message[1024];
} boson_error;

/* Human-readable name of a status ("format error", ...). Never NULL. */
const char *boson_status_name(boson_status status);

/* Opaque handles. */
typedef struct boson_engine boson_engine;
typedef struct boson_session boson_session;

typedef struct boson_engine_options {
    const char *model_path; /* checkpoint directory */
    int n_threads;          /* 0 = number of online CPUs */
    int quiet;              /* no load log on stderr */
} boson_engine_options;

/* Fills options with defaults. */
void boson_engine_options_init(boson_engine_options *options);

/* Opens a checkpoint directory: maps shards, parses the config, resolves the per-tensor
 * quantization plan and the projection dispatch groups. */
boson_status boson_engine_open(boson_engine **out, const boson_engine_options *options,
                               boson_error *err);
void boson_engine_close(boson_engine *engine);

/* Checkpoint report (what `boson inspect` prints): architecture, layer schedule, format of
 * every weight (with counts per format), the dispatch-group plan of every layer, bytes on
 * disk, bytes read per decoded token and the state size per sequence at `ctx` positions.
 * json != 0 writes one JSON document instead of text. */
typedef struct boson_inspect_options {
    int json;
    int64_t ctx;     /* context length for the state-size line (default 4096) */
    int all_tensors; /* text mode: list every weight, not one line per role */
} boson_inspect_options;

boson_status boson_inspect(const char *model_dir, const boson_inspect_options *options, FILE *out,
                           boson_error *err);

#ifdef __cplusplus
}
#endif

#endif /* BOSON_H */
