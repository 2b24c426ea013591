#include "base/mapfile.h"

#include "base/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

boson_status bs_mapfile_open(const char *path, bs_mapfile *out, boson_error *err)
{
    memset(out, 0, sizeof *out);
    /* O_NONBLOCK: opening a FIFO named like a shard must not block (it is then rejected as
     * not a regular file); it has no effect on reads of a regular file. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return bs_error_set(err, BOSON_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return bs_error_set(err, BOSON_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return bs_error_set(err, BOSON_ERR_IO, "%s: not a regular file", path);
    }
    if (st.st_size < 0 || (uint64_t)st.st_size > (uint64_t)SIZE_MAX) {
        close(fd);
        return bs_error_set(err, BOSON_ERR_IO, "%s: file size %lld cannot be mapped", path,
                            (long long)st.st_size);
    }
    uint64_t size = (uint64_t)st.st_size;
    if (size == 0) {
        close(fd);
        return BOSON_OK;
    }
    void *p = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd); /* the mapping keeps the file referenced */
    if (p == MAP_FAILED)
        return bs_error_set(err, BOSON_ERR_IO, "%s: cannot map %llu bytes: %s", path,
                            (unsigned long long)size, strerror(e));
    out->data = p;
    out->size = size;
    return BOSON_OK;
}

void bs_mapfile_unmap(uint8_t *data, uint64_t size)
{
    if (data && size)
        munmap(data, (size_t)size);
}

void bs_mapfile_close(bs_mapfile *m)
{
    if (!m)
        return;
    bs_mapfile_unmap(m->data, m->size);
    m->data = NULL;
    m->size = 0;
}
