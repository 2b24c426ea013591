/* Per-sequence state: allocation, growth, snapshot and restore. */
#include "model/cache.h"

#include "base/checked.h"
#include "base/error.h"

#include <stdlib.h>
#include <string.h>

struct bs_snapshot {
    bs_state *owner; /* the state it was taken from; NULL once that state is freed */
    bs_backend *be;  /* where the copies live */
    int n_layers;
    int with_kv;
    int stale; /* light snapshot whose KV prefix was rewritten */
    int64_t pos;
    bs_state_layer *layers; /* copies (k, v only when with_kv, sized pos positions) */
    bs_snapshot *next;      /* owner's list of live snapshots */
};

static void free_layers(bs_backend *be, bs_state_layer *ls, int n)
{
    if (!ls)
        return;
    for (int i = 0; i < n; i++) {
        be->free(be, ls[i].k);
        be->free(be, ls[i].v);
        be->free(be, ls[i].conv);
        be->free(be, ls[i].ssm);
    }
    free(ls);
}

boson_status bs_state_init(bs_state *s, bs_backend *be, const bs_config *cfg, boson_error *err)
{
    memset(s, 0, sizeof *s);
    s->be = be;
    s->n_layers = (int)cfg->num_hidden_layers;
    uint64_t key_dim, conv_dim, kvw, cs, ss;
    if (!bs_mul_u64((uint64_t)cfg->linear_num_key_heads, (uint64_t)cfg->linear_key_head_dim,
                    &key_dim) ||
        !bs_mul_u64((uint64_t)cfg->linear_num_value_heads, (uint64_t)cfg->linear_value_head_dim,
                    &conv_dim) ||
        !bs_add_u64(conv_dim, 2 * key_dim, &conv_dim) ||
        !bs_mul_u64(conv_dim, (uint64_t)(cfg->linear_conv_kernel_dim - 1), &cs) ||
        !bs_mul_u64((uint64_t)(cfg->linear_num_value_heads * cfg->linear_value_head_dim),
                    (uint64_t)cfg->linear_key_head_dim, &ss) ||
        !bs_mul_u64((uint64_t)cfg->num_key_value_heads, (uint64_t)cfg->head_dim, &kvw))
        return bs_error_set(err, BOSON_ERR_CONFIG, "state: size overflow in the config");
    s->kv_width = (size_t)kvw;
    s->conv_size = (size_t)cs;
    s->ssm_size = (size_t)ss;
    s->layers = calloc((size_t)s->n_layers, sizeof *s->layers);
    if (!s->layers)
        return bs_error_set(err, BOSON_ERR_NOMEM, "state: out of memory");
    for (int i = 0; i < s->n_layers; i++) {
        if (cfg->layer_is_attention[i])
            continue;
        s->layers[i].conv = be->alloc(be, s->conv_size);
        s->layers[i].ssm = be->alloc(be, s->ssm_size);
        if (!s->layers[i].conv || !s->layers[i].ssm) {
            bs_state_free(s);
            return bs_error_set(err, BOSON_ERR_NOMEM,
                                "state: out of memory for the GDN state of layer %d", i);
        }
    }
    /* attention layers keep k = v = NULL until the first bs_state_reserve */
    return BOSON_OK;
}

static void detach_light(bs_state *s)
{
    for (bs_snapshot *p = s->light; p; p = p->next)
        p->owner = NULL;
    s->light = NULL;
}

void bs_state_free(bs_state *s)
{
    if (!s || !s->be)
        return;
    detach_light(s);
    free_layers(s->be, s->layers, s->n_layers);
    memset(s, 0, sizeof *s);
}

static int is_attention(const bs_state *s, int i)
{
    return s->layers[i].conv == NULL;
}

boson_status bs_state_reserve(bs_state *s, int64_t n_pos, boson_error *err)
{
    if (n_pos <= s->kv_cap)
        return BOSON_OK;
    int64_t cap = s->kv_cap ? s->kv_cap : 256;
    while (cap < n_pos)
        cap *= 2;
    uint64_t nf;
    if (!bs_mul_u64((uint64_t)cap, s->kv_width, &nf))
        return bs_error_set(err, BOSON_ERR_NOMEM, "state: KV cache of %lld positions overflows",
                            (long long)cap);
    bs_backend *be = s->be;
    for (int i = 0; i < s->n_layers; i++) {
        if (!is_attention(s, i))
            continue;
        float *k = be->alloc(be, (size_t)nf), *v = be->alloc(be, (size_t)nf);
        if (!k || !v) {
            be->free(be, k);
            be->free(be, v);
            return bs_error_set(err, BOSON_ERR_NOMEM,
                                "state: out of memory growing the KV cache of layer %d to %lld "
                                "positions",
                                i, (long long)cap);
        }
        if (s->layers[i].k) {
            be->copy(be, k, s->layers[i].k, (size_t)s->pos * s->kv_width);
            be->copy(be, v, s->layers[i].v, (size_t)s->pos * s->kv_width);
        }
        be->free(be, s->layers[i].k);
        be->free(be, s->layers[i].v);
        s->layers[i].k = k;
        s->layers[i].v = v;
    }
    s->kv_cap = cap;
    return BOSON_OK;
}

/* Light snapshots whose KV prefix is rewritten once positions >= floor are overwritten. */
static void invalidate_above(bs_state *s, int64_t floor)
{
    for (bs_snapshot *p = s->light; p; p = p->next)
        if (!p->with_kv && p->pos > floor)
            p->stale = 1;
}

void bs_state_reset(bs_state *s)
{
    bs_backend *be = s->be;
    for (int i = 0; i < s->n_layers; i++) {
        if (is_attention(s, i))
            continue;
        be->fill(be, s->layers[i].conv, 0.0f, s->conv_size);
        be->fill(be, s->layers[i].ssm, 0.0f, s->ssm_size);
    }
    invalidate_above(s, 0);
    s->pos = 0;
}

boson_status bs_state_snapshot(bs_state *s, int with_kv, bs_snapshot **out, boson_error *err)
{
    *out = NULL;
    bs_backend *be = s->be;
    bs_snapshot *sn = calloc(1, sizeof *sn);
    if (!sn || !(sn->layers = calloc((size_t)s->n_layers, sizeof *sn->layers))) {
        free(sn);
        return bs_error_set(err, BOSON_ERR_NOMEM, "snapshot: out of memory");
    }
    sn->owner = s;
    sn->be = be;
    sn->n_layers = s->n_layers;
    sn->with_kv = with_kv;
    sn->pos = s->pos;
    size_t kvn = (size_t)s->pos * s->kv_width;
    for (int i = 0; i < s->n_layers; i++) {
        bs_state_layer *d = &sn->layers[i];
        const bs_state_layer *l = &s->layers[i];
        int ok = 1;
        if (is_attention(s, i)) {
            if (with_kv && kvn) {
                d->k = be->alloc(be, kvn);
                d->v = be->alloc(be, kvn);
                ok = d->k && d->v;
                if (ok) {
                    be->copy(be, d->k, l->k, kvn);
                    be->copy(be, d->v, l->v, kvn);
                }
            }
        } else {
            d->conv = be->alloc(be, s->conv_size);
            d->ssm = be->alloc(be, s->ssm_size);
            ok = d->conv && d->ssm;
            if (ok) {
                be->copy(be, d->conv, l->conv, s->conv_size);
                be->copy(be, d->ssm, l->ssm, s->ssm_size);
            }
        }
        if (!ok) {
            free_layers(be, sn->layers, s->n_layers);
            free(sn);
            return bs_error_set(err, BOSON_ERR_NOMEM, "snapshot: out of memory at layer %d", i);
        }
    }
    sn->next = s->light;
    s->light = sn;
    *out = sn;
    return BOSON_OK;
}

boson_status bs_state_restore(bs_state *s, const bs_snapshot *sn, boson_error *err)
{
    if (sn->owner != s)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG,
                            "restore: the snapshot belongs to another session");
    if (!sn->with_kv && (sn->stale || sn->pos > s->pos))
        return bs_error_set(err, BOSON_ERR_INVALID_ARG,
                            "restore: light snapshot at position %lld is stale (the KV cache "
                            "below it was rewritten since); take a full snapshot instead",
                            (long long)sn->pos);
    if (sn->with_kv) {
        boson_status st = bs_state_reserve(s, sn->pos, err);
        if (st != BOSON_OK)
            return st;
    }
    bs_backend *be = s->be;
    size_t kvn = (size_t)sn->pos * s->kv_width;
    for (int i = 0; i < s->n_layers; i++) {
        const bs_state_layer *l = &sn->layers[i];
        bs_state_layer *d = &s->layers[i];
        if (is_attention(s, i)) {
            if (sn->with_kv && kvn) {
                be->copy(be, d->k, l->k, kvn);
                be->copy(be, d->v, l->v, kvn);
            }
        } else {
            be->copy(be, d->conv, l->conv, s->conv_size);
            be->copy(be, d->ssm, l->ssm, s->ssm_size);
        }
    }
    /* a full restore may change any KV entry; a light one keeps [0, pos) and later writes
     * start at pos */
    invalidate_above(s, sn->with_kv ? 0 : sn->pos);
    s->pos = sn->pos;
    return BOSON_OK;
}

int64_t bs_snapshot_position(const bs_snapshot *sn)
{
    return sn->pos;
}

void bs_snapshot_free(bs_snapshot *sn)
{
    if (!sn)
        return;
    bs_state *s = sn->owner;
    if (s) {
        for (bs_snapshot **pp = &s->light; *pp; pp = &(*pp)->next)
            if (*pp == sn) {
                *pp = sn->next;
                break;
            }
    }
    free_layers(sn->be, sn->layers, sn->n_layers);
    free(sn);
}
