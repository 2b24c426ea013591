/* Minimal unit-test harness. Each test binary ends with one line
 *   "<binary>: N passed, N failed"
 * and exits non-zero if any check failed; tests/run_unit.sh adds the lines up.
 *
 *   CHECK_TEST(parses_header) { CHECK(x == 1); CHECK_EQ_U64(n, 3); }
 *   int main(void) { return check_main("test_foo", (const check_case[]){
 *       CHECK_CASE(parses_header), {0}}); }
 */
#ifndef BOSON_TESTS_CHECK_H
#define BOSON_TESTS_CHECK_H

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct check_ctx {
    const char *test;
    int failures;
} check_ctx;

typedef struct check_case {
    const char *name;
    void (*fn)(check_ctx *ctx_);
} check_case;

#define CHECK_TEST(name) static void name(check_ctx *ctx_)
/* clang-format off */
#define CHECK_CASE(name) {#name, name}
/* clang-format on */

#define CHECK_FAIL_(...)                                                        \
    do {                                                                        \
        fprintf(stderr, "  FAIL %s (%s:%d): ", ctx_->test, __FILE__, __LINE__); \
        fprintf(stderr, __VA_ARGS__);                                           \
        fputc('\n', stderr);                                                    \
        ctx_->failures++;                                                       \
    } while (0)

#define CHECK(cond)                   \
    do {                              \
        if (!(cond))                  \
            CHECK_FAIL_("%s", #cond); \
    } while (0)

/* Like CHECK but stops the test function (for checks later lines depend on). */
#define REQUIRE(cond)                           \
    do {                                        \
        if (!(cond)) {                          \
            CHECK_FAIL_("required: %s", #cond); \
            return;                             \
        }                                       \
    } while (0)

#define CHECK_EQ_U64(a, b)                                                    \
    do {                                                                      \
        uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                      \
        if (a_ != b_)                                                         \
            CHECK_FAIL_("%s == %s: %" PRIu64 " vs %" PRIu64, #a, #b, a_, b_); \
    } while (0)

#define CHECK_EQ_I64(a, b)                                                    \
    do {                                                                      \
        int64_t a_ = (int64_t)(a), b_ = (int64_t)(b);                         \
        if (a_ != b_)                                                         \
            CHECK_FAIL_("%s == %s: %" PRId64 " vs %" PRId64, #a, #b, a_, b_); \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                              \
    do {                                                                                   \
        double a_ = (double)(a), b_ = (double)(b);                                         \
        if (!(fabs(a_ - b_) <= (double)(tol)))                                             \
            CHECK_FAIL_("%s ~= %s: %.9g vs %.9g (tol %g)", #a, #b, a_, b_, (double)(tol)); \
    } while (0)

#define CHECK_STR_EQ(a, b)                                                        \
    do {                                                                          \
        const char *a_ = (a), *b_ = (b);                                          \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                    \
            CHECK_FAIL_("%s == %s: \"%s\" vs \"%s\"", #a, #b, a_ ? a_ : "(null)", \
                        b_ ? b_ : "(null)");                                      \
    } while (0)

/* Substring check, for error messages that must name what was wrong. */
#define CHECK_CONTAINS(hay, needle)                                              \
    do {                                                                         \
        const char *h_ = (hay), *n_ = (needle);                                  \
        if (!h_ || !strstr(h_, n_))                                              \
            CHECK_FAIL_("\"%s\" should contain \"%s\"", h_ ? h_ : "(null)", n_); \
    } while (0)

static inline int check_main(const char *binary, const check_case *cases)
{
    int passed = 0, failed = 0;
    for (const check_case *c = cases; c->name; c++) {
        check_ctx ctx = {c->name, 0};
        c->fn(&ctx);
        if (ctx.failures) {
            failed++;
            fprintf(stderr, "FAILED %s\n", c->name);
        } else {
            passed++;
        }
    }
    printf("%s: %d passed, %d failed\n", binary, passed, failed);
    return failed ? 1 : 0;
}

#endif
