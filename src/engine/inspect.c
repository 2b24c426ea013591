/* The checkpoint report behind `boson inspect` (text and JSON). */
#include "boson.h"

#include "base/checked.h"
#include "base/error.h"
#include "engine/load.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of all matrices of a weight (saturating: a stack's size is only reported). */
static uint64_t all_bytes(const bs_weight *w)
{
    uint64_t one = bs_wformat_matrix_bytes(&w->fmt, w->rows, w->cols), total;
    return bs_mul_u64(one, w->n_stack, &total) ? total : UINT64_MAX;
}

static void human_bytes(uint64_t b, char *buf, size_t n)
{
    if (b >= 1000000000ull)
        snprintf(buf, n, "%.2f GB", (double)b / 1e9);
    else if (b >= 1000000ull)
        snprintf(buf, n, "%.2f MB", (double)b / 1e6);
    else if (b >= 1000ull)
        snprintf(buf, n, "%.1f kB", (double)b / 1e3);
    else
        snprintf(buf, n, "%llu B", (unsigned long long)b);
}

static const char *layer_kind(const bs_layer_plan *lp)
{
    return lp->is_attention ? "attention" : "gdn";
}

/* ---- JSON ---- */

static json_t *weight_json(const bs_weight *w)
{
    char f[32];
    json_t *o = json_object();
    json_object_set_new(o, "module", json_string(w->module));
    json_object_set_new(o, "layer", json_integer(w->layer));
    json_object_set_new(o, "format", json_string(bs_wformat_str(&w->fmt, f, sizeof f)));
    const char *kind = "dense";
    switch (w->fmt.kind) {
    case BS_W_DENSE: kind = "dense"; break;
    case BS_W_AFFINE: kind = "affine"; break;
    case BS_W_MXFP4: kind = "mxfp4"; break;
    case BS_W_NVFP4: kind = "nvfp4"; break;
    case BS_W_MXFP8: kind = "mxfp8"; break;
    }
    json_object_set_new(o, "mode", json_string(kind));
    json_object_set_new(o, "bits", json_integer(w->fmt.bits));
    json_object_set_new(o, "group_size", json_integer(w->fmt.group_size));
    json_object_set_new(o, "dtype", json_string(bs_dtype_name(w->fmt.dtype)));
    json_t *shape = json_array();
    if (w->n_stack > 1)
        json_array_append_new(shape, json_integer((json_int_t)w->n_stack));
    json_array_append_new(shape, json_integer((json_int_t)w->rows));
    json_array_append_new(shape, json_integer((json_int_t)w->cols));
    json_object_set_new(o, "shape", shape);
    json_object_set_new(o, "bytes", json_integer((json_int_t)all_bytes(w)));
    json_object_set_new(o, "source", json_string(w->source));
    return o;
}

static json_t *set_json(const bs_proj_set *s)
{
    char f[32];
    json_t *o = json_object();
    json_object_set_new(o, "set", json_string(bs_set_kind_name(s->kind)));
    json_object_set_new(o, "forced_separate", json_boolean(s->forced_separate));
    json_t *groups = json_array();
    for (int g = 0; g < s->n_groups; g++) {
        json_t *go = json_object();
        json_t *mem = json_array();
        for (int k = 0; k < s->groups[g].n; k++)
            json_array_append_new(mem, json_string(s->groups[g].mats[k]->role));
        json_object_set_new(go, "members", mem);
        json_object_set_new(go, "format",
                            json_string(bs_wformat_str(&s->groups[g].mats[0]->fmt, f, sizeof f)));
        json_array_append_new(groups, go);
    }
    json_object_set_new(o, "groups", groups);
    return o;
}

static int write_json(const bs_loaded *l, const boson_inspect_options *opt, FILE *out)
{
    const bs_config *c = &l->cfg;
    const bs_model_plan *p = &l->plan;
    bs_plan_stats s;
    bs_plan_stats_compute(p, &s);
    char line[2048];
    json_t *root = json_object();
    json_object_set_new(root, "path", json_string(l->ck.dir));
    json_object_set_new(root, "model_type", json_string(c->model_type));
    json_object_set_new(root, "architecture", json_string(bs_arch_name(c->arch)));
    json_object_set_new(root, "text_config", json_boolean(c->has_text_config));
    json_t *hp = json_object();
#define HP(name) json_object_set_new(hp, #name, json_integer(c->name))
    HP(hidden_size);
    HP(num_hidden_layers);
    HP(vocab_size);
    HP(num_attention_heads);
    HP(num_key_value_heads);
    HP(head_dim);
    HP(rotary_dim);
    HP(intermediate_size);
    HP(linear_num_key_heads);
    HP(linear_num_value_heads);
    HP(linear_key_head_dim);
    HP(linear_value_head_dim);
    HP(linear_conv_kernel_dim);
    HP(num_experts);
    HP(num_experts_per_tok);
    HP(moe_intermediate_size);
    HP(shared_expert_intermediate_size);
#undef HP
    json_object_set_new(hp, "rope_theta", json_real(c->rope_theta));
    json_object_set_new(hp, "tie_word_embeddings", json_boolean(c->tie_word_embeddings));
    json_object_set_new(root, "hyperparameters", hp);

    json_t *layout = json_object();
    json_object_set_new(layout, "shards", json_integer((json_int_t)l->ck.n_shards));
    json_object_set_new(layout, "tensors", json_integer((json_int_t)l->ck.n_tensors));
    json_object_set_new(layout, "skipped_vision", json_integer((json_int_t)l->ck.n_skipped_vision));
    json_object_set_new(layout, "skipped_mtp", json_integer((json_int_t)l->ck.n_skipped_mtp));
    json_object_set_new(layout, "mtp_sidecars", json_integer((json_int_t)l->ck.n_sidecars));
    json_object_set_new(layout, "hf_layout", json_boolean(l->ck.layout.hf_layout));
    json_object_set_new(layout, "norms_add_one", json_boolean(p->norms_add_one));
    json_object_set_new(layout, "conv_c1k", json_boolean(p->conv_c1k));
    json_object_set_new(layout, "experts_unstacked", json_boolean(l->ck.layout.experts_unstacked));
    json_object_set_new(root, "layout", layout);

    json_t *weights = json_array();
    for (size_t i = 0; i < p->n_weights; i++)
        json_array_append_new(weights, weight_json(&p->weights[i]));
    json_object_set_new(root, "weights", weights);
    json_object_set_new(root, "lm_head_tied", json_boolean(p->lm_head == p->embed));

    json_t *layers = json_array();
    for (int64_t i = 0; i < c->num_hidden_layers; i++) {
        const bs_layer_plan *lp = &p->layers[i];
        json_t *lo = json_object();
        json_object_set_new(lo, "layer", json_integer(i));
        json_object_set_new(lo, "kind", json_string(layer_kind(lp)));
        json_object_set_new(lo, "moe", json_boolean(lp->is_moe));
        json_t *sets = json_array();
        for (int k = 0; k < lp->n_sets; k++)
            json_array_append_new(sets, set_json(&lp->sets[k]));
        json_object_set_new(lo, "sets", sets);
        json_array_append_new(layers, lo);
    }
    json_object_set_new(root, "layers", layers);

    json_t *gdn = json_object();
    json_object_set_new(gdn, "separate", json_boolean(p->separate_gdn));
    json_object_set_new(gdn, "reason", json_string(p->separate_why ? p->separate_why : ""));
    json_object_set_new(gdn, "fused_layers", json_integer(s.gdn_fused_layers));
    json_object_set_new(gdn, "split_layers", json_integer(s.gdn_split_layers));
    bs_plan_gdn_summary(p, line, sizeof line);
    json_object_set_new(gdn, "summary", json_string(line));
    json_object_set_new(root, "gdn_projections", gdn);

    json_t *sz = json_object();
    json_object_set_new(sz, "bytes_on_disk", json_integer((json_int_t)l->ck.bytes_on_disk));
    json_object_set_new(sz, "weight_bytes", json_integer((json_int_t)s.weight_bytes));
    json_object_set_new(sz, "bytes_per_token", json_integer((json_int_t)s.bytes_per_token));
    json_object_set_new(sz, "dispatches_per_token", json_integer(s.dispatches_per_token));
    json_object_set_new(sz, "ctx", json_integer(opt->ctx));
    json_object_set_new(sz, "gdn_state_bytes", json_integer((json_int_t)s.gdn_state_bytes));
    json_object_set_new(sz, "kv_bytes_per_position", json_integer((json_int_t)s.kv_bytes_per_pos));
    json_object_set_new(
        sz, "state_bytes_at_ctx",
        json_integer((json_int_t)(s.gdn_state_bytes + s.kv_bytes_per_pos * (uint64_t)opt->ctx)));
    json_object_set_new(root, "sizes", sz);

    json_t *unused = json_array();
    for (size_t i = 0; i < p->n_unused_overrides; i++)
        json_array_append_new(unused, json_string(p->unused_overrides[i]));
    json_object_set_new(root, "unused_quantization_entries", unused);
    json_object_set_new(root, "open_seconds", json_real(l->open_seconds));

    int rc = json_dumpf(root, out, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    fputc('\n', out);
    json_decref(root);
    return rc;
}

/* ---- text ---- */

static void role_key(const bs_weight *w, char *buf, size_t n)
{
    snprintf(buf, n, "%s%s%s", strstr(w->module, "shared_expert.") ? "shared_expert." : "",
             w->n_stack > 1 ? "experts." : "", w->role);
}

typedef struct fmt_count {
    char name[32];
    int count;
    uint64_t bytes;
} fmt_count;

static void write_text(const bs_loaded *l, const boson_inspect_options *opt, FILE *out)
{
    const bs_config *c = &l->cfg;
    const bs_model_plan *p = &l->plan;
    bs_plan_stats s;
    bs_plan_stats_compute(p, &s);
    char a[32], b[32], line[2048];

    human_bytes(l->ck.bytes_on_disk, a, sizeof a);
    fprintf(out, "model        %s\n", l->ck.dir);
    fprintf(out, "architecture %s%s, %s layout, %zu shard%s, %zu tensors, %s on disk\n",
            bs_arch_name(c->arch), c->has_text_config ? " (text_config)" : "",
            l->ck.layout.hf_layout ? "HF" : "MLX", l->ck.n_shards, l->ck.n_shards == 1 ? "" : "s",
            l->ck.n_tensors, a);
    if (l->ck.n_skipped_vision || l->ck.n_skipped_mtp || l->ck.n_sidecars)
        fprintf(out, "skipped      %zu vision tensors, %zu MTP tensors, %zu MTP sidecar files\n",
                l->ck.n_skipped_vision, l->ck.n_skipped_mtp, l->ck.n_sidecars);
    fprintf(out,
            "shape        L=%lld H=%lld V=%lld; attention %lld/%lld heads x %lld (rotary %lld, "
            "theta %g); GDN Hk=%lld Hv=%lld Dk=%lld Dv=%lld conv %lld\n",
            (long long)c->num_hidden_layers, (long long)c->hidden_size, (long long)c->vocab_size,
            (long long)c->num_attention_heads, (long long)c->num_key_value_heads,
            (long long)c->head_dim, (long long)c->rotary_dim, c->rope_theta,
            (long long)c->linear_num_key_heads, (long long)c->linear_num_value_heads,
            (long long)c->linear_key_head_dim, (long long)c->linear_value_head_dim,
            (long long)c->linear_conv_kernel_dim);
    if (c->num_experts > 0)
        fprintf(out, "mlp          MoE: %lld experts, top-%lld, width %lld; shared expert %lld\n",
                (long long)c->num_experts, (long long)c->num_experts_per_tok,
                (long long)c->moe_intermediate_size, (long long)c->shared_expert_intermediate_size);
    else
        fprintf(out, "mlp          dense SwiGLU, width %lld\n", (long long)c->intermediate_size);
    fprintf(out, "embeddings   %s\n",
            p->lm_head == p->embed ? "tied (head uses the embedding)"
                                   : "untied (separate lm_head)");
    fprintf(out, "schedule     ");
    for (int64_t i = 0; i < c->num_hidden_layers; i++)
        fputc(p->layers[i].is_attention ? 'A' : 'G', out);
    fprintf(out, "   (G = Gated DeltaNet, A = full attention)\n");

    /* counts per format */
    fmt_count counts[32];
    memset(counts, 0, sizeof counts);
    int nc = 0;
    for (size_t i = 0; i < p->n_weights; i++) {
        const bs_weight *w = &p->weights[i];
        bs_wformat_str(&w->fmt, a, sizeof a);
        int k = 0;
        while (k < nc && strcmp(counts[k].name, a))
            k++;
        if (k == nc && nc < 32) {
            snprintf(counts[nc].name, sizeof counts[nc].name, "%s", a);
            counts[nc].count = 0;
            counts[nc].bytes = 0;
            nc++;
        }
        if (k < nc) {
            counts[k].count++;
            counts[k].bytes += all_bytes(w);
        }
    }
    fprintf(out, "formats     ");
    for (int k = 0; k < nc; k++) {
        human_bytes(counts[k].bytes, b, sizeof b);
        fprintf(out, " %s x%d (%s)%s", counts[k].name, counts[k].count, b, k + 1 < nc ? "," : "");
    }
    fputc('\n', out);

    fprintf(out, "weights      (role: format x count [layers])\n");
    /* one line per (role, format): compact yet complete; --all-tensors lists each weight */
    for (size_t i = 0; i < p->n_weights; i++) {
        const bs_weight *w = &p->weights[i];
        char key[64], key2[64];
        role_key(w, key, sizeof key);
        bs_wformat_str(&w->fmt, a, sizeof a);
        if (opt->all_tensors) {
            fprintf(out, "  %-52s %-14s %s\n", w->module, a, w->source);
            continue;
        }
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++) {
            role_key(&p->weights[j], key2, sizeof key2);
            bs_wformat_str(&p->weights[j].fmt, b, sizeof b);
            seen = !strcmp(key, key2) && !strcmp(a, b);
        }
        if (seen)
            continue;
        int count = 0;
        size_t pos = 0;
        line[0] = '\0';
        for (size_t j = i; j < p->n_weights; j++) {
            const bs_weight *v = &p->weights[j];
            role_key(v, key2, sizeof key2);
            bs_wformat_str(&v->fmt, b, sizeof b);
            if (strcmp(key, key2) || strcmp(a, b))
                continue;
            count++;
            if (v->layer >= 0 && pos < sizeof line - 16)
                pos += (size_t)snprintf(line + pos, sizeof line - pos, "%s%d", pos ? "," : "",
                                        v->layer);
        }
        fprintf(out, "  %-28s %-14s x%-4d %s%s%s\n", key, a, count, line[0] ? "[" : "", line,
                line[0] ? "]" : "");
    }

    fprintf(out, "dispatch plan (per layer: set = groups, one group = one kernel call)\n");
    for (int64_t i = 0; i < c->num_hidden_layers; i++) {
        const bs_layer_plan *lp = &p->layers[i];
        fprintf(out, "  layer %-3lld %-9s", (long long)i, layer_kind(lp));
        for (int k = 0; k < lp->n_sets; k++) {
            const bs_proj_set *set = &lp->sets[k];
            fprintf(out, " %s=", bs_set_kind_name(set->kind));
            for (int g = 0; g < set->n_groups; g++) {
                fprintf(out, "%s", g ? "|" : "");
                for (int m = 0; m < set->groups[g].n; m++)
                    fprintf(out, "%s%s", m ? "+" : "", set->groups[g].mats[m]->role);
                fprintf(out, ":%s", bs_wformat_str(&set->groups[g].mats[0]->fmt, a, sizeof a));
            }
        }
        fputc('\n', out);
    }
    bs_plan_gdn_summary(p, line, sizeof line);
    fprintf(out, "%s\n", line);
    human_bytes(s.weight_bytes, a, sizeof a);
    human_bytes(s.bytes_per_token, b, sizeof b);
    fprintf(out, "sizes        weights %s; read per decoded token %s; %d dispatches per token\n", a,
            b, s.dispatches_per_token);
    uint64_t at_ctx = s.gdn_state_bytes + s.kv_bytes_per_pos * (uint64_t)opt->ctx;
    human_bytes(s.gdn_state_bytes, a, sizeof a);
    human_bytes(at_ctx, b, sizeof b);
    fprintf(out,
            "state        GDN conv+recurrent %s per sequence; KV %llu B per position; total at "
            "ctx %lld: %s (fp32)\n",
            a, (unsigned long long)s.kv_bytes_per_pos, (long long)opt->ctx, b);
    for (size_t i = 0; i < p->n_unused_overrides; i++)
        fprintf(out, "warning      quantization entry '%s' matches no module\n",
                p->unused_overrides[i]);
}

boson_status boson_inspect(const char *model_dir, const boson_inspect_options *options, FILE *out,
                           boson_error *err)
{
    boson_inspect_options opt = {0, 4096, 0};
    if (options)
        opt = *options;
    if (opt.ctx <= 0)
        opt.ctx = 4096;
    if (!model_dir || !out)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "inspect: no model directory given");
    bs_loaded l;
    boson_status st = bs_load(model_dir, &l, err);
    if (st)
        return st;
    if (opt.json) {
        if (write_json(&l, &opt, out))
            st = bs_error_set(err, BOSON_ERR_IO, "inspect: writing JSON failed");
    } else {
        write_text(&l, &opt, out);
    }
    bs_loaded_free(&l);
    return st;
}
