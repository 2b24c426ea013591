/* boson bench: prefill throughput at several prompt lengths, decode throughput, the weight
 * bytes read per token and the achieved GB/s against a memory bandwidth measured here (a
 * multi-threaded read of a large buffer). */
#include "cli/cli.h"

#include <jansson.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void bench_usage(FILE *out)
{
    fprintf(out,
            "usage: boson bench <model> [options]\n\n"
            "Measures prefill tok/s at 128, 512 and 2048 prompt tokens (capped by the context\n"
            "length), decode tok/s after a 128-token prompt, the weight bytes read per decoded\n"
            "token (from the quantization plan), the achieved GB/s and its share of the memory\n"
            "bandwidth measured in-process (threads reading a large buffer).\n\n"
            "options:\n"
            "  --sizes A,B,...   prefill lengths (default 128,512,2048)\n"
            "  --decode N        decoded tokens (default 64)\n"
            "  --threads N       math threads (0 = online CPUs, default)\n"
            "  --chunk N         prefill chunk in tokens (default 512)\n"
            "  --mem-mib N       buffer of the bandwidth test (default 1024)\n"
            "  --json            one JSON object with the keys: model, threads, bytes_per_token,\n"
            "                    prefill (list of {tokens, seconds, tok_s}), decode ({tokens,\n"
            "                    seconds, tok_s, gb_s}), mem_bandwidth_gb_s, bandwidth_pct\n"
            "  --help            this text\n"
            "Exit codes: 0 ok, 1 usage, 2 model/load error, 3 runtime error.\n");
}

typedef struct bw_arg {
    const uint64_t *p;
    size_t n;
    uint64_t sum;
} bw_arg;

/* Sum of n words with wide vector loads (AVX-512 or AVX2 when the CPU has them): scalar loads top
 * out well below what the memory system delivers, and the bound must be the real one. */
typedef uint64_t bw_v4 __attribute__((vector_size(32)));

__attribute__((target("avx2"))) static uint64_t bw_sum_avx2(const uint64_t *p, size_t n)
{
    bw_v4 a0 = {0, 0, 0, 0}, a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        bw_v4 x0, x1, x2, x3;
        memcpy(&x0, p + i, 32);
        memcpy(&x1, p + i + 4, 32);
        memcpy(&x2, p + i + 8, 32);
        memcpy(&x3, p + i + 12, 32);
        a0 += x0;
        a1 += x1;
        a2 += x2;
        a3 += x3;
    }
    a0 += a1 + a2 + a3;
    uint64_t s = a0[0] + a0[1] + a0[2] + a0[3];
    for (; i < n; i++)
        s += p[i];
    return s;
}

typedef uint64_t bw_v8 __attribute__((vector_size(64)));

__attribute__((target("avx512f"))) static uint64_t bw_sum_avx512(const uint64_t *p, size_t n)
{
    bw_v8 a0 = {0}, a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        bw_v8 x0, x1, x2, x3;
        memcpy(&x0, p + i, 64);
        memcpy(&x1, p + i + 8, 64);
        memcpy(&x2, p + i + 16, 64);
        memcpy(&x3, p + i + 24, 64);
        a0 += x0;
        a1 += x1;
        a2 += x2;
        a3 += x3;
    }
    a0 += a1 + a2 + a3;
    uint64_t s = 0;
    for (int k = 0; k < 8; k++)
        s += a0[k];
    for (; i < n; i++)
        s += p[i];
    return s;
}

static uint64_t bw_sum_plain(const uint64_t *p, size_t n)
{
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += p[i];
        s1 += p[i + 1];
        s2 += p[i + 2];
        s3 += p[i + 3];
    }
    for (; i < n; i++)
        s0 += p[i];
    return s0 + s1 + s2 + s3;
}

static void *bw_read(void *v)
{
    bw_arg *a = v;
    if (__builtin_cpu_supports("avx512f"))
        a->sum = bw_sum_avx512(a->p, a->n);
    else if (__builtin_cpu_supports("avx2"))
        a->sum = bw_sum_avx2(a->p, a->n);
    else
        a->sum = bw_sum_plain(a->p, a->n);
    return NULL;
}

/* Best of 3 reads of a buffer of mib MiB by nt threads, in GB/s (0 on failure). */
static double measure_bandwidth(size_t mib, int nt)
{
    size_t n = mib * (1u << 20) / sizeof(uint64_t);
    uint64_t *buf = malloc(n * sizeof *buf);
    if (!buf || nt < 1)
        return 0;
    for (size_t i = 0; i < n; i++)
        buf[i] = i;
    pthread_t *th = calloc((size_t)nt, sizeof *th);
    bw_arg *args = calloc((size_t)nt, sizeof *args);
    double best = 0;
    volatile uint64_t sink = 0;
    for (int rep = 0; th && args && rep < 5; rep++) {
        double t0 = now_s();
        for (int k = 0; k < nt; k++) {
            size_t b = n * (size_t)k / (size_t)nt, e = n * (size_t)(k + 1) / (size_t)nt;
            args[k] = (bw_arg){buf + b, e - b, 0};
            if (pthread_create(&th[k], NULL, bw_read, &args[k]))
                bw_read(&args[k]), th[k] = 0;
        }
        for (int k = 0; k < nt; k++)
            if (th[k])
                pthread_join(th[k], NULL);
        double dt = now_s() - t0;
        for (int k = 0; k < nt; k++)
            sink += args[k].sum;
        double gbs = (double)(n * sizeof *buf) / dt / 1e9;
        if (gbs > best)
            best = gbs;
    }
    (void)sink;
    free(th);
    free(args);
    free(buf);
    return best;
}

static int parse_sizes(const char *s, int *sizes, int *n)
{
    *n = 0;
    while (*s && *n < 16) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > 1 << 20)
            return -1;
        sizes[(*n)++] = (int)v;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return -1;
    }
    if (*s) /* more than 16 sizes: say so rather than drop them */
        return -1;
    return *n ? 0 : -1;
}

int bs_cmd_bench(int argc, char **argv)
{
    const char *model = NULL;
    int sizes[16] = {128, 512, 2048}, n_sizes = 3, n_decode = 64, threads = 0, chunk = 512;
    int json = 0, mem_mib = 1024;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            bench_usage(stdout);
            return BS_EXIT_OK;
        } else if (!strcmp(a, "--json"))
            json = 1;
        else if (!strcmp(a, "--sizes") && has) {
            if (parse_sizes(argv[++i], sizes, &n_sizes)) {
                fprintf(
                    stderr,
                    "boson bench: --sizes: bad list '%s' (1 to 16 token counts, comma-separated)\n",
                    argv[i]);
                return BS_EXIT_USAGE;
            }
        } else if (!strcmp(a, "--decode") && has) {
            if (bs_cli_parse_int(a, argv[++i], 1, 1 << 20, &n_decode))
                return BS_EXIT_USAGE;
        } else if (!strcmp(a, "--threads") && has) {
            if (bs_cli_parse_int(a, argv[++i], 0, 1024, &threads))
                return BS_EXIT_USAGE;
        } else if (!strcmp(a, "--chunk") && has) {
            if (bs_cli_parse_int(a, argv[++i], 1, 1 << 20, &chunk))
                return BS_EXIT_USAGE;
        } else if (!strcmp(a, "--mem-mib") && has) {
            if (bs_cli_parse_int(a, argv[++i], 1, 1 << 16, &mem_mib))
                return BS_EXIT_USAGE;
        } else if (a[0] != '-' && !model)
            model = a;
        else {
            fprintf(stderr, "boson bench: unexpected argument '%s'\n", a);
            bench_usage(stderr);
            return BS_EXIT_USAGE;
        }
    }
    if (!model) {
        bench_usage(stderr);
        return BS_EXIT_USAGE;
    }
    char *path;
    int rc = bs_cli_model_path(model, &path);
    if (rc)
        return rc;
    boson_engine *eng;
    boson_session *ses;
    rc = bs_cli_open(path, threads, chunk, 0, &eng, &ses);
    free(path);
    if (rc)
        return rc;
    boson_model_info info;
    boson_engine_info(eng, &info);
    int64_t V = info.vocab_size, ctx = info.context_length > 0 ? info.context_length : 1 << 30;
    int max_len = 2048 + n_decode;
    for (int k = 0; k < n_sizes; k++)
        if (sizes[k] > max_len)
            max_len = sizes[k];
    int32_t *toks = malloc((size_t)max_len * sizeof *toks);
    float *logits = malloc((size_t)V * sizeof *logits);
    double pre_s[16] = {0};
    int pre_n[16] = {0};
    double dec_s = 0;
    int dec_n = 0;
    boson_error err = {0};
    if (!toks || !logits) {
        fprintf(stderr, "boson bench: out of memory\n");
        rc = BS_EXIT_RUNTIME;
    }
    for (int i = 0; !rc && i < max_len; i++) /* a fixed spread of ids over the vocabulary */
        toks[i] = (int32_t)(((uint64_t)i * 7919u + 11u) % (uint64_t)V);
    for (int k = 0; !rc && k < n_sizes; k++) {
        int n = sizes[k] < ctx - 1 ? sizes[k] : (int)(ctx - 1);
        boson_session_reset(ses);
        double t0 = now_s();
        if (boson_session_eval(ses, toks, (size_t)n, logits, 0, &err) != BOSON_OK)
            rc = BS_EXIT_RUNTIME;
        pre_s[k] = now_s() - t0;
        pre_n[k] = n;
    }
    if (!rc) {
        int n0 = 128 < ctx - n_decode - 1 ? 128 : 1;
        boson_session_reset(ses);
        if (boson_session_eval(ses, toks, (size_t)n0, logits, 0, &err) != BOSON_OK)
            rc = BS_EXIT_RUNTIME;
        double t0 = now_s();
        for (int i = 0; !rc && i < n_decode && n0 + i + 1 < ctx; i++, dec_n++)
            if (boson_session_eval(ses, &toks[n0 + i], 1, logits, 0, &err) != BOSON_OK)
                rc = BS_EXIT_RUNTIME;
        dec_s = now_s() - t0;
    }
    if (rc == BS_EXIT_RUNTIME && err.message[0])
        fprintf(stderr, "boson bench: %s\n", err.message);
    double bw = rc ? 0 : measure_bandwidth((size_t)mem_mib, info.n_threads);
    double dec_tps = dec_s > 0 ? dec_n / dec_s : 0;
    double gbs = (double)info.bytes_per_token * dec_tps / 1e9;
    double pct = bw > 0 ? 100.0 * gbs / bw : 0;
    if (!rc && json) {
        json_t *id = json_string(info.model_id ? info.model_id : "");
        char *id_json = id ? json_dumps(id, JSON_ENCODE_ANY) : NULL;
        printf("{\"model\": %s, \"threads\": %d, \"bytes_per_token\": %llu, \"prefill\": [",
               id_json ? id_json : "null", info.n_threads,
               (unsigned long long)info.bytes_per_token);
        free(id_json);
        json_decref(id);
        for (int k = 0; k < n_sizes; k++)
            printf("%s{\"tokens\": %d, \"seconds\": %.6f, \"tok_s\": %.3f}", k ? ", " : "",
                   pre_n[k], pre_s[k], pre_s[k] > 0 ? pre_n[k] / pre_s[k] : 0);
        printf("], \"decode\": {\"tokens\": %d, \"seconds\": %.6f, \"tok_s\": %.3f, \"gb_s\": "
               "%.3f}, \"mem_bandwidth_gb_s\": %.3f, \"bandwidth_pct\": %.2f}\n",
               dec_n, dec_s, dec_tps, gbs, bw, pct);
    } else if (!rc) {
        printf("model %s · %d threads · %.1f MB read per token\n", info.model_id, info.n_threads,
               (double)info.bytes_per_token / 1e6);
        for (int k = 0; k < n_sizes; k++)
            printf("prefill %5d tok  %9.1f tok/s  (%.3f s)\n", pre_n[k],
                   pre_s[k] > 0 ? pre_n[k] / pre_s[k] : 0, pre_s[k]);
        printf("decode  %5d tok  %9.1f tok/s  %.2f GB/s  = %.1f%% of %.1f GB/s measured\n", dec_n,
               dec_tps, gbs, pct, bw);
    }
    free(toks);
    free(logits);
    boson_session_free(ses);
    boson_engine_close(eng);
    return rc;
}
