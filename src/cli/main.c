/* boson command-line entry point: dispatches to one file per subcommand. */
#include "boson.h"
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
            "boson %s — run Qwen3.5 / Qwen3-Next models from MLX checkpoints\n\n"
            "usage: boson <command> [options]\n\n"
            "commands:\n"
            "  run [<model>] [text]  answer one prompt (streamed)\n"
            "  chat [<model>]        interactive multi-turn chat\n"
            "  bench <model>         prefill / decode throughput and memory bandwidth use\n"
            "  serve <model>         OpenAI- and Anthropic-compatible HTTP server\n"
            "  inspect <model-dir>   architecture, per-tensor formats, dispatch plan, sizes\n"
            "  logits <model-dir>    logits of a token list (top-5, or all as .npy)\n"
            "  generate <model-dir>  greedy decoding from a token list\n"
            "  tokenize <model>      text on stdin -> token ids\n"
            "  detokenize <model>    token ids -> text\n"
            "  template <model> <conversation.json>  the rendered chat prompt\n"
            "  help                  this text\n\n"
            "<model> is a checkpoint directory or a Hugging Face id (org/name) in the local\n"
            "Hugging Face cache.\n"
            "Run 'boson <command> --help' for the options of a command.\n"
            "Exit codes: 0 ok, 1 usage, 2 model/load error, 3 runtime error.\n",
            BOSON_VERSION);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return BS_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return BS_EXIT_OK;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("boson %s\n", BOSON_VERSION);
        return BS_EXIT_OK;
    }
    if (!strcmp(cmd, "inspect"))
        return bs_cmd_inspect(argc - 1, argv + 1);
    if (!strcmp(cmd, "logits"))
        return bs_cmd_logits(argc - 1, argv + 1);
    if (!strcmp(cmd, "generate"))
        return bs_cmd_generate(argc - 1, argv + 1);
    if (!strcmp(cmd, "run"))
        return bs_cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "chat"))
        return bs_cmd_chat(argc - 1, argv + 1);
    if (!strcmp(cmd, "bench"))
        return bs_cmd_bench(argc - 1, argv + 1);
    if (!strcmp(cmd, "serve"))
        return bs_cmd_serve(argc - 1, argv + 1);
    if (!strcmp(cmd, "tokenize"))
        return bs_cmd_tokenize(argc - 1, argv + 1);
    if (!strcmp(cmd, "detokenize"))
        return bs_cmd_detokenize(argc - 1, argv + 1);
    if (!strcmp(cmd, "template"))
        return bs_cmd_template(argc - 1, argv + 1);
    fprintf(stderr, "boson: unknown command '%s' (try 'boson help')\n", cmd);
    return BS_EXIT_USAGE;
}
