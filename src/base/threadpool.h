/* Persistent pthread pool for math (DESIGN.md decision 6): created once by the engine, its
 * workers spin briefly, then sleep between jobs. bs_pool_run is a parallel-for: the range
 * [0, n_items) is cut into aligned chunks (a few per thread) that the caller and the
 * workers claim dynamically, so a thread the OS delays holds up only its own chunk. Which
 * thread runs which chunk varies from run to run: fn must compute every item the same
 * way whatever range it comes in (all users split independent rows, heads or channels),
 * which keeps results deterministic. No global state. */
#ifndef BOSON_BASE_THREADPOOL_H
#define BOSON_BASE_THREADPOOL_H

#include "boson.h"

#include <stddef.h>

typedef struct bs_pool bs_pool;

/* fn processes items [begin, end); worker is 0 .. n_threads-1 (0 = the calling thread).
 * It is called only for non-empty ranges. */
typedef void (*bs_pool_fn)(void *ctx, size_t begin, size_t end, int worker);

/* n_threads counts the caller; 0 = number of online CPUs. */
boson_status bs_pool_create(int n_threads, bs_pool **out, boson_error *err);
void bs_pool_destroy(bs_pool *pool);
int bs_pool_threads(const bs_pool *pool);

/* Runs fn over [0, n_items) split into contiguous chunks whose starts are multiples of
 * `align` (align 0 or 1 = no alignment). Returns when all chunks are done. Not reentrant:
 * one run at a time per pool. */
void bs_pool_run(bs_pool *pool, size_t n_items, size_t align, bs_pool_fn fn, void *ctx);

/* The range of worker w when [0, n) is split statically over nw workers with alignment
 * align (a helper for callers that want a fixed partition; bs_pool_run does not use it). */
void bs_pool_range(size_t n, size_t align, int nw, int w, size_t *begin, size_t *end);

#endif
