/* Server JSON writer and request parser: escaping (RFC 8259), invalid UTF-8 replaced by
 * U+FFFD, separators, and field-naming errors. Written text is checked by parsing it back
 * with jansson, a strict independent parser. */
#include "check.h"
#include "server/jw.h"
#include "server/request.h"

#include <jansson.h>
#include <stdlib.h>

CHECK_TEST(escapes_round_trip)
{
    const char raw[] = "q\"b\\s/\n\r\t\x01\x1f \xc3\xa9 \xf0\x9f\x98\x80 end";
    sv_buf b = {0};
    sv_json_str(&b, raw, sizeof raw - 1);
    json_error_t je;
    json_t *v = json_loadb(b.p, b.len, JSON_DECODE_ANY, &je);
    REQUIRE(v != NULL);
    CHECK(json_is_string(v));
    CHECK_EQ_U64(json_string_length(v), sizeof raw - 1);
    CHECK(memcmp(json_string_value(v), raw, sizeof raw - 1) == 0);
    json_decref(v);
    sv_buf_free(&b);
}

CHECK_TEST(invalid_utf8_becomes_replacement)
{
    /* lone continuation, truncated 2-byte, overlong '/', surrogate, > U+10FFFF */
    const char raw[] = "a\x80"
                       "b\xc3"
                       "c\xc0\xaf"
                       "d\xed\xa0\x80"
                       "e\xf4\x90\x80\x80";
    sv_buf b = {0};
    sv_json_str(&b, raw, sizeof raw - 1);
    json_t *v = json_loadb(b.p, b.len, JSON_DECODE_ANY, NULL);
    REQUIRE(v != NULL); /* jansson rejects invalid UTF-8, so this proves it was replaced */
    const char *s = json_string_value(v);
    CHECK(s[0] == 'a' && !memcmp(s + 1, "\xef\xbf\xbd", 3) && s[4] == 'b');
    json_decref(v);
    sv_buf_free(&b);
}

CHECK_TEST(writer_separators)
{
    sv_buf b = {0};
    sv_jw w;
    sv_jw_init(&w, &b);
    sv_jw_obj(&w);
    sv_jw_key(&w, "a");
    sv_jw_arr(&w);
    sv_jw_int(&w, 1);
    sv_jw_num(&w, 0.5);
    sv_jw_null(&w);
    sv_jw_obj(&w);
    sv_jw_obj_end(&w);
    sv_jw_arr_end(&w);
    sv_jw_key(&w, "b");
    sv_jw_bool(&w, 1);
    sv_jw_key(&w, "c");
    sv_jw_num(&w, INFINITY);
    sv_jw_obj_end(&w);
    CHECK(!strcmp(b.p, "{\"a\":[1,0.5,null,{}],\"b\":true,\"c\":null}"));
    sv_buf_free(&b);
}

CHECK_TEST(parser_names_fields)
{
    static const struct {
        const char *body, *param;
    } cases[] = {
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":\"ten\"}",
         "max_tokens"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"top_p\":2}", "top_p"},
        {"{\"messages\":[{\"role\":\"bot\",\"content\":\"x\"}]}", "messages[0].role"},
        {"{\"messages\":[]}", "messages"},
        {"{}", "messages"},
        {"[1]", ""},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stop\":[\"a\",3]}", "stop"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sv_request r;
        sv_error e;
        sv_request_init(&r, SV_API_CHAT);
        CHECK(sv_parse_chat(cases[i].body, strlen(cases[i].body), &r, &e) == -1);
        CHECK(e.http == 400);
        CHECK(!strcmp(e.param, cases[i].param));
        sv_request_free(&r);
    }
}

CHECK_TEST(parser_normalises_messages)
{
    const char body[] = "{\"messages\":[{\"role\":\"developer\",\"content\":[{\"type\":\"text\","
                        "\"text\":\"a\"},{\"type\":\"text\",\"text\":\"b\"}]},{\"role\":"
                        "\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c\",\"type\":"
                        "\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"x\\\":1}"
                        "\"}}]}],\"stop\":\"s\",\"seed\":-3}";
    sv_request r;
    sv_error e;
    sv_request_init(&r, SV_API_CHAT);
    REQUIRE(sv_parse_chat(body, sizeof body - 1, &r, &e) == 0);
    json_t *m = json_loads(r.messages_json, 0, NULL);
    REQUIRE(m != NULL);
    CHECK(!strcmp(json_string_value(json_object_get(json_array_get(m, 0), "role")), "system"));
    CHECK(!strcmp(json_string_value(json_object_get(json_array_get(m, 0), "content")), "a\nb"));
    json_t *args = json_object_get(
        json_object_get(json_array_get(json_object_get(json_array_get(m, 1), "tool_calls"), 0),
                        "function"),
        "arguments");
    CHECK(json_is_object(args) && json_integer_value(json_object_get(args, "x")) == 1);
    CHECK_EQ_U64(r.n_stop, 1);
    CHECK(r.samp.seed >= 0);
    json_decref(m);
    sv_request_free(&r);
}

int main(void)
{
    return check_main("test_server_json",
                      (const check_case[]){CHECK_CASE(escapes_round_trip),
                                           CHECK_CASE(invalid_utf8_becomes_replacement),
                                           CHECK_CASE(writer_separators),
                                           CHECK_CASE(parser_names_fields),
                                           CHECK_CASE(parser_normalises_messages),
                                           {0}});
}
