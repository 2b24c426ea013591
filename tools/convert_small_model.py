#!/usr/bin/env python3
"""Convert the trained Hugging Face checkpoint of the bundled model into MLX checkpoints.

  .venv/bin/python tools/convert_small_model.py --hf .train/hf --name boson-tiny

writes models/<name>-bf16, models/<name>-4bit (affine 4-bit g64) and models/<name>-mixed
(unsloth-style mixed bits), each converted by mlx-lm itself (mlx_lm.convert), with the
tokenizer files of tools/make_corpus.py and the real Qwen3.5 chat template.

The trainer saves transformers' text-only layout (model_type qwen3_5_text, `model.layers.*`).
Released Qwen3.5 checkpoints are the multimodal layout (model_type qwen3_5 with a text_config,
`model.language_model.*`), so the weights are first staged in that layout and mlx-lm does the
rest (conv1d transpose, `1 + w` norms, dtype casts, quantization, config entries).
"""
import argparse
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Mixed variant, in the manner of unsloth's dynamic MLX ports: attention/GDN output projections
# stay bf16, the MLP down projections and the (tied) embedding get more bits, and some GDN layers
# carry in_proj_a / in_proj_b in a format other than in_proj_qkv / in_proj_z, so that the engine
# must split those layers' projection sets while fusing the others.
MIXED_LAYER_RULES = {
    0: {"in_proj_a": {"group_size": 64, "bits": 8}, "in_proj_b": {"group_size": 64, "bits": 4}},
    1: {"in_proj_a": False, "in_proj_b": False},
    4: {"in_proj_b": {"group_size": 64, "bits": 8}},
    5: {p: {"group_size": 32, "bits": 5} for p in ("in_proj_qkv", "in_proj_z", "in_proj_a", "in_proj_b")},
}


def mixed_predicate(path, module):
    if path.endswith("o_proj") or path.endswith("out_proj"):
        return False
    if path.endswith("embed_tokens"):
        return {"group_size": 64, "bits": 6}
    if path.endswith("mlp.down_proj"):
        return {"group_size": 64, "bits": 6}
    m = re.search(r"layers\.(\d+)\.linear_attn\.(in_proj_\w+)$", path)
    if m:
        rule = MIXED_LAYER_RULES.get(int(m.group(1)), {}).get(m.group(2))
        if rule is not None:
            return dict(rule) if isinstance(rule, dict) else rule
    return True


def stage_qwen35_layout(hf, stage):
    import mlx.core as mx

    text = json.loads((hf / "config.json").read_text())
    for k in ("architectures", "transformers_version", "use_cache"):
        text.pop(k, None)
    text["model_type"] = "qwen3_5_text"
    cfg = {
        "architectures": ["Qwen3_5ForConditionalGeneration"],
        "model_type": "qwen3_5",
        "text_config": text,
        "tie_word_embeddings": text["tie_word_embeddings"],
        "transformers_version": "5.24.0",
    }
    stage.mkdir(parents=True)
    (stage / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    weights = {}
    for f in sorted(hf.glob("*.safetensors")):
        for k, v in mx.load(str(f)).items():
            if k.startswith("model."):
                k = "model.language_model." + k[len("model.") :]
            elif k == "lm_head.weight" and text["tie_word_embeddings"]:
                continue
            weights[k] = v
    mx.save_safetensors(str(stage / "model.safetensors"), weights, metadata={"format": "pt"})
    tok = ROOT / ".train" / "tokenizer"
    for f in ("tokenizer.json", "tokenizer_config.json", "generation_config.json"):
        shutil.copy(tok / f, stage / f)
    return tok


def finish(dst, tok):
    # Ship the tokenizer files exactly as made (the chat template lives in tokenizer_config.json).
    for f in ("chat_template.jinja", "special_tokens_map.json"):
        (dst / f).unlink(missing_ok=True)
    for f in ("tokenizer.json", "tokenizer_config.json", "generation_config.json"):
        shutil.copy(tok / f, dst / f)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hf", default=str(ROOT / ".train" / "hf"))
    ap.add_argument("--name", default="boson-tiny")
    ap.add_argument("--out", default=str(ROOT / "models"))
    args = ap.parse_args()

    from mlx_lm import convert

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as td:
        stage = Path(td) / "hf"
        tok = stage_qwen35_layout(Path(args.hf), stage)
        variants = {
            "bf16": dict(dtype="bfloat16"),
            "4bit": dict(quantize=True, q_group_size=64, q_bits=4, q_mode="affine"),
            "mixed": dict(quantize=True, q_group_size=64, q_bits=4, q_mode="affine", quant_predicate=mixed_predicate),
        }
        for suffix, kw in variants.items():
            dst = out / ("%s-%s" % (args.name, suffix))
            if dst.exists():
                shutil.rmtree(dst)
            convert(str(stage), str(dst), **kw)
            finish(dst, tok)
            print("wrote", dst, sorted(p.name for p in dst.iterdir()))


if __name__ == "__main__":
    sys.exit(main())
