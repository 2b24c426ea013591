#include "text/bpe.h"

#include <stdlib.h>
#include <string.h>

#define EMPTY_KEY UINT64_MAX
#define CACHE_SLOTS 16384u  /* power of two */
#define CACHE_MAX_PIECE 64u /* longer pieces are not cached */
#define CACHE_MAX_KEY_BYTES (1u << 20)

int bs_ids_push(bs_ids *v, int32_t id)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 256;
        int32_t *p = (int32_t *)realloc(v->ids, cap * sizeof *p);
        if (!p)
            return 0;
        v->ids = p;
        v->cap = cap;
    }
    v->ids[v->n++] = id;
    return 1;
}

void bs_ids_free(bs_ids *v)
{
    free(v->ids);
    v->ids = NULL;
    v->n = v->cap = 0;
}

static inline size_t pair_slot(uint64_t key, size_t mask)
{
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 29) & mask;
}

static uint64_t hash_bytes(const uint8_t *s, size_t n)
{
    uint64_t h = 0x243F6A8885A308D3ull ^ (n * 0x9E3779B97F4A7C15ull);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDull;
        h ^= h >> 32;
    }
    uint64_t t = 0;
    for (size_t k = 0; i + k < n; k++)
        t |= (uint64_t)s[i + k] << (8 * k);
    h = (h ^ t) * 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 29;
    return h;
}

static size_t table_size(size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n + 2)
        cap *= 2;
    return cap;
}

boson_status bs_bpe_init_merges(bs_bpe *m, size_t n_merges, boson_error *err)
{
    size_t cap = table_size(n_merges);
    m->mkeys = (uint64_t *)malloc(cap * sizeof *m->mkeys);
    m->mrank = (uint32_t *)malloc(cap * sizeof *m->mrank);
    m->mnew = (int32_t *)malloc(cap * sizeof *m->mnew);
    if (!m->mkeys || !m->mrank || !m->mnew)
        return bs_error_set(err, BOSON_ERR_NOMEM, "tokenizer: cannot allocate merge table");
    for (size_t i = 0; i < cap; i++)
        m->mkeys[i] = EMPTY_KEY;
    m->mmask = cap - 1;
    return BOSON_OK;
}

void bs_bpe_add_merge(bs_bpe *m, int32_t left, int32_t right, uint32_t rank, int32_t merged)
{
    uint64_t key = ((uint64_t)(uint32_t)left << 32) | (uint32_t)right;
    size_t i = pair_slot(key, m->mmask);
    while (m->mkeys[i] != EMPTY_KEY && m->mkeys[i] != key)
        i = (i + 1) & m->mmask;
    m->mkeys[i] = key;
    m->mrank[i] = rank;
    m->mnew[i] = merged;
}

int bs_bpe_find_merge(const bs_bpe *m, int32_t left, int32_t right, uint32_t *rank, int32_t *merged)
{
    uint64_t key = ((uint64_t)(uint32_t)left << 32) | (uint32_t)right;
    size_t i = pair_slot(key, m->mmask);
    for (;;) {
        uint64_t k = m->mkeys[i];
        if (k == key) {
            *rank = m->mrank[i];
            *merged = m->mnew[i];
            return 1;
        }
        if (k == EMPTY_KEY)
            return 0;
        i = (i + 1) & m->mmask;
    }
}

boson_status bs_bpe_init_vocab(bs_bpe *m, size_t n_ids, const uint8_t *in_vocab,
                               const uint8_t *blob, const uint64_t *off, const uint32_t *len,
                               boson_error *err)
{
    size_t count = 0;
    for (size_t i = 0; i < n_ids; i++)
        count += in_vocab[i] != 0;
    size_t cap = table_size(count);
    m->vslots = (int32_t *)malloc(cap * sizeof *m->vslots);
    if (!m->vslots)
        return bs_error_set(err, BOSON_ERR_NOMEM, "tokenizer: cannot allocate vocabulary table");
    memset(m->vslots, 0xFF, cap * sizeof *m->vslots);
    m->vmask = cap - 1;
    m->blob = blob;
    m->off = off;
    m->len = len;
    for (size_t id = 0; id < n_ids; id++) {
        if (!in_vocab[id])
            continue;
        const uint8_t *s = blob + off[id];
        size_t i = (size_t)hash_bytes(s, len[id]) & m->vmask;
        while (m->vslots[i] >= 0) {
            int32_t o = m->vslots[i];
            if (len[o] == len[id] && memcmp(blob + off[o], s, len[id]) == 0)
                break; /* duplicate bytes: keep the first id */
            i = (i + 1) & m->vmask;
        }
        if (m->vslots[i] < 0)
            m->vslots[i] = (int32_t)id;
    }
    return BOSON_OK;
}

int32_t bs_bpe_lookup(const bs_bpe *m, const uint8_t *s, size_t n)
{
    if (!m->vslots)
        return -1;
    size_t i = (size_t)hash_bytes(s, n) & m->vmask;
    for (;;) {
        int32_t id = m->vslots[i];
        if (id < 0)
            return -1;
        if (m->len[id] == n && memcmp(m->blob + m->off[id], s, n) == 0)
            return id;
        i = (i + 1) & m->vmask;
    }
}

void bs_bpe_free(bs_bpe *m)
{
    free(m->mkeys);
    free(m->mrank);
    free(m->mnew);
    free(m->vslots);
    m->mkeys = NULL;
    m->mrank = NULL;
    m->mnew = NULL;
    m->vslots = NULL;
}

/* ---- merge loop ---- */

typedef struct sym {
    int32_t id;
    int32_t prev, next; /* -1 at the ends */
    int32_t alive;
} sym;

typedef struct merge_ent {
    uint32_t rank;
    uint32_t pos;
    int32_t merged;
} merge_ent;

static inline int ent_less(const merge_ent *a, const merge_ent *b)
{
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static void heap_push(merge_ent *h, size_t *n, merge_ent e)
{
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!ent_less(&e, &h[p]))
            break;
        h[i] = h[p];
        i = p;
    }
    h[i] = e;
}

static merge_ent heap_pop(merge_ent *h, size_t *n)
{
    merge_ent top = h[0];
    merge_ent last = h[--(*n)];
    size_t i = 0, cnt = *n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= cnt)
            break;
        if (c + 1 < cnt && ent_less(&h[c + 1], &h[c]))
            c++;
        if (!ent_less(&h[c], &last))
            break;
        h[i] = h[c];
        i = c;
    }
    if (cnt)
        h[i] = last;
    return top;
}

static int scratch_reserve(bs_bpe_scratch *sc, size_t n)
{
    if (sc->sym_cap < n) {
        void *p = realloc(sc->sym, n * sizeof(sym));
        if (!p)
            return 0;
        sc->sym = p;
        sc->sym_cap = n;
    }
    /* every merge pushes at most two entries, plus the initial n - 1 */
    size_t hn = 3 * n + 4;
    if (sc->heap_cap < hn) {
        void *p = realloc(sc->heap, hn * sizeof(merge_ent));
        if (!p)
            return 0;
        sc->heap = p;
        sc->heap_cap = hn;
    }
    return 1;
}

void bs_bpe_scratch_free(bs_bpe_scratch *sc)
{
    free(sc->sym);
    free(sc->heap);
    memset(sc, 0, sizeof *sc);
}

static boson_status merge_piece(const bs_bpe *m, bs_bpe_scratch *sc, const uint8_t *s, size_t n,
                                bs_ids *out, boson_error *err)
{
    if (n > INT32_MAX - 8)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "tokenizer: piece of %zu bytes is too long",
                            n);
    if (!scratch_reserve(sc, n))
        return bs_error_set(err, BOSON_ERR_NOMEM, "tokenizer: out of memory in BPE (%zu bytes)", n);
    sym *sy = (sym *)sc->sym;
    merge_ent *heap = (merge_ent *)sc->heap;
    size_t ns = 0, hn = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = m->byte_id[s[i]];
        if (id < 0)
            continue; /* no token for this byte and no unk token: dropped, as in HF */
        sy[ns].id = id;
        sy[ns].prev = (int32_t)ns - 1;
        sy[ns].next = (int32_t)ns + 1;
        sy[ns].alive = 1;
        ns++;
    }
    if (ns == 0)
        return BOSON_OK;
    sy[ns - 1].next = -1;
    for (size_t i = 0; i + 1 < ns; i++) {
        merge_ent e;
        if (bs_bpe_find_merge(m, sy[i].id, sy[i + 1].id, &e.rank, &e.merged)) {
            e.pos = (uint32_t)i;
            heap_push(heap, &hn, e);
        }
    }
    while (hn) {
        merge_ent top = heap_pop(heap, &hn);
        sym *a = &sy[top.pos];
        if (!a->alive || a->next < 0)
            continue;
        sym *b = &sy[a->next];
        uint32_t r;
        int32_t merged;
        if (!bs_bpe_find_merge(m, a->id, b->id, &r, &merged) || merged != top.merged)
            continue; /* stale entry */
        a->id = top.merged;
        b->alive = 0;
        a->next = b->next;
        if (a->next >= 0)
            sy[a->next].prev = (int32_t)top.pos;
        merge_ent e;
        if (a->prev >= 0 && bs_bpe_find_merge(m, sy[a->prev].id, a->id, &e.rank, &e.merged)) {
            e.pos = (uint32_t)a->prev;
            heap_push(heap, &hn, e);
        }
        if (a->next >= 0 && bs_bpe_find_merge(m, a->id, sy[a->next].id, &e.rank, &e.merged)) {
            e.pos = top.pos;
            heap_push(heap, &hn, e);
        }
    }
    for (int32_t i = 0; i >= 0; i = sy[i].next)
        if (!bs_ids_push(out, sy[i].id))
            return bs_error_set(err, BOSON_ERR_NOMEM, "tokenizer: out of memory");
    return BOSON_OK;
}

/* ---- piece cache ---- */

typedef struct cache_slot {
    uint64_t hash;
    uint32_t key_off, vals_off;
    uint16_t key_len, n_vals; /* key_len 0: empty slot */
} cache_slot;

void bs_bpe_cache_free(bs_bpe_cache *c)
{
    free(c->slots);
    free(c->keys);
    free(c->vals);
    memset(c, 0, sizeof *c);
}

static void cache_clear(bs_bpe_cache *c)
{
    memset(c->slots, 0, (c->mask + 1) * sizeof(cache_slot));
    c->used = 0;
    c->keys_n = 0;
    c->vals_n = 0;
}

static int cache_init(bs_bpe_cache *c)
{
    c->slots = calloc(CACHE_SLOTS, sizeof(cache_slot));
    c->keys_cap = CACHE_MAX_KEY_BYTES;
    c->keys = (uint8_t *)malloc(c->keys_cap);
    c->vals_cap = CACHE_MAX_KEY_BYTES;
    c->vals = (int32_t *)malloc(c->vals_cap * sizeof(int32_t));
    if (!c->slots || !c->keys || !c->vals) {
        bs_bpe_cache_free(c);
        return 0;
    }
    c->mask = CACHE_SLOTS - 1;
    return 1;
}

static boson_status encode_uncached(const bs_bpe *m, bs_bpe_scratch *sc, const uint8_t *s, size_t n,
                                    bs_ids *out, boson_error *err)
{
    if (m->ignore_merges) {
        int32_t id = bs_bpe_lookup(m, s, n);
        if (id >= 0)
            return bs_ids_push(out, id)
                       ? BOSON_OK
                       : bs_error_set(err, BOSON_ERR_NOMEM, "tokenizer: out of memory");
    }
    return merge_piece(m, sc, s, n, out, err);
}

boson_status bs_bpe_encode(const bs_bpe *m, bs_bpe_scratch *sc, bs_bpe_cache *cache,
                           const uint8_t *s, size_t n, bs_ids *out, boson_error *err)
{
    if (n == 1 && m->byte_id[s[0]] >= 0) /* fast path: nothing to merge */
        return bs_ids_push(out, m->byte_id[s[0]])
                   ? BOSON_OK
                   : bs_error_set(err, BOSON_ERR_NOMEM, "tokenizer: out of memory");
    if (!cache || n > CACHE_MAX_PIECE || n == 0)
        return encode_uncached(m, sc, s, n, out, err);
    if (!cache->slots && !cache_init(cache))
        return encode_uncached(m, sc, s, n, out, err);
    uint64_t h = hash_bytes(s, n);
    cache_slot *slots = (cache_slot *)cache->slots;
    size_t i = (size_t)h & cache->mask;
    while (slots[i].key_len) {
        cache_slot *e = &slots[i];
        if (e->hash == h && e->key_len == n && memcmp(cache->keys + e->key_off, s, n) == 0) {
            for (size_t k = 0; k < e->n_vals; k++)
                if (!bs_ids_push(out, cache->vals[e->vals_off + k]))
                    return bs_error_set(err, BOSON_ERR_NOMEM, "tokenizer: out of memory");
            return BOSON_OK;
        }
        i = (i + 1) & cache->mask;
    }
    size_t before = out->n;
    boson_status st = encode_uncached(m, sc, s, n, out, err);
    if (st != BOSON_OK)
        return st;
    size_t nv = out->n - before;
    if (cache->used + 1 > (cache->mask + 1) / 2 || cache->keys_n + n > cache->keys_cap ||
        cache->vals_n + nv > cache->vals_cap) {
        cache_clear(cache);
        i = (size_t)h & cache->mask;
    }
    cache_slot *e = &slots[i];
    e->hash = h;
    e->key_off = (uint32_t)cache->keys_n;
    e->key_len = (uint16_t)n;
    e->vals_off = (uint32_t)cache->vals_n;
    e->n_vals = (uint16_t)nv;
    memcpy(cache->keys + cache->keys_n, s, n);
    cache->keys_n += n;
    memcpy(cache->vals + cache->vals_n, out->ids + before, nv * sizeof(int32_t));
    cache->vals_n += nv;
    cache->used++;
    return BOSON_OK;
}
