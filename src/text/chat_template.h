/* Chat templates: renders the Jinja chat template shipped with a model exactly as Hugging Face
 * transformers does (jinja2 with trim_blocks, lstrip_blocks, loopcontrols; tojson =
 * json.dumps(ensure_ascii=False); raise_exception; strftime_now; namespace; dict).
 *
 *   bs_chat_template *t;
 *   bs_chat_template_load(&t, text, len, &err);          // syntax errors name line and column
 *   bs_chat_render_opts o;
 *   bs_chat_render_opts_init(&o);
 *   o.messages_json = "[{\"role\":\"user\",\"content\":\"Hi\"}]";
 *   o.add_generation_prompt = 1;
 *   o.extra_json = "{\"enable_thinking\": false}";
 *   char *text; size_t n;
 *   bs_chat_template_render(t, &o, &text, &n, &err);       // free(text)
 *
 * Errors: BOSON_ERR_FORMAT (template syntax), BOSON_ERR_UNSUPPORTED (a Jinja feature outside the
 * supported subset), BOSON_ERR_INVALID_ARG (bad input JSON, or the template called
 * raise_exception: the message then ends with the template's own text), BOSON_ERR_RUNTIME
 * (evaluation error, limit reached), BOSON_ERR_NOMEM. Messages read
 * "chat template line 12, column 5: unknown filter 'wordcount'".
 *
 * Special tokens (bos_token, eos_token, ...) that transformers adds to the variables are the
 * caller's to pass in `extra`. A loaded template is immutable; rendering from several threads at
 * once is safe. */
#ifndef BOSON_TEXT_CHAT_TEMPLATE_H
#define BOSON_TEXT_CHAT_TEMPLATE_H

#include "boson.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef struct bs_chat_template bs_chat_template;

typedef struct bs_chat_render_opts {
    /* Inputs as JSON text (NUL-terminated) or as jansson values; the json_t form wins when
     * both are set. messages: an array of message objects (required). tools: an array of
     * tool schemas, or NULL/JSON null for none (the template then sees tools = None). extra:
     * an object of further template variables (enable_thinking, bos_token, ...); its keys
     * override the standard ones. */
    const char *messages_json;
    const char *tools_json;
    const char *extra_json;
    const json_t *messages;
    const json_t *tools;
    const json_t *extra;
    int add_generation_prompt;
    /* Pre-process messages as transformers' apply_chat_template does before rendering (set by
     * bs_chat_render_opts_init): reject an empty conversation, drop the keys of each message
     * whose value is null, and copy the first non-null of reasoning_content / thinking /
     * reasoning into both `thinking` (first key) and `reasoning_content`. 0 renders the
     * messages exactly as given. */
    int hf_normalize;
    /* Clock of strftime_now(); NULL: the current local time. */
    const struct tm *now;
    /* Limits (0: default): rendered bytes (16 MiB), interpreter memory (512 MiB), evaluation
     * steps (50 million), nesting depth of evaluation (400). */
    size_t max_output;
    size_t max_memory;
    uint64_t max_steps;
    int max_depth;
} bs_chat_render_opts;

void bs_chat_render_opts_init(bs_chat_render_opts *o);

/* Parses template text (len bytes). */
boson_status bs_chat_template_load(bs_chat_template **out, const char *text, size_t len,
                                   boson_error *err);
void bs_chat_template_free(bs_chat_template *t);

/* Renders; *out is a NUL-terminated malloc'd string of *out_len bytes (free() it). */
boson_status bs_chat_template_render(const bs_chat_template *t, const bs_chat_render_opts *o,
                                     char **out, size_t *out_len, boson_error *err);

/* Convenience: load + render in one call (tests, tools). */
boson_status bs_chat_template_render_text(const char *template_text, size_t template_len,
                                          const bs_chat_render_opts *o, char **out, size_t *out_len,
                                          boson_error *err);

#endif
