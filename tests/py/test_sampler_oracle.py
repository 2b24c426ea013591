"""boson's sampler against mlx-lm's sample_utils (the reference nobody here wrote): the same
logits processors and filters give the same filtered log-probabilities, and draws follow the
filtered distribution."""

import ctypes
import subprocess
from pathlib import Path

import mlx.core as mx
import numpy as np
import pytest
from mlx_lm import sample_utils as su

ROOT = Path(__file__).resolve().parents[2]


class Params(ctypes.Structure):
    _fields_ = [("temperature", ctypes.c_float), ("top_p", ctypes.c_float),
                ("min_p", ctypes.c_float), ("min_tokens_to_keep", ctypes.c_int),
                ("top_k", ctypes.c_int), ("repetition_penalty", ctypes.c_float),
                ("repetition_window", ctypes.c_int), ("presence_penalty", ctypes.c_float),
                ("presence_window", ctypes.c_int), ("frequency_penalty", ctypes.c_float),
                ("frequency_window", ctypes.c_int),
                ("bias_ids", ctypes.POINTER(ctypes.c_int32)),
                ("bias_values", ctypes.POINTER(ctypes.c_float)), ("n_bias", ctypes.c_size_t),
                ("seed", ctypes.c_uint64)]


class Error(ctypes.Structure):
    _fields_ = [("status", ctypes.c_int), ("message", ctypes.c_char * 1024)]


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    out = tmp_path_factory.mktemp("sampler") / "libsampler.so"
    subprocess.run(["gcc", "-std=c17", "-O1", "-shared", "-fPIC", "-Iinclude", "-Isrc",
                    "-D_GNU_SOURCE", "src/engine/sampler.c", "src/base/error.c", "-lm",
                    "-o", str(out)], cwd=ROOT, check=True)
    lib = ctypes.CDLL(str(out))
    lib.bs_sampler_sample.restype = ctypes.c_int32
    return lib


def _sampler(lib, vocab, **kw):
    p = Params()
    lib.bs_sampler_params_default(ctypes.byref(p))
    bias = kw.pop("bias", None)
    for k, v in kw.items():
        setattr(p, k, v)
    keep = []
    if bias:
        ids = (ctypes.c_int32 * len(bias))(*bias.keys())
        vals = (ctypes.c_float * len(bias))(*bias.values())
        p.bias_ids, p.bias_values, p.n_bias = ids, vals, len(bias)
        keep = [ids, vals]
    buf = ctypes.create_string_buffer(256)  # >= sizeof(bs_sampler)
    err = Error()
    rc = lib.bs_sampler_init(buf, ctypes.byref(p), ctypes.c_size_t(vocab), ctypes.byref(err))
    return buf, rc, err, keep


def _c_filter(lib, s, logits, history):
    n = len(logits)
    x = np.ascontiguousarray(logits, dtype=np.float32)
    h = np.ascontiguousarray(history, dtype=np.int32)
    out = np.empty(n, dtype=np.float32)
    lib.bs_sampler_filter(s, x.ctypes.data_as(ctypes.c_void_p),
                          h.ctypes.data_as(ctypes.c_void_p), ctypes.c_size_t(len(h)),
                          out.ctypes.data_as(ctypes.c_void_p))
    return out


def _mlx_filter(logits, history, temp=1.0, top_p=0.0, min_p=0.0, min_keep=1, top_k=0,
                bias=None, rep=None, pres=None, freq=None, window=20):
    x = mx.array(logits)[None]
    procs = su.make_logits_processors(logit_bias=bias, repetition_penalty=rep,
                                      repetition_context_size=window, presence_penalty=pres,
                                      presence_context_size=window, frequency_penalty=freq,
                                      frequency_context_size=window)
    toks = mx.array(history, dtype=mx.int32)
    for p in procs:
        x = p(toks, x)
    x = x - mx.logsumexp(x, axis=-1, keepdims=True)
    if 0 < top_p < 1:
        x = su.apply_top_p(x, top_p)
    if min_p:
        x = su.apply_min_p(x, min_p, min_keep)
    if top_k:
        x = su.apply_top_k(x, top_k)
    return np.array(x[0])


CASES = [
    dict(top_p=0.9), dict(top_p=0.5), dict(min_p=0.05), dict(min_p=0.2, min_keep=5),
    dict(top_k=10), dict(top_k=1), dict(top_p=0.8, min_p=0.02, top_k=40),
    dict(rep=1.3), dict(pres=0.7), dict(freq=0.4), dict(bias={3: 5.0, 17: -2.5}),
    dict(rep=1.1, pres=0.5, freq=0.3, top_p=0.95, window=8),
]


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_filter_matches_mlx_lm(lib, case, seed):
    kw = dict(CASES[case])
    rng = np.random.default_rng(seed)
    vocab = 1000
    logits = (rng.standard_normal(vocab) * 3).astype(np.float32)
    history = rng.integers(0, vocab, 40).tolist() + [5, 5, 5]
    window = kw.pop("window", 20)
    ref = _mlx_filter(logits, history, window=window, **kw)
    s, rc, err, _keep = _sampler(
        lib, vocab, temperature=1.0, top_p=kw.get("top_p", 0.0), min_p=kw.get("min_p", 0.0),
        min_tokens_to_keep=kw.get("min_keep", 1), top_k=kw.get("top_k", 0),
        repetition_penalty=kw.get("rep") or 0.0, presence_penalty=kw.get("pres") or 0.0,
        frequency_penalty=kw.get("freq") or 0.0, repetition_window=window,
        presence_window=window, frequency_window=window, bias=kw.get("bias"))
    assert rc == 0, err.message
    got = _c_filter(lib, s, logits, history)
    assert np.array_equal(np.isinf(got), np.isinf(ref)), \
        f"kept sets differ: boson {np.sum(~np.isinf(got))} vs mlx-lm {np.sum(~np.isinf(ref))}"
    fin = ~np.isinf(ref)
    # mlx computes logsumexp in float32; boson in double then rounds: a few ulps
    np.testing.assert_allclose(got[fin], ref[fin], rtol=0, atol=2e-5)
    lib.bs_sampler_free(s)


def test_draws_follow_filtered_distribution(lib):
    rng = np.random.default_rng(7)
    vocab, n = 50, 40000
    logits = rng.standard_normal(vocab).astype(np.float32) * 2
    temp = 0.7
    s, rc, err, _ = _sampler(lib, vocab, temperature=temp, top_k=20, seed=1234)
    assert rc == 0
    x = np.ascontiguousarray(logits)
    counts = np.zeros(vocab)
    for _ in range(n):
        t = lib.bs_sampler_sample(s, x.ctypes.data_as(ctypes.c_void_p), None,
                                  ctypes.c_size_t(0), 0, None)
        counts[t] += 1
    ref = _mlx_filter(logits, [], top_k=20)
    p = np.exp(ref / temp - np.max(ref / temp))
    p /= p.sum()
    assert np.all(counts[p == 0] == 0)
    m = p > 0
    chi2 = np.sum((counts[m] - n * p[m]) ** 2 / (n * p[m]))
    # 19 degrees of freedom: chi2 > 50 has probability < 1e-4 under the right distribution
    assert chi2 < 50, chi2
    lib.bs_sampler_free(s)


def test_same_seed_same_tokens_and_greedy(lib):
    rng = np.random.default_rng(3)
    logits = np.ascontiguousarray(rng.standard_normal(300).astype(np.float32))
    seqs = []
    for seed in (99, 99, 100):
        s, rc, _, _ = _sampler(lib, 300, temperature=1.0, seed=seed)
        seqs.append([lib.bs_sampler_sample(s, logits.ctypes.data_as(ctypes.c_void_p), None,
                                           ctypes.c_size_t(0), 0, None) for _ in range(50)])
        lib.bs_sampler_free(s)
    assert seqs[0] == seqs[1] and seqs[0] != seqs[2]
    s, rc, _, _ = _sampler(lib, 300, temperature=0.0)
    assert lib.bs_sampler_sample(s, logits.ctypes.data_as(ctypes.c_void_p), None,
                                 ctypes.c_size_t(0), 0, None) == int(np.argmax(logits))
    lib.bs_sampler_free(s)


@pytest.mark.parametrize("kw,msg", [(dict(temperature=-1.0), b"temperature"),
                                    (dict(top_p=1.5), b"top_p"), (dict(min_p=-0.1), b"min_p"),
                                    (dict(top_k=-3), b"top_k"),
                                    (dict(bias={5000: 1.0}), b"logit_bias token id 5000")])
def test_bad_parameters_are_named(lib, kw, msg):
    s, rc, err, _ = _sampler(lib, 1000, **kw)
    assert rc != 0 and msg in err.message
