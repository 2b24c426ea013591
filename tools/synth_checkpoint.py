#!/usr/bin/env python3
"""Write full-size synthetic MLX checkpoints of the Qwen3.5 / Qwen3-Next family.

Tests and benchmarks only.  The files have the exact structure mlx-lm writes
(names, shapes, dtypes, config.json with text_config nesting and the
``quantization`` dict, shards of at most 5 GiB with
model.safetensors.index.json, unpadded headers with {"format": "mlx"}
metadata), filled with random data: random packed codes, small finite random
scales and biases, norms near 1.  Nothing is held in memory: the safetensors
header is computed from the shapes, then every tensor is generated and
written in chunks.

    python tools/synth_checkpoint.py --model 27B --layout affine --bits 4 --group-size 64 --out DIR
    python tools/synth_checkpoint.py --model 35B-A3B --layout dynamic --out DIR --max-layers 4
    python tools/synth_checkpoint.py --model 0.8B --layout nvfp4 --out DIR --dry-run

numpy is the only dependency.
"""

import argparse
import json
import shutil
import struct
import sys
import time
from pathlib import Path

import numpy as np

GIB = 1 << 30
CHUNK = 32 << 20  # bytes generated per step

# Shapes of the released models (qwen35-architecture.md section 9).
# Common to all: head_dim 256, Dk = Dv = 128, conv kernel 4, eps 1e-6,
# partial_rotary_factor 0.25, rope_theta 1e7, full_attention_interval 4.
MODELS = {
    "0.8B": dict(arch="qwen3_5", H=1024, L=24, Nh=8, Nkv=2, I=3584, Hv=16, Hk=16, tied=True),
    "2B": dict(arch="qwen3_5", H=2048, L=24, Nh=8, Nkv=2, I=6144, Hv=16, Hk=16, tied=True),
    "4B": dict(arch="qwen3_5", H=2560, L=32, Nh=16, Nkv=4, I=9216, Hv=32, Hk=16, tied=True),
    "9B": dict(arch="qwen3_5", H=4096, L=32, Nh=16, Nkv=4, I=12288, Hv=32, Hk=16, tied=False),
    "27B": dict(arch="qwen3_5", H=5120, L=64, Nh=24, Nkv=4, I=17408, Hv=48, Hk=16, tied=False),
    "35B-A3B": dict(arch="qwen3_5_moe", H=2048, L=40, Nh=16, Nkv=2, I=5120, Hv=32, Hk=16,
                    E=256, k=8, Im=512, Is=512, tied=False),
    "122B-A10B": dict(arch="qwen3_5_moe", H=3072, L=48, Nh=32, Nkv=2, I=9216, Hv=64, Hk=16,
                      E=256, k=8, Im=1024, Is=1024, tied=False),
    "397B-A17B": dict(arch="qwen3_5_moe", H=4096, L=60, Nh=32, Nkv=2, I=12288, Hv=64, Hk=16,
                      E=512, k=10, Im=1024, Is=1024, tied=False),
    "Next-80B-A3B": dict(arch="qwen3_next", H=2048, L=48, Nh=16, Nkv=2, I=5120, Hv=32, Hk=16,
                         E=512, k=10, Im=512, Is=512, tied=False, V=151936),
}
ALIASES = {"80B-A3B": "Next-80B-A3B", "next-80b-a3b": "Next-80B-A3B", "qwen3-next-80b-a3b": "Next-80B-A3B"}
D, DK, DV, KC = 256, 128, 128, 4
VOCAB = 248320

MODE_DEFAULTS = {"affine": (64, 4), "mxfp4": (32, 4), "nvfp4": (16, 4), "mxfp8": (32, 8)}
AFFINE_BITS = (2, 3, 4, 5, 6, 8)
AFFINE_GROUPS = (32, 64, 128)
DTYPE_SIZE = {"BF16": 2, "F32": 4, "U32": 4, "U8": 1}
ROUTER = {"group_size": 64, "bits": 8}


def resolve_model(name):
    for k in MODELS:
        if k.lower() == name.lower() or k.lower() == name.lower().removeprefix("qwen3.5-"):
            return k
    if name in ALIASES or name.lower() in ALIASES:
        return ALIASES.get(name) or ALIASES[name.lower()]
    raise SystemExit(f"unknown model {name!r}; one of: {', '.join(MODELS)}")


# ----------------------------------------------------------------------------
# Model description


class Spec:
    def __init__(self, model, max_layers=None, max_experts=None, max_vocab=None):
        m = dict(MODELS[model])
        self.model = model
        self.arch = m["arch"]
        self.H, self.L, self.Nh, self.Nkv, self.I = m["H"], m["L"], m["Nh"], m["Nkv"], m["I"]
        self.Hv, self.Hk, self.tied = m["Hv"], m["Hk"], m["tied"]
        self.E, self.k, self.Im, self.Is = m.get("E", 0), m.get("k", 0), m.get("Im", 0), m.get("Is", 0)
        self.V = m.get("V", VOCAB)
        if max_vocab:
            self.V = min(self.V, max_vocab)
        if max_layers:
            self.L = min(self.L, max_layers)
        if max_experts and self.E:
            self.E = min(self.E, max_experts)
            self.k = min(self.k, self.E)
        self.key_dim, self.value_dim = self.Hk * DK, self.Hv * DV
        self.conv_dim = 2 * self.key_dim + self.value_dim

    @property
    def prefix(self):
        return "model." if self.arch == "qwen3_next" else "language_model.model."

    @property
    def head(self):
        return "lm_head" if self.arch == "qwen3_next" else "language_model.lm_head"

    def is_linear(self, i):
        return (i + 1) % 4 != 0

    def modules_and_params(self):
        """Yield ('module', path, lead, out, in) for quantizable modules and
        ('param', name, shape, kind) for the others, in model order."""
        P = self.prefix
        yield ("module", P + "embed_tokens", (), self.V, self.H)
        for i in range(self.L):
            p = f"{P}layers.{i}."
            yield ("param", p + "input_layernorm.weight", (self.H,), "norm")
            if self.is_linear(i):
                a = p + "linear_attn."
                if self.arch == "qwen3_next":
                    yield ("module", a + "in_proj_qkvz", (), 2 * self.key_dim + 2 * self.value_dim, self.H)
                    yield ("module", a + "in_proj_ba", (), 2 * self.Hv, self.H)
                else:
                    yield ("module", a + "in_proj_qkv", (), self.conv_dim, self.H)
                    yield ("module", a + "in_proj_z", (), self.value_dim, self.H)
                    yield ("module", a + "in_proj_b", (), self.Hv, self.H)
                    yield ("module", a + "in_proj_a", (), self.Hv, self.H)
                yield ("param", a + "conv1d.weight", (self.conv_dim, KC, 1), "conv")
                yield ("param", a + "dt_bias", (self.Hv,), "dt_bias")
                yield ("param", a + "A_log", (self.Hv,), "A_log")
                yield ("param", a + "norm.weight", (DV,), "norm")
                yield ("module", a + "out_proj", (), self.H, self.value_dim)
            else:
                s = p + "self_attn."
                yield ("module", s + "q_proj", (), 2 * self.Nh * D, self.H)
                yield ("module", s + "k_proj", (), self.Nkv * D, self.H)
                yield ("module", s + "v_proj", (), self.Nkv * D, self.H)
                yield ("module", s + "o_proj", (), self.H, self.Nh * D)
                yield ("param", s + "q_norm.weight", (D,), "norm")
                yield ("param", s + "k_norm.weight", (D,), "norm")
            yield ("param", p + "post_attention_layernorm.weight", (self.H,), "norm")
            m = p + "mlp."
            if self.E:
                yield ("module", m + "gate", (), self.E, self.H)
                for proj, o, n in (("gate_proj", self.Im, self.H), ("up_proj", self.Im, self.H),
                                   ("down_proj", self.H, self.Im)):
                    yield ("module", m + "switch_mlp." + proj, (self.E,), o, n)
                for proj, o, n in (("gate_proj", self.Is, self.H), ("up_proj", self.Is, self.H),
                                   ("down_proj", self.H, self.Is)):
                    yield ("module", m + "shared_expert." + proj, (), o, n)
                yield ("module", m + "shared_expert_gate", (), 1, self.H)
            else:
                yield ("module", m + "gate_proj", (), self.I, self.H)
                yield ("module", m + "up_proj", (), self.I, self.H)
                yield ("module", m + "down_proj", (), self.H, self.I)
        yield ("param", P + "norm.weight", (self.H,), "norm")
        if not self.tied:
            yield ("module", self.head, (), self.V, self.H)

    def text_config(self):
        t = {
            "model_type": {"qwen3_5": "qwen3_5_text", "qwen3_5_moe": "qwen3_5_moe_text"}.get(self.arch, self.arch),
            "hidden_size": self.H, "num_hidden_layers": self.L,
            "num_attention_heads": self.Nh, "num_key_value_heads": self.Nkv, "head_dim": D,
            "intermediate_size": self.I,
            "linear_num_key_heads": self.Hk, "linear_num_value_heads": self.Hv,
            "linear_key_head_dim": DK, "linear_value_head_dim": DV, "linear_conv_kernel_dim": KC,
            "full_attention_interval": 4,
            "layer_types": ["linear_attention" if self.is_linear(i) else "full_attention" for i in range(self.L)],
            "rms_norm_eps": 1e-6, "vocab_size": self.V, "max_position_embeddings": 262144,
            "tie_word_embeddings": self.tied, "attention_bias": False, "hidden_act": "silu",
            "attn_output_gate": True,
        }
        if self.E:
            t.update(num_experts=self.E, num_experts_per_tok=self.k, moe_intermediate_size=self.Im,
                     shared_expert_intermediate_size=self.Is, decoder_sparse_step=1, norm_topk_prob=True)
        if self.arch == "qwen3_next":
            t.update(rope_theta=10000000.0, partial_rotary_factor=0.25, mlp_only_layers=[],
                     rope_scaling=None, torch_dtype="bfloat16", eos_token_id=151645,
                     architectures=["Qwen3NextForCausalLM"])
        else:
            t.update(rope_parameters={"rope_type": "default", "rope_theta": 10000000,
                                      "partial_rotary_factor": 0.25, "mrope_section": [11, 11, 10],
                                      "mrope_interleaved": True},
                     dtype="bfloat16", mamba_ssm_dtype="float32", mtp_num_hidden_layers=1,
                     eos_token_id=248044)
        return t


# ----------------------------------------------------------------------------
# Formats


def layer_of(path):
    parts = path.split(".")
    for a, b in zip(parts, parts[1:]):
        if a == "layers" and b.isdigit():
            return int(b)
    return None


def dynamic_choice(path):
    """The unsloth-style mix also used by the small fixtures (tools/fixtures):
    returns a dict, False (bf16) or True (global 4-bit g64)."""
    i = layer_of(path)
    j = None if i is None else i % 8

    def q(bits, group=64):
        return {"group_size": group, "bits": bits}

    if path.endswith("embed_tokens"):
        return q(5)
    if path.endswith("lm_head"):
        return q(6)
    if path.endswith(("self_attn.o_proj", "linear_attn.out_proj")):
        return False
    if path.endswith(("mlp.gate", "shared_expert_gate")):
        return q(8)
    if path.endswith(("q_proj", "k_proj", "v_proj", "in_proj_qkv", "in_proj_z", "in_proj_qkvz")):
        return q(5)
    if path.endswith("in_proj_a"):
        return {0: q(4), 4: q(4), 1: False, 5: False, 6: q(4, 32)}.get(j, True)
    if path.endswith("in_proj_b"):
        return {0: q(8), 4: q(8), 1: False, 5: False, 6: False}.get(j, True)
    if path.endswith("in_proj_ba"):
        return {0: q(8), 4: q(8), 1: False, 5: False, 6: q(6, 128)}.get(j, True)
    if path.endswith(("gate_proj", "up_proj")):
        return q(3)
    if path.endswith("down_proj"):
        return q(4)
    return True


def plan(spec, layout, bits=None, group=None):
    """Return (quantization dict or None, list of tensors) where each tensor is
    (name, dtype, shape, filler, unpacked parameter count)."""
    if layout == "bf16":
        quant = None
    elif layout == "affine":
        quant = {"group_size": group, "bits": bits, "mode": "affine"}
    elif layout == "dynamic":
        quant = {"group_size": 64, "bits": 4, "mode": "affine"}
    else:
        g, b = MODE_DEFAULTS[layout]
        quant = {"group_size": g, "bits": b, "mode": layout}

    tensors = []
    for item in spec.modules_and_params():
        if item[0] == "param":
            _, name, shape, kind = item
            dtype = "F32" if (kind == "A_log" and spec.arch != "qwen3_next") else "BF16"
            n = int(np.prod(shape))
            tensors.append((name, dtype, shape, kind, n))
            continue
        _, path, lead, out, inp = item
        fmt = None  # None = bf16
        if quant is not None:
            if layout == "dynamic":
                choice = dynamic_choice(path)
            elif spec.E and path.endswith(("mlp.gate", "shared_expert_gate")):
                choice = dict(ROUTER)  # mlx-lm's MoE quant_predicate
            else:
                choice = True
            if isinstance(choice, dict):
                quant[path] = choice
                g, b = choice["group_size"], choice["bits"]
                fmt = (choice.get("mode", "affine"), g, b)
            elif choice:
                fmt = (quant["mode"], quant["group_size"], quant["bits"])
        n = int(np.prod(lead)) * out * inp
        if fmt is None:
            tensors.append((path + ".weight", "BF16", (*lead, out, inp), "dense", n))
            continue
        mode, g, b = fmt
        if inp % g:
            raise ValueError(f"{path}: input width {inp} not a multiple of group {g}")
        tensors.append((path + ".weight", "U32", (*lead, out, inp * b // 32), "codes:" + mode, n))
        if mode == "affine":
            tensors.append((path + ".scales", "BF16", (*lead, out, inp // g), "scale", 0))
            tensors.append((path + ".biases", "BF16", (*lead, out, inp // g), "bias", 0))
        else:
            tensors.append((path + ".scales", "U8", (*lead, out, inp // g), "e4m3" if mode == "nvfp4" else "e8m0", 0))
    return quant, tensors


# ----------------------------------------------------------------------------
# Random data


def raw(rng, nbytes):
    """``nbytes`` random bytes (uint8 array) straight from the bit generator
    (SFC64 random_raw: several times faster than Generator.bytes here)."""
    words = rng.bit_generator.random_raw((nbytes + 7) // 8)
    return words.view(np.uint8)[:nbytes]


def small_bf16(rng, n, exp_lo, exp_bits, signed=True):
    """n random finite bf16 values (uint16 bits): biased exponent in
    [exp_lo, exp_lo + 2**exp_bits), random mantissa (and sign)."""
    r = raw(rng, 2 * n).view(np.uint16)
    out = (r & np.uint16(0x007F)) | ((np.uint16(exp_lo) + ((r >> np.uint16(7)) & np.uint16((1 << exp_bits) - 1))) << np.uint16(7))
    if signed:
        out |= r & np.uint16(0x8000)
    return out


def fill(rng, kind, dtype, count, mode=None):
    """Bytes for ``count`` elements of a tensor of the given kind."""
    if kind == "codes":
        b = raw(rng, count * 4)
        if mode == "mxfp8":
            # E4M3 elements: the quantizer saturates at 448 (0x7E) and never
            # writes 0x7F / 0xFF, which are NaN codes
            b = b.copy()
            b[(b & 0x7F) == 0x7F] ^= 0x01
        return b.tobytes()
    if kind in ("scale", "bias"):
        return small_bf16(rng, count, 127 - 9, 3).tobytes()  # |x| in [2^-9, 2^-1)
    if kind == "dense":
        return small_bf16(rng, count, 127 - 9, 3).tobytes()
    if kind == "e8m0":
        return (np.uint8(127 - 9) + (raw(rng, count) & np.uint8(7))).tobytes()  # 2^-9 .. 2^-2
    if kind == "e4m3":
        return (np.uint8(0x18) + (raw(rng, count) & np.uint8(0x1F))).tobytes()  # 2^-4 .. < 1
    if kind == "norm":
        return small_bf16(rng, count, 126, 1, signed=False).tobytes()  # [0.5, 2)
    if kind == "conv":
        return small_bf16(rng, count, 127 - 4, 2).tobytes()
    if kind == "dt_bias":
        return small_bf16(rng, count, 127 - 3, 2).tobytes()
    if kind == "A_log":
        v = np.log(1.0 + 15.0 * (raw(rng, 8 * count).view(np.uint64) >> np.uint64(11)) / float(1 << 53))
        v = v.astype(np.float32)
        if dtype == "F32":
            return v.tobytes()
        u = v.view(np.uint32)
        return ((u + np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1))) >> np.uint32(16)).astype(np.uint16).tobytes()
    raise ValueError(kind)


def element_count(shape, dtype):
    return int(np.prod(shape, dtype=np.int64))


def nbytes(t):
    return element_count(t[2], t[1]) * DTYPE_SIZE[t[1]]


# ----------------------------------------------------------------------------
# Writing


def make_shards(tensors, max_bytes):
    """mlx_lm.utils.make_shards: start a new shard when the next tensor would
    push the current one beyond the limit."""
    shards, size = [], 0
    for t in tensors:
        n = nbytes(t)
        if not shards or size + n > max_bytes:
            shards.append([])
            size = 0
        shards[-1].append(t)
        size += n
    return shards


def write_shard(path, tensors, rng, progress):
    header, off = {}, 0
    for name, dtype, shape, _, _ in tensors:
        n = nbytes((name, dtype, shape))
        header[name] = {"data_offsets": [off, off + n], "dtype": dtype, "shape": list(shape)}
        off += n
    header = {"__metadata__": {"format": "mlx"}, **dict(sorted(header.items()))}
    blob = json.dumps(header, separators=(",", ":")).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)  # MLX writes no padding
        for name, dtype, shape, kind, _ in tensors:
            total = element_count(shape, dtype)
            per = max(1, CHUNK // DTYPE_SIZE[dtype])
            done = 0
            while done < total:
                c = min(per, total - done)
                k, _, mode = kind.partition(":")
                f.write(fill(rng, k, dtype, c, mode))
                done += c
                progress(c * DTYPE_SIZE[dtype])
    return off


def build_config(spec, quant):
    text = spec.text_config()
    if spec.arch == "qwen3_next":
        config = dict(text)
    else:
        config = {
            "architectures": ["Qwen3_5MoeForConditionalGeneration" if spec.E else "Qwen3_5ForConditionalGeneration"],
            "model_type": spec.arch,
            "text_config": text,
            "tie_word_embeddings": spec.tied,
            "image_token_id": 248056, "video_token_id": 248057,
            "vision_start_token_id": 248053, "vision_end_token_id": 248054,
            "eos_token_id": 248046,
        }
    if quant is not None:
        config["quantization"] = quant
        config["quantization_config"] = quant
    return dict(sorted(config.items()))  # mlx-lm's save_config sorts the top level


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="one of: " + ", ".join(MODELS))
    ap.add_argument("--layout", required=True, choices=["bf16", "affine", "mxfp4", "nvfp4", "mxfp8", "dynamic"])
    ap.add_argument("--bits", type=int, default=4, choices=AFFINE_BITS, help="affine bits (default 4)")
    ap.add_argument("--group-size", type=int, default=64, choices=AFFINE_GROUPS, help="affine group (default 64)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--max-layers", type=int, help="keep only the first N layers (quick tests)")
    ap.add_argument("--max-experts", type=int, help="keep only N experts per MoE layer (quick format tests)")
    ap.add_argument("--max-vocab", type=int, help="keep only N vocabulary rows (quick format tests)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shard-gb", type=float, default=5.0, help="shard limit in GiB (mlx-lm: 5)")
    ap.add_argument("--force", action="store_true", help="replace --out if it exists")
    ap.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
    args = ap.parse_args(argv)

    spec = Spec(resolve_model(args.model), args.max_layers, args.max_experts, args.max_vocab)
    quant, tensors = plan(spec, args.layout, args.bits, args.group_size)
    shards = make_shards(tensors, int(args.shard_gb * GIB))
    total = sum(nbytes(t) for t in tensors)
    nparams = sum(t[4] for t in tensors)
    print(f"{spec.model} ({spec.arch}), {spec.L} layers, layout {args.layout}"
          + (f" {args.bits}-bit g{args.group_size}" if args.layout == "affine" else "")
          + f": {len(tensors)} tensors, {total / GIB:.2f} GiB in {len(shards)} shard(s), "
          f"{nparams / 1e9:.2f} B parameters")
    if args.dry_run:
        return 0

    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        if not args.force:
            raise SystemExit(f"{out} exists and is not empty (use --force)")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)

    rng = np.random.Generator(np.random.SFC64(args.seed))
    written = [0]
    t0 = time.time()
    last = [t0]

    def progress(n):
        written[0] += n
        now = time.time()
        if now - last[0] > 2 and sys.stderr.isatty():
            last[0] = now
            rate = written[0] / (now - t0) / 1e6
            print(f"\r  {written[0] / GIB:7.2f} / {total / GIB:.2f} GiB  ({rate:.0f} MB/s)",
                  end="", file=sys.stderr, flush=True)

    names = (["model.safetensors"] if len(shards) == 1 else
             [f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors" for i in range(len(shards))])
    weight_map = {}
    for fname, shard in zip(names, shards):
        write_shard(out / fname, shard, rng, progress)
        weight_map.update({t[0]: fname for t in shard})
    if sys.stderr.isatty():
        print(file=sys.stderr)

    index = {"metadata": {"total_size": total, "total_parameters": nparams},
             "weight_map": dict(sorted(weight_map.items()))}
    (out / "model.safetensors.index.json").write_text(json.dumps(index, indent=4))
    (out / "config.json").write_text(json.dumps(build_config(spec, quant), indent=4))
    eos = [151645, 151643] if spec.arch == "qwen3_next" else [248046, 248044]
    (out / "generation_config.json").write_text(json.dumps({"eos_token_id": eos}, indent=2))
    dt = time.time() - t0
    print(f"wrote {out} in {dt:.1f} s ({total / max(dt, 1e-9) / 1e6:.0f} MB/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
