/* Tool calls in model output: parsing the text between <tool_call> and </tool_call> into a
 * function name and a compact JSON arguments object, with parameter values typed by the tool's
 * JSON schema (OpenAI function format).
 *
 * Two body formats:
 *   Qwen3.5 / Qwen3-Coder XML:
 * <function=NAME>\n<parameter=KEY>\nVALUE\n</parameter>\n...</function> Qwen3 JSON: {"name":
 * "NAME", "arguments": {...}} Whitespace around the parts is allowed; anything else (text between
 * parameters, a missing
 * </parameter> or </function>, an empty or invalid name, invalid JSON) makes the call malformed,
 * and the caller keeps the raw text as content.
 *
 * XML parameter values (the text between "<parameter=KEY>" and the first "</parameter>", minus
 * exactly one leading and one trailing "\n") are typed by the schema of that parameter,
 * tools[i].function.parameters.properties[KEY] (see bs_tool_param_coerce). JSON-format arguments
 * are already typed: they are validated and compacted, tokens kept byte for byte. */
#ifndef BOSON_TEXT_TOOL_CALLS_H
#define BOSON_TEXT_TOOL_CALLS_H

#include "boson.h"
#include "text/textbuf.h"

#include <jansson.h>
#include <stddef.h>

typedef enum bs_tool_format {
    BS_TOOL_FORMAT_AUTO = 0,   /* either body format, chosen by its first character */
    BS_TOOL_FORMAT_QWEN35_XML, /* <function=...> bodies only */
    BS_TOOL_FORMAT_QWEN3_JSON, /* {"name": ..., "arguments": ...} bodies only */
    BS_TOOL_FORMAT_NONE        /* no tool-call parsing: <tool_call> is plain text */
} bs_tool_format;

typedef struct bs_tool_call_parsed {
    char *name;      /* NUL-terminated UTF-8 */
    char *arguments; /* NUL-terminated compact JSON object */
    size_t arguments_len;
} bs_tool_call_parsed;

/* Parses one tool-call body. tools: the request's OpenAI "tools" array (or NULL): entries
 * {"type": "function", "function": {"name", "parameters"}} or bare {"name", "parameters"}.
 * BOSON_ERR_FORMAT (message says what and at which byte of the body) when malformed,
 * BOSON_ERR_NOMEM, BOSON_ERR_INVALID_ARG for fmt == BS_TOOL_FORMAT_NONE. */
boson_status bs_tool_call_parse(const char *body, size_t len, bs_tool_format fmt,
                                const json_t *tools, bs_tool_call_parsed *out, boson_error *err);

void bs_tool_call_parsed_free(bs_tool_call_parsed *c);

/* The schema of parameter `param` of function `fn` in tools, or NULL. */
const json_t *bs_tool_param_schema(const json_t *tools, const char *fn, const char *param);

/* Appends the JSON form of one XML parameter value to out. The schema's allowed types come
 * from "type" (a name or a list of names) and the "type"s of "anyOf"/"oneOf" entries:
 *  - no schema (parameter unknown to the tools): a JSON string of the raw value;
 *  - a schema without any type: a JSON object or array if the value parses as one, else a
 *    string (as mlx-lm does);
 *  - "string" alone: always a string (also "null", "42", "{...}");
 *  - otherwise, on the value trimmed of ASCII whitespace, in this order: "null" / "None"
 *    (case-insensitive) -> null if null is allowed or string is not; "true" / "false"
 *    (case-insensitive, so Python's True / False as Qwen3.5 renders them) -> boolean if boolean is
 *    allowed; a JSON number (kept as written, any size) if integer or number is allowed; a JSON
 *    object / array (compacted) if object / array is allowed; else the raw value as a string.
 * Returns 0 on allocation failure. */
int bs_tool_param_coerce(const json_t *schema, const char *value, size_t len, bs_bytes_buf *out);

#endif
