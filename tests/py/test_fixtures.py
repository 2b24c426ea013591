"""The reference fixtures (tools/fixtures) and the synthetic checkpoint writer
(tools/synth_checkpoint.py), checked with mlx-lm itself.

For every fixture: mlx-lm loads it strictly, builds the per-module formats
recorded in reference.json, and reproduces the stored float32 reference; its
own bf16 computation lands near that reference.  HF-layout fixtures are
loaded the same way (mlx-lm's sanitize converts them) and compared with the
reference of the MLX fixture they mirror.

Tolerances:
* float32 recomputation (weights cast to float32 exactly as the generator
  does): max |diff| <= 1e-4 * max |reference| for the prompt logits and for
  three teacher-forced decode steps through the mlx-lm cache.
* bf16 computation as loaded, on the first PREFIX prompt tokens.  MLX's CPU
  backend accumulates bf16 matmuls in bf16 and its quantized CPU kernels do
  too, and these random models amplify rounding noise, so the bound is loose:
  unquantized checkpoints rel-RMS <= 0.35; quantized ones rel-RMS <= 1.0 and
  cosine similarity >= 0.5.  (Measured with mlx 0.32.4: rel-RMS up to 0.22
  unquantized; up to 0.82, cosine down to 0.66, quantized.  The logits of an
  unrelated model give rel-RMS 1.45 and cosine -0.02.)
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tools.fixtures import layouts, reference, stio

REPO = Path(__file__).resolve().parents[2]
NAMES = [f.name for f in layouts.FIXTURES]
PREFIX = 12

BF16_REL_DENSE = 0.35
BF16_REL_QUANT = 1.0
BF16_COS_QUANT = 0.5
F32_TOL = 1e-4


def _load_ref(d):
    from safetensors.numpy import load_file

    return load_file(str(d / "reference.safetensors"))


def _cosine(a, b):
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    return float(a @ b / np.sqrt((a @ a) * (b @ b)))


def test_index_lists_every_fixture(fixtures_dir):
    index = json.loads((fixtures_dir / "index.json").read_text())
    assert [f["name"] for f in index["fixtures"]] == NAMES
    for f in index["fixtures"]:
        assert (fixtures_dir / f["name"] / "reference.json").exists()
    archs = {(f["arch"], f["layout"]) for f in index["fixtures"]}
    for arch in ("qwen3_5", "qwen3_5_moe", "qwen3_next"):
        for layout in ("hf", "bf16", "affine", "mixed", "fp", "nvfp4-mix", "dynamic"):
            assert (arch, layout) in archs, (arch, layout)
    for arch in ("qwen3_5", "qwen3_5_moe"):
        assert (arch, "vlm") in archs
    assert any(layout == "sharded" for _, layout in archs)


def test_reference_file_format(fixtures_dir):
    ref = _load_ref(fixtures_dir / NAMES[0])
    T, G, V = reference.PROMPT_LEN, reference.GREEDY_LEN, 512
    expect = {"tokens": (np.int32, (T,)), "logits": (np.float32, (T, V)), "greedy": (np.int32, (G,)),
              "greedy_logits": (np.float32, (G, V)), "greedy_margin": (np.float32, (G,))}
    assert set(ref) == set(expect)
    for k, (dt, shape) in expect.items():
        assert ref[k].dtype == dt and ref[k].shape == shape, k
    assert (ref["greedy"] == ref["greedy_logits"].argmax(-1)).all()
    assert np.array_equal(ref["logits"][-1], ref["greedy_logits"][0])


def test_every_bit_width_and_group_size_occurs(fixtures_dir):
    seen = set()
    for name in NAMES:
        meta = json.loads((fixtures_dir / name / "reference.json").read_text())
        for fmt in meta["formats"].values():
            if isinstance(fmt, dict):
                seen.add((fmt["mode"], fmt["bits"], fmt["group_size"]))
    for bits in (2, 3, 4, 5, 6, 8):
        for group in (32, 64, 128):
            assert ("affine", bits, group) in seen, (bits, group)
    assert {("mxfp4", 4, 32), ("nvfp4", 4, 16), ("mxfp8", 8, 32)} <= seen


@pytest.mark.parametrize("name", NAMES)
def test_fixture_against_mlx_lm(fixtures_dir, name):
    import mlx.core as mx
    from mlx_lm.models.switch_layers import SwitchLinear

    d = fixtures_dir / name
    meta = json.loads((d / "reference.json").read_text())
    target = _load_ref(fixtures_dir / meta["mirrors"]) if meta["mirrors"] else _load_ref(d)
    own = _load_ref(d)
    assert np.array_equal(own["tokens"], target["tokens"])

    model, _ = reference.load(d)  # strict: every parameter present, nothing extra
    assert reference.module_formats(model) == meta["formats"]
    assert stio.list_tensors(d) == meta["tensors"]
    quantized = any(isinstance(f, dict) for f in meta["formats"].values())

    # bf16 as loaded; MLX's CPU gather_mm (unquantized experts) is float32-only
    for _, m in model.named_modules():
        if isinstance(m, SwitchLinear):
            m.weight = m.weight.astype(mx.float32)
    tokens = target["tokens"]
    got = reference.logits_only(model, tokens[:PREFIX])
    stats = reference.compare(got, target["logits"][:PREFIX])
    cos = _cosine(got, target["logits"][:PREFIX])
    if quantized:
        assert stats["rel_rms"] <= BF16_REL_QUANT and cos >= BF16_COS_QUANT, (stats, cos)
    else:
        assert stats["rel_rms"] <= BF16_REL_DENSE, stats

    # float32: the reference itself, prompt and decode through the cache
    reference.cast_float32(model)
    scale = float(np.abs(target["logits"]).max())
    cache = model.make_cache()
    logits = np.array(model(mx.array(tokens)[None], cache=cache)[0])
    assert np.abs(logits - target["logits"]).max() <= F32_TOL * scale
    for i in range(3):
        step = model(mx.array([[int(target["greedy"][i])]], dtype=mx.int32), cache=cache)[0, -1]
        diff = np.abs(np.array(step) - target["greedy_logits"][i + 1]).max()
        assert diff <= F32_TOL * scale, (i, diff)


@pytest.mark.parametrize("name", [f.name for f in layouts.FIXTURES if f.mirrors or f.source])
def test_same_weights_same_reference(fixtures_dir, name):
    meta = json.loads((fixtures_dir / name / "reference.json").read_text())
    other = meta["mirrors"] or meta["derived_from"]
    a, b = _load_ref(fixtures_dir / name), _load_ref(fixtures_dir / other)
    for k in ("tokens", "greedy"):
        assert np.array_equal(a[k], b[k]), k
    assert np.abs(a["logits"] - b["logits"]).max() <= 1e-5 * np.abs(b["logits"]).max()


def test_hf_layout_is_hf(fixtures_dir):
    """The HF layout really is the pre-sanitize form."""
    for name in ("qwen3_5-hf", "qwen3_5_moe-hf", "qwen3_next-hf"):
        t = stio.list_tensors(fixtures_dir / name)
        conv = [v for k, v in t.items() if k.endswith("conv1d.weight")]
        assert conv and all(v["shape"][1] == 1 for v in conv)
        assert any("mtp." in k for k in t)
        if name == "qwen3_5_moe-hf":
            assert any(k.endswith("mlp.experts.gate_up_proj") for k in t)
        if name == "qwen3_next-hf":
            assert any(".mlp.experts.0.up_proj.weight" in k for k in t)
        if name != "qwen3_next-hf":
            assert all(not k.startswith("language_model.") for k in t)
            assert any(k.startswith("model.language_model.layers.") for k in t)


def test_mlx_lm_load_with_tokenizer(fixtures_dir):
    """mlx_lm.load (model and tokenizer) accepts an HF-layout and an MLX fixture."""
    import mlx_lm

    for name in ("qwen3_5_moe-hf", "qwen3_next-dynamic"):
        model, tok = mlx_lm.load(str(fixtures_dir / name))
        ids = tok.encode("kato mine<|im_end|>")
        assert ids[-1] == 511 and all(0 <= i < 512 for i in ids)


def test_synth_checkpoint_loads_in_mlx_lm(tmp_path):
    """A truncated full-size 0.8B synthetic checkpoint (and, shrunk further, a
    35B-A3B dynamic mix in several shards and an nvfp4 Qwen3-Next) is
    accepted by mlx-lm's strict loader and runs."""
    import mlx.core as mx
    from mlx_lm.utils import load_model

    cases = [("0.8B", "affine", ["--max-layers", "4"]),
             ("35B-A3B", "dynamic", ["--max-layers", "4", "--max-experts", "8", "--max-vocab", "4096",
                                     "--shard-gb", "0.02"]),
             ("Next-80B-A3B", "nvfp4", ["--max-layers", "4", "--max-experts", "8", "--max-vocab", "4096"])]
    for model, layout, extra in cases:
        out = tmp_path / f"{model}-{layout}"
        subprocess.run([sys.executable, str(REPO / "tools" / "synth_checkpoint.py"), "--model", model,
                        "--layout", layout, "--out", str(out), "--seed", "1", *extra],
                       check=True, capture_output=True)
        m, config = load_model(out, strict=True)
        if layout == "dynamic":
            q = config["quantization"]
            assert q["language_model.model.layers.0.mlp.gate"] == {"group_size": 64, "bits": 8}
            assert len(list(out.glob("model-*-of-*.safetensors"))) > 1
        reference.cast_float32(m)  # MLX's CPU bf16 quantized matmul is slow
        y = m(mx.array([[1, 2, 3]]))
        assert bool(mx.isfinite(y).all())
