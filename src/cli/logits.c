/* boson logits: run a token list through the model and print the last position's top-5
 * logits, or write the logits as a .npy file. Also the helpers generate.c shares. */
#include "boson.h"
#include "cli/cli.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bs_cli_parse_tokens(const char *s, int32_t **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    size_t cap = 16, n = 0;
    int32_t *v = malloc(cap * sizeof *v);
    if (!v)
        return -1;
    const char *p = s;
    for (;;) {
        while (*p == ' ')
            p++;
        errno = 0;
        char *end;
        long long x = strtoll(p, &end, 10);
        if (end == p || errno || x < 0 || x > INT32_MAX) {
            fprintf(stderr,
                    "boson: bad token list: item %zu ('%.20s') is not a non-negative "
                    "32-bit integer\n",
                    n + 1, p);
            free(v);
            return -1;
        }
        if (n == cap) {
            int32_t *nv = realloc(v, 2 * cap * sizeof *v);
            if (!nv) {
                free(v);
                return -1;
            }
            v = nv;
            cap *= 2;
        }
        v[n++] = (int32_t)x;
        p = end;
        while (*p == ' ')
            p++;
        if (*p == '\0')
            break;
        if (*p != ',') {
            fprintf(stderr, "boson: bad token list: unexpected '%c' after item %zu\n", *p, n);
            free(v);
            return -1;
        }
        p++;
    }
    *out = v;
    *n_out = n;
    return 0;
}

int bs_cli_check_vocab(const int32_t *t, size_t n, int64_t vocab)
{
    for (size_t i = 0; i < n; i++)
        if (t[i] >= vocab) {
            fprintf(stderr, "boson: token %zu is %ld, outside the vocabulary [0, %lld)\n", i + 1,
                    (long)t[i], (long long)vocab);
            return -1;
        }
    return 0;
}

int bs_cli_write_npy(const char *path, const float *data, size_t rows, size_t cols, int two_d)
{
    char header[128];
    int len;
    if (two_d)
        len =
            snprintf(header, sizeof header,
                     "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu), }", rows, cols);
    else
        len = snprintf(header, sizeof header,
                       "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu,), }", cols);
    /* pad with spaces so that magic(6) + version(2) + len(2) + header ends on 64 bytes,
     * the last byte being '\n' */
    size_t total = 10 + (size_t)len + 1;
    size_t pad = (64 - total % 64) % 64;
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "boson: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t hlen = (size_t)len + pad + 1;
    unsigned char pre[10] = {0x93,
                             'N',
                             'U',
                             'M',
                             'P',
                             'Y',
                             1,
                             0,
                             (unsigned char)(hlen & 0xff),
                             (unsigned char)(hlen >> 8)};
    int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(header, 1, (size_t)len, f) == (size_t)len;
    for (size_t i = 0; ok && i < pad; i++)
        ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF;
    for (size_t i = 0; ok && i < rows * cols; i++) {
        uint32_t u;
        memcpy(&u, &data[i], 4);
        unsigned char b[4] = {(unsigned char)u, (unsigned char)(u >> 8), (unsigned char)(u >> 16),
                              (unsigned char)(u >> 24)};
        ok = fwrite(b, 1, 4, f) == 4;
    }
    if (fclose(f) != 0)
        ok = 0;
    if (!ok) {
        fprintf(stderr, "boson: error writing %s\n", path);
        return -1;
    }
    return 0;
}

void bs_cli_print_stats(const boson_session *s, FILE *out)
{
    boson_stats st;
    boson_session_stats(s, &st);
    fprintf(out,
            "{\"gdn_in\": %llu, \"attn_qkv\": %llu, \"mlp_gate_up\": %llu, "
            "\"shared_gate_up\": %llu, \"router\": %llu, \"expert_gate_up\": %llu, "
            "\"single\": %llu, \"chunks\": %llu, \"tokens\": %llu, \"gdn_layers\": %d, "
            "\"attn_layers\": %d}\n",
            (unsigned long long)st.gdn_in, (unsigned long long)st.attn_qkv,
            (unsigned long long)st.mlp_gate_up, (unsigned long long)st.shared_gate_up,
            (unsigned long long)st.router, (unsigned long long)st.expert_gate_up,
            (unsigned long long)st.single, (unsigned long long)st.chunks,
            (unsigned long long)st.tokens, st.gdn_layers, st.attn_layers);
}

int bs_cli_parse_int(const char *opt, const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s ? s : "", &end, 10);
    if (!s || end == s || *end || errno || v < lo || v > hi) {
        fprintf(stderr, "boson: %s needs an integer in [%d, %d], got '%s'\n", opt, lo, hi,
                s ? s : "");
        return -1;
    }
    *out = (int)v;
    return 0;
}

int bs_cli_open(const char *model, int threads, int chunk, int verbose, boson_engine **eng,
                boson_session **ses)
{
    boson_error err = {0};
    boson_engine_options eo;
    boson_engine_options_init(&eo);
    eo.model_path = model;
    eo.n_threads = threads;
    eo.quiet = !verbose;
    if (boson_engine_open(eng, &eo, &err) != BOSON_OK) {
        fprintf(stderr, "boson: %s\n", err.message);
        return BS_EXIT_LOAD;
    }
    boson_session_options so;
    boson_session_options_init(&so);
    if (chunk > 0)
        so.prefill_chunk = chunk;
    if (boson_session_create(*eng, &so, ses, &err) != BOSON_OK) {
        fprintf(stderr, "boson: %s\n", err.message);
        boson_engine_close(*eng);
        *eng = NULL;
        return BS_EXIT_RUNTIME;
    }
    return BS_EXIT_OK;
}

static void logits_usage(FILE *out)
{
    fprintf(out,
            "usage: boson logits <model-dir> --tokens ID,ID,... [options]\n\n"
            "Runs the tokens through the model (one prefill) and prints the top-5 logits of\n"
            "the last position, or writes logits as a float32 .npy file.\n\n"
            "options:\n"
            "  --tokens LIST   comma-separated token ids (required)\n"
            "  --out FILE      write logits to FILE (.npy): shape (V,) for the last position,\n"
            "                  or (T, V) with --all\n"
            "  --all           every position's logits (needs --out)\n"
            "  --threads N     math threads (0 = online CPUs, default)\n"
            "  --chunk N       prefill batch size in tokens (default 256)\n"
            "  --stats         print weight-dispatch counters as JSON on stderr\n"
            "  -v              print the load log\n"
            "Exit codes: 0 ok, 1 usage, 2 model/load error, 3 runtime error.\n");
}

int bs_cmd_logits(int argc, char **argv)
{
    const char *model = NULL, *tokens_s = NULL, *out_path = NULL;
    int all = 0, threads = 0, chunk = 0, stats = 0, verbose = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            logits_usage(stdout);
            return BS_EXIT_OK;
        } else if (!strcmp(a, "--tokens") && i + 1 < argc) {
            tokens_s = argv[++i];
        } else if (!strcmp(a, "--out") && i + 1 < argc) {
            out_path = argv[++i];
        } else if (!strcmp(a, "--all")) {
            all = 1;
        } else if (!strcmp(a, "--stats")) {
            stats = 1;
        } else if (!strcmp(a, "-v")) {
            verbose = 1;
        } else if (!strcmp(a, "--threads") && i + 1 < argc) {
            if (bs_cli_parse_int(a, argv[++i], 0, 1024, &threads))
                return BS_EXIT_USAGE;
        } else if (!strcmp(a, "--chunk") && i + 1 < argc) {
            if (bs_cli_parse_int(a, argv[++i], 1, 1 << 20, &chunk))
                return BS_EXIT_USAGE;
        } else if (a[0] == '-') {
            fprintf(stderr, "boson logits: unknown or incomplete option '%s'\n", a);
            logits_usage(stderr);
            return BS_EXIT_USAGE;
        } else if (!model) {
            model = a;
        } else {
            fprintf(stderr, "boson logits: unexpected argument '%s'\n", a);
            return BS_EXIT_USAGE;
        }
    }
    if (!model || !tokens_s) {
        fprintf(stderr, "boson logits: %s\n",
                !model ? "no model directory given" : "--tokens is required");
        logits_usage(stderr);
        return BS_EXIT_USAGE;
    }
    if (all && !out_path) {
        fprintf(stderr, "boson logits: --all needs --out FILE\n");
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
    float *logits = NULL;
    if (bs_cli_check_vocab(tok, n, (int64_t)V)) {
        rc = BS_EXIT_USAGE;
        goto done;
    }
    logits = malloc((all ? n : 1) * V * sizeof *logits);
    if (!logits) {
        fprintf(stderr, "boson: out of memory for %zu x %zu logits\n", all ? n : 1, V);
        rc = BS_EXIT_RUNTIME;
        goto done;
    }
    boson_error err = {0};
    if (boson_session_eval(ses, tok, n, logits, all, &err) != BOSON_OK) {
        fprintf(stderr, "boson: %s\n", err.message);
        rc = BS_EXIT_RUNTIME;
        goto done;
    }
    if (stats)
        bs_cli_print_stats(ses, stderr);
    if (out_path) {
        if (bs_cli_write_npy(out_path, logits, all ? n : 1, V, all))
            rc = BS_EXIT_RUNTIME;
    } else {
        /* top-5 of the last position, ties broken by the lower id */
        int used[5] = {-1, -1, -1, -1, -1};
        for (int j = 0; j < 5 && (size_t)j < V; j++) {
            int best = -1;
            for (size_t v = 0; v < V; v++) {
                int taken = 0;
                for (int q = 0; q < j; q++)
                    taken |= used[q] == (int)v;
                if (!taken && (best < 0 || logits[v] > logits[best]))
                    best = (int)v;
            }
            used[j] = best;
            printf("%d %.6f\n", best, (double)logits[best]);
        }
    }
done:
    free(logits);
    free(tok);
    boson_session_free(ses);
    boson_engine_close(eng);
    return rc;
}
