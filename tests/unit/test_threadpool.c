/* Thread pool: chunks claimed dynamically cover every item exactly once with aligned
 * starts, also over many back-to-back jobs with more threads than cores (late workers,
 * the spin and the sleep paths), and with jobs spaced out so that workers fall asleep. */
#include "check.h"

#include "base/threadpool.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct job {
    atomic_int hits[4096];
    atomic_int misaligned;
    atomic_int bad_worker;
    size_t align;
    int n_threads;
} job;

static void mark(void *ctx, size_t b, size_t e, int w)
{
    job *j = ctx;
    if (w < 0 || w >= j->n_threads)
        atomic_store(&j->bad_worker, 1);
    if (j->align > 1 && b % j->align != 0)
        atomic_store(&j->misaligned, 1);
    for (size_t i = b; i < e; i++)
        atomic_fetch_add(&j->hits[i], 1);
}

static void reset(job *j, size_t align, int threads)
{
    for (size_t i = 0; i < 4096; i++)
        atomic_store(&j->hits[i], 0);
    atomic_store(&j->misaligned, 0);
    atomic_store(&j->bad_worker, 0);
    j->align = align;
    j->n_threads = threads;
}

static int all_hit(job *j, size_t n, int times)
{
    for (size_t i = 0; i < 4096; i++)
        if (atomic_load(&j->hits[i]) != (i < n ? times : 0))
            return 0;
    return 1;
}

CHECK_TEST(chunks_cover_items_once_aligned)
{
    static job j;
    const size_t sizes[] = {1, 2, 3, 9, 17, 64, 100, 1000, 4096};
    const size_t aligns[] = {0, 1, 8, 16};
    for (int threads = 1; threads <= 5; threads++) {
        bs_pool *p;
        boson_error err = {0};
        REQUIRE(bs_pool_create(threads, &p, &err) == BOSON_OK);
        for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
            for (size_t ai = 0; ai < 4; ai++) {
                reset(&j, aligns[ai], threads);
                for (int rep = 0; rep < 5; rep++)
                    bs_pool_run(p, sizes[si], aligns[ai], mark, &j);
                CHECK(all_hit(&j, sizes[si], 5));
                CHECK(!atomic_load(&j.misaligned));
                CHECK(!atomic_load(&j.bad_worker));
            }
        bs_pool_destroy(p);
    }
}

CHECK_TEST(many_back_to_back_jobs_oversubscribed)
{
    static job j;
    bs_pool *p;
    boson_error err = {0};
    REQUIRE(bs_pool_create(6, &p, &err) == BOSON_OK);
    reset(&j, 8, 6);
    for (int rep = 0; rep < 20000; rep++)
        bs_pool_run(p, 256, 8, mark, &j);
    CHECK(all_hit(&j, 256, 20000));
    CHECK(!atomic_load(&j.misaligned));
    bs_pool_destroy(p);
}

CHECK_TEST(jobs_after_workers_sleep)
{
    static job j;
    bs_pool *p;
    boson_error err = {0};
    REQUIRE(bs_pool_create(3, &p, &err) == BOSON_OK);
    reset(&j, 1, 3);
    for (int rep = 0; rep < 20; rep++) {
        struct timespec ts = {0, 3 * 1000 * 1000}; /* 3 ms: past the spin, workers sleep */
        nanosleep(&ts, NULL);
        bs_pool_run(p, 999, 1, mark, &j);
    }
    CHECK(all_hit(&j, 999, 20));
    bs_pool_destroy(p);
}

int main(void)
{
    return check_main("test_threadpool", (const check_case[]){
                                             CHECK_CASE(chunks_cover_items_once_aligned),
                                             CHECK_CASE(many_back_to_back_jobs_oversubscribed),
                                             CHECK_CASE(jobs_after_workers_sleep),
                                             {0},
                                         });
}
