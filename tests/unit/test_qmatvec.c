/* Weight kernels: dequantization, matvec, matmul and grouped dispatch for every MLX storage
 * format, against values computed here from the raw codes with an independent bit-stream
 * packer and independent fp4/fp8/E8M0/bf16/f16 decoders (ldexp), in double precision. Every
 * SIMD kernel this CPU supports is compared with the reference on the same inputs. */
#include "check.h"

#include "backend/cpu/qmatvec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- deterministic random numbers ---- */

typedef struct rng {
    uint64_t s;
} rng;

static uint32_t rng_u32(rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return (uint32_t)(r->s >> 16);
}

static float rng_uniform(rng *r, float lo, float hi)
{
    return lo + (hi - lo) * (float)(rng_u32(r) & 0xffffff) / (float)0x1000000;
}

/* ---- independent decoders ---- */

static double dec_bf16(uint16_t h)
{
    int sign = h >> 15, exp = (h >> 7) & 0xff, man = h & 0x7f;
    double v = exp == 0 ? ldexp(man, -133) : ldexp(1.0 + man / 128.0, exp - 127);
    return sign ? -v : v;
}

static double dec_f16(uint16_t h)
{
    int sign = h >> 15, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    double v = exp == 0 ? ldexp(man, -24) : ldexp(1.0 + man / 1024.0, exp - 15);
    return sign ? -v : v;
}

static double dec_e2m1(unsigned c)
{
    int exp = (c >> 1) & 3, man = c & 1;
    double v = exp == 0 ? 0.5 * man : ldexp(1.0 + man / 2.0, exp - 1);
    return (c & 8) ? -v : v;
}

static double dec_e4m3(unsigned b)
{
    if ((b & 0x7f) == 0x7f)
        return NAN;
    int exp = (b >> 3) & 15, man = b & 7;
    double v = exp == 0 ? ldexp(man, -9) : ldexp(1.0 + man / 8.0, exp - 7);
    return (b & 0x80) ? -v : v;
}

static double dec_e8m0(unsigned b)
{
    return b == 255 ? INFINITY : ldexp(1.0, (int)b - 127);
}

/* Random normal half/bfloat bit patterns of magnitude ~2^lo .. 2^hi, random sign. */
static uint16_t rand_bf16(rng *r, int lo, int hi)
{
    unsigned exp = (unsigned)(127 + lo + (int)(rng_u32(r) % (unsigned)(hi - lo + 1)));
    return (uint16_t)(((rng_u32(r) & 1) << 15) | (exp << 7) | (rng_u32(r) & 0x7f));
}

static uint16_t rand_f16(rng *r, int lo, int hi)
{
    unsigned exp = (unsigned)(15 + lo + (int)(rng_u32(r) % (unsigned)(hi - lo + 1)));
    return (uint16_t)(((rng_u32(r) & 1) << 15) | (exp << 10) | (rng_u32(r) & 0x3ff));
}

/* ---- independent bit-stream packer: element i at stream bits [i*bits, (i+1)*bits) ---- */

static void pack_stream(const uint32_t *codes, uint64_t n, int bits, uint8_t *out)
{
    for (uint64_t i = 0; i < n; i++)
        for (int t = 0; t < bits; t++)
            if ((codes[i] >> t) & 1u) {
                uint64_t j = i * (uint64_t)bits + (uint64_t)t;
                out[j / 8] |= (uint8_t)(1u << (j % 8));
            }
}

/* ---- test matrices ---- */

typedef struct tmat {
    bs_qmat m;
    uint8_t *wbuf, *sbuf, *bbuf; /* allocations; the matrix points one byte in (unaligned) */
    double *deq;                 /* expected dequantized values [rows, cols] */
    float *deqf;                 /* the same as fp32 computed the MLX way (s*q then + b) */
    double *term_abs;            /* per element |s*q| + |b| (affine) or |w| */
} tmat;

static void tmat_free(tmat *t)
{
    free(t->wbuf);
    free(t->sbuf);
    free(t->bbuf);
    free(t->deq);
    free(t->deqf);
    free(t->term_abs);
    memset(t, 0, sizeof *t);
}

/* Writes a float scale/bias of dtype dt at index g, returns its exact value. */
static double put_float(uint8_t *base, uint64_t g, bs_dtype dt, rng *r, float mag)
{
    if (dt == BS_DT_BF16) {
        int e = (int)floor(log2(mag));
        uint16_t h = rand_bf16(r, e - 3, e);
        memcpy(base + 2 * g, &h, 2);
        return dec_bf16(h);
    }
    if (dt == BS_DT_F16) {
        int e = (int)floor(log2(mag));
        uint16_t h = rand_f16(r, e - 3, e);
        memcpy(base + 2 * g, &h, 2);
        return dec_f16(h);
    }
    float f = rng_uniform(r, -mag, mag);
    memcpy(base + 4 * g, &f, 4);
    return f;
}

/* specials: allow NaN/inf-producing codes and scales (dequant tests only). */
static int tmat_make(tmat *t, bs_wformat fmt, uint64_t rows, uint64_t cols, rng *r, int specials)
{
    memset(t, 0, sizeof *t);
    t->m.fmt = fmt;
    t->m.rows = rows;
    t->m.cols = cols;
    uint64_t n = rows * cols;
    t->deq = calloc(n, sizeof *t->deq);
    t->deqf = calloc(n, sizeof *t->deqf);
    t->term_abs = calloc(n, sizeof *t->term_abs);
    if (fmt.kind == BS_W_DENSE) {
        uint64_t es = (uint64_t)fmt.bits / 8;
        t->wbuf = calloc(n * es + 1, 1);
        uint8_t *w = t->wbuf + 1;
        for (uint64_t i = 0; i < n; i++) {
            double v;
            if (fmt.dtype == BS_DT_BF16) {
                uint16_t h = rand_bf16(r, -6, 0);
                memcpy(w + 2 * i, &h, 2);
                v = dec_bf16(h);
            } else if (fmt.dtype == BS_DT_F16) {
                uint16_t h = i % 7 == 3 ? (uint16_t)(rng_u32(r) & 0x83ff) /* subnormal */
                                        : rand_f16(r, -6, 0);
                memcpy(w + 2 * i, &h, 2);
                v = dec_f16(h);
            } else {
                float f = rng_uniform(r, -1.0f, 1.0f);
                memcpy(w + 4 * i, &f, 4);
                v = f;
            }
            t->deq[i] = v;
            t->deqf[i] = (float)v;
            t->term_abs[i] = fabs(v);
        }
        t->m.w = w;
        return t->deq && t->deqf && t->term_abs;
    }
    uint64_t gs = (uint64_t)fmt.group_size, ng = cols / gs;
    uint64_t row_bytes = cols * (uint64_t)fmt.bits / 8;
    uint64_t ses = fmt.kind == BS_W_AFFINE ? (fmt.dtype == BS_DT_F32 ? 4 : 2) : 1;
    t->wbuf = calloc(rows * row_bytes + 1, 1);
    t->sbuf = calloc(rows * ng * ses + 1, 1);
    if (fmt.kind == BS_W_AFFINE)
        t->bbuf = calloc(rows * ng * ses + 1, 1);
    uint32_t *codes = calloc(cols, sizeof *codes);
    if (!t->wbuf || !t->sbuf || !codes || !t->deq || !t->deqf || !t->term_abs ||
        (fmt.kind == BS_W_AFFINE && !t->bbuf)) {
        free(codes);
        return 0;
    }
    uint8_t *w = t->wbuf + 1, *s = t->sbuf + 1, *b = t->bbuf ? t->bbuf + 1 : NULL;
    for (uint64_t row = 0; row < rows; row++) {
        uint32_t cmask = (1u << fmt.bits) - 1u;
        for (uint64_t i = 0; i < cols; i++) {
            codes[i] = rng_u32(r) & cmask;
            if (fmt.kind == BS_W_MXFP8 && !specials && (codes[i] & 0x7f) == 0x7f)
                codes[i] ^= 1; /* no NaN elements in arithmetic tests */
        }
        if (row == 0 && fmt.kind == BS_W_AFFINE)
            for (uint64_t i = 0; i < cols && i < gs; i++)
                codes[i] = i % 2 ? cmask : 0; /* extreme codes in the first group */
        pack_stream(codes, cols, fmt.bits, w + row * row_bytes);
        for (uint64_t g = 0; g < ng; g++) {
            double sc, bi = 0.0;
            uint64_t sg = row * ng + g;
            switch (fmt.kind) {
            case BS_W_AFFINE:
                sc = put_float(s, sg, fmt.dtype, r, 0.05f); /* negative half the time */
                bi = put_float(b, sg, fmt.dtype, r, 0.5f);
                break;
            case BS_W_MXFP4:
            case BS_W_MXFP8: {
                unsigned e = 118 + rng_u32(r) % 16;
                if (specials && g == 1)
                    e = row % 2 ? 255 : 0;
                s[sg] = (uint8_t)e;
                sc = dec_e8m0(e);
                break;
            }
            case BS_W_NVFP4: {
                unsigned e = rng_u32(r) & 0xff;
                if (!specials && (e & 0x7f) == 0x7f)
                    e ^= 2;
                if (g == 0)
                    e = (e & 0x80) | (e & 7); /* subnormal scale */
                s[sg] = (uint8_t)e;
                sc = dec_e4m3(e);
                break;
            }
            case BS_W_DENSE:
            default: sc = NAN; break;
            }
            for (uint64_t i = g * gs; i < (g + 1) * gs; i++) {
                uint64_t k = row * cols + i;
                double q;
                if (fmt.kind == BS_W_AFFINE)
                    q = codes[i];
                else if (fmt.kind == BS_W_MXFP8)
                    q = dec_e4m3(codes[i]);
                else
                    q = dec_e2m1(codes[i]);
                if (fmt.kind == BS_W_AFFINE) {
                    float sq = (float)sc * (float)q;
                    t->deqf[k] = sq + (float)bi;
                    t->deq[k] = sc * q + bi;
                    t->term_abs[k] = fabs(sc * q) + fabs(bi);
                } else {
                    t->deqf[k] = (float)q * (float)sc;
                    t->deq[k] = q * sc;
                    t->term_abs[k] = fabs(q * sc);
                }
            }
        }
    }
    free(codes);
    t->m.w = w;
    t->m.scales = s;
    t->m.biases = b;
    return 1;
}

static int same_float(float a, float b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    uint32_t ua, ub;
    memcpy(&ua, &a, 4);
    memcpy(&ub, &b, 4);
    return ua == ub;
}

static const char *fmt_name(const bs_wformat *f)
{
    static char buf[64]; /* test-only scratch */
    return bs_wformat_str(f, buf, (int)sizeof buf);
}

/* ---- the checks ---- */

static void fill_x(float *x, uint64_t n, rng *r)
{
    for (uint64_t i = 0; i < n; i++)
        x[i] = rng_uniform(r, -1.0f, 1.0f);
}

/* Expected y (double) and the error scale Σ terms·|x| for row r. */
static void expect_row(const tmat *t, const float *x, uint64_t r, double *y, double *norm)
{
    double acc = 0.0, nrm = 0.0;
    for (uint64_t k = 0; k < t->m.cols; k++) {
        acc += t->deq[r * t->m.cols + k] * x[k];
        nrm += t->term_abs[r * t->m.cols + k] * fabs(x[k]);
    }
    *y = acc;
    *norm = nrm > 0 ? nrm : 1e-30;
}

#define REL_TOL 1e-5

static int n_simd_checked; /* test-only counters for the summary line */
static int n_avx2_cases, n_avx512_cases;

static void check_matrix(check_ctx *ctx_, tmat *t, rng *r)
{
    const bs_qmat *m = &t->m;
    uint64_t rows = m->rows, cols = m->cols;
    const char *name = fmt_name(&m->fmt);
    float *row = malloc(cols * sizeof *row);
    float *xbuf = malloc((cols + 1) * sizeof *xbuf);
    float *y = malloc(rows * sizeof *y), *y2 = malloc(rows * sizeof *y2);
    REQUIRE(row && xbuf && y && y2);
    float *x = xbuf + 1; /* 4-byte aligned only */
    fill_x(x, cols, r);

    /* dequant_row: exact against s*q+b computed from the codes */
    int bad = 0;
    for (uint64_t rr = 0; rr < rows && !bad; rr++) {
        bs_qmat_dequant_row(m, rr, row);
        for (uint64_t k = 0; k < cols; k++)
            if (!same_float(row[k], t->deqf[rr * cols + k])) {
                CHECK_FAIL_("%s dequant row %llu col %llu: %.9g vs expected %.9g", name,
                            (unsigned long long)rr, (unsigned long long)k, (double)row[k],
                            (double)t->deqf[rr * cols + k]);
                bad = 1;
                break;
            }
    }

    /* matvec_ref against the double-precision dot product */
    bs_qmat_matvec_ref(m, x, y, 0, rows);
    for (uint64_t rr = 0; rr < rows; rr++) {
        double e, nrm;
        expect_row(t, x, rr, &e, &nrm);
        if (!(fabs(y[rr] - e) <= REL_TOL * nrm)) {
            CHECK_FAIL_("%s matvec_ref row %llu: %.9g vs %.9g (scale %.3g)", name,
                        (unsigned long long)rr, (double)y[rr], e, nrm);
            break;
        }
    }

    /* every SIMD kernel this CPU runs: matvec over sub-ranges, dequant_span, matmul */
    const bs_cpu_isa isas[] = {BS_CPU_AVX2, BS_CPU_AVX512};
    for (int ii = 0; ii < 2; ii++) {
        bs_cpu_kernels k;
        if (!bs_cpu_kernels_for(isas[ii], &k))
            continue;
        CHECK(k.has_simd(&m->fmt));
        n_simd_checked++;
        if (isas[ii] == BS_CPU_AVX2)
            n_avx2_cases++;
        else
            n_avx512_cases++;
        uint64_t cut = rows / 3;
        for (uint64_t i = 0; i < rows; i++)
            y2[i] = -12345.0f;
        k.matvec(m, x, y2, cut, rows);
        k.matvec(m, x, y2, 0, cut);
        for (uint64_t rr = 0; rr < rows; rr++) {
            double e, nrm;
            expect_row(t, x, rr, &e, &nrm);
            if (!(fabs((double)y2[rr] - (double)y[rr]) <= REL_TOL * nrm)) {
                CHECK_FAIL_("%s %s matvec row %llu: %.9g vs ref %.9g (scale %.3g)", k.name, name,
                            (unsigned long long)rr, (double)y2[rr], (double)y[rr], nrm);
                break;
            }
        }
        /* a range must not write outside itself */
        if (rows > 2) {
            y2[0] = -777.0f;
            y2[rows - 1] = -777.0f;
            k.matvec(m, x, y2, 1, rows - 1);
            CHECK(y2[0] == -777.0f && y2[rows - 1] == -777.0f);
        }
        /* dequant_span is bit-identical to the reference */
        float *span = malloc(cols * sizeof *span);
        REQUIRE(span);
        for (uint64_t rr = 0; rr < rows; rr += 5) {
            k.dequant_span(m, rr, 0, cols, span);
            bs_qmat_dequant_row(m, rr, row);
            for (uint64_t c = 0; c < cols; c++)
                if (!same_float(span[c], row[c])) {
                    CHECK_FAIL_("%s %s dequant_span row %llu col %llu: %.9g vs %.9g", k.name, name,
                                (unsigned long long)rr, (unsigned long long)c, (double)span[c],
                                (double)row[c]);
                    rr = rows;
                    break;
                }
        }
        free(span);
    }

    /* matmul (reference and every supported table) against double, 3 tokens, ldx > cols */
    uint64_t nt = 3, ldx = cols + 3, ldy = rows + 2;
    float *X = malloc(nt * ldx * sizeof *X), *Y = malloc(nt * ldy * sizeof *Y);
    REQUIRE(X && Y);
    fill_x(X, nt * ldx, r);
    for (int ki = 0; ki < 3; ki++) {
        bs_cpu_kernels k;
        if (!bs_cpu_kernels_for(ki == 0 ? BS_CPU_REF : ki == 1 ? BS_CPU_AVX2 : BS_CPU_AVX512, &k))
            continue;
        for (uint64_t i = 0; i < nt * ldy; i++)
            Y[i] = -5.0f;
        if (ki == 0)
            bs_qmat_matmul_ref(m, X, nt, ldx, Y, ldy, 0, rows);
        else
            bs_qmat_matmul(&k, m, X, nt, ldx, Y, ldy, 0, rows);
        int mbad = 0;
        for (uint64_t tk = 0; tk < nt && !mbad; tk++)
            for (uint64_t rr = 0; rr < rows; rr++) {
                double e, nrm;
                expect_row(t, X + tk * ldx, rr, &e, &nrm);
                if (!(fabs(Y[tk * ldy + rr] - e) <= REL_TOL * nrm)) {
                    CHECK_FAIL_("%s %s matmul token %llu row %llu: %.9g vs %.9g", k.name, name,
                                (unsigned long long)tk, (unsigned long long)rr,
                                (double)Y[tk * ldy + rr], e);
                    mbad = 1;
                    break;
                }
            }
        CHECK(Y[rows] == -5.0f && Y[ldy + rows + 1] == -5.0f); /* padding untouched */
    }
    free(X);
    free(Y);
    free(row);
    free(xbuf);
    free(y);
    free(y2);
}

static bs_wformat affine(int bits, int gs, bs_dtype dt)
{
    bs_wformat f = {BS_W_AFFINE, bits, gs, dt};
    return f;
}

CHECK_TEST(affine_all_widths_groups_dtypes)
{
    rng r = {0x9e3779b97f4a7c15ull};
    const int widths[] = {2, 3, 4, 5, 6, 8};
    const int groups[] = {32, 64, 128};
    const bs_dtype dts[] = {BS_DT_BF16, BS_DT_F16, BS_DT_F32};
    const uint64_t ngroups[] = {3, 10};
    for (int wi = 0; wi < 6; wi++)
        for (int gi = 0; gi < 3; gi++)
            for (int di = 0; di < 3; di++)
                for (int ni = 0; ni < 2; ni++) {
                    tmat t;
                    bs_wformat f = affine(widths[wi], groups[gi], dts[di]);
                    REQUIRE(bs_wformat_check(&f, NULL) == BOSON_OK);
                    REQUIRE(
                        tmat_make(&t, f, ni ? 5 : 37, (uint64_t)groups[gi] * ngroups[ni], &r, 0));
                    REQUIRE(bs_qmat_check(&t.m, NULL) == BOSON_OK);
                    check_matrix(ctx_, &t, &r);
                    tmat_free(&t);
                }
}

CHECK_TEST(affine_many_groups_crosses_sum_block)
{
    /* 300 groups > the SIMD kernels' 256-group input-sum block */
    rng r = {12345};
    const int widths[] = {3, 4, 8};
    for (int wi = 0; wi < 3; wi++) {
        tmat t;
        REQUIRE(tmat_make(&t, affine(widths[wi], 32, BS_DT_BF16), 3, 32 * 300, &r, 0));
        check_matrix(ctx_, &t, &r);
        tmat_free(&t);
    }
}

CHECK_TEST(affine4_rows_cross_column_block)
{
    /* the AVX-512 4-bit kernel works on 16384-column blocks and 16-group scale vectors:
     * rows longer than a block, group counts that are not multiples of 16, every dtype */
    rng r = {4242};
    const int groups[] = {32, 64, 128};
    const uint64_t ngroups[] = {600, 259, 131};
    const bs_dtype dts[] = {BS_DT_BF16, BS_DT_F16, BS_DT_F32};
    for (int gi = 0; gi < 3; gi++) {
        tmat t;
        REQUIRE(tmat_make(&t, affine(4, groups[gi], dts[gi]), 4, (uint64_t)groups[gi] * ngroups[gi],
                          &r, 0));
        check_matrix(ctx_, &t, &r);
        tmat_free(&t);
    }
}

CHECK_TEST(fp_modes)
{
    rng r = {777};
    const bs_wformat fmts[] = {{BS_W_MXFP4, 4, 32, BS_DT_U8},
                               {BS_W_NVFP4, 4, 16, BS_DT_U8},
                               {BS_W_MXFP8, 8, 32, BS_DT_U8}};
    for (int fi = 0; fi < 3; fi++)
        for (int ni = 0; ni < 2; ni++) {
            tmat t;
            REQUIRE(bs_wformat_check(&fmts[fi], NULL) == BOSON_OK);
            REQUIRE(tmat_make(&t, fmts[fi], ni ? 4 : 37,
                              (uint64_t)fmts[fi].group_size * (ni ? 40 : 5), &r, 0));
            check_matrix(ctx_, &t, &r);
            tmat_free(&t);
        }
}

CHECK_TEST(dense_all_dtypes_odd_widths)
{
    rng r = {4242};
    const bs_wformat fmts[] = {{BS_W_DENSE, 16, 0, BS_DT_BF16},
                               {BS_W_DENSE, 16, 0, BS_DT_F16},
                               {BS_W_DENSE, 32, 0, BS_DT_F32}};
    const uint64_t widths[] = {203, 64, 7, 1031};
    for (int fi = 0; fi < 3; fi++)
        for (int wi = 0; wi < 4; wi++) {
            tmat t;
            REQUIRE(tmat_make(&t, fmts[fi], 37, widths[wi], &r, 0));
            check_matrix(ctx_, &t, &r);
            tmat_free(&t);
        }
}

/* Dequantization only, with NaN/inf-producing scales and elements. */
CHECK_TEST(fp_special_values_dequant)
{
    rng r = {99};
    const bs_wformat fmts[] = {{BS_W_MXFP4, 4, 32, BS_DT_U8},
                               {BS_W_NVFP4, 4, 16, BS_DT_U8},
                               {BS_W_MXFP8, 8, 32, BS_DT_U8}};
    for (int fi = 0; fi < 3; fi++) {
        tmat t;
        REQUIRE(tmat_make(&t, fmts[fi], 6, 96, &r, 1));
        float row[96];
        for (uint64_t rr = 0; rr < 6; rr++) {
            bs_qmat_dequant_row(&t.m, rr, row);
            for (int k = 0; k < 96; k++)
                if (!same_float(row[k], t.deqf[rr * 96 + k])) {
                    CHECK_FAIL_("%s special row %llu col %d: %.9g vs %.9g", fmt_name(&fmts[fi]),
                                (unsigned long long)rr, k, (double)row[k],
                                (double)t.deqf[rr * 96 + k]);
                    rr = 6;
                    break;
                }
        }
        tmat_free(&t);
    }
    /* the decoders on their own: E8M0 255 = +inf, 0 = 2^-127; E4M3 0x7F NaN, 0x7E = 448 */
    uint8_t w[4] = {0x71, 0, 0, 0}, s[2] = {255, 0}; /* codes 1 (0.5) and 7 (6) */
    uint8_t w2[32] = {0};
    bs_qmat m = {{BS_W_MXFP4, 4, 32, BS_DT_U8}, 1, 32, w2, s, NULL};
    memcpy(w2, w, 4);
    float out[32];
    bs_qmat_dequant_row(&m, 0, out);
    CHECK(isinf(out[0]) && out[0] > 0);
    m.scales = s + 1;
    bs_qmat_dequant_row(&m, 0, out);
    CHECK(out[0] == (float)ldexp(0.5, -127) && out[1] == (float)ldexp(6.0, -127));
    uint8_t e4[32] = {0x7f, 0xff, 0x7e, 0xfe, 0x01, 0x08, 0x80, 0x00};
    uint8_t one = 127;
    bs_qmat m8 = {{BS_W_MXFP8, 8, 32, BS_DT_U8}, 1, 32, e4, &one, NULL};
    bs_qmat_dequant_row(&m8, 0, out);
    CHECK(isnan(out[0]) && isnan(out[1]));
    CHECK(out[2] == 448.0f && out[3] == -448.0f);
    CHECK(out[4] == 0x1p-9f && out[5] == 0x1p-6f);
    CHECK(out[6] == 0.0f && signbit(out[6]) && out[7] == 0.0f && !signbit(out[7]));
}

CHECK_TEST(qgroup_concatenated_rows)
{
    rng r = {31337};
    bs_wformat f = affine(4, 64, BS_DT_BF16);
    tmat t[3];
    const uint64_t rows[3] = {5, 37, 11};
    bs_qgroup g = {3, {0}, {0}};
    float *outs[3], *want[3];
    float x[128];
    fill_x(x, 128, &r);
    for (int i = 0; i < 3; i++) {
        REQUIRE(tmat_make(&t[i], f, rows[i], 128, &r, 0));
        outs[i] = calloc(rows[i] * 2, sizeof(float));
        want[i] = calloc(rows[i] * 2, sizeof(float));
        REQUIRE(outs[i] && want[i]);
        bs_qmat_matvec_ref(&t[i].m, x, want[i], 0, rows[i]);
        g.mats[i] = &t[i].m;
        g.outs[i] = outs[i];
    }
    CHECK_EQ_U64(bs_qgroup_rows(&g), 53);
    bs_cpu_kernels k = bs_cpu_kernels_detect();
    /* split into uneven pieces as a pool would, crossing matrix boundaries */
    const uint64_t cuts[] = {0, 3, 20, 42, 43, 53};
    for (int c = 0; c + 1 < 6; c++)
        bs_qgroup_matvec(&k, &g, x, cuts[c], cuts[c + 1]);
    for (int i = 0; i < 3; i++)
        for (uint64_t rr = 0; rr < rows[i]; rr++) {
            double e, nrm;
            expect_row(&t[i], x, rr, &e, &nrm);
            CHECK_NEAR(outs[i][rr], want[i][rr], REL_TOL * nrm);
        }
    /* matmul: two tokens, outs[i] is [2, rows_i] */
    float X[256];
    fill_x(X, 256, &r);
    bs_qgroup_matmul(&k, &g, X, 2, 128, 0, 30);
    bs_qgroup_matmul(&k, &g, X, 2, 128, 30, 53);
    for (int i = 0; i < 3; i++)
        for (uint64_t tk = 0; tk < 2; tk++)
            for (uint64_t rr = 0; rr < rows[i]; rr++) {
                double e, nrm;
                expect_row(&t[i], X + tk * 128, rr, &e, &nrm);
                CHECK_NEAR(outs[i][tk * rows[i] + rr], e, REL_TOL * nrm);
            }
    for (int i = 0; i < 3; i++) {
        free(outs[i]);
        free(want[i]);
        tmat_free(&t[i]);
    }
}

CHECK_TEST(slice_expert_offsets_and_bounds)
{
    rng r = {5};
    const bs_wformat fmts[] = {affine(3, 32, BS_DT_BF16),
                               affine(6, 64, BS_DT_F32),
                               {BS_W_NVFP4, 4, 16, BS_DT_U8},
                               {BS_W_DENSE, 16, 0, BS_DT_BF16}};
    for (int fi = 0; fi < 4; fi++) {
        tmat t;
        REQUIRE(tmat_make(&t, fmts[fi], 3 * 7, 128, &r, 0));
        bs_qmat e;
        boson_error err = {0};
        REQUIRE(bs_qmat_slice_expert(&t.m, 2, 7, &e, &err) == BOSON_OK);
        CHECK_EQ_U64(e.rows, 7);
        float a[128];
        for (uint64_t rr = 0; rr < 7; rr++) {
            bs_qmat_dequant_row(&e, rr, a);
            for (int k = 0; k < 128; k++)
                if (!same_float(a[k], t.deqf[(14 + rr) * 128 + (uint64_t)k])) {
                    CHECK_FAIL_("%s expert 2 row %llu col %d", fmt_name(&fmts[fi]),
                                (unsigned long long)rr, k);
                    rr = 7;
                    break;
                }
        }
        CHECK(bs_qmat_slice_expert(&t.m, 3, 7, &e, &err) == BOSON_ERR_INVALID_ARG);
        CHECK_CONTAINS(err.message, "expert 3");
        CHECK(bs_qmat_slice_expert(&t.m, 2, UINT64_MAX / 2, &e, &err) == BOSON_ERR_INVALID_ARG);
        CHECK(bs_qmat_slice_expert(&t.m, 0, 0, &e, &err) == BOSON_ERR_INVALID_ARG);
        tmat_free(&t);
    }
}

CHECK_TEST(format_helpers)
{
    bs_wformat a4 = affine(4, 64, BS_DT_BF16), a3 = affine(3, 32, BS_DT_F16);
    bs_wformat mx = {BS_W_MXFP4, 4, 32, BS_DT_U8}, d = {BS_W_DENSE, 16, 0, BS_DT_BF16};
    char buf[32];
    CHECK_STR_EQ(bs_wformat_str(&a4, buf, sizeof buf), "affine4/g64");
    CHECK_STR_EQ(bs_wformat_str(&a3, buf, sizeof buf), "affine3/g32/f16");
    CHECK_STR_EQ(bs_wformat_str(&mx, buf, sizeof buf), "mxfp4");
    CHECK_STR_EQ(bs_wformat_str(&d, buf, sizeof buf), "bf16");
    CHECK(bs_wformat_equal(&a4, &a4) && !bs_wformat_equal(&a4, &a3));
    CHECK_EQ_U64(bs_wformat_row_bytes(&a3, 2048), 768);
    CHECK_EQ_U64(bs_wformat_row_bytes(&d, 2048), 4096);
    /* 4-bit g64 bf16: 4.5 bits per weight */
    CHECK_EQ_U64(bs_wformat_matrix_bytes(&a4, 10, 2048), 10 * 2048 * 9 / 16);
    CHECK_EQ_U64(bs_wformat_matrix_bytes(&mx, 10, 2048), 10 * 1024 + 10 * 64);
    CHECK_EQ_U64(bs_wformat_matrix_bytes(&a4, UINT64_MAX / 4, 2048), 0);
    bs_wformat bad = affine(7, 64, BS_DT_BF16);
    boson_error err = {0};
    CHECK(bs_wformat_check(&bad, &err) == BOSON_ERR_UNSUPPORTED);
    CHECK_CONTAINS(err.message, "bits 7");
    bs_wformat badnv = {BS_W_NVFP4, 4, 32, BS_DT_U8};
    CHECK(bs_wformat_check(&badnv, &err) == BOSON_ERR_UNSUPPORTED);
    CHECK_CONTAINS(err.message, "group 32");
    uint8_t z[64] = {0};
    bs_qmat m = {a4, 2, 96, z, z, z};
    CHECK(bs_qmat_check(&m, &err) == BOSON_ERR_FORMAT);
    CHECK_CONTAINS(err.message, "96");
}

CHECK_TEST(report_isas)
{
    printf("test_qmatvec: SIMD kernels tested here: avx2 %s (%d matrices), avx512 %s (%d "
           "matrices); detected table: %s\n",
           bs_cpu_isa_supported(BS_CPU_AVX2) ? "yes" : "NO (cpu lacks it)", n_avx2_cases,
           bs_cpu_isa_supported(BS_CPU_AVX512) ? "yes" : "NO (cpu lacks it)", n_avx512_cases,
           bs_cpu_kernels_detect().name);
    CHECK(n_simd_checked == n_avx2_cases + n_avx512_cases);
}

int main(void)
{
    return check_main("test_qmatvec", (const check_case[]){
                                          CHECK_CASE(format_helpers),
                                          CHECK_CASE(affine_all_widths_groups_dtypes),
                                          CHECK_CASE(affine_many_groups_crosses_sum_block),
                                          CHECK_CASE(affine4_rows_cross_column_block),
                                          CHECK_CASE(fp_modes),
                                          CHECK_CASE(dense_all_dtypes_odd_widths),
                                          CHECK_CASE(fp_special_values_dequant),
                                          CHECK_CASE(qgroup_concatenated_rows),
                                          CHECK_CASE(slice_expert_offsets_and_bounds),
                                          CHECK_CASE(report_isas),
                                          {0},
                                      });
}
