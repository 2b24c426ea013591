"""Generation through the engine and the run / chat / bench / tokenize / detokenize / template
commands, against independent references: mlx-lm's greedy tokens (reference.safetensors of the
fixtures) decoded by Hugging Face tokenizers, tokenizers' own encodings, and jinja2 rendering
the shared Qwen3.5 template. Also: seeded sampling, stop strings across token boundaries,
max_tokens, the Hugging Face cache lookup, --help and exit codes of every command."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from safetensors.numpy import load_file
from tokenizers import Tokenizer

from boson_util import BOSON, FIXTURES, run_boson

pytestmark = pytest.mark.usefixtures("fixtures_dir")

FIX = "qwen3_5-dynamic"
EOS = {509, 511}


def shared_dir():
    env = os.environ.get("BOSON_SHARED")
    return Path(env) if env else Path(__file__).resolve().parents[3] / "shared"


def _fixture():
    d = FIXTURES / FIX
    if not (d / "reference.safetensors").is_file():
        pytest.skip(f"fixture {FIX} missing")
    return d


def _ref_case():
    d = _fixture()
    ref = load_file(str(d / "reference.safetensors"))
    tok = Tokenizer.from_file(str(d / "tokenizer.json"))
    prompt = [int(x) for x in ref["tokens"]]
    greedy = [int(x) for x in ref["greedy"]]
    return d, tok, prompt, greedy


def _until_eos(ids):
    out = []
    for t in ids:
        if t in EOS:
            break
        out.append(t)
    return out


def _run_bytes(*args, check=True, input_bytes=None, env=None):
    e = dict(os.environ)
    if env:
        e.update(env)
    p = subprocess.run([BOSON, *map(str, args)], capture_output=True, input=input_bytes, env=e,
                       timeout=120)
    if check and p.returncode != 0:
        raise AssertionError(f"boson {args} failed ({p.returncode}): {p.stderr.decode()}")
    return p


# ---------------------------------------------------------------- generation


def test_greedy_run_equals_mlx_lm_greedy_text():
    d, tok, prompt, greedy = _ref_case()
    p = _run_bytes("run", d, "--tokens", ",".join(map(str, prompt)), "--temp", "0",
                   "--max-tokens", len(greedy))
    want = tok.decode(_until_eos(greedy), skip_special_tokens=False)
    # stdout is the concatenation of the streamed deltas: valid UTF-8, equal to HF's decode
    assert p.stdout.decode("utf-8") == want


def test_max_tokens_finishes_with_length():
    d, tok, prompt, greedy = _ref_case()
    n = 5
    assert not set(greedy[:n]) & EOS
    p = _run_bytes("run", d, "--tokens", ",".join(map(str, prompt)), "--temp", "0",
                   "--max-tokens", n)
    assert p.stdout.decode("utf-8") == tok.decode(greedy[:n], skip_special_tokens=False)
    assert p.stderr.decode().rstrip().endswith("length")
    assert f"decode {n} tok" in p.stderr.decode()


def _ascii_boundary(tok, greedy):
    """A stop string made of the last char of one token and the first of the next."""
    ids = _until_eos(greedy)
    for i in range(2, len(ids) - 1):
        a = tok.decode([ids[i]], skip_special_tokens=False)
        b = tok.decode([ids[i + 1]], skip_special_tokens=False)
        if a and b and a.isascii() and b.isascii() and a[-1].strip() and b[0].strip():
            return a[-1] + b[0]
    return None


def test_stop_string_across_tokens_not_emitted():
    d, tok, prompt, greedy = _ref_case()
    stop = _ascii_boundary(tok, greedy)
    if stop is None:
        pytest.skip("no ASCII token boundary in the reference continuation")
    full = tok.decode(_until_eos(greedy), skip_special_tokens=False)
    cut = full.find(stop)
    assert cut >= 0
    p = _run_bytes("run", d, "--tokens", ",".join(map(str, prompt)), "--temp", "0",
                   "--max-tokens", len(greedy), "--stop", stop)
    assert p.stdout.decode("utf-8") == full[:cut]
    assert p.stderr.decode().rstrip().endswith("stop")


def test_seeded_sampling_reproducible():
    d = _fixture()
    args = ["run", d, "--raw", "ka to mi ne", "--temp", "1.0", "--max-tokens", "24"]
    a = _run_bytes(*args, "--seed", "7").stdout
    b = _run_bytes(*args, "--seed", "7").stdout
    c = _run_bytes(*args, "--seed", "8").stdout
    assert a == b
    assert a != c
    for out in (a, b, c):
        out.decode("utf-8")  # valid UTF-8


def test_chat_template_run_matches_raw_of_rendered_prompt(tmp_path):
    """run (template applied) == run --raw on what `template` renders, token for token."""
    d = _fixture()
    conv = tmp_path / "c.json"
    conv.write_text(json.dumps([{"role": "user", "content": "hello there"}]))
    rendered = _run_bytes("template", d, conv).stdout.decode()
    tok = Tokenizer.from_file(str(d / "tokenizer.json"))
    ids = tok.encode(rendered).ids
    a = _run_bytes("run", d, "hello there", "--temp", "0", "--max-tokens", "12").stdout
    b = _run_bytes("run", d, "--tokens", ",".join(map(str, ids)), "--temp", "0",
                   "--max-tokens", "12").stdout
    assert a == b


# ---------------------------------------------------------------- chat


def test_chat_two_turns_reset_and_prefix_reuse():
    d = _fixture()
    inp = b"hello\nsecond turn\n/reset\nagain\n"
    p = _run_bytes("chat", d, "--temp", "0", "--max-tokens", "6", input_bytes=inp)
    err = p.stderr.decode()
    assert p.stdout.decode("utf-8").count("[conversation reset]") == 1
    lines = [ln for ln in err.splitlines() if ln.startswith("prefill")]
    assert len(lines) == 3, err
    assert "(prefix reused)" in lines[1]  # turn 2 evaluates only the new part
    assert "(prefix reused)" not in lines[2]  # after /reset nothing is kept
    # after /reset the answer is the same as a fresh conversation's first answer
    fresh = _run_bytes("chat", d, "--temp", "0", "--max-tokens", "6", input_bytes=b"again\n")
    assert p.stdout.decode().split("[conversation reset]\n")[1] == fresh.stdout.decode()


# ---------------------------------------------------------------- text commands


def _texts():
    return ["hello world", "ka to mi ne ru\n\n  sa lo", "<|im_start|>user\nhi<|im_end|>\n",
            "naïve café — 日本語 🙂", "   leading spaces\tand tabs", ""]


@pytest.mark.parametrize("which", ["fixture", "qwen3"])
def test_tokenize_matches_hf(which):
    if which == "fixture":
        path = _fixture() / "tokenizer.json"
    else:
        path = shared_dir() / "data" / "qwen3-tokenizer" / "tokenizer.json"
        if not path.is_file():
            pytest.skip(f"{path} missing")
    tok = Tokenizer.from_file(str(path))
    for t in _texts():
        p = _run_bytes("tokenize", path, "--json", input_bytes=t.encode())
        assert json.loads(p.stdout) == tok.encode(t).ids, t
        ids = tok.encode(t).ids
        q = _run_bytes("detokenize", path, *map(str, ids))
        assert q.stdout.decode("utf-8") == tok.decode(ids, skip_special_tokens=False)


def test_tokenize_literal_keeps_control_tokens_as_text():
    path = _fixture() / "tokenizer.json"
    tok = Tokenizer.from_file(str(path))
    t = "<|im_end|>"
    normal = json.loads(_run_bytes("tokenize", path, "--json", input_bytes=t.encode()).stdout)
    literal = json.loads(_run_bytes("tokenize", path, "--json", "--literal",
                                    input_bytes=t.encode()).stdout)
    assert normal == [511]
    assert 511 not in literal
    assert tok.decode(literal) == t


def _qwen35_template():
    p = shared_dir() / "data" / "chat-templates" / "qwen3.5.jinja"
    if not p.is_file():
        pytest.skip(f"{p} missing")
    return p.read_text()


CONVS = [
    [{"role": "user", "content": "What is 2+2?"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
     {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Weather?"}],
]
TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}]


@pytest.mark.parametrize("builtin", [False, True])
@pytest.mark.parametrize("case", range(len(CONVS)))
@pytest.mark.parametrize("think", [None, False])
@pytest.mark.parametrize("tools", [False, True])
def test_template_matches_jinja2(tmp_path, builtin, case, think, tools):
    from test_chat_template_oracle import py_render
    tpl = _qwen35_template()
    model = tmp_path / "m"
    model.mkdir()
    shutil.copy(_fixture() / "tokenizer.json", model / "tokenizer.json")
    if not builtin:  # else the built-in copy of the same template is used
        (model / "chat_template.jinja").write_text(tpl)
    conv = tmp_path / "c.json"
    conv.write_text(json.dumps(CONVS[case]))
    args = ["template", model, conv]
    extra = {}
    if think is False:
        args.append("--no-think")
        extra["enable_thinking"] = False
    if tools:
        tf = tmp_path / "t.json"
        tf.write_text(json.dumps(TOOLS))
        args += ["--tools", tf]
    got = _run_bytes(*args).stdout.decode("utf-8")
    want = py_render(tpl, CONVS[case], TOOLS if tools else None, True, **extra)
    assert got == want
    p = _run_bytes(*args, "--no-generation-prompt")
    assert p.stdout.decode() == py_render(tpl, CONVS[case], TOOLS if tools else None, False,
                                          **extra)


# ---------------------------------------------------------------- HF cache


def _fake_cache(root, org, name, rev="abc123", with_ref=True):
    entry = root / f"models--{org}--{name}"
    snap = entry / "snapshots" / rev
    snap.mkdir(parents=True)
    for f in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        shutil.copy(_fixture() / f, snap / f)
    if with_ref:
        (entry / "refs").mkdir()
        (entry / "refs" / "main").write_text(rev)
    return snap


def test_hf_cache_resolution(tmp_path):
    _fake_cache(tmp_path / "hub", "acme", "tiny")
    # a second, newer snapshot not named by refs/main must not win
    other = tmp_path / "hub" / "models--acme--tiny" / "snapshots" / "zzz"
    other.mkdir()
    env = {"HF_HUB_CACHE": str(tmp_path / "hub")}
    p = _run_bytes("tokenize", "acme/tiny", "--json", input_bytes=b"hello", env=env)
    tok = Tokenizer.from_file(str(_fixture() / "tokenizer.json"))
    assert json.loads(p.stdout) == tok.encode("hello").ids
    # HF_HOME/hub when HF_HUB_CACHE is unset
    env2 = {"HF_HOME": str(tmp_path), "HF_HUB_CACHE": ""}
    p = _run_bytes("tokenize", "acme/tiny", input_bytes=b"hi", env=env2)
    assert p.returncode == 0


def test_hf_cache_missing_says_where_and_how(tmp_path):
    env = {"HF_HUB_CACHE": str(tmp_path / "hub")}
    p = _run_bytes("run", "nobody/nothing", "hi", check=False, env=env)
    assert p.returncode == 2
    err = p.stderr.decode()
    assert str(tmp_path / "hub" / "models--nobody--nothing") in err
    assert "hf download nobody/nothing" in err


# ---------------------------------------------------------------- CLI contract


@pytest.mark.parametrize("cmd", ["run", "chat", "bench", "tokenize", "detokenize", "template",
                                 "inspect", "generate", "logits"])
def test_help_and_usage_errors(cmd):
    p = run_boson(cmd, "--help")
    assert p.returncode == 0 and "usage: boson " + cmd in p.stdout
    p = run_boson(cmd, str(FIXTURES / FIX), "--no-such-option")
    assert p.returncode == 1, (p.returncode, p.stderr)


def test_missing_model_is_load_error(tmp_path):
    for cmd in (["run", str(tmp_path / "none"), "--raw"], ["bench", str(tmp_path / "none")],
                ["tokenize", str(tmp_path / "none")]):
        p = run_boson(*cmd)
        assert p.returncode == 2, (cmd, p.stderr)


def test_bench_json_keys():
    d = _fixture()
    p = run_boson("bench", d, "--json", "--sizes", "16,32", "--decode", "4", "--mem-mib", "16",
                  check=True)
    r = json.loads(p.stdout)
    for k in ("model", "threads", "bytes_per_token", "prefill", "decode", "mem_bandwidth_gb_s",
              "bandwidth_pct"):
        assert k in r
    assert [x["tokens"] for x in r["prefill"]] == [16, 32]
    assert set(r["decode"]) >= {"tokens", "seconds", "tok_s", "gb_s"}
    assert r["decode"]["tokens"] == 4 and r["bytes_per_token"] > 0
