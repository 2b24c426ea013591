#include "base/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *boson_status_name(boson_status status)
{
    switch (status) {
    case BOSON_OK: return "ok";
    case BOSON_ERR_INVALID_ARG: return "invalid argument";
    case BOSON_ERR_IO: return "I/O error";
    case BOSON_ERR_FORMAT: return "format error";
    case BOSON_ERR_CONFIG: return "config error";
    case BOSON_ERR_UNSUPPORTED: return "unsupported";
    case BOSON_ERR_NOMEM: return "out of memory";
    case BOSON_ERR_RUNTIME: return "runtime error";
    case BOSON_ERR_CANCELLED: return "cancelled";
    }
    return "unknown status";
}

boson_status bs_error_set(boson_error *err, boson_status status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->status = status;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return status;
}

boson_status bs_error_prefix(boson_error *err, const char *fmt, ...)
{
    if (!err)
        return BOSON_ERR_RUNTIME;
    char prefix[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return err->status;
    size_t plen = strlen(prefix);
    size_t cap = sizeof err->message;
    size_t olen = strnlen(err->message, cap - 1);
    if (plen >= cap)
        plen = cap - 1;
    if (olen > cap - 1 - plen)
        olen = cap - 1 - plen; /* keep the prefix, truncate the tail of the old message */
    memmove(err->message + plen, err->message, olen);
    memcpy(err->message, prefix, plen);
    err->message[plen + olen] = '\0';
    return err->status;
}

void bs_error_clear(boson_error *err)
{
    if (err) {
        err->status = BOSON_OK;
        err->message[0] = '\0';
    }
}

_Noreturn void bs_assert_fail(const char *what, const char *file, int line)
{
    fprintf(stderr, "boson: internal error: assertion '%s' failed at %s:%d\n", what, file, line);
    abort();
}
