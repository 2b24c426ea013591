"""boson's CPU weight kernels against MLX itself (the packing and fp decoding must be MLX's).

The C sources are compiled into a throw-away shared library and called through ctypes:
bs_qmat_dequant_row, bs_qmat_matvec_ref and the matvec of every kernel table this CPU
supports (reference, AVX2, AVX-512), on matrices quantized by mx.quantize.

What is compared, and how exactly:
* f32 scales (affine) and every fp mode: our dequantized rows must equal
  mx.dequantize(..., dtype=float32) bit for bit.
* bf16/f16 scales (affine): mx.dequantize evaluates s*q+b in the scales dtype (two
  roundings), boson in float32. So (1) bit-exact against float32 s*q+b recomputed in numpy
  from MLX's scales/biases and MLX's own decoding of the codes (mx.dequantize with scales 1,
  biases 0 in float32 returns the codes as MLX unpacks them), and (2) within the two
  scales-dtype roundings of mx.dequantize's own output: |ours - mlx| <= u*(|s*q| + |w|),
  u = 2^-8 (bf16) or 2^-11 (f16).
* matvec: against numpy float64 W @ x, W as in the bit-exact check above, with tolerance
  1e-5 * sum(|s*q*x| + |b*x|) (the magnitude of the factorised terms; sum |w*x| for fp).
* f32 affine also against mx.quantized_matmul (MLX's own matvec, float32 on CPU).
"""

import ctypes
import os
import subprocess
import tempfile

import numpy as np
import pytest

import mlx.core as mx

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# enum values from src/format/quant.h and src/format/dtype.h
W_DENSE, W_AFFINE, W_MXFP4, W_NVFP4, W_MXFP8 = range(5)
DT_F32, DT_F16, DT_BF16, DT_U32, DT_U8 = range(5)
ISA_NAMES = {0: "ref", 1: "avx2", 2: "avx512"}


class WFormat(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_int), ("bits", ctypes.c_int),
                ("group_size", ctypes.c_int), ("dtype", ctypes.c_int)]


class QMat(ctypes.Structure):
    _fields_ = [("fmt", WFormat), ("rows", ctypes.c_uint64), ("cols", ctypes.c_uint64),
                ("w", ctypes.c_void_p), ("scales", ctypes.c_void_p),
                ("biases", ctypes.c_void_p)]


MATVEC = ctypes.CFUNCTYPE(None, ctypes.POINTER(QMat), ctypes.POINTER(ctypes.c_float),
                          ctypes.POINTER(ctypes.c_float), ctypes.c_uint64, ctypes.c_uint64)


class Kernels(ctypes.Structure):
    _fields_ = [("isa", ctypes.c_int), ("name", ctypes.c_char_p), ("matvec", ctypes.c_void_p),
                ("dequant_span", ctypes.c_void_p), ("dot", ctypes.c_void_p),
                ("has_simd", ctypes.c_void_p)]


def isa_flags(path):
    if "_avx512" in path:
        return ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mfma", "-mf16c"]
    if "_avx2" in path:
        return ["-mavx2", "-mfma", "-mf16c"]
    return []


@pytest.fixture(scope="module")
def lib():
    srcs = ["src/format/quant.c", "src/format/dtype.c", "src/base/error.c"]
    cpu = os.path.join(REPO, "src/backend/cpu")
    srcs += sorted("src/backend/cpu/" + f for f in os.listdir(cpu)
                   if f.startswith("qmatvec") and f.endswith(".c"))
    tmp = tempfile.mkdtemp(prefix="boson_qlib_")
    objs = []
    for s in srcs:
        o = os.path.join(tmp, os.path.basename(s) + ".o")
        subprocess.run(["gcc", "-std=c17", "-O1", "-fPIC", "-Iinclude", "-Isrc", "-D_GNU_SOURCE",
                        *isa_flags(s), "-c", s, "-o", o], cwd=REPO, check=True)
        objs.append(o)
    so = os.path.join(tmp, "libbosonq.so")
    subprocess.run(["gcc", "-shared", "-o", so, *objs, "-lm"], check=True)
    L = ctypes.CDLL(so)
    L.bs_qmat_dequant_row.argtypes = [ctypes.POINTER(QMat), ctypes.c_uint64,
                                      ctypes.POINTER(ctypes.c_float)]
    L.bs_qmat_matvec_ref.argtypes = [ctypes.POINTER(QMat), ctypes.POINTER(ctypes.c_float),
                                     ctypes.POINTER(ctypes.c_float), ctypes.c_uint64,
                                     ctypes.c_uint64]
    L.bs_cpu_kernels_for.argtypes = [ctypes.c_int, ctypes.POINTER(Kernels)]
    L.bs_cpu_kernels_for.restype = ctypes.c_int
    tables = []
    for isa in (0, 1, 2):
        k = Kernels()
        if L.bs_cpu_kernels_for(isa, ctypes.byref(k)):
            tables.append((ISA_NAMES[isa], MATVEC(k.matvec)))
        else:
            print(f"kernel table {ISA_NAMES[isa]}: NOT tested (this CPU lacks it)")
    L.tables = tables
    return L


def unaligned(arr):
    """A ctypes buffer holding arr's bytes one byte past an aligned address."""
    raw = np.ascontiguousarray(arr).tobytes()
    buf = ctypes.create_string_buffer(len(raw) + 2)
    ctypes.memmove(ctypes.addressof(buf) + 1, raw, len(raw))
    return buf, ctypes.addressof(buf) + 1


def u16_bits(a):
    """Raw 16-bit patterns of an mlx bf16/f16 array (numpy has no bfloat16)."""
    return np.array(a.view(mx.uint16))


class Case:
    def __init__(self, mode, bits, group, wdtype, rows=37, ngroups=5, seed=0):
        mx.random.seed(seed)
        if mode == "nvfp4":
            ngroups *= 2  # mx.quantize wants nvfp4 rows in multiples of 32 elements
        cols = group * ngroups
        w = (mx.random.normal((rows, cols)) * 0.05).astype(wdtype)
        out = mx.quantize(w, group_size=group, bits=bits, mode=mode)
        self.q, self.s = out[0], out[1]
        self.b = out[2] if mode == "affine" else None
        self.mode, self.bits, self.group, self.rows, self.cols = mode, bits, group, rows, cols
        self.mlx_deq = np.array(mx.dequantize(self.q, self.s, self.b, group_size=group,
                                              bits=bits, mode=mode, dtype=mx.float32))
        self.keep = []
        kind = {"affine": W_AFFINE, "mxfp4": W_MXFP4, "nvfp4": W_NVFP4, "mxfp8": W_MXFP8}[mode]
        if mode == "affine":
            sdt = {mx.bfloat16: DT_BF16, mx.float16: DT_F16, mx.float32: DT_F32}[self.s.dtype]
            sraw = np.array(self.s) if self.s.dtype == mx.float32 else u16_bits(self.s)
            braw = np.array(self.b) if self.b.dtype == mx.float32 else u16_bits(self.b)
        else:
            sdt, sraw, braw = DT_U8, np.array(self.s), None
        wbuf, wp = unaligned(np.array(self.q))
        sbuf, sp = unaligned(sraw)
        self.keep += [wbuf, sbuf]
        bp = None
        if braw is not None:
            bbuf, bp = unaligned(braw)
            self.keep.append(bbuf)
        self.m = QMat(WFormat(kind, bits, group, sdt), rows, cols, wp, sp, bp)

    def mlx_codes(self):
        """Codes as MLX itself unpacks them: dequantize with scale 1, bias 0 in float32."""
        ng = self.cols // self.group
        ones = mx.ones((self.rows, ng), dtype=mx.float32)
        zeros = mx.zeros((self.rows, ng), dtype=mx.float32)
        return np.array(mx.dequantize(self.q, ones, zeros, group_size=self.group, bits=self.bits,
                                      mode="affine", dtype=mx.float32))

    def f32_expected(self):
        """float32 s*q+b (affine) from MLX's codes and scales; MLX's f32 output otherwise.
        Returns (W as float32, per-element magnitude of the factorised terms)."""
        if self.mode != "affine":
            return self.mlx_deq, np.abs(self.mlx_deq).astype(np.float64)
        q = self.mlx_codes()
        s = np.repeat(np.array(self.s.astype(mx.float32)), self.group, axis=1)
        b = np.repeat(np.array(self.b.astype(mx.float32)), self.group, axis=1)
        sq = (s * q).astype(np.float32)
        w = (sq + b).astype(np.float32)
        return w, np.abs(sq).astype(np.float64) + np.abs(b).astype(np.float64)

    def dequant(self, lib):
        out = np.zeros((self.rows, self.cols), dtype=np.float32)
        for r in range(self.rows):
            lib.bs_qmat_dequant_row(ctypes.byref(self.m), r,
                                    out[r].ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        return out


def fptr(a):
    return a.ctypes.data_as(ctypes.POINTER(ctypes.c_float))


AFFINE = [("affine", bits, g, dt) for bits in (2, 3, 4, 5, 6, 8) for g in (32, 64, 128)
          for dt in ("bfloat16", "float16", "float32")]
FP = [("mxfp4", 4, 32, "bfloat16"), ("nvfp4", 4, 16, "bfloat16"), ("mxfp8", 8, 32, "bfloat16")]


def ident(p):
    return f"{p[0]}{p[1]}-g{p[2]}-{p[3]}"


@pytest.mark.parametrize("p", AFFINE + FP, ids=ident)
def test_dequant_matches_mlx(lib, p):
    mode, bits, group, dt = p
    c = Case(mode, bits, group, getattr(mx, dt), seed=bits * 1000 + group)
    ours = c.dequant(lib)
    if mode == "affine":
        assert (np.array(c.s.astype(mx.float32)) < 0).any(), "want negative scales in the data"
    exact_mlx = mode != "affine" or dt == "float32"
    if exact_mlx:
        np.testing.assert_array_equal(ours.view(np.uint32), c.mlx_deq.view(np.uint32))
    else:
        w32, mag = c.f32_expected()
        np.testing.assert_array_equal(ours.view(np.uint32), w32.view(np.uint32))
        u = 2.0 ** -8 if dt == "bfloat16" else 2.0 ** -11
        err = np.abs(ours.astype(np.float64) - c.mlx_deq)
        bound = u * (mag + np.abs(c.mlx_deq)) + 1e-30
        assert (err <= bound).all(), f"max err/bound {(err / bound).max()}"


@pytest.mark.parametrize("p", AFFINE + FP, ids=ident)
def test_matvec_matches_float64(lib, p):
    mode, bits, group, dt = p
    c = Case(mode, bits, group, getattr(mx, dt), seed=bits * 7 + group)
    w32, mag = c.f32_expected()
    rng = np.random.default_rng(bits * 100 + group)
    x = rng.standard_normal(c.cols).astype(np.float32)
    want = w32.astype(np.float64) @ x.astype(np.float64)
    scale = mag @ np.abs(x).astype(np.float64) + 1e-30
    y = np.zeros(c.rows, dtype=np.float32)
    lib.bs_qmat_matvec_ref(ctypes.byref(c.m), fptr(x), fptr(y), 0, c.rows)
    rel = np.abs(y - want) / scale
    assert rel.max() <= 1e-5, f"ref: {rel.max()}"
    assert lib.tables, "no kernel table"
    for name, fn in lib.tables:
        y2 = np.full(c.rows, np.nan, dtype=np.float32)
        fn(ctypes.byref(c.m), fptr(x), fptr(y2), 0, c.rows)
        rel = np.abs(y2 - want) / scale
        assert rel.max() <= 1e-5, f"{name}: {rel.max()}"


@pytest.mark.parametrize("bits", (2, 3, 4, 5, 6, 8))
def test_matvec_matches_mlx_quantized_matmul_f32(lib, bits):
    c = Case("affine", bits, 64, mx.float32, seed=bits)
    rng = np.random.default_rng(bits)
    x = rng.standard_normal(c.cols).astype(np.float32)
    got = np.array(mx.quantized_matmul(mx.array(x[None, :]), c.q, c.s, c.b, transpose=True,
                                       group_size=64, bits=bits))[0]
    _, mag = c.f32_expected()
    scale = mag @ np.abs(x).astype(np.float64) + 1e-30
    for name, fn in lib.tables:
        y = np.zeros(c.rows, dtype=np.float32)
        fn(ctypes.byref(c.m), fptr(x), fptr(y), 0, c.rows)
        rel = np.abs(y.astype(np.float64) - got) / scale
        assert rel.max() <= 1e-5, f"{name}: {rel.max()}"


def test_fp_special_scales_match_mlx(lib):
    """E8M0 bytes 0 and 255, E4M3 scale bytes 0x7F/0x7E/subnormal, E4M3 element 0x7F."""
    for mode, group, bits, sbytes in (("mxfp4", 32, 4, (0, 255, 1, 254)),
                                      ("mxfp8", 32, 8, (0, 255, 127, 200)),
                                      ("nvfp4", 16, 4, (0x7F, 0xFF, 0x7E, 0x03))):
        c = Case(mode, bits, group, mx.bfloat16, rows=4, ngroups=4, seed=3)
        s = np.array(c.s).copy()
        s[:, 0] = sbytes[0]
        s[:, 1] = sbytes[1]
        s[0, 2] = sbytes[2]
        s[1, 3] = sbytes[3]
        qn = np.array(c.q).view(np.uint8).copy()
        if mode == "mxfp8":
            qn[0, 70] = 0x7F
            qn[1, 71] = 0xFF
            qn[2, 72] = 0x7E
        c2 = Case.__new__(Case)
        c2.__dict__.update(c.__dict__)
        c2.q, c2.s = mx.array(qn.view(np.uint32)), mx.array(s)
        want = np.array(mx.dequantize(c2.q, c2.s, None, group_size=group, bits=bits, mode=mode,
                                      dtype=mx.float32))
        wbuf, wp = unaligned(qn)
        sbuf, sp = unaligned(s)
        kind = {"mxfp4": W_MXFP4, "nvfp4": W_NVFP4, "mxfp8": W_MXFP8}[mode]
        c2.keep = [wbuf, sbuf]
        c2.m = QMat(WFormat(kind, bits, group, DT_U8), c.rows, c.cols, wp, sp, None)
        ours = c2.dequant(lib)
        same = (ours.view(np.uint32) == want.view(np.uint32)) | (np.isnan(ours) & np.isnan(want))
        assert same.all(), f"{mode}: first mismatch at {np.argwhere(~same)[0]}"
