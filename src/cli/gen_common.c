/* What run and chat share: sampling flags, opening the model, streaming an answer to the
 * terminal with a progress bar and a stats line, Ctrl-C handling. */
#include "cli/cli.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

void bs_cli_install_sigint(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: a blocked read returns EINTR */
    sigaction(SIGINT, &sa, NULL);
}

int bs_cli_interrupted(void)
{
    return interrupted != 0;
}

void bs_cli_clear_interrupt(void)
{
    interrupted = 0;
}

void bs_cli_gen_init(bs_cli_gen *o)
{
    memset(o, 0, sizeof *o);
    boson_sampling_init(&o->samp);
    o->think = BOSON_THINK_DEFAULT;
}

void bs_cli_gen_help(FILE *out)
{
    fprintf(out, "sampling (unset: the model's generation_config.json, else greedy):\n"
                 "  --temp T          temperature (0 = greedy)\n"
                 "  --top-p P         nucleus sampling\n"
                 "  --top-k K         keep the K most likely tokens\n"
                 "  --min-p P         drop tokens below P x the top probability\n"
                 "  --repeat-penalty R  repetition penalty over the last 20 tokens\n"
                 "  --seed N          random seed (same seed, same output)\n"
                 "  --max-tokens N    stop after N tokens (default: the context length)\n"
                 "  --stop TEXT       stop before TEXT (not printed; repeatable, up to 8)\n"
                 "  --ignore-eos      keep going past the model's end-of-sequence tokens\n"
                 "chat template:\n"
                 "  --think, --no-think  switch the template's thinking on / off\n"
                 "  --system TEXT     system message\n"
                 "  --hide-think      do not print the reasoning\n"
                 "other:\n"
                 "  --threads N       math threads (0 = online CPUs, default)\n"
                 "  --chunk N         prefill chunk in tokens (default 256)\n"
                 "  --quiet, -q       no progress, no stats line\n"
                 "  -v                print the load log\n"
                 "  --help, -h        this text\n");
}

static int parse_float(const char *opt, const char *s, float *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v)) {
        fprintf(stderr, "boson: %s: '%s' is not a number\n", opt, s);
        return -1;
    }
    *out = (float)v;
    return 1;
}

int bs_cli_gen_flag(int argc, char **argv, int *i, bs_cli_gen *o)
{
    const char *a = argv[*i];
    int has_val = *i + 1 < argc;
    const char *v = has_val ? argv[*i + 1] : NULL;
    static const char *const with_value[] = {"--temp",  "--top-p",          "--top-k",  "--min-p",
                                             "--seed",  "--max-tokens",     "--system", "--threads",
                                             "--chunk", "--repeat-penalty", "--stop"};
    for (size_t k = 0; k < sizeof with_value / sizeof *with_value; k++)
        if (!strcmp(a, with_value[k]) && !has_val) {
            fprintf(stderr, "boson: %s needs a value\n", a);
            return -1;
        }
    int r = 1, n;
    if (!strcmp(a, "--temp"))
        r = parse_float(a, v, &o->samp.temperature);
    else if (!strcmp(a, "--top-p"))
        r = parse_float(a, v, &o->samp.top_p);
    else if (!strcmp(a, "--min-p"))
        r = parse_float(a, v, &o->samp.min_p);
    else if (!strcmp(a, "--repeat-penalty"))
        r = parse_float(a, v, &o->samp.repetition_penalty);
    else if (!strcmp(a, "--top-k"))
        r = bs_cli_parse_int(a, v, 0, 1 << 30, &o->samp.top_k) ? -1 : 1;
    else if (!strcmp(a, "--seed")) {
        char *end;
        errno = 0;
        long long s = strtoll(v, &end, 10);
        if (errno || end == v || *end || s < 0) {
            fprintf(stderr, "boson: --seed: '%s' is not a non-negative integer\n", v);
            return -1;
        }
        o->samp.seed = s;
    } else if (!strcmp(a, "--max-tokens")) {
        r = bs_cli_parse_int(a, v, 1, 1 << 30, &n) ? -1 : 1;
        o->max_tokens = n;
    } else if (!strcmp(a, "--system"))
        o->system = v;
    else if (!strcmp(a, "--stop")) {
        if (o->n_stop == sizeof o->stop / sizeof *o->stop) {
            fprintf(stderr, "boson: at most %zu --stop strings\n", o->n_stop);
            return -1;
        }
        o->stop[o->n_stop++] = v;
    } else if (!strcmp(a, "--threads"))
        r = bs_cli_parse_int(a, v, 0, 1024, &o->threads) ? -1 : 1;
    else if (!strcmp(a, "--chunk"))
        r = bs_cli_parse_int(a, v, 1, 1 << 20, &o->chunk) ? -1 : 1;
    else if (!strcmp(a, "--think")) {
        o->think = BOSON_THINK_ON;
        return 1;
    } else if (!strcmp(a, "--no-think")) {
        o->think = BOSON_THINK_OFF;
        return 1;
    } else if (!strcmp(a, "--hide-think")) {
        o->hide_think = 1;
        return 1;
    } else if (!strcmp(a, "--ignore-eos")) {
        o->ignore_eos = 1;
        return 1;
    } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
        o->quiet = 1;
        return 1;
    } else if (!strcmp(a, "-v")) {
        o->verbose = 1;
        return 1;
    } else
        return 0;
    if (r > 0)
        (*i)++;
    return r;
}

int bs_cli_open_model(const char *path, const bs_cli_gen *o, boson_engine **eng,
                      boson_session **ses)
{
    int tty = !o->quiet && isatty(2);
    if (tty)
        fprintf(stderr, "loading %s ...", path);
    int rc = bs_cli_open(path, o->threads, o->chunk, o->verbose, eng, ses);
    if (tty)
        fprintf(stderr, "\r\033[K");
    return rc;
}

/* ---- streaming ---- */

typedef struct stream_ctx {
    const bs_cli_gen *o;
    int tty_out, tty_err;
    int in_reasoning; /* printing reasoning (opened the dim style or the <think> frame) */
    int progress_shown;
} stream_ctx;

static void end_reasoning(stream_ctx *c)
{
    if (!c->in_reasoning)
        return;
    c->in_reasoning = 0;
    fputs(c->tty_out ? "\033[0m\n" : "\n</think>\n\n", stdout);
}

static int on_delta(void *user, const boson_delta *d)
{
    stream_ctx *c = user;
    switch (d->kind) {
    case BOSON_DELTA_REASONING:
        if (c->o->hide_think)
            break;
        if (!c->in_reasoning) {
            c->in_reasoning = 1;
            fputs(c->tty_out ? "\033[2m" : "<think>\n", stdout);
        }
        fwrite(d->text, 1, d->len, stdout);
        break;
    case BOSON_DELTA_CONTENT:
        end_reasoning(c);
        fwrite(d->text, 1, d->len, stdout);
        break;
    case BOSON_DELTA_TOOL_CALL_BEGIN:
        end_reasoning(c);
        printf("[tool call %s: ", d->tool_name);
        break;
    case BOSON_DELTA_TOOL_CALL_ARGS: fwrite(d->text, 1, d->len, stdout); break;
    case BOSON_DELTA_TOOL_CALL_END: fputs("]\n", stdout); break;
    }
    fflush(stdout);
    return 0;
}

static int should_cancel(void *user)
{
    (void)user;
    return bs_cli_interrupted();
}

static void on_prefill(void *user, int64_t done, int64_t total)
{
    stream_ctx *c = user;
    if (!c->tty_err || c->o->quiet || total < 256)
        return;
    int w = 30, f = (int)(w * done / (total ? total : 1));
    fprintf(stderr, "\rprefill [%.*s%*s] %lld/%lld", f, "##############################", w - f, "",
            (long long)done, (long long)total);
    c->progress_shown = 1;
    if (done >= total) {
        fprintf(stderr, "\r\033[K");
        c->progress_shown = 0;
    }
}

int bs_cli_stream(boson_session *s, const boson_prompt *p, const bs_cli_gen *o,
                  boson_gen_result *res)
{
    stream_ctx c = {.o = o, .tty_out = isatty(1), .tty_err = isatty(2)};
    boson_gen_options go;
    boson_gen_options_init(&go);
    go.sampling = o->samp;
    go.max_tokens = o->max_tokens;
    go.ignore_eos = o->ignore_eos;
    go.stop = o->stop;
    go.n_stop = o->n_stop;
    if (o->raw) {
        go.parse_reasoning = 0;
        go.parse_tool_calls = 0;
    }
    boson_gen_callbacks cb = {&c, on_delta, NULL, should_cancel, on_prefill};
    boson_gen_result r;
    boson_error err = {0};
    boson_status st = boson_session_generate(s, p, &go, &cb, &r, &err);
    if (c.progress_shown)
        fprintf(stderr, "\r\033[K");
    end_reasoning(&c);
    fflush(stdout);
    if (st != BOSON_OK) {
        fprintf(stderr, "boson: %s\n", err.message);
        return st == BOSON_ERR_INVALID_ARG ? BS_EXIT_USAGE : BS_EXIT_RUNTIME;
    }
    if (!o->quiet) {
        int open_line = r.text_len && r.text[r.text_len - 1] != '\n';
        if (c.tty_out && open_line)
            fputc('\n', stdout);
        fflush(stdout);
        if (!c.tty_out && open_line) /* keep stdout exact; start the stats on a line of its own */
            fputc('\n', stderr);
        fprintf(stderr,
                "%sprefill %lld tok @ %.1f tok/s \xc2\xb7 decode %lld tok @ %.1f tok/s \xc2\xb7 "
                "%.2f GB/s \xc2\xb7 ttft %.3f s \xc2\xb7 %s%s\n",
                r.finish == BOSON_FINISH_CANCELLED ? "[stopped] " : "",
                (long long)(r.prompt_tokens - r.cached_tokens), r.prefill_tok_s,
                (long long)r.completion_tokens, r.decode_tok_s, r.decode_gb_s, r.ttft_s,
                boson_finish_name(r.finish), r.cached_tokens ? " (prefix reused)" : "");
    }
    if (res)
        *res = r;
    else
        boson_gen_result_free(&r);
    return BS_EXIT_OK;
}

/* Offset of the first byte that is not part of a well-formed UTF-8 sequence, or len. */
static size_t utf8_bad_offset(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n;
        unsigned min;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            min = 0x10000;
        } else {
            return i;
        }
        if (len - i <= n)
            return i;
        unsigned cp = c & (0x3fu >> n);
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return i;
            cp = (cp << 6) | (s[i + k] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return i;
        i += n + 1;
    }
    return len;
}

json_t *bs_cli_message(const char *role, const char *text, size_t len, const char *what)
{
    size_t bad = utf8_bad_offset((const unsigned char *)text, len);
    if (bad < len) {
        fprintf(stderr, "boson: %s is not valid UTF-8 (byte %zu)\n", what, bad);
        return NULL;
    }
    json_t *m = json_object();
    json_t *c = json_stringn(text, len);
    if (!m || !c) {
        json_decref(m);
        json_decref(c);
        fprintf(stderr, "boson: %s cannot be used as a message (NUL byte or out of memory)\n",
                what);
        return NULL;
    }
    json_object_set_new(m, "role", json_string(role));
    json_object_set_new(m, "content", c);
    return m;
}
