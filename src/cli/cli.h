/* Subcommands of the boson CLI. Each takes argv starting at the command name. */
#ifndef BOSON_CLI_CLI_H
#define BOSON_CLI_CLI_H

enum { BS_EXIT_OK = 0, BS_EXIT_USAGE = 1, BS_EXIT_LOAD = 2, BS_EXIT_RUNTIME = 3 };

int bs_cmd_inspect(int argc, char **argv);
int bs_cmd_logits(int argc, char **argv);
int bs_cmd_generate(int argc, char **argv);
int bs_cmd_run(int argc, char **argv);
int bs_cmd_chat(int argc, char **argv);
int bs_cmd_bench(int argc, char **argv);
int bs_cmd_tokenize(int argc, char **argv);
int bs_cmd_detokenize(int argc, char **argv);
int bs_cmd_template(int argc, char **argv);
int bs_cmd_serve(int argc, char **argv);

/* Helpers shared by logits.c and generate.c (they print their own messages). */
#include "boson.h"

#include <jansson.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* "1,2,3" -> malloc'd ids; -1 on a malformed list. */
int bs_cli_parse_tokens(const char *s, int32_t **out, size_t *n_out);
/* -1 if some id is >= vocab. */
int bs_cli_check_vocab(const int32_t *t, size_t n, int64_t vocab);
/* float32 little-endian .npy v1.0: shape (rows, cols) if two_d, else (cols,). */
int bs_cli_write_npy(const char *path, const float *data, size_t rows, size_t cols, int two_d);
int bs_cli_parse_int(const char *opt, const char *s, int lo, int hi, int *out);
/* Opens engine + session; returns an exit code. */
int bs_cli_open(const char *model, int threads, int chunk, int verbose, boson_engine **eng,
                boson_session **ses);
void bs_cli_print_stats(const boson_session *s, FILE *out);

/* ---- run / chat / bench helpers (gen_common.c, model_arg.c) ---- */

/* Resolves a model argument (directory or Hugging Face id); NULL means the bundled model
 * (models/boson-tiny-4bit beside the executable's ../ or in the current directory). Prints
 * the error and returns an exit code; *path (free()) on success. */
int bs_cli_model_path(const char *arg, char **path);

/* Options shared by run and chat. */
typedef struct bs_cli_gen {
    boson_sampling samp;
    int64_t max_tokens;
    boson_think think;
    const char *system;
    int threads, chunk, quiet, raw, hide_think, verbose;
    int ignore_eos;      /* the model's eos ids do not stop generation */
    const char *stop[8]; /* --stop strings */
    size_t n_stop;
} bs_cli_gen;

void bs_cli_gen_init(bs_cli_gen *o);
/* Consumes argv[*i] (and its value) if it is a shared option: 1 consumed, 0 not one, -1 bad
 * value (message printed). */
int bs_cli_gen_flag(int argc, char **argv, int *i, bs_cli_gen *o);
/* Help text of the shared options. */
void bs_cli_gen_help(FILE *out);

/* Opens engine + session on the resolved path (progress line on a TTY); exit code. */
int bs_cli_open_model(const char *path, const bs_cli_gen *o, boson_engine **eng,
                      boson_session **ses);

/* Streams one generation to stdout (reasoning dimmed on a TTY, framed by <think> tags
 * otherwise, hidden with hide_think; raw output as is), with a prefill progress bar and the
 * stats line on stderr. Ctrl-C (SIGINT) cancels it. Returns an exit code; *res is filled
 * when non-NULL (caller frees). */
int bs_cli_stream(boson_session *s, const boson_prompt *p, const bs_cli_gen *o,
                  boson_gen_result *res);

/* SIGINT sets a flag that the stream's cancel callback reads. */
/* A chat message {"role", "content"} for text typed or passed by the user; NULL (after
 * printing "boson: <what> is not valid UTF-8 (byte N)") when the text is not UTF-8. */
json_t *bs_cli_message(const char *role, const char *text, size_t len, const char *what);

/* All of f into a NUL-terminated malloc'd buffer (*len without the NUL); NULL if out of memory. */
char *bs_cli_read_all(FILE *f, size_t *len);

void bs_cli_install_sigint(void);
int bs_cli_interrupted(void);
void bs_cli_clear_interrupt(void);

#endif
