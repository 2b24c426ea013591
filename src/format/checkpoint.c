/* Checkpoint directory: shard discovery (index or glob), name normalisation, duplicate and
 * index consistency checks, HF layout detection. */
#include "format/checkpoint.h"

#include "base/error.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define INDEX_NAME "model.safetensors.index.json"

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* MTP sidecar shards written by third-party tools: routed by file name, never mapped. */
static int is_sidecar(const char *file)
{
    return strcmp(file, "mtp.safetensors") == 0 || strcmp(file, "model-mtp.safetensors") == 0;
}

static int is_shard_name(const char *file)
{
    return starts_with(file, "model") && ends_with(file, ".safetensors") && !is_sidecar(file);
}

int bs_ckpt_normalise_name(const char *stored, char *buf, size_t bufsize, const char **why)
{
    static const char *const vision[] = {"vision_tower.", "model.visual."};
    static const char *const mtp[] = {"mtp.", "language_model.mtp.", "model.mtp."};
    if (why)
        *why = NULL;
    for (size_t i = 0; i < sizeof vision / sizeof vision[0]; i++) {
        if (starts_with(stored, vision[i])) {
            if (why)
                *why = "vision";
            return 0;
        }
    }
    const char *head = "", *rest = stored;
    if (starts_with(stored, "language_model.model.")) {
        head = "model.";
        rest = stored + strlen("language_model.model.");
    } else if (starts_with(stored, "model.language_model.")) {
        head = "model.";
        rest = stored + strlen("model.language_model.");
    } else if (starts_with(stored, "language_model.lm_head")) {
        const char *after = stored + strlen("language_model.lm_head");
        if (*after == '.' || *after == '\0') { /* not language_model.lm_headx */
            head = "lm_head";
            rest = after;
        }
    }
    /* MTP tensors under any prefix spelling (language_model.model.mtp.* included). */
    int is_mtp = head[0] == 'm' && starts_with(rest, "mtp.");
    for (size_t i = 0; i < sizeof mtp / sizeof mtp[0] && !is_mtp; i++)
        is_mtp = starts_with(stored, mtp[i]);
    if (is_mtp) {
        if (why)
            *why = "mtp";
        return 0;
    }
    int n = snprintf(buf, bufsize, "%s%s", head, rest);
    if (n < 0 || (size_t)n >= bufsize)
        return -1;
    return 1;
}

/* ---- directory listing ---- */

typedef struct name_list {
    char **v;
    size_t n, cap;
} name_list;

static int list_push(name_list *l, const char *s)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return 0;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n] = strdup(s);
    if (!l->v[l->n])
        return 0;
    l->n++;
    return 1;
}

static void list_free(name_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static char *join_path(const char *dir, const char *file)
{
    size_t n = strlen(dir) + strlen(file) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, file);
    return p;
}

/* Lists shard candidates (model*.safetensors, sorted), counts sidecars, notes the index. */
static boson_status scan_dir(const char *dir, name_list *shards, size_t *n_sidecars, int *has_index,
                             boson_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return bs_error_set(err, BOSON_ERR_IO, "%s: cannot open directory: %s", dir,
                            strerror(errno));
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (is_sidecar(e->d_name)) {
            (*n_sidecars)++;
        } else if (strcmp(e->d_name, INDEX_NAME) == 0) {
            *has_index = 1;
        } else if (is_shard_name(e->d_name) && !list_push(shards, e->d_name)) {
            closedir(d);
            return bs_error_set(err, BOSON_ERR_NOMEM, "%s: out of memory listing files", dir);
        }
    }
    closedir(d);
    if (shards->n > 1)
        qsort(shards->v, shards->n, sizeof *shards->v, cmp_str);
    return BOSON_OK;
}

/* ---- index ---- */

static int plain_file_name(const char *f)
{
    return f[0] && !strchr(f, '/') && strcmp(f, ".") != 0 && strcmp(f, "..") != 0;
}

/* Loads the index; fills files with the distinct non-sidecar shard names it names (sorted)
 * and counts entries that live in sidecars. *wm_out borrows from *root_out. */
static boson_status load_index(const char *index_path, const char *dir, json_t **root_out,
                               json_t **wm_out, name_list *files, size_t *n_sidecar_entries,
                               boson_error *err)
{
    json_error_t jerr;
    json_t *root = json_load_file(index_path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return bs_error_set(err, BOSON_ERR_FORMAT, "%s: not valid JSON (line %d, column %d): %s",
                            index_path, jerr.line, jerr.column, jerr.text);
    *root_out = root;
    json_t *wm = json_object_get(root, "weight_map");
    if (!json_is_object(root) || !json_is_object(wm))
        return bs_error_set(err, BOSON_ERR_FORMAT, "%s: no \"weight_map\" object", index_path);
    *wm_out = wm;
    const char *name;
    json_t *v;
    json_object_foreach(wm, name, v)
    {
        if (!json_is_string(v))
            return bs_error_set(err, BOSON_ERR_FORMAT,
                                "%s: weight_map entry for tensor '%s' is not a file name string",
                                index_path, name);
        const char *f = json_string_value(v);
        if (!plain_file_name(f))
            return bs_error_set(err, BOSON_ERR_FORMAT,
                                "%s: weight_map places tensor '%s' in '%s', which is not a plain "
                                "file name inside %s",
                                index_path, name, f, dir);
        if (is_sidecar(f)) {
            (*n_sidecar_entries)++;
            continue;
        }
        int seen = 0;
        for (size_t i = 0; i < files->n && !seen; i++)
            seen = strcmp(files->v[i], f) == 0;
        if (seen)
            continue;
        char *p = join_path(dir, f);
        struct stat st;
        int missing = !p || stat(p, &st) != 0;
        int e = errno;
        free(p);
        if (missing)
            return bs_error_set(err, BOSON_ERR_FORMAT,
                                "%s: weight_map places tensor '%s' in '%s', which cannot be "
                                "found in %s: %s",
                                index_path, name, f, dir, strerror(e));
        if (!list_push(files, f))
            return bs_error_set(err, BOSON_ERR_NOMEM, "%s: out of memory", index_path);
    }
    if (files->n > 1)
        qsort(files->v, files->n, sizeof *files->v, cmp_str);
    return BOSON_OK;
}

/* Every index entry is in its named shard; every shard tensor is listed under its shard. */
static boson_status cross_check_index(const bs_checkpoint *c, const name_list *files, json_t *wm,
                                      const char *index_path, boson_error *err)
{
    const char *name;
    json_t *v;
    json_object_foreach(wm, name, v)
    {
        const char *f = json_string_value(v);
        if (is_sidecar(f))
            continue;
        char **hit = bsearch(&f, files->v, files->n, sizeof *files->v, cmp_str);
        if (!hit) /* load_index lists every non-sidecar file, so this cannot happen */
            return bs_error_set(err, BOSON_ERR_RUNTIME, "%s: shard '%s' was not opened", index_path,
                                f);
        const bs_st_file *sh = &c->shards[hit - files->v];
        if (!bs_st_find(sh, name))
            return bs_error_set(err, BOSON_ERR_FORMAT,
                                "%s: weight_map places tensor '%s' in '%s', but %s has no such "
                                "tensor",
                                index_path, name, f, sh->path);
    }
    for (size_t s = 0; s < c->n_shards; s++) {
        const bs_st_file *sh = &c->shards[s];
        for (size_t i = 0; i < sh->n_tensors; i++) {
            const char *tn = sh->tensors[i].name;
            json_t *e = json_object_get(wm, tn);
            if (!e)
                return bs_error_set(err, BOSON_ERR_FORMAT, "%s: tensor '%s' is not listed in %s",
                                    sh->path, tn, index_path);
            if (strcmp(json_string_value(e), files->v[s]) != 0)
                return bs_error_set(err, BOSON_ERR_FORMAT,
                                    "%s: tensor '%s' is listed in %s under '%s', not '%s'",
                                    sh->path, tn, index_path, json_string_value(e), files->v[s]);
        }
    }
    return BOSON_OK;
}

/* ---- tensors, duplicates, layout ---- */

static int cmp_ckpt(const void *a, const void *b)
{
    const bs_ckpt_tensor *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    c = strcmp(x->t->file, y->t->file);
    return c ? c : strcmp(x->t->name, y->t->name);
}

static boson_status collect_tensors(bs_checkpoint *c, int *hf_names, boson_error *err)
{
    size_t total = 0;
    for (size_t s = 0; s < c->n_shards; s++)
        total += c->shards[s].n_tensors;
    c->tensors = calloc(total ? total : 1, sizeof *c->tensors);
    if (!c->tensors)
        return bs_error_set(err, BOSON_ERR_NOMEM, "%s: out of memory for %zu tensors", c->dir,
                            total);
    for (size_t s = 0; s < c->n_shards; s++) {
        for (size_t i = 0; i < c->shards[s].n_tensors; i++) {
            const bs_tensor *t = &c->shards[s].tensors[i];
            size_t len = strlen(t->name) + 1; /* normalising never lengthens a name */
            char *buf = malloc(len);
            if (!buf)
                return bs_error_set(err, BOSON_ERR_NOMEM, "%s: out of memory", c->dir);
            const char *why = NULL;
            int r = bs_ckpt_normalise_name(t->name, buf, len, &why);
            BS_ASSERT(r >= 0);
            if (r == 0) {
                free(buf);
                if (strcmp(why, "vision") == 0)
                    c->n_skipped_vision++;
                else
                    c->n_skipped_mtp++;
                continue;
            }
            if (starts_with(t->name, "model.language_model."))
                *hf_names = 1;
            c->tensors[c->n_tensors].name = buf;
            c->tensors[c->n_tensors].t = t;
            c->n_tensors++;
        }
    }
    if (c->n_tensors > 1)
        qsort(c->tensors, c->n_tensors, sizeof *c->tensors, cmp_ckpt);
    for (size_t i = 1; i < c->n_tensors; i++) {
        const bs_ckpt_tensor *a = &c->tensors[i - 1], *b = &c->tensors[i];
        if (strcmp(a->name, b->name) == 0)
            return bs_error_set(err, BOSON_ERR_FORMAT,
                                "%s: tensor '%s' appears twice: as '%s' in %s and as '%s' in %s",
                                c->dir, a->name, a->t->name, a->t->file, b->t->name, b->t->file);
    }
    return BOSON_OK;
}

/* "model.layers.<digits>.mlp.experts." */
static int is_unstacked_expert(const char *name)
{
    if (!starts_with(name, "model.layers."))
        return 0;
    const char *p = name + strlen("model.layers.");
    if (*p < '0' || *p > '9')
        return 0;
    while (*p >= '0' && *p <= '9')
        p++;
    return starts_with(p, ".mlp.experts.");
}

static boson_status detect_layout(bs_checkpoint *c, int hf_names, boson_error *err)
{
    const bs_ckpt_tensor *c1k = NULL, *ck1 = NULL;
    bs_ckpt_layout *l = &c->layout;
    for (size_t i = 0; i < c->n_tensors; i++) {
        const bs_ckpt_tensor *ct = &c->tensors[i];
        const bs_tensor *t = ct->t;
        if (is_unstacked_expert(ct->name))
            l->experts_unstacked = 1;
        if (ends_with(ct->name, ".linear_attn.conv1d.weight") && t->ndim == 3) {
            if (t->shape[1] == 1 && t->shape[2] > 1 && !c1k)
                c1k = ct;
            if (t->shape[2] == 1 && t->shape[1] > 1 && !ck1)
                ck1 = ct;
        }
    }
    if (c1k && ck1)
        return bs_error_set(err, BOSON_ERR_FORMAT,
                            "%s: conv1d layouts disagree: '%s' in %s is [C, 1, K] (HF) but '%s' "
                            "in %s is [C, K, 1] (MLX)",
                            c->dir, c1k->t->name, c1k->t->file, ck1->t->name, ck1->t->file);
    l->conv_c1k = c1k != NULL;
    l->hf_names = hf_names;
    l->norms_zero_centred = l->conv_c1k || l->experts_unstacked;
    l->hf_layout = l->norms_zero_centred;
    return BOSON_OK;
}

/* ---- open / find / close ---- */

static boson_status open_shards(bs_checkpoint *c, const name_list *files, boson_error *err)
{
    c->shards = calloc(files->n ? files->n : 1, sizeof *c->shards);
    if (!c->shards)
        return bs_error_set(err, BOSON_ERR_NOMEM, "%s: out of memory", c->dir);
    for (size_t i = 0; i < files->n; i++) {
        char *p = join_path(c->dir, files->v[i]);
        if (!p)
            return bs_error_set(err, BOSON_ERR_NOMEM, "%s: out of memory", c->dir);
        boson_status st = bs_st_open(p, &c->shards[i], err);
        free(p);
        if (st != BOSON_OK)
            return st;
        c->n_shards++;
        c->bytes_on_disk += c->shards[i].size;
    }
    return BOSON_OK;
}

boson_status bs_ckpt_open(const char *dir, bs_checkpoint *out, boson_error *err)
{
    memset(out, 0, sizeof *out);
    name_list globbed = {0}, indexed = {0};
    json_t *index_root = NULL, *wm = NULL;
    char *index_path = NULL;
    int has_index = 0, hf_names = 0;
    size_t n_sidecar_entries = 0;
    boson_status st;

    out->dir = strdup(dir);
    if (!out->dir)
        return bs_error_set(err, BOSON_ERR_NOMEM, "out of memory");
    st = scan_dir(dir, &globbed, &out->n_sidecars, &has_index, err);
    if (st != BOSON_OK)
        goto done;

    const name_list *files = &globbed;
    if (has_index) {
        index_path = join_path(dir, INDEX_NAME);
        if (!index_path) {
            st = bs_error_set(err, BOSON_ERR_NOMEM, "out of memory");
            goto done;
        }
        st = load_index(index_path, dir, &index_root, &wm, &indexed, &n_sidecar_entries, err);
        if (st != BOSON_OK)
            goto done;
        files = &indexed;
    }
    if (files->n == 0) {
        st = bs_error_set(err, BOSON_ERR_FORMAT, "%s: no model*.safetensors shards%s", dir,
                          has_index ? " named in " INDEX_NAME : " found");
        goto done;
    }
    st = open_shards(out, files, err);
    if (st == BOSON_OK && has_index)
        st = cross_check_index(out, files, wm, index_path, err);
    if (st == BOSON_OK)
        st = collect_tensors(out, &hf_names, err);
    if (st == BOSON_OK)
        st = detect_layout(out, hf_names, err);
    out->n_skipped_mtp += n_sidecar_entries;
    if (st == BOSON_OK && out->n_tensors == 0)
        st = bs_error_set(err, BOSON_ERR_FORMAT,
                          "%s: no text-model tensors (%zu vision and %zu MTP tensors skipped)", dir,
                          out->n_skipped_vision, out->n_skipped_mtp);

done:
    json_decref(index_root);
    free(index_path);
    list_free(&globbed);
    list_free(&indexed);
    if (st != BOSON_OK)
        bs_ckpt_close(out);
    return st;
}

const bs_tensor *bs_ckpt_find(const bs_checkpoint *c, const char *name)
{
    size_t lo = 0, hi = c->n_tensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(name, c->tensors[mid].name);
        if (r == 0)
            return c->tensors[mid].t;
        if (r < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

void bs_ckpt_close(bs_checkpoint *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_tensors; i++)
        free(c->tensors[i].name);
    free(c->tensors);
    for (size_t i = 0; i < c->n_shards; i++)
        bs_st_close(&c->shards[i]);
    free(c->shards);
    free(c->dir);
    memset(c, 0, sizeof *c);
}
