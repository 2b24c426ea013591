/* Fuzz target: arbitrary template text rendered against fixed messages, tools and variables.
 * Load and render must never crash, hang or leak, whatever the text; errors are fine. */
#include "text/chat_template.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

static const char messages_json[] =
    "[{\"role\":\"system\",\"content\":\"You are helpful.\"},"
    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Hi \\u00e9 \\ud83c\\udf0d\"},"
    "{\"type\":\"image\",\"image\":\"x\"}]},"
    "{\"role\":\"assistant\",\"content\":\"<think>\\nr\\n</think>\\n\\nok\","
    "\"tool_calls\":[{\"type\":\"function\",\"function\":{\"name\":\"f\","
    "\"arguments\":{\"a\":1,\"b\":[true,null,1.5],\"c\":{\"d\":\"e\"}}}}]},"
    "{\"role\":\"tool\",\"content\":\"r1\"},{\"role\":\"tool\",\"content\":\"r2\"},"
    "{\"role\":\"user\",\"content\":\"again\"}]";
static const char tools_json[] =
    "[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"description\":\"d\","
    "\"parameters\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"}}}}}]";
static const char extra_json[] = "{\"enable_thinking\":false,\"bos_token\":\"<s>\",\"n\":3}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static json_t *messages, *tools, *extra;
    if (!messages) {
        messages = json_loads(messages_json, 0, NULL);
        tools = json_loads(tools_json, 0, NULL);
        extra = json_loads(extra_json, 0, NULL);
    }
    bs_chat_template *t = NULL;
    boson_error err;
    if (bs_chat_template_load(&t, (const char *)data, size, &err) != BOSON_OK)
        return 0;
    bs_chat_render_opts o;
    bs_chat_render_opts_init(&o);
    o.messages = messages;
    o.tools = tools;
    o.extra = extra;
    o.add_generation_prompt = (size & 1) != 0;
    struct tm now = {.tm_year = 126, .tm_mon = 2, .tm_mday = 7, .tm_hour = 9};
    o.now = &now;
    o.max_output = 1 << 20;
    o.max_memory = 64u << 20;
    o.max_steps = 200000;
    o.max_depth = 120;
    char *out = NULL;
    size_t n = 0;
    if (bs_chat_template_render(t, &o, &out, &n, &err) == BOSON_OK)
        free(out);
    bs_chat_template_free(t);
    return 0;
}
