/* Model arguments: a local directory, or a Hugging Face id looked up in the standard cache
 * ($HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub), entry
 * models--org--name/snapshots/<rev> with <rev> from refs/main when present. */
#include "base/error.h"
#include "engine/engine_impl.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* snprintf that reports truncation (1 = fits). */
static int fmt_path(char *buf, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fmt_path(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    return r >= 0 && (size_t)r < n;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* "org/name": two non-empty parts of [A-Za-z0-9._-], not starting with '.'. */
static int looks_like_hf_id(const char *s)
{
    const char *slash = strchr(s, '/');
    if (!slash || slash == s || !slash[1] || strchr(slash + 1, '/') || s[0] == '.' ||
        slash[1] == '.')
        return 0;
    for (const char *p = s; *p; p++)
        if (!(*p == '/' || *p == '.' || *p == '_' || *p == '-' || (*p >= '0' && *p <= '9') ||
              (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
            return 0;
    return 1;
}

/* The cache directory and which variable gave it. */
static void hub_cache(char *buf, size_t n, const char **why)
{
    const char *v = getenv("HF_HUB_CACHE");
    if (v && *v) {
        fmt_path(buf, n, "%s", v);
        *why = "$HF_HUB_CACHE";
        return;
    }
    v = getenv("HF_HOME");
    if (v && *v) {
        fmt_path(buf, n, "%s/hub", v);
        *why = "$HF_HOME/hub";
        return;
    }
    v = getenv("HOME");
    fmt_path(buf, n, "%s/.cache/huggingface/hub", v && *v ? v : "");
    *why = "default cache";
}

/* The snapshot named by refs/main, else the most recently modified one. 0 if none. */
static int pick_snapshot(const char *entry, char *out, size_t n, char *why, size_t why_n)
{
    char p[4096];
    fmt_path(p, sizeof p, "%s/refs/main", entry);
    FILE *f = fopen(p, "r");
    if (f) {
        char rev[256] = {0};
        int ok = fgets(rev, sizeof rev, f) != NULL;
        fclose(f);
        rev[strcspn(rev, " \r\n")] = 0;
        if (ok && rev[0] && !strchr(rev, '/')) {
            fmt_path(out, n, "%s/snapshots/%s", entry, rev);
            if (is_dir(out))
                return 1;
            fmt_path(why, why_n, "refs/main names %s, but %s is missing", rev, out);
            return 0;
        }
    }
    fmt_path(p, sizeof p, "%s/snapshots", entry);
    DIR *d = opendir(p);
    if (!d) {
        fmt_path(why, why_n, "%s is missing", p);
        return 0;
    }
    struct dirent *de;
    double best = -1;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char c[4096 + 256];
        fmt_path(c, sizeof c, "%s/%s", p, de->d_name);
        struct stat st;
        if (stat(c, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        double t = (double)st.st_mtim.tv_sec + (double)st.st_mtim.tv_nsec * 1e-9;
        if (t > best) {
            best = t;
            fmt_path(out, n, "%s", c);
        }
    }
    closedir(d);
    if (best < 0)
        fmt_path(why, why_n, "%s holds no snapshot", p);
    return best >= 0;
}

boson_status boson_model_resolve(const char *spec, char **path_out, boson_error *err)
{
    *path_out = NULL;
    if (!spec || !*spec)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "no model given");
    if (exists(spec)) {
        *path_out = strdup(spec);
        return *path_out ? BOSON_OK : bs_error_set(err, BOSON_ERR_NOMEM, "out of memory");
    }
    if (!looks_like_hf_id(spec))
        return bs_error_set(err, BOSON_ERR_IO,
                            "model '%s': no such file or directory (give a model directory or "
                            "a Hugging Face id such as Qwen/Qwen3.5-2B)",
                            spec);
    char cache[2048], entry[4096], snap[4096], why[4096 + 64];
    const char *src;
    hub_cache(cache, sizeof cache, &src);
    const char *slash = strchr(spec, '/');
    fmt_path(entry, sizeof entry, "%s/models--%.*s--%s", cache, (int)(slash - spec), spec,
             slash + 1);
    if (!is_dir(entry))
        fmt_path(why, sizeof why, "%s does not exist", entry);
    else if (pick_snapshot(entry, snap, sizeof snap, why, sizeof why)) {
        *path_out = strdup(snap);
        return *path_out ? BOSON_OK : bs_error_set(err, BOSON_ERR_NOMEM, "out of memory");
    }
    return bs_error_set(err, BOSON_ERR_IO,
                        "model '%s' not found: it is not a local directory, and in the Hugging "
                        "Face cache (%s, %s) %s. Download it with: hf download %s "
                        "(or: huggingface-cli download %s)",
                        spec, cache, src, why, spec, spec);
}

char *bs_model_id_from_path(const char *path)
{
    const char *m = strstr(path, "models--");
    if (m) {
        const char *a = m + 8;
        const char *sep = strstr(a, "--");
        const char *end = sep ? strchr(sep + 2, '/') : NULL;
        if (sep && end && !strncmp(end, "/snapshots/", 11)) {
            size_t la = (size_t)(sep - a), lb = (size_t)(end - sep - 2);
            char *id = malloc(la + lb + 2);
            if (id)
                fmt_path(id, la + lb + 2, "%.*s/%.*s", (int)la, a, (int)lb, sep + 2);
            return id;
        }
    }
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    size_t b = n;
    while (b > 0 && path[b - 1] != '/')
        b--;
    char *id = malloc(n - b + 1);
    if (id) {
        memcpy(id, path + b, n - b);
        id[n - b] = 0;
    }
    return id;
}
