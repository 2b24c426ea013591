/* Fuzzes the config.json + generation_config.json parser. The input is split at its first
 * 0 byte: config text before it, generation_config text after it (absent if no 0 byte). */
#include "format/config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const uint8_t *nul = memchr(data, 0, size);
    size_t cfg_len = nul ? (size_t)(nul - data) : size;
    const char *gen = nul ? text + cfg_len + 1 : NULL;
    size_t gen_len = nul ? size - cfg_len - 1 : 0;

    bs_config c;
    boson_error err;
    boson_status st = bs_config_parse(text, cfg_len, gen, gen_len, "fuzz", &c, &err);
    if (st == BOSON_OK) {
        /* touch what the parser promises */
        for (int64_t i = 0; i < c.num_hidden_layers; i++)
            if (c.layer_is_attention[i] > 1 || c.layer_is_moe[i] > 1)
                __builtin_trap();
        for (size_t i = 0; i < c.n_overrides; i++)
            if (bs_config_find_override(&c, c.overrides[i].module) == NULL)
                __builtin_trap();
        if (c.rotary_dim > c.head_dim || c.rotary_dim % 2 != 0 || c.n_eos > BS_MAX_EOS)
            __builtin_trap();
    } else if (err.message[0] == '\0') {
        __builtin_trap(); /* every failure says why */
    }
    bs_config_free(&c);
    return 0;
}
