/* Fuzz target for the tokenizer: encode arbitrary bytes (normal, literal and split-special
 * modes), decode arbitrary id lists (whole and streaming, which must agree), and parse arbitrary
 * tokenizer.json text. The first input byte picks the mode.
 *
 * Uses the Qwen3 tokenizer from $BOSON_SHARED_DATA (default ../shared/data, relative to the
 * repository root) when present, else a small built-in one. */
#include "text/detok_stream.h"
#include "text/tokenizer.h"
#include "text/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bs_tokenizer *g_tok;
static bs_tok_state *g_state;

static const char TINY[] =
    "{\"added_tokens\":[{\"id\":10,\"content\":\"<s>\",\"special\":true,\"normalized\":false},"
    "{\"id\":11,\"content\":\"ab\",\"special\":false,\"normalized\":true,\"lstrip\":true,"
    "\"rstrip\":true,\"single_word\":true}],"
    "\"normalizer\":{\"type\":\"NFC\"},"
    "\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"use_regex\":true},"
    "\"decoder\":{\"type\":\"ByteLevel\"},"
    "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"c\":2,\"ab\":3,\"abc\":4,"
    "\"\\u0120\":5,\"\\u0120a\":6},\"merges\":[\"a b\",[\"ab\",\"c\"],\"\\u0120 a\"]}}";

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("BOSON_SHARED_DATA");
    char path[512];
    snprintf(path, sizeof path, "%s/qwen3-tokenizer/tokenizer.json", dir ? dir : "../shared/data");
    boson_error e = {0};
    if (bs_tokenizer_load(path, NULL, &g_tok, &e) != BOSON_OK &&
        bs_tokenizer_load_mem(TINY, sizeof TINY - 1, NULL, 0, "tiny", &g_tok, &e) != BOSON_OK) {
        fprintf(stderr, "fuzz_tokenizer: %s\n", e.message);
        abort();
    }
    if (bs_tok_state_new(g_tok, &g_state, &e) != BOSON_OK)
        abort();
    return 0;
}

static void check_decode(const int32_t *ids, size_t n, unsigned flags)
{
    boson_error e = {0};
    bs_bytes_buf whole = {0}, streamed = {0};
    boson_status st = bs_tokenizer_decode(g_tok, ids, n, flags, &whole, &e);
    if (st == BOSON_OK && bs_utf8_valid_prefix(whole.p, whole.n) != whole.n)
        abort();
    bs_detok d;
    bs_detok_init(&d, g_tok, flags);
    int ok = 1;
    for (size_t i = 0; i < n && ok; i++) {
        size_t before = streamed.n;
        ok = bs_detok_feed(&d, ids[i], &streamed, &e) == BOSON_OK;
        if (bs_utf8_valid_prefix(streamed.p + before, streamed.n - before) != streamed.n - before)
            abort(); /* a delta must never hold a partial sequence */
    }
    if (ok && bs_detok_flush(&d, &streamed, &e) != BOSON_OK)
        abort();
    if (ok != (st == BOSON_OK))
        abort();
    if (ok && (whole.n != streamed.n || (whole.n && memcmp(whole.p, streamed.p, whole.n) != 0)))
        abort();
    bs_bytes_free(&whole);
    bs_bytes_free(&streamed);
}

static int all_ascii(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] >= 0x80)
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    unsigned mode = data[0] % 5;
    data++;
    size--;
    boson_error e = {0};
    if (mode <= 2) {
        static const unsigned flags[] = {0, BS_TOK_LITERAL, BS_TOK_SPLIT_SPECIAL};
        bs_ids v = {0};
        if (bs_tokenizer_encode(g_tok, g_state, (const char *)data, size, flags[mode], &v, &e) !=
            BOSON_OK)
            abort(); /* any byte string is encodable */
        for (size_t i = 0; i < v.n; i++)
            if (v.ids[i] < 0 || (size_t)v.ids[i] >= bs_tokenizer_n_ids(g_tok))
                abort();
        check_decode(v.ids, v.n, 0);
        if (mode == 1 && all_ascii(data, size)) {
            /* literal ASCII text round-trips exactly (NFC leaves ASCII alone) */
            bs_bytes_buf b = {0};
            if (bs_tokenizer_decode(g_tok, v.ids, v.n, 0, &b, &e) != BOSON_OK || b.n != size ||
                (size && memcmp(b.p, data, size) != 0))
                abort();
            bs_bytes_free(&b);
        }
        bs_ids_free(&v);
    } else if (mode == 3) {
        size_t n = size / 3;
        int32_t *ids = (int32_t *)malloc((n ? n : 1) * sizeof *ids);
        if (!ids)
            return 0;
        long span = (long)bs_tokenizer_n_ids(g_tok) + 8;
        for (size_t i = 0; i < n; i++) {
            long raw = data[3 * i] | (data[3 * i + 1] << 8) | ((long)data[3 * i + 2] << 16);
            ids[i] = (int32_t)(raw % span) - 4; /* includes a few invalid ids */
        }
        check_decode(ids, n, 0);
        check_decode(ids, n, BS_DECODE_SKIP_SPECIAL);
        free(ids);
    } else {
        bs_tokenizer *t = NULL;
        if (bs_tokenizer_load_mem((const char *)data, size, NULL, 0, "fuzz", &t, &e) == BOSON_OK) {
            bs_ids v = {0};
            if (bs_tokenizer_encode(t, NULL, "ab c <s>abc", 11, 0, &v, &e) != BOSON_OK)
                abort();
            bs_ids_free(&v);
            bs_tokenizer_free(t);
        }
    }
    return 0;
}
