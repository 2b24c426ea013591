/* boson run: one streamed answer to a prompt (argument or stdin), through the chat template
 * unless --raw. */
#include "cli/cli.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void run_usage(FILE *out)
{
    fprintf(out, "usage: boson run [<model>] [prompt...] [options]\n\n"
                 "Answers one prompt, streamed to stdout. <model> is a checkpoint directory or a\n"
                 "Hugging Face id (org/name) in the local Hugging Face cache; without it the\n"
                 "bundled models/boson-tiny-4bit is used (a single argument is the model when it\n"
                 "exists or holds a '/' and no blank, else the prompt). The prompt comes from\n"
                 "the argument, "
                 "else from stdin. The chat template is applied unless --raw.\n\n"
                 "  --raw             feed the prompt text as is, print the raw output\n"
                 "  --tokens LIST     prompt as comma-separated token ids (implies --raw)\n");
    bs_cli_gen_help(out);
    fprintf(out, "Exit codes: 0 ok, 1 usage, 2 model/load error, 3 runtime error.\n");
}

/* messages JSON for [system], user; NULL (reported) when a text is not UTF-8. */
static char *messages_for(const char *system, const char *user, size_t user_len)
{
    json_t *m = json_array();
    json_t *sys = system ? bs_cli_message("system", system, strlen(system), "--system") : NULL;
    json_t *usr = bs_cli_message("user", user, user_len, "the prompt");
    if ((system && !sys) || !usr) {
        json_decref(sys);
        json_decref(usr);
        json_decref(m);
        return NULL;
    }
    if (sys)
        json_array_append_new(m, sys);
    json_array_append_new(m, usr);
    char *s = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    return s;
}

int bs_cmd_run(int argc, char **argv)
{
    bs_cli_gen o;
    bs_cli_gen_init(&o);
    const char *pos[2] = {NULL, NULL};
    int n_pos = 0, first_prompt = -1;
    const char *tokens_arg = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            run_usage(stdout);
            return BS_EXIT_OK;
        }
        if (!strcmp(a, "--raw")) {
            o.raw = 1;
            continue;
        }
        if (!strcmp(a, "--tokens") && i + 1 < argc) {
            tokens_arg = argv[++i];
            o.raw = 1;
            continue;
        }
        int r = bs_cli_gen_flag(argc, argv, &i, &o);
        if (r < 0)
            return BS_EXIT_USAGE;
        if (r > 0)
            continue;
        if (a[0] == '-' && a[1]) {
            fprintf(stderr, "boson run: unknown option '%s'\n", a);
            run_usage(stderr);
            return BS_EXIT_USAGE;
        }
        if (n_pos == 0)
            pos[n_pos++] = a;
        else if (first_prompt < 0) {
            first_prompt = i;
            pos[n_pos++] = a;
        } else {
            fprintf(stderr, "boson run: give the prompt as one argument (quote it)\n");
            return BS_EXIT_USAGE;
        }
    }
    /* one positional: a model if it names one (exists, or has a '/' and no blank: a path or
     * a Hugging Face id), else the prompt for the bundled model */
    const char *model = pos[0], *prompt = pos[1];
    if (n_pos == 1 && !tokens_arg) {
        char *probe = NULL;
        boson_error e = {0};
        int looks = strchr(pos[0], '/') && !strpbrk(pos[0], " \t\n");
        if (!looks && boson_model_resolve(pos[0], &probe, &e) != BOSON_OK) {
            model = NULL;
            prompt = pos[0];
        }
        free(probe);
    }
    char *path;
    int rc = bs_cli_model_path(model, &path);
    if (rc)
        return rc;
    char *text = NULL;
    size_t text_len;
    if (tokens_arg) {
        text = strdup("");
        text_len = 0;
    } else if (prompt) {
        text = strdup(prompt);
        text_len = strlen(prompt);
    } else {
        text = bs_cli_read_all(stdin, &text_len);
    }
    boson_engine *eng = NULL;
    boson_session *ses = NULL;
    if (!text) {
        fprintf(stderr, "boson run: cannot read the prompt\n");
        free(path);
        return BS_EXIT_RUNTIME;
    }
    rc = bs_cli_open_model(path, &o, &eng, &ses);
    free(path);
    if (rc) {
        free(text);
        return rc;
    }
    bs_cli_install_sigint();
    boson_prompt p = {0};
    int32_t *ids = NULL;
    char *msgs = NULL;
    boson_error err = {0};
    if (tokens_arg) {
        if (bs_cli_parse_tokens(tokens_arg, &ids, &p.n_ids)) {
            fprintf(stderr, "boson run: --tokens: malformed list '%s'\n", tokens_arg);
            rc = BS_EXIT_USAGE;
        }
        p.ids = ids;
    } else if (o.raw) {
        p.text = text;
        p.text_len = text_len;
    } else {
        msgs = messages_for(o.system, text, text_len);
        boson_chat_options co;
        boson_chat_options_init(&co);
        co.messages_json = msgs;
        co.enable_thinking = o.think;
        if (!msgs) {
            rc = BS_EXIT_USAGE; /* reported by messages_for */
        } else if (boson_chat_tokens(eng, &co, &ids, &p.n_ids, NULL, NULL, &err) != BOSON_OK) {
            fprintf(stderr, "boson run: %s\n", err.message);
            rc = BS_EXIT_RUNTIME;
        }
        p.ids = ids;
    }
    if (!rc)
        rc = bs_cli_stream(ses, &p, &o, NULL);
    boson_free(ids);
    free(msgs);
    free(text);
    boson_session_free(ses);
    boson_engine_close(eng);
    return rc;
}
