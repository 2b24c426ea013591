"""boson's safetensors reader against files written by two writers nobody here wrote:
the `safetensors` package (HF layout, header padded to 8 bytes) and MLX's
mx.save_safetensors (unpadded, tensors at unaligned offsets).

A tiny C dumper, compiled here from boson's own format sources, prints what bs_st_open
saw for every tensor (dtype, shape, byte count, FNV-1a of the bytes); the test compares
that with the arrays the writer was given."""

import os
import shutil
import subprocess

import numpy as np
import pytest

from boson_util import ROOT

import safetensors.numpy as safetensors_numpy
import mlx.core as mx

DUMPER_C = r"""
#include "format/safetensors.h"
#include <inttypes.h>
#include <stdio.h>
int main(int argc, char **argv)
{
    bs_st_file f;
    boson_error err;
    if (bs_st_open(argv[1], &f, &err) != BOSON_OK) {
        printf("ERROR\t%s\n", err.message);
        return 2;
    }
    for (size_t i = 0; i < f.n_tensors; i++) {
        const bs_tensor *t = &f.tensors[i];
        uint64_t h = 1469598103934665603ull;
        for (uint64_t b = 0; b < t->nbytes; b++)
            h = (h ^ t->data[b]) * 1099511628211ull;
        printf("%s\t%s\t", t->name, bs_dtype_name(t->dtype));
        for (int d = 0; d < t->ndim; d++)
            printf("%s%" PRIu64, d ? "," : "", t->shape[d]);
        printf("\t%" PRIu64 "\t%" PRIu64 "\t%016" PRIx64 "\n", t->offset, t->nbytes, h);
    }
    bs_st_close(&f);
    return 0;
}
"""

SOURCES = ["src/format/dtype.c", "src/format/safetensors.c", "src/base/mapfile.c",
           "src/base/error.c"]


def fnv1a(data: bytes) -> int:
    h = 1469598103934665603
    for b in data:
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


@pytest.fixture(scope="module")
def dumper(tmp_path_factory):
    cc = shutil.which(os.environ.get("CC", "gcc")) or shutil.which("gcc")
    if not cc:
        pytest.fail("no C compiler")
    d = tmp_path_factory.mktemp("st_dump")
    src = d / "st_dump.c"
    src.write_text(DUMPER_C)
    exe = d / "st_dump"
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "jansson"], capture_output=True,
                           text=True).stdout.split() or ["-ljansson"]
    subprocess.run([cc, "-std=c17", "-O1", "-D_GNU_SOURCE", f"-I{ROOT / 'include'}",
                    f"-I{ROOT / 'src'}", "-o", str(exe), str(src),
                    *[str(ROOT / s) for s in SOURCES], *flags],
                   check=True, capture_output=True)
    return exe


def dump(exe, path):
    p = subprocess.run([str(exe), str(path)], capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        return p.stdout.strip()
    out = {}
    for line in p.stdout.splitlines():
        name, dtype, shape, offset, nbytes, h = line.split("\t")
        out[name] = dict(dtype=dtype, shape=tuple(int(x) for x in shape.split(",") if x),
                         offset=int(offset), nbytes=int(nbytes), hash=int(h, 16))
    return out


NP_DTYPES = {"F32": np.float32, "F16": np.float16, "U32": np.uint32, "U8": np.uint8,
             "I32": np.int32, "I64": np.int64, "BOOL": np.bool_}


def random_array(rng, dtype, shape):
    if dtype == np.bool_:
        return rng.integers(0, 2, size=shape).astype(np.bool_)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
    return rng.standard_normal(size=shape).astype(dtype)


def random_shape(rng):
    nd = int(rng.integers(0, 5))
    return tuple(int(x) for x in rng.integers(0, 6, size=nd))


@pytest.mark.parametrize("seed", range(6))
def test_safetensors_package_files(tmp_path, dumper, seed):
    rng = np.random.default_rng(seed)
    tensors = {}
    for i in range(int(rng.integers(1, 12))):
        code = list(NP_DTYPES)[int(rng.integers(0, len(NP_DTYPES)))]
        tensors[f"t{i}.{code.lower()}"] = random_array(rng, NP_DTYPES[code], random_shape(rng))
    path = tmp_path / "hf.safetensors"
    safetensors_numpy.save_file(tensors, str(path), metadata={"format": "np"})
    got = dump(dumper, path)
    assert isinstance(got, dict), got
    assert sorted(got) == sorted(tensors)
    for name, a in tensors.items():
        g = got[name]
        assert g["dtype"] == name.split(".")[1].upper()
        assert g["shape"] == a.shape
        raw = np.ascontiguousarray(a).tobytes()
        assert g["nbytes"] == len(raw)
        assert g["hash"] == fnv1a(raw), name


MX_DTYPES = {"F32": mx.float32, "F16": mx.float16, "BF16": mx.bfloat16, "U32": mx.uint32,
             "U8": mx.uint8, "I32": mx.int32, "I64": mx.int64, "BOOL": mx.bool_}


def raw_bytes_mx(a):
    """Little-endian bytes of an mlx array, bf16 via its uint16 bit view."""
    if a.dtype == mx.bfloat16:
        return np.array(a.view(mx.uint16)).tobytes()
    return np.array(a).tobytes()


@pytest.mark.parametrize("seed", range(6))
def test_mlx_writer_files_unaligned(tmp_path, dumper, seed):
    rng = np.random.default_rng(100 + seed)
    tensors = {}
    for i in range(int(rng.integers(2, 14))):
        code = list(MX_DTYPES)[int(rng.integers(0, len(MX_DTYPES)))]
        shape = random_shape(rng)
        if code == "BF16":
            a = mx.array(rng.standard_normal(size=shape).astype(np.float32)).astype(mx.bfloat16)
        else:
            a = mx.array(random_array(rng, NP_DTYPES[code], shape))
        tensors[f"t{i}.{code.lower()}"] = a
    # an odd-sized U8 tensor first pushes everything after it off alignment
    tensors["a.odd"] = mx.array(np.arange(3, dtype=np.uint8))
    path = tmp_path / "mlx.safetensors"
    meta = {"format": "mlx"} if seed % 2 else None
    if meta:
        mx.save_safetensors(str(path), tensors, metadata=meta)
    else:
        mx.save_safetensors(str(path), tensors)  # writes "__metadata__": null
    got = dump(dumper, path)
    assert isinstance(got, dict), got
    assert sorted(got) == sorted(tensors)
    for name, a in tensors.items():
        g = got[name]
        code = "U8" if name == "a.odd" else name.split(".")[1].upper()
        assert g["dtype"] == code
        assert g["shape"] == tuple(a.shape)
        raw = raw_bytes_mx(a)
        assert g["nbytes"] == len(raw)
        assert g["hash"] == fnv1a(raw), name
    # the MLX layout really was unaligned somewhere (else this test proves less)
    assert any(g["offset"] % 4 for g in got.values() if g["nbytes"])


def test_unsupported_dtype_is_named(tmp_path, dumper):
    path = tmp_path / "f64.safetensors"
    safetensors_numpy.save_file({"w": np.zeros((2, 2), np.float64)}, str(path))
    got = dump(dumper, path)
    assert isinstance(got, str) and "unknown dtype 'F64' for tensor 'w'" in got, got
