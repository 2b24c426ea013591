/* Unit tests of the chat-template interpreter: lexer, values (Python formatting), parser and
 * evaluator pieces, error messages and limits. Expected strings are what CPython / jinja2
 * produce for the same input (they are also checked against jinja2 by
 * tests/py/test_chat_template_oracle.py). */
#include "check.h"

#include "text/chat_template.h"
#include "text/jinja_lex.h"
#include "text/jvalue.h"

#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

/* Renders tpl with messages [] and the given extra variables; returns malloc'd text or NULL
 * (error in *err). */
static char *render(const char *tpl, const char *extra, boson_error *err)
{
    bs_chat_render_opts o;
    bs_chat_render_opts_init(&o);
    o.messages_json = "[{\"role\":\"user\",\"content\":\"hi\"}]";
    o.extra_json = extra;
    struct tm now = {.tm_year = 126,
                     .tm_mon = 2,
                     .tm_mday = 7,
                     .tm_hour = 9,
                     .tm_min = 5,
                     .tm_sec = 4,
                     .tm_wday = 6,
                     .tm_yday = 65};
    o.now = &now;
    o.max_steps = 1000000;
    char *out = NULL;
    size_t n = 0;
    if (bs_chat_template_render_text(tpl, strlen(tpl), &o, &out, &n, err) != BOSON_OK)
        return NULL;
    return out;
}

#define CHECK_RENDER(tpl, extra, want)                                \
    do {                                                              \
        boson_error e_;                                               \
        char *got_ = render(tpl, extra, &e_);                         \
        if (!got_)                                                    \
            CHECK_FAIL_("render of %s failed: %s", #tpl, e_.message); \
        else                                                          \
            CHECK_STR_EQ(got_, want);                                 \
        free(got_);                                                   \
    } while (0)

#define CHECK_RENDER_ERROR(tpl, extra, want_status, fragment)                 \
    do {                                                                      \
        boson_error e_;                                                       \
        char *got_ = render(tpl, extra, &e_);                                 \
        if (got_) {                                                           \
            CHECK_FAIL_("render of %s should fail, gave \"%s\"", #tpl, got_); \
            free(got_);                                                       \
        } else {                                                              \
            CHECK_EQ_U64(e_.status, want_status);                             \
            CHECK_CONTAINS(e_.message, fragment);                             \
        }                                                                     \
    } while (0)

/* ---------------------------------------------------------------- values */

CHECK_TEST(float_repr_matches_python)
{
    static const struct {
        double v;
        const char *s;
    } cases[] = {
        {0.1, "0.1"},
        {1.0, "1.0"},
        {100.0, "100.0"},
        {1e15, "1000000000000000.0"},
        {1e16, "1e+16"},
        {1e-4, "0.0001"},
        {1e-5, "1e-05"},
        {123456789012345.6, "123456789012345.6"},
        {1.7976931348623157e308, "1.7976931348623157e+308"},
        {5e-324, "5e-324"},
        {-0.0, "-0.0"},
        {0.1 + 0.2, "0.30000000000000004"},
        {2.5e-300, "2.5e-300"},
        {-1.5, "-1.5"},
        {1.0 / 3.0, "0.3333333333333333"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[32];
        jv_float_repr(cases[i].v, buf);
        CHECK_STR_EQ(buf, cases[i].s);
    }
}

CHECK_TEST(repr_and_json_of_values)
{
    jv_heap h;
    jv_heap_init(&h, 1 << 20);
    jmp_buf jb;
    h.jb = &jb;
    if (setjmp(jb)) {
        CHECK_FAIL_("heap failure: %s", h.msg);
        jv_heap_free(&h);
        return;
    }
    json_t *j = json_loads("{\"b\": [1, 2.5, null, true, \"it's\"], \"a\": \"\\u00e9\\n\\u0001\"}",
                           0, NULL);
    REQUIRE(j != NULL);
    jv v = jv_from_json(&h, j);
    json_decref(j);
    jv_buf b;
    jv_buf_init(&b, &h, 1 << 20);
    jv_write_str(&b, v);
    CHECK_STR_EQ(b.p, "{'b': [1, 2.5, None, True, \"it's\"], 'a': 'é\\n\\x01'}");
    jv_buf_init(&b, &h, 1 << 20);
    jv_json_opts o = {.indent = -1};
    jv_write_json(&b, v, &o);
    CHECK_STR_EQ(b.p, "{\"b\": [1, 2.5, null, true, \"it's\"], \"a\": \"é\\n\\u0001\"}");
    jv_buf_init(&b, &h, 1 << 20);
    o.ensure_ascii = 1;
    o.indent = 2;
    jv_write_json(&b, v, &o);
    CHECK_STR_EQ(b.p, "{\n  \"b\": [\n    1,\n    2.5,\n    null,\n    true,\n    \"it's\"\n  ],\n"
                      "  \"a\": \"\\u00e9\\n\\u0001\"\n}");
    /* Python equality across numeric types, ordering of strings by code point */
    CHECK(jv_equal(&h, jv_int(1), jv_float(1.0)));
    CHECK(jv_equal(&h, jv_bool(1), jv_int(1)));
    CHECK(!jv_equal(&h, jv_none(), jv_bool(0)));
    CHECK(jv_compare(&h, jv_str_c(&h, "a"), jv_str_c(&h, "é"), "<") < 0);
    CHECK(!jv_truthy(jv_str_c(&h, "")) && jv_truthy(jv_str_c(&h, " ")));
    CHECK(!jv_truthy(jv_list_new(&h, 0)) && !jv_truthy(jv_undef(NULL)));
    jv_heap_free(&h);
}

CHECK_TEST(heap_limit_jumps_instead_of_crashing)
{
    jv_heap h;
    jv_heap_init(&h, 100000);
    jmp_buf jb;
    h.jb = &jb;
    volatile int jumped = 0;
    if (setjmp(jb)) {
        jumped = 1;
    } else {
        for (int i = 0; i < 100; i++)
            jv_alloc(&h, 10000);
    }
    CHECK(jumped);
    CHECK_EQ_U64(h.status, BOSON_ERR_NOMEM);
    CHECK_CONTAINS(h.msg, "memory limit");
    jv_heap_free(&h);
}

/* ---------------------------------------------------------------- lexer */

CHECK_TEST(lexer_tokens_and_string_escapes)
{
    jv_heap h;
    jv_heap_init(&h, 1 << 20);
    jmp_buf jb;
    h.jb = &jb;
    if (setjmp(jb)) {
        CHECK_FAIL_("lexer failed: %s", h.msg);
        jv_heap_free(&h);
        return;
    }
    const char *src = "a{{ x.y|f(1, 2.5e3) }}{% if 'q\\n\\x41\\u00e9\\101\\z' %}\n";
    jlex_out lx;
    jinja_lex(&h, src, strlen(src), &lx);
    static const jtok_kind want[] = {JT_TEXT,   JT_VAR_BEGIN, JT_NAME,    JT_OP,          JT_NAME,
                                     JT_OP,     JT_NAME,      JT_OP,      JT_INT,         JT_OP,
                                     JT_FLOAT,  JT_OP,        JT_VAR_END, JT_BLOCK_BEGIN, JT_NAME,
                                     JT_STRING, JT_BLOCK_END, JT_EOF};
    REQUIRE(lx.ntoks == sizeof want / sizeof want[0]);
    for (size_t i = 0; i < lx.ntoks; i++)
        CHECK_EQ_U64(lx.toks[i].kind, want[i]);
    CHECK_EQ_U64(lx.toks[8].i, 1);
    CHECK_NEAR(lx.toks[10].f, 2500.0, 0);
    /* \n, \x41, \u00e9, octal \101 decoded; unknown escape \z kept */
    CHECK_EQ_U64(lx.toks[15].n, strlen("q\nAéA\\z"));
    CHECK(memcmp(lx.toks[15].s, "q\nAéA\\z", lx.toks[15].n) == 0);
    /* offsets point into the source for error positions */
    CHECK_EQ_U64(lx.toks[2].off, 4);
    int line, col;
    jinja_line_col("ab\ncdé\nx", 9, 8, &line, &col);
    CHECK_EQ_U64(line, 3);
    CHECK_EQ_U64(col, 1);
    jinja_line_col("ab\ncdé\nx", 9, 6, &line, &col);
    CHECK_EQ_U64(line, 2);
    CHECK_EQ_U64(col, 4);
    jv_heap_free(&h);
}

CHECK_TEST(whitespace_control_as_hf_configures_jinja)
{
    /* trim_blocks: a block tag swallows one newline; lstrip_blocks: indentation before a block
     * tag at line start is removed; "-" strips all whitespace; "+" keeps it; one trailing
     * newline of the template is dropped; CRLF becomes LF */
    CHECK_RENDER("a\n  {% if 1 %}\n  x\n  {% endif %}\nb", NULL, "a\n  x\nb");
    CHECK_RENDER("{% if 1 %}  {% endif %}", NULL, "  ");
    CHECK_RENDER("x  {#- c -#}  y\n", NULL, "xy");
    CHECK_RENDER("x\n\n", NULL, "x\n");
    CHECK_RENDER("{{ 1 }}\n{# c #}\n  {%+ if 1 %}a{% endif +%}\nb", NULL, "1\n  a\nb");
    CHECK_RENDER("  {% raw %}\n{{x}}  {% endraw %}\nz", NULL, "\n{{x}}  z");
    CHECK_RENDER("l1\r\nl2\r{% if 1 %}\r\nx{% endif %}", NULL, "l1\nl2\nx");
    CHECK_RENDER("{{- '  a  ' -}}\n\n{{ 'b' }}  \n  {{- 'c' }}", NULL, "  a  bc");
}

/* ---------------------------------------------------------------- evaluator */

CHECK_TEST(expressions_follow_python)
{
    CHECK_RENDER("{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 1 / 2 }} {{ 4 / 2 }} {{ 2 ** 10 }}",
                 NULL, "3 -4 2 0.5 2.0 1024");
    CHECK_RENDER("{{ [1, 'a', none, true, 1.5, (1, 2), (1,)] }}", NULL,
                 "[1, 'a', None, True, 1.5, (1, 2), (1,)]");
    CHECK_RENDER("{{ 'a' ~ 1 ~ none ~ u }}|{{ u }}|{{ none }}|{{ 1 if 0 }}|", NULL,
                 "a1None||None||");
    CHECK_RENDER(
        "{{ 1 < 2 < 3 }} {{ 'b' in 'abc' }} {{ 3 not in [1] }} {{ 0 or 'x' }} {{ 1 and 0 }}", NULL,
        "True True True x 0");
    CHECK_RENDER("{{ 'héllo'[::-1] }} {{ 'héllo'|length }} {{ [1, 2, 3][1:] }} {{ 'abc'[-1] }}",
                 NULL, "olléh 5 [2, 3] c");
    CHECK_RENDER("{{ x.a }}{{ x['b'][0] }}[{{ x.zz }}]{{ x.items is callable }}",
                 "{\"x\":{\"a\":1,\"b\":[2]}}", "12[]True");
}

CHECK_TEST(statements_scoping_loops_macros)
{
    CHECK_RENDER("{% for x in [1, 2, 3] %}{{ loop.index }}{{ loop.first }}{{ loop.last }}"
                 "{{ loop.previtem }},{% endfor %}",
                 NULL, "1TrueFalse,2FalseFalse1,3FalseTrue2,");
    CHECK_RENDER("{% set x = 1 %}{% for i in [1, 2] %}{{ x }}{% set x = i + 10 %}{{ x }}"
                 "{% endfor %}{{ x }}",
                 NULL, "1111121");
    CHECK_RENDER("{% set ns = namespace(n=0) %}{% for i in [1, 2, 3] %}{% set ns.n = ns.n + i %}"
                 "{% endfor %}{{ ns.n }}",
                 NULL, "6");
    CHECK_RENDER("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}", NULL,
                 "a=1;b=2;");
    CHECK_RENDER("{% for x in [] %}x{% else %}empty{% endfor %}", NULL, "empty");
    CHECK_RENDER("{% for x in [1, 2, 3, 4] if x is even %}{{ x }}{{ loop.length }}{% endfor %}",
                 NULL, "2242");
    CHECK_RENDER("{% for x in [1, 2, 3] %}{% if x == 2 %}{% break %}{% endif %}{{ x }}"
                 "{% endfor %}",
                 NULL, "1");
    CHECK_RENDER("{% macro m(a, b='B') %}[{{ a }}{{ b }}]{% endmacro %}{{ m(1) }}{{ m(1, b=2) }}",
                 NULL, "[1B][12]");
    CHECK_RENDER("{% set x %} a {% endset %}[{{ x }}]{% filter upper %}b{% endfilter %}", NULL,
                 "[ a ]B");
}

CHECK_TEST(filters_and_methods)
{
    CHECK_RENDER("{{ '  x y  '|trim }}|{{ [3, 1, 2]|sort|join(',') }}|{{ {'a': 1}|items|list }}",
                 NULL, "x y|1,2,3|[('a', 1)]");
    CHECK_RENDER("{{ {'k': 'é', 'n': [1.0, none]}|tojson }}|{{ [1, 2]|tojson(indent=1) }}", NULL,
                 "{\"k\": \"é\", \"n\": [1.0, null]}|[\n 1,\n 2\n]");
    CHECK_RENDER("{{ u|default('d') }} {{ '3.9'|int }} {{ 'x'|int(7) }} {{ true|string }}", NULL,
                 "d 3 7 True");
    CHECK_RENDER("{{ 'a,b'.split(',') }} {{ '\\n\\nx\\n'.lstrip('\\n') }} "
                 "{{ 'abc'.startswith(('z', 'a')) }} {{ d.get('q', 5) }}",
                 "{\"d\":{}}", "['a', 'b'] x\n True 5");
    CHECK_RENDER("{{ [{'n': 'a', 'k': 1}, {'n': 'b'}]|selectattr('k')|map(attribute='n')|list }}",
                 NULL, "['a']");
    CHECK_RENDER("{{ strftime_now('%Y-%m-%d %H:%M:%S') }}", NULL, "2026-03-07 09:05:04");
}

CHECK_TEST(standard_variables)
{
    CHECK_RENDER("{{ messages[0].content }}|{{ tools is none }}|{{ add_generation_prompt }}|"
                 "{{ enable_thinking is defined }}",
                 NULL, "hi|True|False|False");
    /* transformers' message normalisation: null keys dropped, reasoning aliased */
    CHECK_RENDER("{{ messages[0].keys()|list }}", NULL, "['role', 'content']");
    CHECK_RENDER("{{ enable_thinking }}{{ bos_token }}",
                 "{\"enable_thinking\":false,\"bos_token\":\"<s>\"}", "False<s>");
}

/* ---------------------------------------------------------------- errors */

CHECK_TEST(errors_name_line_and_column)
{
    CHECK_RENDER_ERROR("x\n{{ y|wordcount }}", NULL, BOSON_ERR_FORMAT,
                       "chat template line 2, column 6: unknown filter 'wordcount'");
    CHECK_RENDER_ERROR("{{ 1 is frob }}", NULL, BOSON_ERR_FORMAT, "unknown test 'frob'");
    CHECK_RENDER_ERROR("ab\n  {% frob %}", NULL, BOSON_ERR_FORMAT,
                       "line 2, column 6: unknown tag 'frob'");
    CHECK_RENDER_ERROR("{% if 1 %}x", NULL, BOSON_ERR_FORMAT, "'if' tag was never closed");
    CHECK_RENDER_ERROR("{% for x in y %}{% endif %}", NULL, BOSON_ERR_FORMAT, "unexpected 'endif'");
    CHECK_RENDER_ERROR("{{ 'abc }}", NULL, BOSON_ERR_FORMAT, "unterminated string");
    CHECK_RENDER_ERROR("{{ (1 }}", NULL, BOSON_ERR_FORMAT, "line 1");
    CHECK_RENDER_ERROR("{# x", NULL, BOSON_ERR_FORMAT, "missing end of comment tag");
    CHECK_RENDER_ERROR("{% include 'a' %}", NULL, BOSON_ERR_FORMAT,
                       "'include' tag is not supported");
    CHECK_RENDER_ERROR("\xff", NULL, BOSON_ERR_FORMAT, "not valid UTF-8");
    CHECK_RENDER_ERROR("a\n{{ u.x }}", NULL, BOSON_ERR_RUNTIME,
                       "line 2, column 5: 'u' is undefined");
    CHECK_RENDER_ERROR("{{ 1 / 0 }}", NULL, BOSON_ERR_RUNTIME, "division by zero");
    CHECK_RENDER_ERROR("{{ 'a' + 1 }}", NULL, BOSON_ERR_RUNTIME,
                       "unsupported operand type(s) for +: 'str' and 'int'");
    CHECK_RENDER_ERROR("{{ 'x'.zfill(2) }}", NULL, BOSON_ERR_UNSUPPORTED,
                       "the str method 'zfill' is not supported");
    CHECK_RENDER_ERROR("{{ [1].append(2) }}", NULL, BOSON_ERR_RUNTIME, "unsafe");
}

CHECK_TEST(raise_exception_carries_the_message)
{
    CHECK_RENDER_ERROR("\n  {{ raise_exception('No user query found in messages.') }}", NULL,
                       BOSON_ERR_INVALID_ARG,
                       "chat template line 2, column 6: No user query found in messages.");
}

CHECK_TEST(limits_fail_cleanly)
{
    CHECK_RENDER_ERROR("{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(0) }}", NULL,
                       BOSON_ERR_RUNTIME, "recursion");
    CHECK_RENDER_ERROR("{% set ns = namespace(s='xx') %}{% for i in range(40) %}"
                       "{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
                       NULL, BOSON_ERR_RUNTIME, "output limit");
    CHECK_RENDER_ERROR("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}"
                       "{% endfor %}",
                       NULL, BOSON_ERR_RUNTIME, "steps");
    CHECK_RENDER_ERROR("{{ range(1000000) }}", NULL, BOSON_ERR_RUNTIME, "Range too big");
    CHECK_RENDER_ERROR(
        "{% set ns = namespace(x=[]) %}{% for i in range(500) %}{% set ns.x = [ns.x] %}"
        "{% endfor %}{{ ns.x }}",
        NULL, BOSON_ERR_RUNTIME, "nested deeper");
    char deep[420];
    memset(deep, '(', 200);
    deep[200] = '1';
    memset(deep + 201, ')', 200);
    deep[401] = '\0';
    char tpl[440];
    snprintf(tpl, sizeof tpl, "{{ %s }}", deep);
    CHECK_RENDER_ERROR(tpl, NULL, BOSON_ERR_FORMAT, "nested too deeply");
}

CHECK_TEST(bad_inputs_are_reported)
{
    bs_chat_render_opts o;
    bs_chat_render_opts_init(&o);
    char *out;
    size_t n;
    boson_error err;
    o.messages_json = "[{\"role\": }";
    CHECK_EQ_U64(bs_chat_template_render_text("x", 1, &o, &out, &n, &err), BOSON_ERR_INVALID_ARG);
    CHECK_CONTAINS(err.message, "messages: invalid JSON at line 1");
    o.messages_json = "{\"role\": \"user\"}";
    CHECK_EQ_U64(bs_chat_template_render_text("x", 1, &o, &out, &n, &err), BOSON_ERR_INVALID_ARG);
    CHECK_CONTAINS(err.message, "messages must be a JSON array");
    o.messages_json = "[]";
    o.extra_json = "[1]";
    CHECK_EQ_U64(bs_chat_template_render_text("x", 1, &o, &out, &n, &err), BOSON_ERR_INVALID_ARG);
    CHECK_CONTAINS(err.message, "extra variables must be a JSON object");
    /* a loaded template renders many times */
    bs_chat_template *t;
    REQUIRE(bs_chat_template_load(&t, "{{ messages|length }}", 21, &err) == BOSON_OK);
    o.extra_json = NULL;
    /* transformers refuses an empty conversation; raw mode renders it */
    CHECK_EQ_U64(bs_chat_template_render(t, &o, &out, &n, &err), BOSON_ERR_INVALID_ARG);
    CHECK_CONTAINS(err.message, "empty conversation");
    o.hf_normalize = 0;
    for (int i = 0; i < 3; i++) {
        REQUIRE(bs_chat_template_render(t, &o, &out, &n, &err) == BOSON_OK);
        CHECK_STR_EQ(out, "0");
        CHECK_EQ_U64(n, 1);
        free(out);
    }
    bs_chat_template_free(t);
}

int main(void)
{
    return check_main("test_jinja",
                      (const check_case[]){CHECK_CASE(float_repr_matches_python),
                                           CHECK_CASE(repr_and_json_of_values),
                                           CHECK_CASE(heap_limit_jumps_instead_of_crashing),
                                           CHECK_CASE(lexer_tokens_and_string_escapes),
                                           CHECK_CASE(whitespace_control_as_hf_configures_jinja),
                                           CHECK_CASE(expressions_follow_python),
                                           CHECK_CASE(statements_scoping_loops_macros),
                                           CHECK_CASE(filters_and_methods),
                                           CHECK_CASE(standard_variables),
                                           CHECK_CASE(errors_name_line_and_column),
                                           CHECK_CASE(raise_exception_carries_the_message),
                                           CHECK_CASE(limits_fail_cleanly),
                                           CHECK_CASE(bad_inputs_are_reported),
                                           {0}});
}
