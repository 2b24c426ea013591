"""Hostile or unusual inputs found in review: each gives one clear error (or works), never a
hang or a crash."""

import json
import os
import shutil
import subprocess

import pytest

from boson_util import BOSON, FIXTURES, run_boson

pytestmark = pytest.mark.usefixtures("fixtures_dir")

BF16 = FIXTURES / "qwen3_5-bf16"


def test_fifo_named_like_a_shard_is_rejected_not_waited_on(tmp_path):
    d = tmp_path / "fifo"
    d.mkdir()
    for f in ("config.json", "model.safetensors"):
        shutil.copy(BF16 / f, d / f)
    os.mkfifo(d / "model-extra.safetensors")
    p = run_boson("inspect", d, timeout=20)
    assert p.returncode == 2
    assert "model-extra.safetensors" in p.stderr and "not a regular file" in p.stderr


def test_prompt_that_is_not_utf8_is_named():
    p = subprocess.run([BOSON, "run", str(BF16), "--max-tokens", "2"], input=b"caf\xe9",
                       capture_output=True, timeout=60)
    assert p.returncode == 1
    assert b"the prompt is not valid UTF-8 (byte 3)" in p.stderr


def test_system_text_that_is_not_utf8_is_named():
    p = subprocess.run([BOSON, "chat", str(BF16), "--system", b"x\xff".decode("latin-1")
                        .encode("latin-1")], input=b"hi\n", capture_output=True, timeout=60)
    assert p.returncode == 1
    assert b"--system is not valid UTF-8 (byte 1)" in p.stderr


def test_chat_goes_on_after_a_bad_line():
    p = subprocess.run([BOSON, "chat", str(BF16), "--max-tokens", "3", "--temp", "0"],
                       input=b"caf\xe9\nhello\n", capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert b"the message is not valid UTF-8" in p.stderr
    assert b"decode 3 tok" in p.stderr  # the second line got its answer


def test_embedding_rows_beyond_the_tokenizer_decode_to_nothing(tmp_path):
    """Real checkpoints pad the embedding past the tokenizer's ids; sampling such an id must not
    abort generation (mlx-lm and HF decode it as empty text)."""
    import mlx.core as mx
    src = FIXTURES / "qwen3_5-bf16"
    d = tmp_path / "padvocab"
    shutil.copytree(src, d)
    cfg = json.loads((d / "config.json").read_text())
    vocab = cfg["text_config"]["vocab_size"]
    cfg["text_config"]["vocab_size"] = vocab + 8
    (d / "config.json").write_text(json.dumps(cfg))
    w = mx.load(str(d / "model.safetensors"))
    key = "language_model.model.embed_tokens.weight"
    e = w[key]
    # the extra rows copy a scaled existing row, so the tied head picks them often
    w[key] = mx.concatenate([e, mx.stack([e[251] * 4] * 8)], axis=0)
    mx.save_safetensors(str(d / "model.safetensors"), w, metadata={"format": "mlx"})
    p = run_boson("run", d, "--raw", "hello", "--max-tokens", "8", "--temp", "0", "--ignore-eos")
    assert p.returncode == 0, p.stderr
    assert "decode 8 tok" in p.stderr
