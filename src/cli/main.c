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
            "  inspect <model-dir>   architecture, per-tensor formats, dispatch plan, sizes\n"
            "  logits <model-dir>    logits of a token list (top-5, or all as .npy)\n"
            "  generate <model-dir>  greedy decoding from a token list\n"
            "  help                  this text\n\n"
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
    fprintf(stderr, "boson: unknown command '%s' (try 'boson help')\n", cmd);
    return BS_EXIT_USAGE;
}
