/* The CPU implementation of the backend interface (backend.h): host fp32 buffers, weight
 * kernels from qmatvec.h, work split over a persistent thread pool. */
#ifndef BOSON_BACKEND_CPU_BACKEND_CPU_H
#define BOSON_BACKEND_CPU_BACKEND_CPU_H

#include "backend/backend.h"
#include "backend/cpu/qmatvec.h"
#include "base/threadpool.h"
#include "boson.h"

/* pool and kernels are borrowed and must outlive the backend (pool may be NULL: one
 * thread). Free with be->destroy(be). */
boson_status bs_backend_cpu_create(bs_pool *pool, const bs_cpu_kernels *kernels, bs_backend **out,
                                   boson_error *err);

#endif
