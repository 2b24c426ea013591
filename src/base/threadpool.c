/* Persistent pthread pool: a generation counter wakes the workers, a countdown tells the
 * caller when every range is done. */
#include "base/threadpool.h"

#include "base/error.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

struct bs_pool {
    int n_threads;
    pthread_t *threads; /* [n_threads - 1] */
    pthread_mutex_t mu;
    pthread_cond_t wake; /* workers wait for a new generation */
    pthread_cond_t done; /* caller waits for pending == 0 */
    unsigned long generation;
    int pending; /* workers still running the current job */
    int stop;
    /* current job */
    bs_pool_fn fn;
    void *ctx;
    size_t n_items, align;
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

static void run_range(bs_pool *p, int w)
{
    size_t b, e;
    bs_pool_range(p->n_items, p->align, p->n_threads, w, &b, &e);
    if (b < e)
        p->fn(p->ctx, b, e, w);
}

static void *worker_main(void *arg)
{
    worker_arg *wa = arg;
    bs_pool *p = wa->pool;
    int index = wa->index;
    free(wa);
    unsigned long seen = 0;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->stop && p->generation == seen)
            pthread_cond_wait(&p->wake, &p->mu);
        if (p->stop) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        seen = p->generation;
        pthread_mutex_unlock(&p->mu);

        run_range(p, index);

        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0)
            pthread_cond_signal(&p->done);
        pthread_mutex_unlock(&p->mu);
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
    pthread_cond_init(&p->done, NULL);
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
    p->stop = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n_threads; i++)
        pthread_join(p->threads[i - 1], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
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
    if (!p || p->n_threads == 1 || n_items <= (align > 1 ? align : 1)) {
        fn(ctx, 0, n_items, 0);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->n_items = n_items;
    p->align = align;
    p->pending = p->n_threads - 1;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);

    run_range(p, 0);

    pthread_mutex_lock(&p->mu);
    while (p->pending > 0)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
