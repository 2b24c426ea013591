/* libFuzzer target: the safetensors header parser on arbitrary bytes. Every accepted
 * tensor is read end to end, so a range that escapes the buffer trips ASan. */
#include "format/safetensors.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bs_st_file f;
    boson_error err;
    if (bs_st_parse(data, size, "fuzz.safetensors", &f, &err) != BOSON_OK)
        return 0;
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < f.n_tensors; i++) {
        const bs_tensor *t = &f.tensors[i];
        if (t->nbytes) {
            sink ^= t->data[0];
            sink ^= t->data[t->nbytes - 1];
        }
        if (bs_st_find(&f, t->name) != t)
            __builtin_trap();
        if (t->offset + t->nbytes > size)
            __builtin_trap();
    }
    (void)sink;
    bs_st_close(&f);
    return 0;
}
