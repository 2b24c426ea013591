/* Persistent pthread pool.
 *
 * A job is published by bumping `generation`; its items are claimed in aligned chunks from
 * `ticket`, a 64-bit word holding (generation << 32 | next item), so a thread that wakes
 * late can never claim items of a newer job under an older one. The caller claims chunks
 * too and returns once `done` counts every item: a worker the OS has descheduled (the
 * machine is shared, or has fewer cores than threads) delays nothing but its own chunk.
 *
 * A decode step issues a few hundred short jobs, so both sides first spin for a bounded
 * time (SPIN_ROUNDS pause loops, tens of microseconds) before sleeping on a condition
 * variable: waking a sleeping thread costs tens of microseconds per job. Sleeping uses the
 * Dekker pattern on seq_cst atomics (the waker publishes, then reads the sleeper flag or
 * count; the sleeper registers, then re-reads the condition under the mutex), so no
 * wake-up is lost. */
#include "base/threadpool.h"

#include "base/error.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

/* Wait rounds before sleeping: the first PAUSE_ROUNDS pause (~5-10 us), the rest yield the
 * core (a descheduled thread of this pool may be the one that gets it: on a machine busier
 * than its cores, pure spinning made two threads slower than one). */
#define SPIN_ROUNDS 1024
#define PAUSE_ROUNDS 512

static void relax(int round)
{
    if (round < PAUSE_ROUNDS)
        CPU_RELAX();
    else
        sched_yield();
}
/* Chunks per thread: enough for the others to absorb a late or slow thread. */
#define CHUNKS_PER_THREAD 4
/* Items per job must fit the ticket's low 32 bits. */
#define MAX_ITEMS ((size_t)UINT32_MAX / 2)

struct bs_pool {
    int n_threads;
    pthread_t *threads; /* [n_threads - 1] */
    pthread_mutex_t mu;
    pthread_cond_t wake; /* workers wait for a new generation */
    pthread_cond_t fin;  /* caller waits for done == n_items */
    atomic_uint_fast32_t generation;
    _Atomic uint64_t ticket;    /* generation << 32 | next unclaimed item */
    atomic_size_t done;         /* items finished in the current job */
    atomic_int sleeping;        /* workers waiting on `wake` */
    atomic_int caller_sleeping; /* 1 while the caller waits on `fin` */
    atomic_int stop;
    /* current job: stored (release) after the ticket moves to the new generation and
     * before the generation is bumped */
    _Atomic(bs_pool_fn) fn;
    _Atomic(void *) ctx;
    atomic_size_t n_items, chunk;
};

typedef struct worker_arg {
    bs_pool *pool;
    int index;
} worker_arg;

void bs_pool_range(size_t n, size_t align, int nw, int w, size_t *begin, size_t *end)
{
    if (align < 1)
        align = 1;
    size_t units = (n + align - 1) / align; /* aligned blocks */
    size_t per = units / (size_t)nw, rem = units % (size_t)nw;
    size_t uw = (size_t)w;
    size_t b = uw * per + (uw < rem ? uw : rem);
    size_t e = b + per + (uw < rem ? 1 : 0);
    b *= align;
    e *= align;
    *begin = b < n ? b : n;
    *end = e < n ? e : n;
}

#define LOAD_ACQ(x) atomic_load_explicit(&(x), memory_order_acquire)
#define STORE_REL(x, v) atomic_store_explicit(&(x), (v), memory_order_release)

/* Claims and runs chunks of job `gen` until none is left (or a newer job started). The
 * job's fields are read (acquire) before each claim; the caller moves the ticket to a new
 * generation before storing (release) a new job's fields, so a field read that saw the
 * new job makes the claim fail: a successful claim ran with job `gen`'s own fields. */
static void run_chunks(bs_pool *p, uint32_t gen, int w)
{
    for (;;) {
        bs_pool_fn fn = LOAD_ACQ(p->fn);
        void *ctx = LOAD_ACQ(p->ctx);
        size_t n = LOAD_ACQ(p->n_items), chunk = LOAD_ACQ(p->chunk);
        uint64_t t = atomic_load(&p->ticket);
        size_t b;
        do {
            if ((uint32_t)(t >> 32) != gen)
                return;
            b = (size_t)(uint32_t)t;
            if (b >= n)
                return;
        } while (!atomic_compare_exchange_weak(&p->ticket, &t, t + chunk));
        size_t e = n - b < chunk ? n : b + chunk;
        fn(ctx, b, e, w);
        if (atomic_fetch_add(&p->done, e - b) + (e - b) == n && w != 0 &&
            atomic_load(&p->caller_sleeping)) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->fin);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

/* Waits until the generation differs from `seen` (or stop); returns the new one. */
static uint32_t wait_job(bs_pool *p, uint32_t seen)
{
    for (int i = 0; i < SPIN_ROUNDS; i++) {
        uint32_t g = (uint32_t)atomic_load_explicit(&p->generation, memory_order_acquire);
        if (g != seen || atomic_load_explicit(&p->stop, memory_order_relaxed))
            return g;
        relax(i);
    }
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->sleeping, 1);
    uint32_t g;
    while ((g = (uint32_t)atomic_load(&p->generation)) == seen && !atomic_load(&p->stop))
        pthread_cond_wait(&p->wake, &p->mu);
    atomic_fetch_sub(&p->sleeping, 1);
    pthread_mutex_unlock(&p->mu);
    return g;
}

static void *worker_main(void *arg)
{
    worker_arg *wa = arg;
    bs_pool *p = wa->pool;
    int index = wa->index;
    free(wa);
    uint32_t seen = 0;
    for (;;) {
        seen = wait_job(p, seen);
        if (atomic_load(&p->stop))
            return NULL;
        run_chunks(p, seen, index);
    }
}

boson_status bs_pool_create(int n_threads, bs_pool **out, boson_error *err)
{
    *out = NULL;
    if (n_threads < 0)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "thread pool: n_threads %d < 0", n_threads);
    if (n_threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        n_threads = n > 0 ? (int)(n > 1024 ? 1024 : n) : 1;
    }
    bs_pool *p = calloc(1, sizeof *p);
    if (!p)
        return bs_error_set(err, BOSON_ERR_NOMEM, "thread pool: out of memory");
    p->n_threads = 1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->fin, NULL);
    atomic_init(&p->generation, 0);
    atomic_init(&p->ticket, 0);
    atomic_init(&p->done, 0);
    atomic_init(&p->sleeping, 0);
    atomic_init(&p->caller_sleeping, 0);
    atomic_init(&p->stop, 0);
    atomic_init(&p->fn, NULL);
    atomic_init(&p->ctx, NULL);
    atomic_init(&p->n_items, 0);
    atomic_init(&p->chunk, 0);
    if (n_threads > 1) {
        p->threads = calloc((size_t)n_threads - 1, sizeof *p->threads);
        if (!p->threads) {
            bs_pool_destroy(p);
            return bs_error_set(err, BOSON_ERR_NOMEM, "thread pool: out of memory");
        }
        for (int i = 1; i < n_threads; i++) {
            worker_arg *wa = malloc(sizeof *wa);
            if (!wa) {
                bs_pool_destroy(p);
                return bs_error_set(err, BOSON_ERR_NOMEM, "thread pool: out of memory");
            }
            wa->pool = p;
            wa->index = i;
            if (pthread_create(&p->threads[i - 1], NULL, worker_main, wa) != 0) {
                free(wa);
                bs_pool_destroy(p);
                return bs_error_set(err, BOSON_ERR_RUNTIME,
                                    "thread pool: cannot start thread %d of %d", i, n_threads);
            }
            p->n_threads = i + 1;
        }
    }
    *out = p;
    return BOSON_OK;
}

void bs_pool_destroy(bs_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n_threads; i++)
        pthread_join(p->threads[i - 1], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->fin);
    free(p->threads);
    free(p);
}

int bs_pool_threads(const bs_pool *p)
{
    return p ? p->n_threads : 1;
}

void bs_pool_run(bs_pool *p, size_t n_items, size_t align, bs_pool_fn fn, void *ctx)
{
    if (n_items == 0)
        return;
    if (align < 1)
        align = 1;
    if (!p || p->n_threads == 1 || n_items <= align || n_items > MAX_ITEMS) {
        fn(ctx, 0, n_items, 0);
        return;
    }
    size_t parts = (size_t)p->n_threads * CHUNKS_PER_THREAD;
    size_t chunk = (n_items + parts - 1) / parts;
    chunk = (chunk + align - 1) / align * align;
    uint32_t gen = (uint32_t)atomic_load(&p->generation) + 1;
    atomic_store(&p->ticket, (uint64_t)gen << 32); /* first: ends claims under older ones */
    atomic_store(&p->done, 0);
    STORE_REL(p->fn, fn);
    STORE_REL(p->ctx, ctx);
    STORE_REL(p->n_items, n_items);
    STORE_REL(p->chunk, chunk);
    atomic_store(&p->generation, gen); /* publishes the job (seq_cst) */
    if (atomic_load(&p->sleeping) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mu);
    }

    run_chunks(p, gen, 0);

    for (int i = 0; i < SPIN_ROUNDS; i++) {
        if (atomic_load_explicit(&p->done, memory_order_acquire) == n_items)
            return;
        relax(i);
    }
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->caller_sleeping, 1);
    while (atomic_load(&p->done) != n_items)
        pthread_cond_wait(&p->fin, &p->mu);
    atomic_store(&p->caller_sleeping, 0);
    pthread_mutex_unlock(&p->mu);
}
