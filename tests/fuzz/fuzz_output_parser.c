/* Fuzzes the streaming output parser. Input: byte 0 = options (bit 0 starts_in_think, bits 1-2
 * tool format, bit 3 no_think, bit 4 a small tool-call limit), byte 1 = seed of the chunking,
 * the rest = generated text. The text is parsed in one piece and in seeded random chunks; both
 * must report the same thing, content + reasoning can never exceed the input, and every tool
 * call's arguments are one valid JSON object whose deltas add up to it. */
#include "text/json_scan.h"
#include "text/output_parser.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char TOOLS[] =
    "[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\","
    "\"properties\":{\"s\":{\"type\":\"string\"},\"i\":{\"type\":\"integer\"},\"n\":{\"type\":"
    "\"number\"},\"b\":{\"type\":\"boolean\"},\"o\":{\"type\":\"object\"},\"a\":{\"type\":"
    "\"array\"},\"u\":{\"type\":[\"integer\",\"null\"]},\"x\":{\"anyOf\":[{\"type\":\"string\"},"
    "{\"type\":\"array\"}]},\"t\":{\"description\":\"no type\"}}}}}]";

typedef struct out {
    bs_bytes_buf trace; /* kind letter + payload, text events merged */
    size_t text_bytes;
    char last;
    bs_bytes_buf args; /* deltas of the current call */
    size_t in_len;
} out;

static void tr(out *o, char k, const void *s, size_t n)
{
    if (o->last != k || k == 'B' || k == 'E') {
        if (!bs_bytes_append(&o->trace, &k, 1))
            __builtin_trap();
        o->last = k;
    }
    if (!bs_bytes_append(&o->trace, s, n))
        __builtin_trap();
}

static boson_status on_text(void *ctx, const char *s, size_t n, char k)
{
    out *o = ctx;
    if (n == 0)
        __builtin_trap();
    o->text_bytes += n;
    tr(o, k, s, n);
    return BOSON_OK;
}

static boson_status on_content(void *ctx, const char *s, size_t n)
{
    return on_text(ctx, s, n, 'C');
}

static boson_status on_reasoning(void *ctx, const char *s, size_t n)
{
    return on_text(ctx, s, n, 'R');
}

static boson_status on_begin(void *ctx, size_t idx, const char *id, const char *name)
{
    out *o = ctx;
    (void)idx;
    if (!id[0] || !name[0])
        __builtin_trap();
    o->args.n = 0;
    tr(o, 'B', name, strlen(name) + 1);
    tr(o, 'B', id, strlen(id));
    return BOSON_OK;
}

static boson_status on_args(void *ctx, size_t idx, const char *s, size_t n)
{
    out *o = ctx;
    (void)idx;
    if (!bs_bytes_append(&o->args, s, n))
        __builtin_trap();
    return BOSON_OK;
}

static boson_status on_end(void *ctx, size_t idx, const char *args)
{
    out *o = ctx;
    (void)idx;
    size_t n = strlen(args);
    bs_jkind k;
    if (n != o->args.n || (n && memcmp(args, o->args.p, n) != 0))
        __builtin_trap();       /* deltas add up to the final arguments */
    if (n > 6 * o->in_len + 16) /* \u00XX is the widest escape of one input byte */
        __builtin_trap();
    if (bs_json_compact(args, n, NULL, &k) != BS_JSCAN_OK || k != BS_JK_OBJECT)
        __builtin_trap();
    tr(o, 'E', args, n);
    return BOSON_OK;
}

static void run(const bs_outparse_options *opt, const char *text, size_t len, uint32_t seed, out *o)
{
    boson_error err;
    bs_outparse *p = bs_outparse_new(opt, &err);
    if (!p)
        __builtin_trap();
    bs_outparse_sink sink = {o, on_content, on_reasoning, on_begin, on_args, on_end};
    size_t i = 0;
    while (i < len) {
        size_t n = len - i;
        if (seed) {
            seed = seed * 1103515245u + 12345u;
            size_t want = 1 + (seed >> 16) % 13;
            n = want < n ? want : n;
        }
        if (bs_outparse_feed(p, text + i, n, &sink, &err) != BOSON_OK)
            __builtin_trap();
        i += n;
    }
    if (bs_outparse_finish(p, &sink, &err) != BOSON_OK)
        __builtin_trap();
    bs_outparse_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    bs_outparse_options opt = {0};
    opt.starts_in_think = data[0] & 1;
    opt.tool_format = (bs_tool_format)((data[0] >> 1) & 3);
    opt.no_think = (data[0] >> 3) & 1;
    opt.max_tool_call_bytes = (data[0] & 16) ? 48 : 0;
    opt.tools_json = TOOLS;
    opt.tools_json_len = sizeof TOOLS - 1;
    uint32_t seed = (uint32_t)data[1] + 1;
    const char *text = (const char *)data + 2;
    size_t len = size - 2;

    out whole = {0}, chunked = {0};
    whole.in_len = chunked.in_len = len;
    run(&opt, text, len, 0, &whole);
    run(&opt, text, len, seed, &chunked);
    if (whole.text_bytes > len || chunked.text_bytes != whole.text_bytes)
        __builtin_trap(); /* content + reasoning never exceed the input */
    if (whole.trace.n != chunked.trace.n ||
        (whole.trace.n && memcmp(whole.trace.p, chunked.trace.p, whole.trace.n) != 0))
        __builtin_trap(); /* the chunking changes nothing */
    bs_bytes_free(&whole.trace);
    bs_bytes_free(&whole.args);
    bs_bytes_free(&chunked.trace);
    bs_bytes_free(&chunked.args);
    return 0;
}
