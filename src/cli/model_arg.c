/* The <model> argument of run / chat / bench / tokenize / template: a directory, a Hugging
 * Face id, or (omitted) the bundled model. */
#include "cli/cli.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUNDLED "models/boson-tiny-4bit"

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int bundled(char **path)
{
    char exe[PATH_MAX], cand[2][PATH_MAX + 64];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    int nc = 0;
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = 0;
        snprintf(cand[nc++], sizeof cand[0], "%s/../%s", exe, BUNDLED);
    }
    snprintf(cand[nc++], sizeof cand[0], "./%s", BUNDLED);
    for (int i = 0; i < nc; i++)
        if (is_dir(cand[i])) {
            *path = strdup(cand[i]);
            return *path ? BS_EXIT_OK : BS_EXIT_LOAD;
        }
    fprintf(stderr, "boson: no model given and the bundled model is missing: looked for");
    for (int i = 0; i < nc; i++)
        fprintf(stderr, "%s %s", i ? " and" : "", cand[i]);
    fprintf(stderr, ". Give a model directory or a Hugging Face id.\n");
    return BS_EXIT_LOAD;
}

int bs_cli_model_path(const char *arg, char **path)
{
    *path = NULL;
    if (!arg)
        return bundled(path);
    boson_error err = {0};
    if (boson_model_resolve(arg, path, &err) != BOSON_OK) {
        fprintf(stderr, "boson: %s\n", err.message);
        return BS_EXIT_LOAD;
    }
    return BS_EXIT_OK;
}
