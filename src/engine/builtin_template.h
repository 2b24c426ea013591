/* The built-in chat template (Qwen3.5's), for models that ship none. */
#ifndef BOSON_ENGINE_BUILTIN_TEMPLATE_H
#define BOSON_ENGINE_BUILTIN_TEMPLATE_H

#include <stddef.h>

extern const char bs_builtin_qwen35_template[];
extern const size_t bs_builtin_qwen35_template_len;

#endif
