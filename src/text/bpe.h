/* Byte-level BPE model: merge-rank table, merge loop and a per-thread piece cache.
 *
 * Token strings are converted from their byte-level form to raw bytes at load time, so the
 * merge loop works on raw bytes: each byte starts as its single-byte token, then the adjacent
 * pair with the lowest merge rank is merged (leftmost on ties) until no pair has a merge. The loop
 * is HF tokenizers' (binary heap of (rank, position) with lazy invalidation: an entry is stale
 * when its left symbol is gone or the pair there no longer merges into the entry's token), so it
 * is O(n log n) for long pieces (10k repeated letters, long space runs).
 *
 * A bs_bpe is immutable after loading and shared; bs_bpe_scratch and bs_bpe_cache belong to one
 * thread at a time. */
#ifndef BOSON_TEXT_BPE_H
#define BOSON_TEXT_BPE_H

#include "base/error.h"

#include <stddef.h>
#include <stdint.h>

typedef struct bs_ids {
    int32_t *ids;
    size_t n, cap;
} bs_ids;

/* Appends one id; returns 0 on allocation failure. */
int bs_ids_push(bs_ids *v, int32_t id);
void bs_ids_free(bs_ids *v);

typedef struct bs_bpe {
    int32_t byte_id[256]; /* single-byte token of each byte, -1 if the vocabulary lacks it */
    /* (left id, right id) -> (rank, merged id), open addressing */
    uint64_t *mkeys;
    uint32_t *mrank;
    int32_t *mnew;
    size_t mmask;
    /* raw token bytes -> id (only tokens whose string is byte-level text), open addressing */
    int32_t *vslots;
    size_t vmask;
    const uint8_t *blob; /* token bytes of id i: blob[off[i] .. off[i] + len[i]) */
    const uint64_t *off;
    const uint32_t *len;
    int ignore_merges; /* a piece that is itself a token is not merged */
} bs_bpe;

/* Allocates the merge table for up to n_merges entries. */
boson_status bs_bpe_init_merges(bs_bpe *m, size_t n_merges, boson_error *err);
/* Adds a merge; a pair already present is overwritten (later entries win, as in HF). */
void bs_bpe_add_merge(bs_bpe *m, int32_t left, int32_t right, uint32_t rank, int32_t merged);
/* Looks a pair up; returns 1 and fills rank/merged when present. */
int bs_bpe_find_merge(const bs_bpe *m, int32_t left, int32_t right, uint32_t *rank,
                      int32_t *merged);

/* Builds the bytes -> id table over ids [0, n_ids) for which in_vocab[id] is non-zero, reading
 * the token bytes through blob/off/len (kept by pointer: they must outlive m). */
boson_status bs_bpe_init_vocab(bs_bpe *m, size_t n_ids, const uint8_t *in_vocab,
                               const uint8_t *blob, const uint64_t *off, const uint32_t *len,
                               boson_error *err);
/* Id of the token whose bytes are s[0..n), or -1. */
int32_t bs_bpe_lookup(const bs_bpe *m, const uint8_t *s, size_t n);

void bs_bpe_free(bs_bpe *m);

typedef struct bs_bpe_scratch {
    void *sym; /* symbols */
    size_t sym_cap;
    void *heap;
    size_t heap_cap;
} bs_bpe_scratch;

void bs_bpe_scratch_free(bs_bpe_scratch *sc);

/* Piece cache: raw piece bytes -> ids, bounded (emptied when full). */
typedef struct bs_bpe_cache {
    void *slots;
    size_t mask, used;
    uint8_t *keys;
    size_t keys_n, keys_cap;
    int32_t *vals;
    size_t vals_n, vals_cap;
} bs_bpe_cache;

void bs_bpe_cache_free(bs_bpe_cache *c);

/* Encodes one piece (raw bytes) and appends its ids to out. cache may be NULL. */
boson_status bs_bpe_encode(const bs_bpe *m, bs_bpe_scratch *sc, bs_bpe_cache *cache,
                           const uint8_t *s, size_t n, bs_ids *out, boson_error *err);

#endif
