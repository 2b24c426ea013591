#include "text/added.h"

#include "text/utf8.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

static int grow(bs_added_set *set)
{
    if (set->n_nodes < set->cap)
        return 1;
    size_t cap = set->cap ? set->cap * 2 : 64;
    int32_t *c = (int32_t *)realloc(set->child, cap * sizeof *c);
    if (!c)
        return 0;
    set->child = c;
    int32_t *s = (int32_t *)realloc(set->sibling, cap * sizeof *s);
    if (!s)
        return 0;
    set->sibling = s;
    int32_t *t = (int32_t *)realloc(set->term, cap * sizeof *t);
    if (!t)
        return 0;
    set->term = t;
    uint8_t *b = (uint8_t *)realloc(set->byte, cap);
    if (!b)
        return 0;
    set->byte = b;
    set->cap = cap;
    return 1;
}

static int32_t new_node(bs_added_set *set, uint8_t byte)
{
    if (!grow(set))
        return -1;
    int32_t k = (int32_t)set->n_nodes++;
    set->child[k] = -1;
    set->sibling[k] = -1;
    set->term[k] = -1;
    set->byte[k] = byte;
    return k;
}

static int32_t find_child(const bs_added_set *set, int32_t node, uint8_t byte)
{
    for (int32_t c = set->child[node]; c >= 0; c = set->sibling[c])
        if (set->byte[c] == byte)
            return c;
    return -1;
}

boson_status bs_added_set_add(bs_added_set *set, const uint8_t *pattern, size_t len, int32_t tok,
                              boson_error *err)
{
    if (len == 0)
        return BOSON_OK;
    if (set->n_nodes == 0 && new_node(set, 0) < 0)
        return bs_error_set(err, BOSON_ERR_NOMEM, "tokenizer: out of memory (added tokens)");
    int32_t node = 0;
    for (size_t i = 0; i < len; i++) {
        int32_t c = find_child(set, node, pattern[i]);
        if (c < 0) {
            c = new_node(set, pattern[i]);
            if (c < 0)
                return bs_error_set(err, BOSON_ERR_NOMEM,
                                    "tokenizer: out of memory (added tokens)");
            set->sibling[c] = set->child[node];
            set->child[node] = c;
        }
        node = c;
    }
    if (set->term[node] < 0) {
        set->term[node] = tok;
        set->n_patterns++;
    }
    set->first[pattern[0]] = 1;
    return BOSON_OK;
}

void bs_added_set_free(bs_added_set *set)
{
    free(set->child);
    free(set->sibling);
    free(set->term);
    free(set->byte);
    memset(set, 0, sizeof *set);
}

/* Longest pattern starting at s[i]; returns its token index (end in *end) or -1. */
static int32_t longest_at(const bs_added_set *set, const uint8_t *s, size_t n, size_t i,
                          size_t *end)
{
    int32_t node = 0, best = -1;
    for (size_t j = i; j < n; j++) {
        node = find_child(set, node, s[j]);
        if (node < 0)
            break;
        if (set->term[node] >= 0) {
            best = set->term[node];
            *end = j + 1;
        }
    }
    return best;
}

/* Leftmost-longest match at or after from. */
static int32_t find_match(const bs_added_set *set, const uint8_t *s, size_t n, size_t from,
                          size_t *start, size_t *end)
{
    for (size_t i = from; i < n; i++) {
        if (!set->first[s[i]])
            continue;
        int32_t t = longest_at(set, s, n, i, end);
        if (t >= 0) {
            *start = i;
            return t;
        }
    }
    return -1;
}

/* Rust char::is_whitespace (Unicode White_Space). */
static int is_white_space(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

/* Unicode word character (regex \w): letters, marks, decimal digits, letter numbers,
 * connector punctuation, ZWNJ/ZWJ. */
static int is_word_char(uint32_t c)
{
    if (c < 0x80)
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               c == '_';
    if (c == 0x200C || c == 0x200D)
        return 1;
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_PC: return 1;
    case UTF8PROC_CATEGORY_CN:
    case UTF8PROC_CATEGORY_NO:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
    case UTF8PROC_CATEGORY_SM:
    case UTF8PROC_CATEGORY_SC:
    case UTF8PROC_CATEGORY_SK:
    case UTF8PROC_CATEGORY_SO:
    case UTF8PROC_CATEGORY_ZS:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO: return 0;
    }
    return 0;
}

/* The code point that ends at s[end) (end > 0, valid UTF-8). */
static uint32_t cp_before(const uint8_t *s, size_t end, size_t *start)
{
    size_t i = end - 1;
    while (i > 0 && (s[i] & 0xC0) == 0x80)
        i--;
    uint32_t cp = 0xFFFD;
    size_t len;
    bs_utf8_decode(s + i, end - i, &cp, &len);
    *start = i;
    return cp;
}

static uint32_t cp_at(const uint8_t *s, size_t n, size_t i, size_t *len)
{
    uint32_t cp = 0xFFFD;
    if (bs_utf8_decode(s + i, n - i, &cp, len) != BS_UTF8_OK)
        *len = 1;
    return cp;
}

boson_status bs_added_split(const bs_added_set *set, const bs_added_token *tokens, int skip_special,
                            const uint8_t *s, size_t n, bs_added_piece_fn fn, void *ctx)
{
    size_t start_offset = 0, from = 0;
    boson_status st;
    if (set->n_patterns) {
        size_t ms = 0, me = 0;
        int32_t t;
        while (from < n && (t = find_match(set, s, n, from, &ms, &me)) >= 0) {
            from = me; /* matching resumes after the pattern, whatever strip did */
            const bs_added_token *tk = &tokens[t];
            if (skip_special && tk->special)
                continue;
            size_t start = ms, stop = me, len;
            if (tk->single_word) {
                size_t dummy;
                int start_ok = start == 0 || !is_word_char(cp_before(s, start, &dummy));
                int stop_ok = stop == n || !is_word_char(cp_at(s, n, stop, &len));
                if (!start_ok || !stop_ok)
                    continue;
            }
            if (tk->lstrip) {
                size_t ns = start, cs;
                while (ns > 0 && is_white_space(cp_before(s, ns, &cs)))
                    ns = cs;
                start = ns > start_offset ? ns : start_offset;
            }
            if (tk->rstrip) {
                while (stop < n && is_white_space(cp_at(s, n, stop, &len)))
                    stop += len;
            }
            if (start_offset < start) {
                st = fn(ctx, -1, s + start_offset, start - start_offset);
                if (st != BOSON_OK)
                    return st;
            }
            st = fn(ctx, t, s + start, stop > start ? stop - start : 0);
            if (st != BOSON_OK)
                return st;
            start_offset = stop;
        }
    }
    if (start_offset < n)
        return fn(ctx, -1, s + start_offset, n - start_offset);
    return BOSON_OK;
}
