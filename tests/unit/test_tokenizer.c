/* Tokenizer unit tests: UTF-8 and byte-level helpers, BPE merge order, added tokens, streaming
 * decode and load errors on small hand-written tokenizers (expected ids worked out by hand from
 * the BPE rules), and known Qwen3 cases from the shared test vectors / reference. */
#include "check.h"

#include "text/bytelevel.h"
#include "text/detok_stream.h"
#include "text/tokenizer.h"
#include "text/utf8.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *data_dir(void)
{
    const char *d = getenv("BOSON_SHARED_DATA");
    return d ? d : "../shared/data";
}

/* ---- small tokenizer built in memory ---- */

typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static void sb_put(sbuf *b, const char *s)
{
    size_t k = strlen(s);
    if (b->n + k + 1 > b->cap) {
        b->cap = 2 * (b->n + k + 1);
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, s, k + 1);
    b->n += k;
}

/* JSON string body for the byte-level form of raw bytes. */
static void sb_bytelevel(sbuf *b, const char *raw)
{
    char tmp[16];
    for (const unsigned char *p = (const unsigned char *)raw; *p; p++) {
        snprintf(tmp, sizeof tmp, "\\u%04x", (unsigned)bs_bytelevel_char(*p));
        sb_put(b, tmp);
    }
}

/* vocab: 256 byte tokens (id = byte value), then extra tokens from id 256; merges as given
 * (pairs of raw strings); pair_form selects [a, b] rather than "a b". */
static char *tiny_json(const char *const *extra, int n_extra, const char *const (*merges)[2],
                       int n_merges, int pair_form, const char *tail)
{
    sbuf b = {0};
    char tmp[64];
    sb_put(&b, "{\"version\":\"1.0\",\"added_tokens\":[");
    sb_put(&b, "{\"id\":300,\"content\":\"<x>\",\"special\":true,\"normalized\":false},");
    sb_put(&b, "{\"id\":301,\"content\":\"<xy>\",\"special\":false,\"normalized\":false}],");
    sb_put(&b, "\"normalizer\":{\"type\":\"NFC\"},");
    sb_put(&b,
           "\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\","
           "\"pattern\":{\"Regex\":\"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?"
           "\\\\p{L}+|\\\\p{N}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|"
           "\\\\s+(?!\\\\S)|\\\\s+\"},\"behavior\":\"Isolated\",\"invert\":false},"
           "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":false,"
           "\"use_regex\":false}]},");
    sb_put(&b, "\"decoder\":{\"type\":\"ByteLevel\"},");
    sb_put(&b, "\"model\":{\"type\":\"BPE\",\"vocab\":{");
    for (int i = 0; i < 256; i++) {
        char raw[2] = {(char)i, 0};
        sb_put(&b, "\"");
        if (i == 0)
            sb_put(&b, "\\u0100");
        else
            sb_bytelevel(&b, raw);
        snprintf(tmp, sizeof tmp, "\":%d,", i);
        sb_put(&b, tmp);
    }
    for (int i = 0; i < n_extra; i++) {
        sb_put(&b, "\"");
        sb_bytelevel(&b, extra[i]);
        snprintf(tmp, sizeof tmp, "\":%d%s", 256 + i, i + 1 < n_extra ? "," : "");
        sb_put(&b, tmp);
    }
    sb_put(&b, "},\"merges\":[");
    for (int i = 0; i < n_merges; i++) {
        sb_put(&b, pair_form ? "[\"" : "\"");
        sb_bytelevel(&b, merges[i][0]);
        sb_put(&b, pair_form ? "\",\"" : " ");
        sb_bytelevel(&b, merges[i][1]);
        sb_put(&b, pair_form ? "\"]" : "\"");
        if (i + 1 < n_merges)
            sb_put(&b, ",");
    }
    sb_put(&b, "]");
    sb_put(&b, tail ? tail : "");
    sb_put(&b, "}}");
    return b.p;
}

static const char *const EXTRA[] = {"bc", "ab", "abc", "aa", " a"};
static const char *const MERGES[][2] = {
    {"b", "c"}, {"a", "b"}, {"a", "bc"}, {"a", "a"}, {" ", "a"}};

static bs_tokenizer *tiny(int pair_form)
{
    char *js = tiny_json(EXTRA, 5, MERGES, 5, pair_form, NULL);
    bs_tokenizer *t = NULL;
    boson_error e = {0};
    if (bs_tokenizer_load_mem(js, strlen(js), NULL, 0, "tiny", &t, &e) != BOSON_OK)
        fprintf(stderr, "tiny load: %s\n", e.message);
    free(js);
    return t;
}

static int encode_eq(bs_tokenizer *t, const char *text, size_t len, unsigned flags,
                     const int32_t *want, size_t n_want)
{
    bs_ids v = {0};
    boson_error e = {0};
    int ok = bs_tokenizer_encode(t, NULL, text, len, flags, &v, &e) == BOSON_OK && v.n == n_want &&
             (n_want == 0 || memcmp(v.ids, want, n_want * sizeof *want) == 0);
    if (!ok) {
        fprintf(stderr, "  encode \"%.*s\": got", (int)len, text);
        for (size_t i = 0; i < v.n; i++)
            fprintf(stderr, " %d", v.ids[i]);
        fprintf(stderr, " (%s)\n", e.message);
    }
    bs_ids_free(&v);
    return ok;
}

#define ENC(t, s, flags, ...)                                             \
    encode_eq(t, s, sizeof(s) - 1, flags, (const int32_t[]){__VA_ARGS__}, \
              sizeof((const int32_t[]){__VA_ARGS__}) / sizeof(int32_t))

CHECK_TEST(utf8_maximal_subparts)
{
    uint8_t out[64];
    size_t n = bs_utf8_sanitize((const uint8_t *)"\xed\xa0\x80x", 4, out);
    CHECK(n == 10 && memcmp(out, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx", 10) == 0);
    n = bs_utf8_sanitize((const uint8_t *)"\xf0\x9f\x98", 3, out);
    CHECK(n == 3 && memcmp(out, "\xef\xbf\xbd", 3) == 0);
    n = bs_utf8_sanitize((const uint8_t *)"\xe4\xbd a\xf4\x90", 6, out);
    CHECK(n == 11 && memcmp(out, "\xef\xbf\xbd a\xef\xbf\xbd\xef\xbf\xbd", 11) == 0);
    CHECK_EQ_U64(bs_utf8_valid_prefix((const uint8_t *)"ab\xc3\xa9\xc3", 5), 4);
    uint32_t cp;
    size_t len;
    CHECK(bs_utf8_decode((const uint8_t *)"\xf0\x9f\x98\x80", 4, &cp, &len) == BS_UTF8_OK);
    CHECK_EQ_U64(cp, 0x1F600);
    CHECK(bs_utf8_decode((const uint8_t *)"\xf0\x9f", 2, &cp, &len) == BS_UTF8_INCOMPLETE);
    CHECK(bs_utf8_decode((const uint8_t *)"\xc0\xaf", 2, &cp, &len) == BS_UTF8_INVALID);
    CHECK_EQ_U64(len, 1);
}

CHECK_TEST(bytelevel_table)
{
    CHECK_EQ_U64(bs_bytelevel_char(' '), 0x120);
    CHECK_EQ_U64(bs_bytelevel_char('\n'), 0x10A);
    CHECK_EQ_U64(bs_bytelevel_char('\t'), 0x109);
    CHECK_EQ_U64(bs_bytelevel_char('!'), '!');
    CHECK_EQ_U64(bs_bytelevel_char(0xAD), 0x143);
    CHECK_EQ_U64(bs_bytelevel_char(0x7F), 0x121);
    int seen[0x144] = {0};
    for (int b = 0; b < 256; b++) {
        uint32_t c = bs_bytelevel_char((uint8_t)b);
        REQUIRE(c < 0x144);
        CHECK(!seen[c]);
        seen[c] = 1;
        CHECK_EQ_I64(bs_bytelevel_byte(c), b);
    }
    CHECK_EQ_I64(bs_bytelevel_byte(' '), -1);
    CHECK_EQ_I64(bs_bytelevel_byte(0x144), -1);
}

CHECK_TEST(bpe_merge_order)
{
    for (int form = 0; form < 2; form++) {
        bs_tokenizer *t = tiny(form);
        REQUIRE(t);
        /* (b,c) rank 0 before (a,b) rank 1, then (a,bc) rank 2 */
        CHECK(ENC(t, "abc", 0, 258));
        CHECK(ENC(t, "abab", 0, 257, 257));
        /* equal ranks: leftmost first */
        CHECK(ENC(t, "aaa", 0, 259, 'a'));
        CHECK(ENC(t, "aaaa", 0, 259, 259));
        /* split: " a" is one piece with the space, digits one per piece */
        CHECK(ENC(t, "x a12", 0, 'x', 260, '1', '2'));
        CHECK(ENC(t, "", 0));
        bs_tokenizer_free(t);
    }
}

CHECK_TEST(added_tokens_and_modes)
{
    bs_tokenizer *t = tiny(1);
    REQUIRE(t);
    CHECK(ENC(t, "1<xy>2<x>", 0, '1', 301, '2', 300));
    /* leftmost wins over longest elsewhere; "<x" alone is text */
    CHECK(ENC(t, "<<x>y>", 0, '<', 300, 'y', '>'));
    CHECK(ENC(t, "<x", 0, '<', 'x'));
    /* literal: nothing is matched */
    CHECK(ENC(t, "<x>", BS_TOK_LITERAL, '<', 'x', '>'));
    CHECK(ENC(t, "<xy>", BS_TOK_LITERAL, '<', 'x', 'y', '>'));
    /* split-special: only the special token becomes text */
    CHECK(ENC(t, "<x><xy>", BS_TOK_SPLIT_SPECIAL, '<', 'x', '>', 301));
    CHECK_EQ_I64(bs_tokenizer_added_id(t, "<xy>", 4), 301);
    CHECK(bs_tokenizer_is_special(t, 300));
    CHECK(!bs_tokenizer_is_special(t, 301));
    CHECK_EQ_U64(bs_tokenizer_n_ids(t), 302);
    /* invalid UTF-8 becomes U+FFFD (EF BF BD = byte tokens 0xEF 0xBF 0xBD) */
    CHECK(ENC(t, "a\xff", 0, 'a', 0xEF, 0xBF, 0xBD));
    /* NFC: e + U+0301 composes to U+00E9 (C3 A9) */
    CHECK(ENC(t, "e\xcc\x81", 0, 0xC3, 0xA9));
    bs_tokenizer_free(t);
}

CHECK_TEST(decode_and_errors)
{
    bs_tokenizer *t = tiny(0);
    REQUIRE(t);
    bs_bytes_buf b = {0};
    boson_error e = {0};
    int32_t ids[] = {258, 300, 260, 0xE4};
    REQUIRE(bs_tokenizer_decode(t, ids, 4, 0, &b, &e) == BOSON_OK);
    CHECK(b.n == 11 && memcmp(b.p, "abc<x> a\xef\xbf\xbd", 11) == 0);
    b.n = 0;
    REQUIRE(bs_tokenizer_decode(t, ids, 3, BS_DECODE_SKIP_SPECIAL, &b, &e) == BOSON_OK);
    CHECK(b.n == 5 && memcmp(b.p, "abc a", 5) == 0);
    b.n = 0;
    int32_t bad[] = {1, 290};
    CHECK(bs_tokenizer_decode(t, bad, 2, 0, &b, &e) == BOSON_ERR_INVALID_ARG);
    CHECK_CONTAINS(e.message, "position 1");
    int32_t neg[] = {-5};
    CHECK(bs_tokenizer_decode(t, neg, 1, 0, &b, &e) == BOSON_ERR_INVALID_ARG);
    CHECK_EQ_U64(b.n, 0);
    bs_bytes_free(&b);
    bs_tokenizer_free(t);
}

CHECK_TEST(stream_decoder_holds_partial_utf8)
{
    bs_tokenizer *t = tiny(0);
    REQUIRE(t);
    bs_detok d;
    bs_bytes_buf out = {0};
    boson_error e = {0};
    bs_detok_init(&d, t, 0);
    /* U+4F60 = E4 BD A0 fed byte by byte */
    REQUIRE(bs_detok_feed(&d, 0xE4, &out, &e) == BOSON_OK);
    CHECK_EQ_U64(out.n, 0);
    REQUIRE(bs_detok_feed(&d, 0xBD, &out, &e) == BOSON_OK);
    CHECK_EQ_U64(out.n, 0);
    REQUIRE(bs_detok_feed(&d, 0xA0, &out, &e) == BOSON_OK);
    CHECK(out.n == 3 && memcmp(out.p, "\xe4\xbd\xa0", 3) == 0);
    /* a sequence cut by a byte that can never continue it: U+FFFD at once, then the byte */
    out.n = 0;
    REQUIRE(bs_detok_feed(&d, 0xE4, &out, &e) == BOSON_OK);
    REQUIRE(bs_detok_feed(&d, 'a', &out, &e) == BOSON_OK);
    CHECK(out.n == 4 && memcmp(out.p,
                               "\xef\xbf\xbd"
                               "a",
                               4) == 0);
    /* a stray continuation byte is replaced immediately */
    out.n = 0;
    REQUIRE(bs_detok_feed(&d, 0x80, &out, &e) == BOSON_OK);
    CHECK(out.n == 3 && memcmp(out.p, "\xef\xbf\xbd", 3) == 0);
    /* flush of an unfinished tail gives one U+FFFD */
    out.n = 0;
    REQUIRE(bs_detok_feed(&d, 0xF0, &out, &e) == BOSON_OK);
    REQUIRE(bs_detok_feed(&d, 0x9F, &out, &e) == BOSON_OK);
    CHECK_EQ_U64(out.n, 0);
    REQUIRE(bs_detok_flush(&d, &out, &e) == BOSON_OK);
    CHECK(out.n == 3 && memcmp(out.p, "\xef\xbf\xbd", 3) == 0);
    CHECK(bs_detok_feed(&d, 5000, &out, &e) == BOSON_ERR_INVALID_ARG);
    bs_bytes_free(&out);
    bs_tokenizer_free(t);
}

static boson_status load_str(const char *js, boson_error *e)
{
    bs_tokenizer *t = NULL;
    boson_status st = bs_tokenizer_load_mem(js, strlen(js), NULL, 0, "bad.json", &t, e);
    bs_tokenizer_free(t);
    return st;
}

CHECK_TEST(load_errors_name_the_json_path)
{
    boson_error e = {0};
    /* a huge id must not size the id tables (found by fuzz_tokenizer: a 4.4 GB calloc) */
    CHECK(load_str("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":555555555},\"merges\":[]}}",
                   &e) == BOSON_ERR_FORMAT);
    CHECK_CONTAINS(e.message, "token id 555555555 is too large");
    CHECK(load_str("{\"model\": {", &e) == BOSON_ERR_FORMAT);
    CHECK_CONTAINS(e.message, "bad.json: invalid JSON at line 1");
    CHECK(load_str("{\"model\":{\"type\":\"WordPiece\",\"vocab\":{}}}", &e) ==
          BOSON_ERR_UNSUPPORTED);
    CHECK_CONTAINS(e.message, "model.type");
    CHECK(load_str("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":\"x\"},\"merges\":[]}}", &e) ==
          BOSON_ERR_FORMAT);
    CHECK_CONTAINS(e.message, "model.vocab[\"a\"]");
    CHECK(load_str("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[\"a b\"]}}", &e) ==
          BOSON_ERR_FORMAT);
    CHECK_CONTAINS(e.message, "model.merges[0]: right token \"b\"");
    CHECK(load_str("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[\"a\"]}}", &e) ==
          BOSON_ERR_FORMAT);
    CHECK_CONTAINS(e.message, "model.merges[0]");
    CHECK(load_str("{\"added_tokens\":[{\"id\":1}],\"model\":{\"vocab\":{\"a\":0},\"merges\":[]}}",
                   &e) == BOSON_ERR_FORMAT);
    CHECK_CONTAINS(e.message, "added_tokens[0]: \"content\"");
    /* a merge whose result is missing, in a complete tokenizer */
    static const char *const ex[] = {"ab"};
    static const char *const mg[][2] = {{"a", "c"}};
    char *js = tiny_json(ex, 1, mg, 1, 1, NULL);
    CHECK(load_str(js, &e) == BOSON_ERR_FORMAT);
    CHECK_CONTAINS(e.message, "model.merges[0]: merged token");
    free(js);
    /* unsupported pre-tokenizer options */
    js = tiny_json(ex, 1, NULL, 0, 1, NULL);
    char *p = strstr(js, "\"add_prefix_space\":false");
    REQUIRE(p);
    memcpy(p, "\"add_prefix_space\":true ", 24);
    CHECK(load_str(js, &e) == BOSON_ERR_UNSUPPORTED);
    CHECK_CONTAINS(e.message, "pre_tokenizer.pretokenizers[1]");
    free(js);
    js = tiny_json(ex, 1, NULL, 0, 1, NULL);
    p = strstr(js, "\\\\p{N}|");
    REQUIRE(p);
    p[6] = '(';
    CHECK(load_str(js, &e) == BOSON_ERR_FORMAT);
    CHECK_CONTAINS(e.message, "pre_tokenizer.pretokenizers[0].pattern: bad regular expression");
    free(js);
    bs_tokenizer *t = NULL;
    CHECK(bs_tokenizer_load("/nonexistent/tokenizer.json", NULL, &t, &e) == BOSON_ERR_IO);
    CHECK_CONTAINS(e.message, "/nonexistent/tokenizer.json");
}

/* ---- real Qwen3 tokenizer ---- */

static bs_tokenizer *qwen3(void)
{
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/qwen3-tokenizer/tokenizer.json", data_dir());
    snprintf(b, sizeof b, "%s/qwen3-tokenizer/tokenizer_config.json", data_dir());
    bs_tokenizer *t = NULL;
    boson_error e = {0};
    if (bs_tokenizer_load(a, b, &t, &e) != BOSON_OK)
        fprintf(stderr, "  qwen3 load: %s (set BOSON_SHARED_DATA)\n", e.message);
    return t;
}

CHECK_TEST(qwen3_known_cases)
{
    bs_tokenizer *t = qwen3();
    REQUIRE(t);
    CHECK_EQ_U64(bs_tokenizer_n_ids(t), 151669);
    CHECK(ENC(t, "Hello world", 0, 9707, 1879));
    CHECK(ENC(t, " Hello world", 0, 21927, 1879));
    CHECK(ENC(t, "a    b", 0, 64, 262, 293));
    CHECK(ENC(t, "2026", 0, 17, 15, 17, 21));
    CHECK(ENC(t, "hi<|im_end|>x", 0, 6023, 151645, 87));
    CHECK(ENC(t, "a<think>b", 0, 64, 151667, 65));
    CHECK(ENC(t, "caf\xc3\xa9", 0, 924, 58858));
    CHECK(ENC(t, "cafe\xcc\x81", 0, 924, 58858));
    CHECK(ENC(t,
              "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi!"
              "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n",
              0, 151644, 8948, 198, 2610, 525, 264, 10950, 17847, 13, 151645, 198, 151644, 872, 198,
              13048, 0, 151645, 198, 151644, 77091, 198, 151667, 271, 151668, 271));
    bs_ids v = {0};
    boson_error e = {0};
    REQUIRE(bs_tokenizer_encode(t, NULL, "<|im_start|>", 12, BS_TOK_LITERAL, &v, &e) == BOSON_OK);
    CHECK(v.n > 1);
    for (size_t i = 0; i < v.n; i++)
        CHECK(v.ids[i] < 151643);
    bs_ids_free(&v);
    bs_tokenizer_free(t);
}

CHECK_TEST(qwen3_vectors)
{
    bs_tokenizer *t = qwen3();
    REQUIRE(t);
    char p[512];
    snprintf(p, sizeof p, "%s/tokenizer-vectors/qwen2.inp", data_dir());
    FILE *fi = fopen(p, "rb");
    snprintf(p, sizeof p, "%s/tokenizer-vectors/qwen2.out", data_dir());
    FILE *fo = fopen(p, "rb");
    REQUIRE(fi && fo);
    static char inp[1 << 16], outs[1 << 16];
    size_t ni = fread(inp, 1, sizeof inp - 1, fi), no = fread(outs, 1, sizeof outs - 1, fo);
    fclose(fi);
    fclose(fo);
    inp[ni] = outs[no] = 0;
    const char *sep = "\n__ggml_vocab_test__\n";
    char *cur = inp, *line = outs;
    int cases = 0;
    bs_tok_state *st = NULL;
    boson_error e = {0};
    REQUIRE(bs_tok_state_new(t, &st, &e) == BOSON_OK);
    for (char *end; (end = strstr(cur, sep)) != NULL; cur = end + strlen(sep)) {
        char *nl = strchr(line, '\n');
        REQUIRE(nl);
        *nl = 0;
        bs_ids v = {0};
        REQUIRE(bs_tokenizer_encode(t, st, cur, (size_t)(end - cur), 0, &v, &e) == BOSON_OK);
        size_t k = 0;
        int same = 1;
        for (char *q = line; *q;) {
            long id = strtol(q, &q, 10);
            same &= k < v.n && v.ids[k] == id;
            k++;
            while (*q == ' ')
                q++;
        }
        same &= k == v.n;
        if (!same)
            fprintf(stderr, "  vector %d differs: \"%.*s\"\n", cases, (int)(end - cur), cur);
        CHECK(same);
        bs_bytes_buf b = {0};
        REQUIRE(bs_tokenizer_decode(t, v.ids, v.n, 0, &b, &e) == BOSON_OK);
        CHECK(b.n == (size_t)(end - cur) && (b.n == 0 || memcmp(b.p, cur, b.n) == 0));
        bs_bytes_free(&b);
        bs_ids_free(&v);
        line = nl + 1;
        cases++;
    }
    CHECK_EQ_I64(cases, 43);
    bs_tok_state_free(st);
    bs_tokenizer_free(t);
}

CHECK_TEST(qwen3_stream_split_emoji)
{
    bs_tokenizer *t = qwen3();
    REQUIRE(t);
    /* reference §7.2: tokens that end inside UTF-8 sequences */
    const int32_t ids[] = {26525, 114, 378, 235, 149921, 30543, 220, 146568, 44258, 224};
    const char *want = " \xf0\x9f\x98\xb6\xe2\x80\x8d\xf0\x9f\x8c\xab\xef\xb8\x8f "
                       "\xe1\x9e\x8f\xe1\x9f\x82";
    bs_detok d;
    bs_detok_init(&d, t, 0);
    bs_bytes_buf all = {0}, delta = {0};
    boson_error e = {0};
    for (int i = 0; i < 10; i++) {
        delta.n = 0;
        REQUIRE(bs_detok_feed(&d, ids[i], &delta, &e) == BOSON_OK);
        CHECK_EQ_U64(bs_utf8_valid_prefix(delta.p, delta.n), delta.n);
        bs_bytes_append(&all, delta.p, delta.n);
    }
    REQUIRE(bs_detok_flush(&d, &all, &e) == BOSON_OK);
    CHECK(all.n == strlen(want) && memcmp(all.p, want, all.n) == 0);
    bs_bytes_free(&all);
    bs_bytes_free(&delta);
    bs_tokenizer_free(t);
}

typedef struct thread_job {
    const bs_tokenizer *t;
    const char *text;
    size_t len;
    bs_ids out;
    int ok;
} thread_job;

static void *encode_thread(void *arg)
{
    thread_job *j = arg;
    bs_tok_state *st = NULL;
    boson_error e = {0};
    j->ok = bs_tok_state_new(j->t, &st, &e) == BOSON_OK;
    for (int r = 0; j->ok && r < 20; r++) {
        j->out.n = 0;
        j->ok = bs_tokenizer_encode(j->t, st, j->text, j->len, 0, &j->out, &e) == BOSON_OK;
    }
    bs_tok_state_free(st);
    return NULL;
}

CHECK_TEST(qwen3_concurrent_encode)
{
    bs_tokenizer *t = qwen3();
    REQUIRE(t);
    static char text[200000];
    size_t n = 0;
    const char *parts[] = {"The quick brown fox ",
                           "\xe4\xbd\xa0\xe5\xa5\xbd ",
                           "  \n\t",
                           "12345",
                           "<|im_end|>",
                           "don't ",
                           "\xf0\x9f\x98\x80"};
    for (unsigned i = 0; n + 32 < sizeof text; i = i * 1103515245u + 12345u) {
        const char *p = parts[(i >> 16) % 7];
        memcpy(text + n, p, strlen(p));
        n += strlen(p);
    }
    bs_ids ref = {0};
    boson_error e = {0};
    REQUIRE(bs_tokenizer_encode(t, NULL, text, n, 0, &ref, &e) == BOSON_OK);
    thread_job jobs[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (thread_job){t, text, n, {0}, 0};
        pthread_create(&th[i], NULL, encode_thread, &jobs[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK(jobs[i].ok);
        CHECK(jobs[i].out.n == ref.n &&
              memcmp(jobs[i].out.ids, ref.ids, ref.n * sizeof(int32_t)) == 0);
        bs_ids_free(&jobs[i].out);
    }
    bs_ids_free(&ref);
    bs_tokenizer_free(t);
}

int main(void)
{
    return check_main("test_tokenizer",
                      (const check_case[]){CHECK_CASE(utf8_maximal_subparts),
                                           CHECK_CASE(bytelevel_table),
                                           CHECK_CASE(bpe_merge_order),
                                           CHECK_CASE(added_tokens_and_modes),
                                           CHECK_CASE(decode_and_errors),
                                           CHECK_CASE(stream_decoder_holds_partial_utf8),
                                           CHECK_CASE(load_errors_name_the_json_path),
                                           CHECK_CASE(qwen3_known_cases),
                                           CHECK_CASE(qwen3_vectors),
                                           CHECK_CASE(qwen3_stream_split_emoji),
                                           CHECK_CASE(qwen3_concurrent_encode),
                                           {0}});
}
