#include "base/readfile.h"

#include "base/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

boson_status bs_read_file(const char *path, uint64_t max_bytes, char **out, size_t *len,
                          boson_error *err)
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return bs_error_set(err, BOSON_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return bs_error_set(err, BOSON_ERR_IO, "%s: not a regular file", path);
    }
    if (st.st_size < 0 || (uint64_t)st.st_size > max_bytes) {
        close(fd);
        return bs_error_set(err, BOSON_ERR_IO, "%s: %lld bytes is larger than the limit of %llu",
                            path, (long long)st.st_size, (unsigned long long)max_bytes);
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return bs_error_set(err, BOSON_ERR_NOMEM, "%s: out of memory", path);
    }
    while (n < cap - 1) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return bs_error_set(err, BOSON_ERR_IO, "%s: read error: %s", path, strerror(e));
        }
        if (r == 0)
            break; /* the file shrank while reading: take what is there */
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return BOSON_OK;
}
