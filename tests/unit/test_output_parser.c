/* Output parser: reasoning / content / tool-call split, schema coercion, malformed calls kept as
 * text, and the same result for every chunking of the input (one shot, byte by byte, random). */
#include "check.h"
#include "text/json_scan.h"
#include "text/output_parser.h"
#include "text/tool_calls.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- a sink that records everything ---- */

typedef struct rec {
    bs_bytes_buf content, reasoning;
    bs_bytes_buf trace; /* merged event log: "\x01K" switches kind, payload follows */
    char last;
    char ids[8][32], names[8][64], args[8][512], deltas[8][512];
    size_t n_calls;
    int order_ok;   /* begin/args/end arrive in order with matching indexes */
    int fail_after; /* >0: the content callback fails on that call */
    int n_content_calls;
} rec;

static void tr(rec *r, char k, const char *s, size_t n)
{
    if (r->last != k || k == 'B' || k == 'E') {
        char m[2] = {'\x01', k};
        bs_bytes_append(&r->trace, m, 2);
        r->last = k;
    }
    bs_bytes_append(&r->trace, s, n);
}

static boson_status on_content(void *ctx, const char *s, size_t n)
{
    rec *r = ctx;
    if (r->fail_after && ++r->n_content_calls >= r->fail_after)
        return BOSON_ERR_CANCELLED;
    if (n == 0)
        r->order_ok = 0; /* never an empty delta */
    bs_bytes_append(&r->content, s, n);
    tr(r, 'C', s, n);
    return BOSON_OK;
}

static boson_status on_reasoning(void *ctx, const char *s, size_t n)
{
    rec *r = ctx;
    if (n == 0)
        r->order_ok = 0;
    bs_bytes_append(&r->reasoning, s, n);
    tr(r, 'R', s, n);
    return BOSON_OK;
}

static boson_status on_begin(void *ctx, size_t idx, const char *id, const char *name)
{
    rec *r = ctx;
    if (idx != r->n_calls || idx >= 8)
        r->order_ok = 0;
    else {
        snprintf(r->ids[idx], sizeof r->ids[idx], "%s", id);
        snprintf(r->names[idx], sizeof r->names[idx], "%s", name);
        r->deltas[idx][0] = '\0';
    }
    tr(r, 'B', name, strlen(name));
    tr(r, 'B', id, strlen(id));
    return BOSON_OK;
}

static boson_status on_args(void *ctx, size_t idx, const char *s, size_t n)
{
    rec *r = ctx;
    if (idx != r->n_calls || idx >= 8) {
        r->order_ok = 0;
        return BOSON_OK;
    }
    size_t have = strlen(r->deltas[idx]);
    if (have + n < sizeof r->deltas[idx]) {
        memcpy(r->deltas[idx] + have, s, n);
        r->deltas[idx][have + n] = '\0';
    }
    tr(r, 'A', s, n);
    return BOSON_OK;
}

static boson_status on_end(void *ctx, size_t idx, const char *args)
{
    rec *r = ctx;
    if (idx != r->n_calls || idx >= 8) {
        r->order_ok = 0;
        return BOSON_OK;
    }
    snprintf(r->args[idx], sizeof r->args[idx], "%s", args);
    if (strcmp(r->deltas[idx], args) != 0)
        r->order_ok = 0; /* the deltas add up to the final arguments */
    r->n_calls++;
    tr(r, 'E', args, strlen(args));
    return BOSON_OK;
}

static void rec_init(rec *r)
{
    memset(r, 0, sizeof *r);
    r->order_ok = 1;
}

static void rec_free(rec *r)
{
    bs_bytes_free(&r->content);
    bs_bytes_free(&r->reasoning);
    bs_bytes_free(&r->trace);
}

static const char *str0(bs_bytes_buf *b)
{
    bs_bytes_append(b, "", 1);
    b->n--;
    return (const char *)b->p;
}

static uint64_t rng_next(uint64_t *s)
{
    *s += 0x9E3779B97F4A7C15ull;
    uint64_t z = *s;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* chunk: 0 = one shot, 1 = byte by byte, >= 2 = random chunks seeded by chunk */
static int parse_with(const char *text, size_t len, const bs_outparse_options *o, int chunk, rec *r)
{
    boson_error err;
    bs_outparse *p = bs_outparse_new(o, &err);
    if (!p)
        return 0;
    bs_outparse_sink s = {r, on_content, on_reasoning, on_begin, on_args, on_end};
    uint64_t seed = (uint64_t)chunk;
    size_t i = 0;
    int ok = 1;
    while (i < len && ok) {
        size_t n = len - i;
        if (chunk == 1)
            n = 1;
        else if (chunk >= 2) {
            size_t want = 1 + (size_t)(rng_next(&seed) % 9);
            n = want < n ? want : n;
        }
        ok = bs_outparse_feed(p, text + i, n, &s, &err) == BOSON_OK;
        if (chunk >= 2 && rng_next(&seed) % 4 == 0)
            ok = ok && bs_outparse_feed(p, text + i, 0, &s, &err) == BOSON_OK; /* empty feed */
        i += n;
    }
    ok = ok && bs_outparse_finish(p, &s, &err) == BOSON_OK;
    bs_outparse_free(p);
    return ok;
}

/* Parses text in many chunkings; all must give the same event trace. Leaves the one-shot
 * result in *r. Returns 1 when they all agree. */
static int parse_all_ways(const char *text, const bs_outparse_options *o, rec *r)
{
    size_t len = strlen(text);
    rec_init(r);
    if (!parse_with(text, len, o, 0, r) || !r->order_ok)
        return 0;
    for (int c = 1; c < 12; c++) {
        rec x;
        rec_init(&x);
        int ok = parse_with(text, len, o, c, &x) && x.order_ok && x.trace.n == r->trace.n &&
                 (x.trace.n == 0 || memcmp(x.trace.p, r->trace.p, x.trace.n) == 0);
        rec_free(&x);
        if (!ok) {
            fprintf(stderr, "  chunking %d differs for input \"%s\"\n", c, text);
            return 0;
        }
    }
    return 1;
}

#define PARSE(text, opts, r) REQUIRE(parse_all_ways((text), (opts), (r)))

static const char *WEATHER_TOOLS =
    "[{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Get "
    "weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": "
    "\"string\"}, \"days\": {\"type\": \"integer\"}}, \"required\": [\"city\"]}}}]";

/* ---- reasoning ---- */

CHECK_TEST(plain_content_only)
{
    rec r;
    PARSE("Hello, world!\nSecond line.", NULL, &r);
    CHECK_STR_EQ(str0(&r.content), "Hello, world!\nSecond line.");
    CHECK_EQ_U64(r.reasoning.n, 0);
    CHECK_EQ_U64(r.n_calls, 0);
    rec_free(&r);
}

CHECK_TEST(reasoning_at_start)
{
    rec r;
    PARSE("<think>\nLet me think.\nStep 2.\n</think>\n\nThe answer is 4.", NULL, &r);
    CHECK_STR_EQ(str0(&r.reasoning), "Let me think.\nStep 2.");
    CHECK_STR_EQ(str0(&r.content), "The answer is 4.");
    rec_free(&r);
    /* whitespace before the opening tag is layout too */
    PARSE("\n\n<think>x</think>y", NULL, &r);
    CHECK_STR_EQ(str0(&r.reasoning), "x");
    CHECK_STR_EQ(str0(&r.content), "y");
    rec_free(&r);
}

CHECK_TEST(starts_in_think)
{
    bs_outparse_options o = {0};
    o.starts_in_think = 1;
    rec r;
    PARSE("Need the tool.\n</think>\n\nDone.", &o, &r);
    CHECK_STR_EQ(str0(&r.reasoning), "Need the tool.");
    CHECK_STR_EQ(str0(&r.content), "Done.");
    rec_free(&r);
    /* the empty think block of a non-thinking turn */
    PARSE("\n</think>\n\nHi", &o, &r);
    CHECK_EQ_U64(r.reasoning.n, 0);
    CHECK_STR_EQ(str0(&r.content), "Hi");
    rec_free(&r);
    /* a <think> inside reasoning is reasoning text */
    PARSE("a <think> b</think>c", &o, &r);
    CHECK_STR_EQ(str0(&r.reasoning), "a <think> b");
    CHECK_STR_EQ(str0(&r.content), "c");
    rec_free(&r);
}

CHECK_TEST(unterminated_reasoning_stays_reasoning)
{
    rec r;
    PARSE("<think>\nstill thinking </thi", NULL, &r);
    CHECK_STR_EQ(str0(&r.reasoning), "still thinking </thi");
    CHECK_EQ_U64(r.content.n, 0);
    rec_free(&r);
    bs_outparse_options o = {0};
    o.starts_in_think = 1;
    PARSE("abc \n", &o, &r);
    CHECK_STR_EQ(str0(&r.reasoning), "abc \n"); /* trailing whitespace kept at the end */
    rec_free(&r);
}

CHECK_TEST(think_only_before_content)
{
    rec r;
    PARSE("Hi <think>x</think> there", NULL, &r);
    CHECK_STR_EQ(str0(&r.content), "Hi <think>x</think> there");
    CHECK_EQ_U64(r.reasoning.n, 0);
    rec_free(&r);
    PARSE("<<think>x", NULL, &r); /* the first '<' is content, so the window is closed */
    CHECK_STR_EQ(str0(&r.content), "<<think>x");
    rec_free(&r);
    PARSE("<think>a</think>b<think>c</think>", NULL, &r);
    CHECK_STR_EQ(str0(&r.reasoning), "a");
    CHECK_STR_EQ(str0(&r.content), "b<think>c</think>");
    rec_free(&r);
    bs_outparse_options o = {0};
    o.no_think = 1;
    PARSE("<think>a</think>b", &o, &r);
    CHECK_STR_EQ(str0(&r.content), "<think>a</think>b");
    rec_free(&r);
}

CHECK_TEST(whitespace_hold_is_bounded)
{
    char text[400], want[400];
    strcpy(text, "<think>abc");
    strcpy(want, "abc");
    size_t n = strlen(text);
    for (int i = 0; i < 300; i++)
        text[n + i] = want[3 + i] = i % 3 ? '\n' : (i % 5 ? ' ' : '\t');
    strcpy(text + n + 300, "</think>");
    rec r;
    PARSE(text, NULL, &r);
    /* at most BS_OUTPARSE_WS_HOLD (64) whitespace bytes before the tag are layout */
    REQUIRE(r.reasoning.n == 3 + 300 - BS_OUTPARSE_WS_HOLD);
    CHECK(memcmp(r.reasoning.p, want, r.reasoning.n) == 0);
    rec_free(&r);
    /* whitespace inside content and at stream start/end is kept */
    PARSE("  a \n b\n", NULL, &r);
    CHECK_STR_EQ(str0(&r.content), "  a \n b\n");
    rec_free(&r);
}

CHECK_TEST(partial_tags_are_released)
{
    rec r;
    PARSE("x < y and <tool and <tool_cal> and </think> <thinking>", NULL, &r);
    CHECK_STR_EQ(str0(&r.content), "x < y and <tool and <tool_cal> and </think> <thinking>");
    rec_free(&r);
    PARSE("a<tool_call", NULL, &r);
    CHECK_STR_EQ(str0(&r.content), "a<tool_call");
    rec_free(&r);
}

/* ---- tool calls, Qwen3.5 XML ---- */

CHECK_TEST(xml_example_d)
{
    bs_outparse_options o = {0};
    o.starts_in_think = 1;
    o.tools_json = WEATHER_TOOLS;
    o.tools_json_len = strlen(WEATHER_TOOLS);
    rec r;
    PARSE("Need the tool.\n</think>\n\n<tool_call>\n<function=get_weather>\n<parameter=city>\n"
          "Paris\n</parameter>\n<parameter=days>\n3\n</parameter>\n</function>\n</tool_call>",
          &o, &r);
    CHECK_STR_EQ(str0(&r.reasoning), "Need the tool.");
    CHECK_EQ_U64(r.content.n, 0);
    REQUIRE(r.n_calls == 1);
    CHECK_STR_EQ(r.names[0], "get_weather");
    CHECK_STR_EQ(r.ids[0], "call_0");
    CHECK_STR_EQ(r.args[0], "{\"city\":\"Paris\",\"days\":3}");
    rec_free(&r);
}

CHECK_TEST(xml_example_e_types_and_two_calls)
{
    static const char *tools =
        "[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\","
        "\"properties\":{\"flag\":{\"type\":\"boolean\"},\"n\":{\"type\":\"integer\"},"
        "\"obj\":{\"type\":\"object\"},\"s\":{\"type\":\"string\"}}}}},"
        "{\"type\":\"function\",\"function\":{\"name\":\"g\",\"parameters\":{}}}]";
    bs_outparse_options o = {0};
    o.tools_json = tools;
    o.tools_json_len = strlen(tools);
    o.id_prefix = "req7_";
    rec r;
    PARSE("<think>\n\n</think>\n\nok\n\n<tool_call>\n<function=f>\n<parameter=flag>\nTrue\n"
          "</parameter>\n<parameter=n>\nNone\n</parameter>\n<parameter=obj>\n{\"a\": [1, 2]}\n"
          "</parameter>\n<parameter=s>\nstr\n</parameter>\n</function>\n</tool_call>\n<tool_call>"
          "\n<function=g>\n</function>\n</tool_call>",
          &o, &r);
    CHECK_EQ_U64(r.reasoning.n, 0);
    CHECK_STR_EQ(str0(&r.content), "ok");
    REQUIRE(r.n_calls == 2);
    CHECK_STR_EQ(r.names[0], "f");
    CHECK_STR_EQ(r.args[0], "{\"flag\":true,\"n\":null,\"obj\":{\"a\":[1,2]},\"s\":\"str\"}");
    CHECK_STR_EQ(r.ids[0], "req7_0");
    CHECK_STR_EQ(r.names[1], "g");
    CHECK_STR_EQ(r.args[1], "{}");
    CHECK_STR_EQ(r.ids[1], "req7_1");
    rec_free(&r);
}

CHECK_TEST(xml_multiline_and_angle_brackets)
{
    rec r;
    PARSE("Writing it.\n<tool_call>\n<function=write_file>\n<parameter=path>\n/tmp/a.py\n"
          "</parameter>\n<parameter=text>\n\nif a < b and c > d:\n    print(\"<tool_call> "
          "</think> </function> <parameter=x>\")\n\n</parameter>\n</function>\n</tool_call>\n\n"
          "Done <now>.",
          NULL, &r);
    CHECK_STR_EQ(str0(&r.content), "Writing it.Done <now>.");
    REQUIRE(r.n_calls == 1);
    CHECK_STR_EQ(r.args[0], "{\"path\":\"/tmp/a.py\",\"text\":\"\\nif a < b and c > d:\\n    "
                            "print(\\\"<tool_call> </think> </function> <parameter=x>\\\")\\n\"}");
    rec_free(&r);
}

CHECK_TEST(xml_duplicate_parameter_last_wins)
{
    rec r;
    PARSE("<tool_call><function=f><parameter=a>1</parameter><parameter=b>2</parameter>"
          "<parameter=a>3</parameter></function></tool_call>",
          NULL, &r);
    REQUIRE(r.n_calls == 1);
    CHECK_STR_EQ(r.args[0], "{\"a\":\"3\",\"b\":\"2\"}");
    rec_free(&r);
}

CHECK_TEST(tool_call_in_reasoning_is_reasoning)
{
    rec r;
    PARSE("<think><tool_call>\n<function=f>\n</function>\n</tool_call></think>x", NULL, &r);
    CHECK_STR_EQ(str0(&r.reasoning), "<tool_call>\n<function=f>\n</function>\n</tool_call>");
    CHECK_STR_EQ(str0(&r.content), "x");
    CHECK_EQ_U64(r.n_calls, 0);
    rec_free(&r);
}

/* ---- tool calls, Qwen3 JSON ---- */

CHECK_TEST(json_form)
{
    rec r;
    PARSE("<think>\nhm\n</think>\n\nLet me check.\n<tool_call>\n{\"name\": \"get_weather\", "
          "\"arguments\": {\"city\": \"Z\\u00fcrich\", \"n\": 1.50, \"big\": "
          "123456789012345678901234567890, \"l\": [true, null, {}]}}\n</tool_call>\n"
          "<tool_call>\n{\"name\": \"noargs\"}\n</tool_call>",
          NULL, &r);
    CHECK_STR_EQ(str0(&r.reasoning), "hm");
    CHECK_STR_EQ(str0(&r.content), "Let me check.");
    REQUIRE(r.n_calls == 2);
    CHECK_STR_EQ(r.names[0], "get_weather");
    /* tokens are kept as written: numbers of any size, escapes */
    CHECK_STR_EQ(r.args[0], "{\"city\":\"Z\\u00fcrich\",\"n\":1.50,\"big\":"
                            "123456789012345678901234567890,\"l\":[true,null,{}]}");
    CHECK_STR_EQ(r.names[1], "noargs");
    CHECK_STR_EQ(r.args[1], "{}");
    rec_free(&r);
    /* arguments given as a string holding JSON */
    PARSE("<tool_call>{\"arguments\": \"{\\\"a\\\": 1}\", \"name\": \"f\"}</tool_call>", NULL, &r);
    REQUIRE(r.n_calls == 1);
    CHECK_STR_EQ(r.args[0], "{\"a\":1}");
    rec_free(&r);
}

CHECK_TEST(format_hint_restricts)
{
    const char *xml = "<tool_call>\n<function=f>\n</function>\n</tool_call>";
    const char *js = "<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>";
    bs_outparse_options o = {0};
    rec r;
    o.tool_format = BS_TOOL_FORMAT_QWEN3_JSON;
    PARSE(xml, &o, &r);
    CHECK_EQ_U64(r.n_calls, 0);
    CHECK_STR_EQ(str0(&r.content), xml);
    rec_free(&r);
    PARSE(js, &o, &r);
    CHECK_EQ_U64(r.n_calls, 1);
    rec_free(&r);
    o.tool_format = BS_TOOL_FORMAT_QWEN35_XML;
    PARSE(js, &o, &r);
    CHECK_EQ_U64(r.n_calls, 0);
    CHECK_STR_EQ(str0(&r.content), js);
    rec_free(&r);
    o.tool_format = BS_TOOL_FORMAT_NONE;
    PARSE(xml, &o, &r);
    CHECK_EQ_U64(r.n_calls, 0);
    CHECK_STR_EQ(str0(&r.content), xml);
    rec_free(&r);
}

/* ---- malformed calls are content, byte for byte ---- */

CHECK_TEST(malformed_calls_are_text)
{
    static const char *const bad[] = {
        "<tool_call>\n<function=f>\n<parameter=a>\n1\n</parameter>\n", /* unterminated */
        "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": }}\n</tool_call>",
        "<tool_call>\n{\"name\": \"f\", \"arguments\": [1]}\n</tool_call>",
        "<tool_call>\n{\"arguments\": {}}\n</tool_call>",
        "<tool_call>\n{\"name\": \"\", \"arguments\": {}}\n</tool_call>",
        "<tool_call>\n<function=>\n</function>\n</tool_call>",
        "<tool_call>\n<function=my func>\n</function>\n</tool_call>",
        "<tool_call>\n<function=f>\nstray text\n</function>\n</tool_call>",
        "<tool_call>\n<function=f>\n<parameter=a>\n1\n</function>\n</tool_call>",
        "<tool_call>\n<function=f>\n<parameter=>\n1\n</parameter>\n</function>\n</tool_call>",
        "<tool_call>\n<function=f>\n</function>\ntrailing\n</tool_call>",
        "<tool_call>\n<function=f>\n</tool_call>",
        "<tool_call>\n</tool_call>",
        "<tool_call>plain words</tool_call>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "Before.\n\n%s", bad[i]);
        rec r;
        PARSE(text, NULL, &r);
        CHECK_EQ_U64(r.n_calls, 0);
        CHECK_STR_EQ(str0(&r.content), text);
        rec_free(&r);
    }
}

CHECK_TEST(valid_call_after_malformed_one)
{
    rec r;
    PARSE("<tool_call>oops</tool_call> then\n<tool_call>\n<function=f>\n<parameter=x>\n1\n"
          "</parameter>\n</function>\n</tool_call>",
          NULL, &r);
    CHECK_STR_EQ(str0(&r.content), "<tool_call>oops</tool_call> then");
    REQUIRE(r.n_calls == 1);
    CHECK_STR_EQ(r.ids[0], "call_0");
    CHECK_STR_EQ(r.args[0], "{\"x\":\"1\"}"); /* no schema: stays a string */
    rec_free(&r);
}

CHECK_TEST(oversized_call_is_text)
{
    bs_outparse_options o = {0};
    o.max_tool_call_bytes = 40;
    rec r;
    const char *big = "<tool_call>\n<function=f>\n<parameter=a>\n0123456789012345678901234567"
                      "89\n</parameter>\n</function>\n</tool_call>";
    PARSE(big, &o, &r);
    CHECK_EQ_U64(r.n_calls, 0);
    CHECK_STR_EQ(str0(&r.content), big);
    rec_free(&r);
    const char *small = "<tool_call>\n<function=f>\n</function>\n</tool_call>"; /* 26-byte body */
    o.max_tool_call_bytes = 26;
    PARSE(small, &o, &r);
    CHECK_EQ_U64(r.n_calls, 1);
    rec_free(&r);
    /* the call overflows inside its body; what follows is parsed afresh */
    o.max_tool_call_bytes = 23;
    PARSE("<tool_call>abcdefghijklmnopqrstuvwxyz0123456789ABCD<tool_call><function=f></function>"
          "</tool_call>",
          &o, &r);
    CHECK_STR_EQ(str0(&r.content), "<tool_call>abcdefghijklmnopqrstuvwxyz0123456789ABCD");
    CHECK_EQ_U64(r.n_calls, 1);
    rec_free(&r);
    o.max_tool_call_bytes = 25; /* one byte short */
    PARSE(small, &o, &r);
    CHECK_EQ_U64(r.n_calls, 0);
    CHECK_STR_EQ(str0(&r.content), small);
    rec_free(&r);
}

/* ---- unicode ---- */

CHECK_TEST(unicode_text_and_arguments)
{
    static const char *tools =
        "[{\"name\": \"翻译\", \"parameters\": {\"properties\": "
        "{\"文本\": {\"type\": \"string\"}, \"n\": {\"type\": \"number\"}}}}]";
    bs_outparse_options o = {0};
    o.tools_json = tools;
    o.tools_json_len = strlen(tools);
    rec r;
    PARSE("<think>\n日本語で考える 🙂\n</think>\n\nVoilà — "
          "✓\n\n<tool_call>\n<function=翻译>\n"
          "<parameter=文本>\nこんにちは\n🙂\n</parameter>\n<parameter=n>\n-2.5e3\n</"
          "parameter>\n"
          "</function>\n</tool_call>",
          &o, &r);
    CHECK_STR_EQ(str0(&r.reasoning), "日本語で考える 🙂");
    CHECK_STR_EQ(str0(&r.content), "Voilà — ✓");
    REQUIRE(r.n_calls == 1);
    CHECK_STR_EQ(r.names[0], "翻译");
    CHECK_STR_EQ(r.args[0], "{\"文本\":\"こんにちは\\n🙂\",\"n\":-2.5e3}");
    rec_free(&r);
}

/* ---- schema coercion ---- */

static void coerce_case(check_ctx *ctx_, const char *schema, const char *value, const char *want)
{
    json_t *s = NULL;
    if (schema) {
        s = json_loads(schema, 0, NULL);
        REQUIRE(s != NULL);
    }
    bs_bytes_buf out = {0};
    REQUIRE(bs_tool_param_coerce(s, value, strlen(value), &out));
    bs_bytes_append(&out, "", 1);
    if (strcmp((const char *)out.p, want) != 0)
        CHECK_FAIL_("schema %s value \"%s\": got %s, want %s", schema ? schema : "(none)", value,
                    (const char *)out.p, want);
    bs_bytes_free(&out);
    json_decref(s);
}

CHECK_TEST(schema_coercion)
{
    const char *I = "{\"type\": \"integer\"}", *N = "{\"type\": \"number\"}";
    const char *B = "{\"type\": \"boolean\"}", *S = "{\"type\": \"string\"}";
    const char *O = "{\"type\": \"object\"}", *A = "{\"type\": \"array\"}";
    coerce_case(ctx_, I, "42", "42");
    coerce_case(ctx_, I, " -7\n", "-7");
    coerce_case(ctx_, I, "4x", "\"4x\"");
    coerce_case(ctx_, I, "007", "\"007\""); /* not JSON: falls back to the string */
    coerce_case(ctx_, I, "None", "null");
    coerce_case(ctx_, N, "1e-05", "1e-05");
    coerce_case(ctx_, N, "3.14", "3.14");
    coerce_case(ctx_, N, "inf", "\"inf\"");
    coerce_case(ctx_, B, "True", "true");
    coerce_case(ctx_, B, "false", "false");
    coerce_case(ctx_, B, "yes", "\"yes\"");
    coerce_case(ctx_, S, "null", "\"null\"");
    coerce_case(ctx_, S, "42", "\"42\"");
    coerce_case(ctx_, S, " padded \n", "\" padded \\n\"");
    coerce_case(ctx_, S, "{\"a\": 1}", "\"{\\\"a\\\": 1}\"");
    coerce_case(ctx_, O, "{\"a\": [1, 2.0, \"x\"]}", "{\"a\":[1,2.0,\"x\"]}");
    coerce_case(ctx_, O, "[1]", "\"[1]\"");
    coerce_case(ctx_, O, "{'a': 1}", "\"{'a': 1}\""); /* Python literals are not JSON */
    coerce_case(ctx_, A, "[1, 2]", "[1,2]");
    coerce_case(ctx_, "{\"type\": [\"integer\", \"null\"]}", "None", "null");
    coerce_case(ctx_, "{\"type\": [\"integer\", \"null\"]}", "5", "5");
    coerce_case(ctx_, "{\"type\": [\"string\", \"null\"]}", "null", "null");
    coerce_case(ctx_, "{\"type\": [\"string\", \"null\"]}", "nope", "\"nope\"");
    coerce_case(ctx_, "{\"anyOf\": [{\"type\": \"integer\"}, {\"type\": \"string\"}]}", "12", "12");
    coerce_case(ctx_, "{\"anyOf\": [{\"type\": \"integer\"}, {\"type\": \"string\"}]}", "x1",
                "\"x1\"");
    coerce_case(ctx_, "{\"description\": \"no type\"}", "{\"k\": true}", "{\"k\":true}");
    coerce_case(ctx_, "{\"description\": \"no type\"}", "42", "\"42\"");
    coerce_case(ctx_, NULL, "42", "\"42\"");
    coerce_case(ctx_, NULL, "tab\there \"q\" \\ \x01", "\"tab\\there \\\"q\\\" \\\\ \\u0001\"");
    coerce_case(ctx_, NULL, "bad \xff\xc3 utf8 \xc3\xa9",
                "\"bad \xEF\xBF\xBD\xEF\xBF\xBD utf8 é\"");
}

CHECK_TEST(json_scan_rejects_invalid)
{
    static const char *const bad[] = {"",    "{",          "{\"a\" 1}",       "[1,]",    "01",
                                      "1.",  "-",          "\"a\nb\"",        "\"\\x\"", "tru",
                                      "nul", "{\"a\":1}x", "\"\xff\"",        "[1 2]",   "{1: 2}",
                                      "1e",  "\"\\u12\"",  "\"\xed\xa0\x80\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bs_bytes_buf out = {0};
        if (bs_json_compact(bad[i], strlen(bad[i]), &out, NULL) != BS_JSCAN_INVALID)
            CHECK_FAIL_("accepted invalid JSON \"%s\"", bad[i]);
        CHECK_EQ_U64(out.n, 0);
        bs_bytes_free(&out);
    }
    char deep[300];
    memset(deep, '[', 150);
    memset(deep + 150, ']', 150);
    CHECK(bs_json_compact(deep, 300, NULL, NULL) == BS_JSCAN_INVALID); /* depth limit */
    CHECK(bs_json_compact(deep + 50, 200, NULL, NULL) == BS_JSCAN_OK);
}

/* ---- sink errors, options ---- */

CHECK_TEST(sink_failure_stops_the_parser)
{
    rec r;
    rec_init(&r);
    r.fail_after = 1;
    boson_error err;
    bs_outparse *p = bs_outparse_new(NULL, &err);
    REQUIRE(p != NULL);
    bs_outparse_sink s = {&r, on_content, on_reasoning, on_begin, on_args, on_end};
    CHECK(bs_outparse_feed(p, "hello", 5, &s, &err) == BOSON_ERR_CANCELLED);
    CHECK_CONTAINS(err.message, "content callback");
    CHECK(bs_outparse_feed(p, "more", 4, &s, &err) != BOSON_OK);
    bs_outparse_free(p);
    rec_free(&r);
}

CHECK_TEST(finish_then_feed_fails)
{
    boson_error err;
    bs_outparse *p = bs_outparse_new(NULL, &err);
    REQUIRE(p != NULL);
    CHECK(bs_outparse_finish(p, NULL, &err) == BOSON_OK);
    CHECK(bs_outparse_feed(p, "x", 1, NULL, &err) == BOSON_ERR_INVALID_ARG);
    CHECK_CONTAINS(err.message, "finished");
    bs_outparse_free(p);
}

CHECK_TEST(bad_tools_json_is_reported)
{
    bs_outparse_options o = {0};
    o.tools_json = "[{\"name\": ";
    o.tools_json_len = strlen(o.tools_json);
    boson_error err;
    CHECK(bs_outparse_new(&o, &err) == NULL);
    CHECK(err.status == BOSON_ERR_INVALID_ARG);
    CHECK_CONTAINS(err.message, "tools JSON invalid");
    o.tools_json = "{}";
    o.tools_json_len = 2;
    CHECK(bs_outparse_new(&o, &err) == NULL);
    CHECK_CONTAINS(err.message, "array");
}

CHECK_TEST(one_shot_result)
{
    bs_outparse_result res;
    boson_error err;
    const char *t = "<think>r</think>c<tool_call><function=f></function></tool_call>";
    REQUIRE(bs_outparse_all(t, strlen(t), NULL, &res, &err) == BOSON_OK);
    CHECK_STR_EQ(res.reasoning, "r");
    CHECK_STR_EQ(res.content, "c");
    REQUIRE(res.n_tool_calls == 1);
    CHECK_STR_EQ(res.tool_calls[0].id, "call_0");
    CHECK_STR_EQ(res.tool_calls[0].name, "f");
    CHECK_STR_EQ(res.tool_calls[0].arguments, "{}");
    bs_outparse_result_free(&res);
}

/* ---- random texts: every chunking agrees, nothing is lost ---- */

CHECK_TEST(random_texts_chunking_invariant)
{
    static const char *const pieces[] = {"<think>",
                                         "</think>",
                                         "<tool_call>",
                                         "</tool_call>",
                                         "<function=f>",
                                         "</function>",
                                         "<parameter=a>",
                                         "</parameter>",
                                         "\n",
                                         "\n\n",
                                         " ",
                                         "<",
                                         "<t",
                                         "</",
                                         "<tool_",
                                         "</thi",
                                         "abc",
                                         "é",
                                         "{\"name\": \"g\", \"arguments\": {\"x\": 1}}",
                                         "42",
                                         ">",
                                         "\t"};
    uint64_t seed = 12345;
    for (int it = 0; it < 3000; it++) {
        char text[600];
        size_t n = 0;
        int k = (int)(rng_next(&seed) % 24);
        for (int j = 0; j < k; j++) {
            const char *pc = pieces[rng_next(&seed) % (sizeof pieces / sizeof pieces[0])];
            size_t l = strlen(pc);
            if (n + l >= sizeof text)
                break;
            memcpy(text + n, pc, l);
            n += l;
        }
        text[n] = '\0';
        bs_outparse_options o = {0};
        o.starts_in_think = (int)(rng_next(&seed) % 2);
        o.tool_format = (bs_tool_format)(rng_next(&seed) % 4);
        o.max_tool_call_bytes = (size_t)(rng_next(&seed) % 3) * 12; /* 0 = default */
        rec r;
        int ok = parse_all_ways(text, &o, &r);
        if (!ok)
            CHECK_FAIL_("chunkings disagree on \"%s\"", text);
        /* without tags the output is the input */
        if (!strchr(text, '<') && !o.starts_in_think)
            CHECK(r.content.n == n && (n == 0 || memcmp(r.content.p, text, n) == 0));
        rec_free(&r);
        if (!ok)
            return;
    }
}

int main(void)
{
    return check_main("test_output_parser",
                      (const check_case[]){CHECK_CASE(plain_content_only),
                                           CHECK_CASE(reasoning_at_start),
                                           CHECK_CASE(starts_in_think),
                                           CHECK_CASE(unterminated_reasoning_stays_reasoning),
                                           CHECK_CASE(think_only_before_content),
                                           CHECK_CASE(whitespace_hold_is_bounded),
                                           CHECK_CASE(partial_tags_are_released),
                                           CHECK_CASE(xml_example_d),
                                           CHECK_CASE(xml_example_e_types_and_two_calls),
                                           CHECK_CASE(xml_multiline_and_angle_brackets),
                                           CHECK_CASE(xml_duplicate_parameter_last_wins),
                                           CHECK_CASE(tool_call_in_reasoning_is_reasoning),
                                           CHECK_CASE(json_form),
                                           CHECK_CASE(format_hint_restricts),
                                           CHECK_CASE(malformed_calls_are_text),
                                           CHECK_CASE(valid_call_after_malformed_one),
                                           CHECK_CASE(oversized_call_is_text),
                                           CHECK_CASE(unicode_text_and_arguments),
                                           CHECK_CASE(schema_coercion),
                                           CHECK_CASE(json_scan_rejects_invalid),
                                           CHECK_CASE(sink_failure_stops_the_parser),
                                           CHECK_CASE(finish_then_feed_fails),
                                           CHECK_CASE(bad_tools_json_is_reported),
                                           CHECK_CASE(one_shot_result),
                                           CHECK_CASE(random_texts_chunking_invariant),
                                           {0}});
}
