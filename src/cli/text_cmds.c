/* boson tokenize / detokenize / template: the text layer on its own, for debugging prompts. */
#include "cli/cli.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *bs_cli_read_all(FILE *f, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
        if (cap - n < 2) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
    }
    if (buf)
        buf[n] = 0;
    *len = n;
    return buf;
}

static int open_text(const char *arg, boson_engine **eng)
{
    char *path;
    int rc = bs_cli_model_path(arg, &path);
    if (rc)
        return rc;
    boson_error err = {0};
    boson_status st = boson_engine_open_text(eng, path, &err);
    free(path);
    if (st != BOSON_OK) {
        fprintf(stderr, "boson: %s\n", err.message);
        return BS_EXIT_LOAD;
    }
    return BS_EXIT_OK;
}

static int is_help(const char *a)
{
    return !strcmp(a, "--help") || !strcmp(a, "-h");
}

/* ---- tokenize ---- */

static void tokenize_usage(FILE *out)
{
    fprintf(out,
            "usage: boson tokenize <model-dir|tokenizer.json> [--json] [--literal]\n\n"
            "Reads text on stdin (all of it, bytes as they are) and prints its token ids,\n"
            "space-separated on one line, as Hugging Face tokenizers encodes it (no BOS/EOS).\n"
            "  --json      print a JSON array\n"
            "  --literal   never match added tokens (\"<|im_end|>\" stays text)\n"
            "  --help      this text\n"
            "Exit codes: 0 ok, 1 usage, 2 model/load error, 3 runtime error.\n");
}

int bs_cmd_tokenize(int argc, char **argv)
{
    const char *model = NULL;
    int json = 0;
    unsigned flags = 0;
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            tokenize_usage(stdout);
            return BS_EXIT_OK;
        } else if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--literal"))
            flags |= BOSON_TOKENIZE_LITERAL;
        else if (argv[i][0] != '-' && !model)
            model = argv[i];
        else {
            fprintf(stderr, "boson tokenize: unexpected argument '%s'\n", argv[i]);
            tokenize_usage(stderr);
            return BS_EXIT_USAGE;
        }
    }
    if (!model) {
        tokenize_usage(stderr);
        return BS_EXIT_USAGE;
    }
    boson_engine *eng;
    int rc = open_text(model, &eng);
    if (rc)
        return rc;
    size_t len;
    char *text = bs_cli_read_all(stdin, &len);
    int32_t *ids = NULL;
    size_t n = 0;
    boson_error err = {0};
    if (!text || boson_tokenize(eng, text, len, flags, &ids, &n, &err) != BOSON_OK) {
        fprintf(stderr, "boson tokenize: %s\n", text ? err.message : "cannot read stdin");
        rc = BS_EXIT_RUNTIME;
    } else {
        fputs(json ? "[" : "", stdout);
        for (size_t i = 0; i < n; i++)
            printf("%s%ld", i ? (json ? ", " : " ") : "", (long)ids[i]);
        fputs(json ? "]\n" : "\n", stdout);
    }
    boson_free(ids);
    free(text);
    boson_engine_close(eng);
    return rc;
}

/* ---- detokenize ---- */

static void detokenize_usage(FILE *out)
{
    fprintf(out, "usage: boson detokenize <model-dir|tokenizer.json> [ID ...] [--skip-special]\n\n"
                 "Prints the text of token ids given as arguments or on stdin (separated by\n"
                 "spaces, commas or newlines; a JSON array works too), exactly, with no newline\n"
                 "added.\n"
                 "  --skip-special   drop special added tokens\n"
                 "  --help           this text\n"
                 "Exit codes: 0 ok, 1 usage, 2 model/load error, 3 runtime error.\n");
}

/* Parses ids separated by anything that is not a digit or '-'; -1 on a bad number. */
static int parse_ids(const char *s, int32_t **out, size_t *n)
{
    size_t cap = 64, k = 0;
    int32_t *v = malloc(cap * sizeof *v);
    *out = NULL;
    *n = 0;
    if (!v)
        return -1;
    while (*s) {
        if (!isdigit((unsigned char)*s) && *s != '-') {
            s++;
            continue;
        }
        char *end;
        errno = 0;
        long x = strtol(s, &end, 10);
        if (errno || end == s || x < 0 || x > INT32_MAX) {
            free(v);
            return -1;
        }
        if (k == cap) {
            int32_t *nb = realloc(v, cap * 2 * sizeof *v);
            if (!nb) {
                free(v);
                return -1;
            }
            v = nb;
            cap *= 2;
        }
        v[k++] = (int32_t)x;
        s = end;
    }
    *out = v;
    *n = k;
    return 0;
}

int bs_cmd_detokenize(int argc, char **argv)
{
    const char *model = NULL;
    unsigned flags = 0;
    size_t cap = 1;
    char *joined = calloc(1, 1);
    int have_args = 0;
    for (int i = 1; i < argc && joined; i++) {
        if (is_help(argv[i])) {
            free(joined);
            detokenize_usage(stdout);
            return BS_EXIT_OK;
        } else if (!strcmp(argv[i], "--skip-special"))
            flags |= BOSON_DETOKENIZE_SKIP_SPECIAL;
        else if (argv[i][0] == '-' && !isdigit((unsigned char)argv[i][1])) {
            fprintf(stderr, "boson detokenize: unknown option '%s'\n", argv[i]);
            free(joined);
            return BS_EXIT_USAGE;
        } else if (!model)
            model = argv[i];
        else {
            size_t l = strlen(argv[i]);
            char *nb = realloc(joined, cap + l + 1);
            if (!nb)
                break;
            joined = nb;
            strcat(strcat(joined, " "), argv[i]);
            cap += l + 1;
            have_args = 1;
        }
    }
    if (!model || !joined) {
        free(joined);
        detokenize_usage(stderr);
        return BS_EXIT_USAGE;
    }
    if (!have_args) {
        free(joined);
        size_t len;
        joined = bs_cli_read_all(stdin, &len);
    }
    int32_t *ids = NULL;
    size_t n = 0;
    if (!joined || parse_ids(joined, &ids, &n)) {
        fprintf(stderr, "boson detokenize: malformed token id list\n");
        free(joined);
        return BS_EXIT_USAGE;
    }
    free(joined);
    boson_engine *eng;
    int rc = open_text(model, &eng);
    if (rc) {
        free(ids);
        return rc;
    }
    char *text;
    size_t len;
    boson_error err = {0};
    if (boson_detokenize(eng, ids, n, flags, &text, &len, &err) != BOSON_OK) {
        fprintf(stderr, "boson detokenize: %s\n", err.message);
        rc = BS_EXIT_RUNTIME;
    } else {
        fwrite(text, 1, len, stdout);
        boson_free(text);
    }
    free(ids);
    boson_engine_close(eng);
    return rc;
}

/* ---- template ---- */

static void template_usage(FILE *out)
{
    fprintf(out,
            "usage: boson template <model-dir> <conversation.json> [options]\n\n"
            "Prints the prompt the model's chat template renders for an OpenAI-style messages\n"
            "array (or an object with \"messages\" and optionally \"tools\"), exactly, with no\n"
            "newline added.\n"
            "  --tools FILE              OpenAI tools array\n"
            "  --think, --no-think       enable_thinking true / false (default: the template's)\n"
            "  --no-generation-prompt    do not open the assistant's turn\n"
            "  --help                    this text\n"
            "Exit codes: 0 ok, 1 usage, 2 model/load error, 3 runtime error.\n");
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "boson template: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t len;
    char *s = bs_cli_read_all(f, &len);
    fclose(f);
    return s;
}

int bs_cmd_template(int argc, char **argv)
{
    const char *model = NULL, *conv = NULL, *tools_path = NULL;
    boson_chat_options co;
    boson_chat_options_init(&co);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (is_help(a)) {
            template_usage(stdout);
            return BS_EXIT_OK;
        } else if (!strcmp(a, "--tools") && i + 1 < argc)
            tools_path = argv[++i];
        else if (!strcmp(a, "--no-think"))
            co.enable_thinking = BOSON_THINK_OFF;
        else if (!strcmp(a, "--think"))
            co.enable_thinking = BOSON_THINK_ON;
        else if (!strcmp(a, "--no-generation-prompt"))
            co.add_generation_prompt = 0;
        else if (a[0] != '-' && !model)
            model = a;
        else if (a[0] != '-' && !conv)
            conv = a;
        else {
            fprintf(stderr, "boson template: unexpected argument '%s'\n", a);
            template_usage(stderr);
            return BS_EXIT_USAGE;
        }
    }
    if (!model || !conv) {
        template_usage(stderr);
        return BS_EXIT_USAGE;
    }
    char *conv_text = read_file(conv);
    char *tools_text = tools_path ? read_file(tools_path) : NULL;
    if (!conv_text || (tools_path && !tools_text)) {
        free(conv_text);
        free(tools_text);
        return BS_EXIT_USAGE;
    }
    /* {"messages": [...], "tools": [...]} or a bare messages array */
    json_t *root = json_loads(conv_text, 0, NULL);
    char *msgs = NULL, *tools = NULL;
    if (json_is_object(root)) {
        msgs = json_dumps(json_object_get(root, "messages"), JSON_COMPACT | JSON_ENCODE_ANY);
        json_t *t = json_object_get(root, "tools");
        if (t && !tools_text)
            tools = json_dumps(t, JSON_COMPACT | JSON_ENCODE_ANY);
    }
    json_decref(root);
    co.messages_json = msgs ? msgs : conv_text;
    co.tools_json = tools_text ? tools_text : tools;
    boson_engine *eng;
    int rc = open_text(model, &eng);
    if (!rc) {
        char *out;
        size_t len;
        boson_error err = {0};
        if (boson_render_chat(eng, &co, &out, &len, &err) != BOSON_OK) {
            fprintf(stderr, "boson template: %s\n", err.message);
            rc = err.status == BOSON_ERR_INVALID_ARG ? BS_EXIT_USAGE : BS_EXIT_RUNTIME;
        } else {
            fwrite(out, 1, len, stdout);
            boson_free(out);
        }
        boson_engine_close(eng);
    }
    free(msgs);
    free(tools);
    free(conv_text);
    free(tools_text);
    return rc;
}
