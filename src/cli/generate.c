/* boson generate: greedy decoding from a token list; prints the generated ids. With
 * --check-restore it also proves that snapshot/restore is exact: the decode is replayed
 * from a light and from a full snapshot of the post-prefill state and every step's logits
 * must match bit for bit. */
#include "boson.h"
#include "cli/cli.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void generate_usage(FILE *out)
{
    fprintf(out,
            "usage: boson generate <model-dir> --tokens ID,ID,... [-n N] [--greedy] [options]\n\n"
            "Prefills the tokens and decodes N more greedily (argmax, lowest id on ties);\n"
            "prints the generated ids comma-separated.\n\n"
            "options:\n"
            "  --tokens LIST     comma-separated prompt token ids (required)\n"
            "  -n N              tokens to generate (default 32)\n"
            "  --greedy          greedy decoding (the only mode of this command)\n"
            "  --out FILE        write the logits each token was chosen from, (N, V) .npy\n"
            "  --check-restore   replay the decode from light and full snapshots taken after\n"
            "                    the prefill and require bit-identical logits (exit 3 if not)\n"
            "  --threads N       math threads (0 = online CPUs, default)\n"
            "  --chunk N         prefill batch size in tokens (default 256)\n"
            "  --stats           print weight-dispatch counters as JSON on stderr\n"
            "  --timing          print prefill and decode wall times as one JSON line on stderr\n"
            "                    {\"timing\": {...}} (decode = the N-1 steps after the prefill)\n"
            "  -v                print the load log\n"
            "Exit codes: 0 ok, 1 usage, 2 model/load error, 3 runtime error.\n");
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Wall times of one run: prefill, and each decode step (one boson_session_eval of one
 * token; step_s[i] is step i+1 of decode()). */
typedef struct gen_timing {
    double prefill_s;
    double *step_s; /* [n_gen - 1] or NULL when not timing */
} gen_timing;

/* {"timing": {...}} on one line: totals, the decode rate, and the min / median step (the
 * median is robust to other load on the machine). */
static void print_timing(const gen_timing *tm, size_t n_prompt, int n_gen, FILE *out)
{
    size_t steps = n_gen > 1 ? (size_t)n_gen - 1 : 0;
    double total = 0, min = 0, med = 0;
    for (size_t i = 0; i < steps; i++)
        total += tm->step_s[i];
    if (steps) {
        qsort(tm->step_s, steps, sizeof *tm->step_s, cmp_double);
        min = tm->step_s[0];
        med = steps % 2 ? tm->step_s[steps / 2]
                        : 0.5 * (tm->step_s[steps / 2 - 1] + tm->step_s[steps / 2]);
    }
    fprintf(out,
            "{\"timing\": {\"prompt_tokens\": %zu, \"prefill_s\": %.6f, \"decode_steps\": %zu, "
            "\"decode_s\": %.6f, \"decode_tok_s\": %.4f, \"step_min_s\": %.6f, "
            "\"step_median_s\": %.6f}}\n",
            n_prompt, tm->prefill_s, steps, total, total > 0 ? (double)steps / total : 0.0, min,
            med);
}

static int32_t argmax(const float *x, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return (int32_t)best;
}

/* Decodes n tokens starting from logits `first` (the prefill's last row). If forced is
 * non-NULL the tokens fed back are forced[i] instead of the argmax. steps [n, V] receives
 * each step's logits, out[n] the argmax tokens. */
static int decode(boson_session *s, const float *first, size_t V, int n, const int32_t *forced,
                  float *steps, int32_t *out, double *step_s)
{
    boson_error err = {0};
    memcpy(steps, first, V * sizeof *steps);
    for (int i = 0; i < n; i++) {
        float *row = steps + (size_t)i * V;
        out[i] = argmax(row, V);
        if (i + 1 < n) {
            int32_t t = forced ? forced[i] : out[i];
            double t0 = step_s ? now_s() : 0;
            if (boson_session_eval(s, &t, 1, row + V, 0, &err) != BOSON_OK) {
                fprintf(stderr, "boson: decode step %d: %s\n", i + 1, err.message);
                return -1;
            }
            if (step_s)
                step_s[i] = now_s() - t0;
        }
    }
    return 0;
}

static int check_restore(boson_session *s, const float *first, size_t V, int n, int32_t *gen,
                         float *steps)
{
    boson_error err = {0};
    boson_snapshot *snaps[2] = {NULL, NULL}; /* light, full */
    float *again = malloc((size_t)n * V * sizeof *again);
    int32_t *gen2 = malloc((size_t)n * sizeof *gen2);
    int64_t pos0 = boson_session_position(s);
    int rc = -1;
    if (!again || !gen2) {
        fprintf(stderr, "boson: out of memory\n");
        goto out;
    }
    for (int k = 0; k < 2; k++)
        if (boson_session_snapshot(s, k, &snaps[k], &err) != BOSON_OK) {
            fprintf(stderr, "boson: snapshot: %s\n", err.message);
            goto out;
        }
    if (decode(s, first, V, n, NULL, steps, gen, NULL))
        goto out;
    for (int k = 0; k < 2; k++) {
        const char *what = k ? "full" : "light";
        if (boson_session_restore(s, snaps[k], &err) != BOSON_OK) {
            fprintf(stderr, "boson: restore (%s): %s\n", what, err.message);
            goto out;
        }
        if (boson_session_position(s) != pos0) {
            fprintf(stderr, "boson: restore (%s): position %lld, expected %lld\n", what,
                    (long long)boson_session_position(s), (long long)pos0);
            goto out;
        }
        if (decode(s, first, V, n, gen, again, gen2, NULL))
            goto out;
        for (int i = 0; i < n; i++)
            if (memcmp(again + (size_t)i * V, steps + (size_t)i * V, V * sizeof *again)) {
                fprintf(stderr,
                        "boson: restore (%s): logits of decode step %d differ after restoring\n",
                        what, i);
                goto out;
            }
    }
    fprintf(stderr, "restore: identical logits over %d steps (light and full snapshots)\n", n);
    rc = 0;
out:
    for (int k = 0; k < 2; k++)
        boson_session_free_snapshot(snaps[k]);
    free(again);
    free(gen2);
    return rc;
}

int bs_cmd_generate(int argc, char **argv)
{
    const char *model = NULL, *tokens_s = NULL, *out_path = NULL;
    int n_gen = 32, threads = 0, chunk = 0, stats = 0, verbose = 0, check = 0, timing = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            generate_usage(stdout);
            return BS_EXIT_OK;
        } else if (!strcmp(a, "--tokens") && i + 1 < argc) {
            tokens_s = argv[++i];
        } else if (!strcmp(a, "--out") && i + 1 < argc) {
            out_path = argv[++i];
        } else if (!strcmp(a, "-n") && i + 1 < argc) {
            if (bs_cli_parse_int(a, argv[++i], 1, 1 << 20, &n_gen))
                return BS_EXIT_USAGE;
        } else if (!strcmp(a, "--greedy")) {
            /* the only mode */
        } else if (!strcmp(a, "--check-restore")) {
            check = 1;
        } else if (!strcmp(a, "--stats")) {
            stats = 1;
        } else if (!strcmp(a, "--timing")) {
            timing = 1;
        } else if (!strcmp(a, "-v")) {
            verbose = 1;
        } else if (!strcmp(a, "--threads") && i + 1 < argc) {
            if (bs_cli_parse_int(a, argv[++i], 0, 1024, &threads))
                return BS_EXIT_USAGE;
        } else if (!strcmp(a, "--chunk") && i + 1 < argc) {
            if (bs_cli_parse_int(a, argv[++i], 1, 1 << 20, &chunk))
                return BS_EXIT_USAGE;
        } else if (a[0] == '-') {
            fprintf(stderr, "boson generate: unknown or incomplete option '%s'\n", a);
            generate_usage(stderr);
            return BS_EXIT_USAGE;
        } else if (!model) {
            model = a;
        } else {
            fprintf(stderr, "boson generate: unexpected argument '%s'\n", a);
            return BS_EXIT_USAGE;
        }
    }
    if (!model || !tokens_s) {
        fprintf(stderr, "boson generate: %s\n",
                !model ? "no model directory given" : "--tokens is required");
        generate_usage(stderr);
        return BS_EXIT_USAGE;
    }
    int32_t *tok;
    size_t n;
    if (bs_cli_parse_tokens(tokens_s, &tok, &n))
        return BS_EXIT_USAGE;
    boson_engine *eng;
    boson_session *ses;
    int rc = bs_cli_open(model, threads, chunk, verbose, &eng, &ses);
    if (rc != BS_EXIT_OK) {
        free(tok);
        return rc;
    }
    size_t V = (size_t)boson_engine_vocab_size(eng);
    float *first = NULL, *steps = NULL;
    int32_t *gen = NULL;
    gen_timing tm = {0, NULL};
    boson_error err = {0};
    if (bs_cli_check_vocab(tok, n, (int64_t)V)) {
        rc = BS_EXIT_USAGE;
        goto done;
    }
    first = malloc(V * sizeof *first);
    steps = malloc((size_t)n_gen * V * sizeof *steps);
    gen = malloc((size_t)n_gen * sizeof *gen);
    if (timing)
        tm.step_s = calloc((size_t)n_gen, sizeof *tm.step_s);
    if (!first || !steps || !gen || (timing && !tm.step_s)) {
        fprintf(stderr, "boson: out of memory for %d x %zu logits\n", n_gen, V);
        rc = BS_EXIT_RUNTIME;
        goto done;
    }
    double t0 = now_s();
    /* touch the logits rows now, so that the timed steps do not pay their page faults */
    memset(steps, 0, (size_t)n_gen * V * sizeof *steps);
    if (boson_session_eval(ses, tok, n, first, 0, &err) != BOSON_OK) {
        fprintf(stderr, "boson: prefill: %s\n", err.message);
        rc = BS_EXIT_RUNTIME;
        goto done;
    }
    tm.prefill_s = now_s() - t0;
    if (check) {
        if (check_restore(ses, first, V, n_gen, gen, steps))
            rc = BS_EXIT_RUNTIME;
    } else if (decode(ses, first, V, n_gen, NULL, steps, gen, tm.step_s)) {
        rc = BS_EXIT_RUNTIME;
    }
    if (rc == BS_EXIT_OK) {
        for (int i = 0; i < n_gen; i++)
            printf("%s%d", i ? "," : "", (int)gen[i]);
        printf("\n");
        if (stats)
            bs_cli_print_stats(ses, stderr);
        if (timing && !check)
            print_timing(&tm, n, n_gen, stderr);
        if (out_path && bs_cli_write_npy(out_path, steps, (size_t)n_gen, V, 1))
            rc = BS_EXIT_RUNTIME;
    }
done:
    free(tm.step_s);
    free(first);
    free(steps);
    free(gen);
    free(tok);
    boson_session_free(ses);
    boson_engine_close(eng);
    return rc;
}
