/* boson inspect <model-dir> [--json] [--ctx N] [--all-tensors] */
#include "boson.h"
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void inspect_usage(FILE *out)
{
    fprintf(out,
            "usage: boson inspect <model-dir> [--json] [--ctx N] [--all-tensors]\n\n"
            "Prints the architecture, the layer schedule, the resolved format of every weight\n"
            "(counts per format), the dispatch-group plan of every layer, bytes on disk, bytes\n"
            "read per decoded token and the state size per sequence at a context length.\n\n"
            "  --json          the same as one JSON document (for scripts)\n"
            "  --ctx N         context length for the state size (default 4096)\n"
            "  --all-tensors   list every weight with the rule that decided its format\n\n"
            "Environment: BOSON_SEPARATE_GDN_PROJ=1|0 forces one dispatch per GDN input\n"
            "projection (or not), overriding use_separate_gdn_projections in config.json.\n");
}

int bs_cmd_inspect(int argc, char **argv)
{
    boson_inspect_options opt = {0, 4096, 0};
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            inspect_usage(stdout);
            return BS_EXIT_OK;
        } else if (!strcmp(a, "--json")) {
            opt.json = 1;
        } else if (!strcmp(a, "--all-tensors")) {
            opt.all_tensors = 1;
        } else if (!strcmp(a, "--ctx")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "boson inspect: --ctx needs a value\n");
                return BS_EXIT_USAGE;
            }
            char *end = NULL;
            errno = 0;
            long long v = strtoll(argv[++i], &end, 10);
            if (errno || !end || *end || v <= 0 || v > (1ll << 32)) {
                fprintf(stderr, "boson inspect: --ctx '%s' is not a positive integer\n", argv[i]);
                return BS_EXIT_USAGE;
            }
            opt.ctx = v;
        } else if (a[0] == '-') {
            fprintf(stderr, "boson inspect: unknown option '%s' (see --help)\n", a);
            return BS_EXIT_USAGE;
        } else if (!dir) {
            dir = a;
        } else {
            fprintf(stderr, "boson inspect: unexpected argument '%s'\n", a);
            return BS_EXIT_USAGE;
        }
    }
    if (!dir) {
        inspect_usage(stderr);
        return BS_EXIT_USAGE;
    }
    boson_error err = {BOSON_OK, ""};
    boson_status st = boson_inspect(dir, &opt, stdout, &err);
    if (st) {
        fprintf(stderr, "boson inspect: %s\n", err.message);
        return st == BOSON_ERR_INVALID_ARG ? BS_EXIT_USAGE : BS_EXIT_LOAD;
    }
    return BS_EXIT_OK;
}
