/* boson chat: interactive multi-turn conversation through the chat template. /reset starts
 * over, /think on|off switches thinking, Ctrl-C stops the current answer, Ctrl-D exits. The
 * session keeps the conversation's state, so each turn evaluates only what is new. */
#include "cli/cli.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void chat_usage(FILE *out)
{
    fprintf(out, "usage: boson chat [<model>] [options]\n\n"
                 "Interactive chat. Type a message and press Enter. Commands:\n"
                 "  /reset            forget the conversation\n"
                 "  /think on|off     switch the template's thinking on or off\n"
                 "  /exit             quit (or Ctrl-D); Ctrl-C stops the current answer\n\n");
    bs_cli_gen_help(out);
    fprintf(out, "Exit codes: 0 ok, 1 usage, 2 model/load error, 3 runtime error.\n");
}

/* The conversation so far: [system]. The system text was checked to be UTF-8 up front. */
static json_t *new_conversation(const char *system)
{
    json_t *m = json_array();
    if (system)
        json_array_append_new(m, bs_cli_message("system", system, strlen(system), "--system"));
    return m;
}

static int turn(boson_engine *eng, boson_session *ses, json_t *msgs, const bs_cli_gen *o)
{
    char *mj = json_dumps(msgs, JSON_COMPACT);
    boson_chat_options co;
    boson_chat_options_init(&co);
    co.messages_json = mj;
    co.enable_thinking = o->think;
    int32_t *ids = NULL;
    size_t n = 0;
    boson_error err = {0};
    if (!mj || boson_chat_tokens(eng, &co, &ids, &n, NULL, NULL, &err) != BOSON_OK) {
        fprintf(stderr, "boson chat: %s\n", mj ? err.message : "out of memory");
        free(mj);
        return BS_EXIT_RUNTIME;
    }
    free(mj);
    boson_prompt p = {.ids = ids, .n_ids = n};
    boson_gen_result r;
    int rc = bs_cli_stream(ses, &p, o, &r);
    boson_free(ids);
    if (rc)
        return rc;
    if (!isatty(1) || (r.text_len && r.text[r.text_len - 1] != '\n'))
        fputc('\n', stdout);
    fflush(stdout);
    json_t *a = json_pack("{s:s,s:s%}", "role", "assistant", "content", r.content, r.content_len);
    if (r.reasoning_len)
        json_object_set_new(a, "reasoning_content", json_stringn(r.reasoning, r.reasoning_len));
    json_array_append_new(msgs, a);
    boson_gen_result_free(&r);
    return BS_EXIT_OK;
}

int bs_cmd_chat(int argc, char **argv)
{
    bs_cli_gen o;
    bs_cli_gen_init(&o);
    const char *model = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            chat_usage(stdout);
            return BS_EXIT_OK;
        }
        int r = bs_cli_gen_flag(argc, argv, &i, &o);
        if (r < 0)
            return BS_EXIT_USAGE;
        if (r > 0)
            continue;
        if ((a[0] == '-' && a[1]) || model) {
            fprintf(stderr, "boson chat: unexpected argument '%s'\n", a);
            chat_usage(stderr);
            return BS_EXIT_USAGE;
        }
        model = a;
    }
    char *path;
    int rc = bs_cli_model_path(model, &path);
    if (rc)
        return rc;
    boson_engine *eng;
    boson_session *ses;
    rc = bs_cli_open_model(path, &o, &eng, &ses);
    free(path);
    if (rc)
        return rc;
    if (o.system) {
        json_t *check = bs_cli_message("system", o.system, strlen(o.system), "--system");
        if (!check) {
            boson_session_free(ses);
            boson_engine_close(eng);
            return BS_EXIT_USAGE;
        }
        json_decref(check);
    }
    bs_cli_install_sigint();
    int tty = isatty(0);
    json_t *msgs = new_conversation(o.system);
    char *line = NULL;
    size_t line_cap = 0;
    for (;;) {
        if (tty) {
            fputs("> ", stdout);
            fflush(stdout);
        }
        bs_cli_clear_interrupt();
        errno = 0;
        ssize_t got = getline(&line, &line_cap, stdin);
        if (got < 0) {
            if (ferror(stdin) && errno == EINTR) { /* Ctrl-C at the prompt */
                clearerr(stdin);
                fputc('\n', stdout);
                continue;
            }
            if (tty)
                fputc('\n', stdout);
            break;
        }
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0])
            continue;
        if (!strcmp(line, "/exit") || !strcmp(line, "/quit"))
            break;
        if (!strcmp(line, "/reset")) {
            json_decref(msgs);
            msgs = new_conversation(o.system);
            boson_session_reset(ses);
            fputs("[conversation reset]\n", stdout);
            fflush(stdout);
            continue;
        }
        if (!strncmp(line, "/think", 6)) {
            const char *arg = line + 6;
            while (*arg == ' ')
                arg++;
            if (!strcmp(arg, "on"))
                o.think = BOSON_THINK_ON;
            else if (!strcmp(arg, "off"))
                o.think = BOSON_THINK_OFF;
            else {
                fputs("[usage: /think on|off]\n", stdout);
                continue;
            }
            printf("[thinking %s]\n", arg);
            fflush(stdout);
            continue;
        }
        json_t *user = bs_cli_message("user", line, strlen(line), "the message");
        if (!user)
            continue; /* reported; the conversation goes on */
        json_array_append_new(msgs, user);
        int trc = turn(eng, ses, msgs, &o);
        if (trc) {
            /* the failed message leaves the conversation; the session stays usable */
            json_array_remove(msgs, json_array_size(msgs) - 1);
            if (!tty)
                rc = trc;
        }
    }
    free(line);
    json_decref(msgs);
    boson_session_free(ses);
    boson_engine_close(eng);
    return rc;
}
