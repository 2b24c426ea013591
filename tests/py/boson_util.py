"""Helpers shared by the pytest suites: running the boson binary, and asking mlx-lm
(the reference implementation) what it made of a checkpoint."""

import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BOSON = os.environ.get("BOSON_BIN", str(ROOT / "build" / "boson"))
FIXTURES = Path(os.environ.get("BOSON_FIXTURES", str(ROOT / "build" / "fixtures")))


def run_boson(*args, env=None, check=False, timeout=120):
    e = dict(os.environ)
    e.pop("BOSON_SEPARATE_GDN_PROJ", None)
    if env:
        e.update(env)
    p = subprocess.run([BOSON, *map(str, args)], capture_output=True, text=True, env=e,
                       timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"boson {' '.join(map(str, args))} failed ({p.returncode}):\n"
                             f"{p.stderr}")
    return p


def inspect_json(model_dir, env=None):
    p = run_boson("inspect", "--json", model_dir, env=env, check=True)
    return json.loads(p.stdout)


def fixture_dirs():
    """Every generated fixture directory (holding a config.json), sorted by name."""
    if not FIXTURES.is_dir():
        return []
    return sorted(d for d in FIXTURES.iterdir() if (d / "config.json").is_file())


def normalise_module(path):
    """mlx-lm module path -> boson's internal spelling."""
    for pre, rep in (("language_model.model.", "model."), ("model.language_model.", "model."),
                     ("language_model.", "")):
        if path.startswith(pre):
            return rep + path[len(pre):]
    return path


MODE_DEFAULTS = {"affine": (64, 4), "mxfp4": (32, 4), "nvfp4": (16, 4), "mxfp8": (32, 8)}


def mlx_formats(model_dir):
    """{module: (mode, bits, group_size) or ("dense", dtype)} for every linear / embedding
    module of the model as mlx-lm loads it (its own per-module decisions)."""
    import mlx.nn as nn
    from mlx_lm.models.switch_layers import QuantizedSwitchLinear, SwitchLinear
    from mlx_lm.utils import load_model

    model, _ = load_model(Path(model_dir), lazy=True)
    out = {}
    quantized = (nn.QuantizedLinear, nn.QuantizedEmbedding, QuantizedSwitchLinear)
    dense = (nn.Linear, nn.Embedding, SwitchLinear)
    for name, mod in model.named_modules():
        if isinstance(mod, quantized):
            # a null group_size / bits in a config entry means the mode's default in mlx
            dg, db = MODE_DEFAULTS[mod.mode]
            out[normalise_module(name)] = (mod.mode, mod.bits or db, mod.group_size or dg)
        elif isinstance(mod, dense):
            out[normalise_module(name)] = ("dense", str(mod.weight.dtype).split(".")[-1])
    return model, out


def boson_format(w):
    if w["mode"] == "dense":
        return ("dense", {"BF16": "bfloat16", "F16": "float16", "F32": "float32"}[w["dtype"]])
    return (w["mode"], w["bits"], w["group_size"])
