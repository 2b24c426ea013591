/* Subcommands of the boson CLI. Each takes argv starting at the command name. */
#ifndef BOSON_CLI_CLI_H
#define BOSON_CLI_CLI_H

enum { BS_EXIT_OK = 0, BS_EXIT_USAGE = 1, BS_EXIT_LOAD = 2, BS_EXIT_RUNTIME = 3 };

int bs_cmd_inspect(int argc, char **argv);
int bs_cmd_logits(int argc, char **argv);
int bs_cmd_generate(int argc, char **argv);

/* Helpers shared by logits.c and generate.c (they print their own messages). */
#include "boson.h"

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

#endif
