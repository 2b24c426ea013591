/* Status + message errors used throughout the library (never exits). */
#ifndef BOSON_BASE_ERROR_H
#define BOSON_BASE_ERROR_H

#include "boson.h"

#include <stdarg.h>

/* Sets err (if non-NULL) to status with a printf-style message and returns status.
 * Safe to call with err == NULL. */
boson_status bs_error_set(boson_error *err, boson_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends context ("while loading X: ") to an existing message, keeps the status. */
boson_status bs_error_prefix(boson_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Clears err to BOSON_OK with an empty message. */
void bs_error_clear(boson_error *err);

/* Broken invariant (programmer error): abort with file and line. */
#define BS_ASSERT(cond)                                \
    do {                                               \
        if (!(cond))                                   \
            bs_assert_fail(#cond, __FILE__, __LINE__); \
    } while (0)

_Noreturn void bs_assert_fail(const char *what, const char *file, int line);

#endif
