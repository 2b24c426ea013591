/* Projection sets -> dispatch groups, and the plan's summary numbers. */
#include "model/plan.h"

#include "base/checked.h"
#include "base/error.h"

#include <stdio.h>
#include <string.h>

const char *bs_set_kind_name(bs_set_kind k)
{
    switch (k) {
    case BS_SET_GDN_IN: return "gdn_in";
    case BS_SET_ATTN_QKV: return "attn_qkv";
    case BS_SET_MLP_GATE_UP: return "mlp_gate_up";
    case BS_SET_SHARED_GATE_UP: return "shared_gate_up";
    case BS_SET_ROUTER: return "router";
    case BS_SET_EXPERT_GATE_UP: return "expert_gate_up";
    }
    return "?";
}

/* Members sharing an input; split into groups of identical format and input width, in
 * member order (a member joins the first group it matches). */
static void make_set(bs_layer_plan *lp, bs_set_kind kind, bs_weight *const *members, int n,
                     int force_separate)
{
    bs_proj_set *s = &lp->sets[lp->n_sets++];
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->forced_separate = force_separate;
    for (int i = 0; i < n; i++) {
        bs_weight *w = members[i];
        if (!w)
            continue;
        s->members[s->n_members++] = w;
        int g = 0;
        if (!force_separate)
            for (; g < s->n_groups; g++) {
                const bs_weight *first = s->groups[g].mats[0];
                if (bs_wformat_equal(&first->fmt, &w->fmt) && first->cols == w->cols &&
                    first->n_stack == w->n_stack && !first->bias == !w->bias)
                    break;
            }
        else
            g = s->n_groups;
        if (g == s->n_groups)
            s->n_groups++;
        s->groups[g].mats[s->groups[g].n++] = w;
    }
    if (s->n_members == 0)
        lp->n_sets--;
}

boson_status bs_plan_groups_build(bs_model_plan *p, boson_error *err);
boson_status bs_plan_groups_build(bs_model_plan *p, boson_error *err)
{
    (void)err;
    for (int64_t i = 0; i < p->cfg->num_hidden_layers; i++) {
        bs_layer_plan *lp = &p->layers[i];
        lp->n_sets = 0;
        if (lp->is_attention) {
            bs_weight *m[3] = {lp->q_proj, lp->k_proj, lp->v_proj};
            make_set(lp, BS_SET_ATTN_QKV, m, 3, 0);
        } else if (lp->in_proj_qkvz) {
            bs_weight *m[2] = {lp->in_proj_qkvz, lp->in_proj_ba};
            make_set(lp, BS_SET_GDN_IN, m, 2, p->separate_gdn);
        } else {
            bs_weight *m[4] = {lp->in_proj_qkv, lp->in_proj_z, lp->in_proj_b, lp->in_proj_a};
            make_set(lp, BS_SET_GDN_IN, m, 4, p->separate_gdn);
        }
        if (lp->is_moe) {
            bs_weight *r[2] = {lp->router, lp->sh_expert_gate};
            make_set(lp, BS_SET_ROUTER, r, 2, 0);
            bs_weight *e[2] = {lp->exp_gate, lp->exp_up};
            make_set(lp, BS_SET_EXPERT_GATE_UP, e, 2, 0);
            bs_weight *s[2] = {lp->sh_gate, lp->sh_up};
            make_set(lp, BS_SET_SHARED_GATE_UP, s, 2, 0);
        } else {
            bs_weight *m[2] = {lp->gate_proj, lp->up_proj};
            make_set(lp, BS_SET_MLP_GATE_UP, m, 2, 0);
        }
    }
    return BOSON_OK;
}

static uint64_t weight_bytes(const bs_weight *w)
{
    uint64_t one = bs_wformat_matrix_bytes(&w->fmt, w->rows, w->cols), all;
    if (!bs_mul_u64(one, w->n_stack, &all))
        return UINT64_MAX;
    return all;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    uint64_t r;
    return bs_add_u64(a, b, &r) ? r : UINT64_MAX;
}

void bs_plan_stats_compute(const bs_model_plan *p, bs_plan_stats *s)
{
    const bs_config *cfg = p->cfg;
    memset(s, 0, sizeof *s);
    for (size_t i = 0; i < p->n_weights; i++) {
        const bs_weight *w = &p->weights[i];
        uint64_t b = weight_bytes(w);
        s->weight_bytes = sat_add(s->weight_bytes, b);
        if (w == p->embed) {
            /* a lookup reads one row; a tied head reads it all (below) */
            uint64_t row = bs_wformat_matrix_bytes(&w->fmt, 1, w->cols);
            s->bytes_per_token = sat_add(s->bytes_per_token, p->lm_head == w ? b : row);
            if (p->lm_head == w)
                s->bytes_per_token = sat_add(s->bytes_per_token, row);
        } else if (w->n_stack > 1) {
            uint64_t one = bs_wformat_matrix_bytes(&w->fmt, w->rows, w->cols), k;
            if (!bs_mul_u64(one, (uint64_t)cfg->num_experts_per_tok, &k))
                k = UINT64_MAX;
            s->bytes_per_token = sat_add(s->bytes_per_token, k);
        } else {
            s->bytes_per_token = sat_add(s->bytes_per_token, b);
        }
    }
    uint64_t Hk = (uint64_t)cfg->linear_num_key_heads, Hv = (uint64_t)cfg->linear_num_value_heads;
    uint64_t Dk = (uint64_t)cfg->linear_key_head_dim, Dv = (uint64_t)cfg->linear_value_head_dim;
    uint64_t conv_dim = 2 * Hk * Dk + Hv * Dv;
    uint64_t per_gdn = ((uint64_t)(cfg->linear_conv_kernel_dim - 1) * conv_dim + Hv * Dv * Dk) * 4;
    uint64_t per_attn = 2 * (uint64_t)cfg->num_key_value_heads * (uint64_t)cfg->head_dim * 4;
    for (int64_t i = 0; i < cfg->num_hidden_layers; i++) {
        const bs_layer_plan *lp = &p->layers[i];
        if (lp->is_attention) {
            s->attn_layers++;
            s->kv_bytes_per_pos += per_attn;
        } else {
            s->gdn_layers++;
            s->gdn_state_bytes += per_gdn;
        }
        for (int k = 0; k < lp->n_sets; k++) {
            const bs_proj_set *set = &lp->sets[k];
            int n = set->n_groups;
            if (set->kind == BS_SET_EXPERT_GATE_UP)
                n *= (int)cfg->num_experts_per_tok;
            s->dispatches_per_token += n;
            if (set->kind == BS_SET_GDN_IN) {
                if (set->n_groups == 1)
                    s->gdn_fused_layers++;
                else
                    s->gdn_split_layers++;
            }
        }
    }
}

void bs_plan_gdn_summary(const bs_model_plan *p, char *buf, size_t bufsize)
{
    bs_plan_stats s;
    bs_plan_stats_compute(p, &s);
    size_t pos = 0;
#define PUT(...)                                                            \
    do {                                                                    \
        if (pos < bufsize)                                                  \
            pos += (size_t)snprintf(buf + pos, bufsize - pos, __VA_ARGS__); \
    } while (0)
    PUT("GDN projections: %d layers fused (1 dispatch)", s.gdn_fused_layers);
    if (s.gdn_split_layers) {
        PUT(", %d split", s.gdn_split_layers);
        if (p->separate_gdn) {
            PUT(" (%s)", p->separate_why);
        } else {
            PUT(":");
            int shown = 0;
            for (int64_t i = 0; i < p->cfg->num_hidden_layers; i++) {
                const bs_layer_plan *lp = &p->layers[i];
                for (int k = 0; k < lp->n_sets; k++) {
                    const bs_proj_set *set = &lp->sets[k];
                    if (set->kind != BS_SET_GDN_IN || set->n_groups < 2)
                        continue;
                    if (shown++ == 8) {
                        PUT(" ...");
                        break;
                    }
                    char a[32], b[32];
                    const bs_weight *x = set->groups[0].mats[0];
                    const bs_weight *y = set->groups[1].mats[0];
                    PUT("%s layer %lld %s %s vs %s %s", shown > 1 ? ";" : "", (long long)i, x->role,
                        bs_wformat_str(&x->fmt, a, sizeof a), y->role,
                        bs_wformat_str(&y->fmt, b, sizeof b));
                }
                if (shown > 8)
                    break;
            }
        }
    } else if (p->separate_why && p->separate_why[0]) {
        PUT(" (%s)", p->separate_why);
    }
#undef PUT
    if (pos >= bufsize && bufsize > 4)
        memcpy(buf + bufsize - 4, "...", 4);
}
