/* Incremental parser of generated text: splits <think>...</think> reasoning from the answer and
 * turns <tool_call>...</tool_call> blocks into tool calls, on a stream of text deltas.
 *
 * Feed it the detokenized text in any chunking (one byte at a time, token by token, all at once):
 * the sequence of bytes reported to each callback, and every tool call, depend only on the
 * concatenated text, never on where the chunks were cut.
 *
 * Rules:
 *  - Reasoning: starts at the beginning when options.starts_in_think is set (the prompt ended in
 *    an open "<think>", as Qwen3.5 thinking prompts do), or at a "<think>" that comes before any
 *    other content (only whitespace before it; Qwen3 prompts let the model open it). It ends at
 *    "</think>". A "<think>" after content, a second one, or a "</think>" in content is text.
 *    Reasoning never ends by itself: without "</think>" all the rest is reasoning.
 *  - Tool calls: "<tool_call>" in content (not in reasoning) opens one; its body is held until
 *    "</tool_call>" and then parsed (tool_calls.h). A valid call is reported as begin, one
 *    arguments delta holding the whole compact JSON object, and end. Anything malformed (bad body,
 *    unterminated at finish, body longer than max_tool_call_bytes) is reported as content, byte
 *    for byte, with the whitespace that preceded it: nothing is dropped. Holding the body keeps
 *    that promise: a call is never announced and then found broken.
 *  - Whitespace next to the tags is layout, not text: whitespace right after "<think>",
 *    "</think>" and "</tool_call>" (and at the start of reasoning) is dropped, and so is a run of
 *    up to BS_OUTPARSE_WS_HOLD whitespace bytes right before "</think>", "<think>" or a valid
 *    "<tool_call>" (the chat templates put "\n" / "\n\n" there). Other whitespace, including a
 *    trailing run at the end of the stream, is kept.
 *  - Memory: outside a tool call the parser holds back at most BS_OUTPARSE_WS_HOLD whitespace
 *    bytes plus the bytes that may still begin a tag, and releases them as soon as they cannot.
 *
 * Tool call ids are id_prefix (default "call_") followed by the call's index (0, 1, ...). */
#ifndef BOSON_TEXT_OUTPUT_PARSER_H
#define BOSON_TEXT_OUTPUT_PARSER_H

#include "boson.h"
#include "text/tool_calls.h"

#include <jansson.h>
#include <stddef.h>

#define BS_OUTPARSE_WS_HOLD 64
#define BS_OUTPARSE_DEFAULT_MAX_TOOL_CALL (1u << 20)

typedef struct bs_outparse_options {
    int starts_in_think;        /* generation begins inside <think> (prompt opened it) */
    int no_think;               /* never treat <think> as a tag (reasoning only by flag) */
    bs_tool_format tool_format; /* AUTO (default, 0), QWEN35_XML, QWEN3_JSON or NONE */
    const json_t *tools;        /* OpenAI "tools" array for typing parameters (borrowed) or NULL */
    const char *tools_json;     /* the same as JSON text (used when tools is NULL) or NULL */
    size_t tools_json_len;
    const char *id_prefix;      /* tool call ids: prefix + index; NULL means "call_" */
    size_t max_tool_call_bytes; /* longest body held; 0 means the default (1 MiB) */
} bs_outparse_options;

/* Callbacks; any may be NULL. Text is not NUL-terminated and may split UTF-8 characters where
 * the input did. A non-OK return stops the parser: feed/finish return that status. */
typedef struct bs_outparse_sink {
    void *ctx;
    boson_status (*on_content)(void *ctx, const char *text, size_t len);
    boson_status (*on_reasoning)(void *ctx, const char *text, size_t len);
    boson_status (*on_tool_call_begin)(void *ctx, size_t index, const char *id, const char *name);
    boson_status (*on_tool_call_args)(void *ctx, size_t index, const char *json_fragment,
                                      size_t len);
    boson_status (*on_tool_call_end)(void *ctx, size_t index, const char *arguments_json);
} bs_outparse_sink;

typedef struct bs_outparse bs_outparse;

/* opt may be NULL (defaults). Fails on invalid tools_json (BOSON_ERR_INVALID_ARG) or memory. */
bs_outparse *bs_outparse_new(const bs_outparse_options *opt, boson_error *err);
void bs_outparse_free(bs_outparse *p);

/* Consumes len bytes of generated text. */
boson_status bs_outparse_feed(bs_outparse *p, const char *text, size_t len,
                              const bs_outparse_sink *sink, boson_error *err);

/* End of generation: releases held bytes (an unfinished tag or tool call becomes content).
 * Afterwards feed and finish fail with BOSON_ERR_INVALID_ARG. */
boson_status bs_outparse_finish(bs_outparse *p, const bs_outparse_sink *sink, boson_error *err);

/* Number of tool calls reported so far. */
size_t bs_outparse_tool_call_count(const bs_outparse *p);

/* One-shot form. */
typedef struct bs_tool_call {
    char *id, *name, *arguments; /* NUL-terminated; arguments is a compact JSON object */
} bs_tool_call;

typedef struct bs_outparse_result {
    char *content; /* NUL-terminated (may hold NUL bytes from the input; see content_len) */
    size_t content_len;
    char *reasoning; /* NUL-terminated */
    size_t reasoning_len;
    bs_tool_call *tool_calls;
    size_t n_tool_calls;
} bs_outparse_result;

boson_status bs_outparse_all(const char *text, size_t len, const bs_outparse_options *opt,
                             bs_outparse_result *out, boson_error *err);
void bs_outparse_result_free(bs_outparse_result *r);

#endif
